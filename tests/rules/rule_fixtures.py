"""Fixtures for the rule-language tests: a small trait catalog, canonical tables built from rows, and a
DuckDB runner that returns the members of a rule as a sorted list."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

from segmint.core.rules import CompileContext, compile_rule, parse
from segmint.core.schema import CANONICAL
from segmint.core.traits.catalog import Catalog, TraitSpec

AS_OF = datetime(2025, 6, 30, 12, 0, 0)

TRAIT_TYPES: dict[str, dt.DataType] = {
    "orders_count": dt.int64,
    "total_spent": dt.float64,
    "last_order_at": dt.timestamp,
    "rfm_group": dt.string,
    "is_subscriber": dt.boolean,
}


def make_catalog() -> Catalog:
    families = {"is_subscriber": "behavioral", "rfm_group": "value"}
    return Catalog(
        extra=[
            TraitSpec(name, dtype, families.get(name, "value"), f"test trait {name}")
            for name, dtype in TRAIT_TYPES.items()
        ]
    )


def frame(schema: Mapping[str, dt.DataType], rows: Iterable[Mapping]) -> ibis.Table:
    """An in-memory table with exactly ``schema``'s columns; columns a row leaves out are missing."""
    rows = list(rows)
    data = {col: [r.get(col) for r in rows] for col in schema}
    df = pd.DataFrame(data, columns=list(schema))
    for col, typ in schema.items():
        if typ.is_timestamp():
            df[col] = pd.to_datetime(df[col])
        elif typ.is_date():
            df[col] = pd.to_datetime(df[col]).dt.date
        elif typ.is_array():
            df[col] = pd.Series([r.get(col) for r in rows], dtype=object)
        elif typ.is_floating():
            df[col] = pd.Series([r.get(col) for r in rows], dtype="float64")
        else:
            df[col] = pd.Series([r.get(col) for r in rows], dtype=object)
    return ibis.memtable(df, schema=ibis.schema(dict(schema)))


def customers(rows: Iterable[Mapping]) -> ibis.Table:
    return frame(CANONICAL["customers"].columns, rows)


def events(rows: Iterable[Mapping]) -> ibis.Table:
    rows = [{"event_id": f"e{i}", **r} for i, r in enumerate(rows)]
    return frame(CANONICAL["events"].columns, rows)


def traits(rows: Iterable[Mapping]) -> ibis.Table:
    return frame({"customer_id": dt.string, **TRAIT_TYPES}, rows)


class Shop:
    """Tables for one test plus a DuckDB connection to evaluate rules on them."""

    def __init__(self, con, cust, ev=(), tr=(), as_of: datetime = AS_OF, segments=None) -> None:
        self.con = con
        self.ctx = CompileContext(
            customers=customers(cust),
            events=events(ev),
            traits=traits(tr),
            as_of=as_of,
            catalog=make_catalog(),
            segment_members=segments,
        )

    def members(self, text: str) -> list[str]:
        expr = compile_rule(parse(text), self.ctx)
        return sorted(self.con.execute(expr)["customer_id"].tolist())
