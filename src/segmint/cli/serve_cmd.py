"""``segmint serve``: the HTTP service (ingest, live memberships, change log, webhooks)."""

from __future__ import annotations

import typer

from segmint.adapters.workspace import find_root
from segmint.cli._common import err_console, state


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        ctx: typer.Context,
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
        port: int = typer.Option(8000, "--port", help="Port to listen on."),
        log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level."),
        read_only: bool = typer.Option(
            False,
            "--read-only",
            help="A reporting replica: open the workspace read-only (it may be immutable), serve the API's "
            "reads and the dashboard, refuse ingest and every other write.",
        ),
    ) -> None:
        """Serve the API for this workspace (OpenAPI docs at /docs). The service is the workspace's only
        writer while it runs: other commands that write should go through its API."""
        import uvicorn

        from segmint.adapters.duckdb_handle import refuse_other_engines
        from segmint.adapters.workspace import Workspace
        from segmint.api.app import create_app
        from segmint.live.service import ServiceSettings
        from segmint.web.app import install

        root = find_root(state(ctx).workspace)
        refuse_other_engines(root)  # before opening: a Spark workspace would start a JVM first
        Workspace.open(root, read_only=read_only).close()  # a clear error now if missing or in use
        mode = " read-only" if read_only else ""
        err_console.print(f"segmint serving {root}{mode} on http://{host}:{port} (docs: /docs)")
        app = create_app(root, settings=ServiceSettings(read_only=read_only), configure=install)
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
