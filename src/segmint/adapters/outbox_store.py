"""Webhook subscriptions and their deliveries (the outbox) in DuckDB: one named operation per statement.

Every function takes a workspace on the DuckDB connection it should use (the service's live-thread
workspace for writes, a :class:`~segmint.adapters.read_view.ReadView` for reads); values travel as
parameters. What a webhook may be and
when a delivery may be retried is decided by :mod:`segmint.live.subscriptions`, not here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa

from segmint.adapters.duckdb_handle import duckdb_connection, scalar
from segmint.adapters.workspace import Workspace

__all__ = [
    "DELIVERY_COLUMNS",
    "WEBHOOK_COLUMNS",
    "active_webhooks",
    "deactivate_webhook",
    "deliveries",
    "delivery_for_retry",
    "insert_webhook",
    "outstanding_deliveries",
    "record_delivery_results",
    "requeue_delivery",
    "webhook_is_active",
]

WEBHOOK_COLUMNS = ("webhook_id", "url", "segment", "kinds", "secret", "created_at", "active")
DELIVERY_COLUMNS = (
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
_RESULTS_SCHEMA = pa.schema(
    [
        ("delivery_id", pa.string()),
        ("status", pa.string()),
        ("attempts", pa.int64()),
        ("next_attempt_at", pa.timestamp("us")),
        ("last_status", pa.int64()),
        ("last_error", pa.string()),
        ("finished_at", pa.timestamp("us")),
    ]
)


def insert_webhook(ws: Workspace, row: dict[str, Any]) -> None:
    """Store a subscription (``row`` holds :data:`WEBHOOK_COLUMNS`)."""
    con = duckdb_connection(ws)
    con.execute(
        "INSERT INTO webhooks (webhook_id, url, segment, kinds, secret, created_at, active) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [row[c] for c in WEBHOOK_COLUMNS],
    )


def active_webhooks(ws: Workspace) -> list[dict[str, Any]]:
    """Active subscriptions, oldest first, as dicts of :data:`WEBHOOK_COLUMNS`."""
    con = duckdb_connection(ws)
    rows = con.execute(
        "SELECT webhook_id, url, segment, kinds, secret, created_at, active FROM webhooks "
        "WHERE active ORDER BY created_at"
    ).fetchall()
    return [dict(zip(WEBHOOK_COLUMNS, r, strict=True)) for r in rows]


def webhook_is_active(ws: Workspace, webhook_id: str) -> bool:
    sql = "SELECT count(*) FROM webhooks WHERE webhook_id = ? AND active"
    return bool(scalar(duckdb_connection(ws), sql, [webhook_id]))


def deactivate_webhook(ws: Workspace, webhook_id: str) -> None:
    con = duckdb_connection(ws)
    con.execute("UPDATE webhooks SET active = false WHERE webhook_id = ?", [webhook_id])


def deliveries(ws: Workspace, webhook_id: str, status: str | None, limit: int) -> list[dict[str, Any]]:
    """A webhook's deliveries, newest first, as dicts of :data:`DELIVERY_COLUMNS`."""
    con = duckdb_connection(ws)
    sql = f"SELECT {', '.join(DELIVERY_COLUMNS)} FROM outbox WHERE webhook_id = $w"
    params: dict[str, Any] = {"w": webhook_id, "limit": limit}
    if status is not None:
        sql += " AND status = $status"
        params["status"] = status
    rows = con.execute(sql + " ORDER BY created_at DESC, change_seq DESC LIMIT $limit", params).fetchall()
    return [dict(zip(DELIVERY_COLUMNS, r, strict=True)) for r in rows]


def delivery_for_retry(ws: Workspace, webhook_id: str, delivery_id: str) -> tuple[str, str, str, str] | None:
    """``(url, secret, payload, status)`` of one delivery of one webhook, or None."""
    con = duckdb_connection(ws)
    row = con.execute(
        "SELECT w.url, w.secret, o.payload, o.status FROM outbox o JOIN webhooks w USING (webhook_id) "
        "WHERE o.delivery_id = ? AND o.webhook_id = ?",
        [delivery_id, webhook_id],
    ).fetchone()
    return tuple(row) if row is not None else None


def requeue_delivery(ws: Workspace, delivery_id: str, at: datetime) -> None:
    """Put a delivery back in line: pending, no attempts, due at ``at``."""
    con = duckdb_connection(ws)
    con.execute(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ? WHERE delivery_id = ?",
        [at, delivery_id],
    )


def outstanding_deliveries(ws: Workspace) -> list[tuple[str, str, str, str, int | None, datetime | None]]:
    """``(delivery_id, url, secret, payload, attempts, next_attempt_at)`` of every pending or failed
    delivery of an active webhook, oldest first (what the deliverer resumes at start)."""
    con = duckdb_connection(ws)
    return con.execute(
        "SELECT o.delivery_id, w.url, w.secret, o.payload, o.attempts, o.next_attempt_at "
        "FROM outbox o JOIN webhooks w USING (webhook_id) "
        "WHERE o.status IN ('pending', 'failed') AND w.active ORDER BY o.created_at"
    ).fetchall()


def record_delivery_results(ws: Workspace, results: dict[str, list[Any]]) -> None:
    """Apply delivery outcomes (columns of ``_RESULTS_SCHEMA``) to the outbox; a delivery's latest
    attempt wins."""
    con = duckdb_connection(ws)
    con.register("_outbox_results", pa.table(results, schema=_RESULTS_SCHEMA))
    try:
        con.execute(
            "UPDATE outbox SET status = r.status, attempts = r.attempts, next_attempt_at = r.next_attempt_at, "
            "last_status = r.last_status, last_error = r.last_error, "
            "delivered_at = CASE WHEN r.status = 'delivered' THEN r.finished_at ELSE outbox.delivered_at END "
            "FROM (SELECT * FROM _outbox_results QUALIFY row_number() OVER "
            "(PARTITION BY delivery_id ORDER BY attempts DESC) = 1) r "
            "WHERE outbox.delivery_id = r.delivery_id"
        )
    finally:
        con.unregister("_outbox_results")
