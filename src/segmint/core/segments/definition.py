"""A segment definition as a marketer writes it: one YAML document per file under ``segments/``.

Reading is strict so mistakes surface when a file is saved, not when a campaign goes out: unknown
fields, wrong types and bad names are errors that name the file, the field and its line. The content
hash covers everything that changes who is a member (rule and parameters), so a new hash is a new
version while an edited description is not.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from segmint.core.traits.catalog import FAMILIES as TRAIT_FAMILIES
from segmint.errors import SegmintError

__all__ = [
    "FAMILIES",
    "SegmentDef",
    "SegmentError",
    "SegmentNotFound",
    "parse_segment_yaml",
    "segment_from_mapping",
    "segment_to_yaml",
]

# The segment families are the trait families a marketer segments by (identity and consent are
# properties, not families of segments), plus clusters and the user's own.
FAMILIES = (
    *(f for f in TRAIT_FAMILIES if f not in ("identity", "consent")),
    "cluster",
    "custom",
)

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_PARAM = re.compile(r"^[a-z][a-z0-9_]*$")
_FIELDS = ("name", "family", "description", "rule", "tags", "owner", "params", "group")
_REQUIRED = ("name", "family", "rule")


class SegmentError(SegmintError):
    """A segment file or definition is invalid. ``detail`` holds file, field, line and column."""


class SegmentNotFound(SegmentError):
    """No segment by that name (the API answers 404)."""


@dataclass(frozen=True)
class SegmentDef:
    """One segment. ``params`` are named literals the rule refers to as ``$name``; ``group`` names a set
    of mutually exclusive segments (``rfm``, ``lifecycle``) that migration matrices are computed over."""

    name: str
    family: str
    rule: str
    description: str = ""
    tags: tuple[str, ...] = ()
    owner: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    group: str | None = None
    source: str = ""  # file the definition came from, for messages
    rule_line: int = 1  # 1-based file position of the rule text, to map rule errors to the file
    rule_column: int = 1
    rule_block: bool = False  # rule written as a block scalar (each rule line is one file line)

    @property
    def content_hash(self) -> str:
        """What decides membership: the rule text (whitespace-normalised) and the parameter values."""
        payload = json.dumps(
            {"rule": " ".join(self.rule.split()), "params": dict(sorted(self.params.items()))},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def file_position(self, line: int, column: int) -> tuple[int, int]:
        """Map a 1-based (line, column) inside the rule text to the file."""
        if self.rule_block:
            return self.rule_line + line - 1, self.rule_column + column - 1
        if line == 1:
            return self.rule_line, self.rule_column + column - 1
        return self.rule_line + line - 1, column

    def to_mapping(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "family": self.family}
        if self.group:
            out["group"] = self.group
        out["description"] = self.description
        out["rule"] = self.rule
        if self.params:
            out["params"] = dict(self.params)
        out["tags"] = list(self.tags)
        out["owner"] = self.owner
        return out


def _error(source: str, message: str, field_name: str | None = None, node: yaml.Node | None = None):
    where = source or "<segment>"
    detail: dict[str, Any] = {"file": source, "field": field_name}
    if node is not None:
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        where = f"{where}:{line}:{col}"
        detail.update(line=line, column=col)
    prefix = f"{where}: " + (f"field {field_name!r}: " if field_name else "")
    return SegmentError(prefix + message, detail=detail)


def parse_segment_yaml(text: str, source: str = "") -> SegmentDef:
    """Read one segment from YAML text. ``source`` (a file name) only appears in messages."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise SegmentError(
            f"{where}: not valid YAML: {problem}", detail={"file": source, "error": problem}
        ) from None
    if not isinstance(root, yaml.MappingNode):
        raise _error(source, "a segment file must be a mapping of fields (name, family, rule, ...)")
    nodes: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in root.value:
        key = key_node.value
        if key not in _FIELDS:
            raise _error(source, f"unknown field; allowed fields are {', '.join(_FIELDS)}", key, key_node)
        if key in nodes:
            raise _error(source, "given twice", key, key_node)
        nodes[key] = (key_node, value_node)
    data = yaml.safe_load(text)
    rule_node = nodes.get("rule", (None, None))[1]
    return segment_from_mapping(data, source=source, nodes=nodes, rule_node=rule_node)


def segment_from_mapping(
    data: Mapping[str, Any],
    source: str = "",
    nodes: Mapping[str, tuple[yaml.Node, yaml.Node]] | None = None,
    rule_node: yaml.Node | None = None,
) -> SegmentDef:
    """Validate a mapping (from YAML or the API) into a :class:`SegmentDef`."""
    nodes = nodes or {}

    def node(name: str) -> yaml.Node | None:
        pair = nodes.get(name)
        return pair[1] if pair else None

    for key in data:
        if key not in _FIELDS:
            raise _error(source, f"unknown field; allowed fields are {', '.join(_FIELDS)}", key)
    for key in _REQUIRED:
        if data.get(key) in (None, ""):
            raise _error(source, "is required", key)
    name = data["name"]
    if not isinstance(name, str) or not _NAME.match(name):
        raise _error(
            source,
            f"{name!r} is not a valid name: use lower-case letters, digits and _ (start with a letter)",
            "name",
            node("name"),
        )
    family = data["family"]
    if family not in FAMILIES:
        raise _error(
            source, f"unknown family {family!r}; use one of {', '.join(FAMILIES)}", "family", node("family")
        )
    rule = data["rule"]
    if not isinstance(rule, str):
        raise _error(source, "must be text (the rule)", "rule", node("rule"))
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise _error(source, "must be text", "description", node("description"))
    owner = data.get("owner") or ""
    if not isinstance(owner, str):
        raise _error(source, "must be text", "owner", node("owner"))
    tags = data.get("tags") or []
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise _error(source, "must be a list of words", "tags", node("tags"))
    params = data.get("params") or {}
    if not isinstance(params, Mapping):
        raise _error(source, "must be a mapping of name: value", "params", node("params"))
    for key, value in params.items():
        if not isinstance(key, str) or not _PARAM.match(key):
            raise _error(
                source,
                f"parameter name {key!r} must be lower-case letters, digits and _",
                "params",
                node("params"),
            )
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _error(
                source, f"parameter {key!r} must be a number or text, not {value!r}", "params", node("params")
            )
    group = data.get("group")
    if group is not None and (not isinstance(group, str) or not _PARAM.match(group)):
        raise _error(source, f"{group!r} is not a valid group name", "group", node("group"))
    rule_line, rule_column, block = 1, 1, False
    if rule_node is not None:
        rule_line, rule_column = rule_node.start_mark.line + 1, rule_node.start_mark.column + 1
        style = getattr(rule_node, "style", None)
        if style in ("|", ">"):
            block = True
            rule_line += 1
            # A block scalar's text starts at its indentation on the next line.
            raw_lines = rule_node.end_mark.buffer.splitlines() if rule_node.end_mark.buffer else []
            if rule_line - 1 < len(raw_lines):
                raw = raw_lines[rule_line - 1]
                rule_column = len(raw) - len(raw.lstrip()) + 1
        elif style in ("'", '"'):
            rule_column += 1
    return SegmentDef(
        name=name,
        family=family,
        rule=rule.strip() if not block else rule.rstrip(),
        description=description.strip(),
        tags=tuple(t.lower() for t in tags),
        owner=owner,
        params=dict(params),
        group=group,
        source=source,
        rule_line=rule_line,
        rule_column=rule_column,
        rule_block=block,
    )


def segment_to_yaml(segment: SegmentDef) -> str:
    """The YAML text of a definition (rule as a block so long rules stay readable)."""

    class _Dumper(yaml.SafeDumper):
        pass

    def _str(dumper: yaml.SafeDumper, value: str):
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    return yaml.dump(segment.to_mapping(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
