"""The catalog contract, the RFM grid, settings validation and the score function against a reference."""

from __future__ import annotations

import math
import re

import ibis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segmint.core.traits import (
    FAMILIES,
    RFM_GRID,
    RFM_GROUPS,
    TraitSettingsError,
    default_catalog,
    resolve_settings,
)
from segmint.core.traits.needs import share_names
from segmint.core.traits.rfm import quintile, rfm_scores, rfm_scores_of

REQUIRED = [
    "total_spent",
    "orders_count",
    "aov",
    "first_order_at",
    "last_order_at",
    "recency_days",
    "tenure_days",
    "mean_days_between_orders",
    "orders_30d",
    "orders_90d",
    "orders_365d",
    "spent_30d",
    "spent_90d",
    "spent_365d",
    "refund_rate",
    "discount_share",
    "r_score",
    "f_score",
    "m_score",
    "rfm_score",
    "rfm_group",
    "one_time_buyer",
    "clv_historical",
    "sessions_7d",
    "sessions_30d",
    "sessions_90d",
    "product_views_7d",
    "product_views_30d",
    "product_views_90d",
    "cart_adds_7d",
    "cart_adds_30d",
    "cart_adds_90d",
    "checkouts_30d",
    "abandoned_carts_7d",
    "abandoned_carts_30d",
    "last_seen_at",
    "days_since_last_seen",
    "searches_30d",
    "email_sent_90d",
    "email_open_rate_90d",
    "email_click_rate_90d",
    "unsubscribed",
    "seasonal_share",
    "preferred_device",
    "preferred_browser",
    "preferred_os",
    "mobile_share",
    "preferred_channel",
    "app_user",
    "top_category",
    "top_category_share",
    "category_count",
    "days_since_last_purchase_of_top_category",
    "age",
    "age_band",
    "gender",
    "income_band",
    "country",
    "region",
    "city",
    "latitude",
    "longitude",
    "lifecycle_stage",
    "email_consent",
    "sms_consent",
    "ads_consent",
]


def test_every_required_trait_is_in_the_catalog_with_its_metadata():
    catalog = default_catalog()
    assert set(REQUIRED) <= set(catalog.names)
    for spec in catalog:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", spec.name), spec.name
        assert spec.family in FAMILIES
        assert len(spec.description) > 10, spec.name
    assert catalog["total_spent"].unit == "currency"
    assert catalog["recency_days"].unit == "days"
    assert catalog["r_score"].type_name == "integer"
    assert catalog["last_order_at"].type_name == "timestamp"
    assert catalog["unsubscribed"].type_name == "boolean"
    assert catalog["rfm_group"].family == "value"
    assert catalog["preferred_device"].family == "technographic"
    assert catalog["lifecycle_stage"].family == "lifecycle"
    assert catalog["email_consent"].family == "consent"


def test_category_shares_are_unique_snake_case_names():
    assert share_names(["Home & Garden", "home garden", "Shoes", None, " "]) == {
        "Home & Garden": "share_home_garden",
        "Shoes": "share_shoes",
        "home garden": "share_home_garden_2",
    }
    assert "share_shoes" in default_catalog(["Shoes"])
    assert "share_shoes" not in default_catalog()


def test_rfm_grid_covers_every_cell_with_the_eleven_groups():
    assert len(RFM_GRID) == 25
    assert set(RFM_GRID.values()) == set(RFM_GROUPS)
    assert len(RFM_GROUPS) == 11
    assert RFM_GRID[(5, 5)] == "Champions"
    assert RFM_GRID[(1, 5)] == "Cannot Lose Them"
    assert RFM_GRID[(5, 1)] == "New"
    assert RFM_GRID[(1, 1)] == "Lost"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"new_dayz": 3}, "unknown trait setting 'new_dayz'"),
        ({"active_days": -1}, "active_days must be a positive number"),
        ({"active_days": 200, "lapsed_days": 100}, "must not be shorter than active_days"),
        ({"seasonal_months": [13]}, "seasonal_months must list months 1-12"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(settings, message):
    with pytest.raises(TraitSettingsError, match=re.escape(message)):
        resolve_settings(settings)


def reference_scores(values: list[float], descending: bool = False) -> list[int]:
    """1 + floor(5 * percent_rank), percent_rank = (rank_min - 1) / (n - 1), written independently."""
    n = len(values)
    out = []
    for v in values:
        below = sum(1 for w in values if (w > v if descending else w < v))
        pct = below / (n - 1) if n > 1 else 0.0
        out.append(min(5, math.floor(5 * pct + 1e-9) + 1))
    return out


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=40), st.booleans())
def test_quintile_scores_match_a_reference_and_ties_share_a_score(values, descending):
    con = ibis.duckdb.connect()
    t = ibis.memtable({"i": list(range(len(values))), "v": values})
    scored = t.mutate(s=quintile(t.v, ibis.literal(True), descending=descending)).order_by("i")
    got = con.to_pyarrow(scored).column("s").to_pylist()
    assert got == reference_scores(values, descending)
    by_value = {}
    for v, s in zip(values, got, strict=True):
        assert by_value.setdefault(v, s) == s


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=400),  # recency_days
            st.integers(min_value=0, max_value=5),  # orders_count (0: not a buyer)
            st.sampled_from([0.0, 9.99, 10.0, 25.5, 100.0, 1e6]),  # total_spent, ties on purpose
        ),
        min_size=1,
        max_size=30,
    ),
    st.data(),
)
def test_counted_rfm_scores_equal_the_ranked_ones(rows, data):
    """Explaining one customer counts the buyers below them (rfm_scores_of) instead of ranking every
    buyer (rfm_scores): the scores must be the same, ties and non-buyers included."""
    con = ibis.duckdb.connect()
    ids = [f"c{i}" for i in range(len(rows))]
    buyers = ibis.memtable(
        {
            "customer_id": ids,
            "recency_days": [r[0] for r in rows],
            "orders_count": [r[1] for r in rows],
            "total_spent": [r[2] for r in rows],
        }
    )
    targets = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=4, unique=True))
    ranked = {r["customer_id"]: r for r in con.to_pyarrow(rfm_scores(buyers)).to_pylist()}
    counted = con.to_pyarrow(rfm_scores_of(buyers, ibis.memtable({"customer_id": targets}))).to_pylist()
    expected = sorted((ranked[c] for c in targets if c in ranked), key=lambda r: r["customer_id"])
    assert sorted(counted, key=lambda r: r["customer_id"]) == expected
