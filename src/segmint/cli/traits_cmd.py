"""``segmint traits list`` and ``segmint profile CUSTOMER_ID``."""

from __future__ import annotations

import typer

from segmint.adapters.workspace import WorkspaceError
from segmint.batch.traits import profile, workspace_catalog
from segmint.cli._common import emit, open_workspace, state
from segmint.core.traits import FAMILIES, default_catalog
from segmint.errors import SegmintError


def register(app: typer.Typer) -> None:
    traits_app = typer.Typer(help="The trait catalog.", no_args_is_help=True)
    app.add_typer(traits_app, name="traits")

    @traits_app.command("list")
    def list_traits(
        ctx: typer.Context,
        family: str | None = typer.Option(None, "--family", help="Only this family (e.g. value)."),
    ) -> None:
        """Every trait: name, type, family, unit and description. Inside a workspace the list includes
        one share_<category> trait per product category."""
        if family is not None and family not in FAMILIES:
            raise SegmintError(f"unknown trait family {family!r}; families: {', '.join(FAMILIES)}")
        try:
            with open_workspace(ctx, read_only=True) as ws:
                catalog = workspace_catalog(ws)
        except WorkspaceError:
            catalog = default_catalog()
        rows = [
            {
                "name": s.name,
                "type": s.type_name,
                "family": s.family,
                "unit": s.unit,
                "description": s.description,
            }
            for s in catalog
            if family is None or s.family == family
        ]
        emit(
            ctx, rows, title=f"{len(rows)} traits", columns=["name", "type", "family", "unit", "description"]
        )

    @app.command("profile")
    def profile_cmd(
        ctx: typer.Context,
        customer_id: str = typer.Argument(..., help="The customer's id."),
        as_of: str | None = typer.Option(None, "--as-of", help="Time to compute at (default now)."),
    ) -> None:
        """One customer's traits, grouped by family."""
        with open_workspace(ctx, read_only=True) as ws:
            result = profile(ws, customer_id, as_of)
        if state(ctx).json:
            emit(ctx, result)
            return
        emit(ctx, {"customer_id": result["customer_id"], "as_of": result["as_of"]})
        for family, values in result["traits"].items():
            emit(ctx, values, title=family)
