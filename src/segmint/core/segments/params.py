"""Segment parameters: thresholds a user changes in YAML (``params: {active_days: 90}``) and a rule
refers to as ``$active_days``.

Values never become rule or SQL text. Each ``$name`` is first replaced by a placeholder literal of the
right kind that cannot occur in a real rule (a number, a duration in seconds, or a quoted marker), the
text is parsed, and then the placeholder nodes in the tree are swapped for literal nodes holding the
parameter's value. A number parameter can stand for a number (``recency_days <= $active_days``); a
duration text (``'90d'``) for a window (``count(x, $window)``) or a relative time (``-$window``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Any

from segmint.core.rules import nodes as n
from segmint.core.timeutil import DurationError, parse_duration
from segmint.errors import SegmintError

__all__ = ["ParamError", "substitute"]

_REF = re.compile(r"\$([a-z][a-z0-9_]*)")
_BASE = 7_777_000_000_000  # placeholders: _BASE + index, far from any real threshold


class ParamError(SegmintError):
    """A rule names a parameter the segment does not define, or a value of the wrong kind."""


def _placeholder_text(index: int, value: Any) -> str:
    if isinstance(value, str):
        try:
            parse_duration(value)
        except DurationError:
            return f"'\x00param{index}'"
        return f"{_BASE + index}s"
    return str(_BASE + index)


def _mask_strings(text: str) -> str:
    """The text with quoted strings blanked, so ``$x`` inside a quoted text is left alone."""
    out, quote = [], None
    for ch in text:
        if quote:
            out.append(" ")
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def substitute(text: str, params: Mapping[str, Any], parse: Callable[[str], n.Rule]) -> n.Rule:
    """Parse ``text`` with every ``$name`` bound to ``params[name]`` as a literal in the tree."""
    masked = _mask_strings(text)
    refs = [(m.start(), m.end(), m.group(1)) for m in _REF.finditer(masked)]
    if not refs:
        return parse(text)
    names = list(dict.fromkeys(name for _, _, name in refs))
    for name in names:
        if name not in params:
            known = ", ".join(f"${p}" for p in params) or "none"
            raise ParamError(f"the rule uses ${name} but the segment defines no such param (params: {known})")
    index = {name: i for i, name in enumerate(names)}
    pieces, last = [], 0
    for start, end, name in refs:
        pieces.append(text[last:start])
        pieces.append(_placeholder_text(index[name], params[name]))
        last = end
    pieces.append(text[last:])
    rule = parse("".join(pieces))
    values = {i: params[name] for name, i in index.items()}
    body = _replace(rule.body, values)
    return dataclasses.replace(rule, body=body, source=text)


def _slot(number: float) -> int | None:
    k = int(abs(number)) - _BASE
    return k if 0 <= k < 10_000 and abs(number) == int(abs(number)) else None


def _replace(node: Any, values: Mapping[int, Any]) -> Any:
    if isinstance(node, tuple):
        return tuple(_replace(item, values) for item in node)
    if not isinstance(node, n.Node):
        return node
    if isinstance(node, n.NumberLit) and (k := _slot(node.value)) is not None and k in values:
        value = values[k]
        if isinstance(value, str):
            raise ParamError(f"parameter value {value!r} is text where the rule needs a number")
        return n.NumberLit(value=value, pos=node.pos)
    if isinstance(node, n.StringLit) and node.value.startswith("\x00param"):
        return n.StringLit(value=values[int(node.value[len("\x00param") :])], pos=node.pos)
    if isinstance(node, n.Duration) and (k := _slot(node.seconds)) is not None and k in values:
        return n.Duration(seconds=int(parse_duration(values[k]).total_seconds()), pos=node.pos)
    if isinstance(node, n.RelTime) and (k := _slot(node.offset)) is not None and k in values:
        seconds = int(parse_duration(values[k]).total_seconds())
        return n.RelTime(anchor=node.anchor, offset=seconds if node.offset > 0 else -seconds, pos=node.pos)
    tree: Any = node  # every concrete Node is a frozen dataclass (the Node base is not)
    changes = {
        f.name: _replace(getattr(tree, f.name), values)
        for f in dataclasses.fields(tree)
        if f.name not in ("pos", "source")
    }
    return dataclasses.replace(tree, **changes)
