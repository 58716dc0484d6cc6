"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987), in the formulation of Fader & Hardie's note "A Note
on Deriving the Pareto/NBD Model and Related Expressions" (2005).

    L = Gamma(r+x) alpha^r beta^s / Gamma(r) * [ (alpha+T)^-(r+x) (beta+T)^-s + s/(r+s+x) A0 ]

with A0 a difference of two Gauss hypergeometric terms. Following the note we expand around
max(alpha, beta), so the argument z = |alpha - beta| / (max(alpha, beta) + t) lies in [0, 1), and then
apply Euler's transformation so that every 2F1 becomes (1-z)^k * 2F1(1, p; q; z) with 0 < p < q — a
series of positive terms summed in log space (see _special.py). With u(t) the log of each term:

    alpha >= beta:  u(t) = -(r+x) log(alpha+t) - s log(beta+t) + log S(r+x,     r+s+x+1, z)
    alpha <  beta:  u(t) = (1-r-x) log(alpha+t) - (s+1) log(beta+t) + log S(s+1, r+s+x+1, z)

and A0 = exp(u(t_x)) - exp(u(T)). Every piece has an exact derivative, so the optimiser gets the true
gradient. The series is evaluated once per distinct (x, t) pair, not per customer.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.special import digamma, gammaln

from segmint.core.models.btyd._base import Rows
from segmint.core.models.btyd._special import log_series_1pq
from segmint.core.models.btyd._transactions import TransactionFitter

__all__ = ["ParetoNBDFitter"]


def _pairs(x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (x, t) pairs and the index of each row's pair."""
    stacked = np.column_stack([x, t])
    uniq, inv = np.unique(stacked, axis=0, return_inverse=True)
    return uniq[:, 0], uniq[:, 1], inv.reshape(-1)


def _log_term(params: np.ndarray, x: np.ndarray, t: np.ndarray, grad: bool) -> tuple[np.ndarray, np.ndarray]:
    """u(t) of the module docstring and its gradient in (r, alpha, s, beta), per row."""
    r, alpha, s, beta = params
    la, lb = np.log(alpha + t), np.log(beta + t)
    q = r + s + x + 1
    g = np.zeros((x.size, 4))
    if alpha >= beta:
        z = (alpha - beta) / (alpha + t)
        ser = log_series_1pq(r + x, q, z, grad)
        u = -(r + x) * la - s * lb + ser.log
        if grad:
            g[:, 0] = -la + ser.dp + ser.dq
            g[:, 1] = -(r + x) / (alpha + t) + ser.dz * (beta + t) / (alpha + t) ** 2
            g[:, 2] = -lb + ser.dq
            g[:, 3] = -s / (beta + t) - ser.dz / (alpha + t)
    else:
        z = (beta - alpha) / (beta + t)
        ser = log_series_1pq(s + 1, q, z, grad)
        u = (1 - r - x) * la - (s + 1) * lb + ser.log
        if grad:
            g[:, 0] = -la + ser.dq
            g[:, 1] = (1 - r - x) / (alpha + t) - ser.dz / (beta + t)
            g[:, 2] = -lb + ser.dp + ser.dq
            g[:, 3] = -(s + 1) / (beta + t) + ser.dz * (alpha + t) / (beta + t) ** 2
    return u, g


class ParetoNBDFitter(TransactionFitter):
    """Pareto/NBD: purchases Poisson(lambda) while active, lambda ~ Gamma(r, alpha); lifetime
    Exponential(mu), mu ~ Gamma(s, beta). Fitted attributes: r_, alpha_, s_, beta_, log_likelihood_,
    standard_errors_, n_customers_."""

    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")

    def _prepare(self, rows: Rows) -> Rows:
        rows = super()._prepare(rows)
        x, t_x, T = rows.columns
        rows.extra["tx_pairs"] = _pairs(x, t_x)
        rows.extra["T_pairs"] = _pairs(x, T)
        return rows

    def _rescale(self, rows: Rows, factor: float) -> Rows:
        scaled = super()._rescale(rows, factor)
        extra = dict(rows.extra)
        for key in ("tx_pairs", "T_pairs"):
            px, pt, inv = rows.extra[key]
            extra[key] = (px, pt * factor, inv)
        scaled.extra = extra
        return scaled

    def _pieces(self, params: np.ndarray, rows: Rows, grad: bool):
        """Per row: the log of the 'alive at T' term E0, the log of the 'died in (t_x, T]' term C, and
        their gradients."""
        r, alpha, s, beta = params
        x, _, T = rows.columns
        terms = []
        for key in ("tx_pairs", "T_pairs"):
            px, pt, inv = rows.extra[key]
            u, gu = _log_term(params, px, pt, grad)
            terms.append((u[inv], gu[inv]))
        (u_x, g_x), (u_T, g_T) = terms
        la_T, lb_T = np.log(alpha + T), np.log(beta + T)
        e0 = -(r + x) * la_T - s * lb_T
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.exp(np.minimum(u_T - u_x, 0.0))
            log_diff = u_x + np.log1p(-rho)  # log(exp(u_x) - exp(u_T)); -inf when t_x = T
        a = r + s + x
        c = np.log(s) - np.log(a) + log_diff
        if not grad:
            return e0, c, None, None
        ge0 = np.zeros((x.size, 4))
        ge0[:, 0] = -la_T
        ge0[:, 1] = -(r + x) / (alpha + T)
        ge0[:, 2] = -lb_T
        ge0[:, 3] = -s / (beta + T)
        with np.errstate(divide="ignore", invalid="ignore"):
            gd = (g_x - rho[:, None] * g_T) / (1.0 - rho)[:, None]
        gd[~np.isfinite(log_diff)] = 0.0
        gc = gd
        gc[:, 0] += -1.0 / a
        gc[:, 2] += 1.0 / s - 1.0 / a
        return e0, c, ge0, gc

    def _loglik(self, params: np.ndarray, rows: Rows, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
        r, alpha, s, beta = params
        ux, inv = rows.extra["ux"], rows.extra["xinv"]
        e0, c, ge0, gc = self._pieces(params, rows, grad)
        m = np.logaddexp(e0, c)
        ll = (gammaln(r + ux) - gammaln(r))[inv] + r * np.log(alpha) + s * np.log(beta) + m
        if not grad:
            return ll, None
        w0 = np.exp(e0 - m)
        w1 = np.exp(c - m)
        g = w0[:, None] * ge0 + w1[:, None] * gc
        g[:, 0] += (digamma(r + ux) - digamma(r))[inv] + np.log(alpha)
        g[:, 1] += r / alpha
        g[:, 2] += np.log(beta)
        g[:, 3] += s / beta
        return ll, g

    # -- predictions ------------------------------------------------------------------------------
    def _rows_for(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> Rows:
        flat = tuple(np.ascontiguousarray(v, dtype=float).reshape(-1) for v in (x, t_x, T))
        return self._prepare(Rows(flat, np.ones(flat[0].size), None))

    def probability_alive(self, x: Any, t_x: Any, T: Any) -> np.ndarray:
        """P(alive) = exp(E0) / (exp(E0) + exp(C)): the share of the likelihood from 'still active'."""
        x, t_x, T = self._inputs(x, t_x, T)
        e0, c, _, _ = self._pieces(self._params(), self._rows_for(x, t_x, T), False)
        return np.exp(e0 - np.logaddexp(e0, c)).reshape(x.shape)

    def conditional_expected_purchases(self, t: Any, x: Any, t_x: Any, T: Any) -> np.ndarray:
        """E[Y(t) | x, t_x, T] = (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)]
        * P(alive); at s = 1 the bracket's limit (beta+T) log(1 + t/(beta+T)) is used."""
        x, t_x, T = self._inputs(x, t_x, T)
        r, alpha, s, beta = self._params()
        return (r + x) / (alpha + T) * _lifetime_factor(t, s, beta + T) * self.probability_alive(x, t_x, T)

    def expected_purchases_new_customer(self, t: Any) -> np.ndarray:
        """E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]."""
        self._check_fitted()
        return self.r_ / self.alpha_ * _lifetime_factor(t, self.s_, self.beta_)


def _lifetime_factor(t: Any, s: float, b: Any) -> np.ndarray:
    """E[min(tau, t)]-like factor b/(s-1) [1 - (b/(b+t))^(s-1)] written with expm1 so it is exact near s = 1."""
    t = np.asarray(t, dtype=float)
    b = np.asarray(b, dtype=float)
    k = np.log1p(t / b)
    if abs(s - 1) < 1e-8:
        return b * k
    return -b / (s - 1) * np.expm1(-(s - 1) * k)
