"""Time-split backtest of the "orders again within a horizon" propensity model on a workspace.

For a test cutoff, every feature is computed as of that cutoff and the label from the horizon after it.
The model learns from earlier cutoffs (see core/models/propensity/design.py) whose labels were fully
observed by the test cutoff; its calibration map is fitted on the most recent of them as scored by a
probe booster trained only on the older ones (labels ending before the slice starts); it is judged on the test
customers against two baselines: recency alone and BG/NBD P(alive) fitted on the orders up to the test
cutoff. Nothing after the test cutoff enters training, calibration or the features.

Features (one frame per cutoff):

* traits as of the cutoff, except the static profile families (demographic, geographic, consent),
  which hold each customer's *latest* state rather than their state at the cutoff, so they can leak
  later changes, and which carry no signal about re-ordering on the synthetic shops (ROC AUC ~0.5);
* classical history features (core/models/propensity/history.py): recency, frequency, monetary value,
  tenure, recency over the customer's own mean gap, orders in the same calendar window last year,
  share of orders in the label's season;
* BG/NBD fitted at the cutoff: P(alive) and expected orders in the horizon;
* the cutoff's position in the year (sine and cosine of the day of year), so pooled cutoffs from
  different seasons can have different base rates.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from segmint.core.models.btyd import BetaGeoFitter
from segmint.core.models.btyd.errors import ConvergenceError, InsufficientDataError
from segmint.core.models.propensity import (
    InsufficientHistoryError,
    PropensityModel,
    calibration_table,
    check_sufficient,
    evaluate,
    label_expr,
    prepare_features,
)
from segmint.core.models.propensity.design import plan_cutoffs
from segmint.core.models.propensity.history import history_features_expr
from segmint.core.models.summary import calibration_summary
from segmint.core.timeutil import format_duration, parse_as_of, parse_duration
from segmint.core.traits import default_catalog
from segmint.core.traits.compute import trait_table
from segmint.models.runs import now, store_run

__all__ = ["EXCLUDED_FAMILIES", "backtest_propensity", "propensity_frame"]

EXCLUDED_FAMILIES = ("demographic", "geographic", "consent")


def _btyd_features(orders: Any, at: datetime, span: timedelta) -> pd.DataFrame:
    """BG/NBD P(alive) and expected orders in the horizon, fitted on the orders up to ``at`` (days)."""
    summary = calibration_summary(orders, at, None, "D").to_pandas().set_index("customer_id")
    x, t_x, T = (summary[c].to_numpy(float) for c in ("x", "t_x", "T"))
    try:
        bg = BetaGeoFitter().fit(x, t_x, T)
        p_alive = bg.probability_alive(x, t_x, T)
        expected = bg.conditional_expected_purchases(max(1.0, span.total_seconds() / 86400), x, t_x, T)
    except (ConvergenceError, InsufficientDataError):
        p_alive = expected = np.full(x.size, np.nan)  # the trees handle a missing feature
    return pd.DataFrame({"btyd_p_alive": p_alive, "btyd_expected": expected}, index=summary.index.astype(str))


def propensity_frame(ws: Any, at: datetime, span: timedelta) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """(raw frame indexed by customer_id, model features, labels) for the buyers known at ``at``."""
    orders = ws.table("orders")
    excluded = {s.name for s in default_catalog() if s.family in EXCLUDED_FAMILIES}
    traits = trait_table(ws.tables(), at).to_pandas()
    traits = traits.drop(columns=[c for c in traits.columns if c in excluded])
    labels = label_expr(orders, at, span).to_pandas()
    history = history_features_expr(orders, at, span).to_pandas()
    data = labels.merge(traits, on="customer_id", how="left").merge(history, on="customer_id", how="left")
    data = data.set_index("customer_id").sort_index()
    data = data.join(_btyd_features(orders, at, span))
    angle = 2 * np.pi * at.timetuple().tm_yday / 365.25
    data["cutoff_season_sin"] = np.sin(angle)
    data["cutoff_season_cos"] = np.cos(angle)
    features = prepare_features(data.drop(columns=["label"]), at, drop=(), drop_constant=False)
    return data, features, data["label"].to_numpy(int)


def _pool(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack per-cutoff feature frames; a categorical column gets the union of the categories."""
    pooled = pd.concat(frames, ignore_index=True)
    for name in pooled.columns:
        if not pd.api.types.is_numeric_dtype(pooled[name]):
            pooled[name] = pooled[name].astype("object").astype("category")
    return pooled


def backtest_propensity(
    ws: Any,
    cutoff: str | datetime,
    horizon: str = "90d",
    *,
    step: str = "30d",
    store: bool = True,
    random_state: int = 0,
) -> dict[str, Any]:
    """Train on earlier cutoffs, calibrate on the latest of them, test at ``cutoff``; returns the
    metrics of the model and of both baselines, and the model's calibration table."""
    test_cutoff = parse_as_of(cutoff)
    span = parse_duration(horizon)
    orders = ws.table("orders")
    bounds = (
        orders.aggregate(first=orders.ordered_at.min(), last=orders.ordered_at.max())
        .to_pyarrow()
        .to_pylist()[0]
    )
    if bounds["last"] is None:
        raise InsufficientHistoryError("no orders in this workspace: import orders first")
    if bounds["last"] < test_cutoff + span - timedelta(days=1):
        raise InsufficientHistoryError(
            f"the horizon after the cutoff ends {test_cutoff + span:%Y-%m-%d} but the last order is from "
            f"{bounds['last']:%Y-%m-%d}: move --cutoff earlier (to {bounds['last'] - span:%Y-%m-%d} or before)"
        )
    plan = plan_cutoffs(test_cutoff, span, bounds["first"], step=parse_duration(step))
    if not plan.train or not plan.calibrate:
        raise InsufficientHistoryError(
            f"the history before the cutoff ({bounds['first']:%Y-%m-%d} to {test_cutoff:%Y-%m-%d}) is too "
            f"short to train and calibrate on earlier cutoffs with a {format_duration(span)} horizon: it "
            "needs about three horizons plus two months; move --cutoff later or use a shorter --horizon"
        )
    frames = {at: propensity_frame(ws, at, span) for at in [*plan.train, *plan.calibrate]}
    X_train = _pool([frames[at][1] for at in frames])
    y_train = np.concatenate([frames[at][2] for at in frames])
    held = np.concatenate([np.full(frames[at][2].size, at in plan.calibrate) for at in frames])
    X_train = X_train.loc[:, X_train.nunique(dropna=False) > 1]
    test, X_test, y_test = propensity_frame(ws, test_cutoff, span)
    check_sufficient(y_test, what="test")
    model = PropensityModel(random_state=random_state).fit(X_train, y_train, calibrate_on=held)
    prob = model.predict_proba(X_test)
    recency = test["hist_recency_days"].to_numpy(float)
    rows: list[dict[str, Any]] = [
        {"method": "propensity (gradient boosting, calibrated)", **evaluate(y_test, prob)},
        {"method": "baseline: recency alone", **evaluate(y_test, -recency, probabilities=False)},
        {"method": "baseline: BG/NBD P(alive)", **evaluate(y_test, test["btyd_p_alive"].to_numpy(float))},
    ]
    result: dict[str, Any] = {
        "label": f"ordered again within {format_duration(span)}",
        # The final booster learns from every cutoff (the calibration slice too; see PropensityModel.fit).
        "train_cutoff": plan.calibrate[-1],
        "train_cutoffs": plan.train,
        "calibration_cutoffs": plan.calibrate,
        "test_cutoff": test_cutoff,
        "train_customers": int((~held).sum()),
        "calibration_customers": int(held.sum()),
        "test_customers": int(y_test.size),
        "features": len(model.feature_names_),
        "metrics": rows,
        "calibration": calibration_table(y_test, prob),
        "beats_baselines_on_roc_auc": bool(rows[0]["roc_auc"] > max(rows[1]["roc_auc"], rows[2]["roc_auc"])),
    }
    if store:
        result["run_id"] = _store(ws, model, span, plan.train[-1], test_cutoff, rows, result["calibration"])
    return result


def _store(
    ws: Any,
    model: PropensityModel,
    span: timedelta,
    train_end: datetime,
    test_cutoff: datetime,
    rows: list[dict],
    calibration: list[dict],
) -> str:
    run: dict[str, Any] = {
        "run_id": uuid.uuid4().hex[:12],
        "model": "propensity",
        "parameters": {"horizon_days": span.total_seconds() / 86400, "features": model.feature_names_},
        "standard_errors": {},
        "log_likelihood": None,
        "n_customers": model.n_customers_,
        "time_unit": "D",
        "calibration_end": train_end,
        "holdout_end": test_cutoff + span,
        "metrics": {"backtest": rows, "calibration": calibration},
        "fitted_at": now(),
    }
    store_run(ws, run)
    return run["run_id"]
