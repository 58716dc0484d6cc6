"""Segments see the stitched customer: anonymous events linked by identify count for the customer, in
rules exactly as in traits, from the time of the link on (segmint.core.identity)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa

from segmint.batch import pipeline, reads, select
from segmint.batch.traits import compute_traits
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


def _late_link_shop(workspace):
    """bob browses anonymously on June 21 and 22; his identify call comes a day after AS_OF."""
    _load(workspace, CUSTOMERS, [{"customer_id": c} for c in ("alice", "bob")])
    _load(workspace, EVENTS, [_view("e1", 21, anon="a-bob"), _view("e2", 22, anon="a-bob")])
    linked = AS_OF + timedelta(days=1)
    _load(workspace, IDENTITIES, [{"anonymous_id": "a-bob", "customer_id": "bob", "linked_at": linked}])
    return linked


def test_a_link_counts_in_traits_only_from_its_time_on(workspace):
    """Point in time: as of AS_OF the identify call has not happened, so the anonymous browsing belongs
    to nobody; as of a time after it, the same (earlier) browsing is bob's."""
    linked = _late_link_shop(workspace)
    for as_of, views in ((AS_OF, 0), (linked, 2)):
        compute_traits(workspace, as_of)
        traits = workspace.table("traits").to_pandas().set_index("customer_id")
        assert traits.loc["bob", "product_views_30d"] == views, as_of


def test_a_link_counts_in_rules_only_from_its_time_on(workspace):
    linked = _late_link_shop(workspace)
    assert select.count_rule(workspace, "did product_viewed within 30d", linked) == 1
    assert select.count_rule(workspace, "did product_viewed within 30d", AS_OF) == 0
