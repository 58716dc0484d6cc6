"""``--workspace/-w``, ``--engine`` and ``--json`` work anywhere on the command line: before the
command, between a group and its command, after the command and its arguments, in every spelling;
Click still decides what is an option's value and what comes after ``--``."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from segmint.cli._common import state
from segmint.cli.main import GlobalOptionsGroup, _register, app, global_options

from .conftest import RULE, RULE_COUNT, SEGMENT, cli, cli_json

GLOBAL_SPELLINGS = {"--workspace", "-w", "--engine", "--json"}
# Commands that define an option spelled like a global one keep it (see GlobalOptionsGroup). None does
# today; a command that starts to must be listed here, with the spellings it takes over, and its own
# test, so the clash is a decision and not an accident.
OWN_SPELLINGS: dict[str, set[str]] = {}


def _commands(group, path=()):
    for name, command in group.commands.items():
        yield (*path, name), command
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))


def test_every_command_accepts_every_global_option():
    _register()
    root = typer.main.get_command(app)
    checked = 0
    for path, command in _commands(root):
        own = {o for p in command.params if not p.name.startswith("segmint_global_") for o in p.opts}
        copied = {o for p in command.params if p.name.startswith("segmint_global_") for o in p.opts}
        clashes = own & GLOBAL_SPELLINGS
        assert clashes == OWN_SPELLINGS.get(" ".join(path), set()), (path, clashes)
        assert copied == GLOBAL_SPELLINGS - clashes, path
        checked += 1
    assert checked > 30  # every group and command, not only the top level


WS = "{ws}"
# `segments show NAME` reads the shop's segment file: quick, and it fails unless the workspace is found.
POSITIONS = [
    ["-w", WS, "--json", "segments", "show", SEGMENT],
    ["segments", "show", SEGMENT, "--json", "-w", WS],
    ["segments", "show", "--json", SEGMENT, "--workspace", WS],
    ["segments", "-w", WS, "show", SEGMENT, "--json"],
    ["segments", "--json", "show", f"--workspace={WS}", SEGMENT],
    ["--json", "segments", "show", SEGMENT, f"-w{WS}"],
    ["segments", "show", SEGMENT, "--engine", "duckdb", "-w", WS, "--json"],
    ["--engine=duckdb", "segments", "show", SEGMENT, "-w", WS, "--json"],
    ["segments", "--engine", "duckdb", "show", "--engine=duckdb", SEGMENT, "-w", WS, "--json"],
]


@pytest.mark.parametrize("argv", POSITIONS, ids=lambda a: " ".join(a))
def test_global_options_in_every_position(shop, capsys, argv):
    args = [a.replace(WS, shop) for a in argv]
    shown = cli_json(capsys, *args)
    assert shown["name"] == SEGMENT and shown["rule"] == RULE


def test_the_examples_of_the_issue(shop, capsys):
    listed = cli_json(capsys, "-w", shop, "segments", "list", "--json")
    assert [s["name"] for s in listed] == [SEGMENT]
    ran = cli_json(capsys, "run", "-w", shop, "--as-of", "1998-06-30", "--json")
    assert ran["customers"] == 2357
    assert {s["name"]: s["members"] for s in ran["segments"]} == {SEGMENT: RULE_COUNT}
    counted = cli_json(capsys, "segments", "count", RULE, "--json", "-w", shop)
    assert counted["customers"] == RULE_COUNT


def test_engine_after_the_command_is_used(shop, capsys):
    code, out, err = cli(capsys, "segments", "list", "-w", shop, "--engine", "nope", "--json")
    assert code == 2 and err == ""
    assert json.loads(out)["error"] == "EngineError" and "'nope'" in json.loads(out)["message"]
    code, out, err = cli(capsys, "segments", "list", "-w", shop, "--engine=nope")
    assert code == 2 and out == "" and "unknown engine 'nope'" in err


def test_the_later_occurrence_wins_and_beats_the_environment(shop, tmp_path, capsys, monkeypatch):
    missing = str(tmp_path / "missing")
    assert cli_json(capsys, "-w", missing, "segments", "show", SEGMENT, "-w", shop, "--json")["name"]
    code, out, _ = cli(capsys, "-w", shop, "segments", "show", SEGMENT, "-w", missing, "--json")
    assert code == 2 and json.loads(out)["error"] == "WorkspaceError"
    monkeypatch.setenv("SEGMINT_WORKSPACE", missing)
    assert cli_json(capsys, "segments", "show", SEGMENT, "--workspace", shop, "--json")["name"]
    monkeypatch.setenv("SEGMINT_WORKSPACE", shop)
    assert cli_json(capsys, "segments", "show", SEGMENT, "--json")["name"] == SEGMENT


def test_json_error_when_json_comes_last(tmp_path, capsys):
    missing = str(tmp_path / "missing")
    code, out, err = cli(capsys, "segments", "list", "-w", missing, "--json")
    assert code == 2 and err == ""
    assert json.loads(out)["error"] == "WorkspaceError"
    code, out, err = cli(capsys, "import", "cdnow", str(tmp_path / "none.txt"), "-w", missing, "--json")
    assert code == 2 and json.loads(out)["error"]


def test_after_double_dash_everything_is_an_argument(shop, capsys):
    # "--json" is the rule here: a syntax error, reported as text because --json was not given.
    code, out, err = cli(capsys, "segments", "count", "-w", shop, "--", "--json")
    assert code == 2 and out == ""
    assert "syntax error" in err and "Traceback" not in err
    code, out, _ = cli(capsys, "segments", "count", "-w", shop, "--json", "--", "-w")
    assert code == 2 and json.loads(out)["error"] == "RuleSyntaxError"
    assert cli_json(capsys, "segments", "count", "--json", "-w", shop, "--", RULE)["customers"] == RULE_COUNT


def test_an_option_value_that_looks_like_a_global_flag_is_not_taken(shop, tmp_path, capsys):
    # --as-of takes a value, so "--json" is that value (an unreadable time), not the flag.
    code, out, err = cli(capsys, "segments", "count", RULE, "--as-of", "--json", "-w", shop)
    assert code == 2 and out == ""
    assert "cannot read time '--json'" in err and "Traceback" not in err
    # The shop name is "--json" and the output a table: the flag was not set.
    code, out, _ = cli(capsys, "init", str(tmp_path / "named"), "--name", "--json")
    assert code == 0 and not out.lstrip().startswith("{")
    config = tomllib.loads((tmp_path / "named" / "segmint.toml").read_text())
    assert "--json" in json.dumps(config)
    code, out, _ = cli(capsys, "init", str(tmp_path / "dashed"), "--name", "-w")
    assert code == 0 and (tmp_path / "dashed" / "segmint.toml").exists()


def test_help_of_a_command_lists_the_global_options(capsys):
    code, out, _ = cli(capsys, "segments", "count", "--help")
    assert code == 0
    assert "Global options" in out and "--workspace" in out and "--json" in out and "--engine" in out


# -- a command whose own options clash with the global ones ----------------------------------------


def _clashing_app() -> typer.Typer:
    """A command that, like a future `segmint something --workers/-w`, owns spellings of global options."""
    test_app = typer.Typer(cls=GlobalOptionsGroup)
    test_app.callback()(global_options)

    @test_app.command()
    def work(
        ctx: typer.Context,
        workers: int = typer.Option(1, "--workers", "-w"),
        engine: str = typer.Option("own-default", "--engine"),
    ) -> None:
        st = state(ctx)
        typer.echo(
            json.dumps(
                {
                    "workers": workers,
                    "engine": engine,
                    "workspace": str(st.workspace) if st.workspace else None,
                    "global_engine": st.engine,
                    "json": st.json,
                }
            )
        )

    @test_app.command()
    def other(ctx: typer.Context) -> None:
        st = state(ctx)
        typer.echo(json.dumps({"workspace": str(st.workspace) if st.workspace else None}))

    return test_app


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["work", "-w", "4"], {"workers": 4, "workspace": None}),
        (["work", "--workers", "3", "--workspace", "shop"], {"workers": 3, "workspace": "shop"}),
        (["-w", "shop", "work", "-w", "2"], {"workers": 2, "workspace": "shop"}),
        (["work", "--engine", "mine"], {"engine": "mine", "global_engine": None}),
        (["--engine", "theirs", "work"], {"engine": "own-default", "global_engine": "theirs"}),
        (["work", "-w", "5", "--json"], {"workers": 5, "json": True}),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)
def test_a_command_keeps_its_own_option_over_a_global_spelling(argv, expected):
    result = CliRunner().invoke(_clashing_app(), argv)
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    assert {k: got[k] for k in expected} == expected


def test_a_clash_on_one_command_leaves_the_others_alone():
    result = CliRunner().invoke(_clashing_app(), ["other", "-w", "shop"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"workspace": str(Path("shop"))}


def test_another_engine_with_no_data_says_so_instead_of_counting_nothing(shop, capsys):
    """`--engine pyspark` on a DuckDB workspace would read an empty Spark warehouse and count 0: it is
    refused with what to do, before any engine starts (no warehouse folder is made)."""
    code, out, err = cli(capsys, "segments", "count", RULE, "-w", shop, "--engine", "pyspark", "--json")
    assert code == 2 and err == ""
    error = json.loads(out)
    assert error["error"] == "WorkspaceError"
    assert "keeps its data in duckdb" in error["message"] and "spark-warehouse" in error["message"]
    assert not (Path(shop) / "spark-warehouse").exists()
    code, out, err = cli(capsys, "segments", "count", RULE, "-w", shop, "--engine", "pyspark")
    assert code == 2 and out == "" and "Drop --engine" in err and "Traceback" not in err
    # The workspace's own engine named explicitly is fine.
    assert (
        cli_json(capsys, "segments", "count", RULE, "-w", shop, "--engine", "duckdb", "--json")["customers"]
        == RULE_COUNT
    )
