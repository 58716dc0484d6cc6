"""Segments see the stitched customer: anonymous events linked by identify count for the customer, in
rules exactly as in traits."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa

from segmint.batch import pipeline, reads, select
from segmint.core.schema import CUSTOMERS, EVENTS, IDENTITIES

AS_OF = datetime(2025, 6, 30, 12)


def _load(ws, spec, rows):
    schema = pa.schema([(c, spec.columns[c].to_pyarrow()) for c in rows[0]])
    table = pa.Table.from_pylist(rows, schema=schema)
    ws.store.upsert(spec, ws.store.stage(table.to_batches(), schema))


def _view(event_id, day, customer=None, anon=None):
    return {
        "event_id": event_id,
        "name": "product_viewed",
        "occurred_at": datetime(2025, 6, day, 10),
        "customer_id": customer,
        "anonymous_id": anon,
    }


def test_anonymous_views_count_for_the_linked_customer(workspace):
    _load(workspace, CUSTOMERS, [{"customer_id": c} for c in ("alice", "bob", "carol")])
    _load(
        workspace,
        EVENTS,
        [
            _view("e1", 20, customer="alice"),
            _view("e2", 21, anon="a-bob"),  # bob browsed before logging in
            _view("e3", 22, anon="a-bob"),
            _view("e4", 23, anon="a-nobody"),  # never identified: belongs to no one
            _view("e5", 24, customer="carol"),
        ],
    )
    _load(workspace, IDENTITIES, [{"anonymous_id": "a-bob", "customer_id": "bob", "linked_at": AS_OF}])
    (workspace.segments_dir / "viewers.yaml").write_text(
        "name: viewers\nfamily: behavioral\ndescription: viewed twice\n"
        "rule: count(product_viewed, 30d) >= 2\n"
    )
    pipeline.run_pipeline(workspace, AS_OF)
    members = reads.members(workspace, "viewers", AS_OF).to_pandas()
    assert list(members.customer_id) == ["bob"]
    assert select.count_rule(workspace, "did product_viewed within 30d", AS_OF) == 3
    traits = workspace.table("traits").to_pandas().set_index("customer_id")
    assert traits.loc["bob", "product_views_30d"] == 2
