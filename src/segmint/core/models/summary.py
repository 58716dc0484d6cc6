"""Per-customer (x, t_x, T, monetary value) summaries for the BTYD models, built as one Ibis expression
over the orders table so it runs inside the engine (DuckDB, Spark, ...) and only the summary is pulled.

Conventions (those of Fader, Hardie & Lee on CDNOW):

* Only orders that were paid (``paid``, ``partially_refunded``) count; their value is total minus refunds.
* Time is counted in whole days, and all of a customer's orders on one (UTC) day are one transaction.
* The calibration period ends at the end of the day ``calibration_end`` falls on; customers whose first
  transaction is later are not in the summary.
* x = repeat transactions in calibration (transactions after the first), t_x = time from the first to
  the last transaction, T = time from the first transaction to the calibration end, in ``time_unit``.
* monetary_value = mean value of the repeat transactions (missing when x = 0: the first purchase is
  left out, as in the Gamma-Gamma papers).
* With ``holdout_end``: x_holdout = transactions in (calibration end, holdout end], holdout_value their
  total, and duration_holdout the length of that period.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import ibis
import ibis.expr.types as ir

from segmint.core.timeutil import parse_as_of
from segmint.errors import SegmintError

__all__ = [
    "PAID_STATUSES",
    "SummaryError",
    "calibration_summary",
    "cohort_daily_transactions",
    "time_unit_days",
]

PAID_STATUSES = ("paid", "partially_refunded")
_SECONDS_PER_DAY = 86400
_UNITS = {"w": 7, "week": 7, "weeks": 7, "d": 1, "day": 1, "days": 1}


class SummaryError(SegmintError):
    """The summary cannot be built as asked (bad time unit, holdout before calibration, ...)."""


def time_unit_days(time_unit: str) -> int:
    """Days per model time unit: 'W'/'weeks' -> 7, 'D'/'days' -> 1."""
    try:
        return _UNITS[time_unit.strip().lower()]
    except KeyError:
        raise SummaryError(f"time unit must be weeks (W) or days (D), got {time_unit!r}") from None


def _day_number(when: str | date | datetime) -> int:
    instant = parse_as_of(when)
    return (instant - datetime(1970, 1, 1)).days


def calibration_summary(
    orders: ir.Table,
    calibration_end: str | date | datetime,
    holdout_end: str | date | datetime | None = None,
    time_unit: str = "W",
    *,
    customer_col: str = "customer_id",
    time_col: str = "ordered_at",
    value_col: str = "total",
    status_col: str | None = "status",
    statuses: Sequence[str] = PAID_STATUSES,
    known_at: datetime | None = None,
) -> ir.Table:
    """An Ibis expression with one row per customer: customer_id, x, t_x, T, monetary_value,
    first_purchase_day (days since 1970-01-01) and, with ``holdout_end``, x_holdout, holdout_value and
    duration_holdout. Column names and statuses are Segmint's own or literal values, never SQL text.

    Days are whole (the BTYD convention: a calibration end date includes that day's orders).
    ``known_at``: an instant; orders after it are not seen even on its own day (scoring as of a time
    must not count an order placed later that day)."""
    unit = time_unit_days(time_unit)
    end_day = _day_number(calibration_end)
    hold_day = _day_number(holdout_end) if holdout_end is not None else None
    if hold_day is not None and hold_day <= end_day:
        raise SummaryError("holdout_end must be after calibration_end")
    _check_columns(orders, customer_col, time_col, value_col, status_col)

    last_day = hold_day if hold_day is not None else end_day
    if known_at is not None:
        orders = orders.filter(orders[time_col] <= ibis.literal(known_at, type="timestamp"))
    daily = _daily_transactions(orders, last_day, customer_col, time_col, value_col, status_col, statuses)
    cal = daily.filter(daily.day <= end_day)
    cal = cal.mutate(first=cal.day.min().over(group_by=cal.customer_id))
    repeat = cal.day > cal.first
    summary = cal.group_by("customer_id").aggregate(
        x=repeat.sum().cast("int64"),
        first_purchase_day=cal.first.min(),
        last_day=cal.day.max(),
        repeat_value=cal.value.sum(where=repeat),
    )
    summary = summary.select(
        "customer_id",
        x=summary.x.cast("float64"),
        t_x=(summary.last_day - summary.first_purchase_day).cast("float64") / unit,
        T=(ibis.literal(end_day) - summary.first_purchase_day).cast("float64") / unit,
        monetary_value=ibis.ifelse(summary.x > 0, summary.repeat_value / summary.x, ibis.null("float64")),
        first_purchase_day=summary.first_purchase_day,
    )
    if hold_day is None:
        return summary
    hold = daily.filter(daily.day > end_day)
    hold = hold.group_by("customer_id").aggregate(x_holdout=hold.count(), holdout_value=hold.value.sum())
    joined = summary.left_join(hold, "customer_id")
    return joined.select(
        *[joined[c] for c in summary.columns],
        x_holdout=joined.x_holdout.fill_null(0).cast("float64"),
        holdout_value=joined.holdout_value.fill_null(0.0),
        duration_holdout=ibis.literal((hold_day - end_day) / unit, type="float64"),
    )


def cohort_daily_transactions(
    orders: ir.Table,
    calibration_end: str | date | datetime,
    until: str | date | datetime,
    *,
    customer_col: str = "customer_id",
    time_col: str = "ordered_at",
    value_col: str = "total",
    status_col: str | None = "status",
    statuses: Sequence[str] = PAID_STATUSES,
) -> ir.Table:
    """Per day (days since 1970-01-01), for the customers whose first transaction is on or before
    ``calibration_end`` (the ones a model is fitted on): ``first_purchases`` made that day and
    ``repeat_transactions`` (same-day orders merged, as in :func:`calibration_summary`) up to ``until``.
    This is what the cohort tracking plot of Fader, Hardie & Lee (2005, Figures 3-4) is drawn from."""
    end_day = _day_number(calibration_end)
    last_day = _day_number(until)
    _check_columns(orders, customer_col, time_col, value_col, status_col)
    daily = _daily_transactions(orders, last_day, customer_col, time_col, value_col, status_col, statuses)
    daily = daily.mutate(first=daily.day.min().over(group_by=daily.customer_id))
    cohort = daily.filter(daily.first <= end_day)
    return (
        cohort.group_by("day")
        .aggregate(
            first_purchases=(cohort.day == cohort.first).sum().cast("int64"),
            repeat_transactions=(cohort.day > cohort.first).sum().cast("int64"),
        )
        .order_by("day")
    )


def _check_columns(orders: ir.Table, *columns: str | None) -> None:
    for col in columns:
        if col is not None and col not in orders.columns:
            raise SummaryError(f"the orders table has no column {col!r}")


def _daily_transactions(
    orders: ir.Table,
    last_day: int,
    customer_col: str,
    time_col: str,
    value_col: str,
    status_col: str | None,
    statuses: Sequence[str],
) -> ir.Table:
    """One row per customer and day with a paid order up to ``last_day``: customer_id, day, value."""
    t = orders
    keep = t[customer_col].notnull() & t[time_col].notnull()
    if status_col is not None:
        keep &= t[status_col].isin(list(statuses))
    t = t.filter(keep)
    value = t[value_col].cast("float64").fill_null(0.0)
    if "refunded_amount" in t.columns and value_col == "total":
        value = value - t["refunded_amount"].cast("float64").fill_null(0.0)
    day = (t[time_col].epoch_seconds() // _SECONDS_PER_DAY).cast("int64")
    return (
        t.select(customer_id=t[customer_col].cast("string"), day=day, value=value)
        .filter(lambda d: d.day <= last_day)
        .group_by(["customer_id", "day"])
        .aggregate(value=lambda d: d.value.sum())
    )
