"""Layering, checked on the source: services hold no SQL, and only adapters reach the raw DuckDB handle.

* ``segmint/cli``, ``segmint/api`` and ``segmint/web`` parse, call a use case and render: no SQL
  statement in any string literal, no ``.con.con``, ``raw_sql``, ``.execute(`` or ``.cursor(``.
* Outside ``segmint/adapters`` nothing reaches through Ibis to its private DuckDB connection
  (``.con.con``): :func:`segmint.adapters.duckdb_handle.duckdb_connection` is the one way in.

The allow-lists name files still in the way; an entry that no longer violates fails too, so the lists
only shrink.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import segmint

PACKAGE = Path(segmint.__file__).resolve().parent
SERVICES = ("cli", "api", "web")

# Files still in the way (none: every SQL statement and every raw connection is behind the adapters).
SERVICE_ALLOW: set[str] = set()
CON_CON_ALLOW: set[str] = set()

# SQL statements, as they appear in string literals. Upper-case keywords anywhere; lower-case only at
# the start of a string, so English ("select a segment from the list") is not mistaken for SQL.
_UPPER = re.compile(
    r"\bSELECT\b[\s\S]*\bFROM\b|\bINSERT\s+INTO\b|\bUPDATE\b[\s\S]*\bSET\b|\bDELETE\s+FROM\b"
    r"|\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP\s+|TEMPORARY\s+)?(?:TABLE|VIEW|INDEX|SCHEMA)\b"
    r"|\bALTER\s+TABLE\b|\bDROP\s+TABLE\b"
)
_LOWER_START = re.compile(
    r"^\s*(?:select\s[\s\S]*?\sfrom\s+[\w.\"]+(?:\s+(?:as\s+)?\w+)?\s*"
    r"(?:$|;|\)|where\b|group\s+by\b|order\s+by\b|limit\b|qualify\b|(?:left\s+|inner\s+|anti\s+|semi\s+)?join\b)"
    r"|insert\s+into\s+[\w\"]+\s*(?:\(|values\b|by\s+name\b|select\b)"
    r"|update\s+[\w\"]+\s+set\s+[\w\"]+\s*="
    r"|delete\s+from\s+[\w\"]+\s*(?:$|;|where\b|using\b)"
    r"|create\s+(?:or\s+replace\s+)?(?:temp\s+|temporary\s+)?(?:table|view)\s+[\w\"]+\s*(?:as\b|\())",
    re.IGNORECASE,
)


def _files(*parts: str) -> list[Path]:
    return sorted(p for part in parts for p in (PACKAGE / part).rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string literal with its line; an f-string with its placeholders as ``?``."""
    out: list[tuple[int, str]] = []
    inside_fstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "?"
                for v in node.values
            )
            out.append((node.lineno, text))
            inside_fstrings.update(id(v) for v in node.values)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in inside_fstrings:
            out.append((node.lineno, node.value))
    return out


def _is_con_con(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "con"
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "con"
    )


def violations(source: str, where: str) -> list[str]:
    """What a service module must not contain, as ``where:line: what``."""
    tree = ast.parse(source)
    found = []
    for line, text in _strings(tree):
        if _UPPER.search(text) or _LOWER_START.search(text):
            found.append(f"{where}:{line}: SQL text {text.strip()[:60]!r}")
    for node in ast.walk(tree):
        if _is_con_con(node):
            found.append(f"{where}:{node.lineno}: .con.con")
        elif isinstance(node, ast.Attribute) and node.attr == "raw_sql":
            found.append(f"{where}:{node.lineno}: raw_sql")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("execute", "cursor")
        ):
            found.append(f"{where}:{node.lineno}: .{node.func.attr}(")
    return found


def service_violations(path: Path) -> list[str]:
    return violations(path.read_text(), _rel(path))


def con_con_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [f"{_rel(path)}:{n.lineno}: .con.con" for n in ast.walk(tree) if _is_con_con(n)]


def test_services_hold_no_sql_and_no_database_handle() -> None:
    problems = []
    for path in _files(*SERVICES):
        if _rel(path) not in SERVICE_ALLOW:
            problems += service_violations(path)
    assert not problems, "services call use cases, which call adapters:\n" + "\n".join(problems)


def test_only_adapters_reach_the_duckdb_handle() -> None:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = _rel(path)
        if rel.startswith("adapters/") or rel in CON_CON_ALLOW:
            continue
        problems += con_con_uses(path)
    assert not problems, "use segmint.adapters.duckdb_handle.duckdb_connection(ws):\n" + "\n".join(problems)


@pytest.mark.parametrize("entry", sorted(SERVICE_ALLOW | CON_CON_ALLOW))
def test_allow_lists_only_name_files_still_in_the_way(entry: str) -> None:
    path = PACKAGE / entry
    assert path.exists(), f"{entry} is gone: remove it from the allow-list"
    still = (entry in SERVICE_ALLOW and service_violations(path)) or (
        entry in CON_CON_ALLOW and con_con_uses(path)
    )
    assert still, f"{entry} is clean now: remove it from the allow-list"


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ('x = "SELECT a FROM t"', True),
        ('x = f"SELECT {cols} FROM events WHERE id = $1"', True),
        ('x = "select count(*) from memberships group by 1"', True),
        ('x = "INSERT INTO webhooks VALUES (?)"', True),
        ('x = "UPDATE outbox SET status = 1"', True),
        ('x = "CREATE TEMP TABLE t AS SELECT 1"', True),
        ("cur.execute(q)", True),
        ("service.cursor()", True),
        ("ws.con.con", True),
        ('con.raw_sql("SET x = 1")', True),
        ('x = "Select a segment from the list to compare."', False),
        ('x = "Delete this segment? Its members exit."', False),
        ('x = "update the rule, then save"', False),
        ('x = "Create a segment"', False),
    ],
)
def test_the_scanner_tells_sql_from_prose(source: str, flagged: bool) -> None:
    found = violations(source + "\n", "probe.py")
    assert bool(found) == flagged, found
