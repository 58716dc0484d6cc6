"""k-prototypes (Huang, 1998) for mixed numeric and categorical traits.

Written here rather than taken from the ``kmodes`` package: that package is lightly maintained and
loops in Python per point, while this version is vectorised (Lloyd-style batch updates), small, and
shares its scoring with :class:`.scorer.Scorer`, so the engine reproduces its assignments exactly.

Cost of a point against a prototype: squared Euclidean distance on the numeric features plus ``gamma``
times the number of categorical traits whose value differs from the prototype's mode. Huang suggests
``gamma`` near half the average standard deviation of the numeric features; that is the default.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segmint.core.models.clusters.scorer import Scorer

__all__ = ["KPrototypes"]


@dataclass
class KPrototypes:
    """scikit-learn style: hyper-parameters in ``__init__``, learned state ending in ``_``."""

    n_clusters: int = 5
    gamma: float | None = None
    n_init: int = 4
    max_iter: int = 100
    random_state: int | None = 0

    def fit(self, numeric: np.ndarray, codes: np.ndarray) -> KPrototypes:
        if numeric.shape[0] < self.n_clusters:
            raise ValueError(f"k-prototypes needs at least {self.n_clusters} rows, got {numeric.shape[0]}")
        rng = np.random.default_rng(self.random_state)
        gamma = self.gamma
        if gamma is None:
            spread = numeric.std(axis=0).mean() if numeric.shape[1] else 1.0
            gamma = 0.5 * float(spread) if spread > 0 else 1.0
        # Encode levels as small integers once: comparisons on ints are much faster than on strings.
        levels = [np.unique(codes[:, j]) for j in range(codes.shape[1])]
        encoded = (
            np.column_stack([np.searchsorted(levels[j], codes[:, j]) for j in range(codes.shape[1])])
            if codes.shape[1]
            else np.empty((numeric.shape[0], 0), dtype=np.int64)
        )
        best = None
        for run in range(self.n_init):
            # Alternate the two seedings: numeric-led finds clusters that differ in numbers, category-led
            # those that differ mainly in levels (numeric seeding alone tends to miss them).
            category_led = bool(run % 2) and encoded.shape[1] > 0
            result = self._run(numeric, encoded, [len(lv) for lv in levels], gamma, rng, category_led)
            if best is None or result[2] < best[2]:
                best = result
        assert best is not None
        centers, modes_enc, cost, labels = best
        modes = np.empty(modes_enc.shape, dtype=object)
        for j in range(modes_enc.shape[1]):
            modes[:, j] = levels[j][modes_enc[:, j]]
        self.gamma_ = gamma
        self.cluster_centers_ = centers
        self.modes_ = modes
        self.cost_ = cost
        self.labels_ = labels
        return self

    def scorer(self) -> Scorer:
        return Scorer(centers=self.cluster_centers_, modes=self.modes_, gamma=self.gamma_)

    def predict(self, numeric: np.ndarray, codes: np.ndarray) -> np.ndarray:
        return self.scorer().predict(numeric, codes)

    # -- one run -----------------------------------------------------------------------------------
    def _run(
        self,
        x: np.ndarray,
        c: np.ndarray,
        n_levels: list[int],
        gamma: float,
        rng: np.random.Generator,
        category_led: bool = False,
    ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
        n, k = x.shape[0], self.n_clusters
        if category_led:
            centers, modes = self._init_by_category(x, c, rng)
        else:
            centers, modes = self._init(x, c, gamma, rng)
        labels = np.full(n, -1)
        cost = np.inf
        for _ in range(self.max_iter):
            dist = _cost_matrix(x, c, centers, modes, gamma)
            new_labels = np.argmin(dist, axis=1)
            cost = float(dist[np.arange(n), new_labels].sum())
            if np.array_equal(new_labels, labels):
                break
            labels = new_labels
            for j in range(k):
                members = labels == j
                if not members.any():
                    # Re-seed an empty cluster at the point that is worst served now.
                    far = int(np.argmax(dist[np.arange(n), labels]))
                    centers[j], modes[j] = x[far], c[far]
                    continue
                centers[j] = x[members].mean(axis=0)
                for f, size in enumerate(n_levels):
                    modes[j, f] = int(np.argmax(np.bincount(c[members, f], minlength=size)))
        return centers, modes, cost, labels

    def _init(
        self, x: np.ndarray, c: np.ndarray, gamma: float, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """k-means++ seeding under the mixed cost: spread the first prototypes far apart."""
        n, k = x.shape[0], self.n_clusters
        chosen = [int(rng.integers(n))]
        closest = _cost_matrix(x, c, x[chosen], c[chosen], gamma)[:, 0]
        for _ in range(1, k):
            total = closest.sum()
            probs = closest / total if total > 0 else np.full(n, 1.0 / n)
            pick = int(rng.choice(n, p=probs))
            chosen.append(pick)
            closest = np.minimum(closest, _cost_matrix(x, c, x[[pick]], c[[pick]], gamma)[:, 0])
        return x[chosen].astype(np.float64).copy(), c[chosen].copy()

    def _init_by_category(
        self, x: np.ndarray, c: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """k-means++ seeding on the categorical mismatches only; each prototype's numeric part is the
        mean of the points sharing its seed's levels, so the first assignment follows the categories."""
        n, k = x.shape[0], self.n_clusters
        zeros = np.zeros((n, 0))
        chosen = [int(rng.integers(n))]
        closest = _cost_matrix(zeros, c, zeros[:1], c[chosen], 1.0)[:, 0]
        for _ in range(1, k):
            total = closest.sum()
            probs = closest / total if total > 0 else np.full(n, 1.0 / n)
            pick = int(rng.choice(n, p=probs))
            chosen.append(pick)
            closest = np.minimum(closest, _cost_matrix(zeros, c, zeros[:1], c[[pick]], 1.0)[:, 0])
        centers = np.empty((k, x.shape[1]))
        for j, seed in enumerate(chosen):
            same = (c == c[seed]).all(axis=1)
            centers[j] = x[same].mean(axis=0)
        return centers, c[chosen].copy()


def _cost_matrix(
    x: np.ndarray, c: np.ndarray, centers: np.ndarray, modes: np.ndarray, gamma: float
) -> np.ndarray:
    out = ((x[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    if c.shape[1]:
        out = out + gamma * (c[:, None, :] != modes[None, :, :]).sum(axis=2)
    return out
