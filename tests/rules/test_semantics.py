"""Compiled rules evaluated on DuckDB against a hand-built shop whose answers are worked out by hand
(see the comments on each row); covers missing values, window edges, sequences, JSON attributes,
geography, consent and segment references."""

from __future__ import annotations

from datetime import timedelta

import ibis
import pytest
from rule_fixtures import AS_OF, Shop

H = timedelta(hours=1)
D = timedelta(days=1)

CUSTOMERS = [
    {
        "customer_id": "c1",
        "country": "FR",
        "city": "Paris",
        "latitude": 48.85,
        "longitude": 2.35,
        "email_opt_in": True,
        "email_opt_in_at": "2025-01-01",
        "tags": ["vip"],
        "attributes": '{"interests": ["outdoor", "running"], "values": {"eco_conscious": true}, "age": 34}',
        "birth_date": "1990-05-01",
    },
    {
        "customer_id": "c2",
        "country": "BE",
        "city": "Brussels",
        "latitude": 50.85,
        "longitude": 4.35,
        "email_opt_in": True,
        "email_opt_in_at": "2025-07-15",  # after as_of: not yet consented
        "tags": [],
        "attributes": '{"interests": "outdoor lover", "values": {"eco_conscious": false}}',
    },
    {"customer_id": "c3", "email_opt_in": False},
    {
        "customer_id": "c4",
        "country": "DE",
        "city": "Berlin",
        "latitude": 52.52,
        "longitude": 13.405,
        "attributes": '{"interests": ["indoor", "x\\"outdoor\\""]}',
    },
]
TRAITS = [
    {
        "customer_id": "c1",
        "orders_count": 7,
        "total_spent": 900.0,
        "last_order_at": "2025-06-01",
        "rfm_group": "Champions",
        "is_subscriber": True,
    },
    {
        "customer_id": "c2",
        "orders_count": 1,
        "total_spent": 50.0,
        "last_order_at": "2024-01-01",
        "rfm_group": "Lost",
        "is_subscriber": False,
    },
    {"customer_id": "c4", "orders_count": 3},  # c3 has no trait row at all
]
EVENTS = [
    # c1: cart A added 2h before as_of and ordered 30 min later -> not abandoned
    {
        "customer_id": "c1",
        "name": "added_to_cart",
        "occurred_at": AS_OF - 2 * H,
        "cart_id": "A",
        "category": "shoes",
    },
    {
        "customer_id": "c1",
        "name": "order_completed",
        "occurred_at": AS_OF - 1.5 * H,
        "cart_id": "A",
        "value": 100.0,
    },
    # window edges: exactly as_of - 7d is outside a 7d window, exactly as_of is inside
    {"customer_id": "c1", "name": "added_to_cart", "occurred_at": AS_OF - 7 * D, "category": "shoes"},
    {"customer_id": "c1", "name": "added_to_cart", "occurred_at": AS_OF, "category": "shoes"},
    # after as_of: invisible
    {"customer_id": "c1", "name": "order_completed", "occurred_at": AS_OF + H, "value": 1000.0},
    {"customer_id": "c3", "name": "product_viewed", "occurred_at": AS_OF + H, "category": "outdoor"},
    # c2: cart B abandoned 3h ago (deadline 1h passed); two older orders
    {
        "customer_id": "c2",
        "name": "added_to_cart",
        "occurred_at": AS_OF - 3 * H,
        "cart_id": "B",
        "category": "shoes",
    },
    {"customer_id": "c2", "name": "order_completed", "occurred_at": AS_OF - 10 * D, "value": 30.0},
    {"customer_id": "c2", "name": "order_completed", "occurred_at": AS_OF - 40 * D, "value": 20.0},
    # c4: cart C 30 min ago (deadline not passed yet); cart D 2 days ago (before since 1d)
    {"customer_id": "c4", "name": "added_to_cart", "occurred_at": AS_OF - 0.5 * H, "cart_id": "C"},
    {"customer_id": "c4", "name": "added_to_cart", "occurred_at": AS_OF - 2 * D, "cart_id": "D"},
    # c3 viewed outdoor products yesterday; an anonymous event belongs to nobody
    {"customer_id": "c3", "name": "product_viewed", "occurred_at": AS_OF - D, "category": "outdoor"},
    {"customer_id": None, "anonymous_id": "a1", "name": "product_viewed", "occurred_at": AS_OF - D},
]


@pytest.fixture(scope="module")
def shop(duck) -> Shop:
    vip = ibis.memtable({"customer_id": ["c2", "c4"]})
    return Shop(duck, CUSTOMERS, EVENTS, TRAITS, segments=lambda name: vip)


CASES = [
    # missing values: a comparison with a missing value is false; not (...) is then true
    ("country = 'FR'", ["c1"]),
    ("country != 'FR'", ["c2", "c4"]),
    ("not (country = 'FR')", ["c2", "c3", "c4"]),
    ("country not in ('FR', 'BE')", ["c4"]),
    ("country in ('FR', 'BE')", ["c1", "c2"]),
    ("country is missing", ["c3"]),
    ("country is present and city starts with 'B'", ["c2", "c4"]),
    ("city contains 'er'", ["c4"]),
    ("orders_count >= 3", ["c1", "c4"]),
    ("not (orders_count >= 3)", ["c2", "c3"]),
    ("orders_count is missing", ["c3"]),
    ("total_spent between 50 and 900", ["c1", "c2"]),
    ("total_spent between 50.5 and 900", ["c1"]),
    ("last_order_at >= -90d", ["c1"]),
    ("last_order_at < '2025-01-01'", ["c2"]),
    ("last_order_at >= today -29d", ["c1"]),  # 2025-06-01 is 29 days before 2025-06-30
    ("last_order_at >= today -28d", []),
    ("birth_date < '1991-01-01'", ["c1"]),
    ("is_subscriber", ["c1"]),
    ("not is_subscriber", ["c2", "c3", "c4"]),
    ("is_subscriber = false", ["c2"]),
    ("rfm_group = 'Champions' or (orders_count > 2 and country = 'DE')", ["c1", "c4"]),
    ("tags contains 'vip'", ["c1"]),
    # JSON attributes: array element (not substring of the escaped 'x"outdoor"'), or text substring
    ("attr.interests contains 'outdoor'", ["c1", "c2"]),
    ("attr.values.eco_conscious = true", ["c1"]),
    ("attr.values.eco_conscious = false", ["c2"]),
    ("attr.age > 30", ["c1"]),
    ("attr.interests is missing", ["c3"]),
    ("attr.values is present", ["c1", "c2"]),
    # geography: Paris-Brussels is about 264 km
    ("within_km(48.8566, 2.3522, 50)", ["c1"]),
    ("within_km(48.8566, 2.3522, 300)", ["c1", "c2"]),
    ("consent(email)", ["c1"]),
    # windows (as_of - d, as_of]: the event at exactly as_of - 7d is out, the one at as_of is in
    ("count(added_to_cart where category = 'shoes', 7d) >= 2", ["c1"]),
    ("count(added_to_cart where category = 'shoes', 7d) = 2", ["c1"]),
    ("count(added_to_cart where category = 'shoes', 8d) = 3", ["c1"]),
    ("count(added_to_cart, 7d) = 0", ["c3"]),
    ("sum(order_completed.value, 30d) >= 30", ["c1", "c2"]),
    ("sum(order_completed.value) = 50", ["c2"]),
    ("sum(order_completed.value, 30d) < 1", ["c3", "c4"]),
    ("avg(order_completed.value) > 20", ["c1", "c2"]),
    ("avg(order_completed.value) = 25", ["c2"]),
    ("avg(order_completed.value) is missing", ["c3", "c4"]),
    ("max(order_completed.value) = 100", ["c1"]),
    ("did product_viewed within 7d", ["c3"]),
    ("did not product_viewed", ["c1", "c2", "c4"]),
    ("did product_viewed where category = 'outdoor'", ["c3"]),
    ("first(added_to_cart) <= -7d", ["c1"]),
    ("last(added_to_cart) >= -1h", ["c1", "c4"]),
    ("first(order_completed) is missing", ["c3", "c4"]),
    # sequences
    ("sequence(added_to_cart, then_not order_completed, within 1h, by cart_id, since 1d)", ["c2"]),
    ("sequence(added_to_cart, then_not order_completed, within 1h, since 1d)", ["c2"]),
    ("sequence(added_to_cart, then order_completed, within 1h)", ["c1"]),
    ("sequence(added_to_cart, then order_completed, within 20m)", []),
    # without since, c1's shoes cart of 7 days ago (never ordered) counts too
    ("sequence(added_to_cart where category = 'shoes', then_not order_completed, within 1h)", ["c1", "c2"]),
    # c1 added at -2h and again at exactly as_of: 2h apart, and the bound is inclusive
    ("sequence(added_to_cart, then added_to_cart, within 2h)", ["c1"]),
    ("sequence(added_to_cart, then added_to_cart, within 119m)", []),
    # other segments
    ("in_segment('vip')", ["c2", "c4"]),
    ("not in_segment('vip') and country is present", ["c1"]),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_members(shop: Shop, text: str, expected: list[str]) -> None:
    assert shop.members(text) == expected
