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

from segmint.core.models.btyd._base import Rows, unique_rows
from segmint.core.models.btyd._special import gauss_legendre_panels, log_nb_pmf, log_series_1pq
from segmint.core.models.btyd._transactions import TransactionFitter

__all__ = ["ParetoNBDFitter"]


def _pairs(x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (x, t) pairs and the index of each row's pair."""
    (ux, ut), inv = unique_rows(x, t)
    return ux, ut, inv


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
    # Fitted, set by fit() or from_params() (declared only; see TransactionFitter).
    s_: float
    beta_: float

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

    def probability_of_purchases(self, n: Any, t: Any) -> np.ndarray:
        """P(X(t) = n): purchases after the first that a customer just acquired makes in the next t."""
        self._check_fitted()
        n, t = np.broadcast_arrays(np.asarray(n, dtype=float), np.asarray(t, dtype=float))
        r, alpha, s, beta = self._params()
        return pmf_while_alive(n, t, r, alpha, s, beta)

    def conditional_probability_of_purchases(self, n: Any, t: Any, x: Any, t_x: Any, T: Any) -> np.ndarray:
        """P(Y(t) = n | x, t_x, T): exactly n purchases in (T, T + t] given the history.

        Given the history and that the customer is alive at T, lambda ~ Gamma(r + x, alpha + T) and
        mu ~ Gamma(s, beta + T) independently (the likelihood of being alive with x purchases is
        lambda^x e^{-(lambda + mu) T}), and by memorylessness the process restarts at T with those
        parameters. A customer who has died buys nothing. Its mean is conditional_expected_purchases."""
        x, t_x, T = self._inputs(x, t_x, T)
        n, t, x, t_x, T = np.broadcast_arrays(
            np.asarray(n, dtype=float), np.asarray(t, dtype=float), x, t_x, T
        )
        r, alpha, s, beta = self._params()
        alive = self.probability_alive(x, t_x, T)
        return alive * pmf_while_alive(n, t, r + x, alpha + T, s, beta + T) + (1.0 - alive) * (n == 0)

    def probability_purchase_within(self, t: Any, x: Any, t_x: Any, T: Any) -> np.ndarray:
        """P(at least one purchase in (T, T + t] | history) = P(alive) (1 - P0), with P0 the chance that
        a customer alive at T buys nothing before T + t: alive throughout and no purchase, or dead at
        some tau in (T, T + t] with no purchase before. The second part is the same integral as the
        likelihood's death term, over (T, T + t] instead of (t_x, T], so it comes from the same exact
        series u(.) (module docstring):

            P0 = ((alpha+T)/(alpha+T+t))^(r+x) ((beta+T)/(beta+T+t))^s
                 + s (alpha+T)^(r+x) (beta+T)^s / (r+s+x) [exp(u(T)) - exp(u(T+t))]
        """
        x, t_x, T = self._inputs(x, t_x, T)
        t, x, t_x, T = np.broadcast_arrays(np.asarray(t, dtype=float), x, t_x, T)
        params = self._params()
        r, alpha, s, beta = params
        shape = r + x
        flat = [v.reshape(-1) for v in (x, T, T + t)]
        u_from, u_to = (_unique_log_term(params, flat[0], end) for end in flat[1:])
        u_from, u_to = u_from.reshape(x.shape), u_to.reshape(x.shape)
        log_alive_through = shape * (np.log(alpha + T) - np.log(alpha + T + t)) + s * (
            np.log(beta + T) - np.log(beta + T + t)
        )
        with np.errstate(divide="ignore"):
            log_died_quiet = (
                np.log(s)
                + shape * np.log(alpha + T)
                + s * np.log(beta + T)
                - np.log(r + s + x)
                + u_from
                + np.log1p(-np.exp(np.minimum(u_to - u_from, 0.0)))
            )
        none = np.exp(log_alive_through) + np.exp(log_died_quiet)
        return self.probability_alive(x, t_x, T) * np.clip(1.0 - none, 0.0, 1.0)


def _unique_log_term(params: np.ndarray, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """u(t) of the module docstring per row, summing the series once per distinct (x, t)."""
    px, pt, inv = _pairs(x, t)
    u, _ = _log_term(params, px, pt, False)
    return u[inv]


# Composite Gauss-Legendre quadrature for pmf_while_alive, in y = log(u): (panels, interval) pairs for
# the stretch below the count's peak, the peak itself and the stretch above it.
_PANELS = (48, 16, 16)
_LOG_SPAN = 36.0  # integrate u over [t e^-36, t]; below that the count is 0 but for n = 0 (added exactly)
_PEAK_SDS = 12.0
_CHUNK_ROWS = 1 << 13


def pmf_while_alive(n: Any, t: Any, shape: Any, rate: Any, s: Any, beta: Any) -> np.ndarray:
    """P(n purchases in the next t) for a customer alive now, with purchase rate lambda ~ Gamma(shape,
    rate) and death rate mu ~ Gamma(s, beta); element-wise over broadcast arrays.

    Given lambda the count up to u is Poisson(lambda u), so mixed over lambda it is NB(n; shape,
    u/(rate+u)). Purchases stop at death; mixed over mu the remaining lifetime tau is Lomax(s, beta),
    P(tau > u) = (beta/(beta+u))^s. Hence

        P = P(tau > t) NB(n; t) + integral_0^t NB(n; u) f_tau(u) du,

    a sum of positive terms, unlike the closed form (a difference of 2F1 sums that cancels badly). The
    integral is taken over y = log u, where both factors are smooth, with 8-point Gauss-Legendre panels:
    a block of 16 panels on +-12 standard deviations around the count's peak (u = rate n / shape, sd in y
    about sqrt(1/n + 1/shape)) and 48 and 16 panels on the stretches below and above it. The tests check
    it against a rule with 25 times as many points and against the identities sum P = 1 and
    sum n P = E[X(t)]."""
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (n, t, shape, rate, s, beta)))
    # Customers share (x, T) far more often than not: integrate once per distinct argument row.
    distinct, inverse = unique_rows(*(v.reshape(-1) for v in arrays))
    res = np.empty(distinct[0].size)
    for start in range(0, res.size, _CHUNK_ROWS):
        part = slice(start, start + _CHUNK_ROWS)
        res[part] = _pmf_block(*(v[part] for v in distinct))
    return res[inverse].reshape(arrays[0].shape)


def _pmf_block(n, t, shape, rate, s, beta) -> np.ndarray:
    positive = t > 0
    t_safe = np.where(positive, t, 1.0)
    survive = np.exp(-s * np.log1p(t / beta) + log_nb_pmf(n, shape, rate, t))
    y_hi = np.log(t_safe)
    y_lo = y_hi - _LOG_SPAN
    peak = np.log(rate) + np.log(np.maximum(n, 1.0)) - np.log(shape)
    sd = np.sqrt(1.0 / np.maximum(n, 1.0) + 1.0 / shape)
    a = np.where(n > 0, np.clip(peak - _PEAK_SDS * sd, y_lo, y_hi), y_hi)
    b = np.where(n > 0, np.clip(peak + _PEAK_SDS * sd, y_lo, y_hi), y_hi)
    parts = [
        gauss_legendre_panels(lo, hi, k)
        for (lo, hi), k in zip(((y_lo, a), (a, b), (b, y_hi)), _PANELS, strict=True)
    ]
    y = np.concatenate([nodes for nodes, _ in parts], axis=1)
    w = np.concatenate([weights for _, weights in parts], axis=1)
    u = np.exp(y)
    # f_tau(u) du = s beta^s (beta+u)^-(s+1) u dy
    log_f = (
        log_nb_pmf(n[:, None], shape[:, None], rate[:, None], u)
        + np.log(s)[:, None]
        + s[:, None] * np.log(beta)[:, None]
        - (s[:, None] + 1.0) * np.log(beta[:, None] + u)
        + y
    )
    integral = np.einsum("ij,ij->i", np.exp(log_f), w)
    # Below u_lo the count is zero unless n = 0, where NB(0; u) = 1 - O(u): add P(tau <= u_lo).
    u_lo = np.exp(y_lo)
    below = np.where(n == 0, -np.expm1(-s * np.log1p(u_lo / beta)), 0.0)
    return np.where(positive, survive + integral + below, (n == 0).astype(float))


def _lifetime_factor(t: Any, s: float, b: Any) -> np.ndarray:
    """E[min(tau, t)]-like factor b/(s-1) [1 - (b/(b+t))^(s-1)] written with expm1 so it is exact near s = 1."""
    t = np.asarray(t, dtype=float)
    b = np.asarray(b, dtype=float)
    k = np.log1p(t / b)
    if abs(s - 1) < 1e-8:
        return b * k
    return -b / (s - 1) * np.expm1(-(s - 1) * k)
