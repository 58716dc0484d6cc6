"""Match the clusters of a refit to the clusters of the previous fit, so numbers and names continue.

Two fits have different preprocessing (medians and spreads move with the data), so their centroids are
first brought into one space: the *previous* model's feature space. A centroid is mapped back to trait
units (undo scaling, undo the log) and then through the previous model's transform. One-hot indicator
values are shares and carry over directly; a k-prototypes mode becomes a share of 1.

The assignment is the one minimising the total squared distance (the Hungarian method, SciPy's
``linear_sum_assignment``). A pair is only accepted when the new centroid lies closer to its partner
than that partner lies to any other old centroid: a cluster that genuinely changed gets a new number.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from segmint.core.models.clusters.preprocess import Preprocessor
from segmint.core.models.clusters.scorer import Scorer

__all__ = ["centers_in_space", "match_clusters", "renumber"]


def centers_in_space(prep: Preprocessor, scorer: Scorer, target: Preprocessor) -> np.ndarray:
    """``scorer``'s centroids (fitted with ``prep``) expressed in ``target``'s feature space, restricted
    to the features both models share (numeric traits, then shared categorical levels)."""
    k = scorer.k
    mine = {f.trait: i for i, f in enumerate(prep.numeric)}
    cols: list[np.ndarray] = []
    for feature in target.numeric:
        if feature.trait not in mine:
            continue
        src = prep.numeric[mine[feature.trait]]
        value = scorer.centers[:, mine[feature.trait]] * src.scale + src.center
        raw = np.expm1(value) if src.log else value
        if feature.log:
            raw = np.log(np.maximum(raw, 0.0) + 1.0)
        cols.append(np.clip((raw - feature.center) / feature.scale, -feature.clip, feature.clip))
    shares = _level_shares(prep, scorer)
    for cat in target.categorical:
        for level in cat.levels:
            key = (cat.trait, level)
            if cat.trait in {f.trait for f in prep.categorical}:
                cols.append(shares.get(key, np.zeros(k)) * cat.weight)
    return np.column_stack(cols) if cols else np.zeros((k, 0))


def _level_shares(prep: Preprocessor, scorer: Scorer) -> dict[tuple[str, str], np.ndarray]:
    out: dict[tuple[str, str], np.ndarray] = {}
    if prep.one_hot:
        col = len(prep.numeric)
        for feature in prep.categorical:
            for level in feature.levels:
                out[(feature.trait, level)] = scorer.centers[:, col] / feature.weight
                col += 1
    elif scorer.modes is not None:
        for i, feature in enumerate(prep.categorical):
            for level in {str(m) for m in scorer.modes[:, i]}:
                out[(feature.trait, level)] = (scorer.modes[:, i] == level).astype(float)
    return out


def match_clusters(old: np.ndarray, new: np.ndarray) -> dict[int, int]:
    """{new row index: old row index} for the accepted pairs of an optimal matching of centroid rows."""
    if len(old) == 0 or len(new) == 0:
        return {}
    cost = ((new[:, None, :] - old[None, :, :]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    if len(old) > 1:
        gaps = ((old[:, None, :] - old[None, :, :]) ** 2).sum(axis=2)
        np.fill_diagonal(gaps, np.inf)
        separation = gaps.min(axis=1)
    else:
        separation = np.full(1, np.inf)
    return {int(r): int(c) for r, c in zip(rows, cols, strict=True) if cost[r, c] < separation[c]}


def renumber(
    matches: dict[int, int], old_numbers: Sequence[int], n_new: int, first_free: int | None = None
) -> list[int]:
    """Stable numbers for the new clusters: a matched cluster takes its partner's number, the others
    take fresh numbers from ``first_free`` (default: above every old number), so a number is never
    reused for a different cluster."""
    next_number = max(max(old_numbers, default=0) + 1, first_free or 0)
    numbers = []
    for i in range(n_new):
        if i in matches:
            numbers.append(int(old_numbers[matches[i]]))
        else:
            numbers.append(next_number)
            next_number += 1
    return numbers
