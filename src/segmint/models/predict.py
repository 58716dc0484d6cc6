"""Fit, score and report the BTYD models on a workspace: `segmint predict fit|score|report` and the API.

Fitting pulls only the per-customer summary (built in the engine) into memory; every fit is recorded in
``model_runs`` with its parameters, standard errors, data window and metrics. Scoring writes one row per
customer and run into ``predictions``; for BG/NBD, P(alive) and expected orders are computed inside the
engine (see core/models/btyd/engine.py), the rest (CLV, next order time) in batches in numpy.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa

from segmint.batch.reads import data_end
from segmint.core.models.btyd import MODELS, GammaGammaFitter, customer_lifetime_value
from segmint.core.models.btyd._base import BaseFitter
from segmint.core.models.btyd._transactions import TransactionFitter
from segmint.core.models.btyd.diagnostics import cohort_tracking, frequency_histogram, holdout_by_frequency
from segmint.core.models.btyd.engine import EngineScoringUnsupported, bgnbd_score_expr
from segmint.core.models.summary import calibration_summary, cohort_daily_transactions, time_unit_days
from segmint.core.schema import PREDICTIONS
from segmint.core.timeutil import parse_as_of
from segmint.models.runs import PredictError, list_runs, load_run, now, store_run

__all__ = ["PredictError", "fit_model", "list_runs", "load_run", "score"]


def _transaction_model(name: str) -> type[TransactionFitter]:
    """The fitter class of transaction model ``name``: every model in MODELS but gg. fit_model never
    asks for gg; score() asks for the stored run's model, which is gg only if given a gg run's id."""
    return cast(type[TransactionFitter], MODELS[name])


def _unit_code(time_unit: str) -> str:
    return "W" if time_unit_days(time_unit) == 7 else "D"


def fit_model(
    ws: Any,
    model: str = "bgnbd",
    calibration_end: str | datetime | None = None,
    holdout_end: str | datetime | None = None,
    time_unit: str = "W",
) -> dict[str, Any]:
    """Fit ``model`` (bgnbd, pnbd, mbgnbd or gg) on the workspace's orders up to ``calibration_end``
    (default: the end of the data); with ``holdout_end``, also measure the forecast of the holdout
    period. Stores and returns the run."""
    if model not in MODELS:
        raise PredictError(f"unknown model {model!r}: choose one of {', '.join(MODELS)}")
    unit = _unit_code(time_unit)
    cal_end = parse_as_of(calibration_end) if calibration_end is not None else data_end(ws)
    hold_end = parse_as_of(holdout_end) if holdout_end is not None else None
    expr = calibration_summary(ws.table("orders"), cal_end, hold_end, unit)
    # In customer order: the engine returns rows in any order, and the optimiser's sums (so the fitted
    # parameters' last bits, and every score) must not depend on it.
    summary = expr.order_by("customer_id").to_pandas()
    if summary.empty:
        raise PredictError(
            f"no paid orders on or before {cal_end:%Y-%m-%d}: import orders or move --calibration-end"
        )
    x, t_x, T = (summary[c].to_numpy(float) for c in ("x", "t_x", "T"))
    metrics: dict[str, Any] = {"customers": len(summary), "repeaters": int((x > 0).sum())}
    fitted: BaseFitter
    if model == "gg":
        rep = summary[summary.x > 0]
        spend_model = GammaGammaFitter().fit(rep.x, rep.monetary_value)
        predicted = spend_model.conditional_expected_average_spend(rep.x, rep.monetary_value)
        metrics["mean_spend_observed"] = float(rep.monetary_value.mean())
        metrics["mean_spend_predicted"] = float(np.mean(predicted))
        metrics["population_mean_spend"] = spend_model.expected_average_spend()
        fitted = spend_model
    else:
        transactions = _transaction_model(model)().fit(x, t_x, T)
        metrics.update(_fit_diagnostics(ws, transactions, summary, cal_end, hold_end, unit))
        fitted = transactions
    k = len(fitted.param_names)
    metrics["aic"] = 2 * k - 2 * fitted.log_likelihood_
    metrics["bic"] = k * np.log(fitted.n_customers_) - 2 * fitted.log_likelihood_
    run = {
        "run_id": uuid.uuid4().hex[:12],
        "model": model,
        "parameters": fitted.params_,
        "standard_errors": fitted.standard_errors_,
        "log_likelihood": fitted.log_likelihood_,
        "n_customers": fitted.n_customers_,
        "time_unit": unit,
        "calibration_end": cal_end,
        "holdout_end": hold_end,
        "metrics": metrics,
        "fitted_at": now(),
    }
    store_run(ws, run)
    return run


def _fit_diagnostics(
    ws: Any,
    fitted: TransactionFitter,
    summary: pd.DataFrame,
    cal_end: datetime,
    hold_end: datetime | None,
    unit: str,
) -> dict[str, Any]:
    """The checks of Fader, Hardie & Lee (2005) for a purchase model: the calibration frequency
    histogram, cumulative tracking of the cohort's repeat transactions and, with a holdout, its total and
    the conditional expectations by calibration frequency (see core/models/btyd/diagnostics.py)."""
    x, t_x, T = (summary[c].to_numpy(float) for c in ("x", "t_x", "T"))
    out: dict[str, Any] = {"fit_histogram": _records(frequency_histogram(fitted, x, T))}
    days = time_unit_days(unit)
    last = hold_end or cal_end
    daily = cohort_daily_transactions(ws.table("orders"), cal_end, last).to_pandas()
    epoch = datetime(1970, 1, 1)
    tracking = cohort_tracking(fitted, daily, (cal_end - epoch).days, (last - epoch).days, days)
    tracking.insert(2, "end", [f"{epoch + timedelta(days=int(d)):%Y-%m-%d}" for d in tracking.end_day])
    out["tracking"] = _records(tracking.drop(columns="end_day"))
    if hold_end is None:
        return out
    duration = float(summary.duration_holdout.iloc[0])
    predicted = fitted.conditional_expected_purchases(duration, x, t_x, T)
    actual = summary.x_holdout.to_numpy(float)
    at_cal = tracking[~tracking.holdout].iloc[-1]
    at_end = tracking.iloc[-1]
    out.update(
        {
            "holdout_duration": duration,
            "holdout_actual": float(actual.sum()),
            "holdout_predicted": float(predicted.sum()),
            "holdout_mae": float(np.mean(np.abs(predicted - actual))),
            "holdout_correlation": float(np.corrcoef(predicted, actual)[0, 1]) if actual.std() > 0 else None,
            # The unconditional forecast of the cohort's holdout repeat transactions (tracking plot).
            "holdout_tracking_actual": float(at_end.actual - at_cal.actual),
            "holdout_tracking_expected": float(at_end.expected - at_cal.expected),
            "holdout_by_frequency": _records(
                holdout_by_frequency(fitted, x, t_x, T, actual, duration, expected=predicted)
            ),
        }
    )
    return out


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Plain JSON-ready rows (Python numbers, NaN as None)."""
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()} for row in rows]


def score(
    ws: Any,
    run_id: str | None = None,
    as_of: str | datetime | None = None,
    *,
    horizon_days: int = 90,
    clv_months: int = 12,
    monthly_discount_rate: float = 0.01,
    in_engine: bool = True,
) -> dict[str, Any]:
    """Score every customer with a transaction-model run (newest by default) as of ``as_of`` (default:
    the end of the run's data window) and write ``predictions``. CLV uses the newest Gamma-Gamma run
    when there is one (else it is left missing)."""
    run = load_run(ws, run_id)
    model_cls = _transaction_model(run["model"])
    model = model_cls.from_params(run["parameters"])
    unit = run["time_unit"]
    days = time_unit_days(unit)
    when = parse_as_of(as_of) if as_of is not None else (run["holdout_end"] or run["calibration_end"])
    horizon = horizon_days / days
    # An as_of given is an instant: orders later that day are not known yet. The default (the run's
    # window end) is a day, in the fit's own convention.
    known_at = when if as_of is not None else None
    summary_expr = calibration_summary(ws.table("orders"), when, None, unit, known_at=known_at)
    engine_fallback = None
    df = None
    if in_engine and run["model"] == "bgnbd":
        try:
            expr = bgnbd_score_expr(summary_expr, run["parameters"], horizon, purchase_horizon=30 / days)
        except EngineScoringUnsupported as exc:  # e.g. a horizon far beyond alpha: numpy scores exactly
            engine_fallback = exc.message
        else:
            df = expr.to_pandas().rename(
                columns={"expected_purchases": "expected_orders_90d", "p_purchase": "propensity"}
            )
    if df is None:
        df = summary_expr.to_pandas()
        x, t_x, T = (df[c].to_numpy(float) for c in ("x", "t_x", "T"))
        df["p_alive"] = model.probability_alive(x, t_x, T)
        df["expected_orders_90d"] = model.conditional_expected_purchases(horizon, x, t_x, T)
    if df.empty:
        raise PredictError(f"no customers with paid orders on or before {when:%Y-%m-%d}")
    x, t_x, T = (df[c].to_numpy(float) for c in ("x", "t_x", "T"))
    gg_run = next((r for r in list_runs(ws, "gg")), None)
    if gg_run is not None:
        gg = GammaGammaFitter.from_params(gg_run["parameters"])
        spend = gg.conditional_expected_average_spend(x, df.monetary_value.fillna(0.0).to_numpy(float))
        clv = customer_lifetime_value(
            model,
            x,
            t_x,
            T,
            spend,
            months=clv_months,
            monthly_discount_rate=monthly_discount_rate,
            time_unit=unit,
        )
    else:
        clv = np.full(len(df), np.nan)
    if "propensity" in df:
        propensity = df.propensity.to_numpy(float)
    else:
        propensity = model.probability_purchase_within(30 / days, x, t_x, T)
    wait = model.time_to_next_purchase(x, t_x, T) * days
    next_at = [when + timedelta(days=float(w)) if np.isfinite(w) and w < 3.6e6 else None for w in wait]
    scored_at = now()
    out = pa.table(
        {
            "customer_id": df.customer_id.astype(str).tolist(),
            "run_id": [run["run_id"]] * len(df),
            "as_of": pa.array([when] * len(df), pa.timestamp("us")),
            "p_alive": df.p_alive.to_numpy(float),
            "expected_orders_90d": df.expected_orders_90d.to_numpy(float),
            "clv_12m": pa.array(clv, pa.float64(), mask=~np.isfinite(clv)),
            "next_order_at": pa.array(next_at, pa.timestamp("us")),
            "purchase_propensity_30d": pa.array(propensity, pa.float64(), mask=~np.isfinite(propensity)),
            "scored_at": pa.array([scored_at] * len(df), pa.timestamp("us")),
        }
    )
    with ws.store.transaction():
        staged = ws.store.stage(out.to_batches(), out.schema, prefix="predictions")
        ws.store.upsert(PREDICTIONS, staged)
        ws.store.drop(staged)
    return {
        "run_id": run["run_id"],
        "model": run["model"],
        "as_of": when,
        "customers": len(df),
        "in_engine": bool(in_engine and run["model"] == "bgnbd" and engine_fallback is None),
        "engine_fallback": engine_fallback,
        "mean_p_alive": float(df.p_alive.mean()),
        "expected_orders_90d": float(df.expected_orders_90d.sum()),
        "clv_12m_total": float(np.nansum(clv)) if gg_run is not None else None,
        "clv_from_gg_run": gg_run["run_id"] if gg_run is not None else None,
    }
