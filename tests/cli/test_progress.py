"""Progress of long work: the use cases report sensible (done, total) steps; the CLI draws them on
stderr only for a terminal (or when forced), never on stdout and never under --json."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

import segmint
from segmint.adapters.workspace import Workspace
from segmint.batch.importing import import_files
from segmint.cli import _common
from segmint.demo.generate import generate_shop, load_generated

from .conftest import CDNOW_SAMPLE, cli

BAR = "━"


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int | None, str]] = []

    def __call__(self, done: int, total: int | None, message: str) -> None:
        assert isinstance(done, int) and (total is None or isinstance(total, int))
        assert isinstance(message, str) and message
        self.calls.append((done, total, message))

    def phases(self) -> list[list[tuple[int, int | None, str]]]:
        """Consecutive calls with the same total."""
        out: list[list] = []
        for call in self.calls:
            if out and out[-1][-1][1] == call[1]:
                out[-1].append(call)
            else:
                out.append([call])
        return out


def _assert_phases_well_formed(recorder: Recorder) -> None:
    for phase in recorder.phases():
        dones = [d for d, _, _ in phase]
        assert dones == sorted(dones), phase
        total = phase[0][1]
        assert all(d >= 0 and (total is None or d <= total) for d in dones), phase


def _two_cdnow_files(tmp_path):
    lines = CDNOW_SAMPLE.read_text().splitlines(keepends=True)
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    first.write_text("".join(lines[:4000]))
    second.write_text("".join(lines[4000:]))
    return first, second


def test_import_reports_each_batch_then_each_step(tmp_path, workspace, monkeypatch):
    from segmint.adapters.importers import _source

    monkeypatch.setattr(_source, "CSV_BLOCK", 16 << 10)  # many batches from a small file
    first, second = _two_cdnow_files(tmp_path)
    size = first.stat().st_size + second.stat().st_size
    progress = Recorder()
    report = import_files(workspace, "cdnow", [first, second], progress=progress)
    assert report.rows_loaded == 6919
    _assert_phases_well_formed(progress)

    reading, checking, merging = progress.phases()
    assert {t for _, t, _ in reading} == {size}
    assert len(reading) > 10  # per batch, not once per file
    assert reading[-1][0] == size
    assert (first.stat().st_size, size, "read first.txt: 4,000 rows") in reading
    assert reading[-1][2] == "read second.txt: 2,919 rows"
    assert any(m.startswith("reading first.txt: ") for _, _, m in reading)
    assert [(d, t) for d, t, _ in checking] == [(0, None)]
    n = len(report.tables)
    assert [(d, t) for d, t, _ in merging] == [(i, n) for i in range(n + 1)]
    assert [m for _, _, m in merging[:-1]] == [f"merging {name}" for name in report.tables]


def test_a_skipped_import_reports_no_progress(tmp_path, workspace):
    import_files(workspace, "cdnow", [CDNOW_SAMPLE])
    progress = Recorder()
    report = import_files(workspace, "cdnow", [CDNOW_SAMPLE], progress=progress)
    assert report.skipped and progress.calls == []


def test_generate_and_load_report_each_block_and_table(tmp_path, workspace):
    progress = Recorder()
    generate_shop(tmp_path / "gen", 600, seed=2, workers=1, block_size=200, progress=progress)
    assert [(d, t) for d, t, _ in progress.calls] == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert progress.calls[0][2] == "generating 600 customers in 3 blocks"
    assert progress.calls[-1][2] == "generated block 3 of 3"

    loading = Recorder()
    loaded = load_generated(workspace, tmp_path / "gen", progress=loading)
    n = len(loaded)
    assert [(d, t) for d, t, _ in loading.calls] == [(i, n) for i in range(n + 1)]
    assert [m for _, _, m in loading.calls[:-1]] == [f"loading {name}" for name in loaded]


# -- the CLI ---------------------------------------------------------------------------------------


@pytest.fixture
def empty_shop(tmp_path) -> str:
    root = tmp_path / "shop"
    Workspace.init(root).close()
    return str(root)


def test_no_progress_when_stderr_is_not_a_terminal(empty_shop, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(_common.PROGRESS_ENV, raising=False)
    monkeypatch.setattr(_common, "SHOW_AFTER_SECONDS", 0.0)  # would show at once on a terminal
    code, out, err = cli(capsys, "import", "cdnow", str(CDNOW_SAMPLE), "-w", empty_shop)
    assert code == 0 and err == ""
    assert "6919" in out and BAR not in out and "reading" not in out
    code, out, err = cli(capsys, "generate", "-n", "500", "--out", str(tmp_path / "gen"), "--workers", "1")
    assert code == 0 and err == "" and BAR not in out


def test_no_progress_under_json_even_when_forced(empty_shop, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(_common.PROGRESS_ENV, "1")
    code, out, err = cli(capsys, "import", "cdnow", str(CDNOW_SAMPLE), "-w", empty_shop, "--json")
    assert code == 0 and err == ""
    assert json.loads(out)["rows_loaded"] == 6919
    gen = str(tmp_path / "gen")
    code, out, err = cli(capsys, "generate", "--json", "-n", "500", "--out", gen, "--workers", "1")
    assert code == 0 and err == "" and json.loads(out)["rows.customers"] == 500


def test_forced_progress_is_drawn_on_stderr_only(empty_shop, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(_common.PROGRESS_ENV, "1")
    monkeypatch.setenv("TERM", "xterm")
    code, out, err = cli(capsys, "import", "cdnow", str(CDNOW_SAMPLE), "-w", empty_shop)
    assert code == 0
    assert "import" in err and "reading CDNOW_sample.txt" in err and BAR in err
    assert BAR not in out and "reading" not in out and "6919" in out
    gen = str(tmp_path / "gen")
    code, out, err = cli(capsys, "generate", "-n", "500", "--out", gen, "--workers", "1", "-w", empty_shop)
    assert code == 0 and "generating 500 customers in 1 block" in err and BAR not in out


def test_progress_can_be_turned_off(empty_shop, capsys, monkeypatch):
    monkeypatch.setenv(_common.PROGRESS_ENV, "0")
    monkeypatch.setattr(_common, "_stderr_is_terminal", lambda: True)
    code, _, err = cli(capsys, "import", "cdnow", str(CDNOW_SAMPLE), "-w", empty_shop)
    assert code == 0 and err == ""


def test_a_real_process_with_piped_stderr_prints_no_progress(empty_shop):
    env = {k: v for k, v in os.environ.items() if k != _common.PROGRESS_ENV}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(segmint.__file__).parents[1]), *sys.path])
    done = subprocess.run(
        [sys.executable, "-m", "segmint.cli.main", "-w", empty_shop, "import", "cdnow", str(CDNOW_SAMPLE)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and BAR not in done.stdout


def test_a_terminal_gets_the_bar(empty_shop, capsys, monkeypatch):
    """stderr on a pseudo-terminal: the bar is drawn there, without forcing."""
    monkeypatch.delenv(_common.PROGRESS_ENV, raising=False)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr(_common, "SHOW_AFTER_SECONDS", 0.0)
    leader, follower = pty.openpty()
    terminal = open(follower, "w", encoding="utf-8", closefd=True)  # noqa: SIM115
    monkeypatch.setattr(sys, "stderr", terminal)
    try:
        code, out, _ = cli(capsys, "import", "cdnow", str(CDNOW_SAMPLE), "-w", empty_shop)
        terminal.flush()
        drawn = _read_all(leader)
    finally:
        terminal.close()
        os.close(leader)
    assert code == 0 and "6919" in out and BAR not in out
    assert "reading CDNOW_sample.txt" in drawn and BAR in drawn


def _read_all(fd: int) -> str:
    import select

    chunks = []
    while select.select([fd], [], [], 0.2)[0]:
        chunks.append(os.read(fd, 65536))
    return b"".join(chunks).decode("utf-8", "replace")


# -- the display itself ----------------------------------------------------------------------------


def _display(delay: float) -> tuple[_common._ProgressDisplay, io.StringIO]:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, force_interactive=True, width=120)
    return _common._ProgressDisplay(console, "work", delay=delay), buffer


def test_quick_work_does_not_flash_a_bar():
    display, buffer = _display(delay=30.0)
    display(1, 2, "half")
    display.close()
    assert buffer.getvalue() == ""


def test_slow_work_shows_the_bar_even_between_calls():
    display, buffer = _display(delay=0.05)
    display(1, 4, "first quarter")
    deadline = time.monotonic() + 10
    while "first quarter" not in buffer.getvalue() and time.monotonic() < deadline:
        time.sleep(0.05)
    display.close()
    assert "first quarter" in buffer.getvalue()


def test_phases_with_and_without_a_total_and_markup_in_messages():
    display, buffer = _display(delay=0.0)
    display(50, 100, "reading x.csv")
    display(0, None, "checking")
    display(1, 3, "merging orders")
    display(3, 3, "merged [bold]orders[/]")
    display.close()
    # The last state is drawn when the bar stops, its message verbatim (file names are not markup).
    assert "merged [bold]orders[/]" in buffer.getvalue()
