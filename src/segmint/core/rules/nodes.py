"""The typed syntax tree of the rule language.

Every node is a frozen dataclass, so trees compare by value (round-trip tests), hash (the compiler
shares one aggregate between identical clauses) and cannot be changed behind a pass's back. Source
positions ride along in ``pos`` but take no part in equality: a tree parsed from reformatted text is the
same tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

__all__ = [
    "AGG_FUNCS",
    "COMPARE_OPS",
    "Aggregate",
    "And",
    "Between",
    "BoolLit",
    "Compare",
    "Consent",
    "Contains",
    "Did",
    "Duration",
    "Expr",
    "Field",
    "InList",
    "InSegment",
    "IsMissing",
    "Literal",
    "Node",
    "Not",
    "NumberLit",
    "Or",
    "Pos",
    "RelTime",
    "Rule",
    "Sequence",
    "StartsWith",
    "Step",
    "StringLit",
    "Truthy",
    "Value",
    "WithinKm",
    "walk",
]

COMPARE_OPS = ("=", "!=", "<", "<=", ">", ">=")
# count/first/last take an event; sum/avg/min/max take event.property.
AGG_FUNCS = ("count", "sum", "avg", "min", "max", "first", "last")
CONSENT_CHANNELS = ("email", "sms", "ads")


@dataclass(frozen=True)
class Pos:
    """1-based line and column of the token a node starts at."""

    line: int
    column: int

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}"


class Node:
    """Base of every tree node (marker for isinstance checks and the JSON form)."""

    pos: Pos | None


# ---------------------------------------------------------------- durations and literals


@dataclass(frozen=True)
class Duration(Node):
    """A length of time, kept in whole seconds so ``60m`` and ``1h`` are the same tree."""

    seconds: int
    pos: Pos | None = field(default=None, compare=False, repr=False)

    @property
    def delta(self) -> timedelta:
        return timedelta(seconds=self.seconds)


@dataclass(frozen=True)
class NumberLit(Node):
    value: int | float
    pos: Pos | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class StringLit(Node):
    """A quoted text; compared with a date or timestamp it is read as an ISO date (checked)."""

    value: str
    pos: Pos | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class BoolLit(Node):
    value: bool
    pos: Pos | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class RelTime(Node):
    """A time relative to ``as_of``: ``-90d`` (offset -90 days), ``+7d``, ``now`` (offset 0) or
    ``today`` (midnight UTC of as_of's day plus the offset)."""

    anchor: str  # "now" or "today"
    offset: int  # seconds, signed
    pos: Pos | None = field(default=None, compare=False, repr=False)


Literal = NumberLit | StringLit | BoolLit | RelTime


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class Field(Node):
    """A name: a trait, a customer column, ``attr.a.b`` (customer JSON attributes) or, inside an event
    filter, an event column or ``properties.a`` (event JSON properties)."""

    path: tuple[str, ...]
    pos: Pos | None = field(default=None, compare=False, repr=False)

    @property
    def name(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Aggregate(Node):
    """``count(event where cond, 7d)``, ``sum(event.prop, 30d)``, ``first(event)``, ... over the events
    of each customer dated in the window ``(as_of - window, as_of]`` (all time up to as_of if no window)."""

    func: str
    event: str
    prop: tuple[str, ...] | None = None
    where: Expr | None = None
    window: Duration | None = None
    pos: Pos | None = field(default=None, compare=False, repr=False)


Value = Field | Aggregate


# ---------------------------------------------------------------- predicates


@dataclass(frozen=True)
class Compare(Node):
    left: Value
    op: str
    right: Literal
    pos: Pos | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class InList(Node):
    left: Value
    items: tuple[Literal, ...]
    negated: bool = False
    pos: Pos | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Between(Node):
    """Inclusive at both ends, like SQL."""

    left: Value
    low: Literal
    high: Literal
    pos: Pos | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Contains(Node):
    """Substring for text, element for a list (or a JSON array attribute)."""

    left: Value
    value: Literal
    pos: Pos | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class StartsWith(Node):
    left: Value
    value: Literal
    pos: Pos | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class IsMissing(Node):
    """``x is missing`` (negated: ``x is present``)."""

    left: Value
    negated: bool = False
    pos: Pos | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Truthy(Node):
    """A boolean name used alone: ``is_subscriber`` means ``is_subscriber = true``."""

    left: Field
    pos: Pos | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Did(Node):
    """``did product_viewed where ... within 7d`` / ``did not ...``."""

    event: str
    where: Expr | None = None
    window: Duration | None = None
    negated: bool = False
    pos: Pos | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Step(Node):
    event: str
    where: Expr | None = None
    pos: Pos | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Sequence(Node):
    """``sequence(A, then B, within 1h, by cart_id, since 1d)``; with ``then_not`` the customer did A and
    no B followed within the deadline, which has passed by as_of."""

    first: Step
    then: Step
    negated: bool = False
    within: Duration | None = None
    by: str | None = None
    since: Duration | None = None
    pos: Pos | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class InSegment(Node):
    name: str
    pos: Pos | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class WithinKm(Node):
    """Great-circle (haversine) distance from the customer's latitude/longitude, inclusive."""

    lat: NumberLit
    lon: NumberLit
    km: NumberLit
    pos: Pos | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Consent(Node):
    channel: str
    pos: Pos | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class And(Node):
    items: tuple[Expr, ...]
    pos: Pos | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Or(Node):
    items: tuple[Expr, ...]
    pos: Pos | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Not(Node):
    item: Expr
    pos: Pos | None = field(default=None, compare=False, repr=False)


Expr = (
    Compare
    | InList
    | Between
    | Contains
    | StartsWith
    | IsMissing
    | Truthy
    | Did
    | Sequence
    | InSegment
    | WithinKm
    | Consent
    | And
    | Or
    | Not
)


@dataclass(frozen=True)
class Rule(Node):
    """A whole rule. ``source`` keeps the text it was parsed from (for messages), not compared."""

    body: Expr
    source: str | None = field(default=None, compare=False, repr=False)
    pos: Pos | None = field(default=None, compare=False, repr=False)


def walk(node: object):
    """Every node under ``node`` (itself included), depth first, in source order."""
    if not isinstance(node, Node):
        return
    yield node
    for name in node.__dataclass_fields__:  # type: ignore[attr-defined]
        if name in ("pos", "source"):
            continue
        value = getattr(node, name)
        if isinstance(value, tuple):
            for item in value:
                yield from walk(item)
        else:
            yield from walk(value)
