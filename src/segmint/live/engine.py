"""Live memberships: re-evaluate the customers that changed, and those whose time has come.

Two things make a membership change while the service runs:

* new data: the ingest writer reports the customers a commit touched (``mark``); the next ``tick``
  re-evaluates exactly those customers, with the same compiled rules as a batch run, restricted to them;
* time alone: a window lapses or a sequence's deadline passes. A rule's truth can only flip when ``as_of``
  crosses ``t + d`` for some dated row ``t`` of the customer (an event or an order) and some duration ``d``
  the rule mentions (windows, ``within``/``since`` deadlines, relative times such as ``-90d``). After each
  evaluation the engine computes the customer's next such instant (its *due time*) and re-evaluates the
  customer then, without any new event. Rules whose time-dependence is hidden in a trait (days since last
  order, lifecycle stages) are caught by ``sweep``, a full re-evaluation the service runs periodically and
  at start (which also recovers any evaluation lost to a crash between an ingest commit and its tick).

Every change (entered/exited) is written in one transaction with the memberships, the membership history
and the webhook outbox rows it causes, then handed to listeners (stream subscribers, the deliverer).
Everything here runs on the service's single database thread.
"""

from __future__ import annotations

import heapq
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from segmint.adapters.workspace import Workspace
from segmint.core.schema import CHANGES, OUTBOX

__all__ = ["Change", "LiveEngine", "LiveSegment", "MembershipEvaluator", "OutboxItem"]

TICK = timedelta(microseconds=1)  # timestamps are stored to the microsecond


@dataclass(frozen=True)
class LiveSegment:
    name: str
    version: int
    # Durations at which the rule's truth can flip after a dated row of the customer.
    shifts: tuple[timedelta, ...] = ()


class MembershipEvaluator(Protocol):
    """What the live engine needs from the segment engine."""

    def segments(self) -> list[LiveSegment]:
        """The segments to keep current."""
        ...

    def members(self, customer_ids: Sequence[str] | None, as_of: datetime) -> set[tuple[str, str]]:
        """``(segment, customer_id)`` pairs holding at ``as_of``, among ``customer_ids`` (all if None)."""
        ...


@dataclass(frozen=True)
class Change:
    seq: int
    segment: str
    customer_id: str
    kind: str  # entered | exited
    at: datetime
    segment_version: int | None
    cause: str

    def to_dict(self) -> dict:
        return {
            "seq": self.seq,
            "segment": self.segment,
            "customer_id": self.customer_id,
            "kind": self.kind,
            "at": self.at.isoformat(),
            "segment_version": self.segment_version,
            "cause": self.cause,
        }


@dataclass(frozen=True)
class OutboxItem:
    delivery_id: str
    webhook_id: str
    url: str
    secret: str
    payload: bytes


@dataclass
class Webhook:
    webhook_id: str
    url: str
    segment: str | None
    kinds: frozenset[str]
    secret: str


class LiveEngine:
    def __init__(self, ws: Workspace, evaluator: MembershipEvaluator) -> None:
        self.ws = ws
        self.raw = ws.con.con
        self.evaluator = evaluator
        self._dirty: set[str] = set()
        # New dated rows per dirty customer (their times), for incremental due times; customers marked
        # without them (or whose identity links changed) get their due time recomputed from the tables.
        self._dated: list[tuple[Sequence[str | None], Sequence[datetime]]] = []
        self._rescan: set[str] = set()
        self._dirty_since: float | None = None  # monotonic time of the oldest mark not yet taken
        self._ticking_since: float | None = None  # ... of the oldest mark the running tick covers
        self._dirty_lock = threading.Lock()
        self._due: list[tuple[datetime, str]] = []  # heap; stale entries skipped via _due_of
        self._due_of: dict[str, datetime] = {}
        self.next_seq = 1
        self._members: dict[str, set[str]] = {}  # customer -> segments, as in ``memberships``
        self.webhooks: list[Webhook] = []
        self.listeners: list[Callable[[list[Change], list[OutboxItem]], None]] = []
        self.evaluations = 0
        self.stats = {
            "ticks": 0,
            "customers": 0,
            "seconds": 0.0,
            "evaluate_s": 0.0,
            "write_s": 0.0,
            "schedule_s": 0.0,
        }

    # -- state -------------------------------------------------------------------------------------
    def load(self) -> None:
        row = self.raw.execute("SELECT max(seq) FROM changes").fetchone()
        self.next_seq = (row[0] or 0) + 1
        self._members = {}
        for segment, cid in self.raw.execute("SELECT segment, customer_id FROM memberships").fetchall():
            self._members.setdefault(cid, set()).add(segment)
        self.reload_webhooks()

    def reload_webhooks(self) -> None:
        rows = self.raw.execute(
            "SELECT webhook_id, url, segment, kinds, secret FROM webhooks WHERE active"
        ).fetchall()
        self.webhooks = [
            Webhook(w, u, s, frozenset((k or "entered,exited").split(",")), sec) for w, u, s, k, sec in rows
        ]

    def mark(
        self,
        customers: Iterable[str],
        dated: tuple[Sequence[str | None], Sequence[datetime]] | None = None,
        rescan: Iterable[str] = (),
    ) -> None:
        """Customers whose data changed (thread-safe; called by the ingest writer after a commit).

        ``dated`` gives the dated rows the commit added, as parallel owners and times: a customer's
        next due time then follows from its current one and these times alone. When ``dated`` is not
        given, and for customers in ``rescan``, it is recomputed from the tables. Marking is O(1) per
        commit: the rows are only looked at by the next tick."""
        with self._dirty_lock:
            if self._dirty_since is None:
                self._dirty_since = time.monotonic()
            if dated is None:
                customers = set(customers)
                self._dirty |= customers
                self._rescan |= customers
                return
            self._dirty.update(customers)
            self._rescan.update(rescan)
            self._dated.append(dated)

    def lag(self) -> float:
        """Seconds since the oldest change that is marked but not yet evaluated (0 if none)."""
        oldest = [t for t in (self._dirty_since, self._ticking_since) if t is not None]
        return time.monotonic() - min(oldest) if oldest else 0.0

    def has_dirty(self) -> bool:
        return bool(self._dirty)

    def has_work(self, now: datetime) -> bool:
        return bool(self._dirty) or (self.next_due() is not None and self.next_due() <= now)

    def next_due(self) -> datetime | None:
        while self._due and self._due_of.get(self._due[0][1]) != self._due[0][0]:
            heapq.heappop(self._due)
        return self._due[0][0] if self._due else None

    def _take_due(self, now: datetime) -> set[str]:
        out: set[str] = set()
        while self._due and self._due[0][0] <= now:
            at, cid = heapq.heappop(self._due)
            if self._due_of.get(cid) == at:
                del self._due_of[cid]
                out.add(cid)
        return out

    # -- evaluation --------------------------------------------------------------------------------
    def tick(self, as_of: datetime) -> list[Change]:
        """Re-evaluate the touched customers and those due by ``as_of``, at ``as_of``."""
        started = time.perf_counter()
        try:
            changes = self._tick(as_of)
        finally:
            self._ticking_since = None
        self.stats["ticks"] += 1
        self.stats["seconds"] += time.perf_counter() - started
        return changes

    def _tick(self, as_of: datetime) -> list[Change]:
        with self._dirty_lock:
            dirty, self._dirty = self._dirty, set()
            dated, self._dated = self._dated, []
            rescan, self._rescan = self._rescan, set()
            self._ticking_since, self._dirty_since = self._dirty_since, None
        due = self._take_due(as_of)
        changes: list[Change] = []
        if dirty:
            # A customer whose due time was just taken has lost it: recompute it from the tables.
            rescan |= due & dirty
            changes += self.evaluate(sorted(dirty), as_of, cause="event", dated=dated, rescan=rescan)
        due -= dirty
        if due:
            changes += self.evaluate(sorted(due), as_of, cause="time")
        return changes

    def sweep(self, as_of: datetime) -> list[Change]:
        """Re-evaluate every customer (start-up, and periodically for time-dependent traits)."""
        return self.evaluate(None, as_of, cause="sweep")

    def evaluate(
        self,
        customer_ids: list[str] | None,
        as_of: datetime,
        cause: str,
        dated: list[tuple[Sequence[str | None], Sequence[datetime]]] | None = None,
        rescan: set[str] | None = None,
    ) -> list[Change]:
        """Re-evaluate customers (all if None) at ``as_of``, record and announce the changes, and
        reschedule them: incrementally from ``dated`` for customers not in ``rescan`` (see ``mark``)."""
        clock = time.perf_counter()
        segments = {s.name: s for s in self.evaluator.segments()}
        new = self.evaluator.members(customer_ids, as_of) if segments else set()
        self.stats["customers"] += len(customer_ids) if customer_ids is not None else 0
        self.stats["evaluate_s"] += time.perf_counter() - clock
        new = {(s, c) for s, c in new if s in segments}
        current = self._current(customer_ids, list(segments))
        entered = sorted(new - current)
        exited = sorted(current - new)
        self.evaluations += 1
        changes: list[Change] = []
        for kind, pairs in (("exited", exited), ("entered", entered)):
            for segment, cid in pairs:
                changes.append(
                    Change(
                        self.next_seq + len(changes),
                        segment,
                        cid,
                        kind,
                        as_of,
                        segments[segment].version,
                        cause,
                    )
                )
        outbox = self._outbox(changes) if changes else []
        clock = time.perf_counter()
        if changes:
            self._write(changes, outbox, as_of)
            self.next_seq += len(changes)
        self.stats["write_s"] += time.perf_counter() - clock
        clock = time.perf_counter()
        shifts = sorted({d for s in segments.values() for d in s.shifts} | {timedelta(0)})
        if customer_ids is not None and dated is not None:
            rescan = rescan or set()
            full = [c for c in customer_ids if c in rescan]
            self._advance(dated, rescan, as_of, shifts)
            if full:
                self._schedule(full, as_of, shifts)
        else:
            self._schedule(customer_ids, as_of, shifts)
        self.stats["schedule_s"] += time.perf_counter() - clock
        if changes:
            for listener in self.listeners:
                listener(changes, outbox)
        return changes

    def retire(self, segment: str, version: int | None, as_of: datetime) -> list[Change]:
        """A deleted segment: every member exits (cause ``deleted``), with webhooks as for any exit."""
        rows = self.raw.execute(
            "SELECT customer_id FROM memberships WHERE segment = ? ORDER BY customer_id", [segment]
        ).fetchall()
        changes = [
            Change(self.next_seq + i, segment, cid, "exited", as_of, version, "deleted")
            for i, (cid,) in enumerate(rows)
        ]
        if changes:
            outbox = self._outbox(changes)
            self._write(changes, outbox, as_of)
            self.next_seq += len(changes)
            for listener in self.listeners:
                listener(changes, outbox)
        return changes

    def _current(self, customer_ids: list[str] | None, segments: list[str]) -> set[tuple[str, str]]:
        """Current memberships of these customers (all if None), from memory: the engine is the only
        writer of ``memberships`` while it runs, so its copy (loaded at start, updated after each
        commit) is exact."""
        keep = set(segments)
        held = self._members
        if customer_ids is None:
            return {(s, c) for c, segs in held.items() for s in segs if s in keep}
        return {(s, c) for c in customer_ids for s in held.get(c, ()) if s in keep}

    def _outbox(self, changes: list[Change]) -> list[OutboxItem]:
        items: list[OutboxItem] = []
        for change in changes:
            for hook in self.webhooks:
                if hook.segment not in (None, "", change.segment) or change.kind not in hook.kinds:
                    continue
                delivery_id = uuid.uuid4().hex
                body = {"delivery_id": delivery_id, "webhook_id": hook.webhook_id, **change.to_dict()}
                payload = json.dumps(body, separators=(",", ":")).encode()
                items.append(OutboxItem(delivery_id, hook.webhook_id, hook.url, hook.secret, payload))
        return items

    def _write(self, changes: list[Change], outbox: list[OutboxItem], as_of: datetime) -> None:
        raw = self.raw
        ch = pa.table(
            {
                "seq": [c.seq for c in changes],
                "segment": [c.segment for c in changes],
                "customer_id": [c.customer_id for c in changes],
                "kind": [c.kind for c in changes],
                "at": [c.at for c in changes],
                "segment_version": [c.segment_version for c in changes],
                "cause": [c.cause for c in changes],
            },
            schema=CHANGES.schema.to_pyarrow(),
        )
        raw.execute("BEGIN TRANSACTION")
        try:
            raw.register("_live_changes", ch)
            raw.execute("INSERT INTO changes BY NAME SELECT * FROM _live_changes")
            exits = any(c.kind == "exited" for c in changes)
            entries = len(changes) > 0 and not all(c.kind == "exited" for c in changes)
            if exits:
                raw.execute(
                    "DELETE FROM memberships m USING _live_changes c WHERE c.kind = 'exited' "
                    "AND m.segment = c.segment AND m.customer_id = c.customer_id"
                )
            if entries:
                raw.execute(
                    'INSERT INTO memberships BY NAME SELECT segment, customer_id, "at" AS since, segment_version '
                    "FROM _live_changes WHERE kind = 'entered'"
                )
            if exits:
                raw.execute(
                    'UPDATE membership_history h SET valid_to = c."at" FROM _live_changes c '
                    "WHERE c.kind = 'exited' AND h.segment = c.segment AND h.customer_id = c.customer_id "
                    "AND h.valid_to IS NULL"
                )
            if entries:
                raw.execute(
                    'INSERT INTO membership_history BY NAME SELECT segment, customer_id, "at" AS valid_from, '
                    "NULL::TIMESTAMP AS valid_to, segment_version FROM _live_changes WHERE kind = 'entered'"
                )
            raw.unregister("_live_changes")
            if outbox:
                ob = pa.table(
                    {
                        "delivery_id": [o.delivery_id for o in outbox],
                        "webhook_id": [o.webhook_id for o in outbox],
                        "change_seq": [json.loads(o.payload)["seq"] for o in outbox],
                        "payload": [o.payload.decode() for o in outbox],
                        "status": ["pending"] * len(outbox),
                        "attempts": [0] * len(outbox),
                        "next_attempt_at": [as_of] * len(outbox),
                        "last_error": [None] * len(outbox),
                        "last_status": [None] * len(outbox),
                        "created_at": [as_of] * len(outbox),
                        "delivered_at": [None] * len(outbox),
                    },
                    schema=OUTBOX.schema.to_pyarrow(),
                )
                raw.register("_live_outbox", ob)
                raw.execute("INSERT INTO outbox BY NAME SELECT * FROM _live_outbox")
                raw.unregister("_live_outbox")
            raw.execute("COMMIT")
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        for change in changes:
            if change.kind == "entered":
                self._members.setdefault(change.customer_id, set()).add(change.segment)
            else:
                segs = self._members.get(change.customer_id)
                if segs is not None:
                    segs.discard(change.segment)
                    if not segs:
                        del self._members[change.customer_id]

    def _advance(
        self,
        dated: list[tuple[Sequence[str | None], Sequence[datetime]]],
        rescan: set[str],
        as_of: datetime,
        shifts: list[timedelta],
    ) -> None:
        """Due times after new rows alone. A customer's due time is the earliest ``t + d`` after the last
        evaluation over its rows ``t`` and the rules' shifts ``d``; if it is still ahead of ``as_of`` it
        stays the earliest for the old rows, so only the new rows' instants can come before it."""
        if not dated:
            return
        rows = pa.table(
            {
                "owner": pa.chunked_array([pa.array(o, pa.string()) for o, _ in dated], pa.string()),
                "t": pa.chunked_array(
                    [pa.array(t, pa.timestamp("us")) for _, t in dated], pa.timestamp("us")
                ),
            }
        ).filter(pc.is_valid(pc.field("owner")))
        if rescan:
            rows = rows.filter(~pc.is_in(pc.field("owner"), pa.array(list(rescan), pa.string())))
        best: dict[str, datetime] = {}
        # Per shift d, the earliest new row with t + d > as_of gives that shift's candidate; the due
        # time is the earliest candidate over all shifts (vectorised: commits bring thousands of rows).
        for d in shifts:
            after = rows.filter(pc.field("t") > pa.scalar(as_of - d, pa.timestamp("us")))
            if after.num_rows == 0:
                continue
            firsts = after.group_by("owner").aggregate([("t", "min")])
            for cid, t in zip(
                firsts.column("owner").to_pylist(), firsts.column("t_min").to_pylist(), strict=True
            ):
                at = t + d
                known = best.get(cid)
                if known is None or at < known:
                    best[cid] = at
        for cid, at in best.items():
            current = self._due_of.get(cid)
            if current is None or at < current:
                self._due_of[cid] = at
                heapq.heappush(self._due, (at, cid))

    def _schedule(self, customer_ids: list[str] | None, as_of: datetime, shifts: list[timedelta]) -> None:
        """Next instant after ``as_of`` at which each evaluated customer's rules may flip."""
        raw = self.raw
        shift_us = [int(d / TICK) for d in shifts]
        raw.register("_live_shifts", pa.table({"us": pa.array(shift_us, pa.int64())}))
        restrict = ""
        if customer_ids is not None:
            raw.register("_live_ids", pa.table({"customer_id": pa.array(customer_ids, pa.string())}))
            restrict = "SEMI JOIN _live_ids USING (customer_id)"
        # Rows older than as_of - (largest shift) have every breakpoint behind them: skip them early.
        horizon = as_of - max(shifts)
        try:
            rows = raw.execute(
                f"""
                WITH links AS (
                    SELECT anonymous_id, arg_max(customer_id, linked_at) AS customer_id
                    FROM identities GROUP BY anonymous_id
                ),
                my_links AS (SELECT * FROM links {restrict}),
                recent AS (SELECT customer_id, anonymous_id, occurred_at FROM events WHERE occurred_at > $horizon),
                dated AS (
                    SELECT customer_id, occurred_at AS t FROM recent {restrict}
                    UNION ALL
                    SELECT l.customer_id, e.occurred_at AS t FROM recent e JOIN my_links l
                        ON e.customer_id IS NULL AND e.anonymous_id = l.anonymous_id
                    UNION ALL
                    SELECT customer_id, ordered_at AS t FROM orders {restrict} WHERE ordered_at > $horizon
                )
                SELECT customer_id, min(t + to_microseconds(s.us)) AS due
                FROM dated CROSS JOIN _live_shifts s
                WHERE customer_id IS NOT NULL AND t + to_microseconds(s.us) > $as_of
                GROUP BY customer_id
                """,
                {"as_of": as_of, "horizon": horizon},
            ).fetchall()
        finally:
            raw.unregister("_live_shifts")
            if customer_ids is not None:
                raw.unregister("_live_ids")
        if customer_ids is not None:
            for cid in customer_ids:
                self._due_of.pop(cid, None)
        else:
            self._due_of.clear()
            self._due.clear()
        for cid, due in rows:
            self._due_of[cid] = due
            heapq.heappush(self._due, (due, cid))
