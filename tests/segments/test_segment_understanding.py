"""Explanations, KPIs, overlap, versions, validation errors and the CLI on the hand-built shop."""

from __future__ import annotations

import json

import pytest
from shop_fixture import AS_OF, load_shop

from segmint.batch import definitions, evaluate, explain, kpis, reads
from segmint.cli.main import main
from segmint.core.segments.definition import SegmentError, parse_segment_yaml


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    from segmint.adapters.workspace import Workspace

    w = Workspace.init(tmp_path_factory.mktemp("u") / "shop")
    load_shop(w)
    definitions.install_library(w)
    evaluate.evaluate_segments(w, AS_OF)
    yield w
    w.close()


def test_explain_lists_each_clause_with_values(ws):
    out = explain.explain(ws, "c02", "discount_seekers", AS_OF)
    assert out["result"] is True
    kids = out["clauses"]["children"]
    assert [k["text"] for k in kids] == ["orders_count >= 2", "discount_share >= 0.5"]
    assert kids[0]["values"] == {"orders_count": 3}
    assert kids[1]["values"]["discount_share"] == pytest.approx(2 / 3)
    no = explain.explain(ws, "c04", "discount_seekers", AS_OF)
    assert no["result"] is False and no["clauses"]["children"][0]["result"] is False


def test_kpis_per_segment_and_base(ws):
    rows = {r["segment"]: r for r in kpis.kpis(ws, ["discount_seekers", "one_time_buyers"], AS_OF, "90d")}
    base = rows["(all customers)"]
    assert base["size"] == 8
    assert base["revenue"] == pytest.approx(1650.0)
    assert base["repeat_rate"] == pytest.approx(2 / 8)
    one = rows["one_time_buyers"]  # c01 1200, c04 90, c05 20, c07 55
    assert one["size"] == 4 and one["share"] == pytest.approx(0.5)
    assert one["revenue"] == pytest.approx(1365.0)
    assert one["revenue_share"] == pytest.approx(1365 / 1650)
    assert one["aov"] == pytest.approx(1365 / 4)
    assert one["orders_per_customer"] == pytest.approx(1.0)
    assert one["repeat_rate"] == 0
    ds = rows["discount_seekers"]  # c02: 3 orders 210, ordered before and within the last 90 days
    assert ds["clv"] == pytest.approx(210.0)
    assert ds["retention"] is None  # no order before as_of - 90d
    assert ds["email_open_rate"] == pytest.approx(3 / 4)
    assert ds["email_click_rate"] == 0
    assert rows["(all customers)"]["cart_abandonment"] == pytest.approx(1.0)  # c07's one cart


def test_overlap_matrix(ws):
    rows = {(r["segment_a"], r["segment_b"]): r for r in reads.overlap(ws, ["women", "one_time_buyers"])}
    assert rows[("women", "one_time_buyers")]["both"] == 1  # c01
    assert rows[("women", "one_time_buyers")]["share_of_a"] == pytest.approx(0.5)
    assert rows[("one_time_buyers", "women")]["share_of_a"] == pytest.approx(0.25)
    assert rows[("women", "women")]["jaccard"] == pytest.approx(1.0)
    assert rows[("women", "one_time_buyers")]["jaccard"] == pytest.approx(1 / 5)


def test_changing_a_rule_makes_a_new_version(ws):
    path = ws.segments_dir / "high_spenders.yaml"
    original = path.read_text()
    try:
        path.write_text(original.replace("min_spent: 1000", "min_spent: 50"))
        summary = evaluate.evaluate_segments(ws, AS_OF, names=["high_spenders"])
        run = summary.segments[0]
        assert (run.version, run.members) == (2, 5)  # c01, c02 (210), c03 (75), c04 (90), c07 (55)
        versions = ws.table("segments").filter(lambda t: t.name == "high_spenders").to_pyarrow().to_pylist()
        assert sorted(v["version"] for v in versions) == [1, 2]
        assert next(v for v in versions if v["version"] == 2)["rule"] == "total_spent >= 50"
    finally:
        path.write_text(original)
        evaluate.evaluate_segments(ws, AS_OF, names=["high_spenders"])


def test_yaml_errors_name_file_field_and_position():
    with pytest.raises(SegmentError, match=r"x.yaml:2:1: field 'colour': unknown field"):
        parse_segment_yaml("name: a\ncolour: red\nfamily: value\nrule: x > 1\n", "x.yaml")
    with pytest.raises(SegmentError, match="field 'family'"):
        parse_segment_yaml("name: a\nfamily: astrology\nrule: x > 1\n", "x.yaml")
    d = parse_segment_yaml(
        "name: a\nfamily: value\nrule: |\n  orders_count >= 1 and\n  total_spent >>= 3\n", "y.yaml"
    )
    with pytest.raises(SegmentError) as err:
        definitions.resolve_rule(d)
    assert err.value.detail["line"] == 5 and err.value.detail["column"] >= 14
    with pytest.raises(SegmentError, match=r"\$limit"):
        definitions.resolve_rule(
            parse_segment_yaml("name: a\nfamily: value\nrule: total_spent > $limit\n", "z.yaml")
        )


def test_cli_count_members_and_migration_json(ws, capsys):
    root = str(ws.root)
    ws.close()
    try:
        main(
            [
                "--workspace",
                root,
                "--json",
                "segments",
                "count",
                "orders_count >= 2",
                "--as-of",
                AS_OF.isoformat(),
            ]
        )
        assert json.loads(capsys.readouterr().out)["customers"] == 2
        main(["--workspace", root, "--json", "segments", "members", "lifecycle_new"])
        assert [r["customer_id"] for r in json.loads(capsys.readouterr().out)] == ["c01", "c07"]
        t = AS_OF.isoformat()
        main(["--workspace", root, "--json", "segments", "migration", "lifecycle", "--from", t, "--to", t])
        cells = {
            (r["from_segment"], r["to_segment"]): r["customers"] for r in json.loads(capsys.readouterr().out)
        }
        assert cells[("lifecycle_new", "lifecycle_new")] == 2 and sum(cells.values()) == 8
        with pytest.raises(SystemExit):
            main(["--workspace", root, "segments", "members", "lifecycle_nwe"])
        assert "did you mean 'lifecycle_new'" in capsys.readouterr().err
    finally:
        ws.__init__(ws.root, ws.config, ws.engine)
