"""predict fit/score/report on a workspace filled with the CDNOW sample, and the engine scorer."""

from __future__ import annotations

import json

import ibis
import numpy as np
import pytest
from typer.testing import CliRunner

from segmint.cli.main import _register, app
from segmint.core.models.btyd import BetaGeoFitter, ParetoNBDFitter
from segmint.core.models.btyd.engine import bgnbd_score_expr
from segmint.core.models.summary import calibration_summary
from segmint.models import predict as uc

from .conftest import CALIBRATION_END, HOLDOUT_END, load_orders


@pytest.fixture
def cdnow_ws(workspace, cdnow_orders):
    load_orders(workspace, cdnow_orders)
    return workspace


def test_fit_stores_run_with_published_parameters(cdnow_ws):
    run = uc.fit_model(cdnow_ws, "bgnbd", CALIBRATION_END, HOLDOUT_END, "weeks")
    assert round(run["parameters"]["r"], 3) == 0.243
    assert round(run["log_likelihood"], 1) == -9582.4
    assert run["metrics"]["holdout_actual"] == 1882
    stored = uc.list_runs(cdnow_ws)
    assert [r["run_id"] for r in stored] == [run["run_id"]]
    assert stored[0]["parameters"] == pytest.approx(run["parameters"])
    assert stored[0]["calibration_end"].isoformat() == "1997-09-30T00:00:00"
    assert stored[0]["metrics"]["repeaters"] == 946


def test_score_writes_predictions_engine_equals_numpy(cdnow_ws):
    run = uc.fit_model(cdnow_ws, "bgnbd", CALIBRATION_END)
    uc.fit_model(cdnow_ws, "gg", CALIBRATION_END)
    out = uc.score(cdnow_ws, in_engine=True)
    assert out["customers"] == 2357 and out["in_engine"]
    engine = cdnow_ws.table("predictions").to_pandas().sort_values("customer_id").reset_index(drop=True)
    uc.score(cdnow_ws, in_engine=False)
    numpy_ = cdnow_ws.table("predictions").to_pandas().sort_values("customer_id").reset_index(drop=True)
    assert len(numpy_) == 2357  # upsert by (customer_id, run_id): scoring twice replaces
    np.testing.assert_allclose(engine.p_alive, numpy_.p_alive, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(engine.expected_orders_90d, numpy_.expected_orders_90d, rtol=1e-9, atol=1e-13)
    # The published customer (x=2, t_x=30.43, T=38.86) is alive with BG/NBD's closed form.
    m = BetaGeoFitter.from_params(run["parameters"])
    row = numpy_.iloc[0]
    assert row.run_id == run["run_id"]
    assert numpy_.clv_12m.notna().all() and (numpy_.clv_12m > 0).all()
    assert (numpy_.next_order_at > numpy_.as_of).all()
    # P(at least one order in 30 days) = P(alive) (1 - ((alpha+T)/(alpha+T+t))^(r+x)), t in weeks.
    p = run["parameters"]
    x, t_x, T = 2.0, 30.43, 38.86
    none = ((p["alpha"] + T) / (p["alpha"] + T + 30 / 7)) ** (p["r"] + x)
    want = m.probability_alive(x, t_x, T) * (1 - none)
    assert m.probability_purchase_within(30 / 7, x, t_x, T) == pytest.approx(want, rel=1e-12)
    assert numpy_.purchase_propensity_30d.between(0, 1).all()
    # The scores are traits usable in rules: p_alive, churn_risk = 1 - p_alive, CLV percentile.
    from segmint.batch.traits import compute_traits

    compute_traits(cdnow_ws, CALIBRATION_END)
    traits = cdnow_ws.table("traits").to_pandas().set_index("customer_id").loc[numpy_.customer_id]
    np.testing.assert_allclose(traits.p_alive, numpy_.p_alive, rtol=1e-12)
    np.testing.assert_allclose(traits.churn_risk, 1 - numpy_.p_alive.to_numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(traits.clv_12m, numpy_.clv_12m, rtol=1e-12)
    assert traits.clv_12m_percentile.min() == 0 and traits.clv_12m_percentile.max() == 1
    assert 0 < m.probability_alive(2, 30.43, 38.86) < 1


def test_engine_scorer_matches_numpy_on_extremes():
    m = BetaGeoFitter.from_params({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    x = np.array([0, 1, 2, 7, 300, 5000, 5000, 0])
    t_x = np.array([0, 5, 30.43, 20, 38, 1e6, 10, 0])
    T = np.array([38.86, 30, 38.86, 39, 38.5, 1e6, 1e7, 1e7])
    con = ibis.duckdb.connect()
    t = con.create_table("s", {"x": x, "t_x": t_x, "T": T})
    for horizon in (1.0, 90 / 7):
        got = bgnbd_score_expr(t, m.params_, horizon).to_pandas()
        np.testing.assert_allclose(got.p_alive, m.probability_alive(x, t_x, T), rtol=1e-10, atol=1e-300)
        want = m.conditional_expected_purchases(horizon, x, t_x, T)
        np.testing.assert_allclose(got.expected_purchases, want, rtol=1e-9, atol=1e-12)


def test_cli_fit_json_prints_parameters(cdnow_ws):
    _register()
    root = str(cdnow_ws.root)
    cdnow_ws.close()
    result = CliRunner().invoke(
        app,
        [
            "--workspace",
            root,
            "--json",
            "predict",
            "fit",
            "--model",
            "bgnbd",
            "--calibration-end",
            "1997-09-30",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {k: round(v, 3) for k, v in data["parameters"].items()} == {
        "r": 0.243,
        "alpha": 4.414,
        "a": 0.793,
        "b": 2.426,
    }
    assert round(data["log_likelihood"], 1) == -9582.4
    report = CliRunner().invoke(app, ["--workspace", root, "--json", "predict", "report"])
    assert report.exit_code == 0, report.output
    assert json.loads(report.output)[0]["run_id"] == data["run_id"]


def test_errors_are_clear(workspace):
    with pytest.raises(uc.PredictError, match="unknown model"):
        uc.fit_model(workspace, "arima", CALIBRATION_END)
    with pytest.raises(uc.PredictError, match="no paid orders"):
        uc.fit_model(workspace, "bgnbd", CALIBRATION_END)
    with pytest.raises(uc.PredictError, match="predict fit"):
        uc.score(workspace)


def test_holdout_fit_is_stored_and_reported(cdnow_ws):
    """A fit with a holdout stores FHL's three checks in the run; `predict report --run` prints them."""
    run = uc.fit_model(cdnow_ws, "pnbd", CALIBRATION_END, HOLDOUT_END, "weeks")
    m = run["metrics"]
    assert [row["actual"] for row in m["fit_histogram"]] == [1411, 439, 214, 100, 62, 38, 29, 64]
    assert [row["customers"] for row in m["holdout_by_frequency"]] == [1411, 439, 214, 100, 62, 38, 29, 64]
    assert round(m["holdout_by_frequency"][0]["actual"], 7) == 0.2367116
    assert len(m["tracking"]) == 78 and m["tracking"][0]["end"] == "1997-01-07"
    assert m["tracking"][-1]["actual"] == 4339 and m["holdout_tracking_actual"] == 1882
    assert round(m["holdout_predicted"], 1) == 1665.5
    _register()
    root = str(cdnow_ws.root)
    cdnow_ws.close()
    stored = json.loads(
        CliRunner()
        .invoke(app, ["--workspace", root, "--json", "predict", "report", "--run", "latest"])
        .output
    )
    assert stored["run_id"] == run["run_id"]
    assert stored["metrics"]["fit_histogram"] == m["fit_histogram"]
    text = CliRunner().invoke(app, ["--workspace", root, "predict", "report", "--run", run["run_id"]])
    assert text.exit_code == 0, text.output
    for header in ("purchases", "calibration_purchases", "cum_expected"):  # one per table
        assert header in text.output
    assert "1997-01-07" in text.output and "0.2367" in text.output
    missing = CliRunner().invoke(app, ["--workspace", root, "predict", "report", "--run", "nope"])
    assert isinstance(missing.exception, uc.PredictError) and "no run 'nope'" in str(missing.exception)


def test_pareto_scores_include_purchase_propensity(cdnow_ws):
    run = uc.fit_model(cdnow_ws, "pnbd", CALIBRATION_END)
    uc.score(cdnow_ws)
    scored = cdnow_ws.table("predictions").to_pandas().sort_values("customer_id").reset_index(drop=True)
    assert scored.purchase_propensity_30d.notna().all()
    summary = calibration_summary(cdnow_ws.table("orders"), CALIBRATION_END).to_pandas()
    summary = summary.sort_values("customer_id").reset_index(drop=True)
    model = ParetoNBDFitter.from_params(run["parameters"])
    want = model.probability_purchase_within(30 / 7, summary.x, summary.t_x, summary["T"])
    np.testing.assert_allclose(scored.purchase_propensity_30d, want, rtol=1e-12)
    assert 0 < scored.purchase_propensity_30d.min() < scored.purchase_propensity_30d.max() < 1
