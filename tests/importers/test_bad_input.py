"""Every bad input gets one clear message naming file, row, column and reason, and stores nothing."""

from __future__ import annotations

import pytest

from segmint.batch.importing import ImportFailed, import_files

from .conftest import snapshot, write

OR_HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
GOOD = "536365,85123A,HEART HOLDER,6,12/1/2010 8:26,2.55,17850.0,United Kingdom\n"

CASES = {
    "missing column": (
        "online-retail",
        "a.csv",
        "InvoiceNo,StockCode,Description,Qty,InvoiceDate,UnitPrice,CustomerID,Country\n" + GOOD,
        ["a.csv", "required column 'Quantity'", "did you mean 'Qty'?"],
    ),
    "empty file": ("online-retail", "empty.csv", "", ["empty.csv", "file is empty"]),
    "header only": ("online-retail", "h.csv", OR_HEADER, ["h.csv", "has a header but no data rows"]),
    "binary file": ("online-retail", "b.csv", b"\x00\x01\x02\x03binary\x00" * 50, ["b.csv", "binary file"]),
    "excel workbook": ("online-retail", "w.csv", b"PK\x03\x04" + b"\x00" * 100, ["w.csv", "Excel workbook"]),
    "ragged row": (
        "online-retail",
        "r.csv",
        OR_HEADER + GOOD + "536366,22633,HAND WARMER,6,12/1/2010 8:28\n" + GOOD.replace("536365", "536367"),
        ["r.csv, row 3", "ragged row: 5 fields, the header has 8"],
    ),
    "impossible date": (
        "online-retail",
        "d.csv",
        OR_HEADER + GOOD + GOOD.replace("12/1/2010", "2/30/2011"),
        ["d.csv, row 3, column 'InvoiceDate', value '2/30/2011 8:26'", "impossible date"],
    ),
    "absurd price": (
        "online-retail",
        "p.csv",
        OR_HEADER + GOOD.replace("2.55", "1e20"),
        ["p.csv, row 2, column 'UnitPrice', value '1e20'", "absurd price"],
    ),
    "non-numeric quantity": (
        "online-retail",
        "q.csv",
        OR_HEADER + GOOD.replace(",6,", ",six,"),
        ["q.csv, row 2, column 'Quantity', value 'six'", "not a quantity"],
    ),
    "negative quantity on a sale": (
        "online-retail",
        "n.csv",
        OR_HEADER + GOOD.replace(",6,", ",-6,"),
        ["n.csv, row 2, column 'Quantity', value '-6'", "negative quantity on a sale"],
    ),
    "duplicate key": (
        "shopify-customers",
        "c.csv",
        "Customer ID,First Name,Email\n'1,Ann,ann@x.com\n'2,Ann,ANN@x.com\n",
        ["c.csv, row 3, column 'customer_id'", "duplicate customer", "first at row 2"],
    ),
    "wrong encoding": (
        "online-retail",
        "e.csv",
        (OR_HEADER + GOOD.replace("HEART", "C\xe9SAR")).encode("cp1252"),
        None,  # auto-detected: imports fine; see the forced-encoding test below
    ),
}


@pytest.mark.parametrize("case", [c for c in CASES if CASES[c][3] is not None])
def test_bad_input_message_and_nothing_stored(workspace, fixtures, tmp_path, case):
    fmt, name, content, expected = CASES[case]
    import_files(workspace, "cdnow", [write(tmp_path, "seed.txt", " 00001 19970101  1   11.77\n")])
    before = snapshot(workspace)
    path = write(tmp_path, name, content)
    with pytest.raises(ImportFailed) as info:
        import_files(workspace, fmt, [path])
    for part in expected:
        assert part in info.value.message, info.value.message
    assert info.value.detail["problems"], "detail lists the problems"
    assert snapshot(workspace) == before


def test_missing_file(workspace, tmp_path):
    with pytest.raises(ImportFailed, match=r"nope\.csv: file not found"):
        import_files(workspace, "online-retail", [tmp_path / "nope.csv"])


def test_cp1252_is_detected_and_a_forced_wrong_encoding_is_explained(workspace, tmp_path):
    _, name, content, _ = CASES["wrong encoding"]
    path = write(tmp_path, name, content)
    before = snapshot(workspace)
    with pytest.raises(ImportFailed) as info:
        import_files(workspace, "online-retail", [path], options={"encoding": "utf-8"})
    assert "e.csv" in info.value.message and "is not valid utf8 text" in info.value.message
    assert "row 2" in info.value.message and "--encoding" in info.value.message
    assert snapshot(workspace) == before
    import_files(workspace, "online-retail", [path])
    names = workspace.table("products").name.to_pyarrow().to_pylist()
    assert names == ["CéSAR HOLDER"]


def test_keep_good_quarantines_exactly_the_bad_rows(workspace, tmp_path):
    text = (
        OR_HEADER
        + GOOD
        + GOOD.replace("536365", "536366").replace(",6,", ",x,")
        + "536367,22633,HAND WARMER,6\n"
        + GOOD.replace("536365", "536368").replace("12/1/2010", "2/30/2011")
        + GOOD.replace("536365", "536369")
    )
    path = write(tmp_path, "mixed.csv", text)
    with pytest.raises(ImportFailed) as info:
        import_files(workspace, "online-retail", [path])
    assert "3 bad rows" in info.value.message
    report = import_files(workspace, "online-retail", [path], keep_good=True)
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (5, 2, 3)
    assert sorted(workspace.table("orders").order_id.to_pyarrow().to_pylist()) == ["536365", "536369"]
    q = sorted(workspace.table("quarantine").to_pyarrow().to_pylist(), key=lambda r: r["row_number"])
    assert [(r["row_number"], r["column_name"], r["value"]) for r in q] == [
        (3, "Quantity", "x"),
        (4, None, "536367,22633,HAND WARMER,6"),
        (5, "InvoiceDate", "2/30/2011 8:26"),
    ]
    assert q[0]["raw"].startswith("536366,85123A,HEART HOLDER,x,")
    assert all(r["import_id"] == report.import_id and r["file"] == "mixed.csv" for r in q)
    status = workspace.table("imports").status.to_pyarrow().to_pylist()
    assert status == ["partial"]


def test_keep_good_quarantines_duplicate_keys_with_raw_text(workspace, tmp_path):
    path = write(tmp_path, "c.csv", "customer_id,email\nA,a@x.com\nB,b@x.com\nA,a2@x.com\n")
    report = import_files(workspace, "generic", [path], table="customers", keep_good=True)
    assert report.rows_rejected == 1
    q = workspace.table("quarantine").to_pyarrow().to_pylist()
    assert [(r["row_number"], r["column_name"], r["value"], r["raw"]) for r in q] == [
        (4, "customer_id", "A", "A,a2@x.com")
    ]
    emails = dict(
        workspace.table("customers").select("customer_id", "email").to_pyarrow().to_pylist()
        and [(r["customer_id"], r["email"]) for r in workspace.table("customers").to_pyarrow().to_pylist()]
    )
    assert emails == {"A": "a@x.com", "B": "b@x.com"}
