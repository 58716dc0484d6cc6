"""Golden files: for each tests/rules/golden/*.txt, the input rule → canonical text → tree → SQL for
DuckDB and for Spark, or → the error message. Regenerate with SEGMINT_UPDATE_GOLDEN=1 (then review the
diff: a golden change is a behaviour change). To add a case, create a file holding only ``-- input``."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import ibis
import pytest
from rule_fixtures import TRAIT_TYPES, make_catalog

from segmint.core.rules import CompileContext, RuleError, compile_rule, dump, parse, to_text
from segmint.core.schema import unbound

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("SEGMINT_UPDATE_GOLDEN") == "1"
AS_OF = datetime(2025, 6, 30, 12, 0, 0)
SECTIONS = ("input", "text", "tree", "duckdb", "spark", "error")


def _context() -> CompileContext:
    return CompileContext(
        customers=unbound("customers"),
        events=unbound("events"),
        traits=ibis.table({"customer_id": "string", **TRAIT_TYPES}, name="traits"),
        as_of=AS_OF,
        catalog=make_catalog(),
        segment_members=lambda name: ibis.table({"customer_id": "string"}, name=f"segment_{name}"),
    )


def read_sections(path: Path) -> dict[str, str]:
    sections: dict[str, list[str]] = {}
    current = None
    for line in path.read_text().splitlines():
        if line.startswith("-- ") and line[3:].strip() in SECTIONS:
            current = line[3:].strip()
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    return {k: "\n".join(v).strip("\n") for k, v in sections.items()}


def render(text: str) -> dict[str, str]:
    """Every section for one input (as the code behaves now)."""
    out = {"input": text}
    try:
        rule = parse(text)
        out["text"] = to_text(rule)
        out["tree"] = dump(rule)
        expr = compile_rule(rule, _context())
    except RuleError as exc:
        out["error"] = exc.message
        return out
    ibis.pyspark  # noqa: B018 - registers the pyspark options its SQL compiler reads
    out["duckdb"] = ibis.to_sql(expr, dialect="duckdb").strip()
    out["spark"] = ibis.to_sql(expr, dialect="pyspark").strip()
    return out


def write_sections(path: Path, sections: dict[str, str]) -> None:
    body = "".join(f"-- {name}\n{sections[name]}\n" for name in SECTIONS if name in sections)
    path.write_text(body)


FILES = sorted(GOLDEN.glob("*.txt"))


def test_golden_files_exist() -> None:
    assert len(FILES) >= 20


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_golden(path: Path) -> None:
    expected = read_sections(path)
    actual = render(expected["input"])
    if UPDATE:
        write_sections(path, actual)
        return
    assert actual == expected, f"{path.name} differs; rerun with SEGMINT_UPDATE_GOLDEN=1 and review the diff"
