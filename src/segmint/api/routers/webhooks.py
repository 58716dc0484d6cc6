"""Webhook subscriptions, their deliveries (failures visible) and manual retries."""

from __future__ import annotations

import time

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from segmint.adapters.webhooks import Delivery
from segmint.api.auth import require
from segmint.live import subscriptions as subs

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=2000)
    segment: str | None = Field(default=None, max_length=64, description="Only this segment (default: all).")
    kinds: list[str] = Field(default=["entered", "exited"])


@router.post("", status_code=201)
async def create(request: Request, body: WebhookIn, _key=require("admin")) -> dict:
    """Subscribe a URL. The answer holds the signing secret, shown only once."""
    service = request.app.state.service

    def work():
        hook = subs.create_webhook(service.live_ws.con.con, body.url, body.segment, body.kinds)
        service.live.reload_webhooks()
        return hook

    return await service.on_live(work)


@router.get("")
async def list_(request: Request, _key=require("read")) -> dict:
    return {"webhooks": await request.app.state.service.read(subs.list_webhooks)}


@router.delete("/{webhook_id}", status_code=204)
async def delete(request: Request, webhook_id: str, _key=require("admin")) -> None:
    service = request.app.state.service

    def work():
        subs.delete_webhook(service.live_ws.con.con, webhook_id)
        service.live.reload_webhooks()

    await service.on_live(work)


@router.get("/{webhook_id}/deliveries")
async def deliveries(
    request: Request,
    webhook_id: str,
    status: str | None = Query(None, description="pending, failed, delivered or dead"),
    limit: int = Query(100, ge=1, le=1000),
    _key=require("read"),
) -> dict:
    """Recent deliveries, newest first, with attempts, last HTTP status and last error."""
    items = await request.app.state.service.read(subs.list_deliveries, webhook_id, status, limit)
    return {"deliveries": items}


@router.post("/{webhook_id}/deliveries/{delivery_id}/retry", status_code=202)
async def retry(request: Request, webhook_id: str, delivery_id: str, _key=require("admin")) -> dict:
    """Try a failed or dead delivery again now."""
    service = request.app.state.service
    url, secret, payload, attempts = await service.on_live(
        subs.retry_delivery, service.live_ws.con.con, webhook_id, delivery_id
    )
    service.deliver(Delivery(delivery_id, url, secret, payload, attempts, time.time()))
    return {"delivery_id": delivery_id, "status": "pending"}
