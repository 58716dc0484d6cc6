"""The shared front of the transaction models (BG/NBD, MBG/NBD, Pareto/NBD): checking (x, t_x, T),
compressing them, rescaling time so the optimiser sees alpha and beta near 1, and the shared shape of
their predictions."""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np

from segmint.core.models.btyd._base import BaseFitter, Rows, as_array, compress
from segmint.core.models.btyd.errors import ModelInputError

__all__ = ["TransactionFitter", "check_summary"]


def check_summary(x: Any, t_x: Any, T: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated (x, t_x, T): x whole and >= 0, 0 <= t_x <= T, T > 0, t_x = 0 when x = 0."""
    x = as_array("x (repeat purchases)", x)
    t_x = as_array("t_x (time of last purchase)", t_x, size=x.size)
    T = as_array("T (age of the customer)", T, size=x.size)
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ModelInputError("x must be whole numbers >= 0 (the number of repeat purchases)")
    if np.any(t_x < 0):
        raise ModelInputError("t_x must be >= 0 (time from first to last purchase)")
    if np.any(T < 0):
        raise ModelInputError("T must be >= 0 (time from first purchase to the end of the period)")
    too_late = t_x > T * (1 + 1e-12) + 1e-12
    if np.any(too_late):
        i = int(np.flatnonzero(too_late)[0])
        raise ModelInputError(
            f"t_x > T for customer at position {i} (t_x={t_x[i]:g}, T={T[i]:g}): the last purchase cannot "
            "be after the end of the calibration period; check the calibration end and the time unit"
        )
    bad = (x == 0) & (t_x > 0)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise ModelInputError(
            f"customer at position {i} has x = 0 but t_x = {t_x[i]:g}: with no repeat purchase t_x must be 0"
        )
    return x, np.minimum(t_x, T), T


class TransactionFitter(BaseFitter):
    """fit(x, t_x, T, weights) for the purchase-count models."""

    scaled_params: ClassVar[tuple[str, ...]] = ("alpha", "beta")
    # Fitted parameters every transaction model has, set by fit() or from_params() (declared only:
    # they do not exist before, which is how _check_fitted tells).
    r_: float
    alpha_: float

    def fit(self, x: Any, t_x: Any, T: Any, weights: Any = None) -> Self:
        """Maximum-likelihood fit on per-customer summaries: x repeat purchases, t_x the time of the last
        one and T the customer's age, both measured from the first purchase. ``weights`` counts how many
        customers each row stands for (default 1). Returns self."""
        x, t_x, T = check_summary(x, t_x, T)
        w = np.ones(x.size) if weights is None else as_array("weights", weights, size=x.size)
        if np.any(w < 0):
            raise ModelInputError("weights must be >= 0")
        if np.any(T[w > 0] <= 0) and np.all(T[w > 0] <= 0):
            raise ModelInputError("every T is 0: customers need some time after their first purchase")
        self._require(float(w.sum()), float(w[x > 0].sum()), "at least one repeat purchase")
        rows = compress((x, t_x, T), w)
        return self._fit_rows(self._prepare(rows))

    def _prepare(self, rows: Rows) -> Rows:
        x = rows.columns[0]
        ux, xinv = np.unique(x, return_inverse=True)
        rows.extra = {"ux": ux, "xinv": xinv}
        return rows

    def _scale_factor(self, rows: Rows) -> float:
        t_max = float(rows.columns[2].max())
        return 10.0 / t_max if t_max > 0 else 1.0

    def _rescale(self, rows: Rows, factor: float) -> Rows:
        x, t_x, T = rows.columns
        return Rows((x, t_x * factor, T * factor), rows.weights, rows.inverse, rows.extra)

    def _start(self, rows: Rows) -> np.ndarray:
        return np.ones(len(self.param_names))

    def _inputs(self, x: Any, t_x: Any, T: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self._check_fitted()
        x, t_x, T = np.broadcast_arrays(
            np.asarray(x, dtype=float), np.asarray(t_x, dtype=float), np.asarray(T, dtype=float)
        )
        return x, t_x, T

    def log_likelihood(self, x: Any, t_x: Any, T: Any) -> np.ndarray:
        """Each customer's log-likelihood under the fitted parameters."""
        x, t_x, T = check_summary(x, t_x, T)
        rows = self._prepare(Rows((x, t_x, T), np.ones(x.size), None))
        ll, _ = self._loglik(self._params(), rows, False)
        return ll

    def expected_purchases_new_customer(self, t: Any) -> np.ndarray:
        """E[X(t)]: purchases a customer just acquired makes in the next t (repeat purchases for BG/NBD
        and MBG/NBD, all purchases for Pareto/NBD count the same way: after the first)."""
        raise NotImplementedError

    def conditional_expected_purchases(self, t: Any, x: Any, t_x: Any, T: Any) -> np.ndarray:
        """E[Y(t) | x, t_x, T]: purchases expected in (T, T + t] given the customer's history."""
        raise NotImplementedError

    def probability_alive(self, x: Any, t_x: Any, T: Any) -> np.ndarray:
        """P(still active at T | x, t_x, T)."""
        raise NotImplementedError

    def probability_of_purchases(self, n: Any, t: Any) -> np.ndarray:
        """P(X(t) = n): a customer just acquired makes exactly n (repeat) purchases in the next t."""
        raise NotImplementedError

    def conditional_probability_of_purchases(self, n: Any, t: Any, x: Any, t_x: Any, T: Any) -> np.ndarray:
        """P(Y(t) = n | x, t_x, T): exactly n purchases in (T, T + t] given the history."""
        raise NotImplementedError

    def probability_purchase_within(self, t: Any, x: Any, t_x: Any, T: Any) -> np.ndarray:
        """P(at least one purchase in (T, T + t] | x, t_x, T)."""
        raise NotImplementedError

    def time_to_next_purchase(self, x: Any, t_x: Any, T: Any, quantile: float = 0.5) -> np.ndarray:
        """The time t after T by which an *active* customer has made the next purchase with probability
        ``quantile``. Given the history the purchase rate is Gamma(r + x, alpha + T), so
        P(no purchase in t) = ((alpha + T)/(alpha + T + t))^(r + x) and the quantile is closed-form."""
        x, t_x, T = self._inputs(x, t_x, T)
        r, alpha = self.r_, self.alpha_
        if not 0 < quantile < 1:
            raise ModelInputError("quantile must be between 0 and 1")
        return (alpha + T) * np.expm1(-np.log1p(-quantile) / (r + x))

    def expected_time_to_next_purchase(self, x: Any, t_x: Any, T: Any) -> np.ndarray:
        """E[time to the next purchase | active] = (alpha + T)/(r + x - 1), infinite when r + x <= 1
        (the posterior mean of 1/lambda does not exist there; use time_to_next_purchase instead)."""
        x, t_x, T = self._inputs(x, t_x, T)
        shape = self.r_ + x
        with np.errstate(divide="ignore"):
            return np.where(shape > 1, (self.alpha_ + T) / np.maximum(shape - 1, 1e-300), np.inf)
