"""Customer profiles: the customer's fields, stored traits, current memberships and recent events.

Traits come from the last batch computation (the ``traits`` table, whose time is given as
``traits_as_of``): a lookup must stay a few milliseconds, and traits that rank customers against each
other (RFM) cannot be computed for one customer alone. Memberships are live.
"""

from __future__ import annotations

import contextlib
import json

import orjson
from fastapi import APIRouter, HTTPException, Query, Request, Response

from segmint.api.auth import require
from segmint.live.recent_events import PROFILE_EVENT_COLUMNS

router = APIRouter(prefix="/v1/profiles", tags=["profiles"])


def _rows(cur, sql: str, params) -> list[dict]:
    result = cur.execute(sql, params)
    names = [d[0] for d in result.description]
    return [dict(zip(names, r, strict=True)) for r in result.fetchall()]


def _events(cur, customer_id: str, limit: int, anon: list[str]) -> list[dict]:
    """Latest events of a customer, their own and their linked anonymous ids' (from the database). Two
    plain filters rather than one ``OR``: each is a vectorised scan, and most customers have no
    anonymous ids."""
    if cur is None:
        raise _NeedsDatabase
    cols = ", ".join(PROFILE_EVENT_COLUMNS)
    rows = _rows(
        cur,
        f"SELECT {cols} FROM events WHERE customer_id = $c ORDER BY occurred_at DESC, event_id DESC LIMIT $n",
        {"c": customer_id, "n": limit},
    )
    if anon:
        rows += _rows(
            cur,
            f"SELECT {cols} FROM events WHERE customer_id IS NULL AND anonymous_id IN "
            "(SELECT UNNEST($a::VARCHAR[])) ORDER BY occurred_at DESC, event_id DESC LIMIT $n",
            {"a": anon, "n": limit},
        )
    return sorted(rows, key=lambda e: (e["occurred_at"], e["event_id"]), reverse=True)[:limit]


# One round trip for everything but events: the customer row, memberships, anonymous ids (and traits).
_PROFILE_SQL = """
SELECT
    (SELECT to_json(c) FROM customers c WHERE c.customer_id = $c LIMIT 1) AS customer,
    (SELECT to_json(list({'segment': m.segment, 'since': m.since, 'segment_version': m.segment_version}
        ORDER BY m.segment)) FROM memberships m WHERE m.customer_id = $c) AS memberships,
    (SELECT list(i.anonymous_id ORDER BY i.anonymous_id) FROM identities i WHERE i.customer_id = $c) AS anon
"""
_TRAITS_SQL = "SELECT to_json(t) FROM traits t WHERE t.customer_id = $c LIMIT 1"


def _profile(cur, service, customer_id: str, events: int) -> dict | None:
    held = service.profiles.get(customer_id)
    if held is not None:
        customer, anon, memberships = held
    else:
        customer, memberships, anon = cur.execute(_PROFILE_SQL, {"c": customer_id}).fetchone()
        customer = json.loads(customer) if customer else None
        memberships = json.loads(memberships) if memberships else []
    anon = list(anon or [])
    recent = (
        service.recent.get(customer_id, events, lambda cid, n: _events(cur, cid, n, anon)) if events else []
    )
    if customer is None and not recent:
        return None
    recent = [dict(e) for e in recent]
    for event in recent:
        if event["properties"]:
            with contextlib.suppress(ValueError):
                event["properties"] = orjson.loads(event["properties"])
    traits, traits_as_of = None, None
    if service.has_table("traits"):
        row = cur.execute(_TRAITS_SQL, {"c": customer_id}).fetchone()
        if row is not None and row[0] is not None:
            traits = json.loads(row[0])
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
) -> Response:
    service = request.app.state.service
    found = _MISSING
    if _in_memory(service, events):  # usually nothing to read from the database: answer on the loop
        with contextlib.suppress(_NeedsDatabase):
            found = _profile(None, service, customer_id, events)
    if found is _MISSING:
        found = await service.read(_profile, service, customer_id, events)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no customer {customer_id!r}")
    return Response(orjson.dumps(found, default=_plain), media_type="application/json")


class _NeedsDatabase(Exception):
    """Raised by the in-memory path when a lookup must read the database after all."""


_MISSING = object()


def _in_memory(service, events: int) -> bool:
    return (
        service.profiles.complete
        and ((service.recent.complete and events <= service.recent.depth) or events == 0)
        and not service.has_table("traits")
    )


def _plain(value):
    """JSON for what DuckDB rows hold besides JSON types: times, dates, decimals."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
