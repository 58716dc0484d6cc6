"""Webhook subscriptions, their deliveries (failures visible) and manual retries."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

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
    return await request.app.state.service.create_webhook(body.url, body.segment, body.kinds)


@router.get("")
async def list_(request: Request, _key=require("read")) -> dict:
    return {"webhooks": await request.app.state.service.query(subs.list_webhooks)}


@router.delete("/{webhook_id}", status_code=204)
async def delete(request: Request, webhook_id: str, _key=require("admin")) -> None:
    await request.app.state.service.delete_webhook(webhook_id)


@router.get("/{webhook_id}/deliveries")
async def deliveries(
    request: Request,
    webhook_id: str,
    status: str | None = Query(None, description="pending, failed, delivered or dead"),
    limit: int = Query(100, ge=1, le=1000),
    _key=require("read"),
) -> dict:
    """Recent deliveries, newest first, with attempts, last HTTP status and last error."""
    items = await request.app.state.service.query(subs.list_deliveries, webhook_id, status, limit)
    return {"deliveries": items}


@router.post("/{webhook_id}/deliveries/{delivery_id}/retry", status_code=202)
async def retry(request: Request, webhook_id: str, delivery_id: str, _key=require("admin")) -> dict:
    """Try a failed or dead delivery again now."""
    await request.app.state.service.retry_delivery(webhook_id, delivery_id)
    return {"delivery_id": delivery_id, "status": "pending"}
