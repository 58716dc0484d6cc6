"""``segmint demo``: build the demo shop, run everything, print a summary, then serve it."""

from __future__ import annotations

from pathlib import Path

import typer

from segmint.cli._common import console, emit, progress_for, state


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        ctx: typer.Context,
        customers: int = typer.Option(20_000, "--customers", min=500, help="Size of the synthetic shop."),
        directory: Path = typer.Option(Path(".demo"), "--dir", help="Where the demo shop is built."),
        seed: int = typer.Option(7, "--seed", help="Random seed of the generator."),
        rebuild: bool = typer.Option(False, "--rebuild", help="Rebuild even if a matching shop exists."),
        serve: bool = typer.Option(True, "--serve/--no-serve", help="Serve the dashboard afterwards."),
        host: str = typer.Option("127.0.0.1", "--host"),
        port: int = typer.Option(8000, "--port"),
    ) -> None:
        """Generate a synthetic shop, import it, run traits, segments, models and clusters, and serve it."""
        from segmint.demo.build import build_demo

        # Each stage of the build reaches the display through ``progress`` (build_demo announces its
        # steps there too), so the demo is as quiet as any command under --json or in a pipe.
        with progress_for(ctx, "demo") as progress:
            summary = build_demo(
                directory, customers=customers, seed=seed, rebuild=rebuild, progress=progress
            )
        if state(ctx).json:
            emit(ctx, summary.to_dict())
        else:
            _print(summary)
        if serve:
            _serve(summary.workspace, host, port)


def _print(summary) -> None:
    c = summary.counts
    console.print(
        f"\n[bold]Demo shop[/] at {summary.workspace} as of {summary.as_of:%Y-%m-%d %H:%M} UTC"
        + (" (reused)" if summary.reused else "")
    )
    console.print(
        f"{c['customers']:,} customers · {c['orders']:,} orders · {c['events']:,} events · "
        f"revenue {summary.revenue:,.2f}"
    )
    top = summary.segments[:12]
    if top:
        from rich.table import Table

        table = Table(title="largest segments")
        table.add_column("segment")
        table.add_column("members", justify="right")
        for row in top:
            table.add_row(row["segment"], f"{row['members']:,}")
        console.print(table)
    if summary.seconds:
        console.print("time: " + ", ".join(f"{k} {v:.1f}s" for k, v in summary.seconds.items()))


def _serve(root: Path, host: str, port: int) -> None:
    import uvicorn

    from segmint.api.app import create_app
    from segmint.web.app import install

    token = _demo_key(root)
    console.print(
        f"\n[bold green]Dashboard:[/] http://{host}:{port}/   (API docs: http://{host}:{port}/docs)"
    )
    console.print(f"Sign in with the demo key (scopes read, ingest, admin): [bold]{token}[/]")
    console.print("Press Ctrl+C to stop.")
    uvicorn.run(create_app(root, configure=install), host=host, port=port, log_level="warning")


def _demo_key(root: Path) -> str:
    """A fresh key for this demo session. The service is the workspace's only writer once it runs, so
    the key is made before it starts; earlier demo keys are revoked so only the printed one works."""
    from segmint.access.keys import create_key, list_keys, revoke_key
    from segmint.adapters.workspace import Workspace

    with Workspace.open(root) as ws:
        for key in list_keys(ws.con):
            if key.name == "demo" and key.revoked_at is None:
                revoke_key(ws.con, key.key_id)
        _, token = create_key(ws.con, "demo", "read,ingest,admin")
    return token
