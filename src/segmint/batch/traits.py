"""Traits in a workspace: the stored ``traits`` table of a run, reused by reads while it is valid, and
traits computed on the fly (all customers or a few) when it is not.

A run (``segmint run``) materialises ``traits`` for its as_of and records in ``trait_runs`` what they were
computed on: the as_of, the row counts of every table traits read, the trait settings and the trait
definitions' format. A read (count, explain, a dashboard page) reuses the stored table only when all of
these still match, so a read never writes and never returns traits of another time or of older data;
otherwise it computes what it needs as an expression the engine evaluates without storing it.

The catalog of a workspace is the built-in one plus one ``share_<category>`` trait per product category
stored in it; trait thresholds come from the ``[traits]`` section of ``segmint.toml``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from segmint.adapters.workspace import Workspace
from segmint.core.rules import nodes as n
from segmint.core.schema import CANONICAL, IMPORTS, TABLES, TRAIT_RUNS
from segmint.core.timeutil import DurationError, parse_as_of
from segmint.core.traits import Catalog, default_catalog, predictive, trait_table
from segmint.core.traits.catalog import FAMILIES
from segmint.core.traits.rfm import GROUP as RFM_GROUP
from segmint.core.traits.value import COUNT_POPULATION, RANK_POPULATION, buyer_population
from segmint.errors import SegmintError

__all__ = [
    "TRAITS_FORMAT",
    "TRAITS_TABLE",
    "TraitsError",
    "TraitsRun",
    "catalog_for",
    "compute_traits",
    "profile",
    "restrict",
    "restricted_tables",
    "restricted_traits",
    "stored_traits",
    "trait_settings",
    "trait_sources",
    "traits_at",
    "workspace_catalog",
]

TRAITS_TABLE = "traits"
# Bumped whenever a trait definition changes meaning, so traits stored by an older Segmint are recomputed.
TRAITS_FORMAT = 1


class TraitsError(SegmintError):
    """Traits cannot be computed as asked (bad as_of, unknown customer)."""


@dataclass(frozen=True)
class TraitsRun:
    """What ``compute_traits`` did: the instant, how many customers and traits, how long it took, and
    whether the stored traits of that instant were still valid and reused."""

    as_of: datetime
    customers: int
    traits: int
    seconds: float
    reused: bool = False
    table: str = TRAITS_TABLE

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def workspace_catalog(ws: Workspace) -> Catalog:
    """The built-in catalog with a share trait for every product category in the workspace, and the
    predictive traits (newest model scores; missing until ``segmint predict score`` has run)."""
    memo = getattr(ws, "memo", None)
    if memo is not None:  # a server read view: once per data version
        return memo("catalog", lambda: _catalog(ws))
    return _catalog(ws)


def _catalog(ws: Workspace) -> Catalog:
    products = ws.table("products")
    rows = products.filter(products.category.notnull()).select("category").distinct().to_pyarrow()
    return default_catalog(sorted(rows.column("category").to_pylist()))


def trait_sources(ws: Workspace) -> dict[str, ir.Table]:
    """The tables trait groups read: the canonical ones, plus ``predictions`` when the workspace has it."""
    tables = dict(ws.tables())
    if ws.store.exists(predictive.PREDICTIONS_KEY):
        tables[predictive.PREDICTIONS_KEY] = ws.table(predictive.PREDICTIONS_KEY)
    return tables


def trait_settings(ws: Workspace) -> dict[str, Any]:
    return dict(ws.config.get("traits", {}))


def _as_of(ws: Workspace, value: str | datetime | date | None) -> datetime:
    """A time asked for, or by default the end of the workspace's data (never the wall clock)."""
    if value is None:
        from segmint.batch.reads import data_end

        return data_end(ws)
    try:
        return parse_as_of(value)
    except DurationError as exc:
        raise TraitsError(str(exc)) from None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# -- what stored traits were computed on ---------------------------------------------------------------
def _fingerprint(ws: Workspace, as_of: datetime) -> str:
    """The state of everything traits as of ``as_of`` read: per source table, its rows dated at or
    before ``as_of`` (all rows of undated tables), the rows of ``imports`` (every import adds one, also
    an import that only updates records), the trait settings and format. Rows dated later (today's
    events, for traits of last night's run) do not make stored traits stale."""
    memo = getattr(ws, "memo", None)
    if memo is not None:  # a server read view: once per data version
        return memo(("traits_fingerprint", as_of), lambda: _compute_fingerprint(ws, as_of))
    return _compute_fingerprint(ws, as_of)


def _compute_fingerprint(ws: Workspace, as_of: datetime) -> str:
    t = ibis.literal(as_of, type="timestamp")
    parts = []
    for name in [*CANONICAL, predictive.PREDICTIONS_KEY, IMPORTS.name]:
        if not ws.store.exists(name):
            continue
        table = ws.table(name)
        spec = TABLES.get(name)
        column = spec.time_column if spec is not None else None
        if column is not None and column in table.columns and name != IMPORTS.name:
            table = table.filter(table[column].isnull() | (table[column] <= t))
        parts.append(table.aggregate(name=ibis.literal(name), rows=table.count()))
    rows = ibis.union(*parts).to_pyarrow().to_pylist() if parts else []
    counts = {r["name"]: int(r["rows"]) for r in rows}
    payload = {"counts": counts, "settings": trait_settings(ws), "format": TRAITS_FORMAT}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:24]


def stored_traits(ws: Workspace, as_of: datetime) -> ir.Table | None:
    """The stored ``traits`` table if it was computed for ``as_of`` on the data the workspace holds now."""
    if not ws.store.exists(TRAITS_TABLE) or not ws.store.exists(TRAIT_RUNS.name):
        return None
    runs = ws.table(TRAIT_RUNS.name)
    last = runs.order_by(ibis.desc("computed_at")).limit(1).to_pyarrow().to_pylist()
    if not last or last[0]["as_of"] != as_of or last[0]["fingerprint"] != _fingerprint(ws, as_of):
        return None
    return ws.table(TRAITS_TABLE)


def stored_traits_time(ws: Workspace) -> datetime | None:
    """The as_of of the stored ``traits`` table (None if there is none)."""
    if not ws.store.exists(TRAITS_TABLE) or not ws.store.exists(TRAIT_RUNS.name):
        return None
    runs = ws.table(TRAIT_RUNS.name)
    last = runs.order_by(ibis.desc("computed_at")).limit(1).select("as_of").to_pyarrow().to_pylist()
    return last[0]["as_of"] if last else None


# -- writing (a run) -----------------------------------------------------------------------------------
def compute_traits(ws: Workspace, as_of: str | datetime | date | None = None) -> TraitsRun:
    """Materialise the ``traits`` table for ``as_of`` (default: the end of the data; one row per
    customer), unless the stored one is already that: same time, same data, same settings."""
    instant = _as_of(ws, as_of)
    started = time.perf_counter()
    catalog = workspace_catalog(ws)
    if stored_traits(ws, instant) is not None:
        return TraitsRun(instant, ws.count(TRAITS_TABLE), len(catalog), 0.0, reused=True)
    expr = trait_table(trait_sources(ws), instant, catalog, trait_settings(ws))
    fingerprint = _fingerprint(ws, instant)
    with ws.store.transaction():
        ws.store.replace(TRAITS_TABLE, expr)
        customers = ws.count(TRAITS_TABLE)
        row = {
            "as_of": instant,
            "computed_at": _now(),
            "fingerprint": fingerprint,
            "customers": customers,
            "traits": len(catalog),
        }
        ws.store.append(TRAIT_RUNS.name, pa.Table.from_pylist([row], schema=TRAIT_RUNS.schema.to_pyarrow()))
    return TraitsRun(instant, customers, len(catalog), round(time.perf_counter() - started, 3))


# -- reading -------------------------------------------------------------------------------------------
def catalog_for(catalog: Catalog, names: Iterable[str]) -> Catalog | None:
    """Only the trait groups that hold ``names`` (and the groups those depend on): computing the whole
    catalog for a rule that reads two traits would cost far more than the rule. None if no trait is
    needed."""
    group_of = {spec.name: g.name for g in catalog.groups.values() for spec in g.specs}
    wanted = {group_of[name] for name in names if name in group_of}
    todo = list(wanted)
    while todo:
        for dep in catalog.groups[todo.pop()].depends_on:
            if dep not in wanted:
                wanted.add(dep)
                todo.append(dep)
    if not wanted:
        return None
    return Catalog([g for name, g in catalog.groups.items() if name in wanted])


def rule_traits(rules: Iterable[n.Rule], context) -> set[str]:
    """The trait columns a set of checked rules reads (``context`` is their check context)."""
    from segmint.core.rules import check

    return {
        res.column for rule in rules for res in check(rule, context).fields.values() if res.source == "trait"
    }


def traits_at(
    ws: Workspace, as_of: datetime | None = None, needed: Iterable[str] | None = None
) -> tuple[ir.Table, bool]:
    """Traits of every customer as of ``as_of`` (default: the latest run, else the end of the data) for
    a read: the stored table when it is valid for that time (``True``), else an expression computing
    them, only the groups holding ``needed`` when given (``False``). Nothing is written either way."""
    if as_of is None:
        from segmint.batch.reads import default_as_of

        as_of = default_as_of(ws)
    stored = stored_traits(ws, as_of)
    if stored is not None:
        return stored, True
    catalog = workspace_catalog(ws)
    if needed is not None:
        subset = catalog_for(catalog, needed)
        catalog = subset if subset is not None else catalog_for(catalog, ["orders_count"]) or catalog
    return trait_table(trait_sources(ws), as_of, catalog, trait_settings(ws)), False


def restrict(tables: Mapping[str, ir.Table], ids: ir.Table) -> dict[str, ir.Table]:
    """The canonical tables cut down to what decides the given customers' traits and segments: their
    rows, orders (and lines) and events, including anonymous events whose anonymous id is linked to one
    of them (every link of such an id is kept, so identity resolution picks the same customer as over
    the whole base). Other inputs (predictions, a rank population) pass through unchanged."""
    out = dict(tables)
    identities = tables["identities"]
    anon = identities.filter(identities.customer_id.isin(ids.customer_id)).select("anonymous_id")
    out["identities"] = identities.filter(identities.anonymous_id.isin(anon.anonymous_id))
    events = tables["events"]
    out["events"] = events.filter(
        events.customer_id.isin(ids.customer_id)
        | (events.customer_id.isnull() & events.anonymous_id.isin(anon.anonymous_id))
    )
    for name in ("customers", "orders"):
        t = tables[name]
        out[name] = t.filter(t.customer_id.isin(ids.customer_id))
    lines = tables["order_lines"]
    out["order_lines"] = lines.filter(lines.order_id.isin(out["orders"].order_id))
    return out


# The tables restrict() cuts down to a few customers' rows.
_CUT_DOWN = ("customers", "orders", "order_lines", "events", "identities")


def restricted_tables(
    ws: Workspace,
    customer_ids: Iterable[str],
    sources: Mapping[str, ir.Table] | None = None,
    only: Iterable[str] | None = None,
) -> dict[str, ir.Table]:
    """The rows :func:`restrict` keeps for the given customers, read once into memory (a handful of
    rows per customer) and returned as in-memory tables with the sources' schemas; other inputs
    (products, predictions) pass through unchanged. ``only``: read just these of the cut-down tables
    (customers, orders, order_lines, events, identities) and leave the others out.

    Why read them first: kept as filters inside one large query, the anonymous-events condition
    (``customer_id IS NULL AND anonymous_id IN (subquery)``) and the order-lines semi-join make the
    engine scan and join every event and order line (seconds at 1M customers), and every trait group
    that reads a table scans it again. Here each table is read once, with filters on literal ids the
    engine pushes into its scan, and the trait query then runs on a few rows."""
    ids = sorted({str(c) for c in customer_ids})
    sources = dict(sources) if sources is not None else trait_sources(ws)
    wanted = set(only) if only is not None else set(_CUT_DOWN)
    read: dict[str, pa.Table] = {}
    if wanted & {"events", "identities"}:
        # Every link of the anonymous ids linked to the customers (as restrict() keeps them): one query
        # for the links of the customers' anonymous ids, which include the customers' own links.
        identities = sources["identities"]
        mine = identities.filter(identities.customer_id.isin(ids)).select("anonymous_id")
        linked = identities.filter(identities.anonymous_id.isin(mine.anonymous_id)).to_pyarrow()
        own = pc.is_in(linked.column("customer_id"), pa.array(ids, pa.string()))
        anon = sorted(set(linked.filter(own).column("anonymous_id").to_pylist()) - {None})
        read["identities"] = linked
        events = sources["events"]
        read["events"] = (
            _matching(events, "customer_id", ids)
            .union(_matching(events, "anonymous_id", anon, events.customer_id.isnull()), distinct=False)
            .to_pyarrow()
        )
    for name in wanted & {"customers", "orders"}:
        read[name] = _matching(sources[name], "customer_id", ids).to_pyarrow()
    if "order_lines" in wanted:
        orders = read.get("orders")
        if orders is None:
            orders = _matching(sources["orders"], "customer_id", ids).select("order_id").to_pyarrow()
        order_ids = sorted(set(orders.column("order_id").to_pylist()) - {None})
        lines = sources["order_lines"]
        read["order_lines"] = lines.filter(lines.order_id.isin(order_ids)).to_pyarrow()
    out = {k: v for k, v in sources.items() if k not in _CUT_DOWN or k in wanted}
    for name, data in read.items():
        if name in wanted:
            out[name] = ibis.memtable(data, schema=sources[name].schema())
    return out


# Up to this many ids, rows are selected with one equality filter per id (a union) rather than one IN
# list: DuckDB skips row groups by their min/max for an equality, but checks an IN list row by row.
_EQUALITY_LIMIT = 32


def _matching(table: ir.Table, column: str, values: list, *also: ir.BooleanValue) -> ir.Table:
    """The rows of ``table`` whose ``column`` is one of ``values`` (non-missing) and where ``also``
    holds."""
    if not values:
        return table.filter(ibis.literal(False))
    if len(values) > _EQUALITY_LIMIT:
        return table.filter(table[column].isin(values), *also)
    parts = [table.filter(table[column] == ibis.literal(v), *also) for v in values]
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]


# Up to this many customers, RFM scores count the buyers below each (one pass per customer) rather
# than rank every buyer (three sorts of the whole base).
_COUNTED_LIMIT = 8


def restricted_traits(
    ws: Workspace,
    as_of: datetime,
    customer_ids: list[str],
    catalog: Catalog | None = None,
    tables: Mapping[str, ir.Table] | None = None,
) -> tuple[ir.Table, dict[str, ir.Table]]:
    """Traits of a few customers as of ``as_of``, computed from their rows only, and the restricted
    tables they came from (for rules that also read events; pass ``tables`` from
    :func:`restricted_tables` to reuse rows already read). Scores that rank a customer against the
    whole base (RFM quintiles, the CLV percentile) still rank against everyone, so the values are
    exactly those of a run over every customer."""
    ids = [str(c) for c in customer_ids]
    tables = dict(tables) if tables is not None else restricted_tables(ws, ids)
    catalog = catalog if catalog is not None else workspace_catalog(ws)
    if RFM_GROUP.name in catalog.groups:
        # Only the RFM group reads the orders group's rank scores: without it, the population (an
        # aggregate of every order up to as_of) would be computed and thrown away.
        # A few customers are counted against every buyer, more are ranked with them (one sort).
        key = COUNT_POPULATION if len(ids) <= _COUNTED_LIMIT else RANK_POPULATION
        tables[key] = buyer_population(ws.table("orders"), as_of)
    traits = trait_table(tables, as_of, catalog, trait_settings(ws))
    # Inputs that are not cut down (the scores ranked against everyone) add rows of other customers.
    return traits.filter(traits.customer_id.isin(ids)), tables


def profile(ws: Workspace, customer_id: str, as_of: str | datetime | date | None = None) -> dict[str, Any]:
    """One customer's traits as of ``as_of`` (default: the end of the data), grouped by family in catalog
    order: computed from that customer's rows only (see :func:`restricted_traits`)."""
    instant = _as_of(ws, as_of)
    catalog = workspace_catalog(ws)
    table, _ = restricted_traits(ws, instant, [str(customer_id)], catalog)
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
