"""Acceptance 1: on the synthetic shop, default clusters recover the ground-truth personas."""

from __future__ import annotations

import pytest
from sklearn.metrics import adjusted_rand_score

from segmint.batch.traits import compute_traits
from segmint.core.synth import PERSONAS
from segmint.demo.generate import generate_shop, generated_end, load_generated
from segmint.models import clusters as uc


@pytest.mark.slow
def test_default_clusters_recover_personas(workspace, tmp_path):
    generate_shop(tmp_path / "gen", 3000, seed=1, workers=1)
    load_generated(workspace, tmp_path / "gen")
    compute_traits(workspace, generated_end(tmp_path / "gen"))
    result = uc.fit_clusters(workspace)  # default traits, k=auto, k-means, 50k sample
    assigned = workspace.table("cluster_assignments").to_pandas()
    truth = workspace.table("personas").to_pandas()
    merged = assigned.merge(truth, on="customer_id")
    assert len(merged) == 3000
    ari = adjusted_rand_score(merged.persona, merged.cluster)
    print(
        f"\npersonas={len(PERSONAS)} chosen k={result.model.k} ({result.model.selection['reason']}) ARI={ari:.3f}"
    )
    assert abs(result.model.k - len(PERSONAS)) <= 1
    assert ari >= 0.6
    names = [p.name for p in result.model.profiles]
    assert len(set(names)) == len(names)
