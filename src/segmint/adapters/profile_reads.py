"""Profile lookups in DuckDB: the statements behind ``GET /v1/profiles/{id}`` and the profile caches.

A lookup must stay a few milliseconds, so these are hand-written point queries (one round trip for the
customer row, memberships and anonymous ids; vectorised scans for events) rather than Ibis expressions,
whose compilation alone would cost more. The customer id and anonymous ids travel as parameters.
Every function takes a workspace on the connection to use (a read view, or the service's workspaces
while it loads).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from segmint.adapters.duckdb_handle import duckdb_connection, rows_as_dicts, scalar
from segmint.adapters.workspace import Workspace

__all__ = [
    "all_customers",
    "anonymous_ids_by_customer",
    "current_memberships",
    "customer_events",
    "profile_row",
    "stored_traits",
]

# One round trip for everything but events: the customer row, memberships, anonymous ids.
_PROFILE_SQL = """
SELECT
    (SELECT to_json(c) FROM customers c WHERE c.customer_id = $c LIMIT 1) AS customer,
    (SELECT to_json(list({'segment': m.segment, 'since': m.since, 'segment_version': m.segment_version}
        ORDER BY m.segment)) FROM memberships m WHERE m.customer_id = $c) AS memberships,
    (SELECT list(i.anonymous_id ORDER BY i.anonymous_id) FROM identities i WHERE i.customer_id = $c) AS anon
"""
_TRAITS_SQL = "SELECT to_json(t) FROM traits t WHERE t.customer_id = $c LIMIT 1"


def profile_row(ws: Workspace, customer_id: str) -> tuple[dict | None, list[dict], list[str]]:
    """``(customer row or None, memberships, anonymous ids linked to the customer)``."""
    row = duckdb_connection(ws).execute(_PROFILE_SQL, {"c": customer_id}).fetchone()
    customer, memberships, anon = row if row is not None else (None, None, None)
    return (
        json.loads(customer) if customer else None,
        json.loads(memberships) if memberships else [],
        list(anon or []),
    )


def stored_traits(ws: Workspace, customer_id: str) -> dict[str, Any] | None:
    """The customer's row of the ``traits`` table (the last batch computation), or None."""
    row = duckdb_connection(ws).execute(_TRAITS_SQL, {"c": customer_id}).fetchone()
    return json.loads(row[0]) if row is not None and row[0] is not None else None


def customer_events(
    ws: Workspace, customer_id: str, limit: int, anonymous_ids: Sequence[str], columns: Sequence[str]
) -> list[dict[str, Any]]:
    """The customer's ``limit`` latest events, own and of ``anonymous_ids`` (those not carrying a
    customer id), newest first. Two plain filters rather than one ``OR``: each is a vectorised scan,
    and most customers have no anonymous ids."""
    con = duckdb_connection(ws)
    cols = ", ".join(columns)  # Segmint's own column names, never request text
    rows = rows_as_dicts(
        con.execute(
            f"SELECT {cols} FROM events WHERE customer_id = $c ORDER BY occurred_at DESC, event_id DESC LIMIT $n",
            {"c": customer_id, "n": limit},
        )
    )
    if anonymous_ids:
        rows += rows_as_dicts(
            con.execute(
                f"SELECT {cols} FROM events WHERE customer_id IS NULL AND anonymous_id IN "
                "(SELECT UNNEST($a::VARCHAR[])) ORDER BY occurred_at DESC, event_id DESC LIMIT $n",
                {"a": list(anonymous_ids), "n": limit},
            )
        )
    return sorted(rows, key=lambda e: (e["occurred_at"], e["event_id"]), reverse=True)[:limit]


def all_customers(ws: Workspace, at_most: int) -> dict[str, dict[str, Any]] | None:
    """Every customer row by id, or None when there are more than ``at_most``."""
    con = duckdb_connection(ws)
    if scalar(con, "SELECT count(*) FROM customers") > at_most:
        return None
    return {row["customer_id"]: row for row in rows_as_dicts(con.execute("SELECT * FROM customers"))}


def anonymous_ids_by_customer(ws: Workspace) -> dict[str, list[str]]:
    """Every customer's linked anonymous ids, sorted."""
    rows = (
        duckdb_connection(ws)
        .execute(
            "SELECT customer_id, list(DISTINCT anonymous_id ORDER BY anonymous_id) FROM identities GROUP BY 1"
        )
        .fetchall()
    )
    return {cid: list(anon) for cid, anon in rows}


def current_memberships(ws: Workspace) -> list[tuple[str, str, Any, int | None]]:
    """``(segment, customer_id, since, segment_version)`` of every current membership."""
    return (
        duckdb_connection(ws)
        .execute("SELECT segment, customer_id, since, segment_version FROM memberships")
        .fetchall()
    )
