"""Every trait of the fixture shop, worked out by hand, at T and at the past instant B.

Reading guide (see fixture.py for the rows):
* T = 2025-06-30 12:00. Windows are (T - d, T]: the 7-day window starts after 2025-06-23 12:00, the
  30-day one after 2025-05-31 12:00, the 90-day one after 2025-04-01 12:00.
* Sales are paid / partially_refunded orders, net of refunded_amount.
* B = 2025-05-01 00:00: everything dated later is invisible (c2 and c4 do not exist yet).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from segmint.core.traits import default_catalog, trait_table

from .fixture import B, T, load

CATEGORIES = ["Shoes", "Home & Garden"]
N = None  # missing


def days(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 86400


# ---- expected values at T -------------------------------------------------------------------------
# Universe: c1 c2 c3 c5 c6 from customers, c4 from its (cancelled) order; c9 only in identities: absent.
C = ["c1", "c2", "c3", "c4", "c5", "c6"]


def row(*values):
    assert len(values) == len(C)
    return dict(zip(C, values, strict=True))


AT_T = {
    # demographic / geographic (customers table)
    "age": row(34, 25, N, N, 70, 15),  # c1 born 1990-07-01: birthday tomorrow; c2 born 2000-06-30: today
    "age_band": row("25-34", "25-34", N, N, "65+", "<18"),
    "gender": row("female", N, N, N, N, N),
    "income_band": row("high", N, N, N, N, N),
    "marital_status": row(N, N, N, N, N, N),
    "education": row(N, N, N, N, N, N),
    "occupation": row(N, N, N, N, N, N),
    "language": row(N, N, N, N, N, N),
    "country": row("FR", N, N, N, N, N),
    "region": row("Ile-de-France", N, N, N, N, N),
    "city": row("Paris", N, N, N, N, N),
    "postal_code": row(N, N, N, N, N, N),
    "latitude": row(48.8566, N, N, N, N, N),
    "longitude": row(2.3522, N, N, N, N, N),
    # value. c1 sales: o1 100 (2024-11-20 10:00), o2 50 (2025-05-31 12:00, exactly 30d old),
    # o3 80 - 20 refunded (2025-06-20 08:00); o4 refunded, o5 cancelled, o6 after T.
    "total_spent": row(210.0, 200.0, 0.0, 0.0, 30.0, 100.0),
    "orders_count": row(3, 1, 0, 0, 1, 2),
    "aov": row(70.0, 200.0, N, N, 30.0, 50.0),
    "first_order_at": row(
        datetime(2024, 11, 20, 10),
        datetime(2025, 6, 15, 9),
        N,
        N,
        datetime(2024, 12, 1),
        datetime(2025, 1, 15),
    ),
    "last_order_at": row(
        datetime(2025, 6, 20, 8), datetime(2025, 6, 15, 9), N, N, datetime(2024, 12, 1), datetime(2025, 4, 15)
    ),
    # 10d 4h -> 10; 15d 3h -> 15; 211d 12h -> 211; 76d 12h -> 76
    "recency_days": row(10, 15, N, N, 211, 76),
    # c1: 2024-11-20 10:00 -> 2025-06-30 12:00 is 222 days 2 hours; c6: 166d 12h
    "tenure_days": row(222, 15, N, N, 211, 166),
    "mean_days_between_orders": row(
        days(datetime(2024, 11, 20, 10), datetime(2025, 6, 20, 8)) / 2, N, N, N, N, 90.0
    ),
    "orders_30d": row(1, 1, 0, 0, 0, 0),  # o2 sits exactly on the edge: out
    "orders_90d": row(2, 1, 0, 0, 0, 1),
    "orders_365d": row(3, 1, 0, 0, 1, 2),
    "spent_30d": row(60.0, 200.0, 0.0, 0.0, 0.0, 0.0),
    "spent_90d": row(110.0, 200.0, 0.0, 0.0, 0.0, 60.0),
    "spent_365d": row(210.0, 200.0, 0.0, 0.0, 30.0, 100.0),
    # c1: o3 (partial) + o4 (refunded) of o1..o4 settled = 2/4; c4's only order was cancelled.
    "refund_rate": row(0.5, 0.0, N, N, 0.0, 0.0),
    "discount_share": row(1 / 3, 0.0, N, N, 0.0, 0.0),  # o1 had a code
    "one_time_buyer": row(False, True, False, False, True, False),
    # c1: (100 - 10 tax - 5 shipping) + (50 - 5) + (80 - 8 - 20 refunded) = 182
    "clv_historical": row(182.0, 200.0, 0.0, 0.0, 30.0, 100.0),
    "seasonal_share": row(1 / 3, 0.0, N, N, 1.0, 0.0),  # o1 in November; c5's order in December
    # c1: last order before the 90d window 2024-11-20, first inside 2025-05-31: 192-day gap > 180.
    # c6: 2025-01-15 then 2025-04-15: 90-day gap, so active. c5: 211 days > 180: lapsed.
    "lifecycle_stage": row("reactivated", "new", "prospect", "prospect", "lapsed", "active"),
    # predictive: no model has scored this shop (no predictions table passed), so all missing.
    **{
        name: row(N, N, N, N, N, N)
        for name in (
            "p_alive",
            "expected_orders_90d",
            "clv_12m",
            "clv_12m_percentile",
            "churn_risk",
            "purchase_propensity_30d",
            "next_order_at",
        )
    },
    # behavioral. c1 sessions: 7d s1 s3 (s2 exactly 7d old is out); 30d + s2 s5 s6; 90d + s4 s0.
    # c3 is the stitched anonymous a3 (linked after its browsing, before T); a4 is never linked.
    "sessions_7d": row(2, 0, 1, 0, 0, 0),
    "sessions_30d": row(5, 0, 1, 0, 0, 0),
    "sessions_90d": row(7, 0, 1, 0, 0, 0),
    "product_views_7d": row(1, 0, 1, 0, 0, 0),
    "product_views_30d": row(1, 0, 1, 0, 0, 0),  # e6 exactly 30d old is out
    "product_views_90d": row(3, 0, 1, 0, 0, 0),
    "cart_adds_7d": row(2, 0, 1, 0, 0, 0),
    "cart_adds_30d": row(4, 0, 1, 0, 0, 0),
    "cart_adds_90d": row(4, 0, 1, 0, 0, 0),
    "checkouts_30d": row(1, 0, 0, 0, 0, 0),
    # c1 carts: k1 completed after 25 min; k2 (exactly 7d old) abandoned; k3 added 30 min ago: not yet;
    # k4 completed 90 min later: abandoned. c3's k5 (2 days old) abandoned.
    "abandoned_carts_7d": row(0, 0, 1, 0, 0, 0),
    "abandoned_carts_30d": row(2, 0, 1, 0, 0, 0),
    "searches_30d": row(1, 0, 0, 0, 0, 0),
    "last_seen_at": row(
        datetime(2025, 6, 30, 11, 30), datetime(2025, 6, 20), datetime(2025, 6, 28, 9, 5), N, N, N
    ),
    "days_since_last_seen": row(0, 10, 2, N, N, N),
    "email_sent_90d": row(2, 0, 0, 0, 0, 0),
    "email_open_rate_90d": row(0.5, N, N, N, N, N),  # m1 opened twice counts once; m2 never
    "email_click_rate_90d": row(0.5, N, N, N, N, N),
    "unsubscribed": row(False, True, False, False, False, False),
    # technographic. c1 own events: mobile 6 (e1 e2 e3 e5 e7 e14), desktop 5 (e4 e6 e15 e16 e17).
    # c3: tablet 1, mobile 1: the tie goes to the alphabetically first.
    "preferred_device": row("mobile", N, "mobile", N, N, N),
    "preferred_browser": row("Safari", N, "Chrome", N, N, N),
    "preferred_os": row("iOS", N, "Android", N, N, N),
    "mobile_share": row(6 / 11, N, 0.5, N, N, N),
    "preferred_channel": row("web", "app", "web", N, "pos", "web"),  # c3 has no order: from events
    "app_user": row(True, True, False, False, False, False),
    # needs. c1 lines of sales: Shoes 60 + 80 = 140, Home & Garden 40 + 50 = 90 (p3 has no category).
    # c2: 100 each: the tie goes to 'Home & Garden'.
    "top_category": row("Shoes", "Home & Garden", N, N, N, N),
    "top_category_share": row(140 / 230, 0.5, N, N, N, N),
    "category_count": row(2, 2, 0, 0, 0, 0),
    "days_since_last_purchase_of_top_category": row(10, 15, N, N, N, N),
    "share_home_garden": row(90 / 230, 0.5, N, N, N, N),
    "share_shoes": row(140 / 230, 0.5, N, N, N, N),
    # RFM among the 4 buyers, percent_rank = (rank - 1) / 3, score = 1 + floor(5 * pr) capped at 5.
    # R (oldest first): c5 211 -> 1, c6 76 -> 2, c2 15 -> 4, c1 10 -> 5.
    # F: c2 1, c5 1 (rank 1) -> 1, c6 2 -> 4, c1 3 -> 5.   M: c5 30 -> 1, c6 100 -> 2, c2 200 -> 4, c1 -> 5.
    # FM = round-half-up((F + M) / 2): c1 5, c2 3, c5 1, c6 3.
    "r_score": row(5, 4, N, N, 1, 2),
    "f_score": row(5, 1, N, N, 1, 4),
    "m_score": row(5, 4, N, N, 1, 2),
    "rfm_score": row("555", "414", N, N, "111", "242"),
    "rfm_group": row("Champions", "Potential Loyalist", N, N, "Lost", "At Risk"),
    # consent. c2 opted in 2025-06-01 and unsubscribed 2025-06-20; c6 never opted in.
    "email_consent": row(True, False, N, N, True, False),
    "sms_consent": row(False, N, N, N, True, N),
    "ads_consent": row(N, N, N, N, N, N),
}

# ---- expected values at B = 2025-05-01 00:00 -------------------------------------------------------
CB = ["c1", "c3", "c5", "c6"]


def rowb(*values):
    return dict(zip(CB, values, strict=True))


AT_B = {
    "age": rowb(34, N, 70, 15),
    "age_band": rowb("25-34", N, "65+", "<18"),
    "total_spent": rowb(100.0, 0.0, 30.0, 100.0),  # only o1 for c1
    "orders_count": rowb(1, 0, 1, 2),
    "aov": rowb(100.0, N, 30.0, 50.0),
    "last_order_at": rowb(datetime(2024, 11, 20, 10), N, datetime(2024, 12, 1), datetime(2025, 4, 15)),
    "recency_days": rowb(161, N, 151, 16),  # 161d 14h, 151d, 16d
    "tenure_days": rowb(161, N, 151, 106),
    "mean_days_between_orders": rowb(N, N, N, 90.0),
    "orders_30d": rowb(0, 0, 0, 1),
    "spent_90d": rowb(0.0, 0.0, 0.0, 60.0),
    "refund_rate": rowb(0.0, N, 0.0, 0.0),
    "discount_share": rowb(1.0, N, 0.0, 0.0),
    "one_time_buyer": rowb(True, False, True, False),
    "clv_historical": rowb(85.0, 0.0, 30.0, 100.0),
    "seasonal_share": rowb(1.0, N, 1.0, 0.0),
    "lifecycle_stage": rowb("at_risk", "prospect", "at_risk", "active"),
    # c1 has only e17 (2025-04-30 23:00) by then; c3's browsing is later.
    "sessions_7d": rowb(1, 0, 0, 0),
    "product_views_90d": rowb(1, 0, 0, 0),
    "cart_adds_30d": rowb(0, 0, 0, 0),
    "abandoned_carts_30d": rowb(0, 0, 0, 0),
    "last_seen_at": rowb(datetime(2025, 4, 30, 23), N, N, N),
    "days_since_last_seen": rowb(0, N, N, N),
    "email_sent_90d": rowb(0, 0, 0, 0),
    "email_open_rate_90d": rowb(N, N, N, N),
    "unsubscribed": rowb(False, False, False, False),
    "preferred_device": rowb("desktop", N, N, N),
    "preferred_os": rowb("Linux", N, N, N),
    "mobile_share": rowb(0.0, N, N, N),
    "preferred_channel": rowb("web", N, "pos", "web"),
    "app_user": rowb(False, False, False, False),  # o2 through the app is later
    "top_category": rowb("Shoes", N, N, N),
    "top_category_share": rowb(0.6, N, N, N),
    "days_since_last_purchase_of_top_category": rowb(161, N, N, N),
    # 3 buyers, pr = (rank - 1) / 2. R: c1 161 -> 1, c5 151 -> 1 + floor(2.5) = 3, c6 16 -> 5.
    # F: c1 1, c5 1 -> 1; c6 2 -> 5. M: c5 30 -> 1; c1 100, c6 100 tie at rank 2 -> 3.
    # FM: c1 (1 + 3 + 1) // 2 = 2, c5 1, c6 4.
    "r_score": rowb(1, N, 3, 5),
    "f_score": rowb(1, N, 1, 5),
    "m_score": rowb(3, N, 1, 3),
    "rfm_score": rowb("113", N, "311", "553"),
    "rfm_group": rowb("Lost", N, "About to Sleep", "Champions"),
    # c5's email opt-in is dated 2025-06-01: not given yet.
    "email_consent": rowb(True, N, False, False),
    "sms_consent": rowb(False, N, True, N),
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    from segmint.adapters.workspace import Workspace

    ws = Workspace.init(tmp_path_factory.mktemp("traits") / "shop")
    load(ws)
    yield ws
    ws.close()


def compute(ws, as_of):
    table = trait_table(ws.tables(), as_of, default_catalog(CATEGORIES))
    return {r["customer_id"]: r for r in table.to_pyarrow().to_pylist()}


def assert_trait(name, got, expected):
    for customer, want in expected.items():
        value = got[customer][name]
        if isinstance(want, float):
            assert value == pytest.approx(want, rel=1e-12), (name, customer, value, want)
        else:
            assert value == want, (name, customer, value, want)


def test_every_trait_has_a_hand_computed_value_at_t():
    assert set(AT_T) == set(default_catalog(CATEGORIES).names)


def test_universe_at_t_and_b(shop):
    assert sorted(compute(shop, T)) == C
    assert sorted(compute(shop, B)) == CB


@pytest.mark.parametrize("name", sorted(AT_T))
def test_traits_at_t(shop, name):
    assert_trait(name, _at(shop, T), AT_T[name])


@pytest.mark.parametrize("name", sorted(AT_B))
def test_traits_at_past_as_of_hide_later_data(shop, name):
    assert_trait(name, _at(shop, B), AT_B[name])


_computed: dict = {}


def _at(ws, as_of):
    key = (id(ws), as_of)
    if key not in _computed:
        _computed[key] = compute(ws, as_of)
    return _computed[key]


def test_columns_and_types_follow_the_catalog(shop):
    catalog = default_catalog(CATEGORIES)
    schema = trait_table(shop.tables(), T, catalog).schema()
    assert list(schema) == ["customer_id", *catalog.names]
    for spec in catalog:
        assert schema[spec.name].copy(nullable=True) == spec.dtype.copy(nullable=True), spec.name


def test_settings_move_the_lifecycle_thresholds(shop):
    # With a 200-day lapse threshold c5 (211 days) is still lapsed, with 250 it is at risk; a 10-day
    # "new" window makes c2 (first order 15 days ago) active instead.
    table = trait_table(shop.tables(), T, default_catalog(), {"lapsed_days": 250, "new_days": 10})
    stages = {r["customer_id"]: r["lifecycle_stage"] for r in table.to_pyarrow().to_pylist()}
    assert stages["c5"] == "at_risk"
    assert stages["c2"] == "active"
