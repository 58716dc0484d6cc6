"""``segmint predict fit|score|report``: BTYD models on the workspace's orders."""

from __future__ import annotations

import typer

from segmint.cli._common import emit, open_workspace
from segmint.models import predict as uc
from segmint.models.propensity import backtest_propensity


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Predictive models: BG/NBD, Pareto/NBD, MBG/NBD, Gamma-Gamma; P(alive), CLV.")
    app.add_typer(group, name="predict")

    @group.command("fit")
    def fit(
        ctx: typer.Context,
        model: str = typer.Option("bgnbd", "--model", help="bgnbd, pnbd, mbgnbd or gg (Gamma-Gamma spend)."),
        calibration_end: str = typer.Option(..., "--calibration-end", help="Last day of the fitting period."),
        holdout_end: str | None = typer.Option(
            None, "--holdout-end", help="Measure the forecast up to here."
        ),
        time_unit: str = typer.Option("weeks", "--time-unit", help="weeks or days."),
    ) -> None:
        """Fit a model by maximum likelihood and store the run (parameters, log-likelihood, metrics)."""
        with open_workspace(ctx) as ws:
            run = uc.fit_model(ws, model, calibration_end, holdout_end, time_unit)
        if ctx.find_root().obj.json:
            emit(ctx, run)
            return
        _emit_run_head(ctx, run)
        if any(run["metrics"].get(key) for key in _TABLES):
            typer.echo(f"Fit and holdout tables: segmint predict report --run {run['run_id']}")

    @group.command("score")
    def score(
        ctx: typer.Context,
        run_id: str | None = typer.Option(None, "--run", help="Run to score with (default: newest)."),
        as_of: str | None = typer.Option(None, "--as-of", help="Score as of this time (default: run's end)."),
        discount: float = typer.Option(0.01, "--monthly-discount", help="Monthly discount rate for CLV."),
        numpy_only: bool = typer.Option(False, "--no-engine", help="Score in Python instead of the engine."),
    ) -> None:
        """Write p_alive, expected_orders_90d, clv_12m and next_order_at for every customer."""
        with open_workspace(ctx) as ws:
            out = uc.score(ws, run_id, as_of, monthly_discount_rate=discount, in_engine=not numpy_only)
        emit(ctx, out, title="predictions")

    @group.command("backtest")
    def backtest(
        ctx: typer.Context,
        cutoff: str = typer.Option(..., "--cutoff", help="Test cutoff; training uses cutoff - horizon."),
        horizon: str = typer.Option("90d", "--horizon", help="Label window after each cutoff, e.g. 30d."),
    ) -> None:
        """Time-split backtest of the order-again propensity model against recency and BG/NBD P(alive)."""
        with open_workspace(ctx) as ws:
            out = backtest_propensity(ws, cutoff, horizon)
        if ctx.find_root().obj.json:
            emit(ctx, out)
            return
        title = f"{out['label']}: train {out['train_cutoff']:%Y-%m-%d}, test {out['test_cutoff']:%Y-%m-%d}"
        emit(ctx, out["metrics"], title=title)
        emit(ctx, out["calibration"], title="calibration (test customers by decile of predicted probability)")

    @group.command("report")
    def report(
        ctx: typer.Context,
        model: str | None = typer.Option(None, "--model", help="Only runs of this model."),
        run_id: str | None = typer.Option(
            None, "--run", help="Show one run in full (an id, or 'latest'): fit and holdout tables."
        ),
    ) -> None:
        """Every fitted run with its parameters, log-likelihood and metrics (newest first); with --run,
        one run's calibration histogram, cohort tracking and holdout fit by calibration frequency."""
        with open_workspace(ctx, read_only=True) as ws:
            runs = uc.list_runs(ws, model)
        if run_id is not None:
            _report_run(ctx, runs, run_id)
            return
        if not runs:
            emit(ctx, [], title="model runs", columns=["run_id", "model"])
            return
        rows = [
            {
                "run_id": r["run_id"],
                "model": r["model"],
                "fitted_at": r["fitted_at"],
                "calibration_end": r["calibration_end"],
                "parameters": ", ".join(f"{k}={v:.4g}" for k, v in r["parameters"].items()),
                "log_likelihood": r["log_likelihood"],
                "customers": r["n_customers"],
                **{k: v for k, v in r["metrics"].items() if k in _SUMMARY_METRICS},
            }
            for r in runs
        ]
        emit(ctx, rows if ctx.find_root().obj.json is False else runs, title="model runs")


_SUMMARY_METRICS = ("holdout_actual", "holdout_predicted", "holdout_mae", "aic", "bic")
_TABLES = {
    "fit_histogram": "calibration: customers by repeat purchases (actual vs expected)",
    "holdout_by_frequency": "holdout: mean purchases by calibration repeat purchases (actual vs expected)",
    "tracking": "cumulative repeat transactions of the cohort by period (actual vs expected)",
}


def _report_run(ctx: typer.Context, runs: list[dict], run_id: str) -> None:
    chosen = runs[:1] if run_id == "latest" else [r for r in runs if r["run_id"] == run_id]
    if not chosen:
        raise uc.PredictError(f"no run {run_id!r} in this workspace: `segmint predict report` lists them")
    run = chosen[0]
    if ctx.find_root().obj.json:
        emit(ctx, run)
        return
    _emit_run_head(ctx, run)
    for key, title in _TABLES.items():
        rows = run["metrics"].get(key)
        if not rows:
            continue
        if key == "tracking":  # narrower for a terminal: cumulative, then per period
            title += f"; the holdout starts after {run['calibration_end']:%Y-%m-%d}"
            rows = [
                {
                    "period": r["period"],
                    "end": r["end"],
                    "cum_actual": r["actual"],
                    "cum_expected": r["expected"],
                    "actual": r["actual_incremental"],
                    "expected": r["expected_incremental"],
                }
                for r in rows
            ]
        emit(ctx, rows, title=title)


def _emit_run_head(ctx: typer.Context, run: dict) -> None:
    """Parameters with standard errors, log-likelihood and the scalar metrics of one run."""
    se = run["standard_errors"]
    head = {
        "run": run["run_id"],
        "model": run["model"],
        "calibration_end": run["calibration_end"],
        "holdout_end": run["holdout_end"],
        "log_likelihood": run["log_likelihood"],
        **{f"{k} (se)": f"{v:.4f} ({se.get(k, float('nan')):.4f})" for k, v in run["parameters"].items()},
        **{k: v for k, v in run["metrics"].items() if not isinstance(v, list)},
    }
    emit(ctx, head, title=f"{run['model']} run {run['run_id']}")
