"""Customer profiles: the customer's fields, stored traits, current memberships and recent events.

Traits come from the last batch computation (the ``traits`` table, whose time is given as
``traits_as_of``): a lookup must stay a few milliseconds, and traits that rank customers against each
other (RFM) cannot be computed for one customer alone. Memberships are live.
"""

from __future__ import annotations

import contextlib
import json

from fastapi import APIRouter, HTTPException, Query, Request

from segmint.api.auth import require

router = APIRouter(prefix="/v1/profiles", tags=["profiles"])


def _row(cur, sql: str, params: list) -> dict | None:
    result = cur.execute(sql, params)
    row = result.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in result.description], row, strict=True))


def _rows(cur, sql: str, params: list) -> list[dict]:
    result = cur.execute(sql, params)
    names = [d[0] for d in result.description]
    return [dict(zip(names, r, strict=True)) for r in result.fetchall()]


def _profile(cur, customer_id: str, events: int) -> dict | None:
    customer = _row(cur, "SELECT * FROM customers WHERE customer_id = ?", [customer_id])
    anon = [
        r["anonymous_id"]
        for r in _rows(cur, "SELECT anonymous_id FROM identities WHERE customer_id = ?", [customer_id])
    ]
    recent = _rows(
        cur,
        "SELECT event_id, name, occurred_at, anonymous_id, product_id, category, cart_id, order_id, campaign_id, "
        "value, properties FROM events WHERE customer_id = ? OR (customer_id IS NULL AND anonymous_id IN "
        "(SELECT anonymous_id FROM identities WHERE customer_id = ?)) ORDER BY occurred_at DESC LIMIT ?",
        [customer_id, customer_id, events],
    )
    if customer is None and not recent:
        return None
    for event in recent:
        if event["properties"]:
            with contextlib.suppress(ValueError):
                event["properties"] = json.loads(event["properties"])
    memberships = _rows(
        cur,
        "SELECT segment, since, segment_version FROM memberships WHERE customer_id = ? ORDER BY segment",
        [customer_id],
    )
    traits, traits_as_of = None, None
    has_traits = cur.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'traits' AND table_schema = 'main'"
    ).fetchone()[0]
    if has_traits:
        traits = _row(cur, "SELECT * FROM traits WHERE customer_id = ?", [customer_id])
        if traits is not None:
            traits.pop("customer_id", None)
            traits_as_of = traits.pop("as_of", None) or traits.pop("_as_of", None)
    return {
        "customer_id": customer_id,
        "customer": customer,
        "anonymous_ids": anon,
        "traits": traits,
        "traits_as_of": traits_as_of,
        "memberships": memberships,
        "recent_events": recent,
    }


@router.get("/{customer_id}")
async def profile(
    request: Request,
    customer_id: str,
    events: int = Query(20, ge=0, le=500, description="How many recent events to include."),
    _key=require("read"),
) -> dict:
    found = await request.app.state.service.read(_profile, customer_id, events)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no customer {customer_id!r}")
    return found
