"""The published CDNOW results (Fader, Hardie & Lee 2005; Hardie's notes), reproduced end to end: the
summary is built from the packaged sample by Segmint's own summary code, then each model is fitted."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from segmint.core.models.btyd import (
    BetaGeoFitter,
    GammaGammaFitter,
    ParetoNBDFitter,
    customer_lifetime_value,
)
from segmint.core.models.btyd.diagnostics import cohort_tracking, frequency_histogram, holdout_by_frequency
from segmint.core.models.summary import cohort_daily_transactions

from .conftest import CALIBRATION_END as CAL_END
from .conftest import HOLDOUT_END as HOLD_END


def test_summary_matches_the_papers_data(cdnow_summary):
    s = cdnow_summary
    assert len(s) == 2357
    assert s.x.sum() == 2457  # repeat transactions in weeks 1-39 (same-day purchases merged)
    assert (s.x > 0).sum() == 946  # the customers the Gamma-Gamma model is fitted on
    assert s["T"].max() == pytest.approx(38.857, abs=1e-3)  # first buyers of 1997-01-01
    assert s["T"].min() == pytest.approx(27.0, abs=1e-9)  # last trial day 1997-03-31 is week 12
    assert s.duration_holdout.iloc[0] == 39.0


@pytest.fixture(scope="module")
def bgnbd(cdnow_xtT):
    return BetaGeoFitter().fit(*cdnow_xtT)


@pytest.fixture(scope="module")
def pnbd(cdnow_xtT):
    return ParetoNBDFitter().fit(*cdnow_xtT)


def test_bgnbd_parameters_and_log_likelihood(bgnbd):
    # FHL (2005) Table/text and Hardie's "Implementing the BG/NBD model in Excel".
    assert round(bgnbd.r_, 3) == 0.243
    assert round(bgnbd.alpha_, 3) == 4.414
    assert round(bgnbd.a_, 3) == 0.793
    assert round(bgnbd.b_, 3) == 2.426
    assert round(bgnbd.log_likelihood_, 1) == -9582.4
    assert bgnbd.n_customers_ == 2357


def test_bgnbd_individual_conditional_expectation(bgnbd):
    # FHL (2005): x = 2, t_x = 30.43, T = 38.86 expects 1.226 purchases in the next 39 weeks.
    assert round(float(bgnbd.conditional_expected_purchases(39, 2, 30.43, 38.86)), 3) == 1.226


def test_pareto_nbd_parameters_and_log_likelihood(pnbd):
    # Fader & Hardie, "A Note on Deriving the Pareto/NBD Model and Related Expressions" / FHL (2005).
    assert round(pnbd.r_, 3) == 0.553
    assert round(pnbd.alpha_, 3) == 10.578
    assert round(pnbd.s_, 3) == 0.606
    assert round(pnbd.beta_, 3) == 11.669
    assert round(pnbd.log_likelihood_, 1) == -9595.0


def test_gamma_gamma_parameters(cdnow_summary):
    # FHL "RFM and CLV" (2005) / Hardie's Gamma-Gamma note: p = 6.25, q = 3.74, gamma = 15.44 on the
    # 946 repeaters' mean repeat spend.
    rep = cdnow_summary[cdnow_summary.x > 0]
    gg = GammaGammaFitter().fit(rep.x, rep.monetary_value)
    assert gg.n_customers_ == 946
    assert round(gg.p_, 2) == 6.25
    assert round(gg.q_, 2) == 3.74
    assert round(gg.v_, 2) == 15.44
    # Population mean spend p v / (q - 1) and shrinkage towards it.
    assert gg.expected_average_spend() == pytest.approx(gg.p_ * gg.v_ / (gg.q_ - 1))
    # Log-likelihood of the 946 mean spends: no published figure to compare with, so it is checked against
    # the density written out, f(m | x) = Gamma(px+q) / (Gamma(px) Gamma(q)) v^q m^(px-1) x^(px)
    # / (v + m x)^(px+q), and pinned (a peer library gives the same at these parameters).
    from scipy.special import gammaln

    p, q, v = gg.p_, gg.q_, gg.v_
    x, m = rep.x.to_numpy(), rep.monetary_value.to_numpy()
    px = p * x
    dens = gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v) + (px - 1) * np.log(m) + px * np.log(x)
    dens -= (px + q) * np.log(v + m * x)
    assert gg.log_likelihood_ == pytest.approx(dens.sum(), rel=1e-12)
    assert round(gg.log_likelihood_, 2) == -4055.92
    one = gg.conditional_expected_average_spend(1, 100.0)
    assert gg.expected_average_spend() < one < 100.0


# Customers by repeat purchases in weeks 1-39 (0, ..., 6, 7+) and their mean repeat purchases in weeks
# 40-78: the "actual" series of FHL (2005) Figure 4, as printed (to 7 digits) by the BTYD package's
# CDNOW walk-through (pnbd.PlotFreqVsConditionalExpectedFrequency on cdnowSummary).
PUBLISHED_BIN_SIZES = [1411, 439, 214, 100, 62, 38, 29, 64]
PUBLISHED_HOLDOUT_MEANS = [0.2367116, 0.6970387, 1.392523, 1.560000, 2.532258, 2.947368, 3.862069, 6.359375]
# The models' series at the fitted parameters (which equal the published ones to 3 decimals); the
# published parameters as printed give them to 2e-3, and the lifetimes package, fitted on the same
# summary, to 1e-4.
BGNBD_HOLDOUT_EXPECTED = [0.2251, 0.5231, 1.0441, 1.5203, 2.1639, 2.6538, 3.5040, 6.1572]
PNBD_HOLDOUT_EXPECTED = [0.1384, 0.5995, 1.1958, 1.7138, 2.3983, 2.9072, 3.8186, 6.4031]


def test_holdout_actuals_by_frequency_match_published(cdnow_summary, bgnbd):
    s = cdnow_summary
    table = holdout_by_frequency(bgnbd, s.x, s.t_x, s["T"], s.x_holdout, 39.0)
    assert table.calibration_purchases.tolist() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert table.customers.tolist() == PUBLISHED_BIN_SIZES
    np.testing.assert_allclose(table.actual, PUBLISHED_HOLDOUT_MEANS, rtol=5e-7)
    # Weeks 40-78 hold 1,882 repeat transactions: the bins' sizes times their means.
    assert s.x_holdout.sum() == 1882
    assert round(float(np.dot(PUBLISHED_BIN_SIZES, PUBLISHED_HOLDOUT_MEANS))) == 1882


@pytest.mark.parametrize(
    ("fixture", "published", "want"),
    [
        ("bgnbd", {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, BGNBD_HOLDOUT_EXPECTED),
        ("pnbd", {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}, PNBD_HOLDOUT_EXPECTED),
    ],
)
def test_holdout_conditional_expectations_by_frequency(request, cdnow_summary, fixture, published, want):
    """FHL (2005) Figure 4: each model's conditional expectation of weeks 40-78 purchases, by weeks 1-39
    frequency. The fitted model and the published parameters give the same series."""
    s = cdnow_summary
    fitted = request.getfixturevalue(fixture)
    from_paper = type(fitted).from_params(published)
    ours = holdout_by_frequency(fitted, s.x, s.t_x, s["T"], s.x_holdout, 39.0).expected.to_numpy()
    paper = holdout_by_frequency(from_paper, s.x, s.t_x, s["T"], s.x_holdout, 39.0).expected.to_numpy()
    np.testing.assert_allclose(ours, want, atol=5e-5)
    np.testing.assert_allclose(paper, want, atol=2e-3)
    # Both models under-forecast the holdout of this sample by about 12% in total, as a peer library
    # does with the same parameters: 1,653.4 (BG/NBD) and 1,665.5 (Pareto/NBD) against 1,882.
    total = fitted.conditional_expected_purchases(39.0, s.x, s.t_x, s["T"]).sum()
    assert total == pytest.approx(np.dot(ours, PUBLISHED_BIN_SIZES))
    assert round(total, 1) == {"bgnbd": 1653.4, "pnbd": 1665.5}[fixture]
    # Customer level: those expected to buy more did buy more.
    exp = fitted.conditional_expected_purchases(39.0, s.x, s.t_x, s["T"])
    top = exp >= np.quantile(exp, 0.9)
    assert s.x_holdout[top].mean() > 5 * s.x_holdout[~top].mean()


def test_calibration_frequency_histogram(cdnow_summary, bgnbd, pnbd):
    """FHL (2005) Figure 2: customers by repeat purchases in weeks 1-39, actual and expected
    (sum over customers of P(X(T_i) = n))."""
    s = cdnow_summary
    for model, want in (
        (bgnbd, [1407.68, 460.32, 192.46, 101.16, 59.85, 38.12, 25.55, 71.85]),
        (pnbd, [1434.05, 396.88, 193.49, 111.81, 69.99, 45.86, 30.93, 73.99]),
    ):
        table = frequency_histogram(model, s.x, s["T"])
        assert table.actual.tolist() == PUBLISHED_BIN_SIZES
        np.testing.assert_allclose(table.expected, want, atol=0.006)
        assert table.expected.sum() == pytest.approx(2357)
        # The same numbers customer by customer, without grouping by T.
        direct = model.probability_of_purchases(np.arange(7)[None, :], s["T"].to_numpy()[:, None]).sum(axis=0)
        np.testing.assert_allclose(table.expected[:7], direct, rtol=1e-10)


def test_cohort_tracking(cdnow_orders, cdnow_summary, bgnbd, pnbd):
    """FHL (2005) Figure 3: the cohort's cumulative repeat transactions, week by week over 78 weeks,
    against the unconditional forecast sum_i E[X(t - s_i)]."""
    import ibis

    con = ibis.duckdb.connect()
    daily = cohort_daily_transactions(con.create_table("o", cdnow_orders), CAL_END, HOLD_END).to_pandas()
    epoch = datetime(1970, 1, 1)
    cal_day = (datetime(1997, 9, 30) - epoch).days
    hold_day = (datetime(1998, 6, 30) - epoch).days
    for model, at_39, at_78 in ((bgnbd, 2493.96, 4160.61), (pnbd, 2524.93, 4270.04)):
        track = cohort_tracking(model, daily, cal_day, hold_day, 7)
        assert len(track) == 78 and track.holdout.sum() == 39
        assert epoch + timedelta(days=int(track.end_day[0])) == datetime(1997, 1, 7)  # week 1
        assert track.end_day[38] == cal_day and track.end_day[77] == hold_day
        assert track.actual[38] == 2457 and track.actual[77] == 4339
        assert track.actual_incremental[:3].tolist() == [0, 19, 23]
        assert track.actual_incremental.sum() == track.actual.iloc[-1]
        # At the calibration end the forecast is each customer's E[X(T_i)], summed.
        by_customer = model.expected_purchases_new_customer(cdnow_summary["T"].to_numpy()).sum()
        assert track.expected[38] == pytest.approx(by_customer, rel=1e-12)
        assert round(track.expected[38], 2) == at_39
        assert round(track.expected[77], 2) == at_78


def test_clv_of_cdnow_customer(bgnbd, cdnow_summary):
    """CLV as a monthly DCF equals the hand-summed monthly increments of E[Y(t)] times spend."""
    spend = 30.0
    clv = customer_lifetime_value(bgnbd, 2, 30.43, 38.86, spend, months=3, monthly_discount_rate=0.01)
    month = 30 / 7
    e = [float(bgnbd.conditional_expected_purchases(i * month, 2, 30.43, 38.86)) for i in range(4)]
    hand = sum((e[i] - e[i - 1]) / 1.01**i for i in range(1, 4)) * spend
    assert float(clv) == pytest.approx(hand, rel=1e-12)
    assert e[0] == 0.0
