"""Reusing compiled SQL across evaluation times: the live engine's compile cache.

Building and compiling the Ibis expressions of all segments takes ~0.1–3 s of pure Python, while running
them for a few customers takes milliseconds. The expressions only depend on ``as_of`` through literals
(``as_of``, ``as_of - 30d``, epoch seconds of ``as_of`` …), so the SQL of one day is learned once and
re-rendered for each tick.

Learning compiles the same plan at three instants of one UTC day and splits each text into fixed text and
literal slots. A slot that is the same in all three is a constant (this includes anything derived from the
date, such as midnight anchors); a slot that moves exactly with ``as_of`` (a timestamp at a fixed offset, or
a number changing at a fixed rate per second) is re-computed for each tick; anything else, or any
difference in the fixed text, means the plan cannot be templated and the caller compiles every time.
A template is only used for instants of the day it was learned on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

__all__ = ["SqlTemplate", "learn_offsets"]

_TS = r"MAKE_TIMESTAMP\(\s*(-?\d+),\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+(?:\.\d+)?)\s*\)"
_DATE = r"MAKE_DATE\(\s*(-?\d+),\s*(\d+),\s*(\d+)\s*\)"
_NUM = r"(?<![\w.'\"])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.'\"])"
_LITERAL = re.compile(f"({_TS})|({_DATE})|({_NUM})")


def _pieces(sql: str) -> tuple[list[str], list[str]]:
    texts, literals, last = [], [], 0
    for match in _LITERAL.finditer(sql):
        texts.append(sql[last : match.start()])
        literals.append(match.group(0))
        last = match.end()
    texts.append(sql[last:])
    return texts, literals


def _value(token: str) -> datetime | date | float | None:
    m = re.fullmatch(_TS, token)
    if m:
        y, mo, d, h, mi = (int(m.group(i)) for i in range(1, 6))
        sec = float(m.group(6))
        whole = int(sec)
        return datetime(y, mo, d, h, mi, whole) + timedelta(microseconds=round((sec - whole) * 1e6))
    m = re.fullmatch(_DATE, token)
    if m:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    try:
        return float(token)
    except ValueError:
        return None


def _render_ts(value: datetime) -> str:
    seconds = value.second + value.microsecond / 1e6
    return (
        f"MAKE_TIMESTAMP({value.year}, {value.month}, {value.day}, {value.hour}, {value.minute}, {seconds!r})"
    )


@dataclass(frozen=True)
class _Slot:
    kind: str  # const | ts | num
    text: str = ""
    offset: timedelta = timedelta(0)  # ts: literal - as_of
    base: float = 0.0  # num: value at the anchor
    rate: float = 0.0  # num: change per second of as_of


class SqlTemplate:
    """One SQL statement as fixed text and literal slots, renderable for any instant of ``day``."""

    def __init__(self, day: date, anchor: datetime, texts: list[str], slots: list[_Slot]) -> None:
        self.day = day
        self.anchor = anchor
        self.texts = texts
        self.slots = slots

    def render(self, as_of: datetime) -> str:
        if as_of.date() != self.day:
            raise ValueError("a SQL template is only valid on the day it was learned")
        seconds = (as_of - self.anchor) / timedelta(seconds=1)
        out = [self.texts[0]]
        for slot, text in zip(self.slots, self.texts[1:], strict=True):
            if slot.kind == "const":
                out.append(slot.text)
            elif slot.kind == "ts":
                out.append(_render_ts(as_of + slot.offset))
            else:
                out.append(repr(slot.base + slot.rate * seconds))
            out.append(text)
        return "".join(out)

    @classmethod
    def learn(cls, sqls: list[str], instants: list[datetime]) -> SqlTemplate | None:
        """A template from the same statement compiled at three instants of one day, or ``None``."""
        if len(sqls) != 3 or len({t.date() for t in instants}) != 1:
            raise ValueError("learn needs three compilations on one day")
        split = [_pieces(s) for s in sqls]
        texts = split[0][0]
        if any(p[0] != texts or len(p[1]) != len(split[0][1]) for p in split[1:]):
            return None
        a0, a1, a2 = instants
        d1, d2 = (a1 - a0).total_seconds(), (a2 - a0).total_seconds()
        slots: list[_Slot] = []
        for tokens in zip(*(p[1] for p in split), strict=True):
            if tokens[0] == tokens[1] == tokens[2]:
                slots.append(_Slot("const", tokens[0]))
                continue
            v0, v1, v2 = (_value(t) for t in tokens)
            if isinstance(v0, datetime) and isinstance(v1, datetime) and isinstance(v2, datetime):
                if v1 - v0 != a1 - a0 or v2 - v0 != a2 - a0:
                    return None
                slots.append(_Slot("ts", offset=v0 - a0))
            elif isinstance(v0, float) and isinstance(v1, float) and isinstance(v2, float):
                rate = (v1 - v0) / d1
                predicted = v0 + rate * d2
                if not math.isclose(predicted, v2, rel_tol=1e-12, abs_tol=1e-6):
                    return None
                slots.append(_Slot("num", base=v0, rate=rate))
            else:
                return None
        return cls(a0.date(), a0, texts, slots)


def learn_offsets(anchor: datetime) -> list[datetime]:
    """Three instants of ``anchor``'s day to compile at: the anchor and two odd offsets from it."""
    steps = (timedelta(seconds=7, microseconds=250_001), timedelta(seconds=29, microseconds=3))
    sign = (
        1
        if anchor + steps[1] < datetime.combine(anchor.date(), datetime.min.time()) + timedelta(days=1)
        else -1
    )
    return [anchor, anchor + sign * steps[0], anchor + sign * steps[1]]


Compiler = Callable[[datetime], list[str]]
