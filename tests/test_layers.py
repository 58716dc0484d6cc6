"""The import layers are enforced: ``lint-imports`` (run by ``make lint``) keeps the contracts in
pyproject.toml on this tree, and fails, naming the contract and the import, on a copy of the package with
one upward import added.

The copy holds only the ``.py`` files (all the import graph needs), so each run takes well under a second.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
CONTRACTS = {c["name"]: c for c in tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]}
LAYERS = next(name for name, c in CONTRACTS.items() if c["type"] == "layers")
PURE_CORE = next(name for name, c in CONTRACTS.items() if c["type"] == "forbidden")


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with the contracts of ``root/pyproject.toml`` on the package under ``root/src``."""
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert exe, "lint-imports is missing: it comes with the dev extra (pip install -e '.[dev]')"
    # The package under test comes first on the path; a wide terminal keeps each contract on one line.
    env = {**os.environ, "PYTHONPATH": str(root / "src"), "COLUMNS": "500", "NO_COLOR": "1"}
    return subprocess.run([exe, "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=120)


def _status(output: str, contract: str) -> str:
    """KEPT or BROKEN, as the summary at the top of the report gives it for ``contract``."""
    line = next((ln for ln in output.splitlines() if ln.startswith(f"{contract} ")), None)
    assert line is not None, f"no status for {contract!r} in:\n{output}"
    return line.rsplit(" ", 1)[1]


def test_the_tree_keeps_every_contract():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in CONTRACTS:
        assert _status(result.stdout, name) == "KEPT"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """This tree's package (Python files only) and pyproject.toml, in a scratch folder."""
    shutil.copytree(
        ROOT / "src" / "segmint",
        tmp_path / "src" / "segmint",
        ignore=lambda folder, names: [n for n in names if n == "__pycache__" or not _wanted(folder, n)],
    )
    shutil.copy(PYPROJECT, tmp_path / "pyproject.toml")
    return tmp_path


def _wanted(folder: str, name: str) -> bool:
    return name.endswith(".py") or (Path(folder) / name).is_dir()


@pytest.mark.parametrize(
    ("module", "statement", "contract", "reported"),
    [
        # batch never imports live (the live engine sits above the batch pipeline)
        ("batch/reads.py", "import segmint.live", LAYERS, "segmint.batch.reads -> segmint.live"),
        # core is the bottom of the engine: nothing above it, least of all a service
        ("core/timeutil.py", "import segmint.cli", LAYERS, "segmint.core.timeutil -> segmint.cli"),
        # core builds expressions; binding them to an engine is the adapters' job
        ("core/timeutil.py", "import duckdb", PURE_CORE, "segmint.core.timeutil -> duckdb"),
    ],
)
def test_an_upward_import_breaks_the_contract(copy, module, statement, contract, reported):
    path = copy / "src" / "segmint" / module
    path.write_text(path.read_text() + f"\n{statement}  # the violation under test\n")
    result = _lint_imports(copy)
    assert result.returncode != 0
    assert _status(result.stdout, contract) == "BROKEN", result.stdout
    assert reported in result.stdout, result.stdout
