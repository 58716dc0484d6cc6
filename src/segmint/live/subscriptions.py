"""Webhook subscriptions and their deliveries (the outbox), as the API and CLI manage them.

These functions decide what is allowed (absolute http(s) URLs, known kinds and statuses, no retry of a
delivered delivery) and leave the statements to :mod:`segmint.adapters.outbox_store`. ``ws`` is the
workspace whose connection to use: the service's live-thread workspace for changes (the live engine
writes the outbox there), a read view for reads.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from segmint.adapters import outbox_store
from segmint.adapters.workspace import Workspace
from segmint.errors import SegmintError

__all__ = [
    "WebhookError",
    "WebhookNotFound",
    "create_webhook",
    "delete_webhook",
    "list_deliveries",
    "list_webhooks",
    "retry_delivery",
]

KINDS = ("entered", "exited")
STATUSES = ("pending", "failed", "delivered", "dead")


class WebhookError(SegmintError):
    """A webhook request that cannot be honoured."""


class WebhookNotFound(WebhookError):
    """No such webhook or delivery."""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _public(row: dict[str, Any], with_secret: bool = False) -> dict:
    out = {
        "webhook_id": row["webhook_id"],
        "url": row["url"],
        "segment": row["segment"],
        "kinds": (row["kinds"] or "").split(","),
        "created_at": row["created_at"],
        "active": row["active"],
    }
    if with_secret:
        out["secret"] = row["secret"]
    return out


def create_webhook(
    ws: Workspace, url: str, segment: str | None = None, kinds: list[str] | None = None
) -> dict:
    """Subscribe ``url`` to the changes of ``segment`` (all segments if None). Returns the webhook with
    its signing secret, which is shown only here."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise WebhookError(f"webhook url {url!r} must be an absolute http(s) URL")
    kinds = list(kinds or KINDS)
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise WebhookError(f"unknown change kind(s) {bad}: use entered and/or exited")
    row = {
        "webhook_id": secrets.token_hex(8),
        "url": url,
        "segment": segment or None,
        "kinds": ",".join(sorted(set(kinds))),
        "secret": "whsec_" + secrets.token_urlsafe(24),
        "created_at": _now(),
        "active": True,
    }
    outbox_store.insert_webhook(ws, row)
    return _public(row, with_secret=True)


def list_webhooks(ws: Workspace) -> list[dict]:
    return [_public(r) for r in outbox_store.active_webhooks(ws)]


def delete_webhook(ws: Workspace, webhook_id: str) -> None:
    """Deactivate a webhook; its pending deliveries are no longer attempted (kept for the record)."""
    if not outbox_store.webhook_is_active(ws, webhook_id):
        raise WebhookNotFound(f"no webhook {webhook_id!r}")
    outbox_store.deactivate_webhook(ws, webhook_id)


def list_deliveries(
    ws: Workspace, webhook_id: str, status: str | None = None, limit: int = 100
) -> list[dict]:
    if status is not None and status not in STATUSES:
        raise WebhookError(f"unknown status {status!r}: use {', '.join(STATUSES)}")
    return outbox_store.deliveries(ws, webhook_id, status, limit)


def retry_delivery(ws: Workspace, webhook_id: str, delivery_id: str) -> tuple[str, str, bytes, int]:
    """Put a failed or dead delivery back in line; returns (url, secret, payload, attempts)."""
    found = outbox_store.delivery_for_retry(ws, webhook_id, delivery_id)
    if found is None:
        raise WebhookNotFound(f"no delivery {delivery_id!r} for webhook {webhook_id!r}")
    url, secret, payload, status = found
    if status == "delivered":
        raise WebhookError(f"delivery {delivery_id!r} was already delivered")
    outbox_store.requeue_delivery(ws, delivery_id, _now())
    return url, secret, payload.encode(), 0
