"""The table of known gaps names real engines and real tests or features, so no entry outlives what it
was about (a renamed test would otherwise leave a stale entry behind)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from .known_gaps import ENGINES, KNOWN_GAPS, keys_of

HERE = Path(__file__).resolve().parent


def _declared() -> tuple[set[str], set[str]]:
    """Test function names and ``engine_feature`` names used in this folder's test modules."""
    tests, features = set(), set()
    for path in HERE.glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                tests.add(node.name)
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "engine_feature"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                features.add(node.args[0].value)
    return tests, features


def test_every_gap_names_an_engine_and_a_test_or_feature():
    tests, features = _declared()
    assert "live" in features
    for engine, what in KNOWN_GAPS:
        assert engine in ENGINES, engine
        assert what.split("[", 1)[0] in tests | features, f"known gap ({engine}, {what}) matches nothing"


def test_every_gap_matches_a_collected_case():
    """Collect this folder (a subprocess: nothing runs, no engine starts) and match every gap against the
    cases' names exactly, parameters included, so a gap on a renamed case or parameter is caught."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", str(HERE)],
        cwd=HERE.parents[1],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    _, features = _declared()
    keys: dict[str, set[str]] = {engine: set(features) for engine in ENGINES}
    for line in done.stdout.splitlines():
        name, _, params = line.partition("::")[2].partition("[")
        for engine in ENGINES:
            if engine in params.rstrip("]").split("-"):
                keys[engine] |= keys_of(name, params.rstrip("]"), engine)
    stale = [key for key in KNOWN_GAPS if key[1] not in keys[key[0]]]
    assert not stale, f"known gaps that match no collected case: {stale}"


def test_every_gap_says_why():
    for key, gap in KNOWN_GAPS.items():
        assert len(gap.reason) > 40, key
