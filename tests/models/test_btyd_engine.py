"""The in-engine BG/NBD scorer: equal to the numpy predictions (extreme rows, long horizons, Spark) and
compact enough to compile quickly even for a one-year horizon."""

from __future__ import annotations

import time

import ibis
import numpy as np
import pytest
from scipy.special import hyp2f1

from segmint.core.models.btyd import BetaGeoFitter
from segmint.core.models.btyd.engine import EngineScoringUnsupported, bgnbd_score_expr, series_terms

PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # FHL (2005), CDNOW, weeks


def _extremes() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # 1 - tail in E = c/(a-1) (1 - tail) P(alive) cancels where z is tiny (T huge): numpy and the engine
    # both lose ~1e-15 absolutely there, hence atol=1e-14 below.
    # x = 0 (T = 0 is the largest z), t_x = T, very large x, T huge, a customer seen long ago.
    x = np.array([0, 0, 1, 2, 7, 300, 5000, 5000, 0, 3, 40])
    t_x = np.array([0, 0, 5, 30.43, 39, 38, 1e6, 10, 0, 0.5, 1e4])
    T = np.array([0, 38.86, 30, 38.86, 39, 38.5, 1e6, 1e7, 1e7, 400, 1e4])
    return x.astype(float), t_x, T


@pytest.mark.parametrize("horizon", [1.0, 90 / 7, 52.0])
def test_engine_equals_numpy_on_extreme_rows(horizon):
    m = BetaGeoFitter.from_params(PUBLISHED)
    x, t_x, T = _extremes()
    con = ibis.duckdb.connect()
    t = con.create_table("s", {"x": x, "t_x": t_x, "T": T})
    got = bgnbd_score_expr(t, m.params_, horizon, purchase_horizon=30 / 7).to_pandas()
    np.testing.assert_allclose(got.p_alive, m.probability_alive(x, t_x, T), rtol=1e-12, atol=1e-300)
    want = m.conditional_expected_purchases(horizon, x, t_x, T)
    np.testing.assert_allclose(got.expected_purchases, want, rtol=1e-9, atol=1e-14)
    assert np.all(np.isfinite(got.expected_purchases))
    purchase = m.probability_purchase_within(30 / 7, x, t_x, T)
    np.testing.assert_allclose(got.p_purchase, purchase, rtol=1e-9, atol=1e-300)
    # Hand check of the x = 0, T = 0 row (a brand-new customer): E = c/(a-1) (1 - (1-z)^(a-1) 2F1).
    r, alpha, a, b = PUBLISHED.values()
    z = horizon / (alpha + horizon)
    new = (a + b - 1) / (a - 1) * (1 - (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b - 1, z))
    assert got.expected_purchases[0] == pytest.approx(new, rel=1e-11)


def test_series_terms_bound_holds():
    """Truncating after series_terms() terms is within the bound at the worst case (x = 0, T = 0)."""
    r, alpha, a, b = PUBLISHED.values()
    big_a, big_b, c0 = a + b - 1 - r, a - 1, a + b - 1
    for horizon in (4.0, 90 / 7, 52.0):
        z = horizon / (alpha + horizon)
        n = series_terms(z, big_a, big_b, c0)
        term, total = 1.0, 1.0
        for j in range(n):
            term *= z * (big_a + j) * (big_b + j) / ((c0 + j) * (j + 1))
            total += term
        assert total == pytest.approx(hyp2f1(big_a, big_b, c0, z), rel=1e-12)
    assert series_terms(0.0, big_a, big_b, c0) == 0


def test_52_week_sql_is_small_and_compiles_fast():
    con = ibis.duckdb.connect()
    t = con.create_table("s", {"x": [1.0], "t_x": [1.0], "T": [2.0]})
    times, sql = [], ""
    for _ in range(3):  # best of three: the test machine is shared
        start = time.perf_counter()
        sql = con.compile(bgnbd_score_expr(t, PUBLISHED, 52.0, purchase_horizon=30 / 7))
        times.append(time.perf_counter() - start)
    assert len(sql) < 50_000, len(sql)
    assert min(times) < 1.0, times
    assert len(con.raw_sql(sql).fetchall()[0]) == 6  # x, t_x, T and the three scores


def test_horizon_too_long_for_the_series_says_so():
    params = {**PUBLISHED, "alpha": 0.01}  # z up to 0.9998 at 52 weeks: thousands of terms
    con = ibis.duckdb.connect()
    t = con.create_table("s", {"x": [1.0], "t_x": [1.0], "T": [2.0]})
    with pytest.raises(EngineScoringUnsupported, match="numpy"):
        bgnbd_score_expr(t, params, 52.0)
    with pytest.raises(EngineScoringUnsupported, match="a - 1 = 0"):
        bgnbd_score_expr(t, {**PUBLISHED, "a": 1.0}, 4.0)


@pytest.mark.spark
@pytest.mark.slow
def test_spark_engine_equals_numpy_on_cdnow(cdnow_summary):
    pytest.importorskip("pyspark")
    from segmint.adapters.engines import spark_session

    session = spark_session("local[1]", options={"spark.sql.shuffle.partitions": "1"})
    con = ibis.pyspark.connect(session)
    s = cdnow_summary[["customer_id", "x", "t_x", "T"]].copy()
    for extra in zip(*_extremes(), strict=True):
        s.loc[len(s)] = [f"extreme-{len(s)}", *extra]
    session.createDataFrame(s).createOrReplaceTempView("bgnbd_summary")
    table = con.table("bgnbd_summary")
    m = BetaGeoFitter.from_params(PUBLISHED)
    x, t_x, T = (s[c].to_numpy(float) for c in ("x", "t_x", "T"))
    for horizon in (90 / 7, 52.0):
        got = bgnbd_score_expr(table, PUBLISHED, horizon, purchase_horizon=30 / 7).to_pandas()
        got = got.set_index("customer_id").loc[s.customer_id]
        np.testing.assert_allclose(got.p_alive, m.probability_alive(x, t_x, T), rtol=1e-12, atol=1e-300)
        want = m.conditional_expected_purchases(horizon, x, t_x, T)
        np.testing.assert_allclose(got.expected_purchases, want, rtol=1e-9, atol=1e-14)
        np.testing.assert_allclose(
            got.p_purchase, m.probability_purchase_within(30 / 7, x, t_x, T), rtol=1e-9, atol=1e-300
        )
