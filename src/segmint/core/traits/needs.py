"""Needs traits: what a customer buys, from order lines of paid orders joined to the product catalog.

A line's spend is ``quantity * unit_price - discount``. Lines whose product has no category are left
out of these traits, so the category shares of a customer sum to 1. ``top_category`` is the category
with the most spend (ties: alphabetical first). One ``share_<category>`` trait exists per category in
the catalog when the traits are computed (the names are made snake_case; see :func:`category_slug`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from segmint.core.traits._time import ts_literal, whole_days_since
from segmint.core.traits.catalog import TraitGroup, TraitSpec
from segmint.core.traits.value import SALE_STATUSES

BASE_SPECS: tuple[TraitSpec, ...] = (
    TraitSpec("top_category", dt.string, "needs", "Category with the most spend (paid orders).", ""),
    TraitSpec("top_category_share", dt.float64, "needs", "Share of spend in top_category.", "share"),
    TraitSpec("category_count", dt.int64, "needs", "Distinct categories bought.", "categories", 0),
    TraitSpec(
        "days_since_last_purchase_of_top_category",
        dt.int64,
        "needs",
        "Whole days since the customer last bought from top_category.",
        "days",
    ),
)


def category_slug(category: str) -> str:
    """``'Home & Garden'`` → ``'home_garden'``: the suffix of its share trait."""
    slug = re.sub(r"[^0-9a-z]+", "_", category.strip().lower()).strip("_")
    return slug or "other"


def share_names(categories: Iterable[str]) -> dict[str, str]:
    """Category → ``share_<slug>`` trait name, unique even when two categories slug alike."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for category in sorted({c for c in categories if c is not None and c.strip()}):
        name = base = f"share_{category_slug(category)}"
        n = 2
        while name in used:
            name, n = f"{base}_{n}", n + 1
        used.add(name)
        out[category] = name
    return out


def make_group(categories: Iterable[str] = ()) -> TraitGroup:
    """The needs group, with one share trait per category given (the categories present in the
    workspace's products table)."""
    shares = share_names(categories)
    specs = BASE_SPECS + tuple(
        TraitSpec(name, dt.float64, "needs", f"Share of spend in category {category!r}.", "share")
        for category, name in shares.items()
    )

    def build(tables: Mapping[str, ir.Table], as_of: datetime) -> ir.Table:
        return _build(tables, as_of, shares)

    return TraitGroup("categories", specs, build)


def _build(tables: Mapping[str, ir.Table], as_of: datetime, shares: dict[str, str]) -> ir.Table:
    orders, lines, products = tables["orders"], tables["order_lines"], tables["products"]
    o = orders.filter(
        orders.ordered_at <= ts_literal(as_of),
        orders.customer_id.notnull(),
        orders.status.isnull() | orders.status.lower().isin(SALE_STATUSES),
    )
    bought = (
        lines.inner_join(o, lines.order_id == o.order_id)
        .inner_join(products, lines.product_id == products.product_id)
        .select(
            o.customer_id,
            products.category,
            o.ordered_at,
            spend=lines.quantity.fill_null(1).cast("float64") * lines.unit_price.fill_null(0)
            - lines.discount.fill_null(0),
        )
    )
    bought = bought.filter(bought.category.notnull())
    # Spend rounded to cents: float addition order differs between engines and scans, and the last bit
    # must not change a share (or split a tie for the top category).
    per = bought.group_by("customer_id", "category").agg(
        spend=bought.spend.sum().round(2), last_at=bought.ordered_at.max()
    )
    ranked = per.mutate(
        _rank=ibis.row_number().over(group_by=per.customer_id, order_by=[ibis.desc(per.spend), per.category])
    )
    summary = ranked.group_by("customer_id").agg(
        category_count=ranked.category.count(),
        _total=ranked.spend.sum().round(2),
        **{name: ranked.spend.sum(where=ranked.category == cat) for cat, name in shares.items()},
    )
    top = ranked.filter(ranked._rank == 0)
    return summary.inner_join(top, summary.customer_id == top.customer_id).select(
        summary.customer_id,
        top_category=top.category,
        top_category_share=_safe_div(top.spend, summary._total),
        category_count=summary.category_count,
        days_since_last_purchase_of_top_category=whole_days_since(top.last_at, as_of),
        **{name: _safe_div(summary[name].fill_null(0.0), summary._total) for name in shares.values()},
    )


def _safe_div(part: ir.FloatingValue, total: ir.FloatingValue) -> ir.FloatingValue:
    return ibis.ifelse(total > 0, part / total, ibis.null("float64"))


GROUP = make_group()
