"""Ad-hoc rules: check a rule as it is typed, and select, count or preview the customers it matches as
of a time, without saving anything. The CLI (``segments count``), the dashboard builder and the Python
API (``select``) call these.

Traits are the stored ones when they are valid for the time asked, else computed on the fly (only the
groups the rule reads); ``in_segment`` reads the referenced segment's membership at that time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis.expr.types as ir

from segmint.adapters.workspace import Workspace
from segmint.batch.definitions import check_context, load_definitions
from segmint.batch.evaluate import compile_context
from segmint.batch.reads import default_as_of, segment_members_at
from segmint.batch.traits import rule_traits, traits_at, workspace_catalog
from segmint.core.rules import RuleError, check, compile_rule, parse
from segmint.core.rules import nodes as n
from segmint.core.timeutil import parse_as_of

__all__ = ["MAX_RULE_CHARS", "Selection", "check_rule", "count_rule", "preview_rule", "select"]

MAX_RULE_CHARS = 20_000


class Selection:
    """The customers a rule matches at ``as_of`` (``table``: one column, customer_id, distinct), and
    whether the stored traits were used (``traits_reused``)."""

    def __init__(self, table: ir.Table, as_of: datetime, traits_reused: bool) -> None:
        self.table = table
        self.as_of = as_of
        self.traits_reused = traits_reused

    def count(self) -> int:
        return int(self.table.count().to_pyarrow().as_py())


def _parse_checked(ws: Workspace, text: str) -> n.Rule:
    if len(text) > MAX_RULE_CHARS:
        raise RuleError("rule is too long", line=1, column=1)
    rule = parse(text)
    names = [d.name for d in load_definitions(ws)]
    check(rule, check_context(workspace_catalog(ws), names))
    return rule


def check_rule(ws: Workspace, text: str) -> dict[str, Any]:
    """``{"ok": True}`` or ``{"ok": False, "error": {kind, line, column, message}}``."""
    if not text.strip():
        return {
            "ok": False,
            "error": {"kind": "syntax error", "line": 1, "column": 1, "message": "empty rule"},
        }
    try:
        _parse_checked(ws, text)
    except RuleError as exc:
        return {"ok": False, "error": _error(exc)}
    return {"ok": True}


def _error(exc: RuleError) -> dict[str, Any]:
    return {"kind": exc.kind, "line": exc.line, "column": exc.column, "message": exc.reason}


def select(ws: Workspace, text: str, as_of: datetime | str | None = None) -> Selection:
    """The customers ``text`` matches as of ``as_of`` (default: the latest run, else the data's end)."""
    t = parse_as_of(as_of) if as_of is not None else default_as_of(ws)
    rule = _parse_checked(ws, text)
    catalog = workspace_catalog(ws)
    names = [d.name for d in load_definitions(ws)]
    needed = rule_traits([rule], check_context(catalog, names))
    traits, reused = traits_at(ws, t, needed)

    def lookup(name: str) -> ir.Table:
        return segment_members_at(ws, name, t)

    expr = compile_rule(rule, compile_context(traits, ws.tables(), t, catalog, lookup))
    return Selection(expr.select("customer_id").distinct(), t, reused)


def count_rule(ws: Workspace, text: str, as_of: datetime | str | None = None) -> int:
    """How many customers a rule selects as of ``as_of`` (:func:`select` says which time it used)."""
    return select(ws, text, as_of).count()


def preview_rule(
    ws: Workspace, text: str, as_of: datetime | str | None = None, sample: int = 10
) -> dict[str, Any]:
    """The check result and, when the rule is valid, how many customers it selects and a few of them."""
    out = check_rule(ws, text)
    if not out["ok"]:
        return out
    try:
        sel = select(ws, text, as_of)
        count = sel.count()
        ids = sel.table.order_by("customer_id").limit(sample).to_pyarrow().column("customer_id").to_pylist()
    except RuleError as exc:
        return {"ok": False, "error": _error(exc)}
    return {"ok": True, "count": count, "sample": ids, "as_of": sel.as_of.isoformat()}
