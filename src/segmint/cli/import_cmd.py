"""``segmint import FORMAT FILE...``: parse flags, call ``batch.importing.import_files``, render."""

from __future__ import annotations

from pathlib import Path

import typer

from segmint.cli._common import emit, err_console, open_workspace, progress_for, state
from segmint.errors import SegmintError


def _pairs(values: list[str]) -> dict[str, str]:
    out = {}
    for item in values:
        canonical, sep, source = item.partition("=")
        if not sep or not canonical.strip() or not source.strip():
            raise SegmintError(f"--map-column expects canonical=source, got {item!r}")
        out[canonical.strip()] = source.strip()
    return out


def register(app: typer.Typer) -> None:
    @app.command("import")
    def import_(
        ctx: typer.Context,
        fmt: str = typer.Argument(
            ..., metavar="FORMAT", help="generic, shopify-orders, shopify-customers, online-retail or cdnow."
        ),
        files: list[Path] = typer.Argument(..., metavar="FILE...", help="Files to import (one transaction)."),
        map_file: Path | None = typer.Option(None, "--map", help="YAML column mapping (generic)."),
        map_column: list[str] = typer.Option(
            [], "--map-column", help="canonical=source (generic; repeatable)."
        ),
        table: str | None = typer.Option(None, "--table", help="Canonical table (generic)."),
        keep_good: bool = typer.Option(False, "--keep-good", help="Load good rows, quarantine bad ones."),
        delimiter: str | None = typer.Option(None, "--delimiter", help="CSV delimiter (default: detected)."),
        encoding: str | None = typer.Option(None, "--encoding", help="Text encoding (default: detected)."),
        date_format: str | None = typer.Option(
            None, "--date-format", help="strptime format, e.g. %d/%m/%Y %H:%M."
        ),
        timezone: str | None = typer.Option(
            None, "--timezone", help="Zone of times without an offset (default UTC)."
        ),
        currency: str | None = typer.Option(None, "--currency", help="Currency when the file has none."),
    ) -> None:
        """Import files: strict by default (one bad row stores nothing), idempotent, incremental."""
        from segmint.batch.importing import import_files, load_mapping

        mapping: dict | None = None
        if map_file is not None or map_column:
            columns, settings = load_mapping(map_file) if map_file else ({}, {})
            mapping = {"columns": {**columns, **_pairs(map_column)}, **settings}
        options = {
            "delimiter": delimiter,
            "encoding": encoding,
            "date_format": date_format,
            "timezone": timezone,
            "currency": currency,
        }
        with open_workspace(ctx) as ws, progress_for(ctx, "import") as progress:
            report = import_files(
                ws,
                fmt,
                files,
                table=table,
                mapping=mapping,
                keep_good=keep_good,
                progress=progress,
                options=options,
            )
        data = report.to_dict()
        if state(ctx).json:
            emit(ctx, data)
            return
        summary = {
            "import": report.import_id,
            "format": report.format,
            "files": ", ".join(Path(f).name for f in report.files),
            "status": "skipped (already imported)"
            if report.skipped
            else ("partial" if report.rows_rejected else "loaded"),
            "rows read": report.rows_read,
            "rows loaded": report.rows_loaded,
            "rows rejected (quarantined)": report.rows_rejected,
            **{f"{name} rows": n for name, n in report.tables.items()},
        }
        emit(ctx, summary, title="import")
        for note in report.notes:
            err_console.print(f"note: {note}", highlight=False)
