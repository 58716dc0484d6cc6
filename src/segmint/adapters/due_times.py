"""Due times of the live engine: the next instant after ``as_of`` at which a customer's rules may flip
by time alone, ``t + d`` over the customer's dated rows ``t`` (events, own or stitched, and orders) and
the rules' shifts ``d``.

One query on DuckDB (the live engine is DuckDB only). Anonymous events are attributed with the one
identity rule, :func:`segmint.core.traits.events.identity_map`, compiled from its Ibis form so the SQL
cannot drift from what traits and rules use.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

import pyarrow as pa

from segmint.adapters.store import TableStore
from segmint.core.traits.events import identity_map

__all__ = ["due_times"]

TICK = timedelta(microseconds=1)  # timestamps are stored to the microsecond
_LINKS: dict[int, str] = {}
_LOCK = threading.Lock()


def _links_sql(store: TableStore) -> str:
    key = id(store)
    with _LOCK:
        sql = _LINKS.get(key)
    if sql is None:
        sql = store.con.compile(identity_map(store.table("identities")))
        with _LOCK:
            _LINKS[key] = sql
    return sql


def due_times(
    store: TableStore, customer_ids: Sequence[str] | None, as_of: datetime, shifts: Sequence[timedelta]
) -> list[tuple[str, datetime]]:
    """``(customer_id, due)`` for every customer (or the given ones) with a due time after ``as_of``."""
    raw = store.con.con
    shift_us = [int(d / TICK) for d in shifts]
    raw.register("_live_shifts", pa.table({"us": pa.array(shift_us, pa.int64())}))
    restrict = ""
    if customer_ids is not None:
        raw.register("_live_ids", pa.table({"customer_id": pa.array(list(customer_ids), pa.string())}))
        restrict = "SEMI JOIN _live_ids USING (customer_id)"
    # Rows older than as_of - (largest shift) have every breakpoint behind them: skip them early.
    horizon = as_of - max(shifts)
    try:
        return raw.execute(
            f"""
            WITH links AS ({_links_sql(store)}),
            my_links AS (SELECT * FROM links {restrict}),
            recent AS (SELECT customer_id, anonymous_id, occurred_at FROM events WHERE occurred_at > $horizon),
            dated AS (
                SELECT customer_id, occurred_at AS t FROM recent {restrict}
                UNION ALL
                SELECT l.customer_id, e.occurred_at AS t FROM recent e JOIN my_links l
                    ON e.customer_id IS NULL AND e.anonymous_id = l.anonymous_id
                UNION ALL
                SELECT customer_id, ordered_at AS t FROM orders {restrict} WHERE ordered_at > $horizon
            )
            SELECT customer_id, min(t + to_microseconds(s.us)) AS due
            FROM dated CROSS JOIN _live_shifts s
            WHERE customer_id IS NOT NULL AND t + to_microseconds(s.us) > $as_of
            GROUP BY customer_id
            """,
            {"as_of": as_of, "horizon": horizon},
        ).fetchall()
    finally:
        raw.unregister("_live_shifts")
        if customer_ids is not None:
            raw.unregister("_live_ids")
