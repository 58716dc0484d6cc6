"""The service's middleware stays plain ASGI: Starlette's ``BaseHTTPMiddleware`` (what
``@app.middleware("http")`` installs) wraps every request in tasks and streams, and the read-only guard
written that way cost the primary ~1 ms of CPU per ``/v1/track`` call (bench_api: 3.9 ms per event
against 2.1 ms without it)."""

from __future__ import annotations

from starlette.middleware.base import BaseHTTPMiddleware

from segmint.api.app import create_app


def test_no_middleware_is_a_base_http_middleware(tmp_path):
    app = create_app(tmp_path / "shop")
    assert app.user_middleware, "the read-only guard is installed"
    assert not [m for m in app.user_middleware if issubclass(m.cls, BaseHTTPMiddleware)]
