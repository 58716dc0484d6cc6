"""A workspace made for Spark (``kind = "pyspark"``) works from the command line like a DuckDB one, and
its tables outlive the process: ``init``, ``import`` (every format), ``generate --load``, ``run``,
``segments count``, ``explain`` and ``report`` give the answers the same commands give on DuckDB.

Each workspace's commands run in a fresh interpreter (one Spark session per process, configured by the
workspace: its warehouse and its catalog), and a second process then reads what the first wrote.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures" / "importers"
CDNOW_SAMPLE = HERE.parents[1] / "src" / "segmint" / "data" / "cdnow" / "CDNOW_sample.txt"
AS_OF = "1998-06-30"
RULE = "orders_count >= 5"

# Runs `segmint ARGS --json -w DIR` for each ARGS in order, in this process, and prints the outputs
# as one JSON list. An argument "{first}" is the first member of rfm_champions (read just before).
RUNNER = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from segmint.cli.main import main

    root, commands = sys.argv[1], json.loads(sys.argv[2])
    outputs, first = [], None
    for args in commands:
        args = [first if a == "{first}" else a for a in args]
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            try:
                main([*args, "-w", root, "--json"])
                code = 0
            except SystemExit as exc:
                code = exc.code or 0
        text = buf.getvalue()
        data = json.loads(text) if text.strip() else None
        outputs.append({"args": args, "code": code, "out": data})
        if args[:2] == ["segments", "members"] and data:
            first = data[0]["customer_id"]
    print("@@" + json.dumps(outputs, default=str))
    """
)


def segmint(root: Path, commands: list[list[str]]) -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(root), json.dumps(commands)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outputs = json.loads(done.stdout.rsplit("@@", 1)[1])
    for step in outputs:
        assert step["code"] == 0, (step, done.stderr[-3000:])
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return outputs


def imported_shop(tmp_path: Path) -> list[list[str]]:
    generic = tmp_path / "more_customers.csv"
    generic.write_text(
        "customer_id,email,created_at,country\n"
        "g1,g1@example.com,1997-02-01 10:00:00,FR\n"
        "g2,,1997-03-01 11:30:00,BE\n"
    )
    return [
        ["import", "cdnow", str(CDNOW_SAMPLE)],
        ["import", "shopify-customers", str(FIXTURES / "shopify_customers.csv")],
        ["import", "shopify-orders", str(FIXTURES / "shopify_orders.csv")],
        ["import", "online-retail", str(FIXTURES / "online_retail.csv")],
        ["import", "generic", str(generic), "--table", "customers"],
        ["segments", "install-library"],
        ["run", "--as-of", AS_OF],
        ["segments", "count", RULE, "--as-of", AS_OF],
        ["segments", "members", "rfm_champions", "--as-of", AS_OF],
        ["explain", "{first}", "rfm_champions", "--as-of", AS_OF],
        ["report", "--as-of", AS_OF, "-o", str(tmp_path / "report.html")],
    ]


def answers(outputs: list[dict]) -> dict[str, object]:
    """What must agree between engines: rows loaded, every segment's size, the count, the members and
    the explanation."""
    by = {" ".join(step["args"][:2]): step["out"] for step in outputs}
    loaded = [step["out"]["rows_loaded"] for step in outputs if step["args"][0] == "import"]
    run = {s["name"]: s["members"] for s in by["run --as-of"]["segments"]}
    explanation = by[f"explain {outputs[9]['args'][1]}"]
    return {
        "loaded": loaded,
        "run": run,
        "count": by["segments count"]["customers"],
        "members": [m["customer_id"] for m in by["segments members"]],
        "explain": (explanation["result"], explanation["lines"]),
    }


def generated(tmp_path: Path) -> list[list[str]]:
    return [
        ["generate", "-n", "300", "-o", str(tmp_path / "data"), "--seed", "4", "--workers", "1", "--load"],
        ["segments", "count", "orders_count >= 2 and sessions_30d >= 1", "--as-of", "2025-12-31"],
    ]


def test_a_spark_workspace_answers_like_a_duckdb_one_across_processes(tmp_path):
    """Two processes per engine (a JVM start costs ~20 s): the imports, run and reads, then a second
    process that reads what the first wrote and loads a generated shop on top."""
    found, later = {}, {}
    again = [
        ["segments", "count", RULE, "--as-of", AS_OF],
        ["segments", "members", "rfm_champions", "--as-of", AS_OF],
    ]
    for kind in ("duckdb", "pyspark"):
        root = tmp_path / kind
        subprocess.run(
            [sys.executable, "-m", "segmint.cli.main", "init", str(root), "--engine", kind],
            check=True,
            capture_output=True,
        )
        found[kind] = answers(segmint(root, imported_shop(tmp_path)))
        assert (tmp_path / "report.html").stat().st_size > 10_000
        (tmp_path / "report.html").unlink()
        second = segmint(root, again + generated(tmp_path))
        later[kind] = {
            "count": second[0]["out"]["customers"],
            "members": [m["customer_id"] for m in second[1]["out"]],
            "generated": second[3]["out"]["customers"],
        }
    assert found["pyspark"] == found["duckdb"]
    assert found["duckdb"]["count"] > 300 and sum(found["duckdb"]["run"].values()) > 1_000
    # The second process saw what the first wrote (tables, runs, memberships), then loaded more.
    assert later["pyspark"] == later["duckdb"]
    assert later["duckdb"]["count"] == found["duckdb"]["count"]
    assert later["duckdb"]["members"] == found["duckdb"]["members"]
    assert later["duckdb"]["generated"] > 0


def test_a_second_spark_workspace_in_one_process_is_refused(con, tmp_path):
    """Spark hands every later request the process's first session (warehouse and catalog included):
    opening another workspace on it would read and write the first one's tables. It is refused."""
    if con.name != "pyspark":
        pytest.skip("about Spark sessions")
    from segmint.adapters.engines import EngineError
    from segmint.adapters.workspace import Workspace

    with pytest.raises(EngineError, match="one session per process"):
        Workspace.init(tmp_path / "other", engine="pyspark")
