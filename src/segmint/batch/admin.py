"""Saving, versioning and deleting segment definitions: the one implementation behind the API
(``POST/PUT/DELETE /v1/segments``), the dashboard builder, the CLI and the Python API.

A definition arrives as fields (the rule as text, or as the rule language's JSON form), is validated
exactly as ``segmint segments validate`` validates a file (same messages: fields, rule syntax, names
against the trait catalog, parameters, ``in_segment`` cycles), and is written atomically as
``segments/<name>.yaml`` (a temporary file renamed over the old one), so segments made anywhere are
segments as code like any other. Who may save is the caller's business: the API and the dashboard
require the ``admin`` scope. Evaluating the saved segment is one refresh: in the service the live
engine re-evaluates it (and its dependants) for everyone; elsewhere :func:`save_and_evaluate` runs them
as of the latest run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from segmint.adapters.workspace import Workspace
from segmint.batch.definitions import (
    check_definition,
    dependants,
    dependency_layers,
    load_definitions,
    resolve_rule,
    users_of,
)
from segmint.batch.evaluate import evaluate_segments
from segmint.batch.reads import default_as_of
from segmint.batch.traits import workspace_catalog
from segmint.core.rules import RuleError, from_json, to_text
from segmint.core.segments.definition import (
    SegmentDef,
    SegmentError,
    SegmentNotFound,
    segment_from_mapping,
    segment_to_yaml,
)
from segmint.core.timeutil import parse_as_of

__all__ = ["Mode", "Saved", "definition_of", "delete_segment", "restore", "save_and_evaluate", "save_segment"]

# create: the name must be new; replace: the segment must exist and gets exactly the fields given;
# version: the segment must exist, fields not given keep their values (the builder's "new version").
Mode = Literal["create", "replace", "version"]
_KEPT = ("family", "description", "tags", "owner", "params", "group")


@dataclass(frozen=True)
class Saved:
    definition: SegmentDef
    path: Path
    previous: str | None  # the file's text before the save (None: a new file)
    affected: tuple[str, ...]  # the segment and every segment that uses it, in evaluation order


def _path(ws: Workspace, name: str) -> Path:
    return ws.segments_dir / f"{name}.yaml"


def definition_of(ws: Workspace, name: str) -> SegmentDef:
    for d in load_definitions(ws):
        if d.name == name:
            return d
    raise SegmentNotFound(f"no segment {name!r}")


def _fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The definition's fields, the rule given as text or as JSON (turned into text)."""
    out = {k: v for k, v in data.items() if v is not None}
    rule_json = out.pop("rule_json", None)
    if rule_json is not None:
        if out.get("rule"):
            raise SegmentError("give the rule as text (rule) or as JSON (rule_json), not both")
        try:
            out["rule"] = to_text(from_json(rule_json))
        except RuleError as exc:
            raise SegmentError(f"field 'rule_json': {exc.message}", detail=exc.detail) from None
    return out


def save_segment(ws: Workspace, data: Mapping[str, Any], *, mode: Mode) -> Saved:
    """Validate and write a definition; returns what was saved and what to re-evaluate."""
    fields = _fields(data)
    name = fields.get("name")
    existing = {d.name: d for d in load_definitions(ws)}
    if isinstance(name, str) and mode == "create" and name in existing:
        raise SegmentError(
            f"segment {name!r} already exists: choose another name, or save it as a new version",
            detail={"field": "name", "segment": name},
        )
    if isinstance(name, str) and mode != "create" and name not in existing:
        raise SegmentNotFound(f"no segment {name!r} to change: create it first")
    if mode == "version" and isinstance(name, str):
        old = existing[name].to_mapping()
        fields = {**{k: old[k] for k in _KEPT if old.get(k) not in (None, "", [], {}, ())}, **fields}
    source = f"{name}.yaml" if isinstance(name, str) else "<segment>"
    defn = segment_from_mapping(fields, source=source)
    existing[defn.name] = defn
    rules = {d.name: resolve_rule(d) for d in existing.values()}
    check_definition(rules[defn.name], defn, workspace_catalog(ws), rules)
    dependency_layers(rules)  # no cycle, no reference to a missing segment
    ws.segments_dir.mkdir(exist_ok=True)
    path = _path(ws, defn.name)
    previous = path.read_text(encoding="utf-8") if path.exists() else None
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(segment_to_yaml(defn), encoding="utf-8")
    tmp.replace(path)
    return Saved(defn, path, previous, tuple(dependants(list(existing.values()), [defn.name])))


def restore(saved: Saved) -> None:
    """Undo a save (its evaluation failed): the previous file back, or no file."""
    if saved.previous is None:
        saved.path.unlink(missing_ok=True)
    else:
        tmp = saved.path.with_suffix(".yaml.tmp")
        tmp.write_text(saved.previous, encoding="utf-8")
        tmp.replace(saved.path)


def delete_segment(ws: Workspace, name: str) -> SegmentDef:
    """Remove a segment's file; refused while another segment refers to it with ``in_segment``. The
    caller then records its members' exits (the live engine, or the next run)."""
    defs = load_definitions(ws)
    by_name = {d.name: d for d in defs}
    if name not in by_name:
        raise SegmentNotFound(f"no segment {name!r}")
    users = users_of(defs, name)
    if users:
        raise SegmentError(f"segment {name!r} is used by {', '.join(users)} (in_segment): change those first")
    source = by_name[name].source
    (ws.segments_dir / source if source else _path(ws, name)).unlink()
    return by_name[name]


def save_and_evaluate(
    ws: Workspace, data: Mapping[str, Any], *, mode: Mode, as_of: datetime | str | None = None
) -> dict[str, Any]:
    """Save a definition and evaluate it and its dependants as of ``as_of`` (default: the latest run,
    so its history lines up with the others'); the file is restored if the evaluation fails."""
    saved = save_segment(ws, data, mode=mode)
    at = parse_as_of(as_of) if as_of is not None else default_as_of(ws)
    try:
        summary = evaluate_segments(ws, at, names=list(saved.affected), cause="saved")
    except BaseException:
        restore(saved)
        raise
    run = next((s for s in summary.segments if s.name == saved.definition.name), None)
    return {
        "name": saved.definition.name,
        "version": run.version if run else None,
        "members": run.members if run else None,
        "as_of": at,
    }
