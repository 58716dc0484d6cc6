"""Customer profiles: the customer's fields, stored traits, current memberships and recent events.

Traits come from the last batch computation (the ``traits`` table, whose time is given as
``traits_as_of``): a lookup must stay a few milliseconds, and traits that rank customers against each
other (RFM) cannot be computed for one customer alone. Memberships are live. The lookup itself is
:func:`segmint.live.profile_store.read_profile`.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, HTTPException, Query, Request, Response

from segmint.api.auth import require
from segmint.live.profile_store import read_profile

router = APIRouter(prefix="/v1/profiles", tags=["profiles"])


@router.get("/{customer_id}")
async def profile(
    request: Request,
    customer_id: str,
    events: int = Query(20, ge=0, le=500, description="How many recent events to include."),
    _key=require("read"),
) -> Response:
    found = await read_profile(request.app.state.service, customer_id, events)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no customer {customer_id!r}")
    return Response(orjson.dumps(found, default=_plain), media_type="application/json")


def _plain(value):
    """JSON for what DuckDB rows hold besides JSON types: times, dates, decimals."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
