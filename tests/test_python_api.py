"""The public Python API (``import segmint``): every method gives the numbers of the CLI command it
stands for (both call the same use case), a read-only workspace reads and refuses every write, mistakes
are ``SegmintError``s that say what is wrong, and only the documented names are public."""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime
from pathlib import Path

import duckdb
import ibis
import pytest

import segmint
from segmint.adapters.store import TableStore
from segmint.adapters.workspace import Workspace as InternalWorkspace
from segmint.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
CDNOW_SAMPLE = ROOT / "src" / "segmint" / "data" / "cdnow" / "CDNOW_sample.txt"
DOC = ROOT / "docs" / "python.md"
LATEST = datetime(1998, 6, 30)
PAST = "1997-09-30"
SEGMENTS = {  # name: (rule, family, group)
    "repeat_buyers": ("orders_count >= 2", "behavioral", None),
    "lapsed_regulars": ("orders_count >= 2 and last_order_at < -180d", "lifecycle", None),
    "spend_low": ("total_spent < 100", "value", "spend"),
    "spend_high": ("total_spent >= 100 and not in_segment('lapsed_regulars')", "value", "spend"),
}
RULES = [
    "orders_count >= 5",
    "total_spent > 300 and in_segment('repeat_buyers')",
    "last_order_at >= -90d or aov between 20 and 40",
]


# -- helpers ---------------------------------------------------------------------------------------------
def cli(capsys, *args: str):
    """``segmint --json ARGS`` run in-process, as a user types it; its JSON output."""
    capsys.readouterr()
    try:
        main(["--json", *args])
    except SystemExit as exc:
        assert exc.code in (0, None), capsys.readouterr()
    return json.loads(capsys.readouterr().out)


def jsonable(value):
    """``value`` as the CLI's --json prints it (datetimes as ISO text), to compare like with like."""

    def default(v):
        if isinstance(v, datetime | date):
            return v.isoformat()
        if hasattr(v, "item"):
            return v.item()
        return str(v)

    return json.loads(json.dumps(value, default=default))


def records(frame, *order: str) -> list[dict]:
    """A DataFrame's rows with pandas' missing values back as None, as the use case returned them
    (sorted by ``order`` where the use case does not fix the order of its rows)."""
    return ordered(jsonable(frame.astype(object).where(frame.notna(), None).to_dict("records")), *order)


def close(a, b) -> bool:
    """Equal, floats to 12 significant digits."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and math.isclose(a, b, rel_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def ordered(rows: list[dict], *keys: str) -> list[dict]:
    return sorted(rows, key=lambda r: [str(r[k]) for k in keys]) if keys else rows


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> str:
    """The CDNOW sample with four segments (two in the exclusive group ``spend``), run at a past time
    and at the end of the data, with a BG/NBD fit and scores: built through the public API."""
    root = tmp_path_factory.mktemp("python_api") / "shop"
    with segmint.init(root) as ws:
        report = ws.import_files("cdnow", CDNOW_SAMPLE)
        assert report["tables"] == {"customers": 2357, "orders": 6919}
        # Scores first: they are inputs of traits, so the latest run's stored traits stay valid.
        ws.fit("bgnbd", calibration_end=PAST, holdout_end="1998-06-30")
        ws.score()
        for name, (rule, family, group) in SEGMENTS.items():
            ws.save_segment(name, rule, family=family, group=group)
        ws.run(as_of=PAST)
        ws.run()
    return str(root)


@pytest.fixture
def ro(shop):
    """The shop opened read-only, as the CLI's read commands open it (so both can be open at once)."""
    with segmint.open(shop, read_only=True) as ws:
        yield ws


# -- the same numbers as the CLI -------------------------------------------------------------------------
@pytest.mark.parametrize("as_of", [None, PAST])
def test_segments_and_count_are_the_segment_list_of_the_cli(shop, ro, capsys, as_of):
    args = ["--as-of", as_of] if as_of else []
    listed = {r["name"]: r["members"] for r in cli(capsys, "-w", shop, "segments", "list", *args)}
    frame = ro.segments(as_of)
    assert dict(zip(frame.name, frame.members, strict=True)) == listed
    assert {name: ro.count(name, as_of) for name in listed} == listed
    assert set(SEGMENTS) <= set(listed) and all(listed[name] > 0 for name in SEGMENTS)
    assert records(frame) == cli(capsys, "-w", shop, "segments", "list", *args)


@pytest.mark.parametrize("as_of", [None, PAST])
def test_members_are_the_cli_members(shop, ro, capsys, as_of):
    args = ["--as-of", as_of] if as_of else []
    rows = cli(capsys, "-w", shop, "segments", "members", "spend_high", "--limit", "0", *args)
    frame = ro.members("spend_high", as_of)
    assert list(frame.columns) == ["customer_id", "since"]
    assert records(frame) == rows
    assert len(frame) == ro.count("spend_high", as_of)


@pytest.mark.parametrize("as_of", [None, PAST])
@pytest.mark.parametrize("rule", RULES)
def test_select_matches_segments_count(shop, ro, capsys, rule, as_of):
    args = ["--as-of", as_of] if as_of else []
    counted = cli(capsys, "-w", shop, "segments", "count", rule, *args)
    chosen = ro.select(rule, as_of)
    assert list(chosen.columns) == ["customer_id"] and chosen.customer_id.is_unique
    assert len(chosen) == counted["customers"] > 0
    assert chosen.attrs["as_of"].isoformat() == counted["as_of"]
    assert chosen.attrs["as_of"] == (LATEST if as_of is None else datetime(1997, 9, 30))


@pytest.mark.parametrize("as_of", [None, PAST])
def test_explain_is_the_cli_explanation(shop, ro, capsys, as_of):
    args = ["--as-of", as_of] if as_of else []
    for customer in ("21", "10048"):
        out = cli(capsys, "-w", shop, "explain", customer, "lapsed_regulars", *args)
        why = ro.explain(customer, "lapsed_regulars", as_of)
        assert isinstance(why, segmint.Explanation)
        assert (why.result, why.found, list(why.lines)) == (out["result"], out["found"], out["lines"])
        assert jsonable(why.clauses) == out["clauses"] and why.as_of.isoformat() == out["as_of"]
        assert why.result == (customer in set(ro.members("lapsed_regulars", as_of).customer_id))
        assert str(why).splitlines()[1:] == out["lines"]


def test_explanation_prints_the_verdict_then_each_clause(ro):
    why = ro.explain("21", "lapsed_regulars")
    assert str(why).splitlines() == [
        "customer 21 is in lapsed_regulars as of 1998-06-30 00:00:00",
        "[x] and",
        "  [x] orders_count >= 2   (orders_count=2)",
        "  [x] last_order_at < -180d   (last_order_at=1997-01-13 00:00:00)",
    ]
    assert why.to_dict()["customer_id"] == "21"


@pytest.mark.parametrize("as_of", [None, PAST])
def test_kpis_are_the_cli_kpis(shop, ro, capsys, as_of):
    args = ["--as-of", as_of] if as_of else []
    rows = cli(capsys, "-w", shop, "segments", "kpis", *args, "--period", "30d")
    frame = ro.kpis(as_of=as_of, period="30d")
    # The engine sums in parallel, so ratios of sums may differ in the last digits between two queries.
    assert close(records(frame, "segment"), ordered(rows, "segment"))
    one = ro.kpis("spend_low", as_of=as_of, period="30d")
    assert set(one.segment) == {"spend_low", "(all customers)"}


def test_profile_is_the_cli_profile(shop, ro, capsys):
    profile = ro.profile(21, as_of=PAST)  # a whole number is read as the customer id it spells
    assert jsonable(profile) == cli(capsys, "-w", shop, "profile", "21", "--as-of", PAST)
    assert profile["as_of"] == datetime(1997, 9, 30) and profile["traits"]["value"]["orders_count"] == 2


def test_traits_of_a_few_customers_are_their_rows_of_all_traits(ro):
    everyone = ro.traits()
    assert len(everyone) == 2357 and everyone.customer_id.is_unique
    assert everyone.attrs == {"as_of": LATEST, "stored": True}
    ids = ["21", "50", "10048", "9999999"]  # the last is nobody: no row
    few = ro.traits(customers=ids)
    assert list(few.customer_id) == ["10048", "21", "50"]
    expected = everyone.set_index("customer_id").loc[list(few.customer_id)].reset_index()
    assert records(few) == records(expected[list(few.columns)])
    past = ro.traits(as_of=PAST)
    assert past.attrs["as_of"] == datetime(1997, 9, 30) and (past.orders_count <= everyone.orders_count).all()


def test_history_changes_migration_and_overlap_are_the_cli_ones(shop, ro, capsys):
    key = ("segment", "as_of")
    assert records(ro.history(), *key) == ordered(cli(capsys, "-w", shop, "segments", "history"), *key)
    assert records(ro.history("spend_low"), *key) == ordered(
        cli(capsys, "-w", shop, "segments", "history", "spend_low"), *key
    )
    span = ["--from", PAST, "--to", "1998-06-30"]
    changes = ro.changes("repeat_buyers", PAST, "1998-06-30")
    cli_changes = cli(capsys, "-w", shop, "segments", "changes", "repeat_buyers", *span)
    assert records(changes, "customer_id") == ordered(cli_changes, "customer_id")
    assert set(changes.change) == {"entered"}  # repeat buyers stay repeat buyers
    moves = ro.migration("spend", PAST, date(1998, 6, 30))
    key = ("from_segment", "to_segment")
    assert records(moves, *key) == ordered(
        cli(capsys, "-w", shop, "segments", "migration", "spend", *span), *key
    )
    assert moves.customers.sum() > 0
    pair = ["repeat_buyers", "spend_high"]
    overlap = cli(capsys, "-w", shop, "segments", "overlap", *pair)
    key = ("segment_a", "segment_b")
    overlap = ordered([{k: v for k, v in r.items() if k != "as_of"} for r in overlap], *key)
    assert records(ro.overlap(pair), *key) == overlap


def test_export_writes_the_file_the_cli_writes(shop, ro, capsys, tmp_path):
    n = ro.export("spend_high", tmp_path / "api.csv", as_of=PAST)
    out = cli(
        capsys,
        "-w",
        shop,
        "segments",
        "export",
        "spend_high",
        "-o",
        str(tmp_path / "cli.csv"),
        "--as-of",
        PAST,
    )
    assert n == out["customers"] == ro.count("spend_high", PAST)
    assert (tmp_path / "api.csv").read_text() == (tmp_path / "cli.csv").read_text()


def test_fit_gives_the_published_estimates_and_runs_are_the_cli_report(shop, ro, capsys):
    runs = ro.runs()
    report = cli(capsys, "-w", shop, "predict", "report")
    assert list(runs.run_id) == [r["run_id"] for r in report]
    newest = runs.iloc[0]
    assert newest.model == "bgnbd" and newest.n_customers == 2357
    assert {k: round(v, 3) for k, v in newest.parameters.items()} == {
        "r": 0.243,
        "alpha": 4.414,
        "a": 0.793,
        "b": 2.426,
    }
    assert ro.runs("gg").empty


def test_score_and_run_report_what_the_cli_reports(shop, capsys):
    with segmint.open(shop) as ws:
        scored = ws.score()
        ran = ws.run()
    by_cli = cli(capsys, "-w", shop, "predict", "score")
    keys = ("run_id", "model", "customers", "mean_p_alive", "expected_orders_90d", "in_engine")
    assert close({k: scored[k] for k in keys}, {k: by_cli[k] for k in keys})  # sums in parallel
    assert scored["as_of"] == LATEST
    cli_run = cli(capsys, "-w", shop, "run")
    assert ran["as_of"] == LATEST and cli_run["as_of"] == ran["as_of"].isoformat()
    assert ran["segments"] == cli_run["segments"]  # same members, nothing entered or left again
    assert all(s["entered"] == s["exited"] == 0 for s in ran["segments"])


def test_cluster_and_its_report_are_the_cli_ones(shop, capsys):
    with segmint.open(shop) as ws:
        fitted = ws.cluster(
            k=3, traits=["recency_days", "orders_count", "total_spent"], sample=500, name="api"
        )
        report = ws.cluster_report("api")
        sizes = {
            f"cluster:api:{c['cluster']}": ws.count(f"cluster:api:{c['cluster']}") for c in fitted["clusters"]
        }
    assert fitted["k"] == 3 and fitted["assigned"] == 2357
    assert jsonable(report) == cli(capsys, "-w", shop, "cluster", "report", "--model", "api")
    assert sizes == {c["segment"]: c["size"] for c in report["clusters"]}


def test_import_and_library_match_the_cli_on_fresh_workspaces(tmp_path, capsys):
    csv = tmp_path / "people.csv"
    csv.write_text("id,mail,land\nc1,A@Example.com,FR\nc2,b@example.com,BE\n")
    by_cli = str(tmp_path / "by_cli")
    cli(capsys, "init", by_cli)
    cli_reports = [
        cli(capsys, "-w", by_cli, "import", "cdnow", str(CDNOW_SAMPLE)),
        cli(
            capsys,
            "-w",
            by_cli,
            "import",
            "generic",
            str(csv),
            "--table",
            "customers",
            "--map-column",
            "customer_id=id",
            "--map-column",
            "email=mail",
            "--map-column",
            "country=land",
        ),
    ]
    cli_installed = cli(capsys, "-w", by_cli, "segments", "install-library")
    cli_valid = cli(capsys, "-w", by_cli, "segments", "validate")
    with segmint.init(tmp_path / "by_api") as ws:
        reports = [
            ws.import_files("cdnow", [CDNOW_SAMPLE]),
            ws.import_files(
                "generic",
                csv,
                table="customers",
                mapping={"customer_id": "id", "email": "mail", "country": "land"},
            ),
        ]
        installed = ws.install_library()
        valid = ws.validate()
        people = ws.table("customers").filter(ibis._.customer_id.isin(["c1", "c2"])).order_by("customer_id")
        assert people.select("email", "country").to_pyarrow().to_pylist() == [
            {"email": "a@example.com", "country": "FR"},
            {"email": "b@example.com", "country": "BE"},
        ]
        assert ws.install_library() == []  # nothing left to copy
    keys = ("format", "rows_read", "rows_loaded", "rows_rejected", "tables", "skipped")
    assert [{k: r[k] for k in keys} for r in reports] == [{k: r[k] for k in keys} for r in cli_reports]
    assert cli_installed["installed"] == len(installed) >= 40
    assert records(valid) == cli_valid


def test_keep_good_quarantines_bad_rows(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("1 19970101 2 29.33\n2 19971301 1 11.77\n")
    with segmint.init(tmp_path / "shop") as ws:
        with pytest.raises(segmint.ImportFailed, match="row 2, column 'date'") as caught:
            ws.import_files("cdnow", bad)
        assert [(p.row, p.column) for p in caught.value.problems] == [(2, "date")]
        report = ws.import_files("cdnow", bad, keep_good=True)
        assert (report["rows_loaded"], report["rows_rejected"]) == (1, 1)
        assert ws.table("quarantine").count().to_pyarrow().as_py() == 1


def test_generate_and_load_match_the_cli(tmp_path, capsys):
    rows = segmint.generate(tmp_path / "api", customers=200, seed=3, workers=1)
    out = cli(
        capsys,
        "generate",
        "--customers",
        "200",
        "--seed",
        "3",
        "--workers",
        "1",
        "--out",
        str(tmp_path / "cli"),
    )
    assert rows == {k.removeprefix("rows."): v for k, v in out.items() if k.startswith("rows.")}
    with segmint.init(tmp_path / "shop") as ws:
        loaded = ws.load_generated(tmp_path / "api")
        assert loaded["customers"] == rows["customers"] == 200
        assert len(ws.traits()) == 200


def test_an_ad_hoc_rule_sees_customers_without_orders_before_any_run(tmp_path):
    segmint.generate(tmp_path / "gen", customers=200, seed=3, workers=1)
    with segmint.init(tmp_path / "shop") as ws:
        ws.load_generated(tmp_path / "gen")
        never_bought = int((ws.traits().orders_count == 0).sum())
        assert never_bought > 0
        assert len(ws.select("orders_count = 0")) == never_bought


def test_save_segment_creates_replaces_and_versions(shop):
    with segmint.open(shop) as ws:
        made = ws.save_segment("big_baskets", "aov >= 60", family="value", description="Large orders")
        assert (made["version"], made["as_of"]) == (1, LATEST)
        assert made["members"] == ws.count("big_baskets") == len(ws.select("aov >= 60"))
        with pytest.raises(segmint.SegmentError, match="already exists"):
            ws.save_segment("big_baskets", "aov >= 70", family="value")
        versioned = ws.save_segment("big_baskets", "aov >= 70", mode="version")
        assert versioned["version"] == 2 and versioned["members"] < made["members"]
        listed = ws.segments().set_index("name").loc["big_baskets"]
        assert (listed.family, listed.description, listed.version) == ("value", "Large orders", 2)
        replaced = ws.save_segment("big_baskets", "aov >= 70", family="custom", mode="replace")
        assert ws.segments().set_index("name").loc["big_baskets"].description == ""
        assert replaced["members"] == versioned["members"]
        with pytest.raises(segmint.SegmentNotFound):
            ws.save_segment("no_such", "aov >= 1", family="value", mode="replace")
        with pytest.raises(segmint.SegmintError, match="mode must be"):
            ws.save_segment("x", "aov >= 1", family="value", mode="upsert")  # type: ignore[arg-type]


# -- reading without writing -----------------------------------------------------------------------------
def test_read_only_reads_everything_and_refuses_every_write(shop, tmp_path):
    before = sorted(p.name for p in (Path(shop) / "segments").iterdir())
    with segmint.open(shop, read_only=True) as ws:
        assert ws.read_only and "read-only" in repr(ws)
        runs = len(ws.runs())
        history = ws.history()
        writes = {
            "import files": lambda: ws.import_files("cdnow", CDNOW_SAMPLE),
            "load a generated shop": lambda: ws.load_generated(tmp_path),
            "install the segment library": ws.install_library,
            "save a segment": lambda: ws.save_segment("ro_seg", "orders_count >= 1", family="value"),
            "run": ws.run,
            "backfill": lambda: ws.backfill(PAST, "1997-10-31", every="2w"),
            "fit a model": lambda: ws.fit("bgnbd", calibration_end=PAST),
            "score customers": ws.score,
            "fit clusters": lambda: ws.cluster(k=2, sample=200),
        }
        for what, call in writes.items():
            with pytest.raises(segmint.ReadOnlyError, match=f"cannot {what}: .* is open read-only"):
                call()
        assert isinstance(segmint.ReadOnlyError("x"), segmint.WorkspaceError)
        assert len(ws.runs()) == runs and ws.history().equals(history)
        assert ws.count("repeat_buyers") > 0 and not ws.traits(customers=["21"]).empty
        assert ws.explain("21", "repeat_buyers").result
    assert sorted(p.name for p in (Path(shop) / "segments").iterdir()) == before


# -- errors ----------------------------------------------------------------------------------------------
def test_unknown_names_say_did_you_mean(ro):
    for call in (
        lambda: ro.count("repeat_buyer"),
        lambda: ro.members("repeat_buyer"),
        lambda: ro.explain("21", "repeat_buyer"),
        lambda: ro.kpis(["repeat_buyer"]),
        lambda: ro.changes("repeat_buyer", PAST, "1998-06-30"),
    ):
        with pytest.raises(segmint.SegmentNotFound, match="did you mean 'repeat_buyers'"):
            call()
    with pytest.raises(segmint.RuleError, match="did you mean 'total_spent'"):
        ro.select("totl_spent > 10")
    with pytest.raises(segmint.WorkspaceError, match="did you mean 'customers'"):
        ro.table("custmers")
    assert ro.table("customers").count().to_pyarrow().as_py() == 2357


def test_a_bad_rule_names_its_line_and_column(ro):
    with pytest.raises(segmint.RuleError) as caught:
        ro.select("orders_count >= 2 and\n  (total_spent > 10")
    assert (caught.value.line, caught.value.column) > (1, 0)
    assert f"line {caught.value.line}, column {caught.value.column}" in str(caught.value)
    with pytest.raises(segmint.RuleError, match="line 1, column 1"):
        ro.select("   ")
    with pytest.raises(segmint.SegmintError, match="rule must be text"):
        ro.select(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda ws: ws.select("orders_count > 1", as_of="yesterday"), "cannot read time 'yesterday'"),
        (lambda ws: ws.count("repeat_buyers", as_of=12), "as_of must be a date"),
        (lambda ws: ws.kpis(period="a while"), "cannot read duration 'a while'"),
        (lambda ws: ws.changes("repeat_buyers", None, PAST), "start is required"),
        (lambda ws: ws.changes("repeat_buyers", "1997-09-01", PAST), "history is known at run times only"),
        (lambda ws: ws.explain(None, "repeat_buyers"), "a customer id is text"),
        (lambda ws: ws.explain("nobody", "repeat_buyers"), "no customer with id 'nobody'"),
        (lambda ws: ws.export("repeat_buyers", 42), "expected a file or folder path"),
        (lambda ws: ws.cluster_report("nothing"), "no cluster model named 'nothing'"),
        (lambda ws: ws.migration("rfm", PAST, "1998-06-30"), "no exclusive group called 'rfm'"),
    ],
)
def test_mistakes_are_segmint_errors_with_clear_messages(ro, call, message):
    with pytest.raises(segmint.SegmintError, match=re.escape(message)):
        call(ro)


def test_writing_mistakes_are_segmint_errors(shop, tmp_path):
    with segmint.open(shop) as ws:
        with pytest.raises(segmint.ImportFailed, match="file not found"):
            ws.import_files("cdnow", tmp_path / "missing.txt")
        with pytest.raises(segmint.ImportFailed, match="did you mean 'cdnow'"):
            ws.import_files("cdnw", CDNOW_SAMPLE)
        with pytest.raises(segmint.SegmintError, match="files must be a path or a list"):
            ws.import_files("cdnow", 3)  # type: ignore[arg-type]
        with pytest.raises(segmint.SegmintError, match="calibration_end is required"):
            ws.fit("bgnbd", calibration_end=None)  # type: ignore[arg-type]
        with pytest.raises(segmint.SegmintError, match="unknown model 'bgnb'"):
            ws.fit("bgnb", calibration_end=PAST)
        with pytest.raises(segmint.SegmintError, match="cannot read duration 'often'"):
            ws.backfill(PAST, "1997-10-31", every="often")
        with pytest.raises(segmint.SegmentError, match=r"broken\.yaml:1:\d+: .*syntax error"):
            ws.save_segment("broken", "orders_count >=", family="value")
    assert not (Path(shop) / "segments" / "broken.yaml").exists()


def test_workspaces_that_are_missing_or_closed_say_what_to_do(tmp_path, shop):
    with pytest.raises(segmint.WorkspaceError, match="segmint init"):
        segmint.open(tmp_path / "nowhere")
    ws = segmint.open(shop, read_only=True)
    ws.close()
    ws.close()  # twice is harmless
    assert ws.closed and repr(ws) == "<segmint.Workspace (closed)>"
    with pytest.raises(segmint.WorkspaceError, match="closed"):
        ws.count("repeat_buyers")
    with pytest.raises(segmint.WorkspaceError, match="closed"):
        _ = ws.path


def test_open_init_and_the_class_are_one_way_in(tmp_path, monkeypatch):
    made = segmint.init(tmp_path / "a", name="My shop")
    assert (made.name, made.engine, made.read_only, made.path) == ("My shop", "duckdb", False, tmp_path / "a")
    made.close()
    for opened in (
        segmint.open(tmp_path / "a"),
        segmint.Workspace(tmp_path / "a"),
        segmint.Workspace.open(str(tmp_path / "a")),
    ):
        with opened as ws:
            assert ws.name == "My shop" and ws.segments().empty
    monkeypatch.setenv("SEGMINT_WORKSPACE", str(tmp_path / "a"))
    with segmint.open() as ws:
        assert ws.path == tmp_path / "a"
    with segmint.Workspace.init(tmp_path / "b") as ws:
        assert ws.name == "b"


# -- what is public --------------------------------------------------------------------------------------
def _documented_names() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### Public names", 1)[1]
    bullets = [line for line in section.splitlines() if line.startswith(("- ", "  "))]
    return re.findall(r"`segmint\.(\w+)`", "\n".join(bullets))


def test_all_is_exactly_the_documented_list():
    documented = _documented_names()
    assert len(documented) == len(set(documented))
    assert sorted(segmint.__all__) == sorted(documented)
    for name in segmint.__all__:
        assert hasattr(segmint, name)


def test_every_public_method_and_property_is_documented():
    doc = DOC.read_text(encoding="utf-8")
    public = [n for n in dir(segmint.Workspace) if not n.startswith("_")]
    assert {"select", "explain", "fit", "score", "members", "table"} <= set(public)
    for name in public:
        assert f"ws.{name}" in doc or f"Workspace.{name}" in doc, f"Workspace.{name} is not in docs/python.md"


def test_nothing_public_exposes_the_internal_workspace_or_its_connection(shop):
    internal = (InternalWorkspace, ibis.BaseBackend, TableStore, duckdb.DuckDBPyConnection)
    with segmint.open(shop, read_only=True) as ws:
        assert all(name.startswith("_") for name in vars(ws))
        for name in dir(ws):
            if name.startswith("_"):
                continue
            value = getattr(ws, name)
            assert not isinstance(value, internal), name
    assert segmint.Workspace is not InternalWorkspace
    assert segmint.Workspace.__module__ == "segmint._workspace"
