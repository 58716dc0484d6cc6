"""Webhook delivery: HMAC-SHA256 signatures, at-least-once POSTs with exponential backoff.

Each delivery carries ``X-Segmint-Signature: t=<unix seconds>,v1=<hex>`` where ``hex`` is
HMAC-SHA256(secret, f"{t}.{body}"). Signing the timestamp with the body lets a receiver refuse replays
older than a few minutes; :func:`verify` is the receiver-side check (constant-time). ``X-Segmint-Delivery``
is the delivery id, so a receiver can drop the duplicates that at-least-once delivery allows.

:class:`Deliverer` only does HTTP and scheduling. Which deliveries exist and what happened to them is
persisted by its caller (the outbox table) through the ``on_result`` callback, so deliveries survive
restarts: on start the caller feeds back every delivery that is not yet delivered or dead.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import hmac
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

__all__ = ["Deliverer", "Delivery", "DeliveryResult", "RetryPolicy", "sign", "verify"]

SIGNATURE_HEADER = "X-Segmint-Signature"
DELIVERY_HEADER = "X-Segmint-Delivery"


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The signature header value for ``body``."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(
    secret: str, body: bytes, header: str, tolerance_s: float = 300.0, now: float | None = None
) -> bool:
    """True if ``header`` signs ``body`` with ``secret`` and its time is within ``tolerance_s``."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - t) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass(frozen=True)
class RetryPolicy:
    """Delay before attempt n+1 is ``base * 2**(n-1)`` (capped, ±20 % jitter); after ``max_attempts``
    failed attempts a delivery is dead (kept, visible, and retryable by hand)."""

    base_s: float = 1.0
    cap_s: float = 3600.0
    max_attempts: int = 12
    timeout_s: float = 10.0

    def delay(self, attempts: int) -> float:
        raw = min(self.cap_s, self.base_s * 2 ** max(0, attempts - 1))
        return raw * random.uniform(0.8, 1.2)


@dataclass
class Delivery:
    delivery_id: str
    url: str
    secret: str
    payload: bytes
    attempts: int = 0
    due: float = 0.0  # time.time() of the next attempt


@dataclass(frozen=True)
class DeliveryResult:
    delivery_id: str
    status: str  # delivered | failed (will retry) | dead
    attempts: int
    next_attempt_at: float | None
    last_status: int | None
    last_error: str | None
    finished_at: float


class Deliverer:
    """Posts deliveries concurrently and reschedules failures; runs inside the service's event loop."""

    def __init__(
        self,
        on_result: Callable[[DeliveryResult], None],
        policy: RetryPolicy | None = None,
        concurrency: int = 32,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.on_result = on_result
        self.policy = policy or RetryPolicy()
        self._heap: list[tuple[float, int, Delivery]] = []
        self._order = itertools.count()
        self._wake = asyncio.Event()
        self._sem = asyncio.Semaphore(concurrency)
        self._client = httpx.AsyncClient(
            timeout=self.policy.timeout_s,
            transport=transport,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        self._tasks: set[asyncio.Task] = set()
        self.in_flight = 0

    def add(self, delivery: Delivery) -> None:
        """Schedule a delivery (call on the event loop's thread)."""
        heapq.heappush(self._heap, (delivery.due, next(self._order), delivery))
        self._wake.set()

    def pending(self) -> int:
        return len(self._heap) + self.in_flight

    async def run(self) -> None:
        """Deliver until cancelled."""
        try:
            while True:
                now = time.time()
                while self._heap and self._heap[0][0] <= now:
                    _, _, delivery = heapq.heappop(self._heap)
                    await self._sem.acquire()
                    self.in_flight += 1
                    task = asyncio.create_task(self._attempt(delivery))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                timeout = (self._heap[0][0] - time.time()) if self._heap else None
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
        finally:
            for task in list(self._tasks):
                task.cancel()
            await self._client.aclose()

    async def _attempt(self, delivery: Delivery) -> None:
        status: int | None = None
        error: str | None = None
        try:
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(delivery.secret, delivery.payload),
                DELIVERY_HEADER: delivery.delivery_id,
                "User-Agent": "segmint-webhooks/1",
            }
            response = await self._client.post(delivery.url, content=delivery.payload, headers=headers)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
        finally:
            self.in_flight -= 1
            self._sem.release()
        delivery.attempts += 1
        now = time.time()
        if error is None:
            result = DeliveryResult(
                delivery.delivery_id, "delivered", delivery.attempts, None, status, None, now
            )
        elif delivery.attempts >= self.policy.max_attempts:
            result = DeliveryResult(delivery.delivery_id, "dead", delivery.attempts, None, status, error, now)
        else:
            delivery.due = now + self.policy.delay(delivery.attempts)
            result = DeliveryResult(
                delivery.delivery_id, "failed", delivery.attempts, delivery.due, status, error, now
            )
            self.add(delivery)
        self.on_result(result)
