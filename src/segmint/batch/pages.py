"""The data behind each dashboard page and the report, as plain dicts and lists.

Every function takes a workspace (a read view in the server, a plain workspace for the report) and
reads only, through the same use cases the CLI and the API call: member counts and lists from
:mod:`segmint.batch.reads`, KPIs from :mod:`segmint.batch.kpis`. The engine aggregates, Python shapes
the results for templates and charts. Names from requests reach the engine as Ibis literals.
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from typing import Any

import ibis

from segmint.adapters.workspace import Workspace
from segmint.batch import reads
from segmint.batch.definitions import load_definitions, resolve_rule
from segmint.batch.kpis import kpis as segment_kpis
from segmint.batch.traits import stored_traits_time
from segmint.batch.versions import version_rows
from segmint.core.rules import nodes as n
from segmint.core.segments import history as hist
from segmint.core.segments.definition import SegmentDef, SegmentError
from segmint.core.segments.kpis import ALL

__all__ = [
    "LIFECYCLE_ORDER",
    "all_kpis",
    "customer_page",
    "definitions",
    "entries_exits",
    "kpis_for",
    "latest_run",
    "migration",
    "overview",
    "run_times",
    "segment_detail",
    "segment_list",
    "size_history",
    "traits_as_of",
]

LIFECYCLE_ORDER = ("prospect", "new", "growing", "active", "reactivated", "at_risk", "lapsed")
_PAID = ("paid", "partially_refunded")


def _scalar(expr) -> Any:
    return expr.to_pyarrow().as_py()


def _rows(expr) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()


def definitions(ws: Workspace) -> list[SegmentDef]:
    """Segment definitions; a broken file shows as no definitions rather than a broken page (the CLI's
    ``segments validate`` says what is wrong)."""
    with contextlib.suppress(SegmentError):
        return load_definitions(ws)
    return []


def run_times(ws: Workspace) -> list[datetime]:
    return reads.run_times(ws)


def latest_run(ws: Workspace) -> datetime | None:
    return reads.latest_run(ws)


def traits_as_of(ws: Workspace) -> datetime | None:
    """The time the stored ``traits`` table is for (None before the first run)."""
    memo = getattr(ws, "memo", None)
    if memo is not None:
        return memo("traits_as_of", lambda: stored_traits_time(ws))
    return stored_traits_time(ws)


def overview(ws: Workspace, as_of: datetime | None = None) -> dict[str, Any]:
    """Headline counts and revenue, segment sizes, the RFM grid (R score x F score) and the lifecycle
    funnel: current (``as_of`` None) or at a run time."""
    at = as_of or reads.current_time(ws)
    customers = ws.table("customers")
    orders = ws.table("orders")
    paid = orders.filter(orders.status.isin(_PAID))
    paid = paid.filter(paid.ordered_at <= ibis.literal(at, type="timestamp"))
    money = paid.aggregate(
        orders=paid.count(),
        revenue=(paid.total - paid.refunded_amount.fill_null(0)).sum(),
        buyers=paid.customer_id.nunique(),
    )
    m = _rows(money)[0]
    defs = {d.name: d for d in definitions(ws)}
    sizes = reads.counts(ws, as_of)
    segments = [
        {"name": name, "members": n, "family": defs[name].family if name in defs else ""}
        for name, n in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return {
        "as_of": at,
        "customers": int(_scalar(customers.count())),
        "orders": int(m["orders"] or 0),
        "buyers": int(m["buyers"] or 0),
        "revenue": float(m["revenue"] or 0.0),
        "segments": segments,
        "rfm_grid": rfm_grid(ws),
        "lifecycle": lifecycle_funnel(ws, defs, sizes),
        "traits_as_of": traits_as_of(ws),
    }


def rfm_grid(ws) -> dict[str, Any] | None:
    """Customers and mean spend per (recency score, frequency score) cell of the stored traits."""
    if not ws.store.exists("traits"):
        return None
    t = ws.table("traits")
    if not {"r_score", "f_score", "total_spent"} <= set(t.columns):
        return None
    t = t.filter(t.r_score.notnull() & t.f_score.notnull())
    cells = _rows(
        t.group_by(["r_score", "f_score"])
        .aggregate(n=t.count(), spend=t.total_spent.mean())
        .order_by(["r_score", "f_score"])
    )
    if not cells:
        return None
    rs = sorted({c["r_score"] for c in cells})
    fs = sorted({c["f_score"] for c in cells})
    counts = [[0] * len(rs) for _ in fs]
    spend: list[list[float | None]] = [[None] * len(rs) for _ in fs]
    for c in cells:
        i, j = fs.index(c["f_score"]), rs.index(c["r_score"])
        counts[i][j] = int(c["n"])
        spend[i][j] = round(float(c["spend"] or 0.0), 2)
    return {"r": rs, "f": fs, "counts": counts, "spend": spend}


def lifecycle_funnel(ws, defs: dict[str, SegmentDef], sizes: dict[str, int]) -> list[dict[str, Any]]:
    """Stages of the lifecycle group in lifecycle order (falls back on the ``lifecycle_stage`` trait)."""
    stages = [d for d in defs.values() if d.group == "lifecycle"]
    if stages:

        def order(d: SegmentDef) -> int:
            stage = d.name.removeprefix("lifecycle_")
            return LIFECYCLE_ORDER.index(stage) if stage in LIFECYCLE_ORDER else len(LIFECYCLE_ORDER)

        return [{"stage": d.name, "members": sizes.get(d.name, 0)} for d in sorted(stages, key=order)]
    if ws.store.exists("traits") and "lifecycle_stage" in ws.table("traits").columns:
        t = ws.table("traits")
        rows = _rows(t.group_by("lifecycle_stage").aggregate(n=t.count()))
        by = {r["lifecycle_stage"]: int(r["n"]) for r in rows if r["lifecycle_stage"]}
        keys = [s for s in LIFECYCLE_ORDER if s in by] + sorted(set(by) - set(LIFECYCLE_ORDER))
        return [{"stage": s, "members": by[s]} for s in keys]
    return []


def size_history(ws: Workspace, names: list[str] | None = None) -> dict[str, list[tuple[datetime, int]]]:
    """Segment sizes at each run time (from the membership history, as every size is)."""
    out: dict[str, list[tuple[datetime, int]]] = {}
    for r in reads.size_over_time(ws, names):
        out.setdefault(r["segment"], []).append((r["as_of"], int(r["size"])))
    return out


def all_kpis(ws: Workspace, as_of: datetime | None) -> list[dict[str, Any]]:
    """KPIs of every segment and of the whole base, current (``as_of`` None) or at a run time: one
    engine query (the costliest aggregate of the dashboard), shared by the segment list and every
    segment page through the cache."""
    with contextlib.suppress(SegmentError):
        return segment_kpis(ws, None, as_of)
    return []


def kpis_for(rows: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """The whole base's row and ``name``'s row (absent when the segment has no members)."""
    return [r for r in rows if r.get("segment") in (ALL, name)]


def segment_list(
    ws: Workspace,
    as_of: datetime | None = None,
    with_kpis: bool = True,
    kpi_rows: list[dict[str, Any]] | None = None,
    history: dict[str, list[tuple[datetime, int]]] | None = None,
) -> dict[str, Any]:
    """Every segment with family, description, size (current, or at a run time), its size over time
    (for a sparkline) and KPIs (``kpi_rows`` from :func:`all_kpis` when the caller has them)."""
    history = size_history(ws) if history is None else history
    by_segment: dict[str, dict[str, Any]] = {}
    base: dict[str, Any] | None = None
    if with_kpis:
        for row in kpi_rows if kpi_rows is not None else all_kpis(ws, as_of):
            if row.get("segment") == ALL:
                base = row
            else:
                by_segment[row["segment"]] = row
    items = []
    for summary in reads.segment_summaries(ws, as_of):
        name = summary["name"]
        items.append(
            {
                **summary,
                "history": history.get(name, []),
                "kpis": by_segment.get(name, {}),
            }
        )
    families = sorted({i["family"] for i in items if i["family"]})
    return {"as_of": as_of, "segments": items, "families": families, "base": base}


# ------------------------------------------------------------------ one segment


def _members_now(ws: Workspace, name: str, as_of: datetime | None):
    return reads.segment_members_at(ws, name, as_of)


def overlap_with_others(ws, name: str, as_of: datetime | None) -> list[dict[str, Any]]:
    """For each other segment: customers in both, share of this segment, Jaccard index."""
    m = reads.members_at(ws, as_of)
    mine = m.filter(m.segment == ibis.literal(name)).select("customer_id")
    sizes = m.group_by("segment").aggregate(size=m.count())
    both = m.inner_join(mine, "customer_id")
    both = both.group_by("segment").aggregate(both=both.count())
    j = sizes.left_join(both, "segment")
    rows = _rows(j.select(segment=j.segment, size=j.size, both=j.both.fill_null(0)))
    # The segment overlaps itself entirely: its own row gives its size, with no second query.
    size = next((int(r["size"]) for r in rows if r["segment"] == name), 0)
    out = []
    for r in rows:
        if r["segment"] == name:
            continue
        union = size + r["size"] - r["both"]
        out.append(
            {
                "segment": r["segment"],
                "both": int(r["both"]),
                "share": r["both"] / size if size else None,
                "jaccard": r["both"] / union if union else None,
            }
        )
    return sorted(out, key=lambda r: (-r["both"], r["segment"]))


def _rule_traits(defn: SegmentDef | None, columns: list[str]) -> list[str]:
    """Numeric or text traits to show distributions of: the ones the rule names first, then value traits."""
    wanted: list[str] = []
    if defn is not None:
        with contextlib.suppress(Exception):
            rule = resolve_rule(defn)
            for node in n.walk(rule.body):
                name = getattr(node, "name", None)
                if isinstance(name, str) and name in columns and name not in wanted:
                    wanted.append(name)
    for name in ("total_spent", "orders_count", "recency_days", "aov"):
        if name in columns and name not in wanted:
            wanted.append(name)
    return wanted[:6]


def trait_distributions(
    ws, name: str, defn: SegmentDef | None, as_of: datetime | None
) -> list[dict[str, Any]]:
    """Per trait: binned counts for members against the whole base, binned in the engine. Two queries
    whatever the number of traits: the numeric traits' ranges, then every trait's bins in one union."""
    if not ws.store.exists("traits"):
        return []
    t = ws.table("traits")
    traits = _rule_traits(defn, list(t.columns))
    if not traits:
        return []
    schema = t.schema()
    numeric = [c for c in traits if schema[c].is_numeric() and not schema[c].is_boolean()]
    members = _members_now(ws, name, as_of).mutate(_in=ibis.literal(1))
    j = t.select("customer_id", *traits).left_join(members, "customer_id")
    j = j.mutate(_member=j._in.notnull())
    ranges: dict[str, tuple[float, float]] = {}
    if numeric:
        stats = _rows(
            t.aggregate(
                **{f"lo_{i}": t[c].min() for i, c in enumerate(numeric)},
                **{f"hi_{i}": t[c].quantile(0.99) for i, c in enumerate(numeric)},
            )
        )[0]
        for i, c in enumerate(numeric):
            lo, hi = stats[f"lo_{i}"], stats[f"hi_{i}"]
            if lo is not None and hi is not None:
                ranges[c] = (float(lo), float(hi))
    parts = []
    for trait in traits:
        if trait in numeric:
            if trait not in ranges:
                continue
            lo, hi = ranges[trait]
            width = (hi - lo) / 20 if hi > lo else 1.0
            v = j.filter(j[trait].notnull())
            binned = v.select(
                trait=ibis.literal(trait),
                bin=((v[trait].cast("float64").clip(upper=hi) - lo) / width)
                .floor()
                .cast("int64")
                .clip(upper=19),
                label=ibis.null("string"),
                member=v._member,
            )
        else:
            binned = j.select(
                trait=ibis.literal(trait),
                bin=ibis.null("int64"),
                label=j[trait].cast("string").fill_null("(missing)"),
                member=j._member,
            )
        parts.append(binned.group_by(["trait", "bin", "label", "member"]).aggregate(n=binned.count()))
    if not parts:
        return []
    rows = _rows(ibis.union(*parts))
    out = []
    for trait in traits:
        mine = [r for r in rows if r["trait"] == trait]
        if trait in numeric:
            if trait not in ranges:
                continue
            lo, hi = ranges[trait]
            width = (hi - lo) / 20 if hi > lo else 1.0
            labels = [round(lo + width * (i + 0.5), 2) for i in range(20)]
            base, mem = [0] * 20, [0] * 20
            for r in mine:
                base[r["bin"]] += r["n"]
                if r["member"]:
                    mem[r["bin"]] += r["n"]
            out.append({"trait": trait, "kind": "numeric", "labels": labels, "base": base, "members": mem})
        else:
            totals: dict[str, list[int]] = {}
            for r in mine:
                pair = totals.setdefault(r["label"], [0, 0])
                pair[0] += r["n"]
                if r["member"]:
                    pair[1] += r["n"]
            top = sorted(totals, key=lambda v: -totals[v][0])[:15]
            out.append(
                {
                    "trait": trait,
                    "kind": "category",
                    "labels": top,
                    "base": [totals[v][0] for v in top],
                    "members": [totals[v][1] for v in top],
                }
            )
    return out


def entries_exits(ws, name: str, t1: datetime, t2: datetime, sample: int = 20) -> dict[str, Any]:
    """Customers who entered and exited between two run times of the segment: counts and a sample,
    from one query (the times come from the segment's own runs, so no check is needed)."""
    rows = hist.entries_exits(ws.table("membership_history"), name, t1, t2).to_pyarrow()
    changes = rows.column("change").to_pylist()
    return {
        "t1": t1,
        "t2": t2,
        "entered": changes.count("entered"),
        "exited": changes.count("exited"),
        "sample": rows.slice(0, sample).to_pylist(),
    }


def migration(ws, group: str, t1: datetime, t2: datetime) -> dict[str, Any] | None:
    """Flows between the exclusive segments of ``group`` from ``t1`` to ``t2``; ``None`` when a segment
    of the group was not evaluated at both times or the group is not exclusive (a Sankey of
    overlapping segments would count customers twice)."""
    names = [d.name for d in definitions(ws) if d.group == group]
    if not names:
        return None
    runs = ws.table("segment_runs")
    at = runs.filter(
        runs.segment.isin(names), runs.as_of.isin([ibis.literal(t, type="timestamp") for t in (t1, t2)])
    )
    if int(_scalar(at.count())) != 2 * len(names):
        return None
    h = ws.table("membership_history")
    clash = hist.overlapping(h, names, t1).union(hist.overlapping(h, names, t2))
    if int(_scalar(clash.count())):
        return None
    flows = _rows(hist.migration_matrix(h, names, t1, t2))
    return {"group": group, "t1": t1, "t2": t2, "flows": flows}


def segment_detail(
    ws,
    name: str,
    as_of: datetime | None = None,
    kpi_rows: list[dict[str, Any]] | None = None,
    history: dict[str, list[tuple[datetime, int]]] | None = None,
    flows: Any = None,
) -> dict[str, Any]:
    """Everything the segment page shows. Raises :class:`SegmentError` for an unknown segment.

    The server passes what several pages share and caches on its own (``kpi_rows`` from
    :func:`all_kpis`, ``history`` from :func:`size_history`, ``flows(group, t1, t2)`` for
    :func:`migration`); without them everything is computed here."""
    defs = {d.name: d for d in definitions(ws)}
    history = size_history(ws) if history is None else history
    if name not in defs and name not in history:
        reads.require_segment(ws, name)
    defn = defs.get(name)
    times = [t for t, _ in history.get(name, [])]
    at = as_of or reads.current_time(ws)
    kpis = kpis_for(all_kpis(ws, as_of) if kpi_rows is None else kpi_rows, name)
    changes: dict[str, Any] | None = None
    migration_flows: dict[str, Any] | None = None
    if len(times) >= 2:
        if as_of is None or as_of not in times:
            t1, t2 = times[-2], times[-1]
        else:
            t1, t2 = times[max(0, times.index(as_of) - 1)], as_of
        if t1 != t2:
            changes = entries_exits(ws, name, t1, t2)
            if defn is not None and defn.group:
                migration_flows = (
                    flows(defn.group, t1, t2) if flows is not None else migration(ws, defn.group, t1, t2)
                )
    versions = version_rows(ws, name)
    sample = _members_now(ws, name, as_of).order_by("customer_id").limit(20).to_pyarrow()
    return {
        "name": name,
        "definition": defn,
        "versions": versions,
        "as_of": at,
        "kpis": kpis,
        "history": history.get(name, []),
        "changes": changes,
        "migration": migration_flows,
        "overlap": overlap_with_others(ws, name, as_of)[:15],
        "distributions": trait_distributions(ws, name, defn, as_of),
        "sample": sample.column("customer_id").to_pylist(),
        "members": reads.counts(ws, as_of).get(name, 0),
    }


# ------------------------------------------------------------------ one customer


def customer_page(ws, customer_id: str, events: int = 100) -> dict[str, Any] | None:
    """A customer's record, stored traits, memberships and recent events; ``None`` if unknown."""
    c = ws.table("customers")
    found = _rows(c.filter(c.customer_id == ibis.literal(customer_id)).limit(1))
    e = ws.table("events")
    evs = _rows(
        e.filter(e.customer_id == ibis.literal(customer_id))
        .select("occurred_at", "name", "category", "product_id", "order_id", "value", "properties")
        .order_by(ibis.desc("occurred_at"))
        .limit(events)
    )
    if not found and not evs:
        return None
    traits = None
    if ws.store.exists("traits"):
        t = ws.table("traits")
        rows = _rows(t.filter(t.customer_id == ibis.literal(customer_id)).limit(1))
        traits = rows[0] if rows else None
        if traits is not None:
            traits.pop("customer_id", None)
    m = ws.table("memberships")
    memberships = _rows(
        m.filter(m.customer_id == ibis.literal(customer_id))
        .select("segment", "since", "segment_version")
        .order_by("segment")
    )
    o = ws.table("orders")
    orders = _rows(
        o.filter(o.customer_id == ibis.literal(customer_id))
        .select("order_id", "ordered_at", "status", "total")
        .order_by(ibis.desc("ordered_at"))
        .limit(50)
    )
    for ev in evs:
        if isinstance(ev.get("properties"), str):
            with contextlib.suppress(ValueError):
                ev["properties"] = json.loads(ev["properties"])
    return {
        "customer_id": customer_id,
        "customer": found[0] if found else None,
        "traits": traits,
        "traits_as_of": traits_as_of(ws),
        "memberships": memberships,
        "events": evs,
        "orders": orders,
    }
