"""Jinja filters for numbers, money, percentages and times (formatting only, no data access)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Undefined

__all__ = ["register"]


def _missing(value: Any) -> bool:
    """No value: ``None``, or a key a row lacks (a segment with no members has no KPI row)."""
    return value is None or isinstance(value, Undefined)


def num(value: Any, digits: int = 0) -> str:
    if _missing(value):
        return "–"
    try:
        return f"{float(value):,.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def pct(value: Any, digits: int = 1) -> str:
    return "–" if _missing(value) else f"{100 * float(value):.{digits}f}%"


def when(value: Any) -> str:
    if _missing(value):
        return "–"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def register(env) -> None:
    env.filters["num"] = num
    env.filters["pct"] = pct
    env.filters["when"] = when
