"""Computing traits in a workspace: the ``traits`` table for ``segmint run`` and one customer's profile.

The catalog of a workspace is the built-in one plus one ``share_<category>`` trait per product category
stored in it; trait thresholds come from the ``[traits]`` section of ``segmint.toml``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

import ibis

from segmint.adapters.workspace import Workspace
from segmint.core.timeutil import DurationError, parse_as_of
from segmint.core.traits import Catalog, default_catalog, predictive, trait_table
from segmint.core.traits.catalog import FAMILIES
from segmint.errors import SegmintError

__all__ = [
    "TRAITS_TABLE",
    "TraitsError",
    "TraitsRun",
    "compute_traits",
    "profile",
    "trait_settings",
    "trait_sources",
    "workspace_catalog",
]

TRAITS_TABLE = "traits"


class TraitsError(SegmintError):
    """Traits cannot be computed as asked (bad as_of, unknown customer)."""


@dataclass(frozen=True)
class TraitsRun:
    """What ``compute_traits`` did: the instant, how many customers and traits, how long it took."""

    as_of: datetime
    customers: int
    traits: int
    seconds: float
    table: str = TRAITS_TABLE

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def workspace_catalog(ws: Workspace) -> Catalog:
    """The built-in catalog with a share trait for every product category in the workspace, and the
    predictive traits (newest model scores; missing until ``segmint predict score`` has run)."""
    products = ws.table("products")
    rows = products.filter(products.category.notnull()).select("category").distinct().to_pyarrow()
    return default_catalog(sorted(rows.column("category").to_pylist()))


def trait_sources(ws: Workspace) -> dict[str, ibis.Table]:
    """The tables trait groups read: the canonical ones, plus ``predictions`` when the workspace has it."""
    tables = dict(ws.tables())
    if predictive.PREDICTIONS_KEY in ws.con.list_tables():
        tables[predictive.PREDICTIONS_KEY] = ws.table(predictive.PREDICTIONS_KEY)
    return tables


def trait_settings(ws: Workspace) -> dict[str, Any]:
    return dict(ws.config.get("traits", {}))


def _as_of(value: str | datetime | date | None) -> datetime:
    try:
        return parse_as_of(value)
    except DurationError as exc:
        raise TraitsError(str(exc)) from None


def compute_traits(ws: Workspace, as_of: str | datetime | date | None = None) -> TraitsRun:
    """Materialise the ``traits`` table (one row per customer, overwriting the previous run)."""
    instant = _as_of(as_of)
    started = time.perf_counter()
    catalog = workspace_catalog(ws)
    expr = trait_table(trait_sources(ws), instant, catalog, trait_settings(ws))
    ws.store.replace(TRAITS_TABLE, expr)
    customers = ws.count(TRAITS_TABLE)
    return TraitsRun(
        as_of=instant,
        customers=customers,
        traits=len(catalog),
        seconds=round(time.perf_counter() - started, 3),
    )


def profile(ws: Workspace, customer_id: str, as_of: str | datetime | date | None = None) -> dict[str, Any]:
    """One customer's traits as of ``as_of`` (default now), grouped by family in catalog order.

    Computed fresh rather than read from the ``traits`` table, which may be of another as_of. Scores
    that rank customers (RFM) still rank the whole population, so the engine does the full work."""
    instant = _as_of(as_of)
    catalog = workspace_catalog(ws)
    table = trait_table(trait_sources(ws), instant, catalog, trait_settings(ws))
    rows = table.filter(table.customer_id == ibis.literal(str(customer_id))).to_pyarrow().to_pylist()
    if not rows:
        raise TraitsError(
            f"no customer {customer_id!r} as of {instant.isoformat(sep=' ')}: it is not in the customers "
            "table (or was created later) and has no orders or events up to then"
        )
    row = rows[0]
    families: dict[str, dict[str, Any]] = {}
    for family in FAMILIES:
        specs = catalog.by_family(family)
        if specs:
            families[family] = {spec.name: row[spec.name] for spec in specs}
    return {"customer_id": row["customer_id"], "as_of": instant, "traits": families}
