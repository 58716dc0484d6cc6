"""``segmint predict fit|score|report``: BTYD models on the workspace's orders."""

from __future__ import annotations

import typer

from segmint.cli._common import emit, open_workspace
from segmint.usecases import predict as uc


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
        emit(ctx, run, title=f"{model} run {run['run_id']}")

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
            out = uc.backtest_propensity(ws, cutoff, horizon)
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
    ) -> None:
        """Every fitted run with its parameters, log-likelihood and metrics (newest first)."""
        with open_workspace(ctx, read_only=True) as ws:
            runs = uc.list_runs(ws, model)
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
                **{k: v for k, v in r["metrics"].items() if k.startswith("holdout_") or k in ("aic", "bic")},
            }
            for r in runs
        ]
        emit(ctx, rows if ctx.find_root().obj.json is False else runs, title="model runs")
