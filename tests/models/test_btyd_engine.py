"""The in-engine BG/NBD scorer: its series is truncated within the bound, its SQL stays compact enough to
compile quickly even for a one-year horizon, and it says when it cannot score. Its values against NumPy
(CDNOW, extreme rows, long horizons) are checked on every engine in tests/engines/test_btyd.py."""

from __future__ import annotations

import time

import ibis
import pytest
from scipy.special import hyp2f1

from segmint.core.models.btyd.engine import EngineScoringUnsupported, bgnbd_score_expr, series_terms

PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # FHL (2005), CDNOW, weeks


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
