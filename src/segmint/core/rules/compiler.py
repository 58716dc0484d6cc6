"""Typed rule → unbound Ibis expression of the members (a table with one column, ``customer_id``).

Plan (built for 1M customers / 30M events): every name, aggregate and sub-query a rule needs is
gathered first and attached to one wide row per customer:

* trait and customer columns by a left join on ``customer_id``;
* all event aggregates (``count``, ``sum``, ``did`` ...) in ONE ``group_by(customer_id)`` pass over the
  events up to ``as_of``, each aggregate with its own filter (``COUNT(...) FILTER (WHERE ...)``);
* each ``sequence`` and ``in_segment`` as a distinct set of customer ids, left-joined as a flag;

then the predicate is a plain boolean expression over that wide row. Every leaf condition is coalesced to
false, so a comparison with a missing value is false and ``not`` turns it into true (two-valued logic,
see docs/rules.md). Literals enter the expression as Ibis literals, never as SQL text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir

from segmint.core.rules import nodes as n
from segmint.core.rules.checker import (
    EVENT_FILTER_COLUMNS,
    CheckContext,
    Resolved,
    TypedRule,
    check,
    parse_date_literal,
)
from segmint.core.rules.errors import RuleTypeError
from segmint.core.timeutil import to_utc_naive
from segmint.core.traits.catalog import Catalog

__all__ = ["EARTH_RADIUS_KM", "CompileContext", "Plan", "build_plan", "compile_rule", "resolve_time"]

EARTH_RADIUS_KM = 6371.0088  # IUGG mean Earth radius


@dataclass(frozen=True)
class CompileContext:
    """The tables a rule reads (unbound or bound Ibis tables) and the instant it is evaluated at.

    ``segment_members(name)`` returns the members table (column ``customer_id``) of another segment;
    ``customer_ids`` restricts evaluation to those customers (explanations, real-time updates)."""

    customers: ir.Table
    events: ir.Table
    as_of: datetime
    traits: ir.Table | None = None
    catalog: Catalog | None = None
    segment_members: Callable[[str], ir.Table] | None = None
    extra_events: Collection[str] = ()
    segments: Collection[str] | None = None
    customer_ids: tuple[str, ...] | None = field(default=None)

    def check_context(self) -> CheckContext:
        schema = self.customers.schema()
        ev_schema = self.events.schema()
        return CheckContext(
            catalog=self.catalog,
            customer_columns=dict(schema.items()),
            event_columns={c: ev_schema[c] for c in EVENT_FILTER_COLUMNS if c in ev_schema},
            events=tuple(self.extra_events),
            segments=self.segments,
        )


def compile_rule(rule: n.Rule | TypedRule, ctx: CompileContext) -> ir.Table:
    """The members of ``rule`` as of ``ctx.as_of``: an Ibis table with the column ``customer_id``."""
    plan = build_plan(rule, ctx)
    return plan.wide.filter(plan.predicate(plan.typed.rule.body)).select("customer_id")


def build_plan(rule: n.Rule | TypedRule, ctx: CompileContext) -> Plan:
    """Check (if needed) and lay out the wide table; :class:`Plan` then compiles any clause of the rule."""
    typed = rule if isinstance(rule, TypedRule) else check(rule, ctx.check_context())
    return Plan(typed, ctx)


def resolve_time(lit: n.Node, as_of: datetime) -> datetime:
    """The instant a time literal stands for, given ``as_of``."""
    if isinstance(lit, n.RelTime):
        base = as_of.replace(hour=0, minute=0, second=0, microsecond=0) if lit.anchor == "today" else as_of
        return base + timedelta(seconds=lit.offset)
    if isinstance(lit, n.StringLit):
        parsed = parse_date_literal(lit.value)
        if parsed is not None:
            return parsed
    raise RuleTypeError(f"not a time: {lit!r}")


def _lit_value(lit: n.Node) -> object:
    return lit.value  # type: ignore[attr-defined]


def json_path(column: ir.Value, path: tuple[str, ...]) -> ir.Value:
    """``column`` (JSON text) navigated along ``path``: ``CAST(x AS JSON) -> '$.a' -> '$.b'`` on DuckDB,
    ``GET_JSON_OBJECT`` on Spark."""
    value = column.cast("json")
    for key in path:
        value = value[key]
    return value


# JSON string escapes a compact serializer writes for text (DuckDB re-serializes with them; Spark's
# GET_JSON_OBJECT returns the decoded text). An escaped backslash is parked on a private-use character
# first, so the text backslash-n (encoded ``\\n``) is not read as a newline.
_PARKED = "\ue000"
_JSON_ESCAPES = (
    ("\\\\", _PARKED),
    ('\\"', '"'),
    ("\\/", "/"),
    ("\\n", "\n"),
    ("\\t", "\t"),
    (_PARKED, "\\"),
)


def json_text(column: ir.Value, path: tuple[str, ...]) -> ir.StringValue:
    """The text of the JSON value at ``path``, the same on every engine and without Python UDFs: a JSON
    string without its quotes and escapes, a number or boolean as written (``12.5``, ``true``), an
    array or object as compact JSON; NULL when the key is absent or holds JSON null.

    Why not Ibis's typed unwrap: on PySpark it runs a Python UDF that ``json.loads`` the output of
    ``GET_JSON_OBJECT``, which has already unquoted strings, so text values fail to decode. Engines
    disagree only on how a string comes back (DuckDB keeps the JSON encoding, Spark decodes it), so the
    encoded form is decoded here with string operations. The price is that a string and a number with
    the same text are not told apart (``"12"`` equals ``12``), identically on both engines."""
    raw = json_path(column, path).cast("string")
    decoded = raw.substr(1, raw.length() - 2)
    for escaped, plain in _JSON_ESCAPES:
        decoded = decoded.replace(escaped, plain)
    return raw.startswith('"').ifelse(decoded, raw).nullif("null")


class Plan:
    """The wide per-customer table of one rule and the compiler of its clauses over it."""

    def __init__(self, typed: TypedRule, ctx: CompileContext) -> None:
        self.typed = typed
        self.ctx = ctx
        self.as_of = to_utc_naive(ctx.as_of)
        self.aggregates: dict[n.Aggregate, str] = {}
        self.flags: dict[n.Sequence | n.InSegment, str] = {}
        self._collect(typed.rule.body)
        self.wide = self._build_wide()

    # ------------------------------------------------------------ layout

    def _collect(self, node: n.Node) -> None:
        for sub in n.walk(node):
            if isinstance(sub, n.Aggregate):
                self.aggregates.setdefault(sub, f"agg_{len(self.aggregates)}")
            elif isinstance(sub, n.Did):
                self.aggregates.setdefault(_did_count(sub), f"agg_{len(self.aggregates)}")
            elif isinstance(sub, n.Sequence):
                self.flags.setdefault(sub, f"seq_{len(self.flags)}")
            elif isinstance(sub, n.InSegment):
                self.flags.setdefault(n.InSegment(sub.name), f"seg_{len(self.flags)}")

    def _needed(self, source: str) -> list[str]:
        cols: list[str] = []
        for (scope, _), res in self.typed.fields.items():
            if scope == "customer" and res.source == source and res.column not in cols:
                cols.append(res.column)
        return cols

    def _build_wide(self) -> ir.Table:
        ctx = self.ctx
        customers = ctx.customers
        if "created_at" in customers.columns:
            # A customer created after as_of does not exist yet (no creation time: known since always).
            customers = customers.filter(
                customers.created_at.isnull() | (customers.created_at <= ibis.literal(self.as_of))
            )
        if ctx.customer_ids is not None:
            customers = customers.filter(customers.customer_id.isin(list(ctx.customer_ids)))
        cust_cols = [c for c in (*self._needed("customer"), *self._needed("attr")) if c != "customer_id"]
        for node in n.walk(self.typed.rule.body):
            if isinstance(node, n.Consent):
                at = f"{node.channel}_opt_in_at"
                if at in customers.columns and at not in cust_cols:
                    cust_cols.append(at)
        cust_cols = list(dict.fromkeys(cust_cols))
        wide = customers.select("customer_id", *cust_cols)
        traits = self._needed("trait")
        if traits:
            if ctx.traits is None:
                raise RuleTypeError(f"the rule uses traits ({', '.join(traits)}) but no trait table is given")
            wide = _attach(wide, ctx.traits.select("customer_id", *traits), traits)
        if self.aggregates:
            wide = _attach(wide, self._aggregate_table(), list(self.aggregates.values()))
            zero = {
                a: wide[a].fill_null(0)
                for node, a in self.aggregates.items()
                if node.func in ("count", "sum")
            }
            if zero:  # nothing counted or summed is 0, not missing
                wide = wide.mutate(**zero)
        for node, name in self.flags.items():
            members = self._sequence(node) if isinstance(node, n.Sequence) else self._segment(node)
            flag = members.select("customer_id").distinct().mutate(**{name: ibis.literal(True)})
            wide = _attach(wide, flag, [name])
        return wide

    def _events(self) -> ir.Table:
        """Events dated up to as_of (later data is invisible) with a known customer."""
        ev = self.ctx.events
        ev = ev.filter(ev.occurred_at <= ibis.literal(self.as_of), ev.customer_id.notnull())
        if self.ctx.customer_ids is not None:
            ev = ev.filter(ev.customer_id.isin(list(self.ctx.customer_ids)))
        return ev

    def _aggregate_table(self) -> ir.Table:
        """All aggregates in one pass: measured on DuckDB (benchmarks/bench_rules.py) this beats one
        filtered group_by + join per clause."""
        ev = self._events()
        names = sorted({a.event for a in self.aggregates})
        ev = ev.filter(ev.name.isin(names))
        if all(a.window is not None for a in self.aggregates):
            widest = max(a.window.seconds for a in self.aggregates)  # type: ignore[union-attr]
            ev = ev.filter(ev.occurred_at > ibis.literal(self.as_of - timedelta(seconds=widest)))
        metrics = {}
        for node, name in self.aggregates.items():
            cond = ev.name == node.event
            if node.window is not None:
                cond = cond & (ev.occurred_at > ibis.literal(self.as_of - node.window.delta))
            if node.where is not None:
                cond = cond & self.predicate(node.where, ev, "event")
            metrics[name] = self._reduce(node, ev, cond)
        return ev.group_by("customer_id").aggregate(**metrics)

    def _reduce(self, node: n.Aggregate, ev: ir.Table, cond: ir.BooleanValue) -> ir.Value:
        if node.func == "count":
            return ev.occurred_at.count(where=cond)
        if node.func == "first":
            return ev.occurred_at.min(where=cond)
        if node.func == "last":
            return ev.occurred_at.max(where=cond)
        res = self.typed.fields[("event", node.prop)]  # type: ignore[index]
        col = self._event_value(ev, res, "number")
        if node.func == "sum":
            return col.sum(where=cond)
        if node.func == "avg":
            return col.mean(where=cond)
        if node.func == "min":
            return col.min(where=cond)
        return col.max(where=cond)

    def _sequence(self, node: n.Sequence) -> ir.Table:
        events = self._events()
        a = events.filter(events.name == node.first.event)
        if node.first.where is not None:
            a = a.filter(self.predicate(node.first.where, a, "event"))
        if node.since is not None:
            a = a.filter(a.occurred_at > ibis.literal(self.as_of - node.since.delta))
        if node.negated and node.within is not None:  # only steps whose deadline has passed by as_of
            a = a.filter(a.occurred_at <= ibis.literal(self.as_of - node.within.delta))
        b = events.filter(events.name == node.then.event)
        if node.then.where is not None:
            b = b.filter(self.predicate(node.then.where, b, "event"))
        if node.by is not None:
            a = a.filter(a[node.by].notnull())
            b = b.filter(b[node.by].notnull())
        a = a.select("customer_id", "event_id", "occurred_at", *([node.by] if node.by else []))
        # .view(): both sides come from the same events table, and a self-join needs distinct names
        b = b.select("customer_id", "event_id", "occurred_at", *([node.by] if node.by else [])).view()
        preds = [a.customer_id == b.customer_id, b.occurred_at >= a.occurred_at]
        if node.within is not None:
            preds.append(b.occurred_at <= a.occurred_at + ibis.interval(seconds=node.within.seconds))
        if node.by is not None:
            preds.append(a[node.by] == b[node.by])
        if node.first.event == node.then.event:
            preds.append(a.event_id != b.event_id)
        joined = a.anti_join(b, preds) if node.negated else a.semi_join(b, preds)
        return joined.select("customer_id")

    def _segment(self, node: n.InSegment) -> ir.Table:
        if self.ctx.segment_members is None:
            raise RuleTypeError(
                f"in_segment('{node.name}') needs other segments, and none are available here",
                *(_line_col(node)),
            )
        return self.ctx.segment_members(node.name)

    # ------------------------------------------------------------ clauses

    def predicate(
        self, node: n.Node, table: ir.Table | None = None, scope: str = "customer"
    ) -> ir.BooleanValue:
        """The two-valued boolean expression of a clause over ``table`` (the wide table by default)."""
        t = self.wide if table is None else table
        if isinstance(node, n.And):
            out = self.predicate(node.items[0], t, scope)
            for item in node.items[1:]:
                out = out & self.predicate(item, t, scope)
            return out
        if isinstance(node, n.Or):
            out = self.predicate(node.items[0], t, scope)
            for item in node.items[1:]:
                out = out | self.predicate(item, t, scope)
            return out
        if isinstance(node, n.Not):
            return ~self.predicate(node.item, t, scope)
        return self.leaf(node, t, scope).fill_null(False)

    def leaf(self, node: n.Node, t: ir.Table, scope: str) -> ir.BooleanValue:
        """A leaf condition, before missing values are turned into false."""
        if isinstance(node, n.Compare):
            left = self.value(node.left, t, scope, node.right)
            right = self.literal(node.left, node.right, scope)
            return _OPS[node.op](left, right)
        if isinstance(node, n.InList):
            left = self.value(node.left, t, scope, node.items[0])
            items = [self.literal(node.left, i, scope) for i in node.items]
            return left.notin(items) if node.negated else left.isin(items)
        if isinstance(node, n.Between):
            left = self.value(node.left, t, scope, node.low)
            return left.between(
                self.literal(node.left, node.low, scope), self.literal(node.left, node.high, scope)
            )
        if isinstance(node, n.Contains):
            return self.contains(node, t, scope)
        if isinstance(node, n.StartsWith):
            return self.value(node.left, t, scope, node.value).startswith(_lit_value(node.value))
        if isinstance(node, n.IsMissing):
            missing = self.missing(node.left, t, scope)
            return ~missing if node.negated else missing
        if isinstance(node, n.Truthy):
            return self.value(node.left, t, scope, n.BoolLit(True)) == ibis.literal(True)
        if isinstance(node, n.Did):
            count = t[self.aggregates[_did_count(node)]]
            return count == 0 if node.negated else count > 0
        if isinstance(node, n.Sequence):
            return t[self.flags[node]].notnull()
        if isinstance(node, n.InSegment):
            return t[self.flags[n.InSegment(node.name)]].notnull()
        if isinstance(node, n.WithinKm):
            return self.distance_km(node, t) <= float(node.km.value)
        if isinstance(node, n.Consent):
            ok = t[f"{node.channel}_opt_in"] == ibis.literal(True)
            at = f"{node.channel}_opt_in_at"
            if at in t.columns:  # an opt-in dated after as_of had not happened yet
                ok = ok & (t[at].isnull() | (t[at] <= ibis.literal(self.as_of)))
            return ok
        raise RuleTypeError(f"cannot compile {type(node).__name__}")

    def resolved(self, node: n.Field, scope: str) -> Resolved:
        return self.typed.fields[(scope, node.path)]

    def value(self, node: n.Value, t: ir.Table, scope: str, like: n.Node | None = None) -> ir.Value:
        """The column of a value; ``like`` (the literal it is compared with) picks a JSON value's type."""
        if isinstance(node, n.Aggregate):
            return t[self.aggregates[node]]
        res = self.resolved(node, scope)
        if res.source in ("attr", "event_json"):
            return _json_as(json_text(t[res.column], res.path), _json_kind(like))
        col = t[res.column]
        if res.kind == "date":  # compare dates on the time line, like timestamps
            return col.cast("timestamp")
        return col

    def _event_value(self, ev: ir.Table, res: Resolved, kind: str) -> ir.Value:
        if res.source == "event_json":
            return _json_as(json_text(ev[res.column], res.path), kind)
        return ev[res.column]

    def literal(self, left: n.Value, lit: n.Node, scope: str) -> ir.Value:
        kind = "timestamp" if isinstance(left, n.Aggregate) and left.func in ("first", "last") else None
        if kind is None and isinstance(left, n.Field):
            kind = self.resolved(left, scope).kind
        if kind in ("timestamp", "date"):
            return ibis.literal(resolve_time(lit, self.as_of))
        value = _lit_value(lit)
        if isinstance(value, float) or (kind in ("number", "json") and isinstance(lit, n.NumberLit)):
            return ibis.literal(float(value), type="float64")  # type: ignore[arg-type]
        return ibis.literal(value)

    def missing(self, node: n.Value, t: ir.Table, scope: str) -> ir.BooleanValue:
        if isinstance(node, n.Field):
            res = self.resolved(node, scope)
            if res.source in ("attr", "event_json"):
                return json_text(t[res.column], res.path).isnull()
        return self.value(node, t, scope).isnull()

    def contains(self, node: n.Contains, t: ir.Table, scope: str) -> ir.BooleanValue:
        needle = str(_lit_value(node.value))
        if isinstance(node.left, n.Field):
            res = self.resolved(node.left, scope)
            if res.source in ("attr", "event_json"):
                # A JSON array of texts holds the element exactly when its compact JSON text holds the
                # element's JSON encoding (inner quotes are escaped, so "x" cannot match inside "ax").
                text = json_text(t[res.column], res.path)
                encoded = json.dumps(needle, ensure_ascii=False)
                return text.startswith("[").ifelse(text.contains(encoded), text.contains(needle))
        return self.value(node.left, t, scope).contains(needle)

    def distance_km(self, node: n.WithinKm, t: ir.Table) -> ir.FloatingValue:
        """Haversine distance in km between the customer's latitude/longitude and the given point."""
        lat0 = math.radians(float(node.lat.value))
        lon0 = math.radians(float(node.lon.value))
        lat = t[self.typed.fields[("customer", ("latitude",))].column].radians()
        lon = t[self.typed.fields[("customer", ("longitude",))].column].radians()
        h = ((lat - lat0) / 2).sin() ** 2 + math.cos(lat0) * lat.cos() * ((lon - lon0) / 2).sin() ** 2
        return 2 * EARTH_RADIUS_KM * h.sqrt().asin()


_OPS: dict[str, Callable[[ir.Value, ir.Value], ir.BooleanValue]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _did_count(node: n.Did) -> n.Aggregate:
    """``did X where c within d`` is ``count(X where c, d) > 0``: they share one aggregate."""
    return n.Aggregate("count", node.event, None, node.where, node.window)


def _json_kind(like: n.Node | None) -> str:
    if isinstance(like, n.NumberLit):
        return "number"
    if isinstance(like, n.BoolLit):
        return "boolean"
    return "text"


def _json_as(text: ir.StringValue, kind: str) -> ir.Value:
    """A JSON value's text (:func:`json_text`) read as a number, boolean or text; NULL when it does not
    read as that type (``TRY_CAST`` on both engines, no Python UDF)."""
    if kind == "number":
        return text.try_cast("float64")
    if kind == "boolean":
        return text.substitute({"true": True, "false": False}, else_=ibis.null("boolean"))
    return text


def _attach(base: ir.Table, other: ir.Table, cols: list[str]) -> ir.Table:
    """``base`` with ``cols`` of ``other`` left-joined on customer_id."""
    joined = base.left_join(other, base.customer_id == other.customer_id)
    return joined.select(*[base[c] for c in base.columns], *[other[c] for c in cols])


def _line_col(node: n.Node) -> tuple[int, int]:
    return (node.pos.line, node.pos.column) if node.pos else (0, 0)
