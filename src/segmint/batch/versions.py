"""Segment versions: a new version of a segment is recorded whenever its content hash (rule and
parameters) changes, by whichever writer meets the new definition first (a run, a save, the live
engine's reload). Readers take the current version from :func:`current_versions`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import pyarrow as pa

from segmint.adapters.workspace import Workspace
from segmint.core.rules import nodes as n
from segmint.core.rules.printer import to_text
from segmint.core.schema import SEGMENTS
from segmint.core.segments.definition import SegmentDef

__all__ = ["current_versions", "sync_versions", "version_rows"]


def _latest(ws: Workspace) -> dict[str, tuple[int, str | None]]:
    stored = ws.table("segments")
    latest = stored.group_by("name").aggregate(version=stored.version.max())
    rows = latest.inner_join(stored, ["name", "version"]).select("name", "version", "hash").to_pyarrow()
    return {r["name"]: (r["version"], r["hash"]) for r in rows.to_pylist()}


def current_versions(ws: Workspace) -> dict[str, int]:
    """The latest recorded version of every segment that has one (a read)."""
    return {name: version for name, (version, _) in _latest(ws).items()}


def sync_versions(ws: Workspace, defs: list[SegmentDef], rules: Mapping[str, n.Rule]) -> dict[str, int]:
    """Record a new version of every segment whose content hash changed; return current versions."""
    have = _latest(ws)
    now = datetime.now(UTC).replace(tzinfo=None)
    new_rows, versions = [], {}
    for d in defs:
        version, digest = have.get(d.name, (0, None))
        if digest != d.content_hash:
            version += 1
            new_rows.append(
                {
                    "name": d.name,
                    "version": version,
                    "family": d.family,
                    "description": d.description,
                    "rule": to_text(rules[d.name]),
                    "tags": list(d.tags),
                    "owner": d.owner,
                    "created_at": now,
                    "hash": d.content_hash,
                }
            )
        versions[d.name] = version
    if new_rows:
        ws.store.append("segments", pa.Table.from_pylist(new_rows, schema=SEGMENTS.schema.to_pyarrow()))
    return versions


def version_rows(ws: Workspace, name: str) -> list[dict]:
    """Every stored version of one segment, newest first: version, created_at, rule, hash."""
    import ibis

    segments = ws.table("segments")
    return (
        segments.filter(segments.name == ibis.literal(name))
        .select("version", "created_at", "rule", "hash")
        .order_by(ibis.desc("version"))
        .to_pyarrow()
        .to_pylist()
    )
