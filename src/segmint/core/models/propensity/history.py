"""Classical purchase-history features as of a cutoff, as one Ibis expression over the orders table.

The trait table already holds recency and counts; these add what the churn literature finds most
predictive and the traits lack: recency measured against the customer's *own* rhythm (a customer who
orders every 10 days and has been silent for 60 is more overdue than one who orders twice a year), and
seasonality seen from the label window (did the customer order in the same calendar window one year
earlier; what share of their orders fell in that part of the year). A gift-season shopper silent since
last December is not lapsed in October; recency alone cannot tell.

All windows follow the trait convention (as_of - d, as_of]; the "same window last year" is
(cutoff - 365d, cutoff - 365d + horizon], all of it before the cutoff, so nothing after it is seen.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir

from segmint.core.models.summary import PAID_STATUSES

__all__ = ["HISTORY_FEATURES", "history_features_expr"]

YEAR = timedelta(days=365)
HISTORY_FEATURES = (
    "hist_recency_days",
    "hist_tenure_days",
    "hist_repeat_days",
    "hist_mean_gap_days",
    "hist_recency_over_gap",
    "hist_monetary",
    "hist_orders_same_window_last_year",
    "hist_orders_previous_window_last_year",
    "hist_same_season_share",
)


def history_features_expr(orders: ir.Table, cutoff: datetime, horizon: timedelta) -> ir.Table:
    """customer_id and HISTORY_FEATURES for every customer with a paid order at or before ``cutoff``.

    * recency / tenure: days from the last / first paid order to the cutoff;
    * repeat_days: distinct later order days (BTYD's x, same-day orders merged);
    * mean_gap_days: (last - first) / repeat_days, missing for one-time buyers;
    * recency_over_gap: recency / mean gap (about 1 = due now, 5 = five rhythms overdue);
    * monetary: mean order value (total minus refunds);
    * orders_same_window_last_year: orders in (cutoff - 365d, cutoff - 365d + horizon], the calendar
      window the label covers, one year earlier; missing when the customer's first order is later than
      cutoff - 365d (we did not know them then, which is not the same as "did not order");
    * orders_previous_window_last_year: the same for the window just before that one;
    * same_season_share: share of the customer's orders whose day of the year falls in the label's
      calendar window [doy(cutoff), doy(cutoff) + horizon) (wrapping over the new year).
    """
    h_days = max(1, int(horizon.total_seconds() // 86400))
    paid = orders.filter(
        orders.customer_id.notnull() & orders.status.isin(list(PAID_STATUSES)) & (orders.ordered_at <= cutoff)
    )
    value = paid.total.cast("float64").fill_null(0.0) - paid.refunded_amount.cast("float64").fill_null(0.0)
    ly_start = cutoff - YEAR
    in_ly = (paid.ordered_at > ly_start) & (paid.ordered_at <= ly_start + horizon)
    in_prev_ly = (paid.ordered_at > ly_start - horizon) & (paid.ordered_at <= ly_start)
    start_doy = cutoff.timetuple().tm_yday
    offset = (paid.ordered_at.day_of_year().cast("int64") - start_doy + 366) % 366
    rows = paid.select(
        customer_id=paid.customer_id.cast("string"),
        day=paid.ordered_at.date(),
        at=paid.ordered_at,
        value=value,
        in_ly=in_ly.cast("int64"),
        in_prev_ly=in_prev_ly.cast("int64"),
        in_season=(offset < h_days).cast("float64"),
    )
    agg = rows.group_by("customer_id").aggregate(
        first_at=rows.at.min(),
        last_at=rows.at.max(),
        first_day=rows.day.min(),
        last_day=rows.day.max(),
        order_days=rows.day.nunique(),
        monetary=rows.value.mean(),
        ly=rows.in_ly.sum(),
        prev_ly=rows.in_prev_ly.sum(),
        season=rows.in_season.mean(),
    )
    seconds_per_day = 86400.0
    cut = ibis.literal(cutoff)
    recency = (cut.epoch_seconds() - agg.last_at.epoch_seconds()).cast("float64") / seconds_per_day
    tenure = (cut.epoch_seconds() - agg.first_at.epoch_seconds()).cast("float64") / seconds_per_day
    repeat = (agg.order_days - 1).cast("float64")
    span = (agg.last_day.epoch_seconds() - agg.first_day.epoch_seconds()).cast("float64") / seconds_per_day
    gap = ibis.ifelse(repeat > 0, span / repeat, ibis.null("float64"))
    known_last_year = agg.first_at <= ly_start
    return agg.select(
        "customer_id",
        hist_recency_days=recency,
        hist_tenure_days=tenure,
        hist_repeat_days=repeat,
        hist_mean_gap_days=gap,
        hist_recency_over_gap=recency / gap,
        hist_monetary=agg.monetary,
        hist_orders_same_window_last_year=ibis.ifelse(
            known_last_year, agg.ly.cast("float64"), ibis.null("float64")
        ),
        hist_orders_previous_window_last_year=ibis.ifelse(
            known_last_year, agg.prev_ly.cast("float64"), ibis.null("float64")
        ),
        hist_same_season_share=agg.season,
    )
