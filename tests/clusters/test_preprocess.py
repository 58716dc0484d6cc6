"""Preprocessing: hand-computed medians, spreads, log choices, clipping, and the engine replaying them."""

from __future__ import annotations

import math

import ibis
import numpy as np
import pandas as pd
import pytest

from segmint.core.models.clusters.assign import feature_expr
from segmint.core.models.clusters.preprocess import IQR_NORMAL, Preprocessor


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e", "f"],
            "spent": [0.0, 1.0, 2.0, 3.0, 100.0, None],
            "share": [0.1, 0.2, 0.3, 0.4, 0.9, 0.3],
            "flat": [5.0] * 6,
            "device": ["mobile", "mobile", "desktop", None, "mobile", "tablet"],
        }
    )


def test_parameters_are_the_hand_computed_ones():
    prep = Preprocessor.fit(_frame(), ["spent", "share", "flat"], ["device"], min_level_share=0.2)
    spent, share = prep.numeric
    # spent: skewed and non-negative -> ln(x + 1); missing -> median of observed (2.0) before the log.
    assert spent.log and spent.fill == 2.0
    logs = np.log(np.array([0, 1, 2, 2, 3, 100.0]) + 1)
    assert spent.center == pytest.approx(np.median(logs))  # ln 3
    assert spent.center == pytest.approx(math.log(3))
    q25, q75 = np.percentile(logs, [25, 75])
    assert spent.scale == pytest.approx((q75 - q25) / IQR_NORMAL)
    # share lies in [0, 1]: never logged, whatever its skew.
    assert not share.log and share.center == pytest.approx(0.3)
    # A constant trait is dropped with the reason recorded.
    assert prep.dropped == {"flat": "is constant in the sample"}
    # Levels with at least 20% of rows, most frequent first; missing is its own level.
    assert prep.categorical[0].levels == ("mobile",)
    assert prep.columns == ["spent", "share", "device=mobile"]


def test_transform_clips_and_one_hot_weights():
    frame = _frame()
    prep = Preprocessor.fit(frame, ["spent", "share"], ["device"], clip=2.0)
    x = prep.transform(frame)
    spent = prep.numeric[0]
    # 100 -> ln 101 is far out: clipped at +2.
    assert x[4, 0] == 2.0
    assert x[0, 0] == pytest.approx(max(-2.0, (0.0 - spent.center) / spent.scale))
    weight = prep.categorical[0].weight
    assert weight == pytest.approx(math.sqrt(0.5))
    mobile = prep.columns.index("device=mobile")
    assert list(x[:, mobile]) == pytest.approx([weight, weight, 0, 0, weight, 0])
    missing = prep.columns.index("device=(missing)")
    assert list(x[:, missing]) == pytest.approx([0, 0, 0, weight, 0, 0])


def test_round_trip_through_dict():
    prep = Preprocessor.fit(_frame(), ["spent", "share"], ["device"])
    again = Preprocessor.from_dict(prep.to_dict())
    assert again == prep


def test_engine_features_equal_numpy_features():
    frame = _frame()
    prep = Preprocessor.fit(frame, ["spent", "share"], ["device"])
    # New data with negatives, infinities and an unseen level, as later data can have.
    later = pd.DataFrame(
        {
            "customer_id": ["p", "q", "r", "s"],
            "spent": [-5.0, np.inf, 7.5, None],
            "share": [None, 0.5, 1.0, 0.0],
            "device": ["console", None, "desktop", "mobile"],
        }
    )
    con = ibis.duckdb.connect()
    table = con.create_table("t", later)
    got = feature_expr(table, prep).to_pandas().sort_values("customer_id")
    expected = prep.transform(later)
    assert np.allclose(got[[c for c in got.columns if c != "customer_id"]].to_numpy(), expected, atol=1e-12)


def test_missing_trait_in_table_is_reported():
    prep = Preprocessor.fit(_frame(), ["spent"], [])
    table = ibis.table({"customer_id": "string", "other": "float64"}, name="t")
    with pytest.raises(KeyError, match="spent"):
        feature_expr(table, prep)
