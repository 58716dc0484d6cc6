"""A read-only workspace on its own DuckDB cursor, for reading while the service is the single writer.

The service's request handlers and dashboard pages read through per-thread cursors of the service's
database (MVCC snapshots of committed data, never waiting behind a commit). A :class:`ReadView` wraps one
so the Ibis-based use cases (change log, KPIs, history, overlap, clusters, predictions) run unchanged,
without a second database connection, and so do the adapters that need the raw cursor (they get it
back through :func:`segmint.adapters.duckdb_handle.duckdb_connection`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import ibis

from segmint.adapters.duckdb_handle import read_cursor
from segmint.adapters.store import TableStore
from segmint.adapters.workspace import Workspace
from segmint.core.schema import CANONICAL

__all__ = ["ReadView"]

T = TypeVar("T")


class ReadView(Workspace):
    """A workspace bound to a read cursor: same tables and settings, never writes, never closes the
    shared database."""

    def __init__(self, ws: Workspace, cursor: Any) -> None:
        self.root = ws.root
        self.config = ws.config
        self.engine = ws.engine
        self.con = ibis.duckdb.from_connection(cursor)
        self.store = TableStore(self.con)
        self.version: tuple | None = None
        self._tables: dict[str, ibis.Table] = {}
        self._memo: dict[str, Any] = {}

    @classmethod
    def of(cls, ws: Workspace) -> ReadView:
        """A view of ``ws`` on a new cursor of its database (DuckDB only; a clear error otherwise)."""
        return cls(ws, read_cursor(ws))

    def refresh(self, version: tuple | None) -> ReadView:
        """Forget bound tables and memos when the data version moved on (a table may have been
        replaced with other columns)."""
        if version != self.version:
            self._tables.clear()
            self._memo.clear()
            self.version = version
        return self

    def table(self, name: str) -> ibis.Table:
        """The bound table, its schema read once per data version: Ibis reads a table's schema on every
        ``con.table()``, tens of milliseconds for the wide ``traits`` table, and a page binds dozens."""
        found = self._tables.get(name)
        if found is None:
            found = self._tables[name] = self.con.table(name)
        return found

    def tables(self) -> Mapping[str, ibis.Table]:
        return {name: self.table(name) for name in CANONICAL}

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """A small value computed once per data version on this view (run times, the trait catalog)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def close(self) -> None:
        """The cursor belongs to the service; nothing to close."""
