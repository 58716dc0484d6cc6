"""The list of command modules. A module exposes ``register(app)``; add one line here per module."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    from segmint.cli import workspace_cmds

    workspace_cmds.register(app)
    from segmint.cli import run_cmd

    run_cmd.register(app)
    from segmint.cli import demo_cmd

    demo_cmd.register(app)
    from segmint.cli import import_cmd

    import_cmd.register(app)
    from segmint.cli import traits_cmd

    traits_cmd.register(app)
    from segmint.cli import cluster_cmd

    cluster_cmd.register(app)
    from segmint.cli import segments_cmd

    segments_cmd.register(app)
    from segmint.cli import keys_cmd, serve_cmd

    keys_cmd.register(app)
    serve_cmd.register(app)
    from segmint.cli import predict_cmd

    predict_cmd.register(app)
    from segmint.cli import generate_cmd

    generate_cmd.register(app)
    from segmint.cli import report_cmd

    report_cmd.register(app)
