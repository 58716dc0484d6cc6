"""What every CLI command shares: the global options, opening the workspace, and printing results as
Rich tables for people or JSON for programs (``--json``)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from segmint.adapters.workspace import Workspace

console = Console()
err_console = Console(stderr=True)


@dataclass
class CliState:
    workspace: Path | None = None
    engine: str | None = None
    json: bool = False


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if root.obj is None:
        root.obj = CliState()
    return root.obj


def open_workspace(ctx: typer.Context, read_only: bool = False) -> Workspace:
    st = state(ctx)
    return Workspace.open(st.workspace, engine=st.engine, read_only=read_only)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=_default, indent=2) + "\n")


def emit(
    ctx: typer.Context, data: Any, *, title: str | None = None, columns: list[str] | None = None
) -> None:
    """Print ``data`` as JSON with --json, else as a table (list of dicts) or key/value pairs (dict)."""
    if state(ctx).json:
        print_json(data)
        return
    if isinstance(data, dict):
        table = Table(title=title, show_header=False)
        table.add_column("key", style="bold")
        table.add_column("value")
        for key, value in data.items():
            table.add_row(str(key), _fmt(value))
        console.print(table)
        return
    rows = list(data)
    cols = columns or (list(rows[0]) if rows else [])
    table = Table(title=title)
    for col in cols:
        table.add_column(col)
    for row in rows:
        table.add_row(*[_fmt(row.get(c)) for c in cols])
    console.print(table)


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.2f}"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)
