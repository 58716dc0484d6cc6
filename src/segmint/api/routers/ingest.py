"""Ingest endpoints in the Segment tracking spec: track, identify, page, screen, alias and batch.

The answer comes only after the group commit that holds the messages, so a 200 means durably stored.
A retried messageId is answered 200 again and stored once (``duplicates`` counts them).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request

from segmint.api.auth import require
from segmint.api.body import read_body
from segmint.live.tracking import Rows, parse_batch, parse_message, to_rows
from segmint.live.tracking_fast import fast_rows

router = APIRouter(prefix="/v1", tags=["ingest"])

_REQUEST_BODY = {"content": {"application/json": {"schema": {"type": "object"}}}, "required": True}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


async def _ingest(request: Request, rows: Rows) -> dict:
    service = request.app.state.service
    try:
        result = await asyncio.wrap_future(service.ingestor.submit(rows))
    except Exception as exc:  # the commit failed: nothing was acknowledged, the client should retry
        raise HTTPException(status_code=503, detail=f"could not store the events, retry: {exc}") from None
    return {
        "success": True,
        "accepted": result.accepted,
        "stored": result.stored,
        "duplicates": result.duplicates,
    }


async def _body(request: Request) -> bytes:
    return await read_body(request, request.app.state.service.settings.max_body_bytes)


def _single(kind: str):
    async def endpoint(request: Request, _key=require("ingest")) -> dict:
        body = await _body(request)
        received_at = _now()
        rows = fast_rows(body, received_at, kind)
        if rows is None:  # not the plain shape: the models decide (and word the 400)
            try:
                message = parse_message(kind, body)
            except json.JSONDecodeError as exc:
                raise HTTPException(status_code=400, detail=f"body is not JSON: {exc}") from None
            rows = to_rows([message], received_at)
        return await _ingest(request, rows)

    endpoint.__name__ = kind
    endpoint.__doc__ = f"Record one {kind} call (Segment tracking spec)."
    return endpoint


for _kind in ("track", "identify", "page", "screen", "alias"):
    router.add_api_route(
        f"/{_kind}", _single(_kind), methods=["POST"], openapi_extra={"requestBody": _REQUEST_BODY}
    )


@router.post("/batch", openapi_extra={"requestBody": _REQUEST_BODY})
async def batch(request: Request, _key=require("ingest")) -> dict:
    """Record up to 10,000 messages of any type in one call: ``{"batch": [{"type": "track", ...}, ...]}``."""
    body = await _body(request)
    received_at = _now()
    rows = fast_rows(body, received_at)
    if rows is None:  # not the plain shape: the models decide (and word the 400)
        rows = to_rows(parse_batch(body), received_at)
    return await _ingest(request, rows)
