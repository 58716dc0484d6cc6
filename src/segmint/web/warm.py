"""Keep the dashboard's first page views fast: import the heavy libraries and compute the main pages'
data in the background when the service starts, and again after the data changes.

A cold page would otherwise pay for importing scikit-learn and SciPy (the clusters page), pandas (the
first Ibis result) and parsing the segment definitions, seconds on a busy machine, before running a
single query. The warmer runs on its own read cursor, one page at a time, and fills the same
:class:`~segmint.web.reads.AggregateCache` the pages read, under the same keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from segmint.batch import pages as queries
from segmint.models import pages as model_pages
from segmint.web.reads import data_version, read_view, run_version

__all__ = ["HEAVY_MODULES", "Warmer", "wrap_lifespan"]

log = logging.getLogger(__name__)

# Imported once at start so no page view pays for them.
HEAVY_MODULES = (
    "pandas",
    "segmint.models.clusters",
    "segmint.models.predict",
    "segmint.core.rules.explain",
    "segmint.web.charts",
    "segmint.batch.builder",
)


class Warmer:
    """Warms the cache at start and whenever the data version has changed and then stayed still for
    ``quiet_s`` (so a stream of live changes does not recompute pages continuously), at most once every
    ``min_interval_s``."""

    def __init__(self, app: FastAPI, quiet_s: float = 2.0, min_interval_s: float = 30.0) -> None:
        self.app = app
        self.quiet_s = quiet_s
        self.min_interval_s = min_interval_s
        self.warmed: tuple | None = None
        self.rounds = 0
        self.seconds: dict[tuple, float] = {}
        self.ready = asyncio.Event()

    def _version(self) -> tuple:
        return data_version(self.app.state.service, self.app.state.web.epoch)

    async def run(self) -> None:
        await asyncio.to_thread(_import_heavy)
        last = 0.0
        while True:
            version = self._version()
            if version != self.warmed and time.monotonic() - last >= self.min_interval_s:
                await asyncio.sleep(0 if self.warmed is None else self.quiet_s)
                if self._version() == version:
                    await self.warm_once()
                    last = time.monotonic()
            self.ready.set()
            await asyncio.sleep(self.quiet_s)

    async def warm_once(self) -> None:
        """Compute the data behind the pages a visitor opens first, under the keys the routes use
        (failures are left for the page itself to show)."""
        service = self.app.state.service
        web = self.app.state.web
        version = self._version()

        async def get(key: tuple, fn: Callable[..., Any], *args: Any, per_run: bool = False) -> Any:
            def job(_cursor) -> Any:
                t0 = time.perf_counter()
                view = read_view(service, version)
                at = run_version(view, web.epoch) if per_run else version
                value = web.cache.get(at, key, lambda: fn(view, *args))
                self.seconds[key] = time.perf_counter() - t0
                return value

            try:
                return await service.read(job)
            except Exception:
                log.debug("warming %s failed", key, exc_info=True)
                return None

        await get(("defs",), queries.definitions)
        await get(("run_times",), queries.run_times, per_run=True)
        kpis = await get(("kpis", None), queries.all_kpis, None)
        history = await get(("history",), queries.size_history, per_run=True)
        await get(("overview", None), queries.overview, None)
        if kpis is not None and history is not None:
            await get(("segments",), queries.segment_list, None, True, kpis, history)
        await get(("clusters", ""), model_pages.cluster_page, None)
        await get(("predictions",), model_pages.prediction_page)
        self.warmed = version
        self.rounds += 1


def _import_heavy() -> None:
    for name in HEAVY_MODULES:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def wrap_lifespan(app: FastAPI) -> None:
    """Run a :class:`Warmer` for as long as the app runs (after the service has started)."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI):
        async with inner(a) as state:
            warmer = a.state.web.warmer = Warmer(a)
            task = asyncio.create_task(warmer.run(), name="segmint-web-warm")
            try:
                yield state
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    app.router.lifespan_context = lifespan
