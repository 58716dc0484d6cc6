"""``cdnow``: the CDNOW purchase log (Fader, Hardie & Lee), master or 1/10 sample file.

Master: header ``customer_id date number_of_cds dollar_value``, whitespace-separated. Sample: no
header, ``master_id sample_id date number_of_cds dollar_value``; ``master_id`` is the customer, so the
two files describe the same people. Ids are stored without leading zeros (``00001`` -> ``1``).

Every row is one order. Several rows may share a customer and a day; each stays its own order (the BTYD
summaries merge same-day purchases). The order id is ``cdnow-<customer>-<yyyymmdd>-<k>`` where k counts
that customer's rows of that day in file order: deterministic from the file rows, and the same purchase
gets the same id from the master and the sample file.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from segmint.adapters.importers._base import Importer, total_only_amounts
from segmint.adapters.importers._fields import BadCells, Field
from segmint.adapters.importers._parse import to_int
from segmint.adapters.importers._source import Source

__all__ = ["CdnowImporter"]


class CdnowImporter(Importer):
    format = "cdnow"
    reader = "whitespace"
    whitespace_names = {
        4: ["customer_id", "date", "number_of_cds", "dollar_value"],
        5: ["master_id", "sample_id", "date", "number_of_cds", "dollar_value"],
    }
    date_formats = ("%Y%m%d",)

    def fields(self, source: Source) -> list[Field]:
        return [
            Field("customer", ("customer_id", "master_id"), "text", required=True, not_null=True),
            Field("day", ("date",), "timestamp", required=True, not_null=True),
            Field("cds", ("number_of_cds",), "int", required=True, not_null=True, lo=0, hi=1e5),
            Field(
                "dollars",
                ("dollar_value",),
                "float",
                required=True,
                not_null=True,
                lo=0,
                hi=1e6,
                what="amount",
            ),
        ]

    def transform(self, cols: dict[str, pa.Array], n: int) -> tuple[dict[str, pa.Array], list[BadCells]]:
        conv = to_int(cols["customer"], lo=0, what="customer id")
        bad = []
        if pc.any(conv.bad).as_py():
            idx = pc.indices_nonzero(conv.bad)
            bad.append(BadCells(idx, "customer_id", cols["customer"].take(idx), "not a customer number"))
        cols["customer"] = pc.cast(conv.values, pa.string())
        return cols, bad

    def build(self, t: ibis.Table, existing: Callable[[str], ibis.Table]) -> list[tuple[str, ibis.Table]]:
        w = ibis.window(group_by=[t.customer, t.day], order_by=[t._file, t._row])
        k = (ibis.row_number().over(w) + 1).cast("string")
        orders = t.select(
            order_id=ibis.literal("cdnow-").concat(t.customer, "-", t.day.strftime("%Y%m%d"), "-", k),
            customer_id=t.customer,
            ordered_at=t.day,
            status=ibis.literal("paid"),
            currency=ibis.literal(self.options.currency or "USD"),
            **total_only_amounts(t.dollars),
            items_count=t.cds,
            source=ibis.literal("cdnow"),
        )
        customers = (
            t.group_by(customer_id=t.customer)
            .agg(created_at=t.day.min())
            .mutate(source=ibis.literal("cdnow"))
        )
        return [("customers", customers), ("orders", orders)]
