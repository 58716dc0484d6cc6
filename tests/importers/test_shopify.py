from __future__ import annotations

from datetime import datetime

import pyarrow as pa

from segmint.adapters.importers._base import email_customer_id
from segmint.batch.importing import import_files

JANE = email_customer_id(pa.array(["jane@example.com"]))[0].as_py()
BOB = email_customer_id(pa.array(["bob@example.com"]))[0].as_py()


def _orders(ws) -> dict[str, dict]:
    return {r["order_id"]: r for r in ws.table("orders").to_pyarrow().to_pylist()}


def test_orders_export_statuses_refunds_and_lines(workspace, fixtures):
    report = import_files(workspace, "shopify-orders", [fixtures / "shopify_orders.csv"])
    assert report.tables == {"customers": 3, "products": 5, "orders": 5, "order_lines": 7}
    orders = _orders(workspace)
    assert {k: o["status"] for k, o in orders.items()} == {
        "#1001": "paid",
        "#1002": "refunded",
        "#1003": "partially_refunded",
        "#1004": "cancelled",
        "#1005": "paid",
    }
    assert orders["#1002"]["refunded_amount"] == 30.0
    assert orders["#1003"]["refunded_amount"] == 20.0 and orders["#1003"]["discount_code"] == "WELCOME10"
    assert orders["#1004"]["cancelled_at"] == datetime(2025, 11, 5, 8, 30)
    # +0200 and -0400 offsets converted to naive UTC.
    assert orders["#1001"]["ordered_at"] == datetime(2025, 10, 7, 7, 50, 26)
    assert orders["#1002"]["ordered_at"] == datetime(2025, 10, 8, 22, 5)
    # Upper-case email links to the same lower-cased customer; the POS order is a guest.
    assert orders["#1002"]["customer_id"] == BOB
    assert orders["#1001"]["customer_id"] == orders["#1003"]["customer_id"] == JANE
    assert orders["#1005"]["customer_id"] is None
    # Order-level fields come from the first row; items count all lines.
    assert orders["#1001"]["total"] == 55.0 and orders["#1001"]["items_count"] == 2
    assert orders["#1003"]["items_count"] == 3
    # Revenue that is really earned: paid totals plus what partial refunds kept.
    lines = workspace.table("order_lines")
    got = lines.filter(lines.order_id == "#1003").order_by("line_no").to_pyarrow().to_pylist()
    assert [(x["line_no"], x["sku"], x["quantity"], x["unit_price"]) for x in got] == [
        (1, "TS-M", 2, 20.0),
        (2, "POST-A2", 1, 48.0),
    ]
    jane = workspace.table("customers").filter(lambda t: t.customer_id == JANE).to_pyarrow().to_pylist()[0]
    assert (jane["postal_code"], jane["phone"], jane["city"], jane["country"]) == (
        "75011",
        "+33612345678",
        "Paris",
        "FR",
    )
    assert (jane["first_name"], jane["last_name"], jane["email_opt_in"]) == ("Jane", "Doe", True)
    assert any("guest" in n for n in report.notes)


def test_customers_export_links_to_orders_and_keeps_consent_and_tags(workspace, fixtures):
    import_files(workspace, "shopify-orders", [fixtures / "shopify_orders.csv"])
    import_files(workspace, "shopify-customers", [fixtures / "shopify_customers.csv"])
    customers = {r["customer_id"]: r for r in workspace.table("customers").to_pyarrow().to_pylist()}
    assert len(customers) == 4  # jane, bob, carl (from orders) + dana
    jane, bob = customers[JANE], customers[BOB]
    assert jane["tags"] == ["vip", "newsletter"]
    assert jane["attributes"] == '{"shopify_customer_id": "7001234567890"}'
    assert (bob["email"], bob["email_opt_in"], bob["sms_opt_in"], bob["postal_code"]) == (
        "bob@example.com",
        False,
        True,
        "02108",
    )
    # created_at from the orders import survives: the customers export has no such column.
    assert jane["created_at"] == datetime(2025, 10, 7, 7, 50, 26)


def test_newer_export_updates_by_key_and_adds(workspace, fixtures, tmp_path):
    import_files(workspace, "shopify-orders", [fixtures / "shopify_orders.csv"])
    text = (fixtures / "shopify_orders.csv").read_text().splitlines()
    header, rows = text[0], text[1:]
    # #1001 is refunded since; #1006 is new.
    rows[0] = (
        rows[0]
        .replace(",paid,", ",refunded,", 1)
        .replace("Shopify Payments,0.00,", "Shopify Payments,55.00,", 1)
    )
    rows.append(rows[-1].replace("#1005", "#1006").replace("2025-11-06", "2025-11-07"))
    newer = tmp_path / "orders_export_2.csv"
    newer.write_text("\n".join([header, *rows]) + "\n")
    import_files(workspace, "shopify-orders", [newer])
    orders = _orders(workspace)
    assert len(orders) == 6
    assert orders["#1001"]["status"] == "refunded" and orders["#1001"]["refunded_amount"] == 55.0
    assert workspace.count("order_lines") == 8  # lines of re-imported orders replaced, not doubled
