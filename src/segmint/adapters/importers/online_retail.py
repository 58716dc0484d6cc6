"""``online-retail``: the UCI Online Retail (2010-2011) and Online Retail II (2009-2011) invoice lines.

Either header spelling is read (``InvoiceNo``/``Invoice``, ``UnitPrice``/``Price``,
``CustomerID``/``Customer ID``). Customer ids written as ``13085.0`` become ``13085``. Dates are ISO
(Online Retail II) or ``12/1/2010 8:26`` (month first, the original workbook saved as CSV); pass
--date-format for anything else. Amounts are pounds sterling (GBP) unless --currency says otherwise.

Rules, and what is stored:

* An invoice is an order; its lines are order lines, its stock codes products, its customer (with the
  Country) a customer.
* An invoice starting with ``C`` is a cancellation: stored with status ``cancelled``; quantities and
  totals are stored as positive amounts (the value of what was cancelled), so they never count as sales.
* A row without a customer is a guest purchase: its invoice is stored with the customer missing, and
  guests are counted in the report, never attributed to anyone.
* Adjustments are not sales and are **skipped and counted** (by stock code): fees and manual entries
  (``B`` bad debt, ``AMAZONFEE``, ``BANK CHARGES``, ``M`` manual, ``D`` discount, ``CRUK``
  commission, ``S`` samples, ``ADJUST``, ``TEST…``), postage (``POST``, ``DOT``, ``C2``), and stock
  write-offs (negative quantity at price 0 on a non-cancellation invoice).
* Any other negative quantity or negative price is an error.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from segmint.adapters.importers._base import Importer, bad_where, total_only_amounts
from segmint.adapters.importers._fields import BadCells, Field
from segmint.adapters.importers._source import Source

__all__ = ["ADJUSTMENT_CODES", "OnlineRetailImporter"]

ADJUSTMENT_CODES = (
    "B",
    "AMAZONFEE",
    "BANK CHARGES",
    "M",
    "D",
    "CRUK",
    "S",
    "PADS",
    "ADJUST",
    "ADJUST2",
    "TEST001",
    "TEST002",
    "POST",
    "DOT",
    "C2",
)


class OnlineRetailImporter(Importer):
    format = "online-retail"
    date_formats = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p")

    def fields(self, source: Source) -> list[Field]:
        return [
            Field("invoice", ("Invoice", "InvoiceNo"), required=True, not_null=True),
            Field("stock_code", ("StockCode",), required=True, not_null=True),
            Field("description", ("Description",)),
            Field(
                "quantity",
                ("Quantity",),
                "int",
                required=True,
                not_null=True,
                lo=-1e6,
                hi=1e6,
                what="quantity",
            ),
            Field("invoice_date", ("InvoiceDate",), "timestamp", required=True, not_null=True),
            Field(
                "price",
                ("Price", "UnitPrice"),
                "float",
                required=True,
                not_null=True,
                lo=-1e7,
                hi=1e6,
                what="price",
            ),
            Field("customer", ("Customer ID", "CustomerID"), strip_quote=True),
            Field("country", ("Country",)),
        ]

    def extra_columns(self) -> dict[str, pa.DataType]:
        return {"cancelled": pa.bool_(), "adjustment": pa.bool_()}

    def transform(self, cols: dict[str, pa.Array], n: int) -> tuple[dict[str, pa.Array], list[BadCells]]:
        cols["customer"] = pc.replace_substring_regex(cols["customer"], r"\.0+$", "")
        invoice = pc.utf8_upper(cols["invoice"])
        cols["invoice"] = invoice
        cancelled = pc.fill_null(pc.starts_with(invoice, "C"), False)
        code = pc.utf8_upper(cols["stock_code"])
        qty, price = cols["quantity"], cols["price"]
        write_off = pc.fill_null(
            pc.and_(pc.and_(pc.less(qty, 0), pc.equal(price, 0)), pc.invert(cancelled)), False
        )
        adjustment = pc.or_(
            pc.fill_null(pc.is_in(code, value_set=pa.array(ADJUSTMENT_CODES)), False),
            pc.or_(write_off, pc.fill_null(pc.starts_with(code, "TEST"), False)),
        )
        cols["cancelled"], cols["adjustment"] = cancelled, adjustment
        bad: list[BadCells] = []
        neg_qty = pc.and_(pc.fill_null(pc.less(qty, 0), False), pc.invert(pc.or_(cancelled, adjustment)))
        bad += bad_where(
            neg_qty,
            "Quantity",
            qty,
            "negative quantity on a sale (only C… cancellation invoices may be negative)",
        )
        neg_price = pc.and_(pc.fill_null(pc.less(price, 0), False), pc.invert(adjustment))
        bad += bad_where(
            neg_price,
            "Price",
            price,
            "negative price (only adjustments such as stock code B may be negative)",
        )
        return cols, bad

    def build(self, t: ibis.Table, existing: Callable[[str], ibis.Table]) -> list[tuple[str, ibis.Table]]:
        sales = t.filter(~t.adjustment)
        amount = (sales.quantity.abs() * sales.price).round(4)
        s = sales.mutate(_amount=amount)
        orders = s.group_by(order_id=s.invoice).agg(
            customer_id=s.customer.max(),
            ordered_at=s.invoice_date.min(),
            cancelled=s.cancelled.max(),
            total=s._amount.sum().round(2),
            items_count=s.quantity.abs().sum(),
        )
        orders = orders.select(
            "order_id",
            "customer_id",
            "ordered_at",
            status=ibis.ifelse(orders.cancelled, "cancelled", "paid"),
            currency=ibis.literal(self.options.currency or "GBP"),
            **total_only_amounts(orders.total),
            items_count=orders.items_count,
            source=ibis.literal("online-retail"),
            cancelled_at=ibis.ifelse(orders.cancelled, orders.ordered_at, ibis.literal(None, "timestamp")),
        )
        w = ibis.window(group_by=sales.invoice, order_by=[sales._file, sales._row])
        lines = sales.select(
            order_id=sales.invoice,
            line_no=ibis.row_number().over(w) + 1,
            product_id=sales.stock_code,
            sku=sales.stock_code,
            name=sales.description,
            quantity=sales.quantity.abs(),
            unit_price=sales.price,
            discount=ibis.literal(0.0),
        )
        pw = ibis.window(
            group_by=sales.stock_code,
            order_by=[ibis.desc(sales.description.notnull()), ibis.desc(sales._file), ibis.desc(sales._row)],
        )
        latest = sales.mutate(_k=ibis.row_number().over(pw))
        latest = latest.filter(latest._k == 0)
        products = latest.select(
            product_id=latest.stock_code, sku=latest.stock_code, name=latest.description, price=latest.price
        )
        known = sales.filter(sales.customer.notnull())
        cw = ibis.window(group_by=known.customer, order_by=[ibis.desc(known._file), ibis.desc(known._row)])
        last = known.mutate(_k=ibis.row_number().over(cw))
        last = last.filter(last._k == 0)
        customers = last.select(
            customer_id=last.customer, country=last.country, source=ibis.literal("online-retail")
        )
        return [("customers", customers), ("products", products), ("orders", orders), ("order_lines", lines)]

    def notes(self, t: ibis.Table) -> tuple[list[str], dict[int, int]]:
        notes: list[str] = []
        adj = t.filter(t.adjustment)
        by_code = (
            adj.group_by(code=adj.stock_code.upper())
            .agg(n=adj._row.count())
            .order_by("code")
            .to_pyarrow()
            .to_pylist()
        )
        per_file = adj.group_by("_file").agg(n=adj._row.count()).to_pyarrow().to_pylist()
        if by_code:
            total = sum(r["n"] for r in by_code)
            listed = ", ".join(f"{r['code']}: {r['n']}" for r in by_code)
            notes.append(f"{total} adjustment rows skipped, not sales ({listed})")
        sales = t.filter(~t.adjustment)
        guests = sales.filter(sales.customer.isnull())
        g = (
            guests.agg(invoices=guests.invoice.nunique(), lines=guests._row.count())
            .to_pyarrow()
            .to_pylist()[0]
        )
        if g["lines"]:
            notes.append(
                f"{g['invoices']} guest invoices ({g['lines']} lines) stored without a customer, not attributed"
            )
        c = sales.filter(sales.cancelled).invoice.nunique().to_pyarrow().as_py()
        if c:
            notes.append(f"{c} cancellation invoices stored with status cancelled")
        return notes, {int(r["_file"]): int(r["n"]) for r in per_file}
