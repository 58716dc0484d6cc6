"""``segmint run``: the batch pipeline as of a time, or a backfill over past times."""

from __future__ import annotations

import typer

from segmint.batch.pipeline import backfill_pipeline, run_pipeline
from segmint.cli._common import console, emit, open_workspace, progress_for, state


def register(app: typer.Typer) -> None:
    @app.command()
    def run(
        ctx: typer.Context,
        as_of: str | None = typer.Option(None, "--as-of", help="Instant to compute at (default: now)."),
        start: str | None = typer.Option(None, "--from", help="Backfill: first instant."),
        end: str | None = typer.Option(None, "--to", help="Backfill: last instant."),
        every: str = typer.Option("1w", "--every", help="Backfill: step between instants (1d, 1w, …)."),
    ) -> None:
        """Compute traits, evaluate every segment and record history as of a time (or backfill a range)."""
        with open_workspace(ctx) as ws:
            if start or end:
                if not (start and end):
                    raise typer.BadParameter("a backfill needs both --from and --to")
                with progress_for(ctx, "backfill") as progress:
                    results = backfill_pipeline(ws, start, end, every, progress=progress)
                emit(ctx, [_row(r) for r in results], title="backfill")
                return
            result = run_pipeline(ws, as_of)
            if state(ctx).json:
                emit(ctx, result.to_dict())
                return
            console.print(f"as of [bold]{result.as_of:%Y-%m-%d %H:%M:%S}[/] UTC")
            emit(ctx, _row(result))


def _row(result) -> dict:
    entered = sum(s.get("entered", 0) or 0 for s in result.segments)
    exited = sum(s.get("exited", 0) or 0 for s in result.segments)
    return {
        "as_of": result.as_of.isoformat(sep=" "),
        "customers": result.customers,
        "segments": len(result.segments),
        "entered": entered,
        "exited": exited,
        "seconds": round(sum(v for k, v in result.seconds.items() if k != "total"), 2),
    }
