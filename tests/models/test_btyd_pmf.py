"""P(n purchases), conditional and not, and P(purchase within t) for every purchase model: the
distributions sum to one, their means are the closed-form expectations, Pareto/NBD agrees with a
simulation and its quadrature with a much finer rule, and extreme inputs stay finite."""

from __future__ import annotations

import numpy as np
import pytest

import segmint.core.models.btyd.pareto as pareto_module
from segmint.core.models.btyd import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter

CDNOW = {
    BetaGeoFitter: {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    ModifiedBetaGeoFitter: {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614},
    ParetoNBDFitter: {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669},
}
# (x, t_x, T): new, published example, frequent, recent and long-silent, very frequent, very old.
HISTORIES = [
    (0, 0, 0),
    (0, 0, 38.86),
    (2, 30.43, 38.86),
    (30, 38, 38.86),
    (12, 2, 70),
    (300, 50, 52),
    (3, 1e4, 1e4),
]
N = np.arange(0, 20000, dtype=float)


@pytest.mark.parametrize("cls", list(CDNOW))
@pytest.mark.parametrize(("x", "t_x", "T"), HISTORIES)
@pytest.mark.parametrize("t", [0.5, 39.0, 520.0])
def test_conditional_pmf_sums_to_one_and_has_the_expected_mean(cls, x, t_x, T, t):
    model = cls.from_params(CDNOW[cls])
    mean = model.conditional_expected_purchases(t, x, t_x, T)
    while_alive = mean / max(float(model.probability_alive(x, t_x, T)), 1e-6)
    n = N[: int(min(N.size, 2000 + 40 * while_alive))]  # far enough into the tail for 1e-9
    pmf = model.conditional_probability_of_purchases(n, t, x, t_x, T)
    assert np.all(pmf >= 0)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
    assert (n * pmf).sum() == pytest.approx(float(mean), rel=1e-8, abs=1e-12)
    within = model.probability_purchase_within(t, x, t_x, T)
    assert float(within) == pytest.approx(1.0 - pmf[0], abs=1e-10)


@pytest.mark.parametrize("cls", list(CDNOW))
@pytest.mark.parametrize("t", [1.0, 39.0, 78.0, 1000.0])
def test_new_customer_pmf(cls, t):
    model = cls.from_params(CDNOW[cls])
    pmf = model.probability_of_purchases(N, t)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
    assert (N * pmf).sum() == pytest.approx(float(model.expected_purchases_new_customer(t)), rel=1e-8)
    # A new customer of BG/NBD or Pareto/NBD is alive, so the conditional form at x = t_x = T = 0 agrees.
    if cls is not ModifiedBetaGeoFitter:
        np.testing.assert_allclose(
            model.conditional_probability_of_purchases(N[:50], t, 0, 0, 0), pmf[:50], atol=1e-12
        )


def _simulate_pareto(params: dict, t: float, x: float, T: float, draws: int, seed: int) -> np.ndarray:
    """Counts in the next t for customers alive at T with x purchases: lambda ~ Gamma(r + x, alpha + T),
    mu ~ Gamma(s, beta + T), lifetime ~ Exp(mu), Poisson purchases until min(lifetime, t)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params["r"] + x, 1.0 / (params["alpha"] + T), draws)
    mu = rng.gamma(params["s"], 1.0 / (params["beta"] + T), draws)
    life = rng.exponential(1.0 / mu)
    return rng.poisson(lam * np.minimum(life, t))


@pytest.mark.parametrize(("x", "T", "t"), [(0, 0, 39.0), (4, 30.0, 10.0), (25, 38.0, 52.0)])
def test_pareto_pmf_agrees_with_simulation(x, T, t):
    params = CDNOW[ParetoNBDFitter]
    model = ParetoNBDFitter.from_params(params)
    draws = 400_000
    counts = _simulate_pareto(params, t, x, T, draws, seed=int(x * 100 + t))
    shape, rate = params["r"] + x, params["alpha"] + T
    exact = pareto_module.pmf_while_alive(N[:12], t, shape, rate, params["s"], params["beta"] + T)
    observed = np.bincount(counts, minlength=12)[:12] / draws
    sd = np.sqrt(exact * (1 - exact) / draws)
    assert np.all(np.abs(observed - exact) <= 5 * sd + 1e-9)
    # P(no purchase while alive) also comes from the likelihood's exact series (x, T given, alive now).
    alive = model.probability_alive(x, 0 if x == 0 else T, T)
    within = model.probability_purchase_within(t, x, 0 if x == 0 else T, T)
    assert float(within) == pytest.approx(float(alive) * (1 - exact[0]), abs=1e-10)


def test_pareto_quadrature_against_a_much_finer_rule(monkeypatch):
    """Random purchase and death-rate posteriors over many orders of magnitude (x up to 300, time up to
    10^4 units): the production rule stays within 1e-10 of one with 25 times as many points."""
    rng = np.random.default_rng(7)
    size = 1500
    args = [
        np.where(rng.random(size) < 0.2, 0.0, rng.integers(0, 300, size).astype(float)),
        10 ** rng.uniform(-2, 4, size),
        10 ** rng.uniform(-2, 2.5, size),
        10 ** rng.uniform(-2, 3, size),
        10 ** rng.uniform(-2, 1.5, size),
        10 ** rng.uniform(-2, 3, size),
    ]
    coarse = pareto_module.pmf_while_alive(*args)
    monkeypatch.setattr(pareto_module, "_PANELS", (1200, 400, 400))
    fine = pareto_module.pmf_while_alive(*args)
    assert np.all(np.isfinite(coarse))
    np.testing.assert_allclose(coarse, fine, atol=1e-10)


def test_pareto_propensity_series_equals_quadrature():
    """The exact-series P(purchase within t) and 1 - the quadrature P(0) agree for random fits."""
    rng = np.random.default_rng(3)
    worst = 0.0
    for _ in range(25):
        model = ParetoNBDFitter.from_params(
            {
                "r": 10 ** rng.uniform(-1.5, 1),
                "alpha": 10 ** rng.uniform(-1, 2.5),
                "s": 10 ** rng.uniform(-1.5, 1),
                "beta": 10 ** rng.uniform(-1, 2.5),
            }
        )
        x = rng.integers(0, 100, 100).astype(float)
        T = 10 ** rng.uniform(-1, 2.5, 100)
        t_x = T * rng.uniform(0, 1, 100) * (x > 0)
        t = 10 ** rng.uniform(-1, 3, 100)
        series = model.probability_purchase_within(t, x, t_x, T)
        quad = 1 - model.conditional_probability_of_purchases(0, t, x, t_x, T)
        worst = max(worst, float(np.abs(series - quad).max()))
    assert worst < 1e-9


def test_bgnbd_with_nearly_fixed_dropout_stays_finite():
    """A fit on a shop where drop-out barely varies (a and b in the millions, as the propensity backtest
    met): the 2F1 of the closed form overflows, so those rows are integrated over p instead."""
    model = BetaGeoFitter.from_params({"r": 4.5996, "alpha": 152.35, "a": 39738.6, "b": 1666977.0})
    x = np.array([2.0, 10.0, 0.0, 50.0, 2.0])
    t_x = np.array([87.0, 124.0, 0.0, 10.0, 87.0])
    T = np.array([158.0, 158.0, 0.0, 10.0, 158.0])
    t = np.array([90.0, 90.0, 90.0, 1e4, 1e6])
    expected = model.conditional_expected_purchases(t, x, t_x, T)
    assert np.all(np.isfinite(expected)) and np.all(expected > 0)
    n = np.arange(0, 3000, dtype=float)[:, None]
    for i in range(3):
        pmf = model.conditional_probability_of_purchases(n, t[i], x[i], t_x[i], T[i])
        assert (n[:, 0] * pmf[:, 0]).sum() == pytest.approx(expected[i], rel=1e-7)
    # With p this concentrated, E[Y | alive] is close to (1 - (1 + p t / rate)^-(r+x)) / p at the mean p.
    p = 39738.6 / (39738.6 + 1666977.0 + 2)
    at_mean = -np.expm1(-(4.5996 + 2) * np.log1p(p * 90 / (152.35 + 158))) / p
    alive = model.probability_alive(2, 87, 158)
    assert expected[0] == pytest.approx(alive * at_mean, rel=1e-3)


def test_bgnbd_integral_fallback_equals_closed_form():
    """The integral over p used for extreme fits equals FHL eq. 10 where the latter is computable."""
    from segmint.core.models.btyd.bgnbd import _expected_while_alive

    rng = np.random.default_rng(5)
    for _ in range(100):
        params = {
            "r": 10 ** rng.uniform(-1.5, 1),
            "alpha": 10 ** rng.uniform(-1, 2.5),
            "a": 10 ** rng.uniform(-0.5, 1.3),
            "b": 10 ** rng.uniform(-0.5, 1.5),
        }
        if abs(params["a"] - 1) < 0.05:  # eq. 10 divides by a - 1 and loses digits there
            continue
        for cls, shift in ((BetaGeoFitter, 0), (ModifiedBetaGeoFitter, 1)):
            model = cls.from_params(params)
            x = rng.integers(0, 50, 30).astype(float)
            T = 10 ** rng.uniform(-1, 2.5, 30)
            t_x = T * 0.5 * (x > 0)
            t = 10 ** rng.uniform(-1, 2.5, 30)
            closed = model.conditional_expected_purchases(t, x, t_x, T) / model.probability_alive(x, t_x, T)
            integral = _expected_while_alive(
                t, params["r"] + x, params["alpha"] + T, params["a"], params["b"] + x + shift
            )
            np.testing.assert_allclose(integral, closed, rtol=1e-7)
