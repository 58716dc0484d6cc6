"""Argument normalisation and result conversion shared by every method of the public Python API."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segmint.core.timeutil import DurationError, parse_as_of
from segmint.errors import SegmintError

if TYPE_CHECKING:
    import pandas as pd

Time = str | date | datetime
PathLike = str | os.PathLike

_SEGMENT_COLUMNS = ["name", "family", "group", "description", "rule", "file", "version", "members", "defined"]


@contextmanager
def _user_errors() -> Iterator[None]:
    """A time or duration that cannot be read is the caller's error: the core raises it as a plain
    ``ValueError`` (it knows nothing of services), the API raises it as a :class:`SegmintError`."""
    try:
        yield
    except DurationError as exc:
        raise SegmintError(str(exc)) from None


def _time(value: Time | None, what: str = "as_of") -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str | date | datetime):
        raise SegmintError(
            f"{what} must be a date, a datetime or a text such as '2025-06-30' or '-7d', not {value!r}"
        )
    with _user_errors():
        return parse_as_of(value)


def _instant(value: Time, what: str) -> datetime:
    """A time the call cannot do without (a default would be the wall clock, which data never is)."""
    if value is None:
        raise SegmintError(f"{what} is required: a date such as '2025-06-30', or a datetime")
    return _time(value, what)  # type: ignore[return-value]


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise SegmintError(f"{what} must be text, not {type(value).__name__} {value!r}")
    return value


def _id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise SegmintError(f"a customer id is text (or a whole number), not {value!r}")
    return str(value)


def _path(value: Any) -> Path:
    if not isinstance(value, str | os.PathLike):
        raise SegmintError(f"expected a file or folder path, not {type(value).__name__} {value!r}")
    return Path(value).expanduser()


def _paths(value: Any) -> list[Path]:
    if isinstance(value, str | os.PathLike):
        return [_path(value)]
    if not isinstance(value, Iterable):
        raise SegmintError(f"files must be a path or a list of paths, not {value!r}")
    return [_path(v) for v in value]


def _rows(rows: list[dict[str, Any]], columns: list[str] | None = None) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(rows, columns=columns)


def _frame(table: Any) -> pd.DataFrame:
    return table.to_pandas()


def _pipeline_report(result: Any) -> dict[str, Any]:
    return {**result.to_dict(), "as_of": result.as_of}
