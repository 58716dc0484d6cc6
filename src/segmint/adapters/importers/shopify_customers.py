"""``shopify-customers``: the Shopify admin customers export, current and older header spellings.

Current exports: ``Customer ID``, ``First Name``, ``Last Name``, ``Email``, ``Accepts Email Marketing``,
``Default Address …`` (City, Province Code, Country Code, Zip), ``Phone``, ``Accepts SMS Marketing``,
``Tags``. Older ones: ``Accepts Marketing``, ``City``, ``Province Code``, ``Country Code``, ``Zip``.

The customer id is the email-derived ``em_…`` id shared with the orders export; a customer without an
email gets ``shopify-<Customer ID>``. Shopify's own id is kept in ``attributes`` as
``{"shopify_customer_id": "…"}``. A newer export updates customers by id and adds new ones.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from segmint.adapters.importers._base import Importer, bad_where, email_customer_id
from segmint.adapters.importers._fields import BadCells, Field
from segmint.adapters.importers._source import Source
from segmint.adapters.importers.generic import duplicate_keys

__all__ = ["ShopifyCustomersImporter"]


class ShopifyCustomersImporter(Importer):
    format = "shopify-customers"

    def fields(self, source: Source) -> list[Field]:
        return [
            Field("shopify_id", ("Customer ID", "Id"), strip_quote=True),
            Field("first_name", ("First Name",)),
            Field("last_name", ("Last Name",)),
            Field("email", ("Email",), required=True, lower=True),
            Field("email_opt_in", ("Accepts Email Marketing", "Accepts Marketing"), "bool"),
            Field("sms_opt_in", ("Accepts SMS Marketing",), "bool"),
            Field("city", ("Default Address City", "City")),
            Field("region", ("Default Address Province Code", "Province Code", "Province")),
            Field("country", ("Default Address Country Code", "Country Code", "Country")),
            Field("postal_code", ("Default Address Zip", "Zip"), strip_quote=True),
            Field("phone", ("Phone", "Default Address Phone"), strip_quote=True),
            Field("tags", ("Tags",), "tags"),
        ]

    def extra_columns(self) -> dict[str, pa.DataType]:
        return {"customer_id": pa.string(), "attributes": pa.string()}

    def transform(self, cols: dict[str, pa.Array], n: int) -> tuple[dict[str, pa.Array], list[BadCells]]:
        bad: list[BadCells] = []
        email, sid = cols["email"], cols["shopify_id"]
        no_at = pc.and_(pc.is_valid(email), pc.invert(pc.fill_null(pc.match_substring(email, "@"), False)))
        bad += bad_where(no_at, "Email", email, "not an email address")
        not_digits = pc.and_(
            pc.is_valid(sid), pc.invert(pc.fill_null(pc.match_substring_regex(sid, r"^\d+$"), False))
        )
        bad += bad_where(not_digits, "Customer ID", sid, "not a Shopify customer id (digits)")
        neither = pc.and_(pc.is_null(email), pc.is_null(sid))
        bad += bad_where(
            neither, "Email", email, "missing value (a customer needs an Email or a Customer ID)"
        )
        by_email = email_customer_id(pc.if_else(no_at, pa.scalar(None, pa.string()), email))
        by_id = pc.binary_join_element_wise("shopify-", sid, "")
        cols["customer_id"] = pc.coalesce(by_email, by_id)
        cols["attributes"] = pc.binary_join_element_wise('{"shopify_customer_id": "', sid, '"}', "")
        return cols, bad

    def checks(self, t: ibis.Table) -> list[ibis.Table]:
        return [duplicate_keys(t, ["customer_id"], "customer (same Email or Customer ID)")]

    def build(self, t: ibis.Table, existing: Callable[[str], ibis.Table]) -> list[tuple[str, ibis.Table]]:
        customers = t.select(
            "customer_id",
            "email",
            "first_name",
            "last_name",
            "phone",
            "city",
            "region",
            "country",
            "postal_code",
            "email_opt_in",
            "sms_opt_in",
            "tags",
            "attributes",
            source=ibis.literal("shopify-customers"),
        )
        return [("customers", customers)]
