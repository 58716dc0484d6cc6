"""``segmint generate``: write a synthetic shop to Parquet (and optionally load it into the workspace)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from segmint.cli._common import emit, open_workspace, progress_for
from segmint.demo.generate import generate_shop, generated_end, load_generated


def register(app: typer.Typer) -> None:
    @app.command()
    def generate(
        ctx: typer.Context,
        customers: int = typer.Option(10_000, "--customers", "-n", help="Number of customers."),
        out: Path = typer.Option(..., "--out", "-o", help="Folder to write the Parquet files to."),
        seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same shop."),
        start: str | None = typer.Option(
            None, "--start", help="First day of the history (default 2024-01-01)."
        ),
        end: str | None = typer.Option(None, "--end", help="Last day of the history (default 2025-12-31)."),
        workers: int | None = typer.Option(None, "--workers", help="Processes to use (default: all cores)."),
        load: bool = typer.Option(False, "--load", help="Also load the shop into the workspace."),
    ) -> None:
        """Generate a realistic synthetic shop (customers, catalog, orders, events, personas)."""
        stats: dict = {}
        began = time.perf_counter()
        with progress_for(ctx, "generate") as progress:
            generate_shop(
                out,
                customers,
                seed=seed,
                start=start,
                end=end,
                workers=workers,
                progress=progress,
                stats=stats,
            )
            result: dict = {"out": str(Path(out).resolve()), "seed": seed, "end": generated_end(out)}
            result.update({f"rows.{k}": v for k, v in stats["counts"].items()})
            result["seconds"] = round(time.perf_counter() - began, 2)
            if load:
                with open_workspace(ctx) as ws:
                    loaded = load_generated(ws, out, progress=progress)
                    result["loaded_into"] = str(ws.root)
                    result["loaded_rows"] = sum(loaded.values())
        emit(ctx, result, title="Synthetic shop")
