"""The segment builder and membership explanations, against the stored traits.

Checking a rule is pure (parse + check against the workspace's trait catalog) and answers with the line and
column of the first error so the editor can underline it. Counting and explaining compile the rule against
the stored ``traits`` table at the time it was computed for, so a keystroke never recomputes traits or
writes anything. Saving writes a YAML file under ``segments/`` and evaluates the segment on the writer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis

from segmint.batch import segments as seg
from segmint.batch.dashboard import definitions, latest_run, traits_as_of
from segmint.batch.traits import workspace_catalog
from segmint.core.rules import CheckContext, CompileContext, RuleError, check, compile_rule, parse
from segmint.core.rules import explain as explain_rule
from segmint.core.segments import history as hist
from segmint.core.segments.definition import FAMILIES, SegmentError, segment_from_mapping, segment_to_yaml
from segmint.core.timeutil import parse_as_of
from segmint.core.traits.events import stitched_events

__all__ = ["FAMILIES", "check_rule", "explain_member", "preview_rule", "save_segment"]

MAX_RULE_CHARS = 20_000


def _error(exc: RuleError) -> dict[str, Any]:
    return {"kind": exc.kind, "line": exc.line, "column": exc.column, "message": exc.reason}


def _catalog(ws):
    """The trait catalog (a query on products), once per data version on a server view."""
    memo = getattr(ws, "memo", None)
    return memo("catalog", lambda: workspace_catalog(ws)) if memo else workspace_catalog(ws)


def check_rule(ws, text: str) -> dict[str, Any]:
    """``{"ok": True}`` or ``{"ok": False, "error": {kind, line, column, message}}``."""
    if len(text) > MAX_RULE_CHARS:
        return {
            "ok": False,
            "error": {"kind": "error", "line": 1, "column": 1, "message": "rule is too long"},
        }
    if not text.strip():
        return {
            "ok": False,
            "error": {"kind": "syntax error", "line": 1, "column": 1, "message": "empty rule"},
        }
    try:
        rule = parse(text)
        names = frozenset(d.name for d in definitions(ws))
        check(rule, CheckContext(catalog=_catalog(ws), segments=names))
    except RuleError as exc:
        return {"ok": False, "error": _error(exc)}
    return {"ok": True}


def _context(ws, at: datetime) -> CompileContext:
    """Compile against the stored traits; ``in_segment`` reads memberships at the traits' time."""
    h = ws.table("membership_history")

    def lookup(name: str):
        return hist.members_at(h.filter(h.segment == ibis.literal(name)), at).select("customer_id")

    return CompileContext(
        traits=ws.table("traits"),
        events=stitched_events(ws.table("events"), ws.table("identities")),
        customers=ws.table("customers"),
        as_of=at,
        catalog=_catalog(ws),
        segment_members=lookup,
        segments=frozenset(d.name for d in definitions(ws)),
    )


def preview_rule(ws, text: str, sample: int = 10) -> dict[str, Any]:
    """The check result and, when the rule is valid, how many customers it selects and a few of them."""
    out = check_rule(ws, text)
    if not out["ok"]:
        return out
    at = traits_as_of(ws)
    if at is None:
        return {"ok": True, "count": None, "sample": [], "note": "no traits computed yet: run `segmint run`"}
    try:
        expr = compile_rule(parse(text), _context(ws, at)).select("customer_id").distinct()
        count = int(expr.count().to_pyarrow().as_py())
        ids = [r["customer_id"] for r in expr.order_by("customer_id").limit(sample).to_pyarrow().to_pylist()]
    except RuleError as exc:
        return {"ok": False, "error": _error(exc)}
    return {"ok": True, "count": count, "sample": ids, "as_of": at.isoformat()}


def explain_member(ws, customer_id: str, segment: str) -> dict[str, Any] | None:
    """Each clause of the segment's rule with the customer's values and whether it holds (``None`` when
    the segment has no definition any more)."""
    defs = {d.name: d for d in definitions(ws)}
    if segment not in defs:
        return None
    at = traits_as_of(ws)
    if at is None:
        return None
    rule = seg.resolve_rule(defs[segment])
    ctx = _context(ws, at)

    def execute(expr):
        rows = expr.to_pyarrow().to_pylist()
        return rows[0] if rows else None

    result = explain_rule(rule, ctx, customer_id, execute)
    return {"segment": segment, **result.to_dict(), "lines": result.root.lines()}


def save_segment(
    ws,
    name: str,
    family: str,
    rule: str,
    description: str = "",
    new_version: bool = False,
    as_of: datetime | str | None = None,
) -> dict[str, Any]:
    """Write ``segments/<name>.yaml`` and evaluate it (run on the service's writer thread).

    A new segment must not exist yet; ``new_version`` replaces an existing segment's rule (a new version is
    recorded when its content changes). Evaluation uses the latest run time, so history lines up."""
    existing = {d.name: d for d in definitions(ws)}
    if name in existing and not new_version:
        raise SegmentError(f"a segment called {name!r} exists: choose another name or save as a new version")
    if new_version and name not in existing:
        raise SegmentError(f"no segment called {name!r} to add a version to")
    data: dict[str, Any] = {"name": name, "family": family, "rule": rule, "description": description}
    old = existing.get(name)
    if old is not None:
        data.update({k: v for k, v in {"group": old.group, "owner": old.owner}.items() if v})
        if old.tags:
            data["tags"] = list(old.tags)
    defn = segment_from_mapping(data, source=f"{name}.yaml")
    status = check_rule(ws, rule)
    if not status["ok"]:
        e = status["error"]
        raise SegmentError(f"line {e['line']}, column {e['column']}: {e['message']}", detail=e)
    ws.segments_dir.mkdir(exist_ok=True)
    path = ws.segments_dir / f"{name}.yaml"
    previous = path.read_text(encoding="utf-8") if path.exists() else None
    path.write_text(segment_to_yaml(defn), encoding="utf-8")
    at = parse_as_of(as_of) if as_of is not None else latest_run(ws) or parse_as_of(None)
    try:
        summary = seg.evaluate_segments(ws, at, names=[name], cause="dashboard")
    except Exception:
        if previous is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(previous, encoding="utf-8")
        raise
    run = next((s for s in summary.segments if s.name == name), None)
    return {"name": name, "version": run.version if run else None, "members": run.members if run else None}
