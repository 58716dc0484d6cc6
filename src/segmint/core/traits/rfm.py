"""RFM scores and groups, ranked over all buying customers as of ``as_of``.

Scores are quintiles of ``percent_rank`` (``score = 1 + floor(5 * percent_rank)``, capped at 5), ranked
among customers with at least one paid order; customers without one get no score. ``percent_rank``
gives equal values equal scores and is defined identically on every engine, unlike ``ntile`` (which
splits ties arbitrarily) and ``pd.qcut`` (which fails on repeated edges). Ties take the lowest score of
their range, so the many one-order customers get F = 1 rather than an arbitrary 1-3. R ranks recency
with the most recent best, F ranks orders_count, M ranks total_spent; 5 is best.

``rfm_group`` maps R and FM = round-half-up((F + M) / 2) onto the eleven groups of the widely used
R x FM segment grid::

    R \\ FM   1               2                   3                   4                  5
    5        New             Potential Loyalist  Potential Loyalist  Champions          Champions
    4        Promising       Potential Loyalist  Potential Loyalist  Loyal              Champions
    3        About to Sleep  About to Sleep      Need Attention      Loyal              Loyal
    2        Hibernating     Hibernating         At Risk             At Risk            Cannot Lose Them
    1        Lost            Lost                At Risk             Cannot Lose Them   Cannot Lose Them
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from segmint.core.traits.catalog import TraitGroup, TraitSpec

RFM_GROUPS = (
    "Champions",
    "Loyal",
    "Potential Loyalist",
    "New",
    "Promising",
    "Need Attention",
    "About to Sleep",
    "At Risk",
    "Cannot Lose Them",
    "Hibernating",
    "Lost",
)

# RFM_GRID[(r, fm)] for r, fm in 1..5: exactly the table in the module docstring.
_ROWS = {
    5: ("New", "Potential Loyalist", "Potential Loyalist", "Champions", "Champions"),
    4: ("Promising", "Potential Loyalist", "Potential Loyalist", "Loyal", "Champions"),
    3: ("About to Sleep", "About to Sleep", "Need Attention", "Loyal", "Loyal"),
    2: ("Hibernating", "Hibernating", "At Risk", "At Risk", "Cannot Lose Them"),
    1: ("Lost", "Lost", "At Risk", "Cannot Lose Them", "Cannot Lose Them"),
}
RFM_GRID: dict[tuple[int, int], str] = {
    (r, fm): name for r, row in _ROWS.items() for fm, name in enumerate(row, start=1)
}

SPECS: tuple[TraitSpec, ...] = (
    TraitSpec("r_score", dt.int64, "value", "Recency quintile 1-5 (5 = most recent buyers).", "score 1-5"),
    TraitSpec("f_score", dt.int64, "value", "Frequency quintile 1-5 (5 = most orders).", "score 1-5"),
    TraitSpec("m_score", dt.int64, "value", "Monetary quintile 1-5 (5 = highest total_spent).", "score 1-5"),
    TraitSpec("rfm_score", dt.string, "value", "R, F and M scores as text, e.g. '545'.", "RFM cell"),
    TraitSpec(
        "rfm_group",
        dt.string,
        "value",
        "One of the 11 RFM groups (Champions ... Lost) from the R x FM grid.",
        "",
    ),
)


def quintile(
    value: ir.NumericValue, buyer: ir.BooleanValue | None = None, *, descending: bool = False
) -> ir.IntegerValue:
    """``1 + floor(5 * percent_rank)`` among buyers (ties share the lowest score); missing otherwise.
    ``buyer=None``: every row is a buyer (the table holds buyers only). The epsilon keeps exact quintile
    edges (rank fractions such as 3/5) on the upper side on every engine despite binary rounding."""
    order = ibis.desc(value) if descending else value
    window = ibis.window(order_by=order) if buyer is None else ibis.window(group_by=buyer, order_by=order)
    score = _score(ibis.percent_rank().over(window))
    return score if buyer is None else ibis.ifelse(buyer, score, ibis.null("int64"))


def _score(rank: ir.FloatingValue) -> ir.IntegerValue:
    return ibis.least((rank * 5 + 1e-9).floor() + 1, 5).cast("int64")


def rfm_group(r: ir.IntegerValue, fm: ir.IntegerValue) -> ir.StringValue:
    return (r * 10 + fm).cases(*(((rr * 10 + ff), name) for (rr, ff), name in RFM_GRID.items()))


# The scores as private columns of the orders group (see :func:`rfm_scores`), renamed here.
RFM_SCORES = ("_r_score", "_f_score", "_m_score")


def rfm_scores(orders: ir.Table) -> ir.Table:
    """(customer_id, _r_score, _f_score, _m_score) for every buyer, from the per-customer orders
    aggregate (``recency_days``, ``orders_count``, ``total_spent``). Ranked there, on a narrow table of
    buyers, rather than on the wide trait table: a window operator carries (and sorts) every column of
    its input, and the trait table has dozens."""
    b = orders.filter(orders.orders_count > 0).select(
        "customer_id", "recency_days", "orders_count", "total_spent"
    )
    return b.select(
        "customer_id",
        _r_score=quintile(b.recency_days, descending=True),
        _f_score=quintile(b.orders_count),
        _m_score=quintile(b.total_spent),
    )


def rfm_scores_of(buyers: ir.Table, targets: ir.Table) -> ir.Table:
    """The scores :func:`rfm_scores` gives the customers of ``targets`` (a ``customer_id`` column) among
    ``buyers``, by counting instead of
    ranking: ``percent_rank`` is (number of buyers strictly below) / (buyers - 1), so each score needs
    one filtered count over the buyers rather than a sort of all of them (three sorts for R, F and M).
    For a few customers (explaining one at a past time) that is the cost of the aggregate alone; for
    many, the window ranks of :func:`rfm_scores` are cheaper (this compares every pair)."""
    b = buyers.filter(buyers.orders_count > 0).select(
        "customer_id", "recency_days", "orders_count", "total_spent"
    )
    me = b.filter(b.customer_id.isin(targets.customer_id)).select(
        _me=b.customer_id, _me_r=b.recency_days, _me_f=b.orders_count, _me_m=b.total_spent
    )
    pairs = me.cross_join(b)
    counts = pairs.group_by("_me").agg(
        _n=pairs.customer_id.count(),
        _r=pairs.customer_id.count(where=pairs.recency_days > pairs._me_r),  # most recent is best
        _f=pairs.customer_id.count(where=pairs.orders_count < pairs._me_f),
        _m=pairs.customer_id.count(where=pairs.total_spent < pairs._me_m),
    )

    def rank(below: ir.IntegerValue) -> ir.FloatingValue:
        whole = (counts._n - 1).cast("float64")
        return ibis.ifelse(counts._n > 1, below.cast("float64") / whole, ibis.literal(0.0))

    return counts.select(
        customer_id=counts._me,
        _r_score=_score(rank(counts._r)),
        _f_score=_score(rank(counts._f)),
        _m_score=_score(rank(counts._m)),
    )


def build_rfm(tables: Mapping[str, ir.Table], as_of: datetime) -> ir.Table:
    t = tables["traits"]
    t = t.mutate(r_score=t._r_score, f_score=t._f_score, m_score=t._m_score)
    fm = ((t.f_score + t.m_score + 1) / 2).floor().cast("int64")
    return t.mutate(
        rfm_score=t.r_score.cast("string") + t.f_score.cast("string") + t.m_score.cast("string"),
        rfm_group=rfm_group(t.r_score, fm),
    )


GROUP = TraitGroup("rfm", SPECS, build_rfm, depends_on=("orders",), derived=True)
