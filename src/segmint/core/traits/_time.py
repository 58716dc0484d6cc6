"""Portable time arithmetic for traits.

Durations are computed on epoch seconds (``epoch_seconds()`` compiles to ``EPOCH`` on DuckDB and
``unix_timestamp`` on Spark) rather than on interval types, whose support differs between engines.
``as_of`` is a Python constant, so every window bound is a literal.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import ibis
import ibis.expr.types as ir

DAY = 86400.0
# A typed literal: Spark reads a bare 86400.0 as a DECIMAL and divides with 8-digit precision.
_DAY = ibis.literal(DAY, type="float64")


def ts_literal(value: datetime) -> ir.TimestampScalar:
    """A naive-UTC timestamp literal."""
    return ibis.literal(value.replace(tzinfo=None), type="timestamp")


def epoch(value: datetime) -> float:
    """Seconds since 1970 of a naive-UTC instant."""
    return value.replace(tzinfo=UTC).timestamp()


def within(column: ir.TimestampValue, as_of: datetime, days: float) -> ir.BooleanValue:
    """The half-open window ``(as_of - days, as_of]``. Callers have already hidden rows after as_of,
    so only the lower bound is tested here."""
    return column > ts_literal(as_of - timedelta(days=days))


def whole_days_since(column: ir.TimestampValue, as_of: datetime) -> ir.IntegerValue:
    """Whole days elapsed between ``column`` and ``as_of`` (floor): an instant 89.9 days old is 89, so
    ``recency_days < 90`` agrees with the 90-day window."""
    seconds = ibis.literal(epoch(as_of), type="float64") - column.epoch_seconds().cast("float64")
    return (seconds / _DAY).floor().cast("int64")


def days_between(start: ir.TimestampValue, end: ir.TimestampValue) -> ir.FloatingValue:
    """Fractional days from ``start`` to ``end``."""
    return (end.epoch_seconds() - start.epoch_seconds()).cast("float64") / _DAY
