"""The pipeline through the CLI, as a user runs it: init, import, install the library, run, backfill, demo."""

from __future__ import annotations

import json

import pytest

from segmint.cli.main import main


def _run(capsys, *args: str) -> dict | list:
    capsys.readouterr()
    try:
        main(["--json", *args])
    except SystemExit as exc:
        assert exc.code in (0, None), capsys.readouterr()
    return json.loads(capsys.readouterr().out)


def test_run_computes_traits_and_segments_as_of_a_time(tmp_path, capsys, cdnow_dir):
    ws = str(tmp_path / "shop")
    _run(capsys, "init", ws)
    _run(capsys, "-w", ws, "import", "cdnow", str(cdnow_dir / "CDNOW_sample.txt"))
    only_traits = _run(capsys, "-w", ws, "run", "--as-of", "1997-09-30")
    assert only_traits["customers"] == 2357 - _first_buyers_after(cdnow_dir, "19970930")
    assert only_traits["segments"] == []

    _run(capsys, "-w", ws, "segments", "install-library")
    result = _run(capsys, "-w", ws, "run", "--as-of", "1998-06-30")
    assert result["customers"] == 2357
    sizes = {s["name"]: s["members"] for s in result["segments"]}
    # Every CDNOW customer bought at least once, so nobody is a prospect and everyone is in some RFM group.
    assert sizes["lifecycle_prospect"] == 0
    rfm = sum(v for k, v in sizes.items() if k.startswith("rfm_"))
    assert rfm == 2357
    again = _run(capsys, "-w", ws, "run", "--as-of", "1998-06-30")
    assert all(s["entered"] == 0 and s["exited"] == 0 for s in again["segments"])


def test_backfill_runs_every_step(tmp_path, capsys, cdnow_dir):
    ws = str(tmp_path / "shop")
    _run(capsys, "init", ws)
    _run(capsys, "-w", ws, "import", "cdnow", str(cdnow_dir / "CDNOW_sample.txt"))
    _run(capsys, "-w", ws, "segments", "install-library")
    rows = _run(capsys, "-w", ws, "run", "--from", "1997-06-01", "--to", "1997-06-29", "--every", "1w")
    assert [r["as_of"][:10] for r in rows] == [
        "1997-06-01",
        "1997-06-08",
        "1997-06-15",
        "1997-06-22",
        "1997-06-29",
    ]


def test_backfill_needs_both_ends(tmp_path, capsys):
    ws = str(tmp_path / "shop")
    _run(capsys, "init", ws)
    with pytest.raises(SystemExit) as exc:
        main(["-w", ws, "run", "--from", "1997-06-01"])
    assert exc.value.code != 0
    assert "--from and --to" in capsys.readouterr().err


def _first_buyers_after(cdnow_dir, day: str) -> int:
    first: dict[str, str] = {}
    for line in (cdnow_dir / "CDNOW_sample.txt").read_text().splitlines():
        cust, _, date, *_ = line.split()
        first[cust] = min(first.get(cust, date), date)
    return sum(1 for d in first.values() if d > day)


@pytest.mark.slow
def test_demo_builds_a_shop_and_reuses_it(tmp_path, capsys):
    summary = _run(capsys, "demo", "--customers", "600", "--dir", str(tmp_path / "demo"), "--no-serve")
    assert summary["reused"] is False
    assert summary["counts"]["customers"] == 600
    assert summary["counts"]["orders"] > 600
    assert summary["revenue"] > 0
    names = {s["segment"] for s in summary["segments"]}
    assert {"mobile_first", "high_spenders"} <= names
    assert set(summary["models"]) >= {"bgnbd", "gg", "clusters"}
    again = _run(capsys, "demo", "--customers", "600", "--dir", str(tmp_path / "demo"), "--no-serve")
    assert again["reused"] is True
    assert again["counts"] == summary["counts"]


def test_the_demo_key_is_the_only_working_demo_key(workspace):
    from segmint.access.keys import KeyRing, list_keys
    from segmint.adapters.workspace import Workspace
    from segmint.cli.demo_cmd import _demo_key

    root = workspace.root
    workspace.close()
    first, second = _demo_key(root), _demo_key(root)
    with Workspace.open(root) as ws:
        ring = KeyRing(list_keys(ws.con))
    assert ring.check(first) is None  # revoked when the next demo started
    key = ring.check(second)
    assert key is not None and key.name == "demo"
    assert all(key.allows(scope) for scope in ("read", "ingest", "admin"))


def test_predict_fit_on_an_imported_cdnow_workspace(tmp_path, capsys, cdnow_dir):
    """Issue 4, acceptance 3, as a user types it: import the CDNOW sample with the cdnow importer, then
    `segmint predict fit --model bgnbd --calibration-end 1997-09-30 --json` prints the published fit."""
    ws = str(tmp_path / "shop")
    _run(capsys, "init", ws)
    _run(capsys, "-w", ws, "import", "cdnow", str(cdnow_dir / "CDNOW_sample.txt"))
    run = _run(capsys, "-w", ws, "predict", "fit", "--model", "bgnbd", "--calibration-end", "1997-09-30")
    assert {k: round(v, 3) for k, v in run["parameters"].items()} == {
        "r": 0.243,
        "alpha": 4.414,
        "a": 0.793,
        "b": 2.426,
    }
    assert round(run["log_likelihood"], 2) == -9582.43
    assert run["n_customers"] == 2357
