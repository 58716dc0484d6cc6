"""What the ingest writer reads and writes in DuckDB: one named operation per statement.

The writer (:mod:`segmint.live.ingest`) decides what to store; this module knows how. Batches travel
as registered Arrow tables and ``INSERT … BY NAME`` (whole columns at C speed), values as parameters;
the only identifiers in the SQL are Segmint's own table and column names. Identity stitching is the
compiled form of :func:`segmint.core.identity.identity_map`, so the service resolves anonymous ids
exactly as batch runs do.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import sqlglot as sg

from segmint.adapters.duckdb_handle import (
    DuckDB,
    checkpoint,
    database_wal_path,
    duckdb_connection,
    rows_as_dicts,
    scalar,
)
from segmint.adapters.workspace import Workspace
from segmint.core.identity import IdentityLinks, identity_map
from segmint.core.schema import CUSTOMERS, EVENTS, IDENTITIES
from segmint.core.traits.events import stitched_events

__all__ = ["IngestStore", "identity_map_sql"]

_IDENTITIES_ARROW = IDENTITIES.schema.to_pyarrow()
_STUB_SCHEMA = pa.schema(
    [("customer_id", pa.string()), ("source", pa.string()), ("created_at", pa.timestamp("us"))]
)


def _sql(expr: ir.Expr) -> str:
    """DuckDB SQL of an expression over unbound canonical tables (their names are the stored ones)."""
    return str(ibis.to_sql(expr, dialect="duckdb"))


def _identities() -> ir.Table:
    return ibis.table(IDENTITIES.schema, name=IDENTITIES.name)


def identity_map_sql(as_of: datetime | None = None) -> str:
    """DuckDB SQL of :func:`~segmint.core.identity.identity_map` over the stored ``identities`` table
    (``anonymous_id, customer_id, linked_at``), for statements that stitch in SQL (e.g. a CTE)."""
    return _sql(identity_map(_identities(), as_of))


def _q(name: str) -> str:
    return sg.to_identifier(name, quoted=True).sql("duckdb")


class IngestStore:
    """The ingest writer's connection and its statements. Used on the writer's thread only."""

    def __init__(self, ws: Workspace) -> None:
        self.con: DuckDB = duckdb_connection(ws)

    # -- loading at start ----------------------------------------------------------------------------
    def wal_path(self) -> str | None:
        return database_wal_path(self.con)

    def event_ids(self) -> set[str]:
        return {r[0] for r in self.con.execute("SELECT event_id FROM events").fetchall()}

    def customer_ids(self) -> set[str]:
        return {r[0] for r in self.con.execute("SELECT customer_id FROM customers").fetchall()}

    def identity_links(self, as_of: datetime | None = None) -> IdentityLinks:
        """Every anonymous id's winning link known at ``as_of`` (all links if None)."""
        rows = self.con.execute(identity_map_sql(as_of)).fetchall()
        return IdentityLinks.of_winners(
            [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], as_of
        )

    def customers_with_events(self) -> int:
        """How many customers own events directly (a cheap bound on what a preload would hold)."""
        return scalar(self.con, "SELECT count(DISTINCT customer_id) FROM events")

    def latest_events(self, depth: int, columns: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Each customer's ``depth`` latest events (own and stitched through every stored link), newest
        first, as dicts of ``columns``."""
        events = ibis.table(EVENTS.schema, name=EVENTS.name)
        owned = stitched_events(events, _identities())
        ranked = owned.mutate(
            _n=ibis.row_number().over(
                group_by=owned.customer_id, order_by=[ibis.desc(owned.occurred_at), ibis.desc(owned.event_id)]
            )
        )
        latest = ranked.filter(ranked._n < depth).select(ranked.customer_id.name("_owner"), *columns)
        out: dict[str, list[dict[str, Any]]] = {}
        for row in self.con.execute(_sql(latest)).fetchall():
            out.setdefault(row[0], []).append(dict(zip(columns, row[1:], strict=True)))
        return out

    # -- one group commit ------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One group commit: everything inside commits together (and the WAL is synced) or not at all."""
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def _insert(self, rows: pa.Table, sql: str) -> Any:
        """Run ``sql`` with ``rows`` registered as ``_ingest_rows``."""
        con = self.con
        con.register("_ingest_rows", rows)
        try:
            return con.execute(sql)
        finally:
            con.unregister("_ingest_rows")

    def insert_events(self, events: pa.Table) -> None:
        self._insert(events, "INSERT INTO events BY NAME SELECT * FROM _ingest_rows")

    def insert_customer_stubs(self, customer_ids: list[str], created_at: list[datetime]) -> None:
        """A customers row (source ``api``, created when first seen) for each id new to the service."""
        stub = pa.table(
            {"customer_id": customer_ids, "source": ["api"] * len(customer_ids), "created_at": created_at},
            schema=_STUB_SCHEMA,
        )
        self._insert(stub, "INSERT INTO customers BY NAME SELECT * FROM _ingest_rows")

    def insert_new_links(
        self, links: Sequence[tuple[str, str, datetime | None]]
    ) -> list[tuple[str, str, datetime]]:
        """Store the ``(anonymous_id, customer_id, linked_at)`` pairs not stored yet (a pair keeps the
        time it was first stored with); returns the rows actually inserted."""
        table = pa.table(
            {
                "anonymous_id": [a for a, _, _ in links],
                "customer_id": [c for _, c, _ in links],
                "linked_at": [t for _, _, t in links],
            },
            schema=_IDENTITIES_ARROW,
        )
        result = self._insert(
            table,
            "INSERT INTO identities BY NAME SELECT l.* FROM _ingest_rows l "
            "ANTI JOIN identities i ON i.anonymous_id = l.anonymous_id AND i.customer_id = l.customer_id "
            "RETURNING anonymous_id, customer_id, linked_at",
        )
        return [tuple(r) for r in result.fetchall()]

    def stored_attributes(self, customer_ids: list[str]) -> dict[str, str | None]:
        """The ``attributes`` JSON text of these customers."""
        self.con.register("_ingest_ids", pa.table({"customer_id": pa.array(customer_ids, pa.string())}))
        try:
            return dict(
                self.con.execute(
                    "SELECT c.customer_id, c.attributes FROM customers c SEMI JOIN _ingest_ids i USING (customer_id)"
                ).fetchall()
            )
        finally:
            self.con.unregister("_ingest_ids")

    def update_customers(self, columns: Sequence[str], rows: list[dict[str, Any]]) -> None:
        """Set ``columns`` (besides the key) of the customers in ``rows``, leaving every other column
        as stored. Column names are checked against the customers schema before reaching SQL."""
        unknown = [c for c in columns if c not in CUSTOMERS.columns]
        if unknown:
            raise ValueError(f"not customers columns: {unknown}")
        arrow_schema = CUSTOMERS.schema.to_pyarrow()
        schema = pa.schema([arrow_schema.field(c) for c in columns])
        sets = ", ".join(f"{_q(c)} = s.{_q(c)}" for c in columns if c != "customer_id")
        self._insert(
            pa.Table.from_pylist(rows, schema=schema),
            f"UPDATE customers SET {sets} FROM _ingest_rows s WHERE customers.customer_id = s.customer_id",
        )

    def customer_rows(self, customer_ids: list[str]) -> list[dict[str, Any]]:
        result = self.con.execute(
            "SELECT * FROM customers WHERE customer_id IN (SELECT UNNEST($ids::VARCHAR[]))",
            {"ids": customer_ids},
        )
        return rows_as_dicts(result)

    def checkpoint(self) -> bool:
        return checkpoint(self.con)
