"""Reading the change log: the one function behind ``GET /v1/changes``, the change stream's backlog and
the dashboard's Live page.

Written with Ibis, so it reads the ``changes`` table of any engine; the cursor, limit and segment name
come from requests and travel as typed Ibis literals, never as SQL text.
"""

from __future__ import annotations

from typing import Any

import ibis

from segmint.adapters.workspace import Workspace

__all__ = ["CHANGE_FIELDS", "changes_after", "latest_changes"]

CHANGE_FIELDS = ("seq", "segment", "customer_id", "kind", "at", "segment_version", "cause")


def changes_after(ws: Workspace, after: int, limit: int, segment: str | None = None) -> list[dict[str, Any]]:
    """Up to ``limit`` changes with ``seq`` greater than ``after``, oldest first, of one segment when
    given (an empty name means every segment), as JSON-ready dicts (``at`` in ISO 8601). Seqs only grow
    but may have gaps (a backfill withdraws change events that no longer hold)."""
    changes = ws.table("changes")
    rows = changes.filter(changes.seq > ibis.literal(int(after), type="int64"))
    if segment:
        rows = rows.filter(rows.segment == ibis.literal(segment, type="string"))
    rows = rows.order_by(rows.seq).limit(int(limit)).select(*CHANGE_FIELDS)
    out = rows.to_pyarrow().to_pylist()
    for item in out:
        at = item["at"]
        item["at"] = at.isoformat() if at is not None else None
    return out


def latest_changes(ws: Workspace, limit: int = 50) -> list[dict[str, Any]]:
    """The ``limit`` most recent changes, newest first (the dashboard's Live page; ``at`` as a time)."""
    changes = ws.table("changes")
    rows = changes.order_by(changes.seq.desc()).limit(int(limit)).select(*CHANGE_FIELDS)
    return rows.to_pyarrow().to_pylist()
