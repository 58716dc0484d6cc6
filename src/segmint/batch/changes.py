"""Reading the change log: the one function behind ``GET /v1/changes``, the change stream's backlog and
the dashboard's Live page.

Written with Ibis, so it reads the ``changes`` table of any engine; the cursor, limit and segment name
come from requests and travel as typed Ibis literals, never as SQL text.
"""

from __future__ import annotations

from typing import Any

import ibis

from segmint.adapters.workspace import Workspace

__all__ = ["CHANGE_FIELDS", "changes_after"]

CHANGE_FIELDS = ("seq", "segment", "customer_id", "kind", "at", "segment_version", "cause")


def changes_after(ws: Workspace, after: int, limit: int, segment: str | None = None) -> list[dict[str, Any]]:
    """Up to ``limit`` changes with ``seq`` greater than ``after``, oldest first, of one segment when
    given (an empty name means every segment), as JSON-ready dicts (``at`` in ISO 8601). The seqs are
    consecutive, so the last ``n`` changes are ``changes_after(ws, next_seq - 1 - n, n)``."""
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
