"""Tree ⇄ JSON: the form the HTTP API accepts and returns.

Each node is an object ``{"type": "<node type>", <field>: <value>, ...}``; lists of nodes are arrays,
durations are ``{"type": "duration", "seconds": N}`` (a text such as ``"7d"`` is accepted on input).
``from_json(to_json(t)) == t`` and, since JSON comes from users, ``from_json`` checks every field against
the node's type hints and raises RuleSyntaxError naming the JSON path of the first problem.
"""

from __future__ import annotations

import math
import re
import types
import typing
from dataclasses import MISSING, fields

from segmint.core.rules import nodes as n
from segmint.core.rules.errors import RuleSyntaxError
from segmint.core.rules.tokenizer import DURATION_UNITS

__all__ = ["from_json", "to_json"]

_NAMES: dict[type, str] = {
    n.NumberLit: "number",
    n.StringLit: "string",
    n.BoolLit: "bool",
    n.RelTime: "reltime",
}
_NODE_TYPES = [
    n.Rule,
    n.Duration,
    n.NumberLit,
    n.StringLit,
    n.BoolLit,
    n.RelTime,
    n.Field,
    n.Aggregate,
    n.Compare,
    n.InList,
    n.Between,
    n.Contains,
    n.StartsWith,
    n.IsMissing,
    n.Truthy,
    n.Did,
    n.Step,
    n.Sequence,
    n.InSegment,
    n.WithinKm,
    n.Consent,
    n.And,
    n.Or,
    n.Not,
]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


_TYPE_NAME = {cls: _NAMES.get(cls, _snake(cls.__name__)) for cls in _NODE_TYPES}
_BY_NAME = {name: cls for cls, name in _TYPE_NAME.items()}
_SKIP = ("pos", "source")


def to_json(node: n.Node) -> dict:
    """The JSON form (plain dicts, lists, strings, numbers, booleans) of a rule or any node."""
    out: dict = {"type": _TYPE_NAME[type(node)]}
    for f in fields(node):  # type: ignore[arg-type]
        if f.name in _SKIP:
            continue
        value = getattr(node, f.name)
        if value is None:
            continue
        out[f.name] = _encode(value)
    return out


def _encode(value: object) -> object:
    if isinstance(value, n.Node):
        return to_json(value)
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    return value


def from_json(data: object) -> n.Rule:
    """A Rule from its JSON form (a bare expression node is accepted and wrapped in a Rule)."""
    node = _decode(data, "$", n.Node)
    if isinstance(node, n.Rule):
        return node
    return n.Rule(body=node)  # type: ignore[arg-type]


def _fail(path: str, message: str) -> typing.NoReturn:
    raise RuleSyntaxError(f"in the JSON form at {path}: {message}")


def _decode(data: object, path: str, hint: object) -> object:
    """Decode ``data`` that must fit ``hint`` (a node class, a union, ``tuple[X, ...]``, str, ...)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if data is None:
            if type(None) in options:
                return None
            _fail(path, "a value is required")
        node_opts = [o for o in options if isinstance(o, type) and issubclass(o, n.Node)]
        if isinstance(data, dict) and node_opts:
            node = _decode_node(data, path)
            if not isinstance(node, tuple(node_opts)):
                allowed = ", ".join(sorted(_TYPE_NAME[o] for o in node_opts))
                _fail(path, f"a {_TYPE_NAME[type(node)]} node is not allowed here (allowed: {allowed})")
            return node
        if isinstance(data, str) and n.Duration in node_opts:
            return _duration_text(data, path)
        for option in options:
            if option is type(None) or (isinstance(option, type) and issubclass(option, n.Node)):
                continue
            try:
                return _decode(data, path, option)
            except RuleSyntaxError:
                continue
        _fail(path, f"unexpected value {data!r}")
    if origin is tuple:
        item_hint = typing.get_args(hint)[0]
        if not isinstance(data, list):
            _fail(path, "expected a list")
        return tuple(_decode(item, f"{path}[{i}]", item_hint) for i, item in enumerate(data))
    if isinstance(hint, type) and issubclass(hint, n.Node):
        if hint is n.Duration and isinstance(data, str):
            return _duration_text(data, path)
        if not isinstance(data, dict):
            _fail(path, "expected an object with a 'type'")
        node = _decode_node(data, path)
        if not isinstance(node, hint):
            _fail(path, f"a {_TYPE_NAME[type(node)]} node is not allowed here")
        return node
    if hint is bool:
        if not isinstance(data, bool):
            _fail(path, "expected true or false")
        return data
    if hint is int:
        if isinstance(data, bool) or not isinstance(data, int):
            _fail(path, "expected a whole number")
        return data
    if hint is float:
        if isinstance(data, bool) or not isinstance(data, int | float) or not math.isfinite(data):
            _fail(path, "expected a finite number")
        return data
    if hint is str:
        if not isinstance(data, str):
            _fail(path, "expected a text")
        return data
    raise TypeError(f"no JSON decoding for {hint!r}")


def _decode_node(data: dict, path: str) -> n.Node:
    kind = data.get("type")
    cls = _BY_NAME.get(kind) if isinstance(kind, str) else None
    if cls is None:
        _fail(path, f"unknown node type {kind!r}; known: {', '.join(sorted(_BY_NAME))}")
    hints = typing.get_type_hints(cls, vars(n))
    names = [f.name for f in fields(cls) if f.name not in _SKIP]
    extra = set(data) - set(names) - {"type"}
    if extra:
        _fail(path, f"unknown field(s) {', '.join(sorted(extra))} for {kind}")
    kwargs = {}
    for f in fields(cls):
        if f.name in _SKIP:
            continue
        if f.name not in data:
            if f.default is not MISSING or f.default_factory is not MISSING:
                continue
            _fail(path, f"{kind} needs the field {f.name!r}")
        kwargs[f.name] = _decode(data[f.name], f"{path}.{f.name}", hints[f.name])
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required field left out
        _fail(path, str(exc))


def _duration_text(text: str, path: str) -> n.Duration:
    match = re.fullmatch(r"\s*(\d+)\s*([a-z]+)\s*", text)
    if not match or match.group(2) not in DURATION_UNITS:
        _fail(path, f"cannot read duration {text!r}; write e.g. '7d' or '12h'")
    return n.Duration(int(match.group(1)) * DURATION_UNITS[match.group(2)])
