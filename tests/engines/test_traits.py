"""Every trait of the catalog, for every customer of the shop, on every engine.

Two checks: every value equals the reference (the DuckDB workspace path: tables appended through the
TableStore as importers do, traits computed there; its values are pinned by hand on the smaller shop
of tests/traits/test_values.py), at AS_OF and at a past instant; and the values of the rows built to
trip engines up (stitching ties, window edges, refunds, discounts, missing values) equal what is
worked out by hand below.
"""

from __future__ import annotations

import pytest

from segmint.adapters.workspace import Workspace
from segmint.core.traits import default_catalog, trait_table

from .shop import AS_OF, CATEGORIES, B, ago, shop_tables
from .support import by_key, same

CATALOG = default_catalog(CATEGORIES)
N = None

# Worked out from the rows of shop.py (see its docstring), at AS_OF.
PINNED: dict[str, dict[str, object]] = {
    "c11": {  # only through a11 (a NULL-time tie with c12: c11 wins)
        "product_views_7d": 2, "product_views_30d": 3, "product_views_90d": 4,  # -1d, AS_OF | -29d | -30d
        "cart_adds_7d": 0, "cart_adds_30d": 1, "checkouts_30d": 1,  # the add is exactly 7 days old
        "abandoned_carts_7d": 0, "abandoned_carts_30d": 1,
        "sessions_7d": 2, "sessions_30d": 3, "last_seen_at": AS_OF, "days_since_last_seen": 0,
        "preferred_device": "tablet", "mobile_share": 0.0, "orders_count": 0, "total_spent": 0.0,
        "lifecycle_stage": "prospect", "age": N, "email_consent": N, "one_time_buyer": False,
    },
    "c12": {  # one order with no status, quantity, discount or channel, exactly 90 days old
        "orders_count": 1, "orders_90d": 0, "orders_365d": 1, "total_spent": 45.0, "spent_90d": 0.0,
        "recency_days": 90, "discount_share": 0.0, "refund_rate": 0.0, "lifecycle_stage": "at_risk",
        "preferred_channel": N, "top_category": "home", "top_category_share": 1.0, "category_count": 1,
        "clv_historical": 45.0, "one_time_buyer": True, "sessions_30d": 0, "last_seen_at": N,
    },
    "c13": {  # discounts, refunds, a cancellation, an order after AS_OF, a 180-day gap, device tie
        "orders_count": 2, "total_spent": 130.0, "aov": 65.0, "refund_rate": 2 / 3, "discount_share": 1.0,
        "orders_30d": 1, "orders_90d": 1, "spent_30d": 70.0, "spent_90d": 70.0,
        "clv_historical": 113.0,  # (60 - 5 tax - 4 shipping) + (100 - 8 tax - 30 refunded)
        "mean_days_between_orders": 180.0, "recency_days": 20, "tenure_days": 200,
        "lifecycle_stage": "active", "seasonal_share": 0.5,  # o13a is on 2024-12-13
        "preferred_channel": "app", "app_user": True,  # 'WEB' and 'app' tie: alphabetical
        "top_category": "grocery", "top_category_share": 70 / 165, "category_count": 4,
        "share_books": 30 / 165, "share_outdoor": 55 / 165, "share_home_garden": 10 / 165,
        "days_since_last_purchase_of_top_category": 20,
        "preferred_device": "desktop", "mobile_share": 0.5, "product_views_7d": 1, "sessions_7d": 2,
        "last_seen_at": ago(0, 60), "email_consent": False, "age": 40, "age_band": "35-44",
    },
    "c14": {  # carts completed at exactly 60 minutes, at 61 and at 60 min 0.3 s; mixed-case devices
        "cart_adds_7d": 5, "abandoned_carts_7d": 2, "abandoned_carts_30d": 2, "sessions_7d": 5,
        "mobile_share": 7 / 9, "preferred_device": "mobile", "preferred_os": "iOS",
        "checkouts_30d": 1,  # a17's desktop checkout: its link to c14 is known at AS_OF, c16's is later
        "email_consent": N, "lifecycle_stage": "prospect",
    },
    "c15": {  # six e-mails, one exactly 90 days old; unsubscribed; 18 today
        "email_sent_90d": 5, "email_open_rate_90d": 0.0, "email_click_rate_90d": 0.0, "unsubscribed": True,
        "email_consent": False, "ads_consent": True, "sms_consent": N, "age": 18, "age_band": "18-24",
        "city": "São Paulo", "last_seen_at": ago(0, 60), "preferred_device": N, "mobile_share": N,
    },
    "c16": {  # 55 tomorrow; scored without a CLV; a17's checkout is not c16's yet (linked after AS_OF)
        "age": 54, "age_band": "45-54", "checkouts_30d": 0, "p_alive": 0.25, "churn_risk": 0.75,
        "clv_12m": N, "clv_12m_percentile": N, "purchase_propensity_30d": N, "preferred_device": N,
        "last_seen_at": N, "days_since_last_seen": N,
    },
    "c07": {"clv_12m_percentile": 0.6, "churn_risk": 0.2, "recency_days": 6, "lifecycle_stage": "new"},
    "c02": {"p_alive": 0.9, "orders_90d": 3, "discount_share": 2 / 3, "email_open_rate_90d": 0.75,
            "recency_days": 15, "mean_days_between_orders": (45 + 0.5 / 86400) / 2},  # o02c: 16 days less 0.5 s
    "c05": {"p_alive": 0.1},
    "c19": {"orders_count": 0, "lifecycle_stage": "prospect", "refund_rate": N, "total_spent": 0.0, "age": N},  # r1, of the same as_of, has no scored_at: r2 is the newest
}  # fmt: skip
UNIVERSE = {*(f"c0{i}" for i in range(1, 9)), *(f"c1{i}" for i in range(1, 7)), "c19"}  # c17: created later


@pytest.fixture(scope="session")
def reference(tmp_path_factory):
    """Trait rows on a DuckDB workspace loaded through the TableStore, at AS_OF and at B."""
    with Workspace.init(tmp_path_factory.mktemp("reference") / "shop") as ws:
        for name, data in shop_tables().items():
            ws.store.append(name, data)
        tables = {**ws.tables(), "predictions": ws.table("predictions")}
        yield {t: by_key(trait_table(tables, t, CATALOG), "customer_id") for t in (AS_OF, B)}


TRAITS = CATALOG.names
PINS = [(c, name) for c, values in PINNED.items() for name in values]


@pytest.fixture(scope="session")
def at_as_of(traits_at_as_of):
    return by_key(traits_at_as_of, "customer_id")


@pytest.fixture(scope="session")
def in_the_past(shop_bound):
    return by_key(trait_table(shop_bound, B, CATALOG), "customer_id")


def test_the_same_customers_as_the_reference(at_as_of, in_the_past, reference):
    assert set(at_as_of) == set(reference[AS_OF]) == UNIVERSE
    assert set(in_the_past) == set(reference[B])


def _diffs(got: dict, want: dict, name: str) -> dict:
    return {
        cid: (got[cid][name], want[cid][name])
        for cid in sorted(want)
        if not same(got.get(cid, {}).get(name), want[cid][name])
    }


@pytest.mark.parametrize("name", TRAITS)
def test_trait_equals_the_reference(at_as_of, reference, name):
    assert not _diffs(at_as_of, reference[AS_OF], name)


@pytest.mark.parametrize("name", TRAITS)
def test_trait_equals_the_reference_in_the_past(in_the_past, reference, name):
    assert not _diffs(in_the_past, reference[B], name)


@pytest.mark.parametrize(("customer", "name"), PINS, ids=[f"{c}.{n}" for c, n in PINS])
def test_hand_worked_value(at_as_of, customer, name):
    assert same(at_as_of[customer][name], PINNED[customer][name])


def test_pinned_names_are_traits():
    assert {n for values in PINNED.values() for n in values} <= set(TRAITS)
