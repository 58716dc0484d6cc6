"""``segmint report --out report.html [--as-of T]``: write the self-contained HTML report."""

from __future__ import annotations

from pathlib import Path

import typer

from segmint.cli._common import emit, open_workspace


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        ctx: typer.Context,
        out: Path = typer.Option(Path("report.html"), "--out", "-o", help="The HTML file to write."),
        as_of: str | None = typer.Option(
            None, "--as-of", help="A segment run time (default: the latest run)."
        ),
    ) -> None:
        """Write one HTML file with the overview, segments and charts; it opens offline."""
        from segmint.batch.reads import current_time
        from segmint.core.timeutil import parse_as_of
        from segmint.web.report import write_report

        with open_workspace(ctx, read_only=True) as ws:
            path = write_report(ws, out, as_of)
            at = parse_as_of(as_of) if as_of is not None else current_time(ws)
        emit(ctx, {"report": str(path), "bytes": path.stat().st_size, "as_of": at})
