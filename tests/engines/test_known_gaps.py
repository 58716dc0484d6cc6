"""The table of known gaps names real engines and real tests or features, so no entry outlives what it
was about. (Parameters are checked at collection: the conftest refuses a gap that matches no case of a
test collected whole.)"""

from __future__ import annotations

import ast
from pathlib import Path

from .known_gaps import ENGINES, KNOWN_GAPS

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


def test_every_gap_says_why():
    for key, gap in KNOWN_GAPS.items():
        assert len(gap.reason) > 40, key
