"""Audience files: a table of members written as CSV or Parquet.

CSV cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-`` or ``@``) are
written with a leading apostrophe, whatever the surface that exports (CLI, dashboard download, API).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from segmint.errors import SegmintError

__all__ = ["ExportError", "csv_text", "write_file"]

_FORMULA = ("=", "+", "-", "@")


class ExportError(SegmintError):
    """An export cannot be written as asked."""


def _cell(value: object) -> object:
    if isinstance(value, str) and value[:1] in _FORMULA:
        return "'" + value
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
    return value


def csv_text(table: pa.Table) -> str:
    """The table as CSV text with a header row (formula cells neutralised)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(table.column_names)
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    for row in zip(*columns, strict=True):
        writer.writerow(["" if v is None else _cell(v) for v in row])
    return buf.getvalue()


def write_file(table: pa.Table, path: str | Path) -> int:
    """Write ``table`` to a ``.csv`` or ``.parquet`` file (by extension); returns the rows written."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ExportError(f"cannot export to {path.name}: use a .csv or .parquet file name")
    if not path.parent.exists():
        raise ExportError(f"folder {path.parent} does not exist")
    tmp = path.with_name(path.name + ".tmp")
    if suffix == ".parquet":
        pq.write_table(table, tmp)
    else:
        tmp.write_text(csv_text(table), encoding="utf-8")
    tmp.replace(path)
    return table.num_rows
