"""Declarative column specs: which source column feeds which value, how it is converted and checked.

Every importer describes its input as a list of ``Field``s. Headers are matched exactly first, then by
a loose key (case, spaces and punctuation ignored), so ``Customer ID`` and ``CustomerID`` are the same
column. A missing required column is reported with the closest header actually found (difflib).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from segmint.adapters.importers import _parse
from segmint.adapters.importers._errors import file_error

__all__ = ["BadCells", "Field", "convert_fields", "loose", "resolve"]


@dataclass(frozen=True)
class Field:
    """One value read from the source.

    kind: text, timestamp, date, float, int, bool, tags. ``required`` means the column must exist;
    ``not_null`` that every row needs a value. ``lo``/``hi`` bound numbers. ``strip_quote`` drops the
    leading apostrophe spreadsheets-minded exporters (Shopify) put before zip codes and long ids."""

    name: str
    sources: tuple[str, ...]
    kind: str = "text"
    required: bool = False
    not_null: bool = False
    lo: float | None = None
    hi: float | None = None
    lower: bool = False
    strip_quote: bool = False
    what: str = ""


@dataclass
class BadCells:
    """Bad values of one column in one batch: positions, the text shown, and why."""

    indices: pa.Array
    column: str
    values: pa.Array
    reasons: pa.Array | str


def loose(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def resolve(fields: list[Field], header: list[str], path: Path | str) -> dict[str, str | None]:
    """Field name -> source column name (None when an optional column is absent)."""
    exact = {h: h for h in header}
    by_key: dict[str, str] = {}
    for h in header:
        by_key.setdefault(loose(h), h)
    out: dict[str, str | None] = {}
    for f in fields:
        found = next((exact[s] for s in f.sources if s in exact), None)
        if found is None:
            found = next((by_key[loose(s)] for s in f.sources if loose(s) in by_key), None)
        if found is None and f.required:
            raise missing_column(path, f.sources[0], header, also=f.sources[1:])
        out[f.name] = found
    return out


def missing_column(path: Path | str, wanted: str, header: list[str], also: tuple[str, ...] = ()) -> Exception:
    close = difflib.get_close_matches(wanted, header, n=1, cutoff=0.5)
    if not close:
        lowered = {h.lower(): h for h in header}
        hit = difflib.get_close_matches(wanted.lower(), list(lowered), n=1, cutoff=0.5)
        close = [lowered[hit[0]]] if hit else []
    alt = f" (or {', '.join(repr(a) for a in also)})" if also else ""
    hint = f"; did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(repr(h) for h in header[:12]) + (" …" if len(header) > 12 else "")
    return file_error(
        path,
        f"required column {wanted!r}{alt} is missing{hint} Columns found: {shown}",
        row=1,
        column=wanted,
    )


def convert_fields(
    fields: list[Field],
    resolved: dict[str, str | None],
    columns: dict[str, pa.Array],
    n: int,
    *,
    formats: tuple[str, ...] | None = None,
    timezone: str = "UTC",
) -> tuple[dict[str, pa.Array], list[BadCells]]:
    """Convert one batch. Returns typed columns by field name and every bad cell."""
    out: dict[str, pa.Array] = {}
    bad: list[BadCells] = []
    for f in fields:
        source = resolved.get(f.name)
        if source is None or source not in columns:
            out[f.name] = pa.nulls(n, _arrow_type(f.kind))
            continue
        arr = columns[source]
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        typed = _typed_fast_path(f, arr, timezone)
        if typed is not None:
            conv, shown = typed, arr
        else:
            text = _parse.clean_text(arr)
            if f.strip_quote:
                text = pc.replace_substring_regex(text, r"^'", "")
            if f.lower:
                text = pc.utf8_lower(text)
            conv = _convert_text(f, text, formats, timezone)
            shown = text
        values = conv.values
        if conv.bad is not None and pc.any(conv.bad).as_py():
            idx = pc.indices_nonzero(conv.bad)
            reasons = conv.reason.take(idx) if isinstance(conv.reason, pa.Array) else conv.reason
            bad.append(BadCells(idx, source, _as_text(shown.take(idx)), reasons))
        if f.not_null:
            missing = pc.is_null(values)
            if conv.bad is not None:
                missing = pc.and_(missing, pc.invert(conv.bad))
            if pc.any(missing).as_py():
                idx = pc.indices_nonzero(missing)
                bad.append(BadCells(idx, source, pa.nulls(len(idx), pa.string()), "missing value"))
        out[f.name] = values
    return out, bad


def _arrow_type(kind: str) -> pa.DataType:
    return {
        "text": pa.string(),
        "timestamp": pa.timestamp("us"),
        "date": pa.date32(),
        "float": pa.float64(),
        "int": pa.int64(),
        "bool": pa.bool_(),
        "tags": pa.list_(pa.string()),
    }[kind]


def _convert_text(f: Field, text: pa.Array, formats, timezone) -> _parse.Converted:
    what = f.what or {"float": "number", "int": "whole number"}.get(f.kind, "value")
    if f.kind == "text":
        return _parse.Converted(text, None)
    if f.kind == "float":
        return _parse.to_float(text, lo=f.lo, hi=f.hi, what=what)
    if f.kind == "int":
        return _parse.to_int(text, lo=f.lo, hi=f.hi, what=what)
    if f.kind == "bool":
        return _parse.to_bool(text)
    if f.kind == "tags":
        return _parse.to_tags(text)
    if f.kind in ("timestamp", "date"):
        conv = _parse.to_timestamp(
            text, formats=formats, timezone=timezone if f.kind == "timestamp" else "UTC"
        )
        if f.kind == "date":
            conv.values = conv.values.cast(pa.date32())
        return conv
    raise ValueError(f"unknown field kind {f.kind}")


def _typed_fast_path(f: Field, arr: pa.Array, timezone: str) -> _parse.Converted | None:
    """Parquet columns that already have a fitting type skip text parsing (and only get range checks)."""
    t = arr.type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
        return None
    if f.kind in ("timestamp", "date") and (pa.types.is_timestamp(t) or pa.types.is_date(t)):
        conv = _parse.timestamp_from_arrow(arr, timezone if f.kind == "timestamp" else "UTC")
        if f.kind == "date":
            conv.values = conv.values.cast(pa.date32())
        return conv
    if f.kind in ("float", "int") and (pa.types.is_integer(t) or pa.types.is_floating(t)):
        what = f.what or ("number" if f.kind == "float" else "whole number")
        if f.kind == "float":
            values = arr.cast(pa.float64())
            return _parse._range_check(values, _false(len(arr)), "", f.lo, f.hi, what)
        if pa.types.is_floating(t):
            integral = pc.fill_null(pc.equal(pc.floor(arr), arr), True)
            values = pc.if_else(integral, arr, pa.scalar(None, t)).cast(pa.int64())
            return _parse._range_check(values, pc.invert(integral), f"not a {what}", f.lo, f.hi, what)
        return _parse._range_check(arr.cast(pa.int64()), _false(len(arr)), "", f.lo, f.hi, what)
    if f.kind == "bool" and pa.types.is_boolean(t):
        return _parse.Converted(arr, None)
    if f.kind == "tags" and (pa.types.is_list(t) or pa.types.is_large_list(t)):
        values = arr.cast(pa.list_(pa.string()))
        flat = pc.utf8_lower(pc.utf8_trim_whitespace(values.flatten()))
        values = pa.ListArray.from_arrays(values.offsets, flat, mask=pc.is_null(values))
        return _parse.Converted(values, None)
    return None


def _false(n: int) -> pa.Array:
    return _parse._no_bad(n)


def _as_text(arr: pa.Array) -> pa.Array:
    if pa.types.is_string(arr.type):
        return arr
    try:
        return arr.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([None if v is None else str(v) for v in arr.to_pylist()], pa.string())
