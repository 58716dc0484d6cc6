"""Running the ``segmint`` command in-process as a user would, and a small imported workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from segmint.cli.main import main

CDNOW_SAMPLE = Path(__file__).resolve().parents[2] / "src" / "segmint" / "data" / "cdnow" / "CDNOW_sample.txt"
RULE = "orders_count >= 5"
RULE_COUNT = 388  # CDNOW sample customers with five orders or more
SEGMENT = "loyal"  # the shop's one segment, with RULE


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``segmint ARGS`` (capsys streams are not terminals)."""
    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err


def cli_json(capsys, *args: str):
    code, out, err = cli(capsys, *args)
    assert code == 0, (out, err)
    return json.loads(out)


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> str:
    """A workspace holding the CDNOW sample and one segment, shared by a module's commands."""
    from segmint.adapters.workspace import Workspace
    from segmint.batch.importing import import_files

    root = tmp_path_factory.mktemp("cli") / "shop"
    with Workspace.init(root) as ws:
        import_files(ws, "cdnow", [CDNOW_SAMPLE])
    (root / "segments" / f"{SEGMENT}.yaml").write_text(
        f"name: {SEGMENT}\nfamily: behavioral\ndescription: Five orders or more.\nrule: {RULE}\n"
    )
    return str(root)
