"""The importers' one error type and the problem records it carries.

A problem is one bad cell (or one unreadable row, or one file-level fault): file, row number, column,
value and reason. Strict imports fail with the first few in the message and all of them in ``detail``;
``--keep-good`` imports store them in the ``quarantine`` table instead.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from segmint.errors import SegmintError

__all__ = ["ImportFailed", "Problem", "file_error"]

SHOWN = 10  # problems listed in an error message
DETAIL_CAP = 10_000  # problems kept in an error's detail (all of them go to quarantine with --keep-good)


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None
    column: str | None
    value: str | None
    reason: str
    raw: str | None = None

    def to_dict(self) -> dict:
        out = asdict(self)
        out.pop("raw")
        return out

    def describe(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        text = ", ".join(where)
        if self.value is not None:
            value = self.value if len(self.value) <= 60 else self.value[:57] + "..."
            text += f", value {value!r}"
        return f"{text}: {self.reason}"


class ImportFailed(SegmintError):
    """An import stored nothing. ``detail`` lists every problem found (up to 10,000) as dicts."""

    def __init__(self, message: str, problems: list[Problem] | None = None, total: int | None = None):
        problems = problems or []
        detail: dict = {"problems": [p.to_dict() for p in problems[:DETAIL_CAP]]}
        if total is not None and total > len(detail["problems"]):
            detail["problems_total"] = total
        super().__init__(message, detail=detail)
        self.problems = problems


def file_error(
    path: Path | str,
    reason: str,
    *,
    row: int | None = None,
    column: str | None = None,
    value: str | None = None,
) -> ImportFailed:
    """A fault that stops the whole file (missing, empty, binary, wrong encoding, missing column)."""
    problem = Problem(str(path), row, column, value, reason)
    return ImportFailed(f"{problem.describe()}. Nothing was imported.", [problem])


def rows_failed(problems: list[Problem], bad_rows: int, total: int) -> ImportFailed:
    """Strict mode: some rows are bad, so nothing was stored."""
    lines = [p.describe() for p in problems[:SHOWN]]
    more = total - len(lines)
    head = (
        f"{bad_rows} bad row{'s' if bad_rows != 1 else ''} ({total} problem{'s' if total != 1 else ''}); "
        "nothing was imported. Fix them, or pass --keep-good to load the good rows and quarantine the bad ones:"
    )
    body = "\n  ".join(lines)
    tail = f"\n  … and {more} more" if more > 0 else ""
    return ImportFailed(f"{head}\n  {body}{tail}", problems, total)
