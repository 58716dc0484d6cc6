"""Table storage on an Ibis backend: create and migrate tables, stage batches, merge by key, transactions.

This is the one place that knows how an engine stores rows. DuckDB gets real transactions and set-based
``DELETE … USING`` / ``INSERT … BY NAME`` merges; other backends get the portable path (rebuild the table
from an Ibis expression). Identifiers in generated SQL are only Segmint's own table and column names and
are quoted by sqlglot; no user text reaches SQL.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import ibis
import pyarrow as pa
import sqlglot as sg

from segmint.core.schema import TABLES, TableSpec

__all__ = ["TableStore"]

_counter = itertools.count()


def _q(name: str) -> str:
    return sg.to_identifier(name, quoted=True).sql("duckdb")


class TableStore:
    def __init__(self, con: ibis.BaseBackend) -> None:
        self.con = con
        self.is_duckdb = con.name == "duckdb"
        self._in_txn = False
        # Facts a writer through this store keeps current itself (the latest time membership history is
        # known at, per segment): read once from the tables, then updated by each write.
        self.known: dict[str, dict] = {}
        self._registered: set[str] = set()

    # -- tables ------------------------------------------------------------------------------------
    def exists(self, name: str) -> bool:
        return name in self.con.list_tables()

    def table(self, name: str) -> ibis.Table:
        return self.con.table(name)

    def count(self, name: str) -> int:
        return int(self.con.table(name).count().to_pyarrow().as_py())

    def ensure(self, specs: Iterable[TableSpec]) -> None:
        """Create missing tables and add columns a newer Segmint declares (a forward-only migration)."""
        existing = set(self.con.list_tables())
        for spec in specs:
            if spec.name not in existing:
                self.con.create_table(spec.name, schema=spec.schema)
                continue
            have = set(self.con.table(spec.name).columns)
            for column, dtype in spec.columns.items():
                if column not in have:
                    self._add_column(spec.name, column, dtype)

    def _add_column(self, table: str, column: str, dtype) -> None:
        if not self.is_duckdb:
            raise NotImplementedError(f"migrating {table}.{column} is only automatic on DuckDB")
        sql_type = dtype.copy(nullable=True)
        type_sql = ibis.backends.sql.datatypes.DuckDBType.from_ibis(sql_type).sql("duckdb")
        self.con.raw_sql(f"ALTER TABLE {_q(table)} ADD COLUMN {_q(column)} {type_sql}")

    def drop(self, name: str) -> None:
        if name in self._registered:
            self._registered.discard(name)
            self.con.con.unregister(name)
            return
        self.con.drop_table(name, force=True)

    def scratch_name(self, prefix: str = "tmp") -> str:
        """A fresh name for a scratch table."""
        return f"_segmint_{prefix}_{next(_counter)}"

    def temp(self, data: ibis.Table | pa.Table, prefix: str = "tmp") -> str:
        """Materialise an expression or Arrow table as a scratch table for this connection and return its
        name: a temporary table on DuckDB (gone with the connection, and allowed on a read-only one),
        a session table elsewhere. Callers drop it when done."""
        name = self.scratch_name(prefix)
        if self.is_duckdb and isinstance(data, pa.Table):
            # An Arrow table is registered as a view of itself: no copy, no statement to compile (the
            # live engine stages its inputs this way on every tick).
            self.con.con.register(name, data)
            self._registered.add(name)
            return name
        self.con.create_table(name, data, temp=self.is_duckdb, overwrite=True)
        return name

    @contextmanager
    def scratch(self) -> Iterator[list[str]]:
        """A list to put scratch table names in; every one is dropped on the way out."""
        names: list[str] = []
        try:
            yield names
        finally:
            for name in names:
                self.drop(name)

    # -- transactions ------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing on DuckDB. Other engines have no multi-table transactions; there Segmint stages
        everything first and swaps tables last, so a failure before the swap leaves data unchanged."""
        if not self.is_duckdb or self._in_txn:
            yield
            return
        self.con.raw_sql("BEGIN TRANSACTION")
        self._in_txn = True
        try:
            yield
        except BaseException:
            self.con.raw_sql("ROLLBACK")
            self.known.clear()  # what was learnt or written inside is undone: read it again
            raise
        else:
            self.con.raw_sql("COMMIT")
        finally:
            self._in_txn = False

    # -- loading -----------------------------------------------------------------------------------
    def stage(self, batches: Iterable[pa.RecordBatch], schema: pa.Schema, prefix: str = "stage") -> str:
        """Stream record batches into a new temporary table and return its name. Batches larger than
        memory in total are fine: the engine spills."""
        name = f"_segmint_{prefix}_{next(_counter)}"
        ibis_schema = ibis.Schema.from_pyarrow(schema)
        if self.is_duckdb:
            self.con.create_table(name, schema=ibis_schema, temp=True)
            raw = self.con.con
            for batch in batches:
                if batch.num_rows:
                    raw.from_arrow(pa.Table.from_batches([batch], schema=schema)).insert_into(name)
            return name
        table = pa.Table.from_batches(list(batches), schema=schema)
        self.con.create_table(name, table, overwrite=True)
        return name

    def append(self, name: str, data: pa.Table | ibis.Table) -> None:
        if isinstance(data, pa.Table) and data.num_rows == 0:
            return
        if self.is_duckdb and isinstance(data, pa.Table):
            target_cols = self.con.table(name).columns
            if data.column_names == list(target_cols):
                self.con.con.from_arrow(data).insert_into(name)
            else:
                self._insert_by_name(name, data)
            return
        self.con.insert(name, data)

    def _insert_by_name(self, name: str, data: pa.Table) -> None:
        tmp = self.stage(data.to_batches(), data.schema, prefix="append")
        self.con.raw_sql(f"INSERT INTO {_q(name)} BY NAME SELECT * FROM {_q(tmp)}")
        self.drop(tmp)

    def replace(self, name: str, data: pa.Table | ibis.Table) -> None:
        """Overwrite a derived table with new contents (keeping it if it did not change shape)."""
        self.con.create_table(name, data, overwrite=True)

    def upsert(self, spec: TableSpec, staged: str) -> None:
        """Merge a staged table into ``spec.name`` by key: staged rows replace stored rows with the same
        key, new keys are added. Columns the staged table lacks keep their stored values, so a partial
        export does not wipe what another import filled in. Child rows (order lines) of every staged key
        are deleted first; the caller stages the new children afterwards."""
        staged_cols = self.con.table(staged).columns
        keep = [c for c in spec.columns if c not in staged_cols]
        if self.is_duckdb:
            self._upsert_duckdb(spec, staged, keep)
        else:
            self._upsert_portable(spec, staged, keep)

    def _upsert_duckdb(self, spec: TableSpec, staged: str, keep: list[str]) -> None:
        target, key = spec.name, spec.key
        if self._is_empty(target):
            # A first load has nothing to merge with: a plain insert avoids the join and the delete.
            self.con.raw_sql(f"INSERT INTO {_q(target)} BY NAME SELECT * FROM {_q(staged)}")
            return
        on = " AND ".join(f"t.{_q(k)} = s.{_q(k)}" for k in key)
        source = _q(staged)
        if keep:
            merged = f"_segmint_merged_{next(_counter)}"
            cols = ", ".join(f"t.{_q(c)}" for c in keep)
            self.con.raw_sql(
                f"CREATE TEMP TABLE {_q(merged)} AS SELECT s.*, {cols} FROM {source} s "
                f"LEFT JOIN {_q(target)} t ON {on}"
            )
            source = _q(merged)
        for child in spec.children:
            child_key = [k for k in key if k in TABLES[child].columns]
            child_on = " AND ".join(f"t.{_q(k)} = s.{_q(k)}" for k in child_key)
            self.con.raw_sql(f"DELETE FROM {_q(child)} t USING {_q(staged)} s WHERE {child_on}")
        self.con.raw_sql(f"DELETE FROM {_q(target)} t USING {_q(staged)} s WHERE {on}")
        self.con.raw_sql(f"INSERT INTO {_q(target)} BY NAME SELECT * FROM {source}")
        if keep:
            self.drop(merged)

    def delete(self, spec: TableSpec, staged: str) -> None:
        """Delete the rows of ``spec.name`` whose key matches a row of ``staged`` (which holds at least
        the key columns). Only the matching rows are touched, so removing a few members of a large
        table costs what they cost, not a rebuild."""
        key = list(spec.key)
        if self.is_duckdb:
            on = " AND ".join(f"t.{_q(k)} = s.{_q(k)}" for k in key)
            self.con.raw_sql(f"DELETE FROM {_q(spec.name)} t USING {_q(staged)} s WHERE {on}")
            return
        self.rewrite(spec.name, self.con.table(spec.name).anti_join(self.con.table(staged), key))

    def _is_empty(self, name: str) -> bool:
        return self.con.table(name).limit(1).count().to_pyarrow().as_py() == 0

    def _upsert_portable(self, spec: TableSpec, staged: str, keep: list[str]) -> None:
        target = self.con.table(spec.name)
        new = self.con.table(staged)
        key = list(spec.key)
        if keep:
            new = new.left_join(target.select(*key, *keep), key).select(*new.columns, *keep)
        kept = target.anti_join(self.con.table(staged), key)
        # Both sides in the spec's types, nullable: the stored table's types as the engine reports them
        # (precision, nullability) need not equal the staged rows', and a union needs equal schemas.
        result = _conformed(kept, spec).union(_conformed(new, spec))
        for child in spec.children:
            child_key = [k for k in key if k in TABLES[child].columns]
            self.rewrite(child, self.con.table(child).anti_join(self.con.table(staged), child_key))
        self.rewrite(spec.name, result)

    def rewrite(self, name: str, expr: ibis.Table) -> None:
        """Replace a table with an expression that reads it: through a scratch table, because an engine
        may not overwrite a table it is reading (Spark), and the rows stay in the engine (a round trip
        through Arrow and pandas turns missing text into the string 'NaN' on Spark)."""
        scratch = self.scratch_name("rewrite")
        self.con.create_table(scratch, expr, temp=self.is_duckdb, overwrite=True)
        try:
            self.con.create_table(name, self.con.table(scratch), overwrite=True)
        finally:
            self.drop(scratch)


def _conformed(table: ibis.Table, spec: TableSpec) -> ibis.Table:
    return table.select(*[table[c].cast(spec.columns[c].copy(nullable=True)).name(c) for c in spec.columns])
