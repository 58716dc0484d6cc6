"""Reading memberships: who is in a segment, how many, since when, at a past time, and how segments
changed between times. Every surface (CLI, API, dashboard, report, Python API) counts and lists members
through these functions, so a number is the same wherever it is shown.

"Current" members are the ``memberships`` table: the open intervals of the history, as of the latest
evaluation (a run, or the live engine). Members "at" a time ``t`` come from ``membership_history``: the
intervals holding ``t``. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from segmint.adapters.workspace import Workspace
from segmint.batch.definitions import CLUSTER_PREFIX, is_cluster, load_definitions, suggest
from segmint.core.segments import history as hist
from segmint.core.segments.definition import SegmentDef, SegmentError, SegmentNotFound
from segmint.core.segments.overlap import overlap_matrix
from segmint.core.timeutil import parse_as_of
from segmint.core.traits.profile import consent_at

__all__ = [
    "EXPORT_COLUMNS",
    "check_run_time",
    "counts",
    "current_time",
    "data_end",
    "default_as_of",
    "entries_exits",
    "group_segments",
    "known_segments",
    "latest_run",
    "member_page",
    "member_rows",
    "members",
    "members_at",
    "migration",
    "overlap",
    "require_segment",
    "run_times",
    "segment_members_at",
    "segment_summaries",
    "size_over_time",
]

EXPORT_COLUMNS = ("customer_id", "since", "email", "email_opt_in", "first_name", "last_name", "country")


def _lit(t: datetime) -> ir.Value:
    return ibis.literal(t, type="timestamp")


# -- times ---------------------------------------------------------------------------------------------
def run_times(ws: Workspace, segment: str | None = None) -> list[datetime]:
    """The times segments were evaluated by a run (oldest first)."""
    memo = getattr(ws, "memo", None)
    if memo is not None and segment is None:  # a server read view: once per data version
        return list(memo("run_times", lambda: _run_times(ws, None)))
    return _run_times(ws, segment)


def _run_times(ws: Workspace, segment: str | None) -> list[datetime]:
    runs = ws.table("segment_runs")
    if segment is not None:
        runs = runs.filter(runs.segment == ibis.literal(segment))
    return [r["as_of"] for r in runs.select("as_of").distinct().order_by("as_of").to_pyarrow().to_pylist()]


def latest_run(ws: Workspace) -> datetime | None:
    times = run_times(ws)
    return times[-1] if times else None


def data_end(ws: Workspace) -> datetime:
    """The end of the workspace's data: its latest order, event or customer creation (never later than
    now), or now for an empty workspace. What commands that take a time default to, rather than the
    wall clock, so a shop whose history ended in 1998 is looked at in 1998."""
    now = datetime.now(UTC).replace(tzinfo=None)
    parts = []
    for table, column in (("orders", "ordered_at"), ("events", "occurred_at"), ("customers", "created_at")):
        t = ws.table(table)
        parts.append(t.aggregate(t=t[column].max().cast("timestamp")))
    row = ibis.union(*parts).aggregate(t=ibis._.t.max()).to_pyarrow().to_pylist()[0]
    end = row["t"]
    return min(end, now) if end is not None else now


def current_time(ws: Workspace) -> datetime:
    """The time current memberships are for: the latest evaluation (a run, or a live change), else the
    data's end."""
    ch = ws.table("changes")
    last_change = ch.at.max().to_pyarrow().as_py()
    times = [t for t in (latest_run(ws), last_change) if t is not None]
    return max(times) if times else data_end(ws)


def default_as_of(ws: Workspace) -> datetime:
    """The time a read about segments is for when none is given: the latest run, else the data's end."""
    return latest_run(ws) or data_end(ws)


# -- which segments exist ----------------------------------------------------------------------------
def known_segments(ws: Workspace) -> set[str]:
    """Defined segments plus every segment that has (or had) members or runs: clusters, and segments
    whose definition was removed."""
    names = {d.name for d in load_definitions(ws)}
    m = ws.table("memberships")
    r = ws.table("segment_runs")
    stored = m.select("segment").union(r.select("segment")).distinct()
    return names | {row["segment"] for row in stored.to_pyarrow().to_pylist()}


def require_segment(ws: Workspace, name: str) -> None:
    """Raise :class:`SegmentNotFound` (with a "did you mean") unless ``name`` is a known segment."""
    names = known_segments(ws)
    if name in names:
        return
    if is_cluster(name):
        model, _, number = name[len(CLUSTER_PREFIX) :].rpartition(":")
        mine = sorted(
            int(x.rpartition(":")[2])
            for x in names
            if x.startswith(f"{CLUSTER_PREFIX}{model}:") and x[-1:].isdigit()
        )
        if not model or not number.isdigit():
            raise SegmentNotFound(f"cluster segment {name!r}: write cluster:<model>:<number>")
        if mine:
            raise SegmentNotFound(
                f"cluster model {model!r} has no cluster {number} (clusters: {', '.join(map(str, mine))})"
            )
        raise SegmentNotFound(f"no cluster model {model!r}: run `segmint cluster fit --name {model}` first")
    raise SegmentNotFound(f"no segment called {name!r}{suggest(name, names)}")


# -- members -------------------------------------------------------------------------------------------
def members_at(ws: Workspace, t: datetime | None) -> ir.Table:
    """``segment, customer_id`` of every segment: current (``t`` None) or at time ``t``."""
    if t is None:
        return ws.table("memberships").select("segment", "customer_id")
    return hist.members_at(ws.table("membership_history"), t)


def segment_members_at(ws: Workspace, name: str, t: datetime | None) -> ir.Table:
    """``customer_id`` of one segment's members, current or at ``t`` (what ``in_segment`` reads of a
    segment the evaluation does not compute itself, such as a cluster)."""
    require_segment(ws, name)
    if t is None:
        m = ws.table("memberships")
        return m.filter(m.segment == ibis.literal(name)).select("customer_id")
    h = ws.table("membership_history")
    return hist.members_at(h.filter(h.segment == ibis.literal(name)), t).select("customer_id")


def members(ws: Workspace, name: str, as_of: datetime | str | None = None) -> ir.Table:
    """``customer_id, since`` of a segment's members, current or at a past time, in customer order."""
    require_segment(ws, name)
    if as_of is None:
        m = ws.table("memberships")
        return (
            m.filter(m.segment == ibis.literal(name)).select("customer_id", "since").order_by("customer_id")
        )
    h = ws.table("membership_history")
    t = _lit(parse_as_of(as_of))
    h = h.filter(h.segment == ibis.literal(name), h.valid_from <= t, h.valid_to.isnull() | (h.valid_to > t))
    return h.select("customer_id", since=h.valid_from).order_by("customer_id")


def member_page(ws: Workspace, name: str, after: str = "", limit: int = 100) -> list[dict[str, Any]]:
    """Current members after the cursor ``after`` (a customer id), ``limit`` of them, in customer order."""
    require_segment(ws, name)
    m = ws.table("memberships")
    page = (
        m.filter(m.segment == ibis.literal(name), m.customer_id > ibis.literal(after))
        .select("customer_id", "since", "segment_version")
        .order_by("customer_id")
        .limit(limit)
    )
    return page.to_pyarrow().to_pylist()


def member_rows(ws: Workspace, name: str, as_of: datetime | str | None = None) -> ir.Table:
    """A segment's members with what an audience export carries (``EXPORT_COLUMNS``)."""
    m = members(ws, name, as_of)
    c = ws.table("customers")
    # At a past time, the consent given by then (an opt-in dated later was not given yet).
    opt_in = (
        c.email_opt_in if as_of is None else consent_at(c.email_opt_in, c.email_opt_in_at, parse_as_of(as_of))
    )
    out = m.left_join(c, "customer_id").select(
        m.customer_id, m.since, c.email, opt_in.name("email_opt_in"), c.first_name, c.last_name, c.country
    )
    return out.order_by("customer_id")


def counts(ws: Workspace, as_of: datetime | None = None) -> dict[str, int]:
    """Members per segment (distinct customers): current, or at time ``as_of``."""
    m = members_at(ws, as_of)
    rows = m.group_by("segment").aggregate(n=m.customer_id.nunique()).to_pyarrow().to_pylist()
    return {r["segment"]: int(r["n"]) for r in rows}


def segment_summaries(ws: Workspace, as_of: datetime | None = None) -> list[dict[str, Any]]:
    """Every segment (defined ones in file order, then clusters and removed ones by name) with its
    definition, current version and member count: what the segment lists of every surface show."""
    from segmint.batch.versions import current_versions

    defs = load_definitions(ws)
    sizes = counts(ws, as_of)
    versions = current_versions(ws)
    by_def: dict[str, SegmentDef] = {d.name: d for d in defs}
    names = [d.name for d in defs] + sorted(set(sizes) - set(by_def))
    out = []
    for name in names:
        d = by_def.get(name)
        out.append(
            {
                "name": name,
                "family": d.family if d else ("cluster" if is_cluster(name) else ""),
                "group": (d.group or "") if d else "",
                "description": d.description if d else "",
                "rule": d.rule if d else None,
                "file": d.source if d else None,
                "version": versions.get(name),
                "members": sizes.get(name, 0),
                "defined": d is not None,
            }
        )
    return out


# -- history -------------------------------------------------------------------------------------------
def size_over_time(ws: Workspace, names: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """``segment, as_of, size`` at every run time of the segments (all by default)."""
    runs = ws.table("segment_runs")
    h = ws.table("membership_history")
    if names:
        wanted = list(names)
        runs = runs.filter(runs.segment.isin(wanted))
        h = h.filter(h.segment.isin(wanted))
    return hist.size_over_time(h, runs).to_pyarrow().to_pylist()


def check_run_time(ws: Workspace, segment_names: list[str], t: datetime) -> None:
    """History is known at run times only: raise unless every segment was evaluated at ``t``."""
    runs = ws.table("segment_runs")
    found = runs.filter(runs.as_of == _lit(t), runs.segment.isin(segment_names))
    have = {r["segment"] for r in found.select("segment").to_pyarrow().to_pylist()}
    missing = sorted(set(segment_names) - have)
    if missing:
        raise SegmentError(
            f"{', '.join(missing)} not evaluated at {t}: history is known at run times only; "
            f"run `segmint run --as-of {t.isoformat()}` (or a backfill) first",
            detail={"missing": missing, "as_of": t.isoformat()},
        )


def entries_exits(ws: Workspace, name: str, t1: datetime | str, t2: datetime | str) -> list[dict[str, Any]]:
    """Customers who entered (member at ``t2``, not at ``t1``) or exited (the reverse)."""
    require_segment(ws, name)
    a, b = parse_as_of(t1), parse_as_of(t2)
    check_run_time(ws, [name], a)
    check_run_time(ws, [name], b)
    return hist.entries_exits(ws.table("membership_history"), name, a, b).to_pyarrow().to_pylist()


def group_segments(ws: Workspace, group: str) -> list[str]:
    defs = load_definitions(ws)
    names = [d.name for d in defs if d.group == group]
    if not names:
        groups = sorted({d.group for d in defs if d.group})
        raise SegmentError(
            f"no exclusive group called {group!r}; groups: {', '.join(groups) or 'none (set group: in YAML)'}"
        )
    return names


def migration(ws: Workspace, group: str, t1: datetime | str, t2: datetime | str) -> list[dict[str, Any]]:
    """How customers moved between the exclusive segments of ``group`` from ``t1`` to ``t2``."""
    names = group_segments(ws, group)
    a, b = parse_as_of(t1), parse_as_of(t2)
    h = ws.table("membership_history")
    for t in (a, b):
        check_run_time(ws, names, t)
        clash = int(hist.overlapping(h, names, t).count().to_pyarrow().as_py())
        if clash:
            raise SegmentError(
                f"group {group!r} is not exclusive at {t}: {clash} customers are in more than one of "
                f"{', '.join(names)}; fix the rules so each customer is in at most one"
            )
    return hist.migration_matrix(h, names, a, b).to_pyarrow().to_pylist()


def overlap(ws: Workspace, names: list[str], as_of: datetime | str | None = None) -> list[dict[str, Any]]:
    """Customers in both of each pair of segments, share of the row segment, Jaccard index."""
    for name in names:
        require_segment(ws, name)
    t = parse_as_of(as_of) if as_of is not None else None
    return overlap_matrix(members_at(ws, t), names).to_pyarrow().to_pylist()
