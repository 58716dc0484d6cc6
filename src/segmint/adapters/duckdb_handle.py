"""The one place that reaches through Ibis to a workspace's DuckDB connection.

The real-time service runs on DuckDB only: it needs real transactions, concurrent cursors on one
database, Arrow registration and write-ahead-log control, which no other Ibis backend offers the same
way. Everything it does with the raw connection goes through the adapter modules beside this one
(``ingest_store``, ``outbox_store``, ``profile_reads``, ``read_view``), which get the connection here;
use cases hold it only as an opaque handle to pass back to those adapters.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import duckdb
import ibis

from segmint.adapters.store import TableStore
from segmint.adapters.workspace import CONFIG_FILE, Workspace
from segmint.errors import SegmintError

__all__ = [
    "NotDuckDB",
    "checkpoint",
    "cursor_workspace",
    "database_wal_path",
    "duckdb_connection",
    "read_cursor",
    "refuse_other_engines",
    "rows_as_dicts",
    "scalar",
    "set_checkpoint_threshold",
    "table_exists",
]

DuckDB = duckdb.DuckDBPyConnection


class NotDuckDB(SegmintError):
    """The workspace runs on an engine the real-time service does not support."""


def _refusal(kind: str, what: str) -> NotDuckDB:
    return NotDuckDB(
        f"{what} runs on DuckDB only, and this workspace's engine is {kind!r}. Batch commands "
        "(segmint run, segments, predict, report) work on it as they are; to serve live memberships, "
        'use a workspace whose segmint.toml has [engine] kind = "duckdb" (segmint init DIR).'
    )


def refuse_other_engines(root: str | Path, what: str = "the real-time service (segmint serve)") -> None:
    """Refuse a workspace configured for another engine from its settings alone, before connecting
    (connecting to Spark starts a JVM only to be refused). A missing or unreadable settings file is
    left for :meth:`Workspace.open` to report."""
    path = Path(root) / CONFIG_FILE
    try:
        config = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return
    kind = str(config.get("engine", {}).get("kind", "duckdb"))
    if kind != "duckdb":
        raise _refusal(kind, what)


def duckdb_connection(ws: Workspace, what: str = "the real-time service (segmint serve)") -> DuckDB:
    """The DuckDB connection (or cursor) under a workspace or read view; a clear error for any other
    engine."""
    con = ws.con
    if getattr(con, "name", None) != "duckdb":
        raise _refusal(str(getattr(ws.engine, "kind", None) or getattr(con, "name", "unknown")), what)
    return con.con


def read_cursor(ws: Workspace) -> DuckDB:
    """A new cursor on the workspace's database: reads see committed data (an MVCC snapshot per
    statement) and never wait behind the writer's transaction."""
    cursor = duckdb_connection(ws).cursor()
    cursor.execute("SET TimeZone = 'UTC'")
    return cursor


def cursor_workspace(ws: Workspace) -> Workspace:
    """The same workspace through a second connection to its database (a cursor), for a thread that
    writes concurrently with the main connection's owner (DuckDB runs both transactions at once)."""
    cursor = read_cursor(ws)
    view = object.__new__(Workspace)
    view.root, view.config, view.engine = ws.root, ws.config, ws.engine
    view.con = ibis.duckdb.from_connection(cursor)
    view.store = TableStore(view.con)
    return view


def scalar(con: DuckDB, sql: str, params: Any = None) -> Any:
    """The single value of a one-row, one-column statement (an aggregate)."""
    row = con.execute(sql, params).fetchone()
    if row is None:
        raise RuntimeError(f"no row from {sql!r}")
    return row[0]


def table_exists(ws: Workspace, name: str) -> bool:
    """Whether a (non-temporary) table exists, on the workspace's connection; cheaper than Ibis's
    ``list_tables`` for a check made on every profile lookup."""
    sql = "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT temporary"
    return bool(scalar(duckdb_connection(ws), sql, [name]))


def database_wal_path(con: DuckDB) -> str | None:
    """The write-ahead log of a file database (None in memory)."""
    path = scalar(con, "SELECT path FROM duckdb_databases() WHERE database_name = current_database()")
    return f"{path}.wal" if path else None


def set_checkpoint_threshold(ws: Workspace, megabytes: int) -> None:
    """DuckDB's own automatic checkpoint threshold (a SET takes no parameters: an int is rendered)."""
    duckdb_connection(ws).execute(f"SET checkpoint_threshold = '{int(megabytes)}MB'")


def checkpoint(con: DuckDB) -> bool:
    """Fold the write-ahead log into the database file; False when another transaction is in the way
    (DuckDB then checkpoints later on its own)."""
    try:
        con.execute("CHECKPOINT")
    except duckdb.Error:
        return False
    return True


def rows_as_dicts(result: Any) -> list[dict[str, Any]]:
    """A DuckDB result's rows as dicts keyed by column name."""
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
