"""Predictive traits: the newest model scores (``segmint predict score``) of each customer as of a time.

The values come from the ``predictions`` table, not from a computation here: a model run scores
customers as of some instant, and a trait computed as of ``as_of`` takes, per customer, the newest
scored row whose own ``as_of`` is at or before it (re-running a past time never sees a later score).
A customer no run has scored, or a workspace with no ``predictions`` at all, has missing values, so
``p_alive < 0.3`` is false for them and ``p_alive is missing`` finds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from segmint.core.traits.catalog import TraitGroup, TraitSpec

__all__ = ["GROUP", "PREDICTIONS_KEY", "SPECS"]

PREDICTIONS_KEY = "predictions"
_F = dt.float64
_TS = dt.timestamp

SPECS = (
    TraitSpec("p_alive", _F, "predictive", "Probability the customer is still active (BTYD model).", "probability"),
    TraitSpec(
        "expected_orders_90d", _F, "predictive", "Orders the customer is expected to place in the next 90 days.",
        "orders",
    ),
    TraitSpec(
        "clv_12m", _F, "predictive",
        "Predicted value of the next 12 months, discounted (BTYD purchases x Gamma-Gamma spend).", "currency",
    ),
    TraitSpec(
        "clv_12m_percentile", _F, "predictive",
        "Rank of clv_12m among scored customers, 0 (lowest) to 1 (highest): percent_rank, as RFM scores.",
        "share",
    ),
    TraitSpec("churn_risk", _F, "predictive", "1 - p_alive: probability the customer has dropped out.", "probability"),
    TraitSpec(
        "purchase_propensity_30d", _F, "predictive",
        "Probability of at least one order in the next 30 days (BTYD model).", "probability",
    ),
    TraitSpec("next_order_at", _TS, "predictive", "Expected time of the next order (BTYD model).", "timestamp"),
)  # fmt: skip


def _empty(tables: Mapping[str, ir.Table]) -> ir.Table:
    """No scores: zero rows with the right columns, built on a table the engine has (no memtable)."""
    base = tables["customers"]
    return base.filter(ibis.literal(False)).select(
        customer_id=base.customer_id.cast("string"),
        **{s.name: ibis.null(s.dtype) for s in SPECS},
    )


def _build(tables: Mapping[str, ir.Table], as_of: datetime) -> ir.Table:
    p = tables.get(PREDICTIONS_KEY)
    if p is None:
        return _empty(tables)
    p = p.filter(p.as_of <= as_of)
    rank = ibis.row_number().over(
        group_by=p.customer_id, order_by=[p.as_of.desc(), p.scored_at.desc(), p.run_id.desc()]
    )
    newest = p.mutate(_rank=rank)
    newest = newest.filter(newest._rank == 0)

    def column(name: str, dtype: dt.DataType) -> ir.Value:
        return newest[name].cast(dtype) if name in newest.columns else ibis.null(dtype)

    p_alive = column("p_alive", _F)
    clv = column("clv_12m", _F)
    # Ranked among customers with a CLV only (grouping by "has one" keeps the missing out of the ranks).
    clv_rank = ibis.percent_rank().over(group_by=clv.isnull(), order_by=clv)
    return newest.select(
        customer_id=newest.customer_id.cast("string"),
        p_alive=p_alive,
        expected_orders_90d=column("expected_orders_90d", _F),
        clv_12m=clv,
        clv_12m_percentile=ibis.ifelse(clv.isnull(), ibis.null(_F), clv_rank.cast(_F)),
        churn_risk=1.0 - p_alive,
        purchase_propensity_30d=column("purchase_propensity_30d", _F),
        next_order_at=column("next_order_at", _TS),
    )


GROUP = TraitGroup("predictive", SPECS, _build)
