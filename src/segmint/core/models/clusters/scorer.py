"""One representation of "which cluster is this customer in" shared by NumPy and the engine.

Every supported algorithm assigns a point to the cluster with the smallest score

    score_k(x) = || (x - mu_k) @ W_k ||^2 + c_k + gamma * #{j : cat_j != mode_kj}

* k-means / mini-batch k-means: ``W_k = I``, ``c_k = 0``, no categorical part (nearest centroid);
* Gaussian mixture: ``W_k`` is the Cholesky factor of the component's precision and
  ``c_k = -2 log det W_k - 2 log pi_k``, which is ``-2 log(pi_k N(x | mu_k, Sigma_k))`` up to a constant
  shared by all components, so the argmin is scikit-learn's ``predict``;
* k-prototypes: ``W_k = I`` on the numeric part plus ``gamma`` times the number of categorical mismatches.

Ties go to the lowest cluster index, as with ``numpy.argmin``; the engine expression does the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Scorer"]


@dataclass
class Scorer:
    centers: np.ndarray  # (k, d) in feature space
    whitening: np.ndarray | None = None  # (k, d, d) or None for the identity
    offsets: np.ndarray | None = None  # (k,) or None for zeros
    modes: np.ndarray | None = None  # (k, c) categorical modes (k-prototypes)
    gamma: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def k(self) -> int:
        return int(self.centers.shape[0])

    def scores(self, features: np.ndarray, codes: np.ndarray | None = None) -> np.ndarray:
        """(n, k) matrix of scores; smaller is closer."""
        n = features.shape[0]
        out = np.empty((n, self.k))
        for j in range(self.k):
            diff = features - self.centers[j]
            if self.whitening is not None:
                diff = diff @ self.whitening[j]
            out[:, j] = np.einsum("ij,ij->i", diff, diff)
            if self.offsets is not None:
                out[:, j] += self.offsets[j]
        if self.modes is not None and self.modes.shape[1] and codes is not None:
            mismatches = (codes[:, None, :] != self.modes[None, :, :]).sum(axis=2)
            out += self.gamma * mismatches
        return out

    def predict(self, features: np.ndarray, codes: np.ndarray | None = None) -> np.ndarray:
        return np.argmin(self.scores(features, codes), axis=1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "centers": self.centers.tolist(),
            "whitening": None if self.whitening is None else self.whitening.tolist(),
            "offsets": None if self.offsets is None else self.offsets.tolist(),
            "modes": None if self.modes is None else self.modes.tolist(),
            "gamma": self.gamma,
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scorer:
        def arr(key: str, dtype: Any = np.float64) -> np.ndarray | None:
            value = data.get(key)
            return None if value is None else np.asarray(value, dtype=dtype)

        centers = arr("centers")
        assert centers is not None
        return cls(
            centers=centers.reshape(len(data["centers"]), -1),
            whitening=arr("whitening"),
            offsets=arr("offsets"),
            modes=arr("modes", object),
            gamma=float(data.get("gamma", 0.0)),
            meta=dict(data.get("meta", {})),
        )
