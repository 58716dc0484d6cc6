"""KPIs per segment beside the whole base, as one Ibis expression.

Each source table is read once into per-customer facts (orders: revenue and counts; events: sessions,
carts, e-mails); the facts are then summed per segment through the membership rows and once more for
the whole base, so adding segments adds a join, not a scan. Definitions (``period`` is e.g. 90 days):

* revenue: order totals less refunds of paid and partially refunded orders placed up to ``as_of``;
  revenue share is against the whole base's revenue; AOV = revenue / orders.
* orders per customer = orders / size; repeat rate = share of customers with 2 orders or more.
* retention: of the customers who had ordered by ``as_of - period``, the share who ordered again in
  ``(as_of - period, as_of]``.
* historical CLV = revenue / size.
* conversion = orders / sessions, cart abandonment = carts with no completed order / carts, e-mail open
  and click rates = opened (clicked) / sent, all over events in ``(as_of - period, as_of]``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir

from segmint.core.traits.profile import known_at

__all__ = ["ALL", "COUNTED_STATUSES", "customer_facts", "segment_kpis"]

ALL = "(all customers)"
COUNTED_STATUSES = ("paid", "partially_refunded")


def customer_facts(
    customers: ir.Table, orders: ir.Table, events: ir.Table, as_of: datetime, period: timedelta
) -> ir.Table:
    """One row per customer with the sums every KPI is a ratio of."""
    t = ibis.literal(as_of, type="timestamp")
    start = ibis.literal(as_of - period, type="timestamp")
    o = orders.filter(
        orders.customer_id.notnull(),
        orders.ordered_at <= t,
        orders.status.isnull() | orders.status.isin(COUNTED_STATUSES),
    )
    in_period = (o.ordered_at > start).cast("int64")
    before = (o.ordered_at <= start).cast("int64")
    of = o.group_by("customer_id").aggregate(
        revenue=(o.total.fill_null(0) - o.refunded_amount.fill_null(0)).sum(),
        orders=o.count(),
        orders_in_period=in_period.sum(),
        orders_before=before.sum(),
    )
    e = events.filter(events.customer_id.notnull(), events.occurred_at <= t, events.occurred_at > start)
    ef = e.group_by("customer_id").aggregate(
        sessions=e.session_id.nunique(),
        period_orders=(e.name == "order_completed").cast("int64").sum(),
        emails_sent=(e.name == "email_sent").cast("int64").sum(),
        emails_opened=(e.name == "email_opened").cast("int64").sum(),
        emails_clicked=(e.name == "email_clicked").cast("int64").sum(),
    )
    adds = (
        e.filter(e.name == "added_to_cart", e.cart_id.notnull()).select("customer_id", "cart_id").distinct()
    )
    done_ev = events.filter(
        events.name == "order_completed", events.cart_id.notnull(), events.occurred_at <= t
    )
    done = done_ev.select(done_cart=done_ev.cart_id).distinct()
    carts = adds.left_join(done, adds.cart_id == done.done_cart)
    cf = carts.group_by("customer_id").aggregate(
        carts=carts.count(), abandoned_carts=carts.done_cart.isnull().cast("int64").sum()
    )
    c = known_at(customers, as_of).select("customer_id").distinct()  # the base as of then
    out = c.left_join(of, "customer_id").select(c.customer_id, *[of[k] for k in of.columns[1:]])
    out = out.left_join(ef, "customer_id").select(out, *[ef[k] for k in ef.columns[1:]])
    out = out.left_join(cf, "customer_id").select(out, *[cf[k] for k in cf.columns[1:]])
    return out.mutate(**{k: out[k].fill_null(0) for k in out.columns if k != "customer_id"})


def _summarise(f: ir.Table, by: list[str]) -> ir.Table:
    retained_base = (f.orders_before > 0).cast("int64")
    retained = ((f.orders_before > 0) & (f.orders_in_period > 0)).cast("int64")
    aggs = {
        "size": f.count(),
        # Rounded to cents: float addition order differs between engines and scans, and the last bit
        # must not make the same revenue (and the AOV and CLV divided from it) two numbers.
        "revenue": f.revenue.sum().round(2),
        "orders": f.orders.sum(),
        "repeaters": (f.orders >= 2).cast("int64").sum(),
        "retention_base": retained_base.sum(),
        "retained": retained.sum(),
        "sessions": f.sessions.sum(),
        "period_orders": f.period_orders.sum(),
        "carts": f.carts.sum(),
        "abandoned_carts": f.abandoned_carts.sum(),
        "emails_sent": f.emails_sent.sum(),
        "emails_opened": f.emails_opened.sum(),
        "emails_clicked": f.emails_clicked.sum(),
    }
    return f.group_by(by).aggregate(**aggs) if by else f.aggregate(**aggs)


def _ratio(a: ir.NumericValue, b: ir.NumericValue) -> ir.FloatingValue:
    return ibis.ifelse(b > 0, a.cast("float64") / b.cast("float64"), ibis.null("float64"))


def segment_kpis(facts: ir.Table, members: ir.Table, segments: list[str] | None = None) -> ir.Table:
    """KPIs per segment (``members``: ``segment, customer_id``) plus a row for the whole base."""
    if segments is not None:
        members = members.filter(members.segment.isin(segments))
    m = members.select("segment", "customer_id").distinct()
    # Every member counts, also one the facts do not know (no customers row): size is the member count.
    joined = m.left_join(facts, "customer_id")
    joined = joined.select(
        "segment", **{c: joined[c].fill_null(0) for c in facts.columns if c != "customer_id"}
    )
    per_segment = _summarise(joined, ["segment"])
    base = _summarise(facts, []).mutate(segment=ibis.literal(ALL))
    rows = per_segment.union(base.select(*per_segment.columns))
    totals = _summarise(facts, []).select(base_size="size", base_revenue="revenue")
    rows = rows.cross_join(totals)
    out = rows.select(
        "segment",
        size=rows["size"],
        share=_ratio(rows["size"], rows.base_size),
        revenue=rows.revenue.round(2),
        revenue_share=_ratio(rows.revenue, rows.base_revenue),
        aov=_ratio(rows.revenue, rows.orders),
        orders_per_customer=_ratio(rows.orders, rows["size"]),
        repeat_rate=_ratio(rows.repeaters, rows["size"]),
        retention=_ratio(rows.retained, rows.retention_base),
        clv=_ratio(rows.revenue, rows["size"]),
        conversion=_ratio(rows.period_orders, rows.sessions),
        cart_abandonment=_ratio(rows.abandoned_carts, rows.carts),
        email_open_rate=_ratio(rows.emails_opened, rows.emails_sent),
        email_click_rate=_ratio(rows.emails_clicked, rows.emails_sent),
    )
    return out.order_by(ibis.ifelse(out.segment == ALL, 0, 1), "segment")
