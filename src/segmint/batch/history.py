"""Recording memberships: the one writer of ``memberships``, ``membership_history``, ``changes`` and
``segment_runs``.

Every writer hands :func:`record` what it observed, "these customers are members of these segments at
``at``": a batch run (every customer), a backfill (a time among earlier runs), a cluster assignment, a
live tick (the customers an event touched), a deleted segment (nobody). The recorder decides what that
changes, with the rules of :mod:`segmint.core.segments.history`:

* an observation later than everything stored for its segments is a *forward* one: customers who are
  members and were not enter at ``at``, open memberships whose customer is no longer a member exit at
  ``at`` (the common case, applied by :func:`segmint.adapters.memberships.apply_forward`);
* any other observation (a backfill, a re-run of a time) holds from ``at`` until the next thing known
  (the segment's next run, the customer's next stored change): intervals are cut and merged around it,
  change events that no longer hold are withdrawn and new ones appended.

Change numbers come from one counter, the largest stored ``seq``, read inside the write's transaction:
they are strictly increasing across every writer, so a reader's cursor (``after=seq``) stays valid.
``memberships`` always equals the open intervals of ``membership_history``. Everything a call writes
happens in one transaction on DuckDB, including what ``also`` writes (the live engine's webhook outbox).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from segmint.adapters.memberships import apply_forward, hold_numbers, next_seq
from segmint.adapters.workspace import Workspace
from segmint.core.schema import CHANGES, MEMBERSHIP_HISTORY, MEMBERSHIPS, SEGMENT_RUNS
from segmint.core.segments import history as hist

__all__ = ["Recorded", "last_known", "record", "record_members"]

_CHANGE_SCHEMA = CHANGES.schema.to_pyarrow()


@dataclass
class Recorded:
    """What one observation changed: the change rows written (in seq order), and per segment how many
    members it has at ``at`` (full observations only) and how many entered and exited at ``at``."""

    at: datetime
    changes: pa.Table = field(default_factory=lambda: _CHANGE_SCHEMA.empty_table())
    members: dict[str, int] = field(default_factory=dict)
    entered: dict[str, int] = field(default_factory=dict)
    exited: dict[str, int] = field(default_factory=dict)

    def change_dicts(self) -> list[dict[str, Any]]:
        return self.changes.to_pylist()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def last_known(ws: Workspace, segments: Iterable[str]) -> datetime | None:
    """The latest instant anything is stored at for these segments: a run, an entry or an exit. Read
    from the tables once per store, then kept by :func:`record` (every membership write goes through
    it), so a live tick does not scan the history."""
    names = list(segments)
    known = ws.store.known.setdefault("last_known", {})
    missing = [n for n in names if n not in known]
    if missing:
        h = ws.table("membership_history")
        h = h.filter(h.segment.isin(missing))
        runs = ws.table("segment_runs")
        runs = runs.filter(runs.segment.isin(missing))
        per = (
            h.group_by("segment")
            .aggregate(
                t=ibis.greatest(h.valid_from.max(), h.valid_to.max().fill_null(h.valid_from.max())).cast(
                    dt.Timestamp(nullable=True)
                )
            )
            .union(runs.group_by("segment").aggregate(t=runs.as_of.max().cast(dt.Timestamp(nullable=True))))
        )
        found: dict[str, datetime] = {}
        for row in per.to_pyarrow().to_pylist():
            if row["t"] is not None and (row["segment"] not in found or row["t"] > found[row["segment"]]):
                found[row["segment"]] = row["t"]
        for name in missing:
            known[name] = found.get(name)
    times = [known[n] for n in names if known[n] is not None]
    return max(times) if times else None


def _remember(ws: Workspace, segments: Iterable[str], at: datetime) -> None:
    known = ws.store.known.setdefault("last_known", {})
    for name in segments:
        if name in known and (known[name] is None or known[name] < at):
            known[name] = at


def record(
    ws: Workspace,
    at: datetime,
    members: ir.Table | pa.Table,
    *,
    versions: Mapping[str, int],
    cause: str,
    customers: Iterable[str] | None = None,
    run: bool = True,
    also: Callable[[pa.Table], None] | None = None,
) -> Recorded:
    """Record that ``members`` (``segment, customer_id``) are the members at ``at`` of the segments in
    ``versions`` (name -> version), among ``customers`` (all customers when None). ``run`` records a
    run of each segment at ``at`` (full observations: batch runs, backfills, cluster assignments).
    ``also(changes)`` runs inside the transaction after the changes are written."""
    if customers is not None and run:
        raise ValueError("only an observation of every customer is a run")
    names = sorted(versions)
    out = Recorded(at=at)
    if not names:
        return out
    store = ws.store
    with store.scratch() as temps, store.transaction():
        members_t = store.temp(
            members if isinstance(members, pa.Table) else members.select("segment", "customer_id"), "members"
        )
        temps.append(members_t)
        scope_t = store.temp(
            pa.table(
                {
                    "segment": pa.array(names, pa.string()),
                    "version": pa.array([int(versions[x]) for x in names], pa.int64()),
                }
            ),
            "scope",
        )
        temps.append(scope_t)
        ids_t = None
        if customers is not None:
            ids_t = store.temp(
                pa.table({"customer_id": pa.array(sorted(set(customers)), pa.string())}), "ids"
            )
            temps.append(ids_t)
        known = last_known(ws, names)
        if known is None or at > known:
            out.changes = apply_forward(store, at, cause, members_t, scope_t, ids_t)
        else:
            out.changes = _observe(ws, at, cause, members_t, scope_t, ids_t, temps)
        if run:
            out.members = _counts(ws.table(members_t))
            _record_runs(ws, at, versions, out.members)
        _tally(out)
        if also is not None and out.changes.num_rows:
            also(out.changes)
    _remember(ws, names, at)
    return out


def _counts(members: ir.Table) -> dict[str, int]:
    m = members.select("segment", "customer_id").distinct()
    rows = m.group_by("segment").aggregate(n=m.count()).to_pyarrow().to_pylist()
    return {r["segment"]: int(r["n"]) for r in rows}


def _tally(out: Recorded) -> None:
    """Entries and exits at ``at`` per segment (a backfill also writes changes at other times)."""
    changes = out.changes
    if not changes.num_rows:
        return
    at_t = changes.filter(pc.equal(changes.column("at"), pa.scalar(out.at, changes.schema.field("at").type)))
    for row in at_t.group_by(["segment", "kind"]).aggregate([("seq", "count")]).to_pylist():
        bucket = out.entered if row["kind"] == "entered" else out.exited
        bucket[row["segment"]] = int(row["seq_count"])


def _observe(
    ws: Workspace, at: datetime, cause: str, members_t: str, scope_t: str, ids_t: str | None, temps: list[str]
) -> pa.Table:
    """The general case: cut and merge intervals around ``at`` (see :func:`hist.observe`)."""
    store = ws.store
    t = ibis.literal(at, type="timestamp")
    runs = ws.table("segment_runs")
    later = runs.filter(runs.as_of > t).group_by("segment").aggregate(t_next=runs.as_of.min())
    scope = ws.table(scope_t)
    scope = scope.left_join(later, "segment").select(scope.segment, scope.version, later.t_next)
    history = ws.table("membership_history").semi_join(ws.table(scope_t), "segment")
    members = ws.table(members_t)
    if ids_t is not None:
        history = history.semi_join(ws.table(ids_t), "customer_id")
    old, new = hist.observe(history, scope, members, at)
    delete, insert = hist.diff(old, new)
    delete_t = store.temp(delete, "del")
    insert_t = store.temp(insert, "ins")
    temps.extend([delete_t, insert_t])
    delete, insert = ws.table(delete_t), ws.table(insert_t)

    # Change events: boundaries the new intervals add, and boundaries the old ones had that are gone.
    ck = ["segment", "customer_id", "kind", "at"]
    b_del, b_ins = hist.boundaries(delete), hist.boundaries(insert)
    added_t = store.temp(b_ins.anti_join(b_del, ck), "added")
    retracted_t = store.temp(b_del.anti_join(b_ins, ck), "retracted")
    temps.extend([added_t, retracted_t])

    # History: delete the replaced intervals by key, insert the new ones.
    if store.count(delete_t):
        store.delete(MEMBERSHIP_HISTORY, delete_t)
    if store.count(insert_t):
        store.append("membership_history", insert.select(*MEMBERSHIP_HISTORY.columns))

    # Current memberships follow the open intervals: an open interval deleted or inserted is a
    # membership dropped or added (a pair has at most one open interval).
    gone = delete.filter(delete.valid_to.isnull()).select("segment", "customer_id")
    came = insert.filter(insert.valid_to.isnull())
    gone_t = store.temp(gone, "gone")
    temps.append(gone_t)
    if store.count(gone_t):
        store.delete(MEMBERSHIPS, gone_t)
    if int(came.count().to_pyarrow().as_py()):
        store.append(
            "memberships",
            came.select(
                "segment", "customer_id", since=came.valid_from, segment_version=came.segment_version
            ),
        )

    # Change log: withdraw retracted boundaries, append added ones numbered after the last stored.
    if store.count(retracted_t):
        hold_numbers(store)  # the withdrawn numbers may be the highest given: never give them again
        changes = ws.table("changes")
        drop = changes.semi_join(ws.table(retracted_t), ck).select("seq")
        drop_t = store.temp(drop, "drop")
        temps.append(drop_t)
        store.delete(CHANGES, drop_t)
    added = ws.table(added_t)
    start = next_seq(store)
    ordered = added.mutate(
        seq=ibis.row_number().over(order_by=["at", "segment", "kind", "customer_id"]) + start,
        cause=ibis.literal(cause),
    ).select(*CHANGES.columns)
    rows = ordered.to_pyarrow().cast(_CHANGE_SCHEMA).sort_by("seq")
    if rows.num_rows:
        store.append("changes", rows)
    _restamp(ws, at, scope_t, ids_t, temps)
    return rows


# What carries a version, and the column holding the time whose version it is.
_STAMPED = ((CHANGES, "at"), (MEMBERSHIP_HISTORY, "valid_from"), (MEMBERSHIPS, "since"))


def _restamp(ws: Workspace, at: datetime, scope_t: str, ids_t: str | None, temps: list[str]) -> None:
    """Changes, intervals and memberships of the observed segments (and customers) that sit at a run
    time, or at ``at``, get the version evaluated there (:func:`hist.versions_at`): after a definition
    changed, re-running a time relabels what it kept as well as what it added. A change keeps its
    number: its meaning (who, which segment, entered or exited, when) is unchanged."""
    store = ws.store
    evaluated = hist.versions_at(ws.table("segment_runs"), ws.table(scope_t), at)
    for spec, column in _STAMPED:
        table = ws.table(spec.name)
        if ids_t is not None:
            table = table.semi_join(ws.table(ids_t), "customer_id")
        j = table.inner_join(evaluated, [table.segment == evaluated.segment, table[column] == evaluated.at])
        stale = j.filter(j.segment_version != j.version).select(
            *(j[k] for k in spec.key), segment_version=j.version
        )
        stale_t = store.temp(stale, "stale")
        temps.append(stale_t)
        if store.count(stale_t):
            store.upsert(spec, stale_t)


def _record_runs(ws: Workspace, at: datetime, versions: Mapping[str, int], counts: Mapping[str, int]) -> None:
    """A run row per segment at ``at`` (version, members); a re-run that finds the same leaves it alone."""
    runs = ws.table("segment_runs")
    existing = {
        r["segment"]: (r["segment_version"], r["members"])
        for r in runs.filter(runs.as_of == ibis.literal(at, type="timestamp")).to_pyarrow().to_pylist()
    }
    rows = [
        {
            "segment": name,
            "as_of": at,
            "segment_version": int(version),
            "members": int(counts.get(name, 0)),
            "evaluated_at": _now(),
        }
        for name, version in versions.items()
        if existing.get(name) != (int(version), int(counts.get(name, 0)))
    ]
    if not rows:
        return
    data = pa.Table.from_pylist(rows, schema=SEGMENT_RUNS.schema.to_pyarrow())
    staged = ws.store.temp(data, "runs")
    try:
        ws.store.upsert(SEGMENT_RUNS, staged)
    finally:
        ws.store.drop(staged)


def record_members(
    ws: Workspace,
    at: datetime | str,
    members_by_segment: Mapping[str, Iterable[str]],
    versions: Mapping[str, int] | None = None,
    cause: str = "run",
) -> Recorded:
    """Record members known elsewhere (a name -> customer ids mapping) as a run at ``at``: what an
    evaluation does after its rules, for callers that evaluate by other means."""
    from segmint.core.timeutil import parse_as_of

    rows = [(seg, cid) for seg, ids in members_by_segment.items() for cid in ids]
    data = pa.table(
        {
            "segment": pa.array([r[0] for r in rows], pa.string()),
            "customer_id": pa.array([r[1] for r in rows], pa.string()),
        }
    )
    return record(
        ws,
        parse_as_of(at),
        data,
        versions=dict(versions or dict.fromkeys(members_by_segment, 1)),
        cause=cause,
    )
