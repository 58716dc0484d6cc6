"""Syntax tree → typed rule: resolve every name and check every comparison fits.

Names resolve, in this order, to a trait of the catalog, a column of ``customers``, or a path into the
customer's JSON ``attributes`` (``attr.values.eco_conscious``). Inside an event filter (``where`` of
``count``/``did``/``sequence``) names are event columns or ``properties.x`` paths. An unknown name is an
error that names the nearest known one.

Event names: the standard ones (:data:`KNOWN_EVENTS`) plus ``CheckContext.events``. A name close to a
known one (a likely typo such as ``order_complete``) is an error with "did you mean"; a name far from
every known one is accepted as a shop's own event, since shops do track custom events.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import NoReturn

import ibis.expr.datatypes as dt

from segmint.core.rules import nodes as n
from segmint.core.rules.errors import RuleTypeError
from segmint.core.rules.printer import literal_text, to_text
from segmint.core.schema import CANONICAL
from segmint.core.traits.catalog import Catalog

__all__ = [
    "EVENT_FILTER_COLUMNS",
    "KNOWN_EVENTS",
    "CheckContext",
    "Resolved",
    "TypedRule",
    "check",
    "kind_of",
    "parse_date_literal",
]

KNOWN_EVENTS = (
    "product_viewed",
    "added_to_cart",
    "removed_from_cart",
    "checkout_started",
    "order_completed",
    "email_sent",
    "email_opened",
    "email_clicked",
    "unsubscribed",
    "search",
    "page_viewed",
    "session_started",
    "identify",
)
# Event columns a filter may name; ``properties.x`` reaches the rest.
EVENT_FILTER_COLUMNS = (
    "product_id",
    "category",
    "cart_id",
    "order_id",
    "campaign_id",
    "value",
    "session_id",
    "device_type",
    "os",
    "browser",
    "channel",
)
_EVENT_TYPO_CUTOFF = 0.8
_NUMERIC = ("number", "integer")
_TIME = ("timestamp", "date")


def kind_of(dtype: dt.DataType) -> str:
    """The rule language's type of a column: number, integer, text, boolean, timestamp, date, list."""
    if dtype.is_boolean():
        return "boolean"
    if dtype.is_integer():
        return "integer"
    if dtype.is_numeric():
        return "number"
    if dtype.is_timestamp():
        return "timestamp"
    if dtype.is_date():
        return "date"
    if dtype.is_array():
        return "list"
    return "text"


@dataclass(frozen=True)
class Resolved:
    """Where a name's values come from. ``source`` is trait, customer, attr (customer JSON), event or
    event_json; ``column`` the column read; ``path`` the JSON path for attr/event_json; ``kind`` the type
    (``json`` for JSON paths, whose type each comparison decides from its literal)."""

    source: str
    column: str
    kind: str
    path: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckContext:
    """What names exist. ``catalog`` None means no traits (customer columns and events only);
    ``segments`` None accepts any segment name (checked when compiled)."""

    catalog: Catalog | None = None
    customer_columns: Mapping[str, dt.DataType] = field(
        default_factory=lambda: MappingProxyType(dict(CANONICAL["customers"].columns))
    )
    event_columns: Mapping[str, dt.DataType] = field(
        default_factory=lambda: MappingProxyType(
            {c: CANONICAL["events"].columns[c] for c in EVENT_FILTER_COLUMNS}
        )
    )
    events: Collection[str] = ()
    segments: Collection[str] | None = None

    @property
    def known_events(self) -> list[str]:
        return [*KNOWN_EVENTS, *(e for e in self.events if e not in KNOWN_EVENTS)]


@dataclass(frozen=True)
class TypedRule:
    """A checked rule: the tree plus how each name resolved, keyed by (scope, path) with scope
    ``customer`` or ``event``."""

    rule: n.Rule
    fields: Mapping[tuple[str, tuple[str, ...]], Resolved]

    def resolve(self, node: n.Field, scope: str = "customer") -> Resolved:
        return self.fields[(scope, node.path)]


def check(rule: n.Rule | n.Expr, ctx: CheckContext | None = None) -> TypedRule:
    """Type-check ``rule``; raise RuleTypeError at the first problem (with line, column and, for an
    unknown name, the nearest known one)."""
    if not isinstance(rule, n.Rule):
        rule = n.Rule(body=rule)
    checker = _Checker(ctx or CheckContext())
    checker.predicate(rule.body, "customer")
    return TypedRule(rule=rule, fields=MappingProxyType(dict(checker.fields)))


def parse_date_literal(text: str) -> datetime | None:
    """An ISO date or date-time literal as a naive UTC datetime, or None if it is not one."""
    from segmint.core.timeutil import to_utc_naive

    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            return datetime(d.year, d.month, d.day)
        return to_utc_naive(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


def _suggest(name: str, candidates: Collection[str], cutoff: float = 0.6) -> str:
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=cutoff)
    return f"; did you mean '{match[0]}'?" if match else ""


class _Checker:
    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self.fields: dict[tuple[str, tuple[str, ...]], Resolved] = {}

    def fail(self, node: n.Node, message: str) -> NoReturn:
        pos = node.pos
        raise RuleTypeError(message, pos.line if pos else 0, pos.column if pos else 0)

    # ------------------------------------------------------------ names

    def resolve(self, node: n.Field, scope: str) -> Resolved:
        key = (scope, node.path)
        if key not in self.fields:
            self.fields[key] = self._resolve(node, scope)
        return self.fields[key]

    def _resolve(self, node: n.Field, scope: str) -> Resolved:
        head, rest = node.path[0], node.path[1:]
        if scope == "event":
            if head == "properties" and rest:
                return Resolved("event_json", "properties", "json", rest)
            if not rest and head in self.ctx.event_columns:
                return Resolved("event", head, kind_of(self.ctx.event_columns[head]))
            names = [*self.ctx.event_columns, "properties."]
            hint = _suggest(node.name, names)
            if not hint and (self._customer_name(node) is not None):
                hint = (
                    f"; '{node.name}' is a customer name: put the event clause in parentheses, "
                    "e.g. (did product_viewed where category = 'x') and ..."
                )
            self.fail(node, f"unknown event column '{node.name}' in an event filter{hint}")
        found = self._customer_name(node)
        if found is not None:
            return found
        if head == "attr" and not rest:
            self.fail(node, "write a path into the attributes, e.g. attr.interests")
        if not rest and head in self.ctx.known_events:
            self.fail(node, f"'{head}' is an event: count it, e.g. count({head}) >= 1, or write did {head}")
        names = [*(self.ctx.catalog.names if self.ctx.catalog else []), *self.ctx.customer_columns]
        self.fail(node, f"unknown name '{node.name}'{_suggest(node.name, names)}")
        raise AssertionError

    def _customer_name(self, node: n.Field) -> Resolved | None:
        head, rest = node.path[0], node.path[1:]
        if head == "attr" and rest and "attributes" in self.ctx.customer_columns:
            return Resolved("attr", "attributes", "json", rest)
        if rest:
            return None
        catalog = self.ctx.catalog
        if catalog is not None and head in catalog:
            return Resolved("trait", head, kind_of(catalog[head].dtype))
        if head in self.ctx.customer_columns:
            return Resolved("customer", head, kind_of(self.ctx.customer_columns[head]))
        return None

    def event(self, node: n.Node, name: str) -> None:
        known = self.ctx.known_events
        if name in known:
            return
        hint = _suggest(name, known, _EVENT_TYPO_CUTOFF)
        if hint:
            self.fail(node, f"unknown event '{name}'{hint}")

    # ------------------------------------------------------------ values

    def value(self, node: n.Value, scope: str) -> str:
        """The kind of a value node."""
        if isinstance(node, n.Field):
            return self.resolve(node, scope).kind
        if isinstance(node, n.Aggregate):
            if scope == "event":
                self.fail(node, "an aggregate cannot be used inside an event filter")
            return self.aggregate(node)
        self.fail(node, f"expected a name or an aggregate, not {type(node).__name__}")
        raise AssertionError

    def aggregate(self, node: n.Aggregate) -> str:
        if node.func not in n.AGG_FUNCS:
            self.fail(node, f"unknown aggregate {node.func!r}; use one of {', '.join(n.AGG_FUNCS)}")
        self.event(node, node.event)
        self.window(node.window)
        if node.where is not None:
            self.predicate(node.where, "event")
        if node.func in ("count", "first", "last"):
            if node.prop:
                self.fail(node, f"{node.func}() takes an event name without a property")
            return "integer" if node.func == "count" else "timestamp"
        if not node.prop:
            self.fail(node, f"{node.func}() needs an event property, e.g. {node.func}({node.event}.value)")
        kind = self.resolve(n.Field(node.prop, pos=node.pos), "event").kind
        if kind not in (*_NUMERIC, "json"):
            self.fail(node, f"{node.func}() needs a numeric property; '{'.'.join(node.prop)}' is {kind}")
        return "number"

    def window(self, d: n.Duration | None) -> None:
        if d is not None and d.seconds <= 0:
            self.fail(d, "a window must be longer than zero")

    # ------------------------------------------------------------ predicates

    def predicate(self, node: n.Node, scope: str) -> None:
        if isinstance(node, n.And | n.Or):
            if len(node.items) < 2:
                self.fail(node, f"'{type(node).__name__.lower()}' needs at least two conditions")
            for item in node.items:
                self.predicate(item, scope)
        elif isinstance(node, n.Not):
            self.predicate(node.item, scope)
        elif isinstance(node, n.Compare):
            self.compare(node, scope)
        elif isinstance(node, n.InList):
            kind = self.value(node.left, scope)
            if not node.items:
                self.fail(node, "the list is empty")
            for lit in node.items:
                self.operand(node, kind, "=", lit)
            if kind == "json" and len({_lit_kind(i) for i in node.items}) > 1:
                self.fail(node, "mix of value types in the list")
        elif isinstance(node, n.Between):
            kind = self.value(node.left, scope)
            if kind not in (*_NUMERIC, *_TIME, "json"):
                self.fail(node, f"'between' needs a number or a time; {self._what(node.left)} is {kind}")
            self.operand(node, kind, "<=", node.low)
            self.operand(node, kind, "<=", node.high)
        elif isinstance(node, n.Contains | n.StartsWith):
            verb = "contains" if isinstance(node, n.Contains) else "starts with"
            kind = self.value(node.left, scope)
            allowed = ("text", "list", "json") if verb == "contains" else ("text", "json")
            if kind not in allowed:
                self.fail(node, f"'{verb}' needs a text or a list; {self._what(node.left)} is {kind}")
            if not isinstance(node.value, n.StringLit):
                self.fail(node.value, f"'{verb}' takes a quoted text")
        elif isinstance(node, n.IsMissing):
            self.value(node.left, scope)
        elif isinstance(node, n.Truthy):
            kind = self.value(node.left, scope)
            if kind not in ("boolean", "json"):
                self.fail(
                    node,
                    f"'{node.left.name}' is {kind}, not true/false: compare it, e.g. {node.left.name} = ...",
                )
        elif scope == "event":
            self.fail(node, "only conditions on event columns are allowed inside an event filter")
        elif isinstance(node, n.Did):
            self.event(node, node.event)
            self.window(node.window)
            if node.where is not None:
                self.predicate(node.where, "event")
        elif isinstance(node, n.Sequence):
            self.sequence(node)
        elif isinstance(node, n.InSegment):
            known = self.ctx.segments
            if not node.name:
                self.fail(node, "in_segment needs a segment name")
            if known is not None and node.name not in known:
                self.fail(node, f"unknown segment '{node.name}'{_suggest(node.name, known)}")
        elif isinstance(node, n.WithinKm):
            self.within_km(node)
        elif isinstance(node, n.Consent):
            if node.channel not in n.CONSENT_CHANNELS:
                hint = _suggest(node.channel, n.CONSENT_CHANNELS) or "; use email, sms or ads"
                self.fail(node, f"unknown consent channel '{node.channel}'{hint}")
            self.resolve(n.Field((f"{node.channel}_opt_in",), pos=node.pos), "customer")
        else:
            self.fail(node, f"expected a condition, not {type(node).__name__}")

    def sequence(self, node: n.Sequence) -> None:
        for step in (node.first, node.then):
            self.event(step, step.event)
            if step.where is not None:
                self.predicate(step.where, "event")
        self.window(node.within)
        self.window(node.since)
        if node.by is not None:
            kind = self.resolve(n.Field((node.by,), pos=node.pos), "event").kind
            if kind == "json":
                self.fail(node, "'by' needs an event column, not a JSON property")

    def within_km(self, node: n.WithinKm) -> None:
        for lit, low, high, what in (
            (node.lat, -90, 90, "latitude"),
            (node.lon, -180, 180, "longitude"),
            (node.km, 0, 20038, "radius"),
        ):
            if not isinstance(lit.value, int | float) or isinstance(lit.value, bool):
                self.fail(lit, f"the {what} must be a number")
            if not low <= lit.value <= high:
                self.fail(lit, f"the {what} must be between {low} and {high}")
        for name in ("latitude", "longitude"):
            found = self._customer_name(n.Field((name,)))
            if found is None or found.kind not in _NUMERIC:
                self.fail(node, f"within_km needs a numeric '{name}' trait or customer column")
            self.fields[("customer", (name,))] = found

    def compare(self, node: n.Compare, scope: str) -> None:
        if node.op not in n.COMPARE_OPS:
            self.fail(node, f"unknown operator {node.op!r}")
        kind = self.value(node.left, scope)
        self.operand(node, kind, node.op, node.right)

    def operand(self, node: n.Node, kind: str, op: str, lit: n.Node) -> None:
        """Check that literal ``lit`` can be compared by ``op`` with a value of ``kind``."""
        what = self._what(getattr(node, "left", node))
        ordering = op not in ("=", "!=")
        if isinstance(lit, n.RelTime):
            if lit.anchor not in ("now", "today"):
                self.fail(lit, f"unknown time anchor {lit.anchor!r}")
            if kind not in _TIME:
                self.fail(
                    lit, f"{what} is {kind}, not a time: {literal_text(lit)} cannot be compared with it"
                )
            return
        if kind in _NUMERIC:
            if not isinstance(lit, n.NumberLit):
                self.fail(lit, f"{what} is a number; compare it with a number, not {literal_text(lit)}")
        elif kind in _TIME:
            if not isinstance(lit, n.StringLit) or parse_date_literal(lit.value) is None:
                self.fail(
                    lit,
                    f"{what} is a {kind}; compare it with a date such as '2025-01-31' or a time "
                    f"relative to as_of such as -30d or today, not {literal_text(lit)}",
                )
        elif kind == "text":
            if not isinstance(lit, n.StringLit):
                self.fail(lit, f"{what} is text; compare it with a quoted text, not {literal_text(lit)}")
            if ordering:
                self.fail(node, f"{what} is text: use =, !=, in, contains or starts with, not {op}")
        elif kind == "boolean":
            if not isinstance(lit, n.BoolLit):
                self.fail(
                    lit, f"{what} is true/false; compare it with true or false, not {literal_text(lit)}"
                )
            if ordering:
                self.fail(node, f"{what} is true/false: use = or !=, not {op}")
        elif kind == "list":
            self.fail(node, f"{what} is a list: test it with contains or is missing")
        elif kind == "json":
            if isinstance(lit, n.NumberLit):
                return
            if ordering:
                self.fail(node, f"{op} needs a number for {what}")
            if not isinstance(lit, n.StringLit | n.BoolLit):
                self.fail(lit, f"cannot compare {what} with {literal_text(lit)}")

    @staticmethod
    def _what(value: n.Node) -> str:
        if isinstance(value, n.Field):
            return f"'{value.name}'"
        if isinstance(value, n.Aggregate):
            return to_text(value)
        return type(value).__name__


def _lit_kind(lit: n.Node) -> str:
    return type(lit).__name__
