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

Every evaluation is recorded by the one membership recorder (:func:`segmint.batch.history.record`), as
batch runs are: the changes (entered/exited), the memberships, the membership history and the webhook
outbox rows they cause are written in one transaction, numbered after every change stored by any
writer, then handed to listeners (stream subscribers, the deliverer). Everything here runs on the
service's live thread.
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

from segmint.adapters.due_times import due_times
from segmint.adapters.memberships import next_seq
from segmint.adapters.workspace import Workspace
from segmint.batch import history
from segmint.core.schema import OUTBOX

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

    def members(
        self, customer_ids: Sequence[str] | None, as_of: datetime, segments: Iterable[str] | None = None
    ) -> set[tuple[str, str]]:
        """``(segment, customer_id)`` pairs holding at ``as_of``, among ``customer_ids`` (all if None),
        of every segment or only of ``segments``."""
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
    change_seq: int = 0


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
        self.next_seq = 1  # one more than the last change number stored (by any writer)
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
        self.next_seq = next_seq(self.ws.store)
        self.reload_webhooks()

    def reload_webhooks(self) -> None:
        w = self.ws.table("webhooks")
        rows = w.filter(w.active).select("webhook_id", "url", "segment", "kinds", "secret").to_pyarrow()
        self.webhooks = [
            Webhook(
                r["webhook_id"],
                r["url"],
                r["segment"],
                frozenset((r["kinds"] or "entered,exited").split(",")),
                r["secret"],
            )
            for r in rows.to_pylist()
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
        due = self.next_due()
        return bool(self._dirty) or (due is not None and due <= now)

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

    def sweep(self, as_of: datetime, segments: Iterable[str] | None = None) -> list[Change]:
        """Re-evaluate every customer (start-up, periodically for time-dependent traits, and for the
        segments a save changed)."""
        return self.evaluate(None, as_of, cause="sweep" if segments is None else "saved", segments=segments)

    def evaluate(
        self,
        customer_ids: list[str] | None,
        as_of: datetime,
        cause: str,
        dated: list[tuple[Sequence[str | None], Sequence[datetime]]] | None = None,
        rescan: set[str] | None = None,
        segments: Iterable[str] | None = None,
    ) -> list[Change]:
        """Re-evaluate customers (all if None) at ``as_of`` (every segment, or only ``segments``),
        record and announce the changes, and reschedule the customers: incrementally from ``dated`` for
        customers not in ``rescan`` (see ``mark``)."""
        clock = time.perf_counter()
        live = {s.name: s for s in self.evaluator.segments()}
        scope = live if segments is None else {name: live[name] for name in segments if name in live}
        if not scope:
            new: set[tuple[str, str]] = set()
        elif segments is None:
            new = self.evaluator.members(customer_ids, as_of)
        else:
            new = self.evaluator.members(customer_ids, as_of, segments=list(scope))
        self.stats["customers"] += len(customer_ids) if customer_ids is not None else 0
        self.stats["evaluate_s"] += time.perf_counter() - clock
        pairs = sorted((s, c) for s, c in new if s in scope)
        self.evaluations += 1
        clock = time.perf_counter()
        changes = self._record(
            as_of,
            pa.table(
                {
                    "segment": pa.array([s for s, _ in pairs], pa.string()),
                    "customer_id": pa.array([c for _, c in pairs], pa.string()),
                }
            ),
            {name: seg.version for name, seg in scope.items()},
            cause,
            customer_ids,
        )
        self.stats["write_s"] += time.perf_counter() - clock
        clock = time.perf_counter()
        shifts = sorted({d for s in live.values() for d in s.shifts} | {timedelta(0)})
        if customer_ids is not None and dated is not None:
            rescan = rescan or set()
            full = [c for c in customer_ids if c in rescan]
            self._advance(dated, rescan, as_of, shifts)
            if full:
                self._schedule(full, as_of, shifts)
        else:  # a sweep (of every segment, or of saved ones whose windows may be new): everyone
            self._schedule(customer_ids, as_of, shifts)
        self.stats["schedule_s"] += time.perf_counter() - clock
        return changes

    def retire(self, segment: str, version: int | None, as_of: datetime) -> list[Change]:
        """A deleted segment: every member exits (cause ``deleted``), with webhooks as for any exit."""
        empty = pa.table({"segment": pa.array([], pa.string()), "customer_id": pa.array([], pa.string())})
        return self._record(as_of, empty, {segment: version or 0}, "deleted", None)

    def _record(
        self,
        as_of: datetime,
        members: pa.Table,
        versions: dict[str, int],
        cause: str,
        customer_ids: list[str] | None,
    ) -> list[Change]:
        """Record the observation through the membership recorder, with the webhook outbox rows of its
        changes in the same transaction; then tell the listeners."""
        outbox: list[OutboxItem] = []

        def write_outbox(changes: pa.Table) -> None:
            outbox.extend(self._outbox(changes.to_pylist()))
            if outbox:
                self.ws.store.append("outbox", self._outbox_rows(outbox, as_of))

        recorded = history.record(
            self.ws,
            as_of,
            members,
            versions=versions,
            cause=cause,
            customers=customer_ids,
            run=False,
            also=write_outbox,
        )
        changes = [Change(**row) for row in recorded.changes.to_pylist()]
        if changes:
            self.next_seq = max(self.next_seq, changes[-1].seq + 1)
            for listener in self.listeners:
                listener(changes, outbox)
        return changes

    def _outbox(self, changes: list[dict]) -> list[OutboxItem]:
        items: list[OutboxItem] = []
        for change in changes:
            for hook in self.webhooks:
                if hook.segment not in (None, "", change["segment"]) or change["kind"] not in hook.kinds:
                    continue
                delivery_id = uuid.uuid4().hex
                body = {"delivery_id": delivery_id, "webhook_id": hook.webhook_id, **_public(change)}
                payload = json.dumps(body, separators=(",", ":")).encode()
                items.append(
                    OutboxItem(delivery_id, hook.webhook_id, hook.url, hook.secret, payload, change["seq"])
                )
        return items

    @staticmethod
    def _outbox_rows(outbox: list[OutboxItem], as_of: datetime) -> pa.Table:
        n = len(outbox)
        return pa.table(
            {
                "delivery_id": [o.delivery_id for o in outbox],
                "webhook_id": [o.webhook_id for o in outbox],
                "change_seq": [o.change_seq for o in outbox],
                "payload": [o.payload.decode() for o in outbox],
                "status": ["pending"] * n,
                "attempts": [0] * n,
                "next_attempt_at": [as_of] * n,
                "last_error": [None] * n,
                "last_status": [None] * n,
                "created_at": [as_of] * n,
                "delivered_at": [None] * n,
            },
            schema=OUTBOX.schema.to_pyarrow(),
        )

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
        rows = due_times(self.ws.store, customer_ids, as_of, shifts)
        if customer_ids is not None:
            for cid in customer_ids:
                self._due_of.pop(cid, None)
        else:
            self._due_of.clear()
            self._due.clear()
        for cid, due in rows:
            self._due_of[cid] = due
            heapq.heappush(self._due, (due, cid))


def _public(change: dict) -> dict:
    """A change as webhooks and the stream carry it (times in ISO form)."""
    out = dict(change)
    out["at"] = out["at"].isoformat() if out["at"] is not None else None
    return out
