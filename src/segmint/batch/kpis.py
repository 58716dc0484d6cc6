"""Segment KPIs (size, revenue, AOV, repeat rate, retention, conversion, e-mail rates) beside the whole
base: one engine query, read by the CLI, the API, the dashboard, the report and the Python API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from segmint.adapters.workspace import Workspace
from segmint.batch.reads import current_time, members_at, require_segment
from segmint.core.segments.kpis import customer_facts, segment_kpis
from segmint.core.timeutil import parse_as_of, parse_duration

__all__ = ["kpis"]


def kpis(
    ws: Workspace,
    names: list[str] | None = None,
    as_of: datetime | str | None = None,
    period: str = "90d",
) -> list[dict[str, Any]]:
    """KPIs of segments (all by default) and of the whole base, one row each with the time they are
    for (``as_of``): current members (``as_of`` None, at the time they were evaluated) or members at
    ``as_of``."""
    for name in names or ():
        require_segment(ws, name)
    t = parse_as_of(as_of) if as_of is not None else current_time(ws)
    members = members_at(ws, t if as_of is not None else None)
    tables = ws.tables()
    facts = customer_facts(tables["customers"], tables["orders"], tables["events"], t, parse_duration(period))
    rows = segment_kpis(facts, members, names).to_pyarrow().to_pylist()
    return [{**row, "as_of": t} for row in rows]
