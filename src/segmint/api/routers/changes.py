"""The change log: every entered/exited change in order, by cursor and as a server-sent-events stream."""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from segmint.api.auth import require
from segmint.batch.changes import changes_after

router = APIRouter(prefix="/v1", tags=["changes"])


@router.get("/changes")
async def list_changes(
    request: Request,
    after: int = Query(0, ge=0, description="Return changes with seq greater than this cursor."),
    limit: int = Query(1000, ge=1, le=10_000),
    segment: str | None = Query(None, max_length=64),
    _key=require("read"),
) -> dict:
    """Changes after a cursor, oldest first. Pass the returned ``next`` as ``after`` to continue."""
    items = await request.app.state.service.query(changes_after, after, limit, segment)
    return {"changes": items, "next": items[-1]["seq"] if items else after}


@router.get("/changes/stream")
async def stream_changes(
    request: Request,
    after: int | None = Query(None, ge=0, description="Start after this seq (default: only new changes)."),
    segment: str | None = Query(None, max_length=64),
    _key=require("read"),
) -> StreamingResponse:
    """A server-sent-events stream of changes (``id:`` is the seq; reconnect with ``Last-Event-ID``)."""
    service = request.app.state.service
    last_id = request.headers.get("last-event-id")
    if last_id and last_id.isdigit():
        after = int(last_id)
    if after is None:
        after = service.live.next_seq - 1

    async def events():
        queue = service.subscribe()  # subscribe first, then catch up, so nothing falls in between
        cursor = after
        try:
            while True:
                backlog = await service.query(changes_after, cursor, 1000, segment)
                for item in backlog:
                    cursor = item["seq"]
                    yield _sse(item)
                if len(backlog) < 1000:
                    break
            while True:
                try:
                    changes = await asyncio.wait_for(queue.get(), service.settings.stream_keepalive_s)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield b": keep-alive\n\n"
                    continue
                for change in changes:
                    if change.seq <= cursor or (segment and change.segment != segment):
                        continue
                    cursor = change.seq
                    yield _sse(change.to_dict())
        finally:
            service.unsubscribe(queue)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _sse(item: dict) -> bytes:
    return f"id: {item['seq']}\nevent: {item['kind']}\ndata: {json.dumps(item)}\n\n".encode()
