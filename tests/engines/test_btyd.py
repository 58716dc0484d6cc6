"""BTYD in the engine: the calibration summary built by the engine equals one computed in plain Python
from the CDNOW log, and the in-engine BG/NBD scores equal BetaGeoFitter's NumPy predictions, on the
CDNOW sample plus extreme rows (x = 0, T = 0, huge x and T)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

import numpy as np
import pyarrow as pa
import pytest
from scipy.special import hyp2f1

from segmint.core.models.btyd import BetaGeoFitter
from segmint.core.models.btyd.engine import bgnbd_score_expr
from segmint.core.models.summary import calibration_summary

from .support import load

PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # FHL (2005), CDNOW, weeks
CALIBRATION_END, HOLDOUT_END = date(1997, 9, 30), date(1998, 6, 30)
EPOCH = date(1970, 1, 1)
# Rows the summary must treat exactly: two orders on one day are one transaction; the last second of
# the calibration end day is in calibration, the first second of the next day in the holdout; refunded
# orders do not count; a partial refund counts net.
EDGES = [
    ("edge", datetime(1997, 3, 1, 9), "paid", 10.0, None),
    ("edge", datetime(1997, 3, 1, 18), "paid", 5.0, None),
    ("edge", datetime(1997, 9, 30, 23, 59, 59), "partially_refunded", 20.0, 4.0),
    ("edge", datetime(1997, 10, 1), "paid", 7.0, None),
    ("edge", datetime(1997, 6, 1), "refunded", 99.0, 99.0),
]


def _orders(cdnow_dir) -> list[tuple]:
    out = []
    for line in (cdnow_dir / "CDNOW_sample.txt").read_text().splitlines():
        parts = line.split()
        if len(parts) == 5:
            out.append((parts[1], datetime.strptime(parts[2], "%Y%m%d"), "paid", float(parts[4]), None))
    return out + EDGES


def python_summary(orders: list[tuple]) -> dict[str, tuple]:
    """customer -> (x, t_x, T, monetary_value, x_holdout, holdout_value), weeks; by the FHL conventions."""
    end, hold = (CALIBRATION_END - EPOCH).days, (HOLDOUT_END - EPOCH).days
    days: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for cid, at, status, total, refunded in orders:
        if status in ("paid", "partially_refunded"):
            days[cid][(at.date() - EPOCH).days] += total - (refunded or 0.0)
    out = {}
    for cid, per_day in days.items():
        cal = sorted(d for d in per_day if d <= end)
        if not cal:
            continue
        first, repeat = cal[0], cal[1:]
        held = [d for d in per_day if end < d <= hold]
        out[cid] = (
            float(len(repeat)),
            (cal[-1] - first) / 7,
            (end - first) / 7,
            sum(per_day[d] for d in repeat) / len(repeat) if repeat else None,
            float(len(held)),
            sum(per_day[d] for d in held),
        )
    return out


@pytest.fixture(scope="module")
def orders(cdnow_dir):
    return _orders(cdnow_dir)


@pytest.fixture(scope="module")
def expected_summary(orders):
    return python_summary(orders)


@pytest.fixture(scope="module")
def engine_orders(con, orders):
    data = pa.table(
        {
            "order_id": [f"o{i}" for i in range(len(orders))],
            "customer_id": [o[0] for o in orders],
            "ordered_at": pa.array([o[1] for o in orders], pa.timestamp("us")),
            "status": [o[2] for o in orders],
            "total": [o[3] for o in orders],
            "refunded_amount": pa.array([o[4] for o in orders], pa.float64()),
        }
    )
    return load(con, {"cdnow_orders": data}, prefix="engine_suite_")["cdnow_orders"]


def test_calibration_summary_equals_python(engine_orders, expected_summary):
    got = calibration_summary(engine_orders, CALIBRATION_END, HOLDOUT_END, "W").to_pyarrow().to_pylist()
    assert len(got) == len(expected_summary) == 2357 + 1
    for row in got:
        x, t_x, T, m, xh, hv = expected_summary[row["customer_id"]]
        assert (row["x"], row["x_holdout"]) == (x, xh), row
        assert row["t_x"] == pytest.approx(t_x, rel=1e-12) and row["T"] == pytest.approx(T, rel=1e-12)
        assert (row["monetary_value"] is None) == (m is None)
        if m is not None:
            assert row["monetary_value"] == pytest.approx(m, rel=1e-12)
        assert row["holdout_value"] == pytest.approx(hv, rel=1e-12, abs=1e-9)
    edge = next(r for r in got if r["customer_id"] == "edge")
    assert (edge["x"], edge["x_holdout"], edge["monetary_value"]) == (1.0, 1.0, 16.0)


def _extremes() -> list[tuple[float, float, float]]:
    # x = 0 with T = 0 (the largest z), t_x = T, very large x, T huge, a customer seen long ago.
    return [
        (0, 0, 0), (0, 0, 38.86), (1, 5, 30), (2, 30.43, 38.86), (7, 39, 39), (300, 38, 38.5),
        (5000, 1e6, 1e6), (5000, 10, 1e7), (0, 0, 1e7), (3, 0.5, 400), (40, 1e4, 1e4),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def scored_summary(con, expected_summary):
    ids = sorted(expected_summary)
    rows = [expected_summary[c][:3] for c in ids] + _extremes()
    ids += [f"extreme-{i}" for i in range(len(_extremes()))]
    data = pa.table(
        {
            "customer_id": ids,
            "x": [float(r[0]) for r in rows],
            "t_x": [float(r[1]) for r in rows],
            "T": [float(r[2]) for r in rows],
        }
    )
    return data, load(con, {"btyd_summary": data}, prefix="engine_suite_")["btyd_summary"]


@pytest.mark.parametrize("horizon", [1.0, 90 / 7, 52.0], ids=["1w", "90d", "52w"])
def test_bgnbd_scores_equal_numpy(scored_summary, horizon):
    data, table = scored_summary
    got = bgnbd_score_expr(table, PUBLISHED, horizon, purchase_horizon=30 / 7).to_pandas()
    got = got.set_index("customer_id").loc[data.column("customer_id").to_pylist()]
    m = BetaGeoFitter.from_params(PUBLISHED)
    x, t_x, T = (data.column(c).to_numpy() for c in ("x", "t_x", "T"))
    np.testing.assert_allclose(got.p_alive, m.probability_alive(x, t_x, T), rtol=1e-12, atol=1e-300)
    want = m.conditional_expected_purchases(horizon, x, t_x, T)
    # 1 - tail cancels where z is tiny (T huge): numpy and the engine both lose ~1e-15 absolutely there.
    np.testing.assert_allclose(got.expected_purchases, want, rtol=1e-9, atol=1e-14)
    assert np.all(np.isfinite(got.expected_purchases))
    purchase = m.probability_purchase_within(30 / 7, x, t_x, T)
    np.testing.assert_allclose(got.p_purchase, purchase, rtol=1e-9, atol=1e-300)
    # By hand, a brand-new customer (x = 0, T = 0): E = c/(a-1) (1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; c; z)).
    r, alpha, a, b = PUBLISHED.values()
    z = horizon / (alpha + horizon)
    new = (a + b - 1) / (a - 1) * (1 - (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b - 1, z))
    assert got.loc["extreme-0", "expected_purchases"] == pytest.approx(new, rel=1e-11)
