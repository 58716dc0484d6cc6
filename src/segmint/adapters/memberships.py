"""Writing a forward membership observation: the entries and exits of members observed at ``at``, later
than anything stored, applied to ``changes``, ``memberships`` and ``membership_history``.

What the write means is defined once, by :func:`segmint.core.segments.history.forward` (who entered,
who exited) and the recorder in :mod:`segmint.batch.history` (numbering, bookkeeping); this module is
only how the engine applies it. Batch runs, cluster assignments and every live tick go through it, so
it is on the live engine's hot path: on DuckDB the write is a handful of set-based statements over the
staged inputs (no expression compilation per tick); other engines get the portable Ibis path.

Inputs are scratch tables named by the caller: ``members`` (segment, customer_id), ``scope`` (segment,
version: the segments observed) and optionally ``ids`` (customer_id: the customers observed, all when
missing). Identifiers in SQL are Segmint's own scratch-table names; values travel as parameters.
"""

from __future__ import annotations

from datetime import datetime

import ibis
import pyarrow as pa
import sqlglot as sg

from segmint.adapters.store import TableStore
from segmint.core.schema import CHANGE_NUMBERS, CHANGES, MEMBERSHIP_HISTORY, MEMBERSHIPS
from segmint.core.segments import history as hist

__all__ = ["apply_forward", "hold_numbers", "next_seq"]


def _q(name: str) -> str:
    return sg.to_identifier(name, quoted=True).sql("duckdb")


def next_seq(store: TableStore) -> int:
    """The first free change number: every writer numbers after the highest number ever given (the
    last stored change, or a higher one :func:`hold_numbers` kept when changes were withdrawn), inside
    its transaction, so numbers are strictly increasing across batch runs, clusters and the live engine
    and never given twice."""
    held = _has_counter(store)
    if store.is_duckdb:  # every live tick asks: one statement, nothing to compile
        sql = "SELECT coalesce(max(seq), 0) FROM changes"
        if held:
            sql = f"SELECT greatest(({sql}), (SELECT coalesce(max(last), 0) FROM change_numbers))"
        return int(store.con.con.execute(sql).fetchone()[0]) + 1
    last = int(store.table("changes").seq.max().fill_null(0).to_pyarrow().as_py())
    if held:
        last = max(last, int(store.table("change_numbers").last.max().fill_null(0).to_pyarrow().as_py()))
    return last + 1


def hold_numbers(store: TableStore) -> None:
    """Remember the highest change number given so far before changes are withdrawn (deleted), so the
    next writer does not number after a lower maximum and give a withdrawn number again."""
    last = next_seq(store) - 1
    store.ensure([CHANGE_NUMBERS])
    store.known["tables"]["change_numbers"] = True
    if store.is_duckdb:
        store.con.con.execute("DELETE FROM change_numbers")
        store.con.con.execute("INSERT INTO change_numbers VALUES ($last)", {"last": last})
        return
    store.rewrite("change_numbers", ibis.memtable({"last": [last]}, schema=CHANGE_NUMBERS.schema))


def _has_counter(store: TableStore) -> bool:
    # Workspaces made before the counter existed get it on their first writable open; a read-only
    # open of one has none (and gives no numbers).
    tables = store.known.setdefault("tables", {})
    if not tables.get("change_numbers"):
        tables["change_numbers"] = store.exists("change_numbers")
    return bool(tables["change_numbers"])


def apply_forward(
    store: TableStore, at: datetime, cause: str, members: str, scope: str, ids: str | None
) -> pa.Table:
    """Apply the observation and return the changes written (``CHANGES`` columns, in seq order)."""
    if store.is_duckdb:
        return _duckdb(store, at, cause, members, scope, ids)
    return _portable(store, at, cause, members, scope, ids)


# Changes are numbered in (segment, kind, customer_id) order: each (segment, kind) block gets an offset
# and ranks inside itself, the same numbers as one global row_number but ranked in parallel.
_MOVES = """
WITH cur AS (
    SELECT m.segment, m.customer_id, m.since, m.segment_version FROM memberships m
    SEMI JOIN {scope} s ON s.segment = m.segment {ids_filter}
),
new AS (SELECT DISTINCT segment, customer_id FROM {members}),
moves AS (
    SELECT n.segment, n.customer_id, 'entered' AS kind, s.version AS segment_version, NULL::TIMESTAMP AS since
    FROM new n JOIN {scope} s ON s.segment = n.segment
    ANTI JOIN cur c ON c.segment = n.segment AND c.customer_id = n.customer_id
    UNION ALL
    SELECT c.segment, c.customer_id, 'exited' AS kind, s.version AS segment_version, c.since
    FROM cur c JOIN {scope} s ON s.segment = c.segment
    ANTI JOIN new n ON n.segment = c.segment AND n.customer_id = c.customer_id
),
blocks AS (SELECT segment, kind, count(*) AS n FROM moves GROUP BY ALL),
offsets AS (SELECT segment, kind, sum(n) OVER (ORDER BY segment, kind) - n AS off FROM blocks)
SELECT $start + o.off + row_number() OVER (PARTITION BY m.segment, m.kind ORDER BY m.customer_id) - 1 AS seq,
       m.segment, m.customer_id, m.kind, $at::TIMESTAMP AS "at", m.segment_version, m.since
FROM moves m JOIN offsets o USING (segment, kind)
ORDER BY seq
"""


def _duckdb(
    store: TableStore, at: datetime, cause: str, members: str, scope: str, ids: str | None
) -> pa.Table:
    """The moves are computed into Arrow by one query, then applied from a registered view of them: on
    a live tick that is one read and five writes, nothing staged in the catalog."""
    raw = store.con.con
    ids_filter = f"SEMI JOIN {_q(ids)} i ON i.customer_id = m.customer_id" if ids else ""
    sql = _MOVES.format(scope=_q(scope), members=_q(members), ids_filter=ids_filter)
    moves = raw.execute(sql, {"at": at, "start": next_seq(store)}).to_arrow_table()
    changes = (
        moves.select(["seq", "segment", "customer_id", "kind", "at", "segment_version"])
        .append_column("cause", pa.array([cause] * moves.num_rows, pa.string()))
        .cast(CHANGES.schema.to_pyarrow())
    )
    if moves.num_rows == 0:
        return changes
    name = store.scratch_name("moves")
    raw.register(name, moves)
    try:
        view = _q(name)
        raw.execute(
            f'INSERT INTO changes BY NAME SELECT seq, segment, customer_id, kind, "at", segment_version, '
            f"$cause AS cause FROM {view}",
            {"cause": cause},
        )
        raw.execute(
            f"DELETE FROM memberships m USING {view} c WHERE c.kind = 'exited' "
            "AND m.segment = c.segment AND m.customer_id = c.customer_id"
        )
        raw.execute(
            f'INSERT INTO memberships BY NAME SELECT segment, customer_id, "at" AS since, segment_version '
            f"FROM {view} WHERE kind = 'entered'"
        )
        raw.execute(
            f'UPDATE membership_history h SET valid_to = c."at" FROM {view} c '
            "WHERE c.kind = 'exited' AND h.segment = c.segment AND h.customer_id = c.customer_id "
            "AND h.valid_to IS NULL"
        )
        raw.execute(
            f'INSERT INTO membership_history BY NAME SELECT segment, customer_id, "at" AS valid_from, '
            f"NULL::TIMESTAMP AS valid_to, segment_version FROM {view} WHERE kind = 'entered'"
        )
    finally:
        raw.unregister(name)
    return changes


def _portable(
    store: TableStore, at: datetime, cause: str, members: str, scope: str, ids: str | None
) -> pa.Table:
    m = store.table("memberships")
    m = m.semi_join(store.table(scope), "segment")
    if ids:
        m = m.semi_join(store.table(ids), "customer_id")
    moves = hist.forward(m, store.table(members), store.table(scope), at)
    start = next_seq(store)
    blocks = moves.group_by("segment", "kind").aggregate(n=moves.count())
    blocks = blocks.mutate(off=blocks.n.cumsum(order_by=[blocks.segment, blocks.kind]) - blocks.n)
    numbered = moves.inner_join(blocks, ["segment", "kind"])
    numbered = numbered.mutate(
        seq=numbered.off
        + ibis.row_number().over(group_by=["segment", "kind"], order_by=numbered.customer_id)
        + start,
        cause=ibis.literal(cause),
    )
    rows = numbered.to_pyarrow()
    if rows.num_rows == 0:
        return pa.Table.from_pylist([], schema=CHANGES.schema.to_pyarrow())
    changes = rows.select(list(CHANGES.columns)).cast(CHANGES.schema.to_pyarrow()).sort_by("seq")
    store.append("changes", changes)
    kind = rows.column("kind").to_pylist()
    exited = rows.filter(pa.array([k == "exited" for k in kind]))
    entered = rows.filter(pa.array([k == "entered" for k in kind]))
    with store.scratch() as temps:
        if exited.num_rows:
            gone = store.temp(exited.select(["segment", "customer_id"]), "exits")
            temps.append(gone)
            store.delete(MEMBERSHIPS, gone)
            closed = exited.select(
                ["segment", "customer_id", "since", "at", "interval_version"]
            ).rename_columns(["segment", "customer_id", "valid_from", "valid_to", "segment_version"])
            staged = store.temp(closed, "closed")
            temps.append(staged)
            store.upsert(MEMBERSHIP_HISTORY, staged)
        if entered.num_rows:
            store.append(
                "memberships",
                entered.select(["segment", "customer_id", "at", "segment_version"]).rename_columns(
                    ["segment", "customer_id", "since", "segment_version"]
                ),
            )
            opened = pa.table(
                {
                    "segment": entered.column("segment"),
                    "customer_id": entered.column("customer_id"),
                    "valid_from": entered.column("at"),
                    "valid_to": pa.nulls(entered.num_rows, pa.timestamp("us")),
                    "segment_version": entered.column("segment_version"),
                }
            )
            store.append("membership_history", opened)
    return changes
