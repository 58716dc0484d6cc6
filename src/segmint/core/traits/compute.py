"""The built-in catalog and the wide trait table as of any time.

``trait_table`` only builds an Ibis expression (no engine, no SQL text), so the same definition runs on
DuckDB, on Spark or on any Ibis backend. Engine work is one aggregation per source table (customers,
orders, events, order lines with products), full-outer-joined once on ``customer_id``; derived groups
(RFM scores, consent) are projections over that joined table.

The customer universe is every customer some source knows as of ``as_of``: customers rows created at
or before it (or with no creation time), plus every customer_id seen in orders or (stitched) events up
to it. Missing stays missing (AOV without orders, recency without orders, preferred device without
events), except counts and money sums, which are 0, and flags such as one_time_buyer, which are false.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from segmint.core.timeutil import to_utc_naive
from segmint.core.traits import behavior, combined, needs, predictive, profile, rfm, value
from segmint.core.traits.catalog import Catalog, TraitGroup
from segmint.core.traits.settings import resolve_settings

__all__ = ["UNIVERSE_GROUPS", "default_catalog", "trait_table"]

# The groups whose sources define which customers exist as of a time.
UNIVERSE_GROUPS = (profile.GROUP, value.GROUP, behavior.GROUP)


def default_catalog(categories: Iterable[str] = ()) -> Catalog:
    """Every built-in trait, in groups. ``categories`` (the product categories of a workspace) add one
    ``share_<category>`` trait each; without them only the fixed traits are listed. The predictive
    traits read ``tables["predictions"]`` when given, and are missing otherwise."""
    return Catalog(
        [
            profile.GROUP,
            value.GROUP,
            behavior.GROUP,
            needs.make_group(categories),
            rfm.GROUP,
            combined.GROUP,
            predictive.GROUP,
        ]
    )


def trait_table(
    tables: Mapping[str, ir.Table],
    as_of: datetime,
    catalog: Catalog | None = None,
    settings: Mapping[str, Any] | None = None,
) -> ir.Table:
    """One row per customer known as of ``as_of``: ``customer_id`` and every trait of ``catalog``."""
    as_of = to_utc_naive(as_of)
    catalog = catalog if catalog is not None else default_catalog()
    resolved = resolve_settings(settings)
    sources = [g for g in catalog.groups.values() if not g.derived]
    derived = [g for g in catalog.groups.values() if g.derived]
    if not sources:
        raise ValueError("a trait catalog needs at least one source group")
    _check_dependencies(catalog)

    outputs = [_checked(g, _call(g, tables, as_of, resolved)) for g in sources]
    # The customer universe is what the customers, orders and events groups know. A catalog without
    # some of them (only the groups a rule reads) still has every customer: their ids join in too (each
    # group says which customers it knows without computing its traits), so a subset gives the same rows
    # as the whole catalog.
    for group in UNIVERSE_GROUPS:
        if group.name not in catalog.groups:
            ids = group.ids(tables, as_of) if group.ids is not None else None
            outputs.append(
                ids if ids is not None else _call(group, tables, as_of, resolved).select("customer_id")
            )
    wide = outputs[0]
    for part in outputs[1:]:
        wide = _outer_join(wide, part)
    wide = wide.mutate(
        **{
            spec.name: wide[spec.name].fill_null(ibis.literal(spec.default, type=spec.dtype))
            for g in sources
            for spec in g.specs
            if spec.default is not None
        }
    )
    for group in derived:
        wide = _checked(group, _call(group, {"traits": wide}, as_of, resolved), derived=True)
    return wide.select("customer_id", **{spec.name: wide[spec.name].cast(spec.dtype) for spec in catalog})


def _call(group: TraitGroup, tables: Mapping[str, ir.Table], as_of: datetime, settings: dict) -> ir.Table:
    if group.needs_settings:
        return group.build(tables, as_of, settings)
    return group.build(tables, as_of)


def _checked(group: TraitGroup, table: ir.Table, derived: bool = False) -> ir.Table:
    """A group must return customer_id, its traits and only ``_``-prefixed helpers besides; a mistake
    here is a programming error in the group, reported with its name."""
    columns = set(table.columns)
    missing = [s.name for s in group.specs if s.name not in columns]
    if "customer_id" not in columns or missing:
        raise ValueError(f"trait group {group.name!r} did not produce {missing or ['customer_id']}")
    if not derived:
        names = {s.name for s in group.specs} | {"customer_id"}
        extra = [c for c in table.columns if c not in names and not c.startswith("_")]
        if extra:
            raise ValueError(f"trait group {group.name!r} produced undeclared columns {extra}")
    return table


def _outer_join(left: ir.Table, right: ir.Table) -> ir.Table:
    # The coalesced key is a computed column, so the result is a new relation (view) for the next join.
    joined = left.outer_join(right, "customer_id", rname="{name}__right")
    return joined.select(
        customer_id=joined.customer_id.fill_null(joined.customer_id__right),
        **{c: joined[c] for c in (*left.columns, *right.columns) if c != "customer_id"},
    ).view()


def _check_dependencies(catalog: Catalog) -> None:
    seen: set[str] = set()
    for group in sorted(catalog.groups.values(), key=lambda g: g.derived):
        unknown = [d for d in group.depends_on if d not in catalog.groups]
        late = [d for d in group.depends_on if d in catalog.groups and d not in seen]
        if unknown or late:
            raise ValueError(
                f"trait group {group.name!r} depends on {unknown or late}, not computed before it"
            )
        seen.add(group.name)
