"""Segments over HTTP: definitions (create, replace, delete), members with cursor pagination, counts
and explanations. Definitions are validated with the same messages as the CLI."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from segmint.api.auth import require
from segmint.batch import admin as segment_admin
from segmint.live.service import utcnow

router = APIRouter(prefix="/v1/segments", tags=["segments"])


class SegmentIn(BaseModel):
    """A segment definition. Give the rule as text (``rule``) or in its JSON form (``rule_json``)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=63)
    family: str = Field(default="custom", max_length=32)
    rule: str | None = Field(default=None, max_length=20_000)
    rule_json: dict[str, Any] | None = None
    description: str | None = Field(default=None, max_length=2000)
    tags: list[str] | None = None
    owner: str | None = Field(default=None, max_length=200)
    params: dict[str, Any] | None = None
    group: str | None = Field(default=None, max_length=63)


def _public(defn, count: int | None = None, version: int | None = None) -> dict:
    out = defn.to_mapping()
    out["version"] = version
    if count is not None:
        out["members"] = count
    return out


def _counts(cur) -> dict[str, int]:
    return dict(cur.execute("SELECT segment, count(*) FROM memberships GROUP BY segment").fetchall())


def _versions(cur) -> dict[str, int]:
    return dict(cur.execute("SELECT name, max(version) FROM segments GROUP BY name").fetchall())


@router.get("")
async def list_segments(request: Request, _key=require("read")) -> dict:
    service = request.app.state.service
    from segmint.batch.segments import load_definitions

    defs = load_definitions(service.ws)
    counts = await service.read(_counts)
    versions = await service.read(_versions)
    return {"segments": [_public(d, counts.get(d.name, 0), versions.get(d.name)) for d in defs]}


@router.get("/{name}")
async def get_segment(request: Request, name: str, _key=require("read")) -> dict:
    service = request.app.state.service
    defn = segment_admin.definition_of(service.ws, name)
    counts = await service.read(_counts)
    versions = await service.read(_versions)
    return _public(defn, counts.get(name, 0), versions.get(name))


async def _save(request: Request, body: SegmentIn, create: bool) -> dict:
    service = request.app.state.service

    def work():
        defn = segment_admin.save_definition(service.live_ws, body.model_dump(), create=create)
        service.evaluator.refresh(force=True)
        service.live.sweep(utcnow())  # members of the new version, as changes with webhooks
        count = service.live_ws.con.con.execute(
            "SELECT count(*) FROM memberships WHERE segment = ?", [defn.name]
        ).fetchone()[0]
        version = {s.name: s.version for s in service.evaluator.segments()}.get(defn.name)
        return _public(defn, count, version)

    return await service.on_live(work)


@router.post("", status_code=201)
async def create_segment(request: Request, body: SegmentIn, _key=require("admin")) -> dict:
    """Create a segment and compute its members now."""
    return await _save(request, body, create=True)


@router.put("/{name}")
async def replace_segment(request: Request, name: str, body: SegmentIn, _key=require("admin")) -> dict:
    """Replace a segment's definition (a new version if the rule or parameters changed)."""
    body.name = name
    return await _save(request, body, create=False)


@router.delete("/{name}")
async def delete_segment(request: Request, name: str, _key=require("admin")) -> dict:
    """Delete a segment: its file goes, and every member exits (change cause ``deleted``)."""
    service = request.app.state.service

    def work():
        version = {s.name: s.version for s in service.evaluator.segments()}.get(name)
        segment_admin.delete_definition(service.live_ws, name)
        service.evaluator.refresh(force=True)
        return len(service.live.retire(name, version, utcnow()))

    return {"deleted": name, "exited": await service.on_live(work)}


def _members(cur, name: str, after: str, limit: int) -> list[dict]:
    rows = cur.execute(
        "SELECT customer_id, since, segment_version FROM memberships WHERE segment = ? AND customer_id > ? "
        "ORDER BY customer_id LIMIT ?",
        [name, after, limit],
    ).fetchall()
    return [{"customer_id": c, "since": s, "segment_version": v} for c, s, v in rows]


@router.get("/{name}/members")
async def members(
    request: Request,
    name: str,
    after: str = Query("", max_length=256, description="Cursor: the last customer_id of the previous page."),
    limit: int = Query(100, ge=1, le=10_000),
    _key=require("read"),
) -> dict:
    """Current members in customer_id order; pass ``next`` as ``after`` for the next page."""
    service = request.app.state.service
    segment_admin.definition_of(service.ws, name)
    items = await service.read(_members, name, after, limit)
    return {"members": items, "next": items[-1]["customer_id"] if len(items) == limit else None}


@router.get("/{name}/count")
async def count(request: Request, name: str, _key=require("read")) -> dict:
    service = request.app.state.service
    segment_admin.definition_of(service.ws, name)
    counts = await service.read(_counts)
    return {"segment": name, "members": counts.get(name, 0)}


@router.get("/{name}/explain/{customer_id}")
async def explain(
    request: Request,
    name: str,
    customer_id: str,
    as_of: str | None = Query(None, description="ISO time (default: now)"),
    _key=require("read"),
) -> dict:
    """Each clause of the rule with this customer's values and whether it holds."""
    from segmint.batch.segments import explain as explain_segment

    service = request.app.state.service
    when = as_of or utcnow()
    return await service.on_live(explain_segment, service.live_ws, customer_id, name, when)
