"""Importers: one module per file format, all streaming and strict.

``make_importer(fmt, options, table=..., mapping=...)`` returns the importer the use case
``segmint.batch.importing.import_files`` drives.
"""

from __future__ import annotations

from segmint.adapters.importers._base import Importer, Options
from segmint.adapters.importers._errors import ImportFailed, Problem

__all__ = ["FORMATS", "ImportFailed", "Importer", "Options", "Problem", "make_importer"]

FORMATS = {"generic", "shopify-orders", "shopify-customers", "online-retail", "cdnow"}


def make_importer(
    fmt: str, options: Options, *, table: str | None = None, mapping: dict | None = None
) -> Importer:
    if fmt == "generic":
        from segmint.adapters.importers.generic import GenericImporter

        return GenericImporter(options, table, mapping)
    if fmt == "shopify-orders":
        from segmint.adapters.importers.shopify_orders import ShopifyOrdersImporter

        return ShopifyOrdersImporter(options)
    if fmt == "shopify-customers":
        from segmint.adapters.importers.shopify_customers import ShopifyCustomersImporter

        return ShopifyCustomersImporter(options)
    if fmt == "online-retail":
        from segmint.adapters.importers.online_retail import OnlineRetailImporter

        return OnlineRetailImporter(options)
    if fmt == "cdnow":
        from segmint.adapters.importers.cdnow import CdnowImporter

        return CdnowImporter(options)
    raise ValueError(f"unknown format {fmt!r}")
