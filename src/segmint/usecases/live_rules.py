"""The live engine's evaluator: the workspace's segment definitions, compiled exactly as a batch run
compiles them, evaluated on the canonical tables restricted to a set of customers.

Restriction filters the *inputs*: the customers' rows, their orders (and lines), their events, including
anonymous events whose anonymous id is linked to one of them (every link of such an id is kept so that
identity resolution picks the same customer as in batch). Traits are computed from those inputs, then the
segment expressions, and only the requested customers' memberships are kept.

One consequence to know: a trait that ranks a customer against the whole base (RFM quintile scores) would
be ranked against the restricted set only. Segments using such traits are still kept exact by the periodic
full sweep, which evaluates everyone on unrestricted inputs; per-customer traits, event aggregates,
sequences and segment references are exact on every tick.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir

from segmint.core.rules import nodes as n
from segmint.core.schema import CANONICAL
from segmint.usecases.live import LiveSegment
from segmint.usecases.workspace import Workspace

__all__ = ["RuleEvaluator", "rule_shifts"]

_tmp = itertools.count()


def rule_shifts(rule: n.Rule) -> set[timedelta]:
    """Every duration after which the rule's truth may flip for a dated row: windows, deadlines,
    ``since`` limits and relative times (``-90d``)."""
    out: set[timedelta] = set()
    for node in n.walk(rule.body):
        if isinstance(node, n.Duration) and node.seconds > 0:
            out.add(timedelta(seconds=node.seconds))
        elif isinstance(node, n.RelTime) and node.offset:
            out.add(timedelta(seconds=abs(node.offset)))
    return out


class RuleEvaluator:
    """Loads ``segments/*.yaml`` (again whenever a file changes) and evaluates them for customers."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._stamp: tuple | None = None
        self._defs: list = []
        self._live: list[LiveSegment] = []
        self._needed: set[str] = set()
        self._catalog = None

    # -- definitions -----------------------------------------------------------------------------------
    def _files_stamp(self) -> tuple:
        folder = self.ws.segments_dir
        if not folder.exists():
            return ()
        return tuple(
            sorted(
                (p.name, p.stat().st_mtime_ns, p.stat().st_size)
                for p in folder.iterdir()
                if p.suffix in (".yaml", ".yml")
            )
        )

    def refresh(self, force: bool = False) -> None:
        """Reload definitions if a segment file changed; record new versions as a batch run does."""
        stamp = self._files_stamp()
        if stamp == self._stamp and not force:
            return
        from segmint.usecases import segments as seg

        defs = seg.load_definitions(self.ws)
        rules = {d.name: seg.resolve_rule(d) for d in defs}
        catalog = seg._catalog(self.ws)
        for d in defs:
            seg._check(rules[d.name], d, catalog, rules)
        seg.dependency_layers(rules)
        versions = seg._sync_versions(self.ws, defs, rules) if defs else {}
        shifts = {name: rule_shifts(rule) for name, rule in rules.items()}
        deps = {
            name: {x.name for x in n.walk(rule.body) if isinstance(x, n.InSegment)}
            for name, rule in rules.items()
        }
        # A segment's timing also depends on the segments it refers to.
        changed = True
        while changed:
            changed = False
            for name, used in deps.items():
                for other in used:
                    if not shifts[other] <= shifts[name]:
                        shifts[name] |= shifts[other]
                        changed = True
        self._defs = defs
        self._catalog = self._trait_catalog(rules, catalog)
        self._needed = set().union(*deps.values()) if deps else set()
        self._live = [
            LiveSegment(d.name, versions.get(d.name, 0), tuple(sorted(shifts[d.name]))) for d in defs
        ]
        self._stamp = stamp

    def _trait_catalog(self, rules: Mapping[str, n.Rule], check_catalog):
        """Only the trait groups the rules read (and what those groups depend on): building and compiling
        the whole catalog on every tick would cost far more than evaluating a few customers."""
        from segmint.core.rules import CheckContext, check
        from segmint.core.traits.catalog import Catalog
        from segmint.usecases.traits import workspace_catalog

        full = workspace_catalog(self.ws)
        ctx = CheckContext(catalog=check_catalog, segments=frozenset(rules))
        names = {
            res.column
            for rule in rules.values()
            for res in check(rule, ctx).fields.values()
            if res.source == "trait"
        }
        group_of = {spec.name: g.name for g in full.groups.values() for spec in g.specs}
        wanted = {group_of[name] for name in names if name in group_of}
        todo = list(wanted)
        while todo:
            for dep in full.groups[todo.pop()].depends_on:
                if dep not in wanted:
                    wanted.add(dep)
                    todo.append(dep)
        if not wanted:
            return None
        return Catalog([g for name, g in full.groups.items() if name in wanted])

    def segments(self) -> list[LiveSegment]:
        self.refresh()
        return list(self._live)

    # -- evaluation ------------------------------------------------------------------------------------
    def members(self, customer_ids: Sequence[str] | None, as_of: datetime) -> set[tuple[str, str]]:
        from segmint.usecases import segments as seg

        self.refresh()
        if not self._defs:
            return set()
        con = self.ws.con
        tables: Mapping[str, ir.Table] = self.ws.tables()
        temps: list[str] = []
        ids_table = None
        if customer_ids is not None:
            if not customer_ids:
                return set()
            ids_table = ibis.memtable({"customer_id": list(customer_ids)}, schema={"customer_id": "string"})
            tables = restrict(tables, ids_table)

        def temp(expr: ir.Table, prefix: str) -> ir.Table:
            name = f"_segmint_live_{prefix}_{next(_tmp)}"
            temps.append(name)
            return con.create_table(name, expr, temp=True, overwrite=True)

        try:
            traits = None
            if self._catalog is not None:
                from segmint.core.traits import trait_table
                from segmint.usecases.traits import trait_settings

                traits = temp(trait_table(tables, as_of, self._catalog, trait_settings(self.ws)), "traits")

            def materialise(name: str, expr: ir.Table) -> ir.Table:
                return temp(expr, "seg") if name in self._needed else expr

            exprs = seg.segment_expressions(self._defs, traits, tables, as_of, None, materialise)
            parts = [
                e.select(segment=ibis.literal(name), customer_id=e.customer_id) for name, e in exprs.items()
            ]
            union = ibis.union(*parts, distinct=True) if len(parts) > 1 else parts[0].distinct()
            if ids_table is not None:
                union = union.filter(union.customer_id.isin(ids_table.customer_id))
            rows = union.to_pyarrow()
        finally:
            for name in temps:
                con.drop_table(name, force=True)
        return set(zip(rows["segment"].to_pylist(), rows["customer_id"].to_pylist(), strict=True))


def restrict(tables: Mapping[str, ir.Table], ids: ir.Table) -> dict[str, ir.Table]:
    """The canonical tables cut down to what decides the given customers' traits and segments."""
    out = dict(tables)
    identities = tables["identities"]
    anon = identities.filter(identities.customer_id.isin(ids.customer_id)).select("anonymous_id")
    out["identities"] = identities.filter(identities.anonymous_id.isin(anon.anonymous_id))
    events = tables["events"]
    out["events"] = events.filter(
        events.customer_id.isin(ids.customer_id)
        | (events.customer_id.isnull() & events.anonymous_id.isin(anon.anonymous_id))
    )
    for name in ("customers", "orders"):
        t = tables[name]
        out[name] = t.filter(t.customer_id.isin(ids.customer_id))
    lines = tables["order_lines"]
    out["order_lines"] = lines.filter(lines.order_id.isin(out["orders"].order_id))
    assert set(out) == set(CANONICAL)
    return out
