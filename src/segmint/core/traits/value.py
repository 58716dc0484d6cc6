"""Value and lifecycle traits: one aggregation over the orders table.

What counts as a sale: an order whose status is ``paid`` or ``partially_refunded`` (or has no status,
as in files that list only completed purchases). Its money is ``total - refunded_amount``. Refunded,
cancelled and pending orders are not sales; refunded and partially refunded orders are what
``refund_rate`` counts. Guest orders (no customer_id) belong to no customer. Orders after ``as_of`` are
invisible.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from segmint.core.traits._time import days_between, ts_literal, whole_days_since, within
from segmint.core.traits.catalog import TraitGroup, TraitSpec
from segmint.core.traits.mode import top_value
from segmint.core.traits.rfm import RFM_SCORES, rfm_scores, rfm_scores_of

SALE_STATUSES = ("paid", "partially_refunded")
REFUND_STATUSES = ("refunded", "partially_refunded")
# Orders that reached the customer: the base of refund_rate (cancelled and pending never did).
SETTLED_STATUSES = ("paid", "partially_refunded", "refunded")
WINDOWS = (30, 90, 365)
LIFECYCLE_STAGES = ("prospect", "new", "active", "at_risk", "lapsed", "reactivated")

_F, _I, _S, _B, _T = dt.float64, dt.int64, dt.string, dt.boolean, dt.timestamp


def _spec(name: str, dtype: dt.DataType, unit: str, description: str, default: object = None) -> TraitSpec:
    return TraitSpec(name, dtype, "value", description, unit, default)


SPECS: tuple[TraitSpec, ...] = (
    _spec("total_spent", _F, "currency", "Money spent on paid orders, net of refunds.", 0.0),
    _spec("orders_count", _I, "orders", "Paid (incl. partially refunded) orders.", 0),
    _spec("aov", _F, "currency", "Average order value: total_spent / orders_count; missing with no orders."),
    _spec("first_order_at", _T, "UTC", "Time of the first paid order."),
    _spec("last_order_at", _T, "UTC", "Time of the latest paid order."),
    _spec("recency_days", _I, "days", "Whole days since the latest paid order (R of RFM)."),
    _spec("tenure_days", _I, "days", "Whole days since the first paid order."),
    _spec(
        "mean_days_between_orders",
        _F,
        "days",
        "Mean gap between paid orders: (last - first) / (orders_count - 1); missing below 2 orders.",
    ),
    *(_spec(f"orders_{d}d", _I, "orders", f"Paid orders in the last {d} days.", 0) for d in WINDOWS),
    *(_spec(f"spent_{d}d", _F, "currency", f"Net money spent in the last {d} days.", 0.0) for d in WINDOWS),
    _spec(
        "refund_rate",
        _F,
        "share",
        "Refunded or partially refunded orders / orders paid, partially refunded or refunded.",
    ),
    _spec(
        "discount_share",
        _F,
        "share",
        "Share of paid orders with a discount (amount > 0 or a discount code).",
    ),
    _spec("one_time_buyer", _B, "", "Exactly one paid order.", False),
    _spec(
        "clv_historical",
        _F,
        "currency",
        "Revenue kept to date: paid orders' total minus tax, shipping and refunds.",
        0.0,
    ),
    TraitSpec(
        "seasonal_share",
        _F,
        "behavioral",
        "Share of paid orders placed in the gift season (November-December by default).",
        "share",
    ),
    TraitSpec(
        "lifecycle_stage",
        _S,
        "lifecycle",
        "prospect (no paid order), new (first order within new_days=30), reactivated (ordered within "
        "active_days=90 after a gap over reactivated_gap_days=180), active (ordered within 90d), at_risk "
        "(last order 90-180d ago), lapsed (over lapsed_days=180). First match in that order.",
        "",
        "prospect",
    ),
)


def _dated(tables: Mapping[str, ir.Table], as_of: datetime) -> ir.Table:
    orders = tables["orders"]
    return orders.filter(orders.ordered_at <= ts_literal(as_of), orders.customer_id.notnull())


def order_ids(tables: Mapping[str, ir.Table], as_of: datetime) -> ir.Table:
    """Every customer with an order (any status) as of ``as_of``: the rows of :func:`build_orders`."""
    return _dated(tables, as_of).select("customer_id").distinct()


def build_orders(tables: Mapping[str, ir.Table], as_of: datetime, settings: dict[str, Any]) -> ir.Table:
    o = _dated(tables, as_of)
    status = o.status.lower()
    sale = o.status.isnull() | status.isin(SALE_STATUSES)
    net = o.total - o.refunded_amount.fill_null(0)
    kept = o.total - o.tax.fill_null(0) - o.shipping.fill_null(0) - o.refunded_amount.fill_null(0)
    discounted = sale & ((o.discount.fill_null(0) > 0) | (o.discount_code.fill_null("").length() > 0))
    active_edge = ts_literal(as_of - timedelta(days=settings["active_days"]))
    months = list(settings["seasonal_months"])

    agg = o.group_by("customer_id").agg(
        orders_count=o.order_id.count(where=sale),
        total_spent=net.sum(where=sale),
        first_order_at=o.ordered_at.min(where=sale),
        last_order_at=o.ordered_at.max(where=sale),
        **{f"orders_{d}d": o.order_id.count(where=sale & within(o.ordered_at, as_of, d)) for d in WINDOWS},
        **{f"spent_{d}d": net.sum(where=sale & within(o.ordered_at, as_of, d)) for d in WINDOWS},
        _refunded=o.order_id.count(where=status.isin(REFUND_STATUSES)),
        _settled=o.order_id.count(where=o.status.isnull() | status.isin(SETTLED_STATUSES)),
        _discounted=o.order_id.count(where=discounted),
        _seasonal=o.order_id.count(where=sale & o.ordered_at.month().isin(months)),
        clv_historical=kept.sum(where=sale),
        _app_orders=o.order_id.count(where=o.channel.lower() == "app"),
        _before_active=o.ordered_at.max(where=sale & (o.ordered_at <= active_edge)),
        _first_in_active=o.ordered_at.min(where=sale & (o.ordered_at > active_edge)),
    )
    n = agg.orders_count
    has = n > 0
    # Money sums are rounded to cents: float addition order differs between engines, and an error in
    # the last bit must not split a tie in the monetary score.
    agg = agg.mutate(
        total_spent=agg.total_spent.fill_null(0.0).round(2),
        clv_historical=agg.clv_historical.fill_null(0.0).round(2),
        **{f"spent_{d}d": agg[f"spent_{d}d"].fill_null(0.0).round(2) for d in WINDOWS},
        aov=ibis.ifelse(has, agg.total_spent / n.cast("float64"), ibis.null("float64")),
        recency_days=whole_days_since(agg.last_order_at, as_of),
        tenure_days=whole_days_since(agg.first_order_at, as_of),
        mean_days_between_orders=ibis.ifelse(
            n > 1,
            days_between(agg.first_order_at, agg.last_order_at) / (n - 1).cast("float64"),
            ibis.null("float64"),
        ),
        refund_rate=_ratio(agg._refunded, agg._settled),
        discount_share=_ratio(agg._discounted, n),
        seasonal_share=_ratio(agg._seasonal, n),
        one_time_buyer=n == 1,
        lifecycle_stage=_lifecycle(agg, as_of, settings),
    )
    channel = top_value(
        o.filter(sale).select("customer_id", channel=o.channel.lower(), n=ibis.literal(1)), "channel"
    )
    counted = COUNT_POPULATION in tables
    population = tables[COUNT_POPULATION] if counted else tables.get(RANK_POPULATION)
    if population is None:
        scores = rfm_scores(agg)
    else:
        # Scored against every buyer (see buyer_population), not only the customers in `orders`: for a
        # handful of them by counting the buyers below each (rfm_scores_of), else by ranking them all.
        population = population.mutate(recency_days=whole_days_since(population.last_order_at, as_of))
        scores = rfm_scores_of(population, agg.select("customer_id")) if counted else rfm_scores(population)
    out = (
        agg.left_join(channel, agg.customer_id == channel.customer_id)
        .left_join(scores, agg.customer_id == scores.customer_id)
        .select(agg, _order_channel=channel.channel, **{c: scores[c] for c in RFM_SCORES})
    )
    return out.select("customer_id", *(s.name for s in SPECS), "_app_orders", "_order_channel", *RFM_SCORES)


RANK_POPULATION = "rfm_population"
# The same population, for when `orders` holds only a handful of customers (explaining one): their
# scores are counted against it (rfm_scores_of) instead of ranking every buyer. Same values.
COUNT_POPULATION = "rfm_population_counted"


def buyer_population(orders: ir.Table, as_of: datetime) -> ir.Table:
    """``customer_id, last_order_at, orders_count, total_spent`` of every buyer as of ``as_of``, with
    the same sales rules as :func:`build_orders`. Passed as the optional input ``rfm_population``, it is
    what RFM scores rank against when ``orders`` holds only some customers (live evaluation of the
    customers an event touched): their scores are then exactly those of a run over everyone."""
    o = orders.filter(orders.ordered_at <= ts_literal(as_of), orders.customer_id.notnull())
    sale = o.status.isnull() | o.status.lower().isin(SALE_STATUSES)
    net = o.total - o.refunded_amount.fill_null(0)
    agg = o.group_by("customer_id").agg(
        orders_count=o.order_id.count(where=sale),
        total_spent=net.sum(where=sale),
        last_order_at=o.ordered_at.max(where=sale),
    )
    agg = agg.filter(agg.orders_count > 0)
    return agg.mutate(total_spent=agg.total_spent.fill_null(0.0).round(2))


def _ratio(part: ir.IntegerValue, whole: ir.IntegerValue) -> ir.FloatingValue:
    return ibis.ifelse(whole > 0, part.cast("float64") / whole.cast("float64"), ibis.null("float64"))


def _lifecycle(agg: ir.Table, as_of: datetime, settings: dict[str, Any]) -> ir.StringValue:
    gap = days_between(agg._before_active, agg._first_in_active)
    return ibis.cases(
        (agg.orders_count == 0, "prospect"),
        (within(agg.first_order_at, as_of, settings["new_days"]), "new"),
        (
            agg._first_in_active.notnull() & (gap > settings["reactivated_gap_days"]),
            "reactivated",
        ),
        (within(agg.last_order_at, as_of, settings["active_days"]), "active"),
        (within(agg.last_order_at, as_of, settings["lapsed_days"]), "at_risk"),
        else_="lapsed",
    )


GROUP = TraitGroup("orders", SPECS, build_orders, needs_settings=True, ids=order_ids)
