"""Webhook deliveries while the service runs: the deliverer on an event loop of its own thread, and its
results written back to the outbox on the live thread.

Deliveries run apart from the main loop, so a POST to a receiver is not queued behind the request
handling (JSON parsing) that keeps the main loop busy under ingest load. Results are buffered and
flushed to the outbox every 200 ms (a delivery's latest result wins), on the thread that owns the
outbox's connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from segmint.adapters import outbox_store
from segmint.adapters.webhooks import Deliverer, Delivery, DeliveryResult, RetryPolicy

__all__ = ["DeliveryLoop"]


class DeliveryLoop:
    def __init__(self, live_ws: Any, retry: RetryPolicy, concurrency: int) -> None:
        self.live_ws = live_ws
        self.retry = retry
        self.concurrency = concurrency
        self.deliverer: Deliverer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._thread: threading.Thread | None = None
        self._results: list[DeliveryResult] = []
        self._lock = threading.Lock()

    # -- the deliverer's thread ---------------------------------------------------------------------------
    def start(self) -> None:
        ready = threading.Event()

        async def main() -> None:
            self.deliverer = Deliverer(self._on_result, self.retry, concurrency=self.concurrency)
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.current_task()
            ready.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self.deliverer.run()

        def run() -> None:
            try:
                import uvloop

                uvloop.run(main())
            except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
                asyncio.run(main())

        self._thread = threading.Thread(target=run, name="segmint-deliverer", daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError("the webhook deliverer did not start")

    def stop(self) -> None:
        if self._loop is not None and self._task is not None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                self._loop.call_soon_threadsafe(self._task.cancel)
        if self._thread is not None:
            self._thread.join(timeout=30)

    def deliver(self, delivery: Delivery) -> None:
        """Schedule a delivery (from any thread)."""
        if self._loop is None or self.deliverer is None:
            raise RuntimeError("the webhook deliverer is not running")
        self._loop.call_soon_threadsafe(self.deliverer.add, delivery)

    def pending(self) -> int:
        return self.deliverer.pending() if self.deliverer is not None else 0

    # -- the outbox (live thread) -------------------------------------------------------------------------
    def outstanding(self) -> list[Delivery]:
        """Deliveries stored as pending or failed (after a restart: they are tried again)."""
        rows = outbox_store.outstanding_deliveries(self.live_ws)
        return [
            Delivery(d, url, secret, payload.encode(), attempts or 0, _epoch(next_at))
            for d, url, secret, payload, attempts, next_at in rows
        ]

    def _on_result(self, result: DeliveryResult) -> None:
        with self._lock:
            self._results.append(result)

    async def results_loop(self, on_live: Callable[[Callable[[], None]], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(0.2)
            if self._results:
                await on_live(self.flush)

    def flush(self) -> None:
        with self._lock:
            results, self._results = self._results, []
        if not results:
            return
        outbox_store.record_delivery_results(
            self.live_ws,
            {
                "delivery_id": [r.delivery_id for r in results],
                "status": [r.status for r in results],
                "attempts": [r.attempts for r in results],
                "next_attempt_at": [_naive(r.next_attempt_at) for r in results],
                "last_status": [r.last_status for r in results],
                "last_error": [r.last_error for r in results],
                "finished_at": [_naive(r.finished_at) for r in results],
            },
        )


def _epoch(value: datetime | None) -> float:
    return value.replace(tzinfo=UTC).timestamp() if value is not None else 0.0


def _naive(ts: float | None) -> datetime | None:
    if ts is None:
        return None
    return datetime(1970, 1, 1) + timedelta(seconds=ts)
