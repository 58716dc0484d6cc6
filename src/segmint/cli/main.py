"""The ``segmint`` command. Each command group lives in its own module and only parses, calls a use
case and renders; errors a user can cause are printed as one clear message, never a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from segmint.cli._common import err_console, print_json, state
from segmint.errors import SegmintError

app = typer.Typer(
    name="segmint",
    help="Customer segmentation for e-commerce: import, compute traits, segment, predict, serve.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _global(
    ctx: typer.Context,
    workspace: Path | None = typer.Option(
        None, "--workspace", "-w", envvar="SEGMINT_WORKSPACE", help="Workspace folder (default: current)."
    ),
    engine: str | None = typer.Option(
        None, "--engine", help="Override the engine: duckdb, pyspark[:master] or a backend URL."
    ),
    json_output: bool = typer.Option(False, "--json", help="Machine-readable JSON output."),
) -> None:
    st = state(ctx)
    st.workspace, st.engine, st.json = workspace, engine, json_output


def _register() -> None:
    """Attach the command modules. Imported here so that a missing optional piece fails loudly."""
    from segmint.cli import commands

    commands.register(app)


def main(argv: list[str] | None = None) -> None:
    _register()
    want_json = "--json" in (argv if argv is not None else sys.argv[1:])
    try:
        app(args=argv, standalone_mode=False)
    except SegmintError as exc:
        if want_json:
            print_json(exc.to_dict())
        else:
            err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        err_console.print("interrupted")
        raise SystemExit(130) from None
    except SystemExit:
        raise
    except Exception as exc:
        # Usage errors come through here in non-standalone mode. Typer vendors its own copy of click, so
        # they are recognised by shape rather than by class.
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            raise SystemExit(exc.exit_code) from None
        if type(exc).__name__ == "Abort":
            raise SystemExit(1) from None
        raise


if __name__ == "__main__":  # pragma: no cover
    main()
