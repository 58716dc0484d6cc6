"""``generic``: CSV, Parquet or JSON lines for any canonical table, with an optional column mapping.

Canonical names map themselves (loosely: ``Customer ID`` finds ``customer_id``); a mapping names the
source column of any canonical column. Only the columns the file has are stored, so a partial file
updates those columns and leaves the others as they were. Keys must be unique within a file.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa
import pyarrow.compute as pc

from segmint.adapters.importers._base import Importer, Options, bad_where
from segmint.adapters.importers._errors import file_error
from segmint.adapters.importers._fields import BadCells, Field
from segmint.adapters.importers._source import Source
from segmint.core.schema import CANONICAL, TableSpec

__all__ = ["GenericImporter", "duplicate_keys"]

MONEY = {"price", "unit_price", "subtotal", "discount", "shipping", "tax", "total", "refunded_amount"}
BOUNDS: dict[str, tuple[float | None, float | None]] = {
    **{c: (0.0, 1e9) for c in MONEY},
    "quantity": (0, 1e6),
    "items_count": (0, 1e6),
    "line_no": (0, 1e7),
    "latitude": (-90.0, 90.0),
    "longitude": (-180.0, 180.0),
    "value": (-1e9, 1e9),
}


def _kind(dtype: dt.DataType) -> str:
    if dtype.is_timestamp():
        return "timestamp"
    if dtype.is_date():
        return "date"
    if dtype.is_floating():
        return "float"
    if dtype.is_integer():
        return "int"
    if dtype.is_boolean():
        return "bool"
    if dtype.is_array():
        return "tags"
    return "text"


class GenericImporter(Importer):
    format = "generic"

    def __init__(self, options: Options, table: str | None, mapping: dict[str, str] | None) -> None:
        super().__init__(options)
        if not table:
            raise file_error("--table", f"the generic format needs --table, one of: {', '.join(CANONICAL)}")
        if table not in CANONICAL:
            close = difflib.get_close_matches(table, list(CANONICAL), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise file_error("--table", f"unknown table {table!r}{hint} Tables: {', '.join(CANONICAL)}")
        self.spec: TableSpec = CANONICAL[table]
        self.mapping = dict(mapping or {})
        unknown = [c for c in self.mapping if c not in self.spec.columns]
        if unknown:
            close = difflib.get_close_matches(unknown[0], list(self.spec.columns), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise file_error(
                "mapping",
                f"{unknown[0]!r} is not a column of {table}{hint} Columns: {', '.join(self.spec.columns)}",
            )

    def label(self) -> str:
        return f"generic:{self.spec.name}"

    def fields(self, source: Source) -> list[Field]:
        out = []
        must = set(self.spec.required) | set(self.spec.key)
        for column, dtype in self.spec.columns.items():
            mapped = self.mapping.get(column)
            lo, hi = BOUNDS.get(column, (None, None))
            out.append(
                Field(
                    name=column,
                    sources=(mapped,) if mapped else (column,),
                    kind=_kind(dtype),
                    required=column in must or bool(mapped),
                    not_null=column in must,
                    lo=lo,
                    hi=hi,
                    lower=column == "email",
                    what="amount" if column in MONEY else "",
                )
            )
        return out

    def stage_field(self, f: Field, resolved: dict[str, str | None]) -> bool:
        return resolved.get(f.name) is not None

    def transform(self, cols: dict[str, pa.Array], n: int) -> tuple[dict[str, pa.Array], list[BadCells]]:
        bad: list[BadCells] = []
        email = cols.get("email")
        if email is not None and pa.types.is_string(email.type):
            no_at = pc.and_(
                pc.is_valid(email), pc.invert(pc.fill_null(pc.match_substring(email, "@"), False))
            )
            bad += bad_where(no_at, "email", email, "not an email address")
        return cols, bad

    def checks(self, t: ibis.Table) -> list[ibis.Table]:
        return [duplicate_keys(t, list(self.spec.key), self.spec.name)]

    def build(self, t: ibis.Table, existing: Callable[[str], ibis.Table]) -> list[tuple[str, ibis.Table]]:
        cols = [c for c in self.spec.columns if c in t.columns]
        return [(self.spec.name, t.select(*cols))]


def duplicate_keys(t: ibis.Table, key: list[str], what: str) -> ibis.Table:
    """Rows whose key already appeared earlier in the import (the first occurrence is kept)."""
    # Aggregate first (cheap on any size), rank only the rows of the keys that repeat.
    repeated = t.group_by(key).agg(_count=t._row.count()).filter(lambda r: r._count > 1).select(*key)
    rows = t.semi_join(repeated, key)
    w = ibis.window(group_by=[rows[k] for k in key], order_by=[rows._file, rows._row])
    ranked = rows.mutate(_n=ibis.row_number().over(w), _first=rows._row.first().over(w))
    dup = ranked.filter(ranked._n > 0)
    label = key[0] if len(key) == 1 else "+".join(key)
    value = dup[key[0]].cast("string")
    for k in key[1:]:
        value = value.concat("/", dup[k].cast("string"))
    return dup.select(
        _file=dup._file,
        _row=dup._row,
        column_name=ibis.literal(label),
        value=value,
        reason=ibis.literal(f"duplicate {what} key (first at row ").concat(dup._first.cast("string"), ")"),
    )
