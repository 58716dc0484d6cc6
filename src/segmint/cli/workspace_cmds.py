"""``segmint init``."""

from __future__ import annotations

from pathlib import Path

import typer

from segmint.adapters.workspace import Workspace
from segmint.cli._common import emit, state


def register(app: typer.Typer) -> None:
    @app.command()
    def init(
        ctx: typer.Context,
        directory: Path | None = typer.Argument(None, help="Folder to create (default: --workspace or .)."),
        name: str | None = typer.Option(None, help="Shop name (default: the folder's name)."),
    ) -> None:
        """Create a workspace: segmint.toml, segments/ and the embedded DuckDB database."""
        st = state(ctx)
        target = directory or st.workspace or Path.cwd()
        with Workspace.init(target, engine=st.engine, name=name) as ws:
            emit(ctx, {"workspace": str(ws.root), "engine": ws.engine.kind, "tables": sorted(ws.tables())})
