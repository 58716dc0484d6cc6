"""Exporting a segment's members (with e-mail and opt-in) to a file, as of now or a past run."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from segmint.adapters.exporters.files import csv_text, write_file
from segmint.adapters.workspace import Workspace
from segmint.batch.reads import member_rows

__all__ = ["export_members", "member_csv"]


def export_members(ws: Workspace, name: str, path: str | Path, as_of: datetime | str | None = None) -> int:
    """Write a segment's members to a ``.csv`` or ``.parquet`` file; returns how many were written."""
    return write_file(member_rows(ws, name, as_of).to_pyarrow(), path)


def member_csv(ws: Workspace, name: str, as_of: datetime | str | None = None) -> str:
    """A segment's members as CSV text (the dashboard's download), the same rows as the file export."""
    return csv_text(member_rows(ws, name, as_of).to_pyarrow())
