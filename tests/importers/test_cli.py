from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from segmint.cli.main import main

from .conftest import FIXTURES


def _run(capsys, *args) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    # Rich wraps long lines; compare with whitespace normalised.
    return code, out, " ".join(err.split())


@pytest.fixture
def ws_dir(tmp_path, capsys) -> Path:
    ws = tmp_path / "shop"
    assert _run(capsys, "init", str(ws))[0] == 0
    return ws


def test_cli_import_json_summary_and_skip(ws_dir, capsys):
    code, out, _ = _run(
        capsys,
        "--workspace",
        str(ws_dir),
        "--json",
        "import",
        "online-retail",
        str(FIXTURES / "online_retail.csv"),
    )
    assert code == 0
    data = json.loads(out)
    assert data["tables"]["orders"] == 6 and data["rows_rejected"] == 0 and data["rows_loaded"] == 8
    code, out, err = _run(
        capsys, "--workspace", str(ws_dir), "import", "online-retail", str(FIXTURES / "online_retail.csv")
    )
    assert code == 0 and "skipped" in out and "already imported" in err


def test_cli_failures_exit_non_zero_with_the_message(ws_dir, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice\n1,A,six,12/1/2010 8:26,1\n")
    code, _, err = _run(capsys, "--workspace", str(ws_dir), "import", "online-retail", str(bad))
    assert code == 2
    assert "bad.csv, row 2, column 'Quantity', value 'six': not a quantity" in err
    code, _, err = _run(capsys, "--workspace", str(ws_dir), "import", "cdnow", str(tmp_path / "none.txt"))
    assert code == 2 and "none.txt: file not found" in err
    code, _, err = _run(capsys, "--workspace", str(ws_dir), "import", "shopify", str(bad))
    assert code == 2 and "did you mean" in err


def test_cli_map_column_and_timezone(ws_dir, tmp_path, capsys):
    mapped = tmp_path / "m.csv"
    mapped.write_text("Ref,When\nx1,2025-01-01 10:00\n")
    code, out, err = _run(
        capsys,
        "--workspace",
        str(ws_dir),
        "--json",
        "import",
        "generic",
        str(mapped),
        "--table",
        "orders",
        "--map-column",
        "order_id=Ref",
        "--map-column",
        "ordered_at=When",
        "--timezone",
        "America/New_York",
    )
    assert code == 0, err
    assert json.loads(out)["tables"] == {"orders": 1}
    from segmint.adapters.workspace import Workspace

    with Workspace.open(ws_dir) as ws:
        assert str(ws.table("orders").ordered_at.to_pyarrow()[0].as_py()) == "2025-01-01 15:00:00"


def test_installed_entry_point_exit_code(ws_dir, tmp_path):
    bad = tmp_path / "empty.csv"
    bad.write_text("")
    exe = Path(sys.executable).parent / "segmint"
    res = subprocess.run(
        [str(exe), "--workspace", str(ws_dir), "import", "online-retail", str(bad)],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2
    assert "file is empty" in " ".join(res.stderr.split()) and "Traceback" not in res.stderr
