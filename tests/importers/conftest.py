"""Helpers for importer tests: fixture paths and a snapshot of every stored table."""

from __future__ import annotations

from pathlib import Path

import pytest

from segmint.core.schema import CANONICAL

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "importers"


def snapshot(ws) -> dict[str, list]:
    """Every canonical and bookkeeping table's rows, sorted, to compare before/after."""
    out = {}
    for name in [*CANONICAL, "imports", "quarantine"]:
        rows = ws.table(name).to_pyarrow().to_pylist()
        out[name] = sorted(rows, key=repr)
    return out


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path
