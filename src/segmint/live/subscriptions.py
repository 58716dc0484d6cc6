"""Webhook subscriptions and their deliveries (the outbox), as the API and CLI manage them.

These functions take a DuckDB connection (the service's writer for changes, a read cursor for reads);
all user values travel as query parameters.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from urllib.parse import urlparse

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


def _public(row: tuple, with_secret: bool = False) -> dict:
    webhook_id, url, segment, kinds, secret, created_at, active = row
    out = {
        "webhook_id": webhook_id,
        "url": url,
        "segment": segment,
        "kinds": (kinds or "").split(","),
        "created_at": created_at,
        "active": active,
    }
    if with_secret:
        out["secret"] = secret
    return out


def create_webhook(con, url: str, segment: str | None = None, kinds: list[str] | None = None) -> dict:
    """Subscribe ``url`` to the changes of ``segment`` (all segments if None). Returns the webhook with
    its signing secret, which is shown only here."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise WebhookError(f"webhook url {url!r} must be an absolute http(s) URL")
    kinds = list(kinds or KINDS)
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise WebhookError(f"unknown change kind(s) {bad}: use entered and/or exited")
    row = (
        secrets.token_hex(8),
        url,
        segment or None,
        ",".join(sorted(set(kinds))),
        "whsec_" + secrets.token_urlsafe(24),
        _now(),
        True,
    )
    con.execute("INSERT INTO webhooks VALUES (?, ?, ?, ?, ?, ?, ?)", list(row))
    return _public(row, with_secret=True)


def list_webhooks(con) -> list[dict]:
    rows = con.execute(
        "SELECT webhook_id, url, segment, kinds, secret, created_at, active FROM webhooks "
        "WHERE active ORDER BY created_at"
    ).fetchall()
    return [_public(r) for r in rows]


def delete_webhook(con, webhook_id: str) -> None:
    """Deactivate a webhook; its pending deliveries are no longer attempted (kept for the record)."""
    found = con.execute(
        "SELECT count(*) FROM webhooks WHERE webhook_id = ? AND active", [webhook_id]
    ).fetchone()[0]
    if not found:
        raise WebhookNotFound(f"no webhook {webhook_id!r}")
    con.execute("UPDATE webhooks SET active = false WHERE webhook_id = ?", [webhook_id])


def list_deliveries(con, webhook_id: str, status: str | None = None, limit: int = 100) -> list[dict]:
    if status is not None and status not in STATUSES:
        raise WebhookError(f"unknown status {status!r}: use {', '.join(STATUSES)}")
    sql = (
        "SELECT delivery_id, change_seq, status, attempts, next_attempt_at, last_status, last_error, "
        "created_at, delivered_at FROM outbox WHERE webhook_id = $w"
    )
    params: dict = {"w": webhook_id, "limit": limit}
    if status:
        sql += " AND status = $status"
        params["status"] = status
    rows = con.execute(sql + " ORDER BY created_at DESC, change_seq DESC LIMIT $limit", params).fetchall()
    cols = (
        "delivery_id",
        "change_seq",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status",
        "last_error",
        "created_at",
        "delivered_at",
    )
    return [dict(zip(cols, r, strict=True)) for r in rows]


def retry_delivery(con, webhook_id: str, delivery_id: str) -> tuple[str, str, bytes, int]:
    """Put a failed or dead delivery back in line; returns (url, secret, payload, attempts)."""
    row = con.execute(
        "SELECT w.url, w.secret, o.payload, o.status FROM outbox o JOIN webhooks w USING (webhook_id) "
        "WHERE o.delivery_id = ? AND o.webhook_id = ?",
        [delivery_id, webhook_id],
    ).fetchone()
    if row is None:
        raise WebhookNotFound(f"no delivery {delivery_id!r} for webhook {webhook_id!r}")
    url, secret, payload, status = row
    if status == "delivered":
        raise WebhookError(f"delivery {delivery_id!r} was already delivered")
    con.execute(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ? WHERE delivery_id = ?",
        [_now(), delivery_id],
    )
    return url, secret, payload.encode(), 0
