"""API-key authentication and scopes.

Keys are sent as ``Authorization: Bearer <token>`` or, as Segment's libraries do with a write key, as the
user name of HTTP Basic auth. No key gives 401; a key without the needed scope gives 403 (``admin``
includes every scope).
"""

from __future__ import annotations

import base64
import binascii

from fastapi import Depends, HTTPException, Request

from segmint.access.keys import ApiKey

__all__ = ["require"]


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and value.strip():
        return value.strip()
    if scheme == "basic" and value.strip():
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, _, password = decoded.partition(":")
        return user or password or None
    return request.headers.get("x-api-key") or None


def require(scope: str):
    """A dependency that admits requests whose key grants ``scope``."""

    # A coroutine, not a plain function: FastAPI would run a plain one on a worker thread, a thread hop
    # per request for a check that only hashes a token.
    async def check(request: Request) -> ApiKey:
        token = _token(request)
        if not token:
            raise HTTPException(
                status_code=401,
                detail="an API key is required: send 'Authorization: Bearer <key>' (segmint keys create)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        key = request.app.state.service.keys.check(token)
        if key is None:
            raise HTTPException(
                status_code=401, detail="unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"}
            )
        if not key.allows(scope):
            raise HTTPException(
                status_code=403,
                detail=f"this key ({key.name or key.key_id}) lacks the {scope!r} scope; "
                f"it has: {', '.join(sorted(key.scopes))}",
            )
        return key

    return Depends(check)
