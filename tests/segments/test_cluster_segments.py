"""Clusters are segments like any other: rules reach them with in_segment('cluster:<model>:<n>')."""

from __future__ import annotations

from datetime import datetime

import pytest

from segmint.batch import evaluate, reads, select
from segmint.batch.traits import compute_traits
from segmint.demo.generate import generate_shop, generated_end, load_generated
from segmint.errors import SegmintError
from segmint.models import clusters as cluster_usecase


@pytest.fixture
def clustered(workspace, tmp_path):
    data = tmp_path / "data"
    generate_shop(data, 600, seed=3, workers=1)
    load_generated(workspace, data)
    as_of: datetime = generated_end(data)
    compute_traits(workspace, as_of)
    cluster_usecase.fit_clusters(workspace, k=3, stability_rounds=1, as_of=as_of)
    return workspace, as_of


def _expected(ws, cluster: int) -> set[str]:
    a = ws.table("cluster_assignments").to_pandas()
    traits = ws.table("traits").to_pandas()
    in_cluster = set(a[a.cluster == cluster].customer_id)
    buyers = set(traits[traits.orders_count >= 2].customer_id)
    return in_cluster & buyers


def test_a_segment_rule_can_use_a_cluster(clustered):
    ws, as_of = clustered
    (ws.segments_dir / "cluster_buyers.yaml").write_text(
        "name: cluster_buyers\nfamily: behavioral\ndescription: repeat buyers of cluster 1\n"
        "rule: in_segment('cluster:default:1') and orders_count >= 2\n"
    )
    summary = evaluate.evaluate_segments(ws, as_of)
    run = {s.name: s for s in summary.segments}["cluster_buyers"]
    expected = _expected(ws, 1)
    assert run.members == len(expected) > 0
    got = set(reads.members(ws, "cluster_buyers", as_of).to_pandas().customer_id)
    assert got == expected
    assert select.count_rule(ws, "in_segment('cluster:default:2')", as_of) == int(
        (ws.table("cluster_assignments").to_pandas().cluster == 2).sum()
    )


def test_an_unknown_cluster_is_a_clear_error(clustered):
    ws, as_of = clustered
    with pytest.raises(SegmintError, match="no cluster 9"):
        select.count_rule(ws, "in_segment('cluster:default:9')", as_of)
