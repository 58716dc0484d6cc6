"""Read access for the dashboard while the service is the single writer.

Pages read through the service's per-thread read views (:class:`~segmint.adapters.read_view.ReadView`:
a read-only workspace on a cursor of the service's database, seeing committed data), so the Ibis-based
use cases (KPIs, history, overlap, clusters, predictions) run unchanged without a second database
connection. Expensive aggregates are cached per (data version, key): the version changes when the
service commits, the live engine emits changes or a segment is saved.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from segmint.adapters.read_view import ReadView

__all__ = ["AggregateCache", "ReadView", "data_version", "read_view", "run_version"]

T = TypeVar("T")


def read_view(service: Any, version: tuple | None = None) -> ReadView:
    """This thread's read view of the service's workspace (created once per thread and service),
    refreshed to ``version`` when given."""
    view = service.read_view()
    return view.refresh(version) if version is not None else view


def data_version(service: Any, epoch: int) -> tuple:
    """What the cached aggregates depend on: the service's data version (commits of ingested data,
    emitted membership changes, saved definitions) and the dashboard's own writes (``epoch``)."""
    return (*service.data_version(), epoch)


def run_version(view: ReadView, epoch: int) -> tuple:
    """What aggregates *at a run time* depend on (KPIs at a run, sizes over runs): the recorded runs
    and the dashboard's own writes. Live changes and new events move the data version on all the time
    but do not change what was true at an earlier run, so these survive them. (An event arriving late,
    dated before the run, shows in these aggregates after the next run.)"""

    def fingerprint() -> tuple:
        if not view.store.exists("segment_runs"):
            return (0, None)
        runs = view.table("segment_runs")
        row = runs.aggregate(n=runs.count(), at=runs.evaluated_at.max()).to_pyarrow().to_pylist()[0]
        return (row["n"], row["at"])

    return ("runs", epoch, view.memo("run_fingerprint", fingerprint))


class AggregateCache:
    """A small LRU of computed page data keyed by (version, key); thread-safe, computes outside the lock."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def clear(self, which: Callable[[tuple, tuple], bool] | None = None) -> None:
        """Drop every entry, or those for which ``which(version, key)`` holds."""
        with self._lock:
            if which is None:
                self._items.clear()
                return
            for full in [f for f in self._items if which(*f)]:
                del self._items[full]

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
