"""The ``segmint`` command. Each command group lives in its own module and only parses, calls a use
case and renders; errors a user can cause are printed as one clear message, never a traceback."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from segmint.cli._common import CliState, err_console, print_json, state
from segmint.core.timeutil import DurationError
from segmint.errors import SegmintError

GLOBAL_PANEL = "Global options"
# Root parameter name -> the CliState field it sets.
GLOBAL_FIELDS = {"workspace": "workspace", "engine": "engine", "json_output": "json"}
_COPY_PREFIX = "segmint_global_"


class GlobalOptionsGroup(TyperGroup):
    """The root command: it also accepts the global options on every group and command below it, so
    ``segmint segments count "x" --json`` and ``segmint run -w shop`` work like ``segmint --json ...``.

    Why copies of the options rather than moving them to the front of argv before parsing: only Click
    knows, command by command, which options take a value and where ``--`` ends the options. A
    hoister would have to re-implement that parser to leave ``--as-of --json`` (``--json`` is the
    value) and ``segments count -- --json`` (``--json`` is the rule) alone. Attached to each command,
    the global options are parsed by Click itself, in the command's own grammar, and each command's
    ``--help`` lists them.

    A command that defines an option spelled like a global one (say ``-w`` for ``--workers``) keeps
    it: that spelling is left off the copy on that command only, so there it means the command's
    option while the other spellings (``--workspace``) and the global option before the command name
    still work. Given twice, the later occurrence wins, as for any Click option.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        globals_ = [p for p in self.params if p.name in GLOBAL_FIELDS]
        _spread(self, globals_)


def _spread(group: Any, globals_: list[Any]) -> None:
    for command in group.commands.values():
        _attach(command, globals_)
        if hasattr(command, "commands"):
            _spread(command, globals_)


def _attach(command: Any, globals_: list[Any]) -> None:
    names = {p.name for p in command.params}
    taken = {o for p in command.params for o in (*getattr(p, "opts", ()), *getattr(p, "secondary_opts", ()))}
    for option in globals_:
        name = _COPY_PREFIX + option.name
        spellings = [o for o in option.opts if o not in taken]
        if name in names or not spellings:
            continue
        clone = copy.copy(option)
        clone.opts, clone.secondary_opts = spellings, []
        clone.name = name  # its own parser slot, whatever the command calls its parameters
        clone.envvar = None  # the root reads SEGMINT_WORKSPACE; a copy must not override an explicit -w
        clone.default = None if not option.is_flag else False
        clone.expose_value = False  # the command's function never sees it: it lands in CliState
        clone.callback = _remember(GLOBAL_FIELDS[option.name])
        command.params.append(clone)


def _remember(field: str):
    def callback(ctx: Any, param: Any, value: Any) -> Any:
        # Absent is None (or False for --json): only an option actually given changes the state.
        if value is not None and value is not False:
            setattr(state(ctx), field, value)
        return value

    return callback


app = typer.Typer(
    name="segmint",
    cls=GlobalOptionsGroup,
    help="Customer segmentation for e-commerce: import, compute traits, segment, predict, serve.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def global_options(
    ctx: typer.Context,
    workspace: Path | None = typer.Option(
        None,
        "--workspace",
        "-w",
        envvar="SEGMINT_WORKSPACE",
        help="Workspace folder (default: current).",
        rich_help_panel=GLOBAL_PANEL,
    ),
    engine: str | None = typer.Option(
        None,
        "--engine",
        help="Override the engine: duckdb, pyspark[:master] or a backend URL.",
        rich_help_panel=GLOBAL_PANEL,
    ),
    json_output: bool = typer.Option(
        False, "--json", help="Machine-readable JSON output.", rich_help_panel=GLOBAL_PANEL
    ),
) -> None:
    st = state(ctx)
    st.workspace, st.engine, st.json = workspace, engine, json_output


_registered = False


def _register() -> None:
    """Attach the command modules (once per process). Imported here so that a missing optional piece
    fails loudly."""
    global _registered
    if _registered:
        return
    from segmint.cli import commands

    commands.register(app)
    _registered = True


def main(argv: list[str] | None = None) -> None:
    _register()
    # The state outlives the parse, so an error is printed as JSON exactly when --json was parsed as
    # the global flag, wherever it stood (and not when it was an option's value or came after --).
    st = CliState()
    try:
        app(args=argv, standalone_mode=False, obj=st)
    except (SegmintError, DurationError) as exc:
        # A time the user typed that cannot be read is their error too, even where a use case lets the
        # core's DurationError (a ValueError, core being free of service concerns) through unwrapped.
        if isinstance(exc, SegmintError):
            message, data, code = exc.message, exc.to_dict(), exc.exit_code
        else:
            message, code = str(exc), SegmintError.exit_code
            data = {"error": type(exc).__name__, "message": message}
        if st.json:
            print_json(data)
        else:
            err_console.print(f"[bold red]error:[/] {message}", highlight=False)
        raise SystemExit(code) from None
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
