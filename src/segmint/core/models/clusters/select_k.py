"""Choose the number of clusters from the data.

Silhouette is the primary evidence (how much closer points are to their own cluster than to the next),
measured on a fixed random subsample so it costs O(m^2) with m a few thousand, whatever the base size.
Silhouette alone favours very few clusters on e-commerce data (buyers vs non-buyers separates best), so
the choice is made among the k whose silhouette is within ``tolerance`` of the best one, and the second
check decides among them: the elbow of the within-cluster sum of squares (k-means, k-prototypes), or the
lowest BIC (Gaussian mixtures). When the silhouette is flat or low everywhere the data has no clear
cluster structure; then the elbow alone decides, and without an elbow the documented default applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import silhouette_score
from sklearn.metrics.pairwise import euclidean_distances

from segmint.core.models.clusters.algorithms import Fitted, fit_algorithm

__all__ = ["DEFAULT_K", "KChoice", "KScore", "choose_k", "elbow", "mixed_distances"]

DEFAULT_K = 5


@dataclass(frozen=True)
class KScore:
    k: int
    silhouette: float
    inertia: float
    bic: float | None


@dataclass(frozen=True)
class KChoice:
    k: int
    reason: str
    scores: tuple[KScore, ...]

    def to_dict(self) -> dict:
        return {"k": self.k, "reason": self.reason, "scores": [asdict(s) for s in self.scores]}


def choose_k(
    algorithm: str,
    features: np.ndarray,
    codes: np.ndarray | None = None,
    *,
    k_range: Sequence[int] = range(2, 11),
    seed: int = 0,
    silhouette_sample: int = 3000,
    tolerance: float = 0.03,
    flat: float = 0.02,
    floor: float = 0.1,
    n_init: int = 2,
) -> tuple[KChoice, dict[int, Fitted]]:
    """Fit every k in ``k_range`` and pick one; returns the choice and the fits (the caller can reuse the
    chosen fit or refit it with more initialisations)."""
    ks = [k for k in k_range if 2 <= k < features.shape[0]]
    if not ks:
        raise ValueError(f"no usable k in {list(k_range)} for {features.shape[0]} rows")
    rng = np.random.default_rng(seed)
    m = min(silhouette_sample, features.shape[0])
    idx = np.sort(rng.choice(features.shape[0], size=m, replace=False))
    fits: dict[int, Fitted] = {}
    scores: list[KScore] = []
    dist = None
    if algorithm == "kprototypes":
        assert codes is not None
    for k in ks:
        fit = fit_algorithm(algorithm, k, features, codes, seed=seed, n_init=n_init)
        fits[k] = fit
        labels = fit.labels[idx]
        if len(np.unique(labels)) < 2:
            sil = -1.0
        elif algorithm == "kprototypes":
            if dist is None:
                assert codes is not None  # checked above for kprototypes
                dist = mixed_distances(features[idx], codes[idx], fit.scorer.gamma)
            sil = float(silhouette_score(dist, labels, metric="precomputed"))
        else:
            sil = float(silhouette_score(features[idx], labels))
        scores.append(KScore(k, sil, fit.inertia, fit.bic))
    return _decide(algorithm, scores, tolerance, flat, floor), fits


def _decide(algorithm: str, scores: list[KScore], tolerance: float, flat: float, floor: float) -> KChoice:
    sil = np.array([s.silhouette for s in scores])
    ks = [s.k for s in scores]
    best = float(sil.max())
    if best < floor or float(sil.max() - sil.min()) < flat:
        knee = elbow(ks, [s.inertia for s in scores])
        if knee is not None:
            return KChoice(
                knee, f"silhouette flat (best {best:.3f}); elbow of inertia at k={knee}", tuple(scores)
            )
        k = DEFAULT_K if DEFAULT_K in ks else ks[len(ks) // 2]
        return KChoice(
            k, f"no cluster structure found (best silhouette {best:.3f}); default k={k}", tuple(scores)
        )
    near = [s for s in scores if s.silhouette >= best - tolerance]
    if len(near) == 1:
        return KChoice(near[0].k, f"best silhouette {best:.3f}", tuple(scores))
    if algorithm == "gmm" and all(s.bic is not None for s in near):
        pick = min(near, key=lambda s: s.bic)  # type: ignore[arg-type,return-value]
        return KChoice(
            pick.k,
            f"silhouette within {tolerance} of best ({best:.3f}) for k={[s.k for s in near]}; lowest BIC",
            tuple(scores),
        )
    knee = elbow(ks, [s.inertia for s in scores])
    if knee is None:
        pick = max(near, key=lambda s: s.silhouette)
        return KChoice(pick.k, f"best silhouette {best:.3f}; no elbow", tuple(scores))
    pick = min(near, key=lambda s: (abs(s.k - knee), -s.silhouette))
    return KChoice(
        pick.k,
        f"silhouette within {tolerance} of best ({best:.3f}) for k={[s.k for s in near]}; "
        f"nearest the inertia elbow at k={knee}",
        tuple(scores),
    )


def elbow(ks: Sequence[int], inertia: Sequence[float]) -> int | None:
    """The k farthest below the chord from the first to the last point of the normalised inertia curve
    (the "kneedle" rule). None when the curve is a straight line (no elbow)."""
    if len(ks) < 3:
        return None
    x = np.asarray(ks, dtype=float)
    y = np.asarray(inertia, dtype=float)
    if y[0] == y[-1]:
        return None
    xn = (x - x[0]) / (x[-1] - x[0])
    yn = (y - y[-1]) / (y[0] - y[-1])
    gap = (1.0 - xn) - yn  # chord from (0, 1) to (1, 0) minus the curve
    i = int(np.argmax(gap))
    if gap[i] < 0.05:
        return None
    return int(ks[i])


def mixed_distances(x: np.ndarray, codes: np.ndarray, gamma: float) -> np.ndarray:
    """Pairwise k-prototypes distances (square root of the mixed cost), for silhouette."""
    sq = euclidean_distances(x, squared=True)
    for j in range(codes.shape[1]):
        sq += gamma * (codes[:, None, j] != codes[None, :, j])
    np.fill_diagonal(sq, 0.0)
    return np.sqrt(np.maximum(sq, 0.0))
