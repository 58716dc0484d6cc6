"""What every importer is: fields to read, a per-batch transform, cross-row checks and the canonical
tables it builds.

The life of an import (driven by ``usecases.importing``):

1. ``fields(source)`` says which columns to read and how to convert them;
2. each batch is converted and checked vectorised; ``transform`` adds the format's own row rules and
   derived columns; the good rows are staged in the engine with their file index and row number;
3. ``checks(staged)`` finds problems that need several rows (duplicate keys, orders without a header
   row) as Ibis expressions, so they run in the engine however big the file is;
4. ``build(good, existing)`` returns the canonical tables as Ibis expressions, merged by key in order;
5. ``notes(good)`` reports what was counted and not stored (guests, adjustments).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from segmint.adapters.importers._fields import BadCells, Field, _arrow_type
from segmint.adapters.importers._source import Source

__all__ = ["Importer", "Options", "bad_where", "email_customer_id", "total_only_amounts"]


@dataclass
class Options:
    """Reading options shared by all formats (CLI flags or a mapping file)."""

    delimiter: str | None = None
    encoding: str | None = None
    date_formats: tuple[str, ...] | None = None
    timezone: str = "UTC"
    currency: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Importer:
    """Base class; one subclass per format."""

    format: str = ""
    reader: str | None = None  # force a reader (``whitespace``); None = sniff CSV/Parquet/JSON lines
    whitespace_names: dict[int, list[str]] | None = None
    date_formats: tuple[str, ...] | None = None  # the format's own default formats

    def __init__(self, options: Options) -> None:
        self.options = options

    @property
    def formats(self) -> tuple[str, ...] | None:
        return self.options.date_formats or self.date_formats

    def label(self) -> str:
        """What the ``imports`` table records as the format (generic adds its table)."""
        return self.format

    def fields(self, source: Source) -> list[Field]:
        raise NotImplementedError

    def extra_columns(self) -> dict[str, pa.DataType]:
        """Columns ``transform`` adds to the staged rows."""
        return {}

    def stream_schema(self, fields: list[Field], resolved: dict[str, str | None]) -> pa.Schema:
        cols = [(f.name, _arrow_type(f.kind)) for f in fields if self.stage_field(f, resolved)]
        cols += list(self.extra_columns().items())
        return pa.schema([*cols, ("_file", pa.int32()), ("_row", pa.int64())])

    def stage_field(self, f: Field, resolved: dict[str, str | None]) -> bool:
        """Whether a field is staged; formats stage every field (missing ones as nulls)."""
        return True

    def transform(self, cols: dict[str, pa.Array], n: int) -> tuple[dict[str, pa.Array], list[BadCells]]:
        return cols, []

    def checks(self, t: ibis.Table) -> list[ibis.Table]:
        """Cross-row problems, each an expression with ``_file, _row, column_name, value, reason``."""
        return []

    def build(self, t: ibis.Table, existing: Callable[[str], ibis.Table]) -> list[tuple[str, ibis.Table]]:
        raise NotImplementedError

    def notes(self, t: ibis.Table) -> tuple[list[str], dict[int, int]]:
        """Human notes about the good rows, and per file index how many good rows were deliberately
        not stored (adjustments)."""
        return [], {}


def bad_where(mask: pa.Array, column: str, shown: pa.Array, reason: str | pa.Array) -> list[BadCells]:
    """BadCells for the rows where ``mask`` is true (nothing when none are)."""
    mask = pc.fill_null(mask, False)
    if not pc.any(mask).as_py():
        return []
    idx = pc.indices_nonzero(mask)
    shown = shown.take(idx) if pa.types.is_string(shown.type) else shown.take(idx).cast(pa.string())
    reasons = reason.take(idx) if isinstance(reason, pa.Array) else reason
    return [BadCells(idx, column, shown, reasons)]


def email_customer_id(emails: pa.Array) -> pa.Array:
    """A stable customer id from a lower-cased, trimmed email: ``em_`` + the first 16 hex digits of its
    SHA-256. The same person gets the same id from the Shopify orders and customers exports (and from
    any other import that uses this function), while the email itself stays out of ids that are
    exported, logged and shown in URLs. 64 bits make an accidental collision negligible below billions
    of customers."""
    uniques = pc.unique(emails.drop_null())
    ids = ["em_" + hashlib.sha256(e.encode("utf-8")).hexdigest()[:16] for e in uniques.to_pylist()]
    pos = pc.index_in(emails, value_set=uniques)
    return pc.take(pa.array(ids, pa.string()), pos)


def row_order(t: ibis.Table) -> list:
    return [t._file, t._row]


def total_only_amounts(total: ir.NumericValue) -> dict[str, ir.Value]:
    """Order money columns for sources that know only what a purchase cost (CDNOW, invoice lines): the
    total is the subtotal, and there is no discount, shipping, tax or refund to record."""
    zero = ibis.literal(0.0)
    return {
        "subtotal": total,
        "discount": zero,
        "shipping": zero,
        "tax": zero,
        "total": total,
        "refunded_amount": zero,
    }
