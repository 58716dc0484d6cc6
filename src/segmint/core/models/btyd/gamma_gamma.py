"""Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV"; Hardie's note
"The Gamma-Gamma Model of Monetary Value", 2013).

A customer's transaction values are Gamma(p, nu), and nu ~ Gamma(q, gamma) across customers. For a
customer with x transactions of mean m the density of m is

    f(m | p, q, gamma, x) = Gamma(px+q) / (Gamma(px) Gamma(q)) gamma^q m^(px-1) x^(px) / (gamma + m x)^(px+q)

Spend is assumed independent of the purchase process, so only customers with x >= 1 (repeat)
transactions enter, and m is the mean of those repeat transactions.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np
from scipy.special import digamma, gammaln

from segmint.core.models.btyd._base import BaseFitter, Rows, as_array, compress
from segmint.core.models.btyd.errors import ModelInputError

__all__ = ["GammaGammaFitter"]


class GammaGammaFitter(BaseFitter):
    """Fitted attributes: p_, q_, v_ (the published gamma), log_likelihood_, standard_errors_,
    n_customers_. Hyper-parameters as for the transaction models; ``min_repeaters`` is unused (every
    customer fitted must have x >= 1)."""

    param_names: ClassVar[tuple[str, ...]] = ("p", "q", "v")
    scaled_params: ClassVar[tuple[str, ...]] = ("v",)
    # Fitted, set by fit() or from_params() (declared only: they do not exist before, which is how
    # _check_fitted tells).
    p_: float
    q_: float
    v_: float

    def fit(self, x: Any, monetary_value: Any, weights: Any = None) -> Self:
        """Fit on customers with x >= 1 repeat transactions and their mean repeat spend (> 0). Customers
        with x = 0 must be left out by the caller (their spend says nothing about repeat spend)."""
        x, m = self._check(x, monetary_value)
        w = np.ones(x.size) if weights is None else as_array("weights", weights, size=x.size)
        if np.any(w < 0):
            raise ModelInputError("weights must be >= 0")
        self._require(float(w.sum()), float(w.sum()), "a repeat purchase")
        if np.ptp(m[w > 0]) == 0:
            raise ModelInputError(
                "every customer has the same mean spend: the Gamma-Gamma model needs variation"
            )
        return self._fit_rows(compress((x, m), w))

    @staticmethod
    def _check(x: Any, monetary_value: Any) -> tuple[np.ndarray, np.ndarray]:
        x = as_array("x (repeat purchases)", x)
        m = as_array("monetary_value", monetary_value, size=x.size)
        if np.any(x < 1) or np.any(x != np.round(x)):
            raise ModelInputError(
                "Gamma-Gamma is fitted on customers with at least one repeat purchase: keep only x >= 1"
            )
        if np.any(m <= 0):
            raise ModelInputError("monetary_value must be > 0 (mean spend of the repeat purchases)")
        return x, m

    def _scale_factor(self, rows: Rows) -> float:
        return 1.0 / float(np.average(rows.columns[1], weights=rows.weights))

    def _rescale(self, rows: Rows, factor: float) -> Rows:
        x, m = rows.columns
        return Rows((x, m * factor), rows.weights, rows.inverse)

    def _loglik(self, params: np.ndarray, rows: Rows, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
        p, q, v = params
        x, m = rows.columns
        px = p * x
        log_vmx = np.log(v + m * x)
        ll = (
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(v)
            + (px - 1) * np.log(m)
            + px * np.log(x)
            - (px + q) * log_vmx
        )
        if not grad:
            return ll, None
        psi_pxq = digamma(px + q)
        g = np.empty((x.size, 3))
        g[:, 0] = x * (psi_pxq - digamma(px) + np.log(m * x) - log_vmx)
        g[:, 1] = psi_pxq - digamma(q) + np.log(v) - log_vmx
        g[:, 2] = q / v - (px + q) / (v + m * x)
        return ll, g

    def log_likelihood(self, x: Any, monetary_value: Any) -> np.ndarray:
        x, m = self._check(x, monetary_value)
        return self._loglik(self._params(), Rows((x, m), np.ones(x.size), None), False)[0]

    def conditional_expected_average_spend(self, x: Any, monetary_value: Any) -> np.ndarray:
        """E[M | x, m] = p (v + x m) / (p x + q - 1): a weighted average of the population mean
        p v / (q - 1) and the customer's own mean m. Customers with x = 0 get the population mean."""
        self._check_fitted()
        x = np.asarray(x, dtype=float)
        m = np.where(x > 0, np.asarray(monetary_value, dtype=float), 0.0)
        p, q, v = self.p_, self.q_, self.v_
        return p * (v + x * m) / (p * x + q - 1)

    def expected_average_spend(self) -> float:
        """Population mean spend per transaction p v / (q - 1) (infinite when q <= 1)."""
        self._check_fitted()
        return self.p_ * self.v_ / (self.q_ - 1) if self.q_ > 1 else float("inf")
