"""Refit matching: Hungarian pairing, acceptance threshold, and numbers that continue."""

from __future__ import annotations

import numpy as np

from clusters.synthetic import NUMERIC, persona_frame
from segmint.core.models.clusters.algorithms import fit_algorithm
from segmint.core.models.clusters.matching import centers_in_space, match_clusters, renumber
from segmint.core.models.clusters.preprocess import Preprocessor


def test_permuted_centroids_are_matched_back():
    old = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    new = old[[2, 0, 1]] + 0.3
    assert match_clusters(old, new) == {0: 2, 1: 0, 2: 1}


def test_a_cluster_that_moved_far_is_new():
    old = np.array([[0.0, 0.0], [10.0, 0.0]])
    new = np.array([[0.5, 0.0], [10.0, 30.0]])
    # (10, 30) is 30 away from old 1, which is only 10 away from old 0: not the same cluster.
    assert match_clusters(old, new) == {0: 0}


def test_renumber_keeps_matched_numbers_and_never_reuses():
    # Old numbers by row: [3, 1, 4]; number 5 was used by an earlier version (first free is 6).
    assert renumber({0: 2, 2: 0}, [3, 1, 4], 4, first_free=6) == [4, 6, 3, 7]
    assert renumber({}, [1, 2], 2) == [3, 4]


def test_centroids_compare_across_different_preprocessing():
    a = persona_frame(2400, seed=1)
    b = persona_frame(2400, seed=9)
    b = b[b.persona != "window"]  # a different mix: the medians and spreads change
    prep_a = Preprocessor.fit(a, NUMERIC, ["preferred_device"])
    prep_b = Preprocessor.fit(b, NUMERIC, ["preferred_device"])
    assert prep_a.numeric[1].center != prep_b.numeric[1].center
    fit_a = fit_algorithm("kmeans", 6, prep_a.transform(a), seed=0)
    fit_b = fit_algorithm("kmeans", 5, prep_b.transform(b), seed=1)
    old = centers_in_space(prep_a, fit_a.scorer, prep_a)
    assert np.allclose(old, np.clip(fit_a.scorer.centers, -5, 5))
    new = centers_in_space(prep_b, fit_b.scorer, prep_a)
    pairs = match_clusters(old, new)
    # Every refit cluster is the same persona as its partner; the window shoppers' cluster is unmatched.
    persona_of_a = {c: a.persona[fit_a.labels == c].mode()[0] for c in range(6)}
    persona_of_b = {c: b.persona[fit_b.labels == c].mode()[0] for c in range(5)}
    assert len(pairs) == 5
    assert all(persona_of_b[i] == persona_of_a[j] for i, j in pairs.items())
    assert "window" not in {persona_of_a[j] for j in pairs.values()}
