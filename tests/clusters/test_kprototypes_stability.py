"""k-prototypes on mixed data, bootstrap stability, projection, and engine-side profiles."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from clusters.synthetic import NUMERIC, persona_frame
from segmint.core.models.clusters.algorithms import fit_algorithm
from segmint.core.models.clusters.kprototypes import KPrototypes
from segmint.core.models.clusters.preprocess import Preprocessor
from segmint.core.models.clusters.profiles import build_profiles, profile_aggregates
from segmint.core.models.clusters.stability import bootstrap_stability, project


def test_kprototypes_tiny_hand_case():
    x = np.array([[0.0], [0.2], [10.0], [10.2]])
    codes = np.array([["a"], ["a"], ["b"], ["b"]], dtype=object)
    model = KPrototypes(n_clusters=2, gamma=1.0, random_state=0).fit(x, codes)
    centers = sorted(model.cluster_centers_[:, 0].tolist())
    assert centers == pytest.approx([0.1, 10.1])
    assert model.cost_ == pytest.approx(4 * 0.01)  # four points, each 0.1 from its centre, no mismatch
    assert sorted(model.modes_[:, 0].tolist()) == ["a", "b"]


def test_kprototypes_separates_groups_that_differ_only_in_a_category():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 2))
    truth = np.repeat([0, 1, 2], 200)
    codes = np.array(["red", "green", "blue"], dtype=object)[truth][:, None]
    # A mismatch must cost more than the variance a numeric split would save (about 1 here).
    model = KPrototypes(n_clusters=3, gamma=2.0, random_state=0).fit(x, codes)
    assert adjusted_rand_score(truth, model.labels_) == pytest.approx(1.0)
    numeric_only = fit_algorithm("kmeans", 3, x, seed=0)
    assert adjusted_rand_score(truth, numeric_only.labels) < 0.1


def test_stability_is_high_for_real_structure_and_low_for_noise():
    frame = persona_frame(900, seed=4)
    x = Preprocessor.fit(frame, NUMERIC, []).transform(frame)
    fit = fit_algorithm("kmeans", 6, x, seed=0)
    stable = bootstrap_stability("kmeans", 6, x, fit.labels, rounds=3, seed=0)
    assert stable.ari_mean > 0.95 and min(stable.jaccard) > 0.9
    noise = np.random.default_rng(1).normal(size=(900, 3))
    fit_noise = fit_algorithm("kmeans", 6, noise, seed=0)
    shaky = bootstrap_stability("kmeans", 6, noise, fit_noise.labels, rounds=3, seed=0)
    assert shaky.ari_mean < stable.ari_mean - 0.2


def test_projection_points_and_centres():
    frame = persona_frame(900, seed=4)
    x = Preprocessor.fit(frame, NUMERIC, []).transform(frame)
    fit = fit_algorithm("kmeans", 6, x, seed=0)
    proj = project(x, fit.labels, fit.scorer.centers, points=200)
    assert len(proj.points) == 200 and len(proj.centers) == 6
    assert 0.0 < sum(proj.explained) <= 1.0 and proj.explained[0] >= proj.explained[1]


def test_profile_effects_are_standardised_mean_differences_over_the_whole_base():
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "share": [0.0, 0.2, 0.6, 1.0],
            "device": ["mobile", "mobile", "desktop", "mobile"],
        }
    )
    prep = Preprocessor.fit(frame, ["share"], ["device"])
    con = ibis.duckdb.connect()
    traits = con.create_table("traits", frame)
    assigned = con.create_table(
        "a", pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "cluster": [1, 1, 2, 2]})
    )
    per, base = profile_aggregates(traits, assigned, prep)
    profiles = build_profiles(per.to_pandas(), base.to_pandas(), prep)
    one = {e.label: e for e in profiles[0].effects}
    sd = np.std([0.0, 0.2, 0.6, 1.0])  # population sd over the base
    assert profiles[0].size == 2 and profiles[0].share == 0.5
    assert one["share"].value == pytest.approx(0.1) and one["share"].base == pytest.approx(0.45)
    assert one["share"].effect == pytest.approx((0.1 - 0.45) / sd)
    p0 = 0.75  # mobile share over the base; cluster 1 is all mobile
    assert one["device=mobile"].effect == pytest.approx((1.0 - p0) / np.sqrt(p0 * (1 - p0)))
