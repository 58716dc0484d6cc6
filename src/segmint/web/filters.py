"""Jinja filters for numbers, money, percentages and times (formatting only, no data access)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = ["register"]


def num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    try:
        return f"{float(value):,.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def pct(value: Any, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * float(value):.{digits}f}%"


def when(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def register(env) -> None:
    env.filters["num"] = num
    env.filters["pct"] = pct
    env.filters["when"] = when
