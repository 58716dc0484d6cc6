"""Helpers of the engine suite: put Arrow tables on a backend, read results back in a comparable form."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa


def load(con: ibis.BaseBackend, tables: Mapping[str, pa.Table], prefix: str = "") -> dict[str, ir.Table]:
    """Create every Arrow table on the backend (replacing one of the same name) and return them bound."""
    out = {}
    for name, data in tables.items():
        out[name] = con.create_table(prefix + name, data, overwrite=True)
    return out


def rows(
    expr: ir.Table, key: str | Iterable[str] | None = None, con: ibis.BaseBackend | None = None
) -> list[dict[str, Any]]:
    """Every row of ``expr`` as a dict, sorted by ``key`` (or by every column). Give ``con`` when the
    expression reads only in-memory tables, which would otherwise run on Ibis's default backend."""
    data = (expr.to_pyarrow() if con is None else con.to_pyarrow(expr)).to_pylist()
    keys = [key] if isinstance(key, str) else list(key) if key is not None else list(expr.columns)
    return sorted(data, key=lambda r: tuple((r[k] is None, r[k] if r[k] is not None else 0) for k in keys))


def by_key(expr: ir.Table, key: str) -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in expr.to_pyarrow().to_pylist()}


def same(a: Any, b: Any, rel: float = 1e-12, abs_: float = 1e-12) -> bool:
    """Equal values; floats within ``rel`` (engines add floats in different orders); NaN equals NaN."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, bool) or isinstance(b, bool):
            return a == b
        a, b = float(a), float(b)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)
    return a == b
