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
    ) -> None:
        """Serve the API for this workspace (OpenAPI docs at /docs). The service is the workspace's only
        writer while it runs: other commands that write should go through its API."""
        import uvicorn

        from segmint.adapters.workspace import Workspace
        from segmint.api.app import create_app
        from segmint.web.app import install

        root = find_root(state(ctx).workspace)
        Workspace.open(root).close()  # a clear error now if the workspace is missing or in use
        err_console.print(f"segmint serving {root} on http://{host}:{port} (docs: /docs)")
        uvicorn.run(
            create_app(root, configure=install), host=host, port=port, log_level=log_level, access_log=False
        )
