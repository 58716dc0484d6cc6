"""Writing on every engine: the TableStore's operations and apply_forward write the rows written out here,
on DuckDB's fast path (set-based SQL), on the portable Ibis path DuckDB can also take, and on PySpark
(whose only path is the portable one). Each test gets empty tables of its own."""

from __future__ import annotations

import itertools
from datetime import datetime

import ibis
import pyarrow as pa
import pytest

from segmint.adapters.memberships import apply_forward
from segmint.adapters.store import TableStore
from segmint.core.schema import CHANGES, MEMBERSHIP_HISTORY, MEMBERSHIPS, ORDER_LINES, ORDERS

from .support import rows

T1, T2, T3 = datetime(2025, 3, 1), datetime(2025, 3, 8), datetime(2025, 3, 15)
_fresh = itertools.count()


@pytest.fixture
def fresh(con):
    """An empty namespace on the engine: a new in-memory DuckDB, or a new Spark database made current."""
    if con.name == "duckdb":
        db = ibis.duckdb.connect()
        db.raw_sql("SET TimeZone = 'UTC'")
        yield db
        db.disconnect()
        return
    name = f"engine_suite_{next(_fresh)}"
    session = con._session
    session.sql(f"CREATE DATABASE {name}")
    session.catalog.setCurrentDatabase(name)
    try:
        yield ibis.pyspark.connect(session)
    finally:
        session.catalog.setCurrentDatabase("default")
        session.sql(f"DROP DATABASE {name} CASCADE")


@pytest.fixture(params=["engine_path", "portable_path"])
def store(request, fresh):
    """A TableStore on the fresh namespace, taking the engine's own path or the portable one."""
    if request.param == "portable_path" and fresh.name != "duckdb":
        pytest.skip("the portable path is this engine's own path: covered by engine_path")
    s = TableStore(fresh)
    if request.param == "portable_path":
        s.is_duckdb = False
    return s


def _arrow(spec, records: list[dict]) -> pa.Table:
    schema = spec.schema.to_pyarrow()
    return pa.Table.from_pylist([{f.name: r.get(f.name) for f in schema} for r in records], schema=schema)


def _stage(store: TableStore, records: list[dict], columns: list[str], spec) -> str:
    full = _arrow(spec, records).select(columns)
    return store.stage(full.to_batches(), full.schema)


def test_append_replace_temp(store):
    store.ensure([MEMBERSHIPS])
    assert set(store.table("memberships").columns) == set(MEMBERSHIPS.columns)
    store.append("memberships", _arrow(MEMBERSHIPS, [{"segment": "s", "customer_id": "a", "since": T1}]))
    # Columns in another order are matched by name, and an expression appends like a table.
    reordered = _arrow(MEMBERSHIPS, [{"segment": "s", "customer_id": "b", "segment_version": 2}])
    store.append("memberships", reordered.select(["segment_version", "customer_id", "since", "segment"]))
    store.append(
        "memberships",
        store.table("memberships").filter(ibis._.customer_id == "a").mutate(segment=ibis.literal("t")),
    )
    store.append("memberships", _arrow(MEMBERSHIPS, []))
    assert rows(store.table("memberships"), ["segment", "customer_id"]) == [
        {"segment": "s", "customer_id": "a", "since": T1, "segment_version": None},
        {"segment": "s", "customer_id": "b", "since": None, "segment_version": 2},
        {"segment": "t", "customer_id": "a", "since": T1, "segment_version": None},
    ]
    assert store.count("memberships") == 3

    with store.scratch() as temps:
        name = store.temp(store.table("memberships").filter(ibis._.segment == "s"), "x")
        temps.append(name)
        assert store.count(name) == 2
    assert not store.exists(name)

    store.replace("memberships", _arrow(MEMBERSHIPS, [{"segment": "u", "customer_id": "z", "since": T2}]))
    assert rows(store.table("memberships")) == [
        {"segment": "u", "customer_id": "z", "since": T2, "segment_version": None}
    ]


ORDER_ROWS = [
    {
        "order_id": "o1",
        "customer_id": "a",
        "ordered_at": T1,
        "status": "paid",
        "total": 10.0,
        "channel": "web",
    },
    {
        "order_id": "o2",
        "customer_id": "b",
        "ordered_at": T1,
        "status": "paid",
        "total": 20.0,
        "channel": "app",
    },
]
LINE_ROWS = [
    {"order_id": "o1", "line_no": 1, "product_id": "p1", "quantity": 1, "unit_price": 10.0},
    {"order_id": "o2", "line_no": 1, "product_id": "p2", "quantity": 2, "unit_price": 10.0},
    {"order_id": "o2", "line_no": 2, "product_id": "p3", "quantity": 1, "unit_price": 0.0},
]  # fmt: skip


def test_upsert(store):
    store.ensure([ORDERS, ORDER_LINES])
    # A first load (into an empty table), then a partial export: o1 changes (its channel, absent from the
    # file, is kept; its lines go, to be staged again by the caller), o3 is new.
    store.upsert(ORDERS, _stage(store, ORDER_ROWS, list(ORDERS.columns), ORDERS))
    store.append("order_lines", _arrow(ORDER_LINES, LINE_ROWS))
    update = [
        {"order_id": "o1", "customer_id": "a", "ordered_at": T2, "status": "refunded", "total": 10.0},
        {"order_id": "o3", "customer_id": "c", "ordered_at": T2, "status": "paid", "total": 5.0},
    ]
    store.upsert(
        ORDERS, _stage(store, update, ["order_id", "customer_id", "ordered_at", "status", "total"], ORDERS)
    )
    got = [
        (r["order_id"], r["ordered_at"], r["status"], r["total"], r["channel"])
        for r in rows(store.table("orders"), "order_id")
    ]
    assert got == [
        ("o1", T2, "refunded", 10.0, "web"),
        ("o2", T1, "paid", 20.0, "app"),
        ("o3", T2, "paid", 5.0, None),
    ]
    lines = [(r["order_id"], r["line_no"]) for r in rows(store.table("order_lines"), ["order_id", "line_no"])]
    assert lines == [("o2", 1), ("o2", 2)]


def test_delete(store):
    store.ensure([ORDERS, ORDER_LINES])
    store.append("orders", _arrow(ORDERS, ORDER_ROWS))
    store.append("order_lines", _arrow(ORDER_LINES, LINE_ROWS))
    # Deleting by key touches only the rows named (extra columns in the staged table are ignored).
    gone = _stage(
        store,
        [{"order_id": "o2", "line_no": 2, "product_id": "ignored"}],
        ["order_id", "line_no", "product_id"],
        ORDER_LINES,
    )
    store.delete(ORDER_LINES, gone)
    lines = [
        (r["order_id"], r["line_no"], r["product_id"])
        for r in rows(store.table("order_lines"), ["order_id", "line_no"])
    ]
    assert lines == [("o1", 1, "p1"), ("o2", 1, "p2")]
    # A key matching nothing deletes nothing.
    store.delete(ORDERS, _stage(store, [{"order_id": "o9"}], ["order_id"], ORDERS))
    assert store.count("orders") == 2
    store.delete(ORDERS, _stage(store, [{"order_id": "o1"}], ["order_id"], ORDERS))
    assert [r["order_id"] for r in rows(store.table("orders"), "order_id")] == ["o2"]


def _forward(
    store: TableStore, at: datetime, members: list[tuple[str, str]], versions: dict[str, int], ids=None
):
    with store.scratch() as temps:
        m = store.temp(
            pa.table(
                {"segment": [s for s, _ in members], "customer_id": [c for _, c in members]},
                schema=pa.schema([("segment", pa.string()), ("customer_id", pa.string())]),
            ),
            "members",
        )
        scope = store.temp(
            pa.table({"segment": list(versions), "version": pa.array(list(versions.values()), pa.int64())}),
            "scope",
        )
        temps += [m, scope]
        i = None
        if ids is not None:
            i = store.temp(pa.table({"customer_id": pa.array(ids, pa.string())}), "ids")
            temps.append(i)
        return apply_forward(store, at, "run", m, scope, i).to_pylist()


def _change(seq, segment, customer, kind, at, version):
    return {"seq": seq, "segment": segment, "customer_id": customer, "kind": kind, "at": at,
            "segment_version": version, "cause": "run"}  # fmt: skip


FIRST = [
    _change(1, "s1", "a", "entered", T1, 1),
    _change(2, "s1", "b", "entered", T1, 1),
    _change(3, "s2", "a", "entered", T1, 1),
]


def _first_run(store: TableStore) -> list[dict]:
    store.ensure([MEMBERSHIPS, MEMBERSHIP_HISTORY, CHANGES])
    return _forward(store, T1, [("s1", "a"), ("s1", "b"), ("s2", "a"), ("s2", "a")], {"s1": 1, "s2": 1})


def _table_rows(store: TableStore, name: str) -> list[tuple]:
    return [tuple(r.values()) for r in rows(store.table(name))]


def test_apply_forward_entries(store):
    assert _first_run(store) == FIRST
    assert rows(store.table("changes"), "seq") == FIRST
    assert _table_rows(store, "memberships") == [("s1", "a", T1, 1), ("s1", "b", T1, 1), ("s2", "a", T1, 1)]
    assert _table_rows(store, "membership_history") == [
        ("s1", "a", T1, None, 1), ("s1", "b", T1, None, 1), ("s2", "a", T1, None, 1)
    ]  # fmt: skip


def test_apply_forward_exits(store):
    _first_run(store)
    # s1 (now version 2) loses a and gains c; s2 is observed for customer b only (a live tick): a stays.
    second = _forward(store, T2, [("s1", "b"), ("s1", "c")], {"s1": 2})
    # The exit is stamped with the version that decided it (2); the closed interval keeps version 1.
    assert second == [_change(4, "s1", "c", "entered", T2, 2), _change(5, "s1", "a", "exited", T2, 2)]
    assert _forward(store, T3, [], {"s2": 1}, ids=["b"]) == []
    assert rows(store.table("changes"), "seq") == FIRST + second
    assert _table_rows(store, "memberships") == [("s1", "b", T1, 1), ("s1", "c", T2, 2), ("s2", "a", T1, 1)]
    assert _table_rows(store, "membership_history") == [
        ("s1", "a", T1, T2, 1), ("s1", "b", T1, None, 1), ("s1", "c", T2, None, 2), ("s2", "a", T1, None, 1)
    ]  # fmt: skip
