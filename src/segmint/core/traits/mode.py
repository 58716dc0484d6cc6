"""The most frequent value per customer, decided the same way on every engine.

SQL ``mode()`` breaks ties arbitrarily (and differently on DuckDB and Spark), so a preferred device
could flip between runs. Here ties go to the alphabetically first value, which is stable and portable.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir


def top_value(counts: ir.Table, column: str, weight: str = "n") -> ir.Table:
    """From a table of (customer_id, ``column``, ``weight``) rows, the ``column`` value with the largest
    total weight per customer: a table (customer_id, ``column``). Missing values never win."""
    rows = counts.filter(counts[column].notnull())
    per = rows.group_by("customer_id", column).agg(_w=rows[weight].sum())
    ranked = per.mutate(
        _rank=ibis.row_number().over(group_by=per.customer_id, order_by=[ibis.desc(per._w), per[column]])
    )
    return ranked.filter(ranked._rank == 0).select("customer_id", column)
