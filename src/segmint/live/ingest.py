"""Durable ingest with group commit: an event is acknowledged only after the transaction holding it commits.

Requests hand their rows to :class:`Ingestor`; one writer thread drains everything pending into a single
DuckDB transaction (events, identity links, customer upserts), commits, and only then resolves the
requests' futures. Under load many requests share one commit, so throughput grows with concurrency while
each acknowledgement still means "on disk": DuckDB writes and syncs its write-ahead log at commit, and
replays it on the next open after a ``kill -9``.

Idempotency: the writer keeps the set of stored event ids (loaded at start). A message whose id is already
stored, or repeated inside the group, is acknowledged and skipped, so a client retry never counts twice.
The service is the single writer of its workspace (DuckDB's file lock enforces it), which is what makes an
in-memory set authoritative.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from segmint.adapters.ingest_store import IngestStore
from segmint.adapters.workspace import Workspace
from segmint.core.identity import IdentityLinks
from segmint.core.schema import EVENTS
from segmint.live.profile_store import ProfileStore
from segmint.live.recent_events import PROFILE_EVENT_COLUMNS, RecentEvents
from segmint.live.tracking import EVENT_COLUMNS, Rows

__all__ = ["IngestResult", "Ingestor"]

_EVENTS_SCHEMA = EVENTS.schema.to_pyarrow()
_EVENTS_SCHEMA = pa.schema([_EVENTS_SCHEMA.field(c) for c in EVENT_COLUMNS])


@dataclass
class IngestResult:
    accepted: int  # messages in the request
    stored: int  # new events written (duplicates and identify calls are not events)
    duplicates: int
    committed_at: datetime | None = None


@dataclass
class _Pending:
    rows: Rows
    future: Future
    result: IngestResult = field(default_factory=lambda: IngestResult(0, 0, 0))


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Ingestor:
    """Group-commit writer of events, identities and identify traits.

    ``executor`` must run one job at a time (the service's single database thread); ``on_commit`` is
    called on that thread after each commit with the customer ids whose data changed, the commit time,
    the new events' owners and times (``(owners, occurred_at)``: the customer each event belongs to, own
    or stitched, None if nobody yet), and the customers whose
    identity links changed (their whole past may have moved, so nothing about them is incremental).
    """

    def __init__(
        self,
        ws: Workspace,
        executor: Executor,
        on_commit: Callable[[set[str], datetime, tuple[list[str | None], list[datetime]], set[str]], None]
        | None = None,
        recent: RecentEvents | None = None,
        profiles: ProfileStore | None = None,
        before_write: Callable[[], None] | None = None,
    ) -> None:
        self.ws = ws
        self.store = IngestStore(ws)  # the DuckDB statements; only ever used on the executor's thread
        self.executor = executor
        self.on_commit = on_commit
        self.recent = recent
        self.profiles = profiles
        self.before_write = before_write  # e.g. the service's back-pressure from live evaluation
        self.seen: set[str] = set()
        # Anonymous id -> customer of its winning link over every stored link (segmint.core.identity),
        # kept equal to identity_map over the identities table as new links commit.
        self.links = IdentityLinks()
        self.customers: set[str] = set()
        self._pending: list[_Pending] = []
        self._lock = threading.Lock()
        self._scheduled = False
        self.commits = 0
        self.write_seconds = 0.0
        self.checkpoints = 0
        self.wal_path: str | None = None  # set by ``load`` for a database file
        self.checkpoint_bytes = 0  # 0: leave checkpoints to DuckDB

    # -- start -------------------------------------------------------------------------------------
    def load(self) -> None:
        """Read what is already stored (event ids, identity links, customer ids). Runs on the writer."""
        store = self.store
        self.wal_path = store.wal_path()
        self.seen = store.event_ids()
        self.links = store.identity_links()
        self.customers = store.customer_ids()

    def preload_recent(self) -> None:
        """Fill the recent-events cache with every customer's latest events (stitched), if they fit."""
        if self.recent is None:
            return
        if self.store.customers_with_events() > self.recent.max_customers:
            return
        self.recent.preload(self.store.latest_events(self.recent.depth, PROFILE_EVENT_COLUMNS))

    # -- requests ----------------------------------------------------------------------------------
    def submit(self, rows: Rows) -> Future:
        """Queue rows for the next group commit; the future resolves to an :class:`IngestResult` after
        the commit (or to the error that prevented it)."""
        pending = _Pending(rows, Future())
        with self._lock:
            self._pending.append(pending)
            schedule = not self._scheduled
            self._scheduled = True
        if schedule:
            self.executor.submit(self._flush)
        return pending.future

    # -- the writer --------------------------------------------------------------------------------
    def _flush(self) -> None:
        if self.before_write is not None:
            self.before_write()  # may wait: what arrives meanwhile joins this group
        with self._lock:
            group, self._pending = self._pending, []
            self._scheduled = False
        if not group:
            return
        started = time.perf_counter()
        try:
            touched, committed_at, dated, relinked = self._write(group)
        except BaseException as exc:
            for p in group:
                p.future.set_exception(exc)
            return
        self.write_seconds += time.perf_counter() - started
        for p in group:
            p.result.committed_at = committed_at
            p.future.set_result(p.result)
        if self.on_commit is not None and touched:
            self.on_commit(touched, committed_at, dated, relinked)
        self._maybe_checkpoint()

    def _maybe_checkpoint(self) -> None:
        """Fold the write-ahead log into the database file when the writer has a moment, instead of
        letting DuckDB do it inside whichever commit crosses its (small) threshold: a checkpoint stalls
        every commit, including the live engine's, so fewer and larger ones keep acknowledgements and
        live latency smooth, and cost less CPU per event. With requests waiting it only runs once the
        log is four times the target (DuckDB's own threshold, raised by the service, is the backstop)."""
        if self.wal_path is None or self.checkpoint_bytes <= 0:
            return
        try:
            size = os.stat(self.wal_path).st_size
        except OSError:
            return
        if size < self.checkpoint_bytes or (self._pending and size < 4 * self.checkpoint_bytes):
            return
        if self.store.checkpoint():  # False: another transaction in the way, DuckDB checkpoints later
            self.checkpoints += 1

    def _write(
        self, group: list[_Pending]
    ) -> tuple[set[str], datetime, tuple[list[str | None], list[datetime]], set[str]]:
        columns: dict[str, list[Any]] = {c: [] for c in EVENT_COLUMNS}
        new_ids: set[str] = set()
        links: list[tuple[str, str, datetime]] = []
        offered: set[tuple[str, str]] = set()
        customers: list[dict[str, Any]] = []
        for p in group:
            rows = p.rows
            p.result.accepted = len(rows.message_ids)
            for anon, cust, at in rows.links:
                # The winning pair is stored already; a pair repeated in the group keeps its first time.
                if self.links.get(anon) != cust and (anon, cust) not in offered:
                    offered.add((anon, cust))
                    links.append((anon, cust, at))
            customers.extend(rows.customers)
            ev = rows.events
            ids = ev["event_id"]
            unique = set(ids)
            if len(unique) == len(ids) and self.seen.isdisjoint(unique) and new_ids.isdisjoint(unique):
                # The usual case, no retries: whole columns at C speed.
                new_ids |= unique
                p.result.stored += len(ids)
                for c in EVENT_COLUMNS:
                    columns[c].extend(ev[c])
                continue
            keep = []
            for i, event_id in enumerate(ids):
                if event_id in self.seen or event_id in new_ids:
                    p.result.duplicates += 1
                    continue
                new_ids.add(event_id)
                keep.append(i)
            p.result.stored += len(keep)
            for c in EVENT_COLUMNS:
                values = ev[c]
                columns[c].extend([values[i] for i in keep])

        store = self.store
        with store.transaction():
            # Links first: which pairs are new decides who the anonymous events below belong to.
            inserted = store.insert_new_links(links) if links else []
            won = self.links.challenged_by(inserted)
            base = self.links.customer_of
            previous = {a: base[a] for a in won if a in base}
            moved = {a: c for a, (c, _) in won.items() if previous.get(a) != c}
            # Events are stored as sent; traits stitch anonymous events to customers through identities,
            # so an anonymous event touches the customer its anonymous id is (or is now) linked to.
            cust_col, anon_col = columns["customer_id"], columns["anonymous_id"]
            touched = {c for c in cust_col if c is not None}
            if any(c is None for c in cust_col):
                # Who each new event belongs to (its customer, or its anonymous id's winning link's).
                owners = [
                    c if c is not None else (moved[a] if a in moved else base.get(a))
                    for c, a in zip(cust_col, anon_col, strict=True)
                ]
                touched.update(o for o in owners if o is not None)
            else:
                owners = cust_col
            # A customer whose link now wins gains the anonymous past; the one it displaced loses it.
            relinked = set(moved.values()) | {previous[a] for a in moved if a in previous}
            touched |= relinked
            touched.update(c for _, c, _ in links)  # every userId named by a link gets a customers row
            touched.update(r["customer_id"] for r in customers)
            # A customer first seen here gets a customers row (source api): segments are evaluated over
            # the customers table, as in the Segment spec every userId is a profile. It exists from its
            # earliest event or link in the group (else from now), so a run as of an earlier time does not
            # see it yet, as the live engine did not.
            unknown = sorted(touched - self.customers)
            if new_ids:
                store.insert_events(pa.table(columns, schema=_EVENTS_SCHEMA))
            if unknown:
                # An anonymous event makes its customer known only once its link is: at the later of
                # the two times (before the link, the event belonged to nobody).
                known_at = [
                    t
                    if c is not None or o is None
                    else _later(t, won[a][1] if a in won else self.links.linked_at(a))
                    for c, a, o, t in zip(cust_col, anon_col, owners, columns["occurred_at"], strict=True)
                ]
                store.insert_customer_stubs(unknown, _first_seen(unknown, owners, known_at, links))
            if customers:
                self._upsert_customers(customers)
        committed_at = _now()
        dated = (owners, columns["occurred_at"])
        self.seen.update(new_ids)
        self.links.update(won)
        self.customers.update(unknown)
        for p in group:  # identify/alias ids count as seen too, so their retries are recognised
            self.seen.update(p.rows.message_ids)
        if self.recent is not None and relinked:
            self.recent.forget(relinked)
        if self.recent is not None and new_ids:
            self._remember(columns, owners)
        if self.profiles is not None:
            if inserted:
                self.profiles.linked((a, c) for a, c, _ in inserted)
            changed = sorted(set(unknown) | {r["customer_id"] for r in customers})
            if changed:
                self.profiles.customers_changed(self.store.customer_rows(changed))
        self.commits += 1
        return touched, committed_at, dated, relinked

    def _remember(self, columns: dict[str, list[Any]], owners: list[str | None]) -> None:
        """Hand the committed events of customers whose recent events are cached to that cache."""
        assert self.recent is not None  # only called when there is a cache
        wanted = self.recent.wanted({o for o in owners if o is not None})
        if not wanted:
            return
        by_customer: dict[str, list[dict[str, Any]]] = {}
        names = PROFILE_EVENT_COLUMNS
        for values, owner in zip(zip(*(columns[c] for c in names), strict=True), owners, strict=True):
            if owner is not None and owner in wanted:
                by_customer.setdefault(owner, []).append(dict(zip(names, values, strict=True)))
        self.recent.append(by_customer)

    def _upsert_customers(self, updates: list[dict[str, Any]]) -> None:
        """Apply identify traits in order: each call sets only the columns it names; unknown traits merge
        into the stored ``attributes`` JSON."""
        merged: dict[str, dict[str, Any]] = {}
        for update in updates:
            row = merged.setdefault(update["customer_id"], {})
            for key, value in update.items():
                if key == "attributes":
                    row.setdefault("attributes", {}).update(value)
                else:
                    row[key] = value
        with_attrs = [cid for cid, row in merged.items() if "attributes" in row]
        if with_attrs:
            stored = self.store.stored_attributes(with_attrs)
            for cid in with_attrs:
                try:
                    before = json.loads(stored.get(cid) or "{}")
                except ValueError:
                    before = {}
                if not isinstance(before, dict):
                    before = {}
                before.update(merged[cid]["attributes"])
                merged[cid]["attributes"] = json.dumps(before, default=str, sort_keys=True)
        # One statement per distinct set of columns, so a call never blanks a column it did not name.
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in merged.values():
            by_columns.setdefault(tuple(sorted(row)), []).append(row)
        for cols, rows in by_columns.items():
            self.store.update_customers(cols, rows)


def _first_seen(
    ids: list[str],
    owners: Sequence[str | None],
    times: Sequence[datetime | None],
    links: Sequence[tuple[str, str, datetime | None]],
) -> list[datetime]:
    """When each new customer was first seen: its earliest event or identity link of the group, or now."""
    first: dict[str, datetime] = {}
    for owner, at in zip(owners, times, strict=True):
        if owner is not None and at is not None and (owner not in first or at < first[owner]):
            first[owner] = at
    for _, customer, at in links:
        if at is not None and (customer not in first or at < first[customer]):
            first[customer] = at
    now = _now()
    return [first.get(c, now) for c in ids]


def _later(a: datetime, b: datetime | None) -> datetime:
    return a if b is None or b <= a else b
