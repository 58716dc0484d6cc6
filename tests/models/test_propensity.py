"""Propensity: metrics computed by hand, labels by the window convention, and the backtest on the
synthetic shop beating both baselines (acceptance 4)."""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import numpy as np
import pandas as pd
import pytest

from segmint.core.models.propensity import (
    InsufficientHistoryError,
    calibration_table,
    check_sufficient,
    evaluate,
    label_expr,
    prepare_features,
)
from segmint.core.models.propensity.metrics import top_decile_lift


def test_metrics_by_hand():
    y = np.array([0, 0, 1, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8])
    m = evaluate(y, s)
    assert m["roc_auc"] == pytest.approx(0.75)  # 3 of 4 positive/negative pairs ordered right
    assert m["brier"] == pytest.approx(np.mean((s - y) ** 2))
    assert m["pr_auc"] == pytest.approx((1 / 1 + 2 / 3) / 2)
    y20 = np.r_[np.ones(2), np.zeros(18)]
    assert top_decile_lift(y20, np.r_[[0.9, 0.8], np.linspace(0, 0.5, 18)]) == pytest.approx(10.0)
    table = calibration_table(np.array([0, 1, 1, 1]), np.array([0.1, 0.2, 0.7, 0.9]), bins=2)
    assert table == [
        {"bin": 1, "customers": 2, "mean_predicted": pytest.approx(0.15), "observed_rate": 0.5},
        {"bin": 2, "customers": 2, "mean_predicted": pytest.approx(0.8), "observed_rate": 1.0},
    ]


def test_labels_use_half_open_window():
    orders = ibis.memtable(
        {
            "order_id": ["1", "2", "3", "4", "5"],
            "customer_id": ["a", "a", "b", "b", "c"],
            "ordered_at": pd.to_datetime(
                ["2025-01-01", "2025-01-31", "2025-01-01", "2025-03-02", "2025-01-10"]
            ),
            "status": ["paid", "paid", "paid", "paid", "cancelled"],
        }
    )
    cutoff = datetime(2025, 1, 1)
    got = label_expr(orders, cutoff, timedelta(days=30)).to_pandas().sort_values("customer_id")
    # a: order at cutoff + 30d is inside (cutoff, cutoff + 30d]; b: the next order is too late;
    # c: never paid, so not a buyer at the cutoff.
    assert got.to_dict("list") == {"customer_id": ["a", "b"], "label": [1, 0]}


def test_prepare_features_types():
    cutoff = datetime(2025, 1, 31)
    df = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "orders": [1, 2, None],
            "vip": [True, False, None],
            "last_order_at": pd.to_datetime(["2025-01-30", "2025-01-01", None]),
            "country": ["FR", "BE", None],
            "constant": [1, 1, 1],
            "email": ["x@a", "y@b", "z@c"],
        }
    )
    df.loc[:, "email"] = [f"{i}@x" for i in range(3)]
    X = prepare_features(df, cutoff)
    assert list(X.columns) == ["orders", "vip", "last_order_at", "country", "email"]
    assert X.last_order_at.tolist()[:2] == [1.0, 30.0]
    assert isinstance(X.country.dtype, pd.CategoricalDtype)
    many = pd.DataFrame({"customer_id": range(100), "email": [f"{i}@x" for i in range(100)]})
    assert "email" not in prepare_features(many, cutoff).columns


def test_sufficiency_messages():
    with pytest.raises(InsufficientHistoryError, match="at least 200"):
        check_sufficient(np.r_[np.ones(50), np.zeros(50)])
    with pytest.raises(InsufficientHistoryError, match="ordered again"):
        check_sufficient(np.r_[np.ones(5), np.zeros(500)])
    with pytest.raises(InsufficientHistoryError, match="did not order again"):
        check_sufficient(np.r_[np.ones(500), np.zeros(5)])


@pytest.mark.slow
def test_backtest_on_synthetic_shop_beats_baselines(tmp_path):
    from segmint.adapters.workspace import Workspace
    from segmint.demo.generate import generate_shop, load_generated
    from segmint.models.propensity import backtest_propensity
    from segmint.models.runs import list_runs

    generate_shop(tmp_path / "shop", 3000, seed=1, workers=1)
    with Workspace.init(tmp_path / "ws") as ws:
        load_generated(ws, tmp_path / "shop")
        with pytest.raises(InsufficientHistoryError, match="move --cutoff earlier"):
            backtest_propensity(ws, "2025-12-01", "90d")
        out = backtest_propensity(ws, "2025-09-30", "90d")
        model, recency, p_alive = out["metrics"]
        assert model["roc_auc"] > recency["roc_auc"]
        assert model["roc_auc"] > p_alive["roc_auc"]
        assert out["beats_baselines_on_roc_auc"]
        assert len(out["calibration"]) == 10
        assert sum(r["customers"] for r in out["calibration"]) == out["test_customers"]
        assert list_runs(ws, "propensity")[0]["run_id"] == out["run_id"]
        # No training or calibration label window reaches past the test cutoff.
        horizon = timedelta(days=90)
        assert all(
            c + horizon <= out["test_cutoff"] for c in out["train_cutoffs"] + out["calibration_cutoffs"]
        )
        assert max(out["train_cutoffs"]) + horizon <= min(out["calibration_cutoffs"])


def test_cutoff_plan_keeps_every_label_before_the_test_cutoff():
    from segmint.core.models.propensity.design import plan_cutoffs

    plan = plan_cutoffs(datetime(2025, 9, 30), timedelta(days=90), datetime(2024, 1, 1))
    assert plan.calibrate == [datetime(2025, 5, 3), datetime(2025, 6, 2), datetime(2025, 7, 2)]
    assert plan.train[0] == datetime(2024, 3, 9)  # >= 60 days of history
    assert plan.train[-1] == datetime(2025, 2, 2)  # its labels end 2025-05-03, where calibration starts
    assert all((b - a).days == 30 for a, b in zip(plan.train, plan.train[1:], strict=False))
    assert plan_cutoffs(datetime(2024, 3, 1), timedelta(days=90), datetime(2024, 1, 1)).train == []


def test_history_features_by_hand():
    from segmint.core.models.propensity.history import history_features_expr

    orders = ibis.memtable(
        {
            "order_id": list("123456"),
            "customer_id": ["a", "a", "a", "a", "b", "b"],
            "ordered_at": pd.to_datetime(
                [
                    "2024-09-15 00:00",
                    "2024-12-01 00:00",
                    "2024-12-01 18:00",
                    "2025-06-01 00:00",
                    "2025-08-01 00:00",
                    "2025-10-05 00:00",
                ]
            ),
            "status": ["paid"] * 6,
            "total": [10.0, 20.0, 30.0, 40.0, 5.0, 7.0],
            "refunded_amount": [0.0, 0.0, 0.0, 10.0, 0.0, 0.0],
        }
    )
    got = history_features_expr(orders, datetime(2025, 9, 30), timedelta(days=90)).to_pandas()
    a, b = (got.set_index("customer_id").loc[c] for c in ("a", "b"))
    assert a.hist_recency_days == pytest.approx(121.0)  # 2025-06-01 -> 2025-09-30
    assert a.hist_tenure_days == pytest.approx(380.0)
    assert a.hist_repeat_days == 2  # 2024-12-01 twice (one day) and 2025-06-01
    assert a.hist_mean_gap_days == pytest.approx(259 / 2)
    assert a.hist_recency_over_gap == pytest.approx(121 / 129.5)
    assert a.hist_monetary == pytest.approx((10 + 20 + 30 + 30) / 4)
    # (2024-09-30, 2024-12-29]: the two 2024-12-01 orders; (2024-07-02, 2024-09-30]: 2024-09-15.
    assert a.hist_orders_same_window_last_year == 2
    assert a.hist_orders_previous_window_last_year == 1
    # Day of year in [273, 363): both 2024-12-01 orders, of four.
    assert a.hist_same_season_share == pytest.approx(2 / 4)
    # b: first order after 2024-09-30, so last year is unknown (missing, not 0); one order in the data
    # window; the 2025-10-05 order is after the cutoff and unseen.
    assert b.hist_repeat_days == 0 and np.isnan(b.hist_mean_gap_days)
    assert np.isnan(b.hist_orders_same_window_last_year)
    assert b.hist_same_season_share == 0.0
