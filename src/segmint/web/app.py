"""``install(app)``: add the dashboard (pages, static files, login) to the service's FastAPI app.

Usage: ``create_app(workspace, configure=install)``. Pages are server-rendered with Jinja2 (autoescaped),
charts are drawn by the Plotly JavaScript of the installed ``plotly`` package, served locally, so the
dashboard works with no internet.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from segmint.web.reads import AggregateCache
from segmint.web.session import LoginRequired, Sessions

__all__ = ["HERE", "WebState", "install", "plotly_js_path", "templates"]

HERE = Path(__file__).parent


def plotly_js_path() -> Path:
    """The minified Plotly bundle shipped inside the ``plotly`` Python package."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: reinstall the plotly package")
    return path


def templates() -> Jinja2Templates:
    t = Jinja2Templates(directory=str(HERE / "templates"))
    t.env.autoescape = True
    t.env.policies["json.dumps_kwargs"] = {"default": str, "sort_keys": False}
    from segmint.web import filters

    filters.register(t.env)
    return t


@dataclass
class WebState:
    templates: Jinja2Templates
    sessions: Sessions = field(default_factory=Sessions)
    cache: AggregateCache = field(default_factory=AggregateCache)
    epoch: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    warmer: Any = None  # the running segmint.web.warm.Warmer, set when the app starts

    def bump(self) -> None:
        """The dashboard wrote something (a saved segment): cached aggregates are stale."""
        with self.lock:
            self.epoch += 1


def install(app: FastAPI, warm: bool = True) -> None:
    """Add the dashboard routes, static files and login to ``app``; with ``warm``, a background task
    imports the heavy libraries and computes the main pages when the service starts and after the data
    changes (see :mod:`segmint.web.warm`)."""
    from segmint.web import routes
    from segmint.web import warm as warming

    app.state.web = WebState(templates=templates())
    if warm:
        warming.wrap_lifespan(app)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.get("/static-plotly/plotly.min.js", include_in_schema=False)
    async def plotly_js() -> FileResponse:
        return FileResponse(
            plotly_js_path(), media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
        )

    @app.exception_handler(LoginRequired)
    async def login_required(_request: Request, exc: LoginRequired):
        if exc.json:
            return JSONResponse(
                status_code=401, content={"error": "LoginRequired", "message": "sign in first"}
            )
        return RedirectResponse(f"/login?next={quote(exc.next_url, safe='')}", status_code=303)

    app.include_router(routes.router)
