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
from urllib.parse import urlsplit

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
        # Plain-HTTP receivers get a lean keep-alive client (a tenth of httpx's CPU per POST, which
        # matters at hundreds of deliveries a second); HTTPS, and any injected transport, use httpx.
        self._lean = KeepAlivePool() if transport is None else None

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
            if self._lean is not None:
                self._lean.close()

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
            if self._lean is not None and delivery.url.startswith("http://"):
                status = await asyncio.wait_for(
                    self._lean.post(delivery.url, delivery.payload, headers), self.policy.timeout_s
                )
            else:
                response = await self._client.post(delivery.url, content=delivery.payload, headers=headers)
                status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except (httpx.HTTPError, OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
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


class KeepAlivePool:
    """Minimal HTTP/1.1 POST over kept-alive asyncio connections, for ``http://`` URLs.

    It sends one request per connection at a time, reads the status line and headers, and drains the
    body (Content-Length, chunked, or until close) so the connection can be reused. A reused
    connection the server has meanwhile closed is retried once on a fresh one (at-least-once delivery
    allows the rare duplicate)."""

    def __init__(self, max_idle_per_host: int = 32) -> None:
        self._idle: dict[tuple[str, int], list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = {}
        self.max_idle_per_host = max_idle_per_host

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST ``body``; the response status (the body is read and dropped)."""
        return await self.request("POST", url, body, headers)

    async def request(
        self, method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> int:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or 80
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        head = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(body)}"]
        headers = headers or {}
        head += [f"{k}: {v}" for k, v in headers.items()]
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        key = (host, port)
        idle = self._idle.get(key)
        if idle:
            reader, writer = idle.pop()
            try:
                return await self._exchange(key, reader, writer, request)
            except (ConnectionError, asyncio.IncompleteReadError, _Closed):
                pass  # the server closed the idle connection: once more on a fresh one
        reader, writer = await asyncio.open_connection(host, port)
        return await self._exchange(key, reader, writer, request)

    async def _exchange(self, key, reader, writer, request: bytes) -> int:
        try:
            writer.write(request)
            await writer.drain()
            line = await reader.readline()
            if not line:
                raise _Closed("connection closed before the response")
            version, status_text = line.split(b" ", 2)[:2]
            status = int(status_text)
            length, chunked, close = None, False, version == b"HTTP/1.0"
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.partition(b":")
                name, value = name.strip().lower(), value.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding" and b"chunked" in value:
                    chunked = True
                elif name == b"connection":
                    close = value == b"close" or (close and value != b"keep-alive")
            if chunked:
                while True:
                    size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                    await reader.readexactly(size + 2)
                    if size == 0:
                        break
            elif length is not None:
                await reader.readexactly(length)
            else:
                await reader.read()
                close = True
        except BaseException:
            writer.close()
            raise
        if close:
            writer.close()
        else:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.max_idle_per_host:
                idle.append((reader, writer))
            else:
                writer.close()
        return status

    def close(self) -> None:
        for conns in self._idle.values():
            for _, writer in conns:
                writer.close()
        self._idle.clear()


class _Closed(ConnectionError):
    pass
