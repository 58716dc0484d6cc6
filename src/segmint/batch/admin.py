"""Creating, replacing and deleting segment definitions through the API.

A definition arrives as fields (rule as text, or as the rule language's JSON form), is validated exactly
as ``segmint segments validate`` validates a file (same messages), and is saved as
``segments/<name>.yaml``, so segments made over HTTP are segments as code like any other.
"""

from __future__ import annotations

from typing import Any

from segmint.adapters.workspace import Workspace
from segmint.core.segments.definition import SegmentDef, SegmentError, segment_from_mapping, segment_to_yaml

__all__ = ["SegmentNotFound", "definition_of", "delete_definition", "save_definition"]


class SegmentNotFound(SegmentError):
    """No segment by that name."""


def _path(ws: Workspace, name: str):
    return ws.segments_dir / f"{name}.yaml"


def definition_of(ws: Workspace, name: str) -> SegmentDef:
    from segmint.batch.segments import load_definitions

    for d in load_definitions(ws):
        if d.name == name:
            return d
    raise SegmentNotFound(f"no segment {name!r}: GET /v1/segments lists them")


def save_definition(ws: Workspace, data: dict[str, Any], *, create: bool) -> SegmentDef:
    """Validate and write a definition. ``rule_json`` (the JSON form of a rule) may replace ``rule``.
    With ``create`` an existing name is an error; without it the segment must exist."""
    from segmint.batch import segments as seg
    from segmint.core.rules import RuleError, from_json, to_text

    data = dict(data)
    if data.get("rule_json") is not None:
        if data.get("rule"):
            raise SegmentError("give the rule as text (rule) or as JSON (rule_json), not both")
        try:
            data["rule"] = to_text(from_json(data.pop("rule_json")))
        except RuleError as exc:
            raise SegmentError(f"field 'rule_json': {exc.message}", detail=exc.detail) from None
    else:
        data.pop("rule_json", None)
    data = {k: v for k, v in data.items() if v is not None}
    name = data.get("name")
    source = f"{name}.yaml" if isinstance(name, str) else "<segment>"
    defn = segment_from_mapping(data, source=source)
    existing = {d.name: d for d in seg.load_definitions(ws)}
    if create and defn.name in existing:
        raise SegmentError(
            f"segment {defn.name!r} already exists: use PUT /v1/segments/{defn.name} to replace it"
        )
    if not create and defn.name not in existing:
        raise SegmentNotFound(f"no segment {defn.name!r}: POST /v1/segments creates one")
    existing[defn.name] = defn
    rules = {d.name: seg.resolve_rule(d) for d in existing.values()}
    seg._check(rules[defn.name], defn, seg._catalog(ws), rules)
    seg.dependency_layers(rules)
    ws.segments_dir.mkdir(exist_ok=True)
    text = segment_to_yaml(defn)
    tmp = _path(ws, defn.name).with_suffix(".yaml.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(_path(ws, defn.name))
    return defn


def delete_definition(ws: Workspace, name: str) -> None:
    """Remove a segment's file; refused while another segment refers to it with ``in_segment``."""
    from segmint.batch import segments as seg
    from segmint.core.rules import nodes as n

    defs = {d.name: d for d in seg.load_definitions(ws)}
    if name not in defs:
        raise SegmentNotFound(f"no segment {name!r}")
    users = sorted(
        other
        for other, d in defs.items()
        if other != name
        and any(isinstance(x, n.InSegment) and x.name == name for x in n.walk(seg.resolve_rule(d).body))
    )
    if users:
        raise SegmentError(f"segment {name!r} is used by {', '.join(users)} (in_segment): change those first")
    source = defs[name].source
    path = ws.segments_dir / source if source else _path(ws, name)
    path.unlink()
