from __future__ import annotations

import json
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmint.batch.importing import ImportFailed, import_files

from .conftest import write


def test_mapping_file_semicolons_cp1252_date_format_and_time_zone(workspace, tmp_path):
    text = "Nr;Kunde;Datum;Betrag\nA-1;K1;07.10.2025 09:50;12,5\nA-2;K2;26.10.2025 02:30;7\n"
    path = write(tmp_path, "bestellungen.csv", text.replace("12,5", "12.5").encode("cp1252"))
    mapping = write(
        tmp_path,
        "map.yaml",
        "table: orders\ndate_format: '%d.%m.%Y %H:%M'\ntimezone: Europe/Berlin\n"
        "columns:\n  order_id: Nr\n  customer_id: Kunde\n  ordered_at: Datum\n  total: Betrag\n",
    )
    import_files(workspace, "generic", [path], mapping=mapping)
    rows = {r["order_id"]: r for r in workspace.table("orders").to_pyarrow().to_pylist()}
    assert rows["A-1"]["ordered_at"] == datetime(2025, 10, 7, 7, 50)  # CEST, UTC+2
    assert rows["A-2"]["ordered_at"] == datetime(2025, 10, 26, 0, 30)  # ambiguous hour: earliest (CEST)
    assert rows["A-1"]["total"] == 12.5 and rows["A-1"]["customer_id"] == "K1"


def test_canonical_names_map_themselves_and_partial_files_keep_other_columns(workspace, tmp_path):
    import_files(
        workspace,
        "generic",
        [write(tmp_path, "a.csv", "Customer ID,Email,City\nc1,A@X.com,Paris\n")],
        table="customers",
    )
    import_files(
        workspace,
        "generic",
        [write(tmp_path, "b.csv", "customer_id\tcity\nc1\tLyon\nc2\tNice\n")],
        table="customers",
    )
    rows = sorted(workspace.table("customers").to_pyarrow().to_pylist(), key=lambda r: r["customer_id"])
    assert [(r["customer_id"], r["email"], r["city"]) for r in rows] == [
        ("c1", "a@x.com", "Lyon"),
        ("c2", None, "Nice"),
    ]


def test_parquet_with_aware_timestamps_and_jsonl_events(workspace, tmp_path):
    table = pa.table(
        {
            "order_id": ["o1", "o2"],
            "customer_id": ["c1", None],
            "ordered_at": pa.array(
                [datetime(2025, 1, 1, 12), datetime(2025, 6, 1, 12)], pa.timestamp("us", tz="Europe/Paris")
            ),
            "total": [10.0, 20.0],
        }
    )
    pq.write_table(table, tmp_path / "orders.parquet")
    import_files(workspace, "generic", [tmp_path / "orders.parquet"], table="orders")
    got = workspace.table("orders").order_by("order_id").ordered_at.to_pyarrow().to_pylist()
    assert got == [datetime(2025, 1, 1, 12), datetime(2025, 6, 1, 12)]  # aware values are UTC instants
    lines = [
        {"event_id": "e1", "name": "product_viewed", "occurred_at": "2025-10-07T09:50:26+02:00", "value": 3},
        {"event_id": "e2", "name": "search", "occurred_at": "2025-10-07T10:00:00Z"},
    ]
    path = write(tmp_path, "events.jsonl", "\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    try:
        import_files(workspace, "generic", [path], table="events")
    except ImportFailed as exc:
        assert "events.jsonl, row 3" in exc.message and "not valid JSON" in exc.message
    import_files(workspace, "generic", [path], table="events", keep_good=True)
    ev = workspace.table("events").order_by("event_id").to_pyarrow().to_pylist()
    assert [(e["event_id"], e["occurred_at"], e["value"]) for e in ev] == [
        ("e1", datetime(2025, 10, 7, 7, 50, 26), 3.0),
        ("e2", datetime(2025, 10, 7, 10, 0), None),
    ]


def test_unknown_table_and_mapping_column_suggest(workspace, tmp_path):
    path = write(tmp_path, "x.csv", "a\n1\n")
    try:
        import_files(workspace, "generic", [path], table="order")
    except ImportFailed as exc:
        assert "did you mean 'orders'?" in exc.message
    try:
        import_files(workspace, "generic", [path], table="orders", mapping={"order_idd": "a"})
    except ImportFailed as exc:
        assert "did you mean 'order_id'?" in exc.message


amount = st.one_of(
    st.decimals(min_value=0, max_value=10_000, places=2).map(lambda d: (str(d), True)),
    st.sampled_from([("abc", False), ("-5", False), ("1e20", False), ("nan", False)]),
)


_seq = iter(range(10**9))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(amount, min_size=1, max_size=30))
def test_random_rows_round_trip_or_are_rejected_at_their_row(workspace, tmp_path, rows):
    ws, run = workspace, next(_seq)
    body = "".join(f"r{run}-{i},2025-01-01,{text}\n" for i, (text, _) in enumerate(rows))
    path = write(tmp_path, f"o{run}.csv", "order_id,ordered_at,total\n" + body)
    bad_rows = [i + 2 for i, (_, ok) in enumerate(rows) if not ok]
    mine = ws.table("orders").filter(lambda t: t.order_id.startswith(f"r{run}-"))
    try:
        import_files(ws, "generic", [path], table="orders")
    except ImportFailed as exc:
        assert bad_rows and [p["row"] for p in exc.detail["problems"]] == bad_rows
        assert mine.count().to_pyarrow().as_py() == 0
    else:
        assert not bad_rows
        got = {r["order_id"]: r["total"] for r in mine.to_pyarrow().to_pylist()}
        assert got == {f"r{run}-{i}": float(text) for i, (text, _) in enumerate(rows)}
