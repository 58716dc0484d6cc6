from __future__ import annotations

from datetime import datetime

from segmint.batch.importing import import_files


def _orders(ws) -> dict[str, dict]:
    return {r["order_id"]: r for r in ws.table("orders").to_pyarrow().to_pylist()}


def test_online_retail_orders_guests_cancellations_adjustments(workspace, fixtures):
    report = import_files(workspace, "online-retail", [fixtures / "online_retail.csv"])
    orders = _orders(workspace)
    assert sorted(orders) == ["536365", "536366", "536367", "536414", "536544", "C536383"]
    # 6 x 2.55 + 6 x 3.39; the POST line of 536367 is not revenue.
    assert orders["536365"]["total"] == 35.64 and orders["536365"]["items_count"] == 12
    assert orders["536367"]["total"] == 54.08
    assert orders["536365"]["customer_id"] == "17850"  # 17850.0 normalised
    assert orders["536365"]["ordered_at"] == datetime(2010, 12, 1, 8, 26)
    assert orders["C536383"]["status"] == "cancelled" and orders["C536383"]["total"] == 4.65
    assert orders["536544"]["customer_id"] is None and orders["536544"]["total"] == 7.53
    paid = sum(o["total"] for o in orders.values() if o["status"] == "paid")
    assert round(paid, 2) == 108.35
    customers = {
        r["customer_id"]: r["country"] for r in workspace.table("customers").to_pyarrow().to_pylist()
    }
    assert customers == {"17850": "United Kingdom", "13047": "United Kingdom", "15311": "United Kingdom"}
    assert workspace.count("order_lines") == 8 and workspace.count("products") == 8
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (12, 8, 0)
    assert report.notes == [
        "4 adjustment rows skipped, not sales (21777: 1, B: 1, D: 1, POST: 1)",
        "2 guest invoices (3 lines) stored without a customer, not attributed",
        "1 cancellation invoices stored with status cancelled",
    ]


def test_online_retail_ii_headers_and_iso_dates(workspace, fixtures):
    import_files(workspace, "online-retail", [fixtures / "online_retail_ii.csv"])
    orders = _orders(workspace)
    assert orders["489434"]["total"] == 164.4 and orders["489434"]["customer_id"] == "13085"
    assert orders["489434"]["ordered_at"] == datetime(2009, 12, 1, 7, 45)
    assert orders["C489449"]["status"] == "cancelled" and orders["C489449"]["items_count"] == 12
    assert orders["489436"]["customer_id"] is None
    country = workspace.table("customers").filter(lambda t: t.customer_id == "16321").country.to_pyarrow()
    assert country.to_pylist() == ["Australia"]


def test_two_files_one_import_and_idempotent(workspace, fixtures):
    files = [fixtures / "online_retail.csv", fixtures / "online_retail_ii.csv"]
    first = import_files(workspace, "online-retail", files)
    assert first.tables["orders"] == 10
    rows = workspace.table("imports").to_pyarrow().to_pylist()
    assert sorted(r["import_id"] for r in rows) == [f"{first.import_id}-1", f"{first.import_id}-2"]
    before = workspace.table("orders").to_pyarrow()
    again = import_files(workspace, "online-retail", files)
    assert again.skipped
    assert workspace.table("orders").to_pyarrow().equals(before)
