"""Running the live engine's compiled evaluation plan on DuckDB (the live engine is DuckDB only).

The evaluator compiles its plan once per day into SQL templates (see :mod:`segmint.live.sql_template`);
this module is where those statements meet the connection: scratch tables for the customers a tick
evaluates and for the buyer population RFM ranks against, the staged intermediate results, and the
final ``(segment, customer_id)`` rows. Statements are Segmint's own compiled SQL; customer ids travel
as an Arrow table, never as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis
import pyarrow as pa

from segmint.adapters.duckdb_handle import duckdb_connection
from segmint.adapters.workspace import Workspace

__all__ = [
    "IDS",
    "POPULATION",
    "compile_backend",
    "create_scratch",
    "materialise",
    "run_plan",
    "set_ids",
    "stage_shape",
]

IDS = "_segmint_live_ids"
# Every buyer's orders aggregate, which RFM scores of touched customers are ranked against.
POPULATION = "_segmint_live_rfm_population"


def compile_backend(ws: Workspace) -> Any:
    """An Ibis backend on a new cursor of the workspace's database, for compiling plans off the
    evaluation thread (it only ever holds empty scratch tables that give compiled SQL its columns)."""
    return ibis.duckdb.from_connection(duckdb_connection(ws).cursor())


def create_scratch(con: Any) -> None:
    """The scratch tables a restricted plan reads, empty, on ``con`` (a backend or the workspace's)."""
    raw = con.con
    raw.execute(f"CREATE TEMP TABLE IF NOT EXISTS {IDS} (customer_id VARCHAR)")
    raw.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {POPULATION} (customer_id VARCHAR, "
        "last_order_at TIMESTAMP, orders_count BIGINT, total_spent DOUBLE)"
    )


def stage_shape(con: Any, target: str, sql: str) -> None:
    """An empty temp table with the columns of ``sql``'s result, so later statements compile against it."""
    con.con.execute(f'CREATE OR REPLACE TEMP TABLE "{target}" AS SELECT * FROM ({sql}) LIMIT 0')


def materialise(ws: Workspace, target: str, sql: str) -> None:
    """Run one compiled statement into a temp table of the evaluation's connection."""
    duckdb_connection(ws).execute(f'CREATE OR REPLACE TEMP TABLE "{target}" AS {sql}')


def set_ids(ws: Workspace, customer_ids: Sequence[str]) -> None:
    """The customers the next restricted plan evaluates."""
    raw = duckdb_connection(ws)
    raw.execute(f"CREATE TEMP TABLE IF NOT EXISTS {IDS} (customer_id VARCHAR)")
    raw.execute(f"DELETE FROM {IDS}")
    raw.register("_segmint_live_ids_in", pa.table({"customer_id": pa.array(list(customer_ids), pa.string())}))
    try:
        raw.execute(f"INSERT INTO {IDS} SELECT DISTINCT customer_id FROM _segmint_live_ids_in")
    finally:
        raw.unregister("_segmint_live_ids_in")


def run_plan(ws: Workspace, statements: Sequence[tuple[str | None, str]]) -> set[tuple[str, str]]:
    """Stage every intermediate statement, then return the final statement's ``(segment, customer_id)``."""
    raw = duckdb_connection(ws)
    for target, sql in statements[:-1]:
        raw.execute(f'CREATE OR REPLACE TEMP TABLE "{target}" AS {sql}')
    return {(segment, cid) for segment, cid in raw.execute(statements[-1][1]).fetchall()}
