"""The running service: one workspace, one database thread, and the loops around it.

Threads and loops:

* the *writer*: a single thread that owns the DuckDB connection for ingest writes (group-committed
  events, identities and customers) and keys. One writer is what makes the event-id set authoritative
  and the transactions simple;
* the *live* thread owns a second connection (a cursor on the same database) for evaluations, changes,
  memberships, history, the outbox and webhooks; it is what makes the change sequence authoritative;
* *readers*: request handlers read through per-thread read views (a cursor each: MVCC snapshots of
  committed data), so a profile lookup never waits behind a commit;
* the live clock runs on a thread of its own, the webhook deliverer on its own event loop, and the
  change-stream fan-out on the main event loop.

The service runs on DuckDB only (it relies on concurrent transactions on one database, Arrow
registration and write-ahead-log control); it refuses any other engine before starting anything. Every
statement it runs lives in the adapters (``segmint.adapters.ingest_store``, ``outbox_store``,
``profile_reads``, ``duckdb_handle``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from segmint.access.keys import ApiKey, KeyRing, create_key, list_keys, revoke_key
from segmint.adapters.duckdb_handle import (
    cursor_workspace,
    duckdb_connection,
    refuse_other_engines,
    set_checkpoint_threshold,
    table_exists,
)
from segmint.adapters.read_view import ReadView
from segmint.adapters.webhooks import Delivery, RetryPolicy
from segmint.adapters.workspace import Workspace, find_root
from segmint.live import subscriptions
from segmint.live.delivery import DeliveryLoop
from segmint.live.engine import Change, LiveEngine, MembershipEvaluator, OutboxItem
from segmint.live.ingest import Ingestor
from segmint.live.profile_store import ProfileStore
from segmint.live.recent_events import RecentEvents

__all__ = ["Service", "ServiceSettings"]

T = TypeVar("T")
logger = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class ServiceSettings:
    max_body_bytes: int = 1_000_000
    sweep_interval_s: float = 3600.0
    sweep_on_start: bool = True
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    webhook_concurrency: int = 32
    stream_keepalive_s: float = 15.0
    # Event-driven evaluations start at most this often; each covers every customer touched meanwhile.
    live_interval_s: float = 0.1
    # Write-ahead log size at which the writer checkpoints (0: DuckDB's default, 16 MB, in any commit).
    checkpoint_mb: int = 64
    # Back-pressure: commits wait while live evaluation lags more than this (0: never wait) ...
    max_live_lag_s: float = 0.2
    # ... but at most this long per commit.
    max_back_pressure_s: float = 0.5
    # A reporting replica: the workspace is opened read-only, nothing is ingested, evaluated, delivered
    # or saved; reads (API, dashboard, stream of what is stored) work as on the primary.
    read_only: bool = False


class Service:
    def __init__(
        self,
        workspace_dir: str | Path,
        evaluator_factory: Callable[[Workspace], MembershipEvaluator] | None = None,
        settings: ServiceSettings | None = None,
    ) -> None:
        self.settings = settings or ServiceSettings()
        # DuckDB only: refused from the settings before connecting (a Spark workspace would start a JVM
        # first), and from the connection itself for an engine given some other way.
        refuse_other_engines(find_root(workspace_dir))
        # Raises a clear error if another process holds the workspace.
        self.ws = Workspace.open(workspace_dir, read_only=self.settings.read_only)
        try:
            duckdb_connection(self.ws)
        except BaseException:
            self.ws.close()
            raise
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="segmint-writer")
        # Live evaluation has its own thread and connection (a cursor on the same database): DuckDB runs
        # both transactions concurrently (they write different tables), so acknowledgements never wait
        # behind an evaluation.
        self.live_exec = ThreadPoolExecutor(max_workers=1, thread_name_prefix="segmint-live")
        self.live_ws = cursor_workspace(self.ws)
        if evaluator_factory is None:
            from segmint.live.evaluator import RuleEvaluator

            evaluator_factory = RuleEvaluator
        self.evaluator = evaluator_factory(self.live_ws)
        self.live = LiveEngine(self.live_ws, self.evaluator)
        self.recent = RecentEvents()
        self.profiles = ProfileStore()
        self.ingestor = Ingestor(
            self.ws,
            self.writer,
            on_commit=self._on_commit,
            recent=self.recent,
            profiles=self.profiles,
            before_write=self._back_pressure,
        )
        self.keys = KeyRing([])
        self._local = threading.local()
        self._tables_seen: dict[str, tuple[bool, float]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._live_wake = threading.Event()
        self._stopping = threading.Event()
        self._live_thread: threading.Thread | None = None
        self.deliveries = DeliveryLoop(self.live_ws, self.settings.retry, self.settings.webhook_concurrency)
        self.throttled_s = 0.0
        self.gc_pauses: dict[int, list] = {}  # generation -> [collections, seconds, longest]
        self._gc_started: float | None = None  # time the writer waited for live evaluation (back-pressure)
        self._tasks: list[asyncio.Task] = []
        self._subscribers: set[asyncio.Queue] = set()
        self.started_at = utcnow()
        self.saves = 0

    # -- lifecycle ---------------------------------------------------------------------------------
    @property
    def read_only(self) -> bool:
        return self.settings.read_only

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.read_only:  # a replica only reads: no ingest, live evaluation, deliveries or warm-up
            await self.on_writer(self._load_read_only)
            await self.on_live(self.live.load)
            await self.on_live(self.profiles.load_memberships, self.live_ws)
            return
        await self.on_writer(self._load)
        await self.on_live(self.live.load)
        await self.on_live(self.profiles.load_memberships, self.live_ws)
        self.live.listeners.append(lambda changes, _outbox: self.profiles.apply(changes))
        self.live.listeners.append(self._on_changes)
        self.deliveries.start()
        for delivery in await self.on_live(self.deliveries.outstanding):
            self.deliver(delivery)
        if self.settings.sweep_on_start:
            await self._sweep(utcnow())
        # What was loaded (event ids, recent events, memberships) lives as long as the service: keep it
        # out of the cyclic collector's full passes, which otherwise pause every thread for hundreds of
        # milliseconds as the heap grows; gc_pauses in /health shows what is left.
        gc.freeze()
        gc.callbacks.append(self._gc_clock)
        self._live_thread = threading.Thread(target=self._live_main, name="segmint-live-clock", daemon=True)
        self._live_thread.start()
        self._tasks = [
            asyncio.create_task(self.deliveries.results_loop(self.on_live), name="segmint-outbox"),
            asyncio.create_task(self._warm_loop(), name="segmint-warm"),
        ]

    def _gc_clock(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif self._gc_started is not None:
            pause = time.perf_counter() - self._gc_started
            self._gc_started = None
            stats = self.gc_pauses.setdefault(info.get("generation", 0), [0, 0.0, 0.0])
            stats[0] += 1
            stats[1] += pause
            stats[2] = max(stats[2], pause)

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._gc_clock)
        self._stopping.set()
        self._live_wake.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._live_thread is not None:
            await asyncio.to_thread(self._live_thread.join, 60)
        await asyncio.to_thread(self.deliveries.stop)
        with contextlib.suppress(Exception):
            await self.on_live(self.deliveries.flush)
        self.live_exec.shutdown(wait=True)
        self.writer.shutdown(wait=True)
        close = getattr(self.evaluator, "close", None)
        if close is not None:
            close()
        self.ws.close()

    def deliver(self, delivery: Delivery) -> None:
        """Schedule a delivery (from any thread)."""
        self.deliveries.deliver(delivery)

    def _load(self) -> None:
        if self.settings.checkpoint_mb > 0:
            # The writer checkpoints when the log reaches checkpoint_mb (see Ingestor); DuckDB's own
            # threshold only backs it up.
            set_checkpoint_threshold(self.ws, int(self.settings.checkpoint_mb) * 8)
            self.ingestor.checkpoint_bytes = int(self.settings.checkpoint_mb) << 20
        self.ingestor.load()
        self.ingestor.preload_recent()
        self.profiles.load_customers(self.ws)
        self.keys.replace(list_keys(self.ws.con))

    def _load_read_only(self) -> None:
        self.profiles.load_customers(self.ws)
        self.keys.replace(list_keys(self.ws.con))

    # -- threads -----------------------------------------------------------------------------------
    async def on_writer(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the database writer thread and await its result."""
        return await asyncio.wrap_future(self.writer.submit(fn, *args))

    async def on_live(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the live-evaluation thread (the owner of ``live_ws``'s connection)."""
        return await asyncio.wrap_future(self.live_exec.submit(fn, *args))

    def read_view(self) -> ReadView:
        """This thread's read view: a read-only workspace on a cursor of the database (committed data)."""
        view = getattr(self._local, "view", None)
        if view is None:
            view = self._local.view = ReadView.of(self.ws)
        return view

    def has_table(self, name: str) -> bool:
        """Whether a table exists (batch runs create ``traits`` later); checked at most every 5 s."""
        now = time.monotonic()
        cached = self._tables_seen.get(name)
        if cached is not None and (cached[0] or now - cached[1] < 5):
            return cached[0]
        found = table_exists(self.read_view(), name)
        self._tables_seen[name] = (found, now)
        return found

    async def query(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(view, *args)`` on a worker thread with that thread's :meth:`read_view` (use cases and
        adapters take the view as their workspace)."""
        return await asyncio.to_thread(lambda: fn(self.read_view().refresh(self.data_version()), *args))

    def data_version(self) -> tuple:
        """What read results depend on: ingest commits, membership changes and saved definitions. A read
        view's memos (run times, the trait catalog) last until it moves on."""
        return (self.ingestor.commits, self.live.next_seq, self.saves)

    def bump(self) -> None:
        """A definition was saved or deleted: what was read before may be stale."""
        self.saves += 1

    def cursor(self) -> Any:
        """This thread's read cursor: the raw DuckDB connection under :meth:`read_view`, for callers
        that still run their own SQL (new code reads through :meth:`query` and the adapters)."""
        return duckdb_connection(self.read_view())

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(cursor, *args)`` on a worker thread with that thread's :meth:`cursor`."""
        return await asyncio.to_thread(lambda: fn(self.cursor(), *args))

    # -- admin operations (each also refreshes what the service holds in memory) ------------------------
    async def create_key(self, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
        def work() -> tuple[ApiKey, str]:
            created = create_key(self.ws.con, name, scopes)
            self.keys.replace(list_keys(self.ws.con))
            return created

        return await self.on_writer(work)

    async def list_keys(self) -> list[ApiKey]:
        return await self.on_writer(list_keys, self.ws.con)

    async def revoke_key(self, key_id: str) -> ApiKey:
        def work() -> ApiKey:
            key = revoke_key(self.ws.con, key_id)
            self.keys.replace(list_keys(self.ws.con))
            return key

        return await self.on_writer(work)

    async def create_webhook(self, url: str, segment: str | None, kinds: list[str]) -> dict:
        """Subscribe a URL (the answer holds its signing secret); the live engine hears of it at once."""

        def work() -> dict:
            hook = subscriptions.create_webhook(self.live_ws, url, segment, kinds)
            self.live.reload_webhooks()
            return hook

        return await self.on_live(work)

    async def delete_webhook(self, webhook_id: str) -> None:
        def work() -> None:
            subscriptions.delete_webhook(self.live_ws, webhook_id)
            self.live.reload_webhooks()

        await self.on_live(work)

    async def retry_delivery(self, webhook_id: str, delivery_id: str) -> None:
        """Put a failed or dead delivery back in line and hand it to the deliverer now."""
        url, secret, payload, attempts = await self.on_live(
            subscriptions.retry_delivery, self.live_ws, webhook_id, delivery_id
        )
        self.deliver(Delivery(delivery_id, url, secret, payload, attempts, time.time()))

    # -- live ----------------------------------------------------------------------------------------
    def _on_commit(
        self,
        customers: set[str],
        _at: datetime,
        dated: tuple[list[str | None], list[datetime]],
        relinked: set[str],
    ) -> None:
        self.live.mark(customers, dated, relinked)
        self._live_wake.set()

    def _back_pressure(self) -> None:
        """Bounded staleness: when live evaluation lags more than ``max_live_lag_s`` behind the commits
        (the machine has less CPU than the load needs), the writer waits (at most
        ``max_back_pressure_s`` per commit) before its next commit, so the CPU goes to evaluation and
        memberships stay current; ingest slows instead, with larger group commits. On a machine that
        keeps up this never waits."""
        limit = self.settings.max_live_lag_s
        if limit <= 0:
            return
        deadline = time.monotonic() + self.settings.max_back_pressure_s
        while self.live.lag() > limit and time.monotonic() < deadline and not self._stopping.is_set():
            self.throttled_s += 0.005
            time.sleep(0.005)

    async def _sweep(self, at: datetime) -> None:
        prepare = getattr(self.evaluator, "prepare_sweep", None)
        if prepare is not None:  # compile off the writer thread: ingest keeps committing meanwhile
            await asyncio.to_thread(prepare, at)
        await self.on_live(self.live.sweep, at)

    def _live_main(self) -> None:
        """The live clock, on a thread of its own (not the event loop, which request handling keeps
        busy under load). A tick runs when customers were touched, at most every ``live_interval_s``
        (each covers everything touched since the last one instead of one evaluation per commit), or as
        soon as a due time arrives; a full sweep every ``sweep_interval_s``. Evaluations themselves run on
        the live thread that owns the connection."""
        last_sweep = time.monotonic()
        last_tick = 0.0
        interval = self.settings.live_interval_s
        prepare = getattr(self.evaluator, "prepare", None)
        prepare_sweep = getattr(self.evaluator, "prepare_sweep", None)
        while not self._stopping.is_set():
            try:
                now = utcnow()
                due = self.live.next_due()
                due_now = due is not None and due <= now
                dirty = self.live.has_dirty()
                since_tick = time.monotonic() - last_tick
                if due_now or (dirty and since_tick >= interval):
                    last_tick = time.monotonic()
                    if prepare is not None:
                        prepare(now)
                    self.live_exec.submit(self.live.tick, now).result()
                    continue
                if time.monotonic() - last_sweep >= self.settings.sweep_interval_s:
                    if prepare_sweep is not None:
                        prepare_sweep(now)
                    self.live_exec.submit(self.live.sweep, now).result()
                    last_sweep = time.monotonic()
                    continue
                timeout = self.settings.sweep_interval_s - (time.monotonic() - last_sweep)
                if due is not None:
                    timeout = min(timeout, max(0.0, (due - now).total_seconds()))
                if dirty:  # coalescing: later commits join this tick
                    self._stopping.wait(max(0.001, min(timeout, interval - since_tick)))
                    continue
                self._live_wake.clear()
                if self.live.has_dirty():
                    continue
                self._live_wake.wait(max(0.001, timeout))
            except Exception:  # a bad definition or a failed statement: report, back off, go on
                logger.exception("live evaluation failed")
                self._stopping.wait(1.0)

    async def _warm_loop(self) -> None:
        """Keep compiled plans ready: today's at start, tomorrow's in the last minutes of each day, so no
        tick waits for a compilation."""
        prepare = getattr(self.evaluator, "prepare", None)
        if prepare is None:
            return
        while True:
            now = utcnow()
            with contextlib.suppress(Exception):  # a bad definition surfaces in the tick itself
                await asyncio.to_thread(prepare, now)
                if now.hour == 23 and now.minute >= 50:
                    tomorrow = now.replace(hour=0, minute=0, second=1, microsecond=0) + timedelta(days=1)
                    await asyncio.to_thread(prepare, tomorrow)
            await asyncio.sleep(60)

    def _on_changes(self, changes: list[Change], outbox: list[OutboxItem]) -> None:
        """Listener on the live thread: deliveries go straight to the deliverer's loop, the change
        stream's subscribers are fed on the main loop."""
        now = time.time()
        for item in outbox:
            self.deliver(Delivery(item.delivery_id, item.url, item.secret, item.payload, 0, now))
        if self._loop is not None and self._subscribers:
            self._loop.call_soon_threadsafe(self._fan_out, changes)

    def _fan_out(self, changes: list[Change]) -> None:
        for queue in list(self._subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(changes)

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=10_000)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self._subscribers.discard(queue)
