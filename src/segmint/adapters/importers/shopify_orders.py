"""``shopify-orders``: the Shopify admin orders export (Orders > Export > CSV), as Shopify writes it.

One row per line item. ``Name`` (``#1001``) is the order key; order-level fields (Financial Status,
totals, Refunded Amount, Cancelled at, billing address) are filled on the first row of each order only.
Timestamps carry their offset (``2025-10-07 09:50:26 +0200``) and are stored in UTC; zip codes and
phones may start with ``'`` (Shopify's guard against spreadsheets), which is dropped.

Status: ``Cancelled at`` set -> cancelled; otherwise paid, partially_refunded, refunded, pending
(pending/authorized/partially_paid/unpaid) or cancelled (voided/expired). Refunds and cancellations are
stored as such with ``refunded_amount``, never as plain sales.

The customer of an order is ``em_`` + a hash of the lower-cased email (see ``email_customer_id``), the
same id the customers export gets, so both exports link. Orders without an email are guest orders
(customer missing). An order's customer is added to ``customers`` only if unknown: the customers export
is the authority on names, addresses and consent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypedDict

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from segmint.adapters.importers._base import Importer, bad_where, email_customer_id
from segmint.adapters.importers._fields import BadCells, Field
from segmint.adapters.importers._source import Source

__all__ = ["ShopifyOrdersImporter"]

STATUS = {
    "paid": "paid",
    "partially_refunded": "partially_refunded",
    "refunded": "refunded",
    "pending": "pending",
    "authorized": "pending",
    "partially_paid": "pending",
    "unpaid": "pending",
    "voided": "cancelled",
    "expired": "cancelled",
}


class _Bounds(TypedDict):
    """Keyword arguments of a Field that bound a number."""

    lo: float
    hi: float
    what: str


MONEY: _Bounds = {"lo": 0.0, "hi": 1e9, "what": "amount"}


class ShopifyOrdersImporter(Importer):
    format = "shopify-orders"

    def fields(self, source: Source) -> list[Field]:
        return [
            Field("name", ("Name",), required=True, not_null=True),
            Field("email", ("Email",), required=True, lower=True),
            Field("financial_status", ("Financial Status",), required=True, lower=True),
            Field("accepts_marketing", ("Accepts Marketing", "Accepts Email Marketing"), "bool"),
            Field("currency", ("Currency",)),
            Field("subtotal", ("Subtotal",), "float", **MONEY),
            Field("shipping", ("Shipping",), "float", **MONEY),
            Field("taxes", ("Taxes",), "float", **MONEY),
            Field("total", ("Total",), "float", required=True, **MONEY),
            Field("discount_code", ("Discount Code",)),
            Field("discount_amount", ("Discount Amount",), "float", **MONEY),
            Field("created_at", ("Created at",), "timestamp", required=True),
            Field("cancelled_at", ("Cancelled at",), "timestamp"),
            Field("refunded_amount", ("Refunded Amount",), "float", **MONEY),
            Field(
                "li_quantity",
                ("Lineitem quantity",),
                "int",
                required=True,
                not_null=True,
                lo=0,
                hi=1e6,
                what="quantity",
            ),
            Field("li_name", ("Lineitem name",), required=True),
            Field("li_price", ("Lineitem price",), "float", required=True, **MONEY),
            Field("li_sku", ("Lineitem sku",)),
            Field("li_discount", ("Lineitem discount",), "float", **MONEY),
            Field("vendor", ("Vendor",)),
            Field("billing_name", ("Billing Name",)),
            Field("billing_city", ("Billing City",)),
            Field("billing_zip", ("Billing Zip",), strip_quote=True),
            Field("billing_province", ("Billing Province",)),
            Field("billing_country", ("Billing Country",)),
            Field("billing_phone", ("Billing Phone",), strip_quote=True),
            Field("channel", ("Source",), lower=True),
            Field("tags", ("Tags",), "tags"),
        ]

    def extra_columns(self) -> dict[str, pa.DataType]:
        return {"customer_id": pa.string(), "status": pa.string()}

    def transform(self, cols: dict[str, pa.Array], n: int) -> tuple[dict[str, pa.Array], list[BadCells]]:
        bad: list[BadCells] = []
        email = cols["email"]
        no_at = pc.and_(pc.is_valid(email), pc.invert(pc.fill_null(pc.match_substring(email, "@"), False)))
        bad += bad_where(no_at, "Email", email, "not an email address")
        cols["customer_id"] = email_customer_id(pc.if_else(no_at, pa.scalar(None, pa.string()), email))
        fin = cols["financial_status"]
        mapped = pc.take(pa.array(list(STATUS.values())), pc.index_in(fin, value_set=pa.array(list(STATUS))))
        unknown = pc.and_(pc.is_valid(fin), pc.is_null(mapped))
        bad += bad_where(
            unknown,
            "Financial Status",
            fin,
            f"unknown financial status (expected one of {', '.join(STATUS)})",
        )
        cancelled = pc.is_valid(cols["cancelled_at"])
        cols["status"] = pc.if_else(pc.and_(cancelled, pc.is_valid(fin)), "cancelled", mapped)
        over = pc.fill_null(pc.greater(cols["refunded_amount"], pc.add(cols["total"], 0.005)), False)
        bad += bad_where(
            over, "Refunded Amount", cols["refunded_amount"], "refunded more than the order total"
        )
        return cols, bad

    def checks(self, t: ibis.Table) -> list[ibis.Table]:
        """The first row of each order carries its details: it must exist once, with a time."""
        heads = t.filter(t.financial_status.notnull())
        w = ibis.window(group_by=heads.name, order_by=[heads._file, heads._row])
        ranked = heads.mutate(_n=ibis.row_number().over(w), _first=heads._row.first().over(w))
        twice = ranked.filter(ranked._n > 0).select(
            "_file",
            "_row",
            column_name=ibis.literal("Name"),
            value=ranked.name,
            reason=ibis.literal("order appears twice with order details (first at row ").concat(
                ranked._first.cast("string"), ")"
            ),
        )
        no_time = heads.filter(heads.created_at.isnull()).select(
            "_file",
            "_row",
            column_name=ibis.literal("Created at"),
            value=ibis.literal(None, "string"),
            reason=ibis.literal("missing value (the order's first row needs its creation time)"),
        )
        firsts = t.group_by("name").agg(_file=t._file.min(), _first=t._row.min())
        orphans = t.anti_join(heads, "name").join(firsts, "name")
        orphan = orphans.select(
            _file=orphans._file,
            _row=orphans._row,
            column_name=ibis.literal("Financial Status"),
            value=ibis.literal(None, "string"),
            reason=ibis.literal("line of order ").concat(
                orphans.name, " whose first row has no order details (Financial Status)"
            ),
        )
        return [twice, no_time, orphan]

    def build(self, t: ibis.Table, existing: Callable[[str], ibis.Table]) -> list[tuple[str, ibis.Table]]:
        heads = t.filter(t.financial_status.notnull())
        per_order = t.group_by("name").agg(items_count=t.li_quantity.sum())
        h = heads.join(per_order, "name")
        refunded = ibis.coalesce(
            h.refunded_amount, ibis.ifelse(h.status == "refunded", h.total, ibis.literal(0.0))
        )
        orders = h.select(
            order_id=h.name,
            customer_id=h.customer_id,
            ordered_at=h.created_at,
            status=h.status,
            currency=h.currency,
            subtotal=h.subtotal,
            discount=h.discount_amount,
            discount_code=h.discount_code,
            shipping=h.shipping,
            tax=h.taxes,
            total=h.total,
            refunded_amount=refunded,
            items_count=h.items_count,
            channel=h.channel,
            source=ibis.literal("shopify"),
            cancelled_at=h.cancelled_at,
        )
        w = ibis.window(group_by=t.name, order_by=[t._file, t._row])
        lines = t.select(
            order_id=t.name,
            line_no=ibis.row_number().over(w) + 1,
            product_id=t.li_sku,
            sku=t.li_sku,
            name=t.li_name,
            quantity=t.li_quantity,
            unit_price=t.li_price,
            discount=t.li_discount,
        )
        with_sku = t.filter(t.li_sku.notnull())
        latest = with_sku.mutate(
            _k=ibis.row_number().over(
                ibis.window(
                    group_by=with_sku.li_sku, order_by=[ibis.desc(with_sku._file), ibis.desc(with_sku._row)]
                )
            )
        )
        latest = latest.filter(latest._k == 0)
        products = latest.select(
            product_id=latest.li_sku,
            sku=latest.li_sku,
            name=latest.li_name,
            brand=latest.vendor,
            price=latest.li_price,
        )
        people = heads.filter(heads.customer_id.notnull())
        pw = ibis.window(group_by=people.customer_id, order_by=[people._file, people._row])
        first = people.mutate(
            _k=ibis.row_number().over(pw),
            _since=people.created_at.min().over(ibis.window(group_by=people.customer_id)),
        )
        first = first.filter(first._k == 0)
        billing = first.billing_name.strip()
        space = billing.find(" ")
        customers = first.select(
            customer_id=first.customer_id,
            email=first.email,
            first_name=ibis.ifelse(space > 0, billing.left(space), billing),
            last_name=ibis.ifelse(space > 0, billing.substr(space + 1), ibis.literal(None, "string")),
            phone=first.billing_phone,
            city=first.billing_city,
            region=first.billing_province,
            country=first.billing_country,
            postal_code=first.billing_zip,
            email_opt_in=first.accepts_marketing,
            created_at=first._since,
            source=ibis.literal("shopify-orders"),
        )
        new_customers = customers.anti_join(existing("customers"), "customer_id")
        return [
            ("customers", new_customers),
            ("products", products),
            ("orders", orders),
            ("order_lines", lines),
        ]

    def notes(self, t: ibis.Table) -> tuple[list[str], dict[int, int]]:
        heads = t.filter(t.financial_status.notnull())
        counts = heads.group_by("status").agg(n=heads._row.count()).to_pyarrow().to_pylist()
        by = {r["status"]: int(r["n"]) for r in counts}
        guests = int(heads.filter(heads.customer_id.isnull()).count().to_pyarrow().as_py())
        kept = [
            f"{by[s]} {s.replace('_', ' ')}"
            for s in ("refunded", "partially_refunded", "cancelled")
            if by.get(s)
        ]
        notes = [f"{', '.join(kept)} orders kept with their status and refunded amount"] if kept else []
        if guests:
            notes.append(f"{guests} guest orders without an email stored with no customer")
        return notes, {}
