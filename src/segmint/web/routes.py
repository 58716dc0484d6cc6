"""The dashboard's pages and its small JSON endpoints.

Handlers are thin: check the session, read page data through the use cases on a read-cursor thread
(cached per data version), turn it into Plotly figures and render a template. Saving a segment goes
through the service like the API's save, with the same ``admin`` scope.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from segmint.batch import exports, select
from segmint.batch import pages as queries
from segmint.batch.changes import latest_changes
from segmint.batch.explain import explain as explain_member
from segmint.core.segments.definition import FAMILIES
from segmint.core.timeutil import parse_as_of
from segmint.errors import SegmintError
from segmint.live import admin as live_admin
from segmint.models import pages as model_pages
from segmint.web import charts
from segmint.web.reads import data_version, read_view, run_version
from segmint.web.session import COOKIE, MAX_AGE_S, check_login, current_key, missing_scope

router = APIRouter(include_in_schema=False)

_NEXT = re.compile(r"^/[A-Za-z0-9_\-./?=&%:]*$")


# ------------------------------------------------------------------ helpers


async def _data(request: Request, key: tuple, fn, *args: Any, cache: bool = True, per_run: bool = False):
    """Run ``fn(view, *args)`` on a read thread; cached per (data version, key), or with ``per_run``
    per (recorded runs, key) for aggregates at a run time (see :func:`run_version`)."""
    service = request.app.state.service
    web = request.app.state.web

    def run(_cursor):
        version = data_version(service, web.epoch)
        view = read_view(service, version)
        if not cache:
            return fn(view, *args)
        if per_run:
            version = run_version(view, web.epoch)
        return web.cache.get(version, key, lambda: fn(view, *args))

    return await service.read(run)


def _render(request: Request, template: str, **context: Any) -> HTMLResponse:
    web = request.app.state.web
    return web.templates.TemplateResponse(request, template, {"families": FAMILIES, **context})


def _as_of(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_as_of(value)
    except SegmintError:
        return None


# ------------------------------------------------------------------ login


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = "/"):
    return _render(request, "login.html", next=next if _NEXT.match(next) else "/", error=None)


@router.post("/login")
async def login(request: Request, key: str = Form(..., max_length=200), next: str = Form("/")):
    target = next if _NEXT.match(next) and not next.startswith("//") else "/"
    if check_login(request, key) is None:
        return _render(
            request, "login.html", next=target, error="That key is unknown, revoked or lacks the read scope."
        )
    sid = request.app.state.web.sessions.open(key.strip())
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, sid, max_age=MAX_AGE_S, httponly=True, samesite="strict", path="/")
    return response


@router.post("/logout")
async def logout(request: Request):
    request.app.state.web.sessions.close(request.cookies.get(COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


# ------------------------------------------------------------------ pages


@router.get("/", response_class=HTMLResponse)
async def overview_page(request: Request, as_of: str | None = Query(None, max_length=40)):
    current_key(request)
    t = _as_of(as_of)
    data = await _data(request, ("overview", t), queries.overview, t)
    top = data["segments"][:25]
    figs = {
        "sizes": charts.bars([s["name"] for s in top], [s["members"] for s in top], "Largest segments"),
        "rfm": charts.rfm_heatmap(data["rfm_grid"]),
        "funnel": charts.funnel(data["lifecycle"]),
    }
    times = await _data(request, ("run_times",), queries.run_times, per_run=True)
    return _render(request, "overview.html", page="overview", data=data, figs=figs, times=times)


async def _shared(request: Request, as_of: datetime | None) -> tuple[datetime | None, list, dict]:
    """The aggregates several pages share: every segment's KPIs, current (cached per data version: live
    changes move them) or at a run time (cached per recorded runs), and every segment's size history."""
    if as_of is None:
        kpis = await _data(request, ("kpis", None), queries.all_kpis, None)
    else:
        kpis = await _data(request, ("kpis", as_of), queries.all_kpis, as_of, per_run=True)
    history = await _data(request, ("history",), queries.size_history, per_run=True)
    return as_of, kpis, history


@router.get("/segments", response_class=HTMLResponse)
async def segments_page(
    request: Request,
    q: str = Query("", max_length=100),
    family: str = Query("", max_length=40),
):
    current_key(request)
    at, kpis, history = await _shared(request, None)
    data = await _data(request, ("segments",), queries.segment_list, at, True, kpis, history)
    rows = [
        s
        for s in data["segments"]
        if (not q or q.lower() in s["name"].lower() or q.lower() in s["description"].lower())
        and (not family or s["family"] == family)
    ]
    sparks = {s["name"]: charts.sparkline(s["history"]) for s in rows if len(s["history"]) > 1}
    return _render(
        request, "segments.html", page="segments", data=data, rows=rows, q=q, family=family, sparks=sparks
    )


@router.get("/segments/new", response_class=HTMLResponse)
async def builder_page(request: Request, base: str = Query("", max_length=64)):
    current_key(request)
    defs = await _data(request, ("defs",), queries.definitions)
    start = next((d for d in defs if d.name == base), None)
    return _render(request, "builder.html", page="builder", start=start, names=[d.name for d in defs])


@router.get("/segments/{name}", response_class=HTMLResponse)
async def segment_page(request: Request, name: str, as_of: str | None = Query(None, max_length=40)):
    current_key(request)
    t = _as_of(as_of)
    _at, kpis, history = await _shared(request, t)
    web = request.app.state.web
    service = request.app.state.service

    def flows(view):
        # Migrations are the same for every segment of an exclusive group: cached per (group, t1, t2).
        return lambda group, t1, t2: web.cache.get(
            data_version(service, web.epoch),
            ("migration", group, t1, t2),
            lambda: queries.migration(view, group, t1, t2),
        )

    def detail(view, segment, when):
        return queries.segment_detail(view, segment, when, kpis, history, flows(view))

    try:
        data = await _data(request, ("segment", name, t), detail, name, t)
    except SegmintError as exc:
        return _render(request, "error.html", page="segments", message=exc.message, status=404)
    figs = {
        "size": charts.size_line(data["history"]) if data["history"] else None,
        "sankey": charts.sankey(data["migration"]["flows"], data["migration"]["t1"], data["migration"]["t2"])
        if data["migration"]
        else None,
        "overlap": charts.overlap_bars(data["overlap"]),
        "dists": [charts.distribution(d) for d in data["distributions"]],
    }
    return _render(request, "segment.html", page="segments", data=data, figs=figs)


@router.get("/segments/{name}/export.csv")
async def export_segment(request: Request, name: str):
    current_key(request)
    try:
        text = await _data(request, ("export", name), exports.member_csv, name, cache=False)
    except SegmintError as exc:
        return JSONResponse(status_code=404, content=exc.to_dict())
    safe = re.sub(r"[^a-z0-9_]", "_", name)
    return Response(
        text,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{safe}.csv"'},
    )


@router.get("/clusters", response_class=HTMLResponse)
async def clusters_page(request: Request, model: str = Query("", max_length=64)):
    current_key(request)
    data = await _data(request, ("clusters", model), model_pages.cluster_page, model or None)
    fig = charts.cluster_scatter(data.get("report"))
    return _render(request, "clusters.html", page="clusters", data=data, scatter=fig)


@router.get("/predictions", response_class=HTMLResponse)
async def predictions_page(request: Request):
    current_key(request)
    data = await _data(request, ("predictions",), model_pages.prediction_page)
    figs = {
        "clv": charts.clv_histogram(data.get("scored")),
        "calibration": charts.calibration(data.get("scored")),
        "holdout": charts.holdout(data.get("holdout") or []),
    }
    # The newest run fitted with a holdout, in detail (its metrics carry the per-period tables).
    newest = next((r for r in data.get("holdout") or [] if r["metrics"].get("tracking")), None)
    figs["tracking"] = charts.holdout_tracking(newest)
    figs["by_frequency"] = charts.holdout_by_frequency(newest)
    return _render(request, "predictions.html", page="predictions", data=data, figs=figs)


@router.get("/customers", response_class=HTMLResponse)
async def customer_search(request: Request, id: str = Query("", max_length=128)):
    current_key(request)
    if id.strip():
        from urllib.parse import quote

        return RedirectResponse(f"/customers/{quote(id.strip(), safe='')}", status_code=303)
    return _render(request, "error.html", page="customer", message="Enter a customer id.", status=400)


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
async def customer_page(request: Request, customer_id: str):
    """The customer's record, traits, memberships and timeline. Explanations are fetched per membership
    when it is expanded (``/ui/explain``): one rule evaluation each, so the page never waits for all."""
    current_key(request)
    data = await _data(request, ("customer", customer_id), queries.customer_page, customer_id)
    if data is None:
        return _render(
            request, "error.html", page="customer", message=f"No customer {customer_id!r}.", status=404
        )
    return _render(request, "customer.html", page="customer", data=data)


@router.get("/live", response_class=HTMLResponse)
async def live_page(request: Request):
    current_key(request)

    rows = await _data(request, ("live",), latest_changes, 50, cache=False)
    return _render(request, "live.html", page="live", rows=rows)


# ------------------------------------------------------------------ JSON for progressive enhancement


class RuleIn(BaseModel):
    rule: str = Field(..., max_length=select.MAX_RULE_CHARS)


class SegmentIn(BaseModel):
    name: str = Field(..., max_length=63)
    family: str = Field("custom", max_length=40)
    description: str = Field("", max_length=2000)
    rule: str = Field(..., max_length=select.MAX_RULE_CHARS)
    new_version: bool = False


@router.post("/ui/rule")
async def rule_preview(request: Request, body: RuleIn) -> JSONResponse:
    """Check a rule; when valid, count the customers it matches (as of the latest run) and show a few."""
    current_key(request, json=True)
    result = await _data(request, ("rule", body.rule), select.preview_rule, body.rule)
    return JSONResponse(result, status_code=200)


@router.post("/ui/segments")
async def save(request: Request, body: SegmentIn) -> JSONResponse:
    """Save a segment from the builder: the same save as ``POST``/``PUT /v1/segments`` (validation,
    atomic write, one live refresh), and like them it needs the ``admin`` scope."""
    key = current_key(request, json=True)
    refused = missing_scope(key, "admin")
    if refused is not None:
        return JSONResponse(status_code=403, content={"error": "Forbidden", "message": refused})
    service = request.app.state.service
    data = {"name": body.name, "family": body.family, "rule": body.rule, "description": body.description}
    try:
        saved = await service.on_live(
            live_admin.save_segment, service, data, "version" if body.new_version else "create"
        )
    except SegmintError as exc:
        return JSONResponse(
            status_code=404 if "NotFound" in type(exc).__name__ else 400, content=exc.to_dict()
        )
    request.app.state.web.bump()
    return JSONResponse(jsonable_encoder({**saved, "url": f"/segments/{saved['name']}"}))


@router.get("/ui/explain")
async def explain(
    request: Request,
    customer_id: str = Query(..., min_length=1, max_length=128),
    segment: str = Query(..., min_length=1, max_length=200),
) -> JSONResponse:
    """Why a customer is (or is not) in a segment: each clause of its rule with the customer's values.
    ``{"lines": [...], "holds": ...}``, ``{"lines": null, "note": ...}`` for a segment without a rule
    (a cluster or a removed definition), or ``{"error": ...}``."""
    current_key(request, json=True)

    def run(view, cid: str, name: str) -> dict[str, Any]:
        try:
            # At the time of the memberships the customer page shows: now, as the live engine keeps them.
            return explain_member(view, cid, name, datetime.now(UTC).replace(tzinfo=None))
        except SegmintError as exc:
            if isinstance(exc.detail, dict) and exc.detail.get("reason") == "no rule":
                return {"lines": None, "note": "No rule to explain (cluster or removed segment)."}
            return {"error": exc.message}

    result = await _data(request, ("explain", customer_id, segment), run, customer_id, segment)
    return JSONResponse(jsonable_encoder(result))


@router.get("/ui/live/stream")
async def live_stream(request: Request, after: int | None = Query(None, ge=0)):
    """The change stream for the Live page, authenticated by the session cookie (EventSource cannot send
    an Authorization header)."""
    key = current_key(request, json=True)
    from segmint.api.routers.changes import stream_changes

    return await stream_changes(request, after=after, segment=None, _key=key)
