"""Saving and deleting segments while the service runs: the one save (:mod:`segmint.batch.admin`)
followed by one live refresh, on the live thread, so the new members are recorded by the live engine
with the same change numbering as every other change (and announced to webhooks and the stream).

The API (``POST``/``PUT``/``DELETE /v1/segments``) and the dashboard builder both call these; both
require the ``admin`` scope before they do.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from segmint.batch import admin
from segmint.batch.reads import counts
from segmint.batch.versions import current_versions

__all__ = ["delete_segment", "save_segment"]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def save_segment(service: Any, data: Mapping[str, Any], mode: admin.Mode) -> dict[str, Any]:
    """Save a definition and evaluate it and its dependants for every customer now (run on the live
    thread). Returns the definition's fields with its version and member count."""
    ws = service.live_ws
    saved = admin.save_segment(ws, data, mode=mode)
    try:
        service.evaluator.refresh(force=True)  # records the new version
        service.live.sweep(_now(), segments=saved.affected)
    except BaseException:
        admin.restore(saved)
        service.evaluator.refresh(force=True)
        raise
    service.bump()
    name = saved.definition.name
    return {
        **saved.definition.to_mapping(),
        "version": current_versions(ws).get(name),
        "members": counts(ws).get(name, 0),
    }


def delete_segment(service: Any, name: str) -> int:
    """Delete a segment's file; every member exits now (cause ``deleted``). Returns how many exited."""
    ws = service.live_ws
    version = current_versions(ws).get(name)
    admin.delete_segment(ws, name)
    service.evaluator.refresh(force=True)
    exited = len(service.live.retire(name, version, _now()))
    service.bump()
    return exited
