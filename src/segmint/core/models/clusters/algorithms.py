"""Fit one clustering algorithm at one k on in-memory features and return a :class:`Scorer`.

k-means, mini-batch k-means and Gaussian mixtures come from scikit-learn; k-prototypes is ours
(:mod:`.kprototypes`). Whatever the algorithm, the result is reduced to a :class:`Scorer` so the rest of
the package (engine assignment, matching, stability) never needs to know which one ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.mixture import GaussianMixture

from segmint.core.models.clusters.kprototypes import KPrototypes
from segmint.core.models.clusters.scorer import Scorer

__all__ = ["ALGORITHMS", "Fitted", "fit_algorithm", "gmm_scorer"]

ALGORITHMS = ("kmeans", "minibatch", "gmm", "kprototypes")


@dataclass
class Fitted:
    scorer: Scorer
    labels: np.ndarray  # labels of the fitted rows, from the scorer
    estimator: Any  # the library's estimator, for its own predict
    inertia: float  # within-cluster sum of squared distances to centers (feature space)
    bic: float | None = None  # Gaussian mixtures only


def fit_algorithm(
    algorithm: str,
    k: int,
    features: np.ndarray,
    codes: np.ndarray | None = None,
    *,
    seed: int = 0,
    n_init: int = 4,
) -> Fitted:
    """Fit ``algorithm`` with ``k`` clusters. ``features`` are the preprocessed numeric columns (plus
    one-hot indicators unless k-prototypes); ``codes`` the categorical levels for k-prototypes."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}")
    if features.shape[0] <= k:
        raise ValueError(f"{features.shape[0]} rows cannot make {k} clusters")
    if algorithm == "kmeans":
        est: Any = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(features)
        scorer = Scorer(centers=est.cluster_centers_.astype(np.float64))
    elif algorithm == "minibatch":
        est = MiniBatchKMeans(
            n_clusters=k, n_init=n_init, random_state=seed, batch_size=4096, max_no_improvement=20
        ).fit(features)
        scorer = Scorer(centers=est.cluster_centers_.astype(np.float64))
    elif algorithm == "gmm":
        est = GaussianMixture(
            n_components=k,
            covariance_type="full",
            n_init=max(1, n_init // 2),
            random_state=seed,
            reg_covar=1e-3,
        ).fit(features)
        scorer = gmm_scorer(est)
    else:
        est = KPrototypes(n_clusters=k, n_init=n_init, random_state=seed).fit(
            features, codes if codes is not None else np.empty((features.shape[0], 0), dtype=object)
        )
        scorer = est.scorer()
    labels = scorer.predict(features, codes)
    inertia = float(((features - scorer.centers[labels]) ** 2).sum())
    bic = float(est.bic(features)) if algorithm == "gmm" else None
    return Fitted(scorer=scorer, labels=labels, estimator=est, inertia=inertia, bic=bic)


def gmm_scorer(gmm: GaussianMixture) -> Scorer:
    """Express a fitted mixture's ``predict`` as whitened squared distances plus per-component offsets."""
    k, d = gmm.means_.shape
    chol = np.asarray(gmm.precisions_cholesky_, dtype=np.float64)
    kind = gmm.covariance_type
    if kind == "full":
        whitening = chol
    elif kind == "tied":
        whitening = np.repeat(chol[None, :, :], k, axis=0)
    elif kind == "diag":
        whitening = np.stack([np.diag(row) for row in chol])
    else:  # spherical
        whitening = np.stack([np.eye(d) * s for s in chol])
    log_det = np.array([np.log(np.diag(w)).sum() for w in whitening])
    offsets = -2.0 * log_det - 2.0 * np.log(gmm.weights_)
    return Scorer(centers=gmm.means_.astype(np.float64), whitening=whitening, offsets=offsets)
