"""What every CLI command shares: the global options, opening the workspace, printing results as
Rich tables for people or JSON for programs (``--json``), and showing the progress of long work."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from rich import progress as rich_progress
from rich.console import Console
from rich.table import Table

from segmint.adapters.workspace import Workspace
from segmint.core.progress import NO_PROGRESS, Progress

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


# SEGMINT_PROGRESS=1 shows progress even when stderr is not a terminal (logs, tests); 0 never shows it.
PROGRESS_ENV = "SEGMINT_PROGRESS"
# On a terminal the bar appears only once the work has lasted this long, so quick commands do not flash.
SHOW_AFTER_SECONDS = 1.0


@contextmanager
def progress_for(ctx: typer.Context, title: str) -> Iterator[Progress]:
    """A ``Progress`` callable for a use case, drawn as a bar on stderr while the block runs and erased
    after it. Stdout is left alone (it carries the result), and nothing at all is drawn under
    ``--json`` or when stderr is not a terminal, where a redrawn bar would only be noise in a pipe or
    log; ``SEGMINT_PROGRESS`` overrides the terminal check, never ``--json``."""
    wanted = os.environ.get(PROGRESS_ENV, "").strip().lower()
    forced = wanted in {"1", "true", "yes", "on"}
    if state(ctx).json or wanted in {"0", "false", "no", "off"} or not (forced or _stderr_is_terminal()):
        yield NO_PROGRESS
        return
    # A fresh console: it must write to the stderr of now (tests swap it) and, when forced, act as a
    # terminal whatever the stream is.
    console = Console(stderr=True, force_terminal=forced or None, force_interactive=forced or None)
    display = _ProgressDisplay(console, title, delay=0.0 if forced else SHOW_AFTER_SECONDS)
    try:
        yield display
    finally:
        display.close()


def _stderr_is_terminal() -> bool:
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):  # a closed or detached stream
        return False


class _ProgressDisplay:
    """Drives one Rich progress bar through the ``Progress`` protocol.

    A call with a different ``total`` starts a new task: a new phase has its own units, speed and time
    remaining. The bar is started by a timer after ``delay`` seconds, so it shows even while a single
    long step makes no calls; updates before then are kept and shown when it appears."""

    def __init__(self, console: Console, title: str, delay: float) -> None:
        self._bar = rich_progress.Progress(
            rich_progress.SpinnerColumn(),
            rich_progress.TextColumn(title, style="bold", markup=False),
            # Messages name files and segments: never read them as Rich markup.
            rich_progress.TextColumn("{task.description}", markup=False),
            rich_progress.BarColumn(bar_width=30),
            rich_progress.TaskProgressColumn(),
            rich_progress.TimeElapsedColumn(),
            rich_progress.TimeRemainingColumn(compact=True),
            console=console,
            transient=True,
            redirect_stdout=False,  # stdout carries the result, not the bar's log lines
        )
        self._total: int | None = None
        self._task = self._bar.add_task("starting", total=None)
        self._lock = threading.Lock()
        self._shown = self._closed = False
        self._timer: threading.Timer | None = None
        if delay <= 0:
            self._show()
        else:
            self._timer = threading.Timer(delay, self._show)
            self._timer.daemon = True
            self._timer.start()

    def __call__(self, done: int, total: int | None, message: str) -> None:
        if total != self._total:
            self._bar.remove_task(self._task)
            self._task = self._bar.add_task(message, total=total, completed=done)
            self._total = total
        else:
            self._bar.update(self._task, completed=done, description=message)

    def _show(self) -> None:
        with self._lock:
            if not self._closed and not self._shown:
                self._bar.start()
                self._shown = True

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._closed = True
            if self._shown:
                self._bar.stop()
