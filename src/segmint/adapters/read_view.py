"""A read-only view of a workspace through another connection to its database (a DuckDB cursor):
the same tables and settings, MVCC snapshots of committed data, never writes, never closes the shared
database. The service's request handlers and dashboard pages read through one per thread, so the use
cases run unchanged beside the service's writer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import ibis

from segmint.adapters.store import TableStore
from segmint.adapters.workspace import Workspace
from segmint.core.schema import CANONICAL

__all__ = ["ReadView", "cursor_view"]

T = TypeVar("T")


class ReadView(Workspace):
    """A workspace bound to a read cursor. ``memo`` keeps small values (run times, the trait catalog)
    until the data version moves on (:meth:`refresh`)."""

    def __init__(self, ws: Workspace, cursor: Any) -> None:
        self.root = ws.root
        self.config = ws.config
        self.engine = ws.engine
        self.read_only = True
        self.con = ibis.duckdb.from_connection(cursor)
        self.store = TableStore(self.con)
        self.version: tuple | None = None
        self._tables: dict[str, ibis.Table] = {}
        self._memo: dict[Any, Any] = {}

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

    def memo(self, key: Any, compute: Callable[[], T]) -> T:
        """A small value computed once per data version on this view."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def close(self) -> None:
        """The cursor belongs to the service; nothing to close."""


def cursor_view(ws: Workspace) -> ReadView:
    """A read view of ``ws`` on a new cursor of its DuckDB connection."""
    cursor = ws.con.con.cursor()
    cursor.execute("SET TimeZone = 'UTC'")
    return ReadView(ws, cursor)
