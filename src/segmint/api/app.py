"""The FastAPI application: ``create_app(workspace_dir)``.

The app is a set of routers over one :class:`~segmint.live.service.Service`. Other parts (the web
dashboard) add their pages with ``extra_routers``/``configure`` or later with ``app.include_router``;
``app.state.service`` gives them the workspace and per-thread read views.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from segmint.api.routers import changes, ingest, keys, profiles, segments, webhooks
from segmint.errors import SegmintError
from segmint.live.service import Service, ServiceSettings

__all__ = ["create_app"]


def create_app(
    workspace_dir: str | Path,
    *,
    settings: ServiceSettings | None = None,
    evaluator_factory: Callable | None = None,
    extra_routers: Iterable[APIRouter] = (),
    configure: Callable[[FastAPI], None] | None = None,
) -> FastAPI:
    """Build the app for a workspace. The workspace is opened when the app starts (lifespan), so
    building an app is cheap and a second running service fails at start with a clear message."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        service = Service(workspace_dir, evaluator_factory=evaluator_factory, settings=settings)
        app.state.service = service
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(
        title="Segmint",
        version="1",
        description="Event ingest (Segment tracking spec), live segment memberships, change log and webhooks.",
        lifespan=lifespan,
    )
    for router in (
        ingest.router,
        changes.router,
        webhooks.router,
        profiles.router,
        segments.router,
        keys.router,
    ):
        app.include_router(router)
    for router in extra_routers:
        app.include_router(router)
    _errors(app)
    _read_only_guard(app)

    @app.get("/health", tags=["service"])
    async def health(request: Request) -> dict:
        service: Service = request.app.state.service
        return {
            "status": "ok",
            "read_only": service.read_only,
            "events_seen": len(service.ingestor.seen),
            "commits": service.ingestor.commits,
            "commit_seconds": round(service.ingestor.write_seconds, 3),
            "checkpoints": service.ingestor.checkpoints,
            "back_pressure_seconds": round(service.throttled_s, 3),
            "threads": {t.native_id: t.name for t in threading.enumerate()},
            "gc_pauses": {
                f"gen{g}": {"count": n, "seconds": round(total, 3), "longest": round(longest, 3)}
                for g, (n, total, longest) in sorted(service.gc_pauses.items())
            },
            "next_change_seq": service.live.next_seq,
            "webhooks_pending": service.deliveries.pending(),
            "live": {k: round(v, 3) if isinstance(v, float) else v for k, v in service.live.stats.items()},
        }

    if configure is not None:
        configure(app)
    return app


def _errors(app: FastAPI) -> None:
    @app.exception_handler(SegmintError)
    async def segmint_error(_request: Request, exc: SegmintError) -> JSONResponse:
        status = 404 if "NotFound" in type(exc).__name__ else 400
        return JSONResponse(status_code=status, content=exc.to_dict())

    @app.exception_handler(ValidationError)
    async def validation_error(_request: Request, exc: ValidationError) -> JSONResponse:
        return JSONResponse(status_code=400, content=_validation(exc.errors(include_url=False)))

    @app.exception_handler(RequestValidationError)
    async def request_validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=400, content=_validation(exc.errors()))


def _validation(errors) -> dict:
    problems = []
    for err in errors:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",))
        problems.append({"at": where, "message": err.get("msg", "invalid")})
    text = "; ".join(f"{p['at']}: {p['message']}" if p["at"] else p["message"] for p in problems[:5])
    return {"error": "ValidationError", "message": f"invalid request: {text}", "detail": problems}


# Requests that do not write: reads, and signing in or out of the dashboard (a session lives in memory).
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SAFE_PATHS = frozenset({"/login", "/logout", "/ui/rule"})


def _read_only_guard(app: FastAPI) -> None:
    """On a read-only replica every write (ingest, saving or deleting segments, keys, webhooks) is
    refused with 403 and a message saying where writes go, before any handler runs."""
    app.add_middleware(_RefuseWrites)


_READ_ONLY = JSONResponse(
    status_code=403,
    content={
        "error": "ReadOnly",
        "message": "this service is a read-only replica (segmint serve --read-only): it does not ingest or "
        "change anything; send writes to the primary service",
    },
)


class _RefuseWrites:
    """A plain ASGI middleware, not Starlette's ``BaseHTTPMiddleware`` (``@app.middleware``): that one
    wraps every request and response in tasks and streams and cost the primary ~1 ms of CPU per
    ``/v1/track`` call (bench_api) although it only ever answers on a replica."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] not in _SAFE_METHODS
            and scope["path"] not in _SAFE_PATHS
        ):
            service = getattr(scope["app"].state, "service", None)
            if service is not None and service.read_only:
                await _READ_ONLY(scope, receive, send)
                return
        await self.app(scope, receive, send)
