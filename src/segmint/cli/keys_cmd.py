"""``segmint keys create|list|revoke``: API keys for the HTTP service (stored hashed)."""

from __future__ import annotations

import typer

from segmint.access.keys import create_key, list_keys, revoke_key
from segmint.cli._common import emit, open_workspace


def register(app: typer.Typer) -> None:
    keys = typer.Typer(
        help="API keys for `segmint serve` (scopes: ingest, read, admin).", no_args_is_help=True
    )
    app.add_typer(keys, name="keys")

    @keys.command("create")
    def create(
        ctx: typer.Context,
        name: str = typer.Option(..., "--name", help="What the key is for, e.g. 'storefront'."),
        scopes: str = typer.Option("ingest", "--scopes", help="Comma-separated: ingest, read, admin."),
    ) -> None:
        """Create a key and print its token (shown only once)."""
        with open_workspace(ctx) as ws:
            key, token = create_key(ws.con, name, scopes)
        emit(ctx, {**key.public(), "scopes": ",".join(sorted(key.scopes)), "token": token})

    @keys.command("list")
    def list_(ctx: typer.Context) -> None:
        """List keys (never their tokens)."""
        with open_workspace(ctx) as ws:
            rows = [{**k.public(), "scopes": ",".join(sorted(k.scopes))} for k in list_keys(ws.con)]
        emit(ctx, rows, title="API keys", columns=["key_id", "name", "scopes", "created_at", "revoked_at"])

    @keys.command("revoke")
    def revoke(
        ctx: typer.Context, key_id: str = typer.Argument(..., help="The key id (see keys list).")
    ) -> None:
        """Revoke a key: requests with it are refused from the next service start (or at once via the API)."""
        with open_workspace(ctx) as ws:
            key = revoke_key(ws.con, key_id)
        emit(ctx, {**key.public(), "scopes": ",".join(sorted(key.scopes))})
