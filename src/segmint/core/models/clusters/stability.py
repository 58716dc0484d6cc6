"""How much to trust a clustering: bootstrap stability and a 2-D picture.

Stability (Hennig's clusterwise bootstrap): refit the same algorithm at the same k on resamples of the
fitting sample, assign the whole sample with each refit, and compare with the reference labels. The
adjusted Rand index summarises the whole partition; for each cluster the best Jaccard overlap with any
bootstrap cluster says whether that cluster keeps turning up (above 0.75 is stable, below 0.5 it
dissolves). Refits use one initialisation each: the question is whether the structure is in the data,
not whether many restarts can find it.

The projection is PCA of the scaled features of a few hundred points, for plotting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score

from segmint.core.models.clusters.algorithms import fit_algorithm

__all__ = ["Projection", "Stability", "bootstrap_stability", "project"]


@dataclass
class Stability:
    ari_mean: float
    ari: list[float]
    jaccard: list[float]  # per reference cluster index: mean best Jaccard over refits

    def to_dict(self) -> dict:
        return {"ari_mean": self.ari_mean, "ari": self.ari, "jaccard": self.jaccard}


def bootstrap_stability(
    algorithm: str,
    k: int,
    features: np.ndarray,
    labels: np.ndarray,
    codes: np.ndarray | None = None,
    *,
    rounds: int = 5,
    seed: int = 0,
) -> Stability:
    rng = np.random.default_rng(seed)
    n = features.shape[0]
    aris: list[float] = []
    jaccard = np.zeros(k)
    for b in range(rounds):
        idx = rng.integers(0, n, size=n)
        sub_codes = codes[idx] if codes is not None else None
        fit = fit_algorithm(algorithm, k, features[idx], sub_codes, seed=seed + 1 + b, n_init=1)
        other = fit.scorer.predict(features, codes)
        aris.append(float(adjusted_rand_score(labels, other)))
        for j in range(k):
            mine = labels == j
            best = 0.0
            for c in np.unique(other[mine]) if mine.any() else []:
                theirs = other == c
                union = np.count_nonzero(mine | theirs)
                best = max(best, np.count_nonzero(mine & theirs) / union if union else 0.0)
            jaccard[j] += best
    return Stability(float(np.mean(aris)), aris, (jaccard / rounds).tolist())


@dataclass
class Projection:
    points: list[tuple[float, float, int]] = field(default_factory=list)  # x, y, cluster index
    centers: list[tuple[float, float]] = field(default_factory=list)  # per cluster index
    explained: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"points": self.points, "centers": self.centers, "explained": self.explained}


def project(
    features: np.ndarray, labels: np.ndarray, centers: np.ndarray, *, points: int = 500, seed: int = 0
) -> Projection:
    if features.shape[1] < 2 or features.shape[0] < 3:
        return Projection()
    pca = PCA(n_components=2, random_state=seed).fit(features)
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(features.shape[0], size=min(points, features.shape[0]), replace=False))
    xy = pca.transform(features[idx])
    cxy = pca.transform(centers)
    return Projection(
        points=[
            (round(float(x), 4), round(float(y), 4), int(c))
            for (x, y), c in zip(xy, labels[idx], strict=True)
        ],
        centers=[(float(x), float(y)) for x, y in cxy],
        explained=[float(v) for v in pca.explained_variance_ratio_],
    )
