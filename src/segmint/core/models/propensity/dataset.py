"""Labels as Ibis expressions and trait tables turned into a model matrix.

The label of a customer at a cutoff is 1 when they placed a paid order in (cutoff, cutoff + horizon]:
the same half-open window convention as every trait, seen from the other side of the cutoff.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from segmint.core.models.summary import PAID_STATUSES

__all__ = ["buyers_expr", "label_expr", "prepare_features"]

# Categorical traits with more distinct values than this are identifiers or free text, not features.
MAX_CATEGORIES = 50


def _paid(orders: ir.Table) -> ir.Table:
    return orders.filter(orders.customer_id.notnull() & orders.status.isin(list(PAID_STATUSES)))


def buyers_expr(orders: ir.Table, cutoff: datetime) -> ir.Table:
    """Customers with at least one paid order at or before the cutoff (the population we score)."""
    paid = _paid(orders)
    return paid.filter(paid.ordered_at <= cutoff).select("customer_id").distinct()


def label_expr(orders: ir.Table, cutoff: datetime, horizon: timedelta) -> ir.Table:
    """customer_id, label: 1 if the customer placed a paid order in (cutoff, cutoff + horizon]."""
    paid = _paid(orders)
    later = paid.filter((paid.ordered_at > cutoff) & (paid.ordered_at <= cutoff + horizon))
    ordered = later.select("customer_id").distinct().mutate(_hit=ibis.literal(1))
    base = buyers_expr(orders, cutoff)
    joined = base.left_join(ordered, "customer_id")
    return joined.select(joined.customer_id, label=joined._hit.fill_null(0).cast("int8"))


def prepare_features(
    traits: pd.DataFrame,
    cutoff: datetime,
    drop: Sequence[str] = ("customer_id",),
    drop_constant: bool = True,
) -> pd.DataFrame:
    """A numeric/categorical frame gradient boosting can take: numbers and booleans as floats (missing
    stays NaN, which the trees handle), times as days before the cutoff, low-cardinality text as
    pandas categories; identifiers, free text and (unless ``drop_constant`` is false, e.g. when frames
    of several cutoffs are pooled afterwards) constant columns are dropped."""
    out: dict[str, pd.Series] = {}
    for name in traits.columns:
        if name in drop:
            continue
        col = traits[name]
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            values = pd.to_numeric(col, errors="coerce").astype(float)
        elif pd.api.types.is_datetime64_any_dtype(col):
            values = (pd.Timestamp(cutoff) - col).dt.total_seconds() / 86400.0
        elif col.dtype == object and col.map(lambda v: isinstance(v, bool | np.bool_) or v is None).all():
            values = col.astype(float)
        elif pd.api.types.is_string_dtype(col) or isinstance(col.dtype, pd.CategoricalDtype):
            if col.nunique(dropna=True) > MAX_CATEGORIES:
                continue
            values = col.astype("category")
        else:
            continue  # arrays, JSON and other structured values
        if drop_constant and values.nunique(dropna=False) <= 1:
            continue
        out[name] = values
    return pd.DataFrame(out, index=traits.index)
