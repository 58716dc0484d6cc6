from __future__ import annotations

import pytest

from segmint.batch.importing import import_files


@pytest.mark.slow
def test_master_imports_published_counts_and_spend(workspace, cdnow_dir):
    report = import_files(workspace, "cdnow", [cdnow_dir / "CDNOW_master.txt"])
    assert workspace.count("customers") == 23_570
    assert workspace.count("orders") == 69_659
    total = workspace.table("orders").total.sum().to_pyarrow().as_py()
    assert round(total, 2) == 2_500_315.63
    assert report.rows_read == report.rows_loaded == 69_659
    assert report.rows_rejected == 0
    # Customer 2 bought twice on 1997-01-12: two orders, numbered in file order.
    orders = workspace.table("orders")
    two = orders.filter(orders.customer_id == "2").order_by("order_id").to_pyarrow().to_pylist()
    assert [(o["order_id"], o["items_count"], o["total"]) for o in two] == [
        ("cdnow-2-19970112-1", 1, 12.0),
        ("cdnow-2-19970112-2", 5, 77.0),
    ]


@pytest.mark.slow
def test_same_file_twice_is_skipped_and_sample_links_to_master(workspace, cdnow_dir):
    import_files(workspace, "cdnow", [cdnow_dir / "CDNOW_master.txt"])
    again = import_files(workspace, "cdnow", [cdnow_dir / "CDNOW_master.txt"])
    assert again.skipped and again.rows_loaded == 0
    sample = import_files(workspace, "cdnow", [cdnow_dir / "CDNOW_sample.txt"])
    assert sample.tables == {"customers": 2_357, "orders": 6_919}
    # The sample's purchases are the master's: same ids, nothing added.
    assert workspace.count("orders") == 69_659
    assert workspace.count("imports") == 2


def test_ragged_cdnow_row_is_reported_with_its_line(workspace, tmp_path):
    path = tmp_path / "cdnow.txt"
    path.write_text(" 00001 19970101  1   11.77\n 00002 19970112  1\n")
    try:
        import_files(workspace, "cdnow", [path])
    except Exception as exc:
        assert "row 2" in str(exc) and "ragged row: 3 fields, expected 4" in str(exc)
    else:
        raise AssertionError("expected a failure")
    assert workspace.count("orders") == 0
