"""Read access for the dashboard while the service is the single writer.

Pages read through the service's per-thread DuckDB cursors (MVCC snapshots of committed data), wrapped in
a read-only :class:`ReadView` so the Ibis-based use cases (KPIs, history, overlap, clusters, predictions)
run unchanged without a second database connection. Expensive aggregates are cached per (data version,
key): the version changes when the service commits, the live engine emits changes or a segment is saved.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import ibis

from segmint.adapters.store import TableStore
from segmint.usecases.workspace import Workspace

__all__ = ["AggregateCache", "ReadView", "data_version", "read_view"]

T = TypeVar("T")
_local = threading.local()


class ReadView(Workspace):
    """A workspace bound to a read cursor: same tables and settings, never writes, never closes the
    shared database."""

    def __init__(self, ws: Workspace, cursor: Any) -> None:
        self.root = ws.root
        self.config = ws.config
        self.engine = ws.engine
        self.con = ibis.duckdb.from_connection(cursor)
        self.store = TableStore(self.con)

    def close(self) -> None:
        """The cursor belongs to the service; nothing to close."""


def read_view(service: Any) -> ReadView:
    """This thread's read view of the service's workspace (created once per thread and service)."""
    views = getattr(_local, "views", None)
    if views is None:
        views = _local.views = {}
    view = views.get(id(service))
    if view is None:
        view = views[id(service)] = ReadView(service.ws, service.cursor())
    return view


def data_version(service: Any, epoch: int) -> tuple:
    """What the cached aggregates depend on: commits of ingested data, emitted membership changes, and
    the dashboard's own writes (``epoch``, bumped when a segment is saved)."""
    return (service.ingestor.commits, service.live.next_seq, epoch)


class AggregateCache:
    """A small LRU of computed page data keyed by (version, key); thread-safe, computes outside the lock."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def get(self, version: tuple, key: tuple, compute: Callable[[], T]) -> T:
        full = (version, key)
        with self._lock:
            if full in self._items:
                self._items.move_to_end(full)
                self.hits += 1
                return self._items[full]
        value = compute()
        with self._lock:
            self.misses += 1
            self._items[full] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value
