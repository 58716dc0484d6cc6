"""Automatic k: the elbow rule on hand-made curves, and the choice on data with and without clusters."""

from __future__ import annotations

import numpy as np

from clusters.synthetic import NUMERIC, persona_frame
from segmint.core.models.clusters.preprocess import Preprocessor
from segmint.core.models.clusters.select_k import DEFAULT_K, KScore, _decide, choose_k, elbow


def test_elbow_of_a_hand_made_curve():
    # Inertia falls steeply to k=4 then flattens: the knee is at 4.
    assert elbow([2, 3, 4, 5, 6, 7, 8], [100, 60, 25, 22, 20, 18, 16]) == 4
    # A straight line has no elbow.
    assert elbow([2, 3, 4, 5], [40, 30, 20, 10]) is None
    assert elbow([2, 3], [10, 5]) is None


def test_choice_on_six_separated_groups():
    frame = persona_frame(1500, seed=2)
    x = Preprocessor.fit(frame, NUMERIC, ["preferred_device"]).transform(frame)
    choice, fits = choose_k("kmeans", x, k_range=range(4, 9), seed=0)
    assert choice.k == 6
    assert set(fits) == set(range(4, 9))
    best = max(choice.scores, key=lambda s: s.silhouette)
    assert best.k == 6 and best.silhouette > 0.4


def test_flat_evidence_falls_back_to_elbow_or_default():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(500, 4))  # no clusters at all
    choice, _ = choose_k("kmeans", x, k_range=range(2, 7), seed=0, n_init=1)
    assert "flat" in choice.reason or "no cluster structure" in choice.reason or "elbow" in choice.reason
    # Hand-made flat scores with a straight inertia line: the documented default.
    scores = [KScore(k, 0.05, 100.0 - 10 * k, None) for k in range(2, 9)]
    decided = _decide("kmeans", scores, tolerance=0.03, flat=0.02, floor=0.1)
    assert decided.k == DEFAULT_K and "default" in decided.reason


def test_near_ties_are_broken_by_bic_for_mixtures():
    scores = [
        KScore(3, 0.50, 30.0, 900.0),
        KScore(4, 0.49, 20.0, 700.0),
        KScore(5, 0.30, 18.0, 800.0),
    ]
    decided = _decide("gmm", scores, tolerance=0.03, flat=0.02, floor=0.1)
    assert decided.k == 4 and "BIC" in decided.reason
