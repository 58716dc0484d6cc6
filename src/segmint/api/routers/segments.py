"""Segments over HTTP: definitions (create, replace, delete), members with cursor pagination, counts
and explanations. Every answer comes from the same use cases as the CLI and the dashboard: saving from
:mod:`segmint.live.admin`, counts and members from :mod:`segmint.batch.reads`, explanations from
:mod:`segmint.batch.explain`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from segmint.api.auth import require
from segmint.batch import reads
from segmint.batch.admin import definition_of
from segmint.batch.explain import explain as explain_segment
from segmint.core.timeutil import parse_as_of
from segmint.live import admin

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


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _public(summary: dict[str, Any], view) -> dict[str, Any]:
    """A segment as the API shows it: its definition's fields when it has one (clusters have none),
    with its current version and member count."""
    out = (
        definition_of(view, summary["name"]).to_mapping()
        if summary["defined"]
        else {
            "name": summary["name"],
            "family": summary["family"],
            "rule": None,
        }
    )
    out["version"] = summary["version"]
    out["members"] = summary["members"]
    return out


def _summary(view, name: str) -> dict[str, Any]:
    reads.require_segment(view, name)
    return next(s for s in reads.segment_summaries(view) if s["name"] == name)


@router.get("")
async def list_segments(request: Request, _key=require("read")) -> dict:
    """Every segment (defined ones and clusters) with its version and current member count."""
    service = request.app.state.service

    def work(view) -> list[dict[str, Any]]:
        return [_public(s, view) for s in reads.segment_summaries(view)]

    return {"segments": await service.query(work)}


@router.get("/{name}")
async def get_segment(request: Request, name: str, _key=require("read")) -> dict:
    service = request.app.state.service
    return await service.query(lambda view: _public(_summary(view, name), view))


@router.post("", status_code=201)
async def create_segment(request: Request, body: SegmentIn, _key=require("admin")) -> dict:
    """Create a segment and compute its members now."""
    service = request.app.state.service
    return await service.on_live(admin.save_segment, service, body.model_dump(), "create")


@router.put("/{name}")
async def replace_segment(request: Request, name: str, body: SegmentIn, _key=require("admin")) -> dict:
    """Replace a segment's definition (a new version if the rule or parameters changed)."""
    service = request.app.state.service
    body.name = name
    return await service.on_live(admin.save_segment, service, body.model_dump(), "replace")


@router.delete("/{name}")
async def delete_segment(request: Request, name: str, _key=require("admin")) -> dict:
    """Delete a segment: its file goes, and every member exits (change cause ``deleted``)."""
    service = request.app.state.service
    return {"deleted": name, "exited": await service.on_live(admin.delete_segment, service, name)}


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

    def work(view) -> list[dict[str, Any]]:
        return reads.member_page(view, name, after, limit)

    items = await service.query(work)
    return {"members": items, "next": items[-1]["customer_id"] if len(items) == limit else None}


@router.get("/{name}/count")
async def count(request: Request, name: str, _key=require("read")) -> dict:
    service = request.app.state.service

    def work(view) -> int:
        reads.require_segment(view, name)
        return reads.counts(view).get(name, 0)

    return {"segment": name, "members": await service.query(work)}


@router.get("/{name}/explain/{customer_id}")
async def explain(
    request: Request,
    name: str,
    customer_id: str,
    as_of: str | None = Query(None, max_length=40, description="ISO time (default: now)"),
    _key=require("read"),
) -> dict:
    """Each clause of the rule with this customer's values and whether it holds."""
    service = request.app.state.service
    when = parse_as_of(as_of) if as_of else _now()
    return await service.query(lambda view: explain_segment(view, customer_id, name, when))
