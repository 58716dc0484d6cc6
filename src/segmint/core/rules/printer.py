"""Tree → text: the canonical rule text (:func:`to_text`) and an indented tree dump (:func:`dump`).

``to_text`` is the inverse of ``parse`` up to formatting: ``parse(to_text(t)) == t`` for every tree
the parser can produce. It therefore adds parentheses exactly where the grammar needs them — around a
nested ``or``/``and`` that the tree keeps separate, and around a ``did ... where`` clause that would
otherwise swallow the conditions after it.
"""

from __future__ import annotations

import math
from decimal import Decimal

from segmint.core.rules import nodes as n

__all__ = ["dump", "literal_text", "to_text"]


def to_text(rule: n.Rule | n.Node) -> str:
    """The canonical one-line text of a rule or of any node in it."""
    node = rule.body if isinstance(rule, n.Rule) else rule
    return _text(node)


def _text(node: n.Node) -> str:
    if isinstance(node, n.Or):
        # An ``and`` inside an ``or`` needs no parentheses, but people read it more easily with them.
        return " or ".join(_wrap(item, (n.Or, n.And)) for item in node.items)
    if isinstance(node, n.And):
        return " and ".join(_wrap(item, (n.Or, n.And)) for item in node.items)
    if isinstance(node, n.Not):
        return "not " + _wrap(node.item, (n.Or, n.And))
    if isinstance(node, n.Compare):
        return f"{_text(node.left)} {node.op} {literal_text(node.right)}"
    if isinstance(node, n.InList):
        items = ", ".join(literal_text(i) for i in node.items)
        return f"{_text(node.left)} {'not in' if node.negated else 'in'} ({items})"
    if isinstance(node, n.Between):
        return f"{_text(node.left)} between {literal_text(node.low)} and {literal_text(node.high)}"
    if isinstance(node, n.Contains):
        return f"{_text(node.left)} contains {literal_text(node.value)}"
    if isinstance(node, n.StartsWith):
        return f"{_text(node.left)} starts with {literal_text(node.value)}"
    if isinstance(node, n.IsMissing):
        return f"{_text(node.left)} is {'present' if node.negated else 'missing'}"
    if isinstance(node, n.Truthy):
        return _text(node.left)
    if isinstance(node, n.Field):
        return node.name
    if isinstance(node, n.Aggregate):
        target = ".".join((node.event, *node.prop)) if node.prop else node.event
        where = f" where {_text(node.where)}" if node.where is not None else ""
        window = f", {duration_text(node.window)}" if node.window is not None else ""
        return f"{node.func}({target}{where}{window})"
    if isinstance(node, n.Did):
        head = "did not" if node.negated else "did"
        where = f" where {_text(node.where)}" if node.where is not None else ""
        window = f" within {duration_text(node.window)}" if node.window is not None else ""
        return f"{head} {node.event}{where}{window}"
    if isinstance(node, n.Sequence):
        parts = [_step(node.first), ("then_not " if node.negated else "then ") + _step(node.then)]
        if node.within is not None:
            parts.append(f"within {duration_text(node.within)}")
        if node.by is not None:
            parts.append(f"by {node.by}")
        if node.since is not None:
            parts.append(f"since {duration_text(node.since)}")
        return f"sequence({', '.join(parts)})"
    if isinstance(node, n.InSegment):
        return f"in_segment({_quote(node.name)})"
    if isinstance(node, n.WithinKm):
        return f"within_km({literal_text(node.lat)}, {literal_text(node.lon)}, {literal_text(node.km)})"
    if isinstance(node, n.Consent):
        return f"consent({node.channel})"
    if isinstance(node, n.Duration):
        return duration_text(node)
    if isinstance(node, n.NumberLit | n.StringLit | n.BoolLit | n.RelTime):
        return literal_text(node)
    raise TypeError(f"cannot print {type(node).__name__}")


def _wrap(node: n.Node, needs: tuple[type, ...]) -> str:
    """Parenthesize ``node`` when it is one of ``needs`` or a filter that would swallow what follows."""
    text = _text(node)
    return f"({text})" if isinstance(node, needs) or _open_ended(node) else text


def _open_ended(node: n.Node) -> bool:
    """True when the text ends inside a ``where`` filter, which would take in a following and/or."""
    if isinstance(node, n.Did):
        return node.where is not None and node.window is None
    if isinstance(node, n.Not):
        return not isinstance(node.item, n.And | n.Or) and _open_ended(node.item)
    return False


def _step(step: n.Step) -> str:
    return step.event + (f" where {_text(step.where)}" if step.where is not None else "")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def duration_text(d: n.Duration) -> str:
    return _duration(d.seconds)


def _duration(seconds: int) -> str:
    """Days rather than weeks (people write 7d, 30d, 90d); otherwise the largest exact unit."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _number(value: int | float) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"not a number: {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"numbers in rules must be finite, got {value!r}")
        text = repr(value)
        if "e" in text or "E" in text:  # the grammar has no exponents: spell the digits out exactly
            text = format(Decimal(text), "f")
            text = text if "." in text else text + ".0"
        return text
    return str(value)


def _signed(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    return sign + _duration(abs(seconds))


def literal_text(lit: n.Node) -> str:
    """The text of one literal, as it is written in a rule."""
    if isinstance(lit, n.NumberLit):
        return _number(lit.value)
    if isinstance(lit, n.StringLit):
        return _quote(lit.value)
    if isinstance(lit, n.BoolLit):
        return "true" if lit.value else "false"
    if isinstance(lit, n.RelTime):
        if lit.anchor == "today":
            return "today" if lit.offset == 0 else f"today {_signed(lit.offset)}"
        return "now" if lit.offset == 0 else _signed(lit.offset)
    raise TypeError(f"not a literal: {type(lit).__name__}")


def dump(rule: n.Rule | n.Node, indent: str = "  ") -> str:
    """An indented view of the tree, one node per line (used by golden files and ``--tree`` output)."""
    lines: list[str] = []
    _dump(rule.body if isinstance(rule, n.Rule) else rule, 0, indent, lines, "")
    return "\n".join(lines)


def _dump(node: n.Node, depth: int, indent: str, lines: list[str], label: str) -> None:
    scalars: list[str] = []
    children: list[tuple[str, n.Node]] = []
    for name in node.__dataclass_fields__:  # type: ignore[attr-defined]
        if name in ("pos", "source"):
            continue
        value = getattr(node, name)
        if isinstance(value, n.Duration):
            scalars.append(f"{name}={duration_text(value)}")
        elif isinstance(value, n.Node):
            children.append((name, value))
        elif isinstance(value, tuple) and value and isinstance(value[0], n.Node):
            children.extend((f"{name}[{i}]", item) for i, item in enumerate(value))
        elif value is None or value is False:
            continue
        elif isinstance(value, tuple):
            scalars.append(f"{name}={'.'.join(value)}")
        else:
            scalars.append(f"{name}={value!r}")
    head = f"{label}: " if label else ""
    lines.append(
        f"{indent * depth}{head}{type(node).__name__}" + (f" {' '.join(scalars)}" if scalars else "")
    )
    for child_label, child in children:
        _dump(child, depth + 1, indent, lines, child_label)
