"""Extreme customers give finite, correct values; gradients are exact; bad input gets clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy.special import gammaln, hyp2f1

from segmint.core.models.btyd import (
    BetaGeoFitter,
    ConvergenceError,
    GammaGammaFitter,
    InsufficientDataError,
    ModelInputError,
    ModifiedBetaGeoFitter,
    NotFittedError,
    ParetoNBDFitter,
)
from segmint.core.models.btyd._base import Rows
from segmint.core.models.btyd._special import log_series_1pq

BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PNBD = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
EXTREME = (
    np.array([0, 0, 5000, 5000, 1, 300, 40]),
    np.array([0, 0, 1e6, 10.0, 1e-9, 38.0, 1e5]),
    np.array([1e-9, 1e7, 1e6, 1e7, 38.0, 38.0, 1e5]),
)


def _pareto_ll_by_quadrature(p: dict, x: float, t_x: float, T: float) -> float:
    """Independent Pareto/NBD likelihood: 'alive at T' plus death at y in (t_x, T], integrated numerically."""
    r, al, s, be = p["r"], p["alpha"], p["s"], p["beta"]
    const = np.exp(gammaln(r + x) - gammaln(r) + r * np.log(al) + s * np.log(be))
    alive = (al + T) ** -(r + x) * (be + T) ** -s
    dead = integrate.quad(
        lambda y: s * (al + y) ** -(r + x) * (be + y) ** -(s + 1), t_x, T, epsabs=0, epsrel=1e-12
    )
    return float(np.log(const * (alive + dead[0])))


@pytest.mark.parametrize(
    "params",
    [
        PNBD,
        {"r": 0.5, "alpha": 20.0, "s": 0.6, "beta": 2.0},
        {"r": 2.0, "alpha": 1.0, "s": 3.0, "beta": 30.0},
    ],
)
def test_pareto_likelihood_equals_direct_integral(params):
    model = ParetoNBDFitter.from_params(params)
    x = np.array([0, 1, 2, 7, 15])
    t_x = np.array([0, 5.0, 30.43, 20.0, 38.0])
    T = np.array([38.86, 30.0, 38.86, 39.0, 38.5])
    got = model.log_likelihood(x, t_x, T)
    want = [_pareto_ll_by_quadrature(params, *row) for row in zip(x, t_x, T, strict=True)]
    np.testing.assert_allclose(got, want, rtol=1e-9)


@given(
    p=st.floats(0.05, 50),
    extra=st.floats(0.01, 200),
    z=st.floats(0, 0.97),
)
@settings(max_examples=60, deadline=None)
def test_series_equals_direct_sum(p, extra, z):
    """Against a plain term-by-term sum (scipy's hyp2f1 itself returns inf for some of these inputs)."""
    q = p + extra
    got = log_series_1pq(np.array([p]), np.array([q]), np.array([z])).log[0]
    total, term = 0.0, 1.0
    for n in range(5000):
        total += term
        term *= (p + n) / (q + n) * z
        if term < 1e-18 * total:
            break
    assert got == pytest.approx(np.log(total), rel=1e-10, abs=1e-12)
    if z < 0.9:
        reference = hyp2f1(1.0, p, q, z)
        if np.isfinite(reference):
            assert got == pytest.approx(np.log(reference), rel=1e-8, abs=1e-10)


@pytest.mark.parametrize(
    "cls,params", [(BetaGeoFitter, BG), (ModifiedBetaGeoFitter, BG), (ParetoNBDFitter, PNBD)]
)
def test_gradient_is_exact(cls, params, cdnow_xtT):
    model = cls.from_params(params)
    x, t_x, T = cdnow_xtT
    rows = model._prepare(Rows((x, t_x, T), np.ones(x.size), None))
    theta = model._params()
    _, g = model._loglik(theta, rows, True)
    for j in range(theta.size):
        h = 1e-6 * theta[j]
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        numeric = (model._loglik(up, rows, False)[0].sum() - model._loglik(down, rows, False)[0].sum()) / (
            2 * h
        )
        assert g[:, j].sum() == pytest.approx(numeric, rel=1e-5, abs=1e-4)


@pytest.mark.parametrize(
    "cls,params", [(BetaGeoFitter, BG), (ModifiedBetaGeoFitter, BG), (ParetoNBDFitter, PNBD)]
)
def test_extreme_customers_are_finite(cls, params):
    model = cls.from_params(params)
    x, t_x, T = EXTREME
    for values in (
        model.log_likelihood(x, t_x, T),
        model.probability_alive(x, t_x, T),
        model.conditional_expected_purchases(39.0, x, t_x, T),
        model.time_to_next_purchase(x, t_x, T),
    ):
        assert np.all(np.isfinite(values))
    p_alive = model.probability_alive(x, t_x, T)
    assert np.all((p_alive >= 0) & (p_alive <= 1))
    # Someone who bought 5000 times, last at the very end, is almost surely alive (BG/NBD: only the
    # chance of having dropped out right after that last purchase, a / (b + x - 1), remains).
    assert p_alive[2] > 0.9998
    # Someone who bought 5000 times long ago and then stopped for 10^7 weeks is gone.
    assert p_alive[3] < 1e-12
    assert model.conditional_expected_purchases(39.0, x, t_x, T)[3] < 1e-9


def test_bgnbd_closed_forms_at_edges():
    m = BetaGeoFitter.from_params(BG)
    # x = 0: BG/NBD assumes alive; expected purchases equal the new-customer formula at T = 0.
    assert m.probability_alive(0, 0, 50) == 1.0
    assert float(m.conditional_expected_purchases(10, 0, 0, 0)) == pytest.approx(
        float(m.expected_purchases_new_customer(10))
    )
    # t_x = T: P(alive) = 1 / (1 + a/(b+x-1)).
    assert float(m.probability_alive(3, 20, 20)) == pytest.approx(1 / (1 + BG["a"] / (BG["b"] + 2)))
    # P(X(t) = n) is a distribution whose mean is E[X(t)].
    n = np.arange(0, 400)
    pmf = m.probability_of_purchases(n, 39.0)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
    assert (n * pmf).sum() == pytest.approx(float(m.expected_purchases_new_customer(39.0)), rel=1e-7)


def test_mbgnbd_closed_forms():
    m = ModifiedBetaGeoFitter.from_params(BG)
    # Drop-out is possible right after the first purchase: P(alive | x=0, t_x=T) = b / (a + b).
    assert float(m.probability_alive(0, 0, 0)) == pytest.approx(BG["b"] / (BG["a"] + BG["b"]))
    n = np.arange(0, 400)
    pmf = m.probability_of_purchases(n, 20.0)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
    assert (n * pmf).sum() == pytest.approx(float(m.expected_purchases_new_customer(20.0)), rel=1e-7)


def test_pareto_new_customer_and_p_alive():
    m = ParetoNBDFitter.from_params(PNBD)
    r, al, s, be = PNBD.values()
    t = 39.0
    assert float(m.expected_purchases_new_customer(t)) == pytest.approx(
        r * be / (al * (s - 1)) * (1 - (be / (be + t)) ** (s - 1))
    )
    # With no time passed and no purchase the customer is alive for sure.
    assert float(m.probability_alive(0, 0, 1e-12)) == pytest.approx(1.0)
    # s = 1 uses the limit and stays continuous.
    near = ParetoNBDFitter.from_params({**PNBD, "s": 1.0 + 1e-6}).expected_purchases_new_customer(t)
    at = ParetoNBDFitter.from_params({**PNBD, "s": 1.0}).expected_purchases_new_customer(t)
    assert float(at) == pytest.approx(float(near), rel=1e-5)


def test_fit_recovers_simulated_parameters():
    rng = np.random.default_rng(7)
    n = 20000
    lam = rng.gamma(0.8, 1 / 3.0, n)
    p = rng.beta(1.2, 3.0, n)
    T = rng.uniform(20, 52, n)
    k = rng.poisson(lam * T)
    death = rng.geometric(p)
    x = np.minimum(k, death)
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), k - x + 1), 0.0)
    m = BetaGeoFitter().fit(x, t_x, T)
    truth = {"r": 0.8, "alpha": 3.0, "a": 1.2, "b": 3.0}
    for name, value in truth.items():
        assert abs(m.params_[name] - value) < 4 * m.standard_errors_[name], name


def test_standard_errors_match_independent_hessian(cdnow_xtT):
    m = BetaGeoFitter().fit(*cdnow_xtT)
    theta = m._params()

    def nll(p):
        return (
            -BetaGeoFitter.from_params(dict(zip(m.param_names, p, strict=True)))
            .log_likelihood(*cdnow_xtT)
            .sum()
        )

    k = theta.size
    H = np.empty((k, k))
    h = 1e-4 * theta
    for i in range(k):
        for j in range(k):
            e_i, e_j = np.eye(k)[i] * h[i], np.eye(k)[j] * h[j]
            H[i, j] = (
                nll(theta + e_i + e_j)
                - nll(theta + e_i - e_j)
                - nll(theta - e_i + e_j)
                + nll(theta - e_i - e_j)
            ) / (4 * h[i] * h[j])
    se = np.sqrt(np.diag(np.linalg.inv(H)))
    np.testing.assert_allclose([m.standard_errors_[n] for n in m.param_names], se, rtol=1e-3)


def test_weights_equal_repeated_rows(cdnow_xtT):
    x, t_x, T = cdnow_xtT
    a = BetaGeoFitter().fit(np.r_[x, x[:100]], np.r_[t_x, t_x[:100]], np.r_[T, T[:100]])
    w = np.ones(x.size)
    w[:100] = 2
    b = BetaGeoFitter().fit(x, t_x, T, weights=w)
    for n in a.param_names:
        assert a.params_[n] == pytest.approx(b.params_[n], rel=1e-7)
    assert a.log_likelihood_ == pytest.approx(b.log_likelihood_, rel=1e-10)


def test_clear_errors():
    with pytest.raises(ModelInputError, match="t_x > T"):
        BetaGeoFitter().fit([1, 2], [5, 1], [4, 3])
    with pytest.raises(ModelInputError, match="x = 0 but t_x"):
        BetaGeoFitter().fit([0, 2], [1, 1], [4, 3])
    with pytest.raises(ModelInputError, match="missing"):
        BetaGeoFitter().fit([0, np.nan], [0, 1], [4, 3])
    with pytest.raises(InsufficientDataError, match="at least 30 customers"):
        BetaGeoFitter().fit([1, 2], [1, 1], [4, 3])
    with pytest.raises(InsufficientDataError, match="repeat purchase"):
        ParetoNBDFitter().fit(np.zeros(100), np.zeros(100), np.full(100, 10.0))
    with pytest.raises(ModelInputError, match="at least one repeat"):
        GammaGammaFitter().fit([0, 1], [10.0, 12.0])
    with pytest.raises(NotFittedError, match="not fitted"):
        BetaGeoFitter().probability_alive(1, 1, 2)
    # Everyone bought exactly every week and nobody drops out: Gamma heterogeneity collapses, the
    # parameters run off to infinity, and the user is told why.
    n = 200
    x = np.full(n, 10.0)
    with pytest.raises(ConvergenceError, match=r"ran off|did not converge"):
        BetaGeoFitter(max_iter=200).fit(x, np.full(n, 10.0), np.full(n, 10.0))


def test_gamma_gamma_gradient_and_scale_invariance():
    rng = np.random.default_rng(3)
    n = 3000
    x = rng.integers(1, 10, n)
    nu = rng.gamma(3.0, 1 / 20.0, n)
    m = np.array([rng.gamma(5.0, 1 / nu_i, k).mean() for nu_i, k in zip(nu, x, strict=True)])
    a = GammaGammaFitter().fit(x, m)
    b = GammaGammaFitter().fit(x, m * 100)
    assert b.p_ == pytest.approx(a.p_, rel=1e-6)
    assert b.q_ == pytest.approx(a.q_, rel=1e-6)
    assert b.v_ == pytest.approx(a.v_ * 100, rel=1e-6)
    assert abs(a.p_ - 5.0) < 4 * a.standard_errors_["p"]
