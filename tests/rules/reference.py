"""A small pure-Python evaluator of rule trees, written from docs/rules.md and independent of the
compiler, as the oracle of the property tests. It works on plain dicts:

* ``customers``: customer_id → row dict (customer columns, with trait values merged in);
* ``events``: list of row dicts (customer_id, name, occurred_at, event_id, category, cart_id, value).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from segmint.core.rules import nodes as n


class Reference:
    def __init__(self, customers: dict[str, dict], events: list[dict], as_of: datetime) -> None:
        self.customers = customers
        self.as_of = as_of
        self.events = [e for e in events if e["customer_id"] is not None and e["occurred_at"] <= as_of]

    def members(self, rule: n.Rule) -> list[str]:
        return sorted(cid for cid in self.customers if self.holds(rule.body, cid, None))

    # ``ev`` is the event row when evaluating inside an event filter, else None.
    def holds(self, node: n.Node, cid: str, ev: dict | None) -> bool:
        if isinstance(node, n.And):
            return all(self.holds(i, cid, ev) for i in node.items)
        if isinstance(node, n.Or):
            return any(self.holds(i, cid, ev) for i in node.items)
        if isinstance(node, n.Not):
            return not self.holds(node.item, cid, ev)
        result = self.leaf(node, cid, ev)
        return bool(result) if result is not None else False

    def leaf(self, node: n.Node, cid: str, ev: dict | None) -> bool | None:
        if isinstance(node, n.Compare):
            left = self.value(node.left, cid, ev)
            right = self.lit(node.right)
            if left is None or right is None:
                return None
            return {
                "=": left == right,
                "!=": left != right,
                "<": left < right,
                "<=": left <= right,
                ">": left > right,
                ">=": left >= right,
            }[node.op]
        if isinstance(node, n.InList):
            left = self.value(node.left, cid, ev)
            if left is None:
                return None
            found = left in [self.lit(i) for i in node.items]
            return not found if node.negated else found
        if isinstance(node, n.Between):
            left = self.value(node.left, cid, ev)
            if left is None:
                return None
            return self.lit(node.low) <= left <= self.lit(node.high)
        if isinstance(node, n.Contains):
            left = self.value(node.left, cid, ev)
            return None if left is None else self.lit(node.value) in left
        if isinstance(node, n.StartsWith):
            left = self.value(node.left, cid, ev)
            return None if left is None else left.startswith(self.lit(node.value))
        if isinstance(node, n.IsMissing):
            missing = self.value(node.left, cid, ev) is None
            return not missing if node.negated else missing
        if isinstance(node, n.Truthy):
            return self.value(node.left, cid, ev) is True
        if isinstance(node, n.Did):
            count = len(self.matching(cid, node.event, node.where, node.window))
            return count == 0 if node.negated else count > 0
        if isinstance(node, n.Sequence):
            return self.sequence(node, cid)
        if isinstance(node, n.Consent):
            return self.customers[cid].get(f"{node.channel}_opt_in") is True
        raise NotImplementedError(type(node).__name__)

    def value(self, node: n.Node, cid: str, ev: dict | None):
        if isinstance(node, n.Field):
            row = ev if ev is not None else self.customers[cid]
            return row.get(node.path[0])
        assert isinstance(node, n.Aggregate)
        rows = self.matching(cid, node.event, node.where, node.window)
        if node.func == "count":
            return len(rows)
        if node.func in ("first", "last"):
            times = [r["occurred_at"] for r in rows]
            return (min(times) if node.func == "first" else max(times)) if times else None
        values = [r[node.prop[0]] for r in rows if r.get(node.prop[0]) is not None]
        if node.func == "sum":
            return sum(values)
        if not values:
            return None
        return {"avg": sum(values) / len(values), "min": min(values), "max": max(values)}[node.func]

    def matching(self, cid: str, event: str, where: n.Node | None, window: n.Duration | None) -> list[dict]:
        start = self.as_of - timedelta(seconds=window.seconds) if window else None
        return [
            e
            for e in self.events
            if e["customer_id"] == cid
            and e["name"] == event
            and (start is None or e["occurred_at"] > start)
            and (where is None or self.holds(where, cid, e))
        ]

    def sequence(self, node: n.Sequence, cid: str) -> bool:
        firsts = self.matching(cid, node.first.event, node.first.where, node.since)
        thens = self.matching(cid, node.then.event, node.then.where, None)
        within = timedelta(seconds=node.within.seconds) if node.within else None
        for a in firsts:
            if node.by and a.get(node.by) is None:
                continue
            if node.negated and within is not None and a["occurred_at"] + within > self.as_of:
                continue  # deadline not passed yet
            followed = any(
                b["event_id"] != a["event_id"]
                and b["occurred_at"] >= a["occurred_at"]
                and (within is None or b["occurred_at"] <= a["occurred_at"] + within)
                and (not node.by or (b.get(node.by) is not None and b[node.by] == a[node.by]))
                for b in thens
            )
            if followed != node.negated:
                return True
        return False

    def lit(self, lit: n.Node):
        if isinstance(lit, n.RelTime):
            base = self.as_of
            if lit.anchor == "today":
                base = datetime(base.year, base.month, base.day)
            return base + timedelta(seconds=lit.offset)
        if isinstance(lit, n.StringLit) and len(lit.value) == 10 and lit.value[4] == "-":
            d = date.fromisoformat(lit.value)
            return datetime(d.year, d.month, d.day)
        return lit.value  # type: ignore[attr-defined]
