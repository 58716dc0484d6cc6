"""Shared fixtures: a fresh workspace per test, and paths to the packaged CDNOW data."""

from __future__ import annotations

from pathlib import Path

import pytest

from segmint.adapters.workspace import Workspace

CDNOW_DIR = Path(__file__).resolve().parents[1] / "src" / "segmint" / "data" / "cdnow"


@pytest.fixture
def workspace(tmp_path: Path):
    ws = Workspace.init(tmp_path / "shop")
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def cdnow_dir() -> Path:
    return CDNOW_DIR
