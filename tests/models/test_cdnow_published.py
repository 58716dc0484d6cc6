"""The published CDNOW results (Fader, Hardie & Lee 2005; Hardie's notes), reproduced end to end: the
summary is built from the packaged sample by Segmint's own summary code, then each model is fitted."""

from __future__ import annotations

import numpy as np
import pytest

from segmint.core.models.btyd import (
    BetaGeoFitter,
    GammaGammaFitter,
    ParetoNBDFitter,
    customer_lifetime_value,
)


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
    one = gg.conditional_expected_average_spend(1, 100.0)
    assert gg.expected_average_spend() < one < 100.0


def test_holdout_fit(cdnow_summary, bgnbd, pnbd):
    """Weeks 40-78: the sample's customers made 1,882 transactions (same-day merged; computed from the
    packaged file by the summary code). The sum of the conditional expectations of both models tracks
    it within 13%, and the two models agree with each other within 1%."""
    s = cdnow_summary
    actual = s.x_holdout.sum()
    assert actual == 1882
    x, t_x, T = s.x.to_numpy(), s.t_x.to_numpy(), s["T"].to_numpy()
    pred_bg = bgnbd.conditional_expected_purchases(39, x, t_x, T).sum()
    pred_p = pnbd.conditional_expected_purchases(39, x, t_x, T).sum()
    assert abs(pred_bg - actual) / actual < 0.13
    assert abs(pred_p - pred_bg) / pred_bg < 0.01
    # Customer-level: those expected to buy more did buy more (rank agreement in the holdout).
    exp = bgnbd.conditional_expected_purchases(39, x, t_x, T)
    top = exp >= np.quantile(exp, 0.9)
    assert s.x_holdout[top].mean() > 5 * s.x_holdout[~top].mean()


def test_clv_of_cdnow_customer(bgnbd, cdnow_summary):
    """CLV as a monthly DCF equals the hand-summed monthly increments of E[Y(t)] times spend."""
    spend = 30.0
    clv = customer_lifetime_value(bgnbd, 2, 30.43, 38.86, spend, months=3, monthly_discount_rate=0.01)
    month = 30 / 7
    e = [float(bgnbd.conditional_expected_purchases(i * month, 2, 30.43, 38.86)) for i in range(4)]
    hand = sum((e[i] - e[i - 1]) / 1.01**i for i in range(1, 4)) * spend
    assert float(clv) == pytest.approx(hand, rel=1e-12)
    assert e[0] == 0.0
