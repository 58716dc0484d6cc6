"""Time semantics shared by traits, rules and history.

Every computation takes an ``as_of`` instant (naive UTC). ``within 30d`` means the half-open window
``(as_of - 30d, as_of]``: an event exactly 30 days old is out, one at ``as_of`` is in. Data dated after
``as_of`` is invisible, so re-running a past ``as_of`` reproduces that day's result.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from segmint.errors import SegmintError

__all__ = ["DurationError", "format_duration", "parse_as_of", "parse_duration", "to_utc_naive"]

_UNITS = {
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "min": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
    "mo": timedelta(days=30),
    "y": timedelta(days=365),
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|min|m|h|d|w|mo|y)\s*$")


class DurationError(SegmintError, ValueError):
    """A duration or time text that cannot be read (a user error: the CLI prints it, the API says 400)."""


def parse_duration(text: str) -> timedelta:
    """``'90d'`` → 90 days. Units: s, m/min, h, d, w, mo (30 days), y (365 days)."""
    match = _DURATION.match(text)
    if not match:
        raise DurationError(
            f"cannot read duration {text!r}: write a number and a unit, e.g. 30d, 12h, 2w "
            "(units: s, m, h, d, w, mo, y)"
        )
    return float(match.group(1)) * _UNITS[match.group(2)]


def format_duration(delta: timedelta) -> str:
    """The shortest exact text for a duration, the inverse of :func:`parse_duration`."""
    seconds = int(delta.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def to_utc_naive(value: datetime) -> datetime:
    """An aware datetime converted to UTC and made naive; a naive one is taken as UTC already."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def parse_as_of(text: str | datetime | date | None, now: datetime | None = None) -> datetime:
    """Read an ``as_of``: ``None``/``'now'`` (the current time), ``'today'`` (midnight UTC today), an
    ISO date or date-time (with or without zone), or a relative time such as ``'-7d'``."""
    now = to_utc_naive(now) if now is not None else datetime.now(UTC).replace(tzinfo=None)
    if text is None:
        return now
    if isinstance(text, datetime):
        return to_utc_naive(text)
    if isinstance(text, date):
        return datetime(text.year, text.month, text.day)
    stripped = text.strip()
    if stripped in ("", "now"):
        return now
    if stripped == "today":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if stripped.startswith("-") and _DURATION.match(stripped[1:]):
        return now - parse_duration(stripped[1:])
    try:
        parsed = datetime.fromisoformat(stripped.replace("Z", "+00:00"))
    except ValueError:
        raise DurationError(
            f"cannot read time {text!r}: use an ISO date (2025-06-30), a date-time "
            "(2025-06-30T12:00:00Z), 'now', 'today' or a relative time such as -7d"
        ) from None
    return to_utc_naive(parsed)
