"""BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way") and MBG/NBD (Batislam,
Denizel & Filiztekin 2007), which differ only in when a customer may drop out: after each repeat
purchase (BG/NBD) or also right after the first purchase (MBG/NBD).

Likelihood of one customer, with B the beta function and delta = 1 for MBG/NBD, 0 for BG/NBD:

    L = Gamma(r+x)/Gamma(r) alpha^r [ B(a, b+x+delta)/B(a,b) (alpha+T)^-(r+x)
                                      + [x>0 or MBG] B(a+1, b+x-1+delta)/B(a,b) (alpha+t_x)^-(r+x) ]

evaluated as a log-sum-exp of the two terms, so a customer with x = 500 or T = 10^6 stays finite.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.special import betainc, betaln, digamma, expit, gammaln, hyp2f1

from segmint.core.models.btyd._base import Rows
from segmint.core.models.btyd._special import gauss_legendre_panels, log_nb_pmf
from segmint.core.models.btyd._transactions import TransactionFitter

__all__ = ["BetaGeoFitter", "ModifiedBetaGeoFitter"]


class _BetaGeometric(TransactionFitter):
    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    # 0 for BG/NBD, 1 for MBG/NBD (drop-out possible at time 0 as well).
    _shift: ClassVar[int] = 0

    def _loglik(self, params: np.ndarray, rows: Rows, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
        r, alpha, a, b = params
        x, t_x, T = rows.columns
        ux, inv = rows.extra["ux"], rows.extra["xinv"]
        d = self._shift
        lnb = betaln(a, b)
        # Per distinct x (few of them): the x-dependent constants of both terms.
        c0 = gammaln(r + ux) - gammaln(r)
        c1 = betaln(a, b + ux + d) - lnb
        has2 = (ux > 0) | (d == 1)
        c2 = np.where(has2, betaln(a + 1, b + np.maximum(ux - 1 + d, 0)) - lnb, -np.inf)
        shape = r + x
        log_at = np.log(alpha + T)
        log_atx = np.log(alpha + t_x)
        l1 = c1[inv] - shape * log_at
        l2 = c2[inv] - shape * log_atx
        m = np.logaddexp(l1, l2)
        ll = c0[inv] + r * np.log(alpha) + m
        if not grad:
            return ll, None
        w1 = np.exp(l1 - m)
        w2 = np.exp(l2 - m)
        psi_ab = digamma(a + b)
        psi_abx = digamma(a + b + ux + d)
        psi_b = digamma(b)
        d1a = psi_ab - psi_abx
        d1b = digamma(b + ux + d) - psi_abx - psi_b + psi_ab
        d2a = 1.0 / a + psi_ab - psi_abx
        d2b = np.where(has2, digamma(b + np.maximum(ux - 1 + d, 0)) - psi_abx - psi_b + psi_ab, 0.0)
        g = np.empty((x.size, 4))
        g[:, 0] = (digamma(r + ux) - digamma(r))[inv] + np.log(alpha) - w1 * log_at - w2 * log_atx
        g[:, 1] = r / alpha - shape * (w1 / (alpha + T) + w2 / (alpha + t_x))
        g[:, 2] = w1 * d1a[inv] + w2 * d2a[inv]
        g[:, 3] = w1 * d1b[inv] + w2 * d2b[inv]
        return ll, g

    # -- predictions ------------------------------------------------------------------------------
    def _log_odds_dead(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """log of the ratio P(dropped out)/P(alive) given the history (-inf when it cannot have)."""
        r, alpha, a, b = self._params()
        d = self._shift
        with np.errstate(divide="ignore"):
            odds = (
                np.log(a)
                - np.log(np.maximum(b + x - 1 + d, 1e-300))
                + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
            )
        return np.where((x > 0) | (d == 1), odds, -np.inf)

    def probability_alive(self, x: Any, t_x: Any, T: Any) -> np.ndarray:
        x, t_x, T = self._inputs(x, t_x, T)
        return expit(-self._log_odds_dead(x, t_x, T))

    def conditional_expected_purchases(self, t: Any, x: Any, t_x: Any, T: Any) -> np.ndarray:
        """FHL (2005) eq. 10 (and its MBG/NBD analogue). The factor ((alpha+T)/(alpha+T+t))^(r+x) times
        2F1(r+x, b+x+delta; a+b+x-1+delta; z) is rewritten by Euler's transformation as
        (1-z)^(a-1) 2F1(a+b-1+delta-r, a-1; a+b+x-1+delta; z), whose parameters stay bounded as x grows,
        so very frequent buyers do not overflow."""
        x, t_x, T = self._inputs(x, t_x, T)
        t = np.asarray(t, dtype=float)
        r, alpha, a, b = self._params()
        d = self._shift
        t, x, t_x, T = np.broadcast_arrays(t, x, t_x, T)
        z = t / (alpha + T + t)
        c = a + b + x - 1 + d
        with np.errstate(invalid="ignore", over="ignore"):
            tail = np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - 1 + d - r, a - 1, c, z)
            expected = c / (a - 1) * (1.0 - tail)
        # With a very large a (drop-out nearly fixed across customers) the first factor underflows and
        # the 2F1 overflows; those rows are integrated over p instead.
        bad = ~np.isfinite(expected)
        if bad.any():
            expected = np.array(expected, dtype=float, copy=True)
            expected[bad] = _expected_while_alive(t[bad], r + x[bad], alpha + T[bad], a, b + x[bad] + d)
        return expected * self.probability_alive(x, t_x, T)

    def probability_purchase_within(self, t: Any, x: Any, t_x: Any, T: Any) -> np.ndarray:
        """P(at least one purchase in (T, T + t] | history). A customer drops out only right after a
        purchase, so one alive at T buys nothing in the next t exactly when the Poisson process has no
        event: with lambda ~ Gamma(r + x, alpha + T) a posteriori, that is ((alpha+T)/(alpha+T+t))^(r+x)."""
        x, t_x, T = self._inputs(x, t_x, T)
        t = np.asarray(t, dtype=float)
        r, alpha, _, _ = self._params()
        none_if_alive = np.exp(-(r + x) * np.log1p(t / (alpha + T)))
        return self.probability_alive(x, t_x, T) * (1.0 - none_if_alive)

    def expected_purchases_new_customer(self, t: Any) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        zero = np.zeros_like(t)
        return self.conditional_expected_purchases(t, zero, zero, zero)

    def probability_of_purchases(self, n: Any, t: Any) -> np.ndarray:
        """P(X(t) = n) for a customer just acquired (FHL 2005 eq. 8 for BG/NBD; for MBG/NBD the customer
        may also drop out at time 0, which shifts b by one in the first term)."""
        self._check_fitted()
        n, t = np.broadcast_arrays(np.asarray(n, dtype=float), np.asarray(t, dtype=float))
        r, alpha, a, b = self._params()
        return _pmf_while_alive(n, t, r, alpha, a, b, self._shift)

    def conditional_probability_of_purchases(self, n: Any, t: Any, x: Any, t_x: Any, T: Any) -> np.ndarray:
        """P(Y(t) = n | x, t_x, T): exactly n purchases in (T, T + t] given the history.

        A customer alive at T has, a posteriori, lambda ~ Gamma(r + x, alpha + T) and, having survived
        x + delta drop-out chances, p ~ Beta(a, b + x + delta). From T on the process is a BG/NBD one
        started afresh with those parameters, so the new-customer pmf applies to it; a customer who has
        dropped out buys nothing. Its mean is conditional_expected_purchases."""
        x, t_x, T = self._inputs(x, t_x, T)
        n, t, x, t_x, T = np.broadcast_arrays(
            np.asarray(n, dtype=float), np.asarray(t, dtype=float), x, t_x, T
        )
        r, alpha, a, b = self._params()
        alive = self.probability_alive(x, t_x, T)
        while_alive = _pmf_while_alive(n, t, r + x, alpha + T, a, b + x + self._shift, 0)
        return alive * while_alive + (1.0 - alive) * (n == 0)


# Gauss-Legendre panels over logit(p) for _expected_while_alive.
_PANELS = 64


def _expected_while_alive(
    t: np.ndarray, shape: np.ndarray, rate: np.ndarray, a: float, b: np.ndarray
) -> np.ndarray:
    """E[purchases in the next t] for a customer active now with lambda ~ Gamma(shape, rate) and
    drop-out probability p ~ Beta(a, b) after each purchase, as an integral over p.

    Given lambda and p the purchases are min(N, J) with N ~ Poisson(lambda t) and J ~ Geometric(p), whose
    mean is (1 - e^(-lambda p t)) / p; over lambda, g(p) = (1 - (1 + p t/rate)^-shape) / p, which is
    smooth and at most shape t / rate. E[g(p)] is taken over y = logit(p), where the Beta density is
    exp(a log p + b log(1-p)) / B(a, b), on its mode +- max(12 sd, 40 / shape parameter) with 64
    eight-point Gauss-Legendre panels. (In closed form this is FHL 2005 eq. 10 without the P(alive)
    factor, whose 2F1 cannot be evaluated in floating point when a is in the thousands.)"""
    centre = np.log(a) - np.log(b)
    sd = np.sqrt(1.0 / a + 1.0 / b)
    lo = centre - np.maximum(12.0 * sd, 40.0 / a)
    hi = centre + np.maximum(12.0 * sd, 40.0 / b)
    y, weights = gauss_legendre_panels(lo, hi, _PANELS)
    log_p = -np.log1p(np.exp(-y))
    log_q = -np.log1p(np.exp(y))
    log_density = a * log_p + b[:, None] * log_q - betaln(a, b)[:, None]
    p = np.exp(log_p)
    k = (t / rate)[:, None]
    g = -np.expm1(-shape[:, None] * np.log1p(p * k)) / p
    return np.einsum("ij,ij->i", np.exp(log_density) * g, weights)


def _pmf_while_alive(
    n: np.ndarray, t: np.ndarray, shape: Any, rate: Any, a: float, b: Any, shift: int
) -> np.ndarray:
    """P(n purchases in the next t) for a customer active now with lambda ~ Gamma(shape, rate) and
    drop-out probability p ~ Beta(a, b) after each purchase (and, with shift = 1, also right now).
    Purchases stop after the one on which the customer drops out, so n purchases happen either when the
    Poisson count is n and the customer survives all n chances (first term), or when the count is at
    least n and the customer drops out on the n-th (second term; 1 - sum_{j<n} NB pmf is the
    regularised incomplete beta I_{t/(rate+t)}(n, shape))."""
    lnb = betaln(a, b)
    first = np.exp(betaln(a, b + n + shift) - lnb + log_nb_pmf(n, shape, rate, t))
    second_ok = (n > 0) | (shift == 1)
    tail = np.where(n > 0, betainc(np.maximum(n, 1), shape, t / (rate + t)), 1.0)
    second = np.where(second_ok, np.exp(betaln(a + 1, b + np.maximum(n - 1 + shift, 0)) - lnb) * tail, 0.0)
    return first + second


class BetaGeoFitter(_BetaGeometric):
    """BG/NBD: purchases Poisson(lambda) while active, lambda ~ Gamma(r, alpha); after each repeat
    purchase the customer drops out with probability p ~ Beta(a, b).

    Fitted attributes: r_, alpha_, a_, b_, log_likelihood_, standard_errors_, n_customers_.
    """

    _shift = 0


class ModifiedBetaGeoFitter(_BetaGeometric):
    """MBG/NBD: as BG/NBD, but a customer may also drop out right after the first purchase, so
    customers with no repeat purchase are not assumed alive (P(alive) < 1 at x = 0)."""

    _shift = 1
