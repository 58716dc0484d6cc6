"""Reading request bodies with a size limit, so an oversized payload is refused (413) before it is
buffered, whether or not the client sent a Content-Length."""

from __future__ import annotations

from fastapi import HTTPException, Request

__all__ = ["read_body"]


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(
            status_code=413, detail=f"payload of {declared} bytes exceeds the {limit}-byte limit"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status_code=413, detail=f"payload exceeds the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)
