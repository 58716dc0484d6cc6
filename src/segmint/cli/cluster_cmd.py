"""``segmint cluster fit|report|assign|list``: ML segments."""

from __future__ import annotations

from datetime import datetime

import typer

from segmint.cli._common import console, emit, open_workspace, state
from segmint.core.timeutil import parse_as_of
from segmint.models.clusters import (
    assign_clusters,
    cluster_report,
    fit_clusters,
    list_models,
)


def register(app: typer.Typer) -> None:
    cluster = typer.Typer(
        help="ML segments: clusters with automatic k and readable profiles.", no_args_is_help=True
    )
    app.add_typer(cluster, name="cluster")

    @cluster.command("fit")
    def fit(
        ctx: typer.Context,
        traits: str | None = typer.Option(
            None, "--traits", help="Comma-separated traits (default: value and behavioural traits)."
        ),
        k: str = typer.Option("auto", "--k", help="Number of clusters, or 'auto' to choose from the data."),
        algorithm: str = typer.Option("kmeans", "--algorithm", help="kmeans, minibatch, gmm or kprototypes."),
        sample: int = typer.Option(50_000, "--sample", help="Customers to fit on (all are assigned)."),
        name: str = typer.Option("default", "--name", help="Model name; a refit continues its clusters."),
        as_of: str | None = typer.Option(None, "--as-of", help="Compute traits as of this time."),
        seed: int = typer.Option(0, "--seed", help="Random seed for sampling and fitting."),
    ) -> None:
        """Fit (or refit) a cluster model and assign every customer to a cluster."""
        names = [t.strip() for t in traits.split(",") if t.strip()] if traits else None
        when: datetime | None = parse_as_of(as_of) if as_of else None
        with open_workspace(ctx) as ws:
            result = fit_clusters(
                ws, traits=names, k=k, algorithm=algorithm, sample=sample, name=name, as_of=when, seed=seed
            )
        data = result.to_dict()
        if state(ctx).json:
            emit(ctx, data)
            return
        console.print(
            f"model [bold]{data['model']}[/] v{data['version']}: {data['algorithm']}, k={data['k']} "
            f"({data['k_reason']}); stability ARI {_f(data['stability_ari'])}; {data['assigned']:,} assigned"
        )
        emit(ctx, data["clusters"], title="clusters", columns=["cluster", "name", "size", "share"])
        emit(ctx, data["timings"], title="seconds")

    @cluster.command("report")
    def report(
        ctx: typer.Context,
        model: str = typer.Option("default", "--model", help="Model name."),
    ) -> None:
        """Print the profiles: size, name, description and the traits that set each cluster apart."""
        with open_workspace(ctx, read_only=True) as ws:
            data = cluster_report(ws, model)
        if state(ctx).json:
            emit(ctx, data)
            return
        console.print(
            f"model [bold]{data['model']}[/] v{data['version']} ({data['algorithm']}, k={data['k']}): "
            f"{data['selection'].get('reason', '')}"
        )
        rows = [
            {
                "segment": c["segment"],
                "name": c["name"],
                "size": c["size"],
                "share": f"{c['share']:.1%}",
                "stability": c["stability"],
                "description": c["description"],
            }
            for c in data["clusters"]
        ]
        emit(ctx, rows, title="clusters")

    @cluster.command("assign")
    def assign(
        ctx: typer.Context,
        model: str = typer.Option("default", "--model", help="Model name."),
        as_of: str | None = typer.Option(None, "--as-of", help="Compute traits as of this time."),
    ) -> None:
        """Re-assign every customer with a stored model (records membership changes)."""
        when = parse_as_of(as_of) if as_of else None
        with open_workspace(ctx) as ws:
            count = assign_clusters(ws, model, as_of=when)
        emit(ctx, {"model": model, "assigned": count})

    @cluster.command("list")
    def list_(ctx: typer.Context) -> None:
        """List cluster models (latest version of each)."""
        with open_workspace(ctx, read_only=True) as ws:
            rows = list_models(ws)
        emit(ctx, rows, title="cluster models")


def _f(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"
