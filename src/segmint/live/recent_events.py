"""Each customer's most recent events, held in memory for fast profile lookups.

A columnar engine answers "the last 20 events of one customer" by scanning the whole events column, which
at hundreds of lookups per second costs more than the machine has. The service therefore keeps, for the
customers someone looked up (least recently used first out), their latest events: the first lookup loads
them from the database, and every later commit appends to them.

A lookup that races with commits stays exact: before querying, the loader registers a buffer for the
customer that the writer also appends to; the loaded rows and the buffer are merged by event id.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

__all__ = ["PROFILE_EVENT_COLUMNS", "RecentEvents"]

PROFILE_EVENT_COLUMNS = (
    "event_id",
    "name",
    "occurred_at",
    "anonymous_id",
    "product_id",
    "category",
    "cart_id",
    "order_id",
    "campaign_id",
    "value",
    "properties",
)

Loader = Callable[[str, int], list[dict[str, Any]]]


class RecentEvents:
    def __init__(self, depth: int = 50, max_customers: int = 200_000) -> None:
        self.depth = depth
        self.max_customers = max_customers
        self._entries: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()  # newest first
        self._loading: dict[str, list[dict[str, Any]]] = {}
        self._stale: set[str] = set()  # loads that started before a forget: do not keep their result
        # Complete mode: every customer with events is in memory (preloaded at start, then kept by
        # commits), so a customer without an entry has no events and no lookup reads the database.
        self.complete = False
        self._reload: set[str] = set()  # forgotten in complete mode: read from the database next time
        self._lock = threading.Lock()

    def preload(self, by_customer: dict[str, list[dict[str, Any]]]) -> None:
        """Every customer's latest events (at start, before any commit); complete if they all fit."""
        with self._lock:
            if len(by_customer) > self.max_customers:
                return
            for cid, events in by_customer.items():
                self._entries[cid] = _newest(events, self.depth)
            self.complete = True

    def wanted(self, customers: set[str]) -> set[str]:
        """Which of these customers have cached (or loading) events."""
        with self._lock:
            if self.complete:
                return set(customers)
            return {c for c in customers if c in self._entries or c in self._loading}

    def forget(self, customers: set[str]) -> None:
        """Drop customers whose past changed (an identify linked anonymous events to them, or away)."""
        with self._lock:
            for cid in customers:
                self._entries.pop(cid, None)
                if self.complete:
                    self._reload.add(cid)
                if cid in self._loading:
                    self._loading[cid] = []
                    self._stale.add(cid)

    def append(self, by_customer: dict[str, list[dict[str, Any]]]) -> None:
        """Events just committed, grouped by the customer they belong to (writer thread)."""
        with self._lock:
            for cid, events in by_customer.items():
                buffer = self._loading.get(cid)
                if buffer is not None:
                    buffer.extend(events)
                entry = self._entries.get(cid)
                if entry is not None:
                    self._entries[cid] = _prepend(events, entry, self.depth)
                elif self.complete and cid not in self._reload:  # a customer first seen now
                    self._entries[cid] = _newest(events, self.depth)
            if self.complete and len(self._entries) > self.max_customers:
                self.complete = False

    def get(self, customer_id: str, limit: int, load: Loader) -> list[dict[str, Any]]:
        """The customer's ``limit`` latest events (``load(customer_id, n)`` reads the database on a miss
        or when more events are asked for than are kept)."""
        if limit > self.depth:
            return load(customer_id, limit)
        with self._lock:
            entry = self._entries.get(customer_id)
            if entry is not None:
                self._entries.move_to_end(customer_id, last=False)
                return entry[:limit]
            if self.complete and customer_id not in self._reload:
                return []
            buffer = self._loading.setdefault(customer_id, [])
        try:
            rows = load(customer_id, self.depth)
        except BaseException:
            with self._lock:
                self._loading.pop(customer_id, None)
            raise
        with self._lock:
            entry = _newest(rows + self._loading.pop(customer_id, buffer), self.depth)
            if customer_id in self._stale:
                self._stale.discard(customer_id)
                return entry[:limit]
            self._reload.discard(customer_id)
            self._entries[customer_id] = entry
            self._entries.move_to_end(customer_id, last=False)
            while len(self._entries) > self.max_customers:
                self._entries.popitem(last=True)
        return entry[:limit]


def _prepend(events: list[dict[str, Any]], entry: list[dict[str, Any]], depth: int) -> list[dict[str, Any]]:
    """Newly committed events merged into a cached entry (newest first). A commit brings a customer a
    few events, so each is placed by a short scan from the front rather than re-sorting the entry; an
    event already present (same time and id) is not added twice."""
    fresh = sorted(events, key=_order, reverse=True)
    if not entry or _order(fresh[-1]) > _order(entry[0]):
        return (fresh + entry)[:depth]
    if len(fresh) > 8:
        return _newest(entry + events, depth)
    out = list(entry)
    for event in fresh:
        key = _order(event)
        i = 0
        while i < len(out) and _order(out[i]) > key:
            i += 1
        if i < len(out) and _order(out[i]) == key:
            continue
        if i < depth:
            out.insert(i, event)
    return out[:depth]


def _order(event: dict[str, Any]) -> tuple:
    return (event["occurred_at"], event["event_id"])


def _newest(events: list[dict[str, Any]], depth: int) -> list[dict[str, Any]]:
    unique = {e["event_id"]: e for e in events}
    return sorted(unique.values(), key=lambda e: (e["occurred_at"], e["event_id"]), reverse=True)[:depth]
