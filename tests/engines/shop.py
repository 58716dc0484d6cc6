"""The canonical shop every engine loads: small, hand-built, and full of the rows engines tend to disagree on.

AS_OF is 2025-07-01 00:00; B (2025-05-01 00:00) is a past instant for the traits. c01-c08 are the shop of
``tests/segments/shop_fixture.py`` (each written to land in specific ready-made segments); c11-c17 add the
cases that differ between engines when an expression is not portable:

* c11: a customer with nothing known. Browses only anonymously (a11); a11 is linked to c11 and to c12,
  both with no link time (a tie: the smallest customer_id, c11, wins). Views exactly 30 days before
  AS_OF (outside the 30-day window), at AS_OF itself (inside) and after AS_OF (invisible); a cart added
  exactly 7 days before AS_OF (abandoned, but outside the 7-day window) and a checkout 5 minutes later
  (inside it) that no order completed.
* c12: one order of no status (a sale), no discount amount, an empty discount code, no quantity, no
  channel, placed exactly 90 days before AS_OF (outside the 90-day window: at risk, not active).
* c13: discounts (an amount; a code with a zero amount), a partial refund, a full refund, a
  cancellation, an upper-case channel, an order after AS_OF; reactivation gap of exactly 180 days (not
  over 180: active, not reactivated); a device tie (one desktop, one mobile event: desktop wins
  alphabetically), the desktop view coming from a16, linked to c13 and c16 at the same instant.
* c14: carts completed exactly 60 minutes after the add (not abandoned), 61 minutes after and 60 minutes
  0.3 seconds after, in milliseconds (both abandoned), one added 30 minutes before AS_OF (not due yet), one
  with no cart id; device types in mixed case; a
  checkout by a17, linked to c14 exactly at AS_OF (known then) and to c16 a day later: as of AS_OF it is
  c14's, in traits and rules alike (a link counts from its time on).
* c15: JSON attributes written by ``json.dumps`` (``\\u00e9`` escapes, escaped quotes), a city with a
  non-ASCII name, an 18th birthday on AS_OF, six e-mails sent of which one exactly 90 days before AS_OF,
  an unsubscribe after the opt-in.
* c16: a 55th birthday the day after AS_OF; model scores with a missing CLV.
* c17: a customers row created after AS_OF: it does not exist yet.
* c19: no customers row, one cancelled order: known to the traits (seen in orders), a buyer of nothing.

c02's last order is 16 days minus half a second old (15 whole days), c16's last event 2 days minus half a
second. Guest orders, never-linked anonymous events and rows after AS_OF belong to nobody.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pyarrow as pa

from segmint.core.schema import CANONICAL, DERIVED

AS_OF = datetime(2025, 7, 1)
B = datetime(2025, 5, 1)
CATEGORIES = ["apparel", "books", "grocery", "home", "outdoor", "Home & Garden"]


def ago(days: float = 0, minutes: float = 0) -> datetime:
    return AS_OF - timedelta(days=days, minutes=minutes)


# ---- customers -----------------------------------------------------------------------------------


def _cust(cid, birth=None, gender=None, income=None, country=None, city=None, lat=None, lon=None, attrs=None):
    return {
        "customer_id": cid, "birth_date": birth, "gender": gender, "income_band": income, "country": country,
        "city": city, "latitude": lat, "longitude": lon, "attributes": attrs, "created_at": datetime(2023, 1, 1),
        "email": f"{cid}@example.com", "email_opt_in": True,
    }  # fmt: skip


CUSTOMERS = [
    _cust("c01", date(2004, 1, 15), "female", "high", "FR", "Paris", 48.8566, 2.3522,
          '{"values": ["eco_conscious"], "interests": ["outdoor", "tech"], "lifestyle": "urban_professional"}'),
    _cust("c02", date(1993, 5, 1), "male", "upper_middle", "US", "New York", 40.71, -74.0,
          '{"values": ["price_sensitive"], "interests": ["tech"], "lifestyle": "active_outdoor"}'),
    _cust("c03", date(1960, 2, 1), "female", "middle", "FR", "Versailles", 48.8049, 2.1204),
    _cust("c04", date(1970, 6, 15), "male", "low", "US", "Boston", 42.36, -71.06),
    _cust("c05", country="US"),
    _cust("c06", country="DE"),
    _cust("c07", date(1990, 1, 1), None, None, "GB", "London", 51.5, -0.12),
    _cust("c08", country="US"),
    {"customer_id": "c11"},
    {"customer_id": "c12"},
    {**_cust("c13", date(1985, 3, 10), "female", "middle", "FR", "Lyon", 45.764, 4.8357),
     "email_opt_in_at": AS_OF + timedelta(days=1), "sms_opt_in": False},
    {**_cust("c14", None, None, None, "US"), "created_at": datetime(2025, 6, 1), "email_opt_in": None},
    {**_cust("c15", date(2007, 7, 1), "female", None, "BR", "São Paulo", -23.55, -46.63, json.dumps(
        {"values": ["eco_conscious"], "interests": ["café", "outdoor"], "note": 'São Paulo "SP"'})),
     "email_opt_in_at": datetime(2024, 1, 1), "ads_opt_in": True, "ads_opt_in_at": ago(1)},
    _cust("c16", date(1970, 7, 2), "male"),
    {**_cust("c17", date(1980, 1, 1), "female", "high", "US"), "created_at": AS_OF + timedelta(days=1)},
]  # fmt: skip


# ---- orders and lines ----------------------------------------------------------------------------


def _order(oid, cid, at, total, discount=0.0, device="desktop", channel="web", **extra):
    return {
        "order_id": oid, "customer_id": cid, "ordered_at": at, "status": "paid", "total": total,
        "subtotal": total, "discount": discount, "device_type": device, "channel": channel, "currency": "USD",
        **extra,
    }  # fmt: skip


ORDERS = [
    _order("o01", "c01", ago(11), 1200.0, device="mobile"),
    _order("o02a", "c02", ago(61), 60.0, discount=5.0),
    _order("o02b", "c02", ago(30), 80.0, discount=8.0),
    _order("o02c", "c02", ago(16) + timedelta(milliseconds=500), 70.0),  # 15.99999 days old
    _order("o03a", "c03", datetime(2024, 1, 10), 40.0),
    _order("o03b", "c03", ago(42), 35.0),
    _order("o04", "c04", ago(136), 90.0),
    _order("o05", "c05", ago(273), 20.0),
    _order("o07", "c07", ago(6), 55.0),
    {"order_id": "o12", "customer_id": "c12", "ordered_at": ago(90), "total": 45.0, "discount_code": ""},
    _order("o13a", "c13", ago(200), 60.0, discount=5.0, channel="WEB", tax=5.0, shipping=4.0),
    _order("o13b", "c13", ago(20), 100.0, channel="app", status="partially_refunded", refunded_amount=30.0,
           discount_code="SPRING", tax=8.0, shipping=0.0),
    _order("o13c", "c13", ago(10), 50.0, status="refunded", refunded_amount=50.0),
    _order("o13d", "c13", ago(5), 20.0, status="cancelled"),
    _order("o13e", "c13", AS_OF + timedelta(days=2), 500.0),
    _order("o_guest", None, ago(3), 300.0),
    _order("o19", "c19", ago(8), 25.0, status="cancelled"),  # c19 has no customers row
]  # fmt: skip

CATEGORY = {
    "o01": "outdoor",
    "o03a": "grocery",
    "o03b": "grocery",
    "o04": "home",
    "o05": "books",
    "o07": "apparel",
    "o_guest": "outdoor",
}
LINES = [
    {"order_id": o["order_id"], "line_no": 1, "product_id": f"p_{CATEGORY.get(o['order_id'], 'home')}",
     "quantity": 1, "unit_price": o["total"], "discount": 0.0}
    for o in ORDERS if o["order_id"] in CATEGORY
] + [
    {"order_id": "o12", "line_no": 1, "product_id": "p_home", "quantity": None, "unit_price": 45.0},
    {"order_id": "o13a", "line_no": 1, "product_id": "p_outdoor", "quantity": 2, "unit_price": 30.0, "discount": 5.0},
    {"order_id": "o13a", "line_no": 2, "product_id": "p_Home & Garden", "quantity": 1, "unit_price": 10.0},
    {"order_id": "o13b", "line_no": 1, "product_id": "p_grocery", "quantity": 1, "unit_price": 70.0},
    {"order_id": "o13b", "line_no": 2, "product_id": "p_books", "quantity": 3, "unit_price": 10.0},
    {"order_id": "o13b", "line_no": 3, "product_id": "p_unknown", "quantity": 1, "unit_price": 5.0},
    {"order_id": "o13c", "line_no": 1, "product_id": "p_home", "quantity": 1, "unit_price": 50.0},
]  # fmt: skip
PRODUCTS = [{"product_id": f"p_{c}", "category": c, "price": 10.0} for c in CATEGORIES] + [
    {"product_id": "p_unknown", "category": None}
]


# ---- events and identities -----------------------------------------------------------------------


def _events() -> list[dict]:
    ev: list[dict] = []

    def add(cid, name, at, **kw):
        ev.append({"event_id": f"e{len(ev):03d}", "customer_id": cid, "name": name, "occurred_at": at, **kw})

    for i in range(4):  # c06 browses
        add(
            "c06",
            "product_viewed",
            ago(2 + i),
            session_id=f"s6_{i}",
            device_type="desktop",
            category="outdoor",
        )
    add("c07", "added_to_cart", ago(3), cart_id="k7", session_id="s7", device_type="desktop")
    add(
        "c07",
        "checkout_started",
        ago(3) + timedelta(minutes=5),
        cart_id="k7",
        session_id="s7",
        device_type="desktop",
    )
    for i in range(10):  # c08: app sessions on a phone
        add("c08", "search", ago(1 + 2 * i), session_id=f"s8_{i}", device_type="mobile", channel="app")
    for i in range(4):  # c02 opens 3 of 4 campaigns
        add("c02", "email_sent", ago(10 + 7 * i), campaign_id=f"m{i}")
        if i < 3:
            add("c02", "email_opened", ago(9 + 7 * i), campaign_id=f"m{i}")
    for i in range(6):  # c03 opens none of 6
        add("c03", "email_sent", ago(5 + 7 * i), campaign_id=f"m{i}")

    # c11, only through the anonymous id a11.
    anon11 = {"anonymous_id": "a11", "device_type": "tablet", "channel": "web"}
    add(None, "product_viewed", ago(30), session_id="s11a", **anon11)
    add(None, "product_viewed", ago(29), session_id="s11a", **anon11)
    add(None, "product_viewed", ago(1), session_id="s11b", **anon11)
    add(None, "product_viewed", AS_OF, session_id="s11b", **anon11)
    add(None, "product_viewed", AS_OF + timedelta(hours=1), session_id="s11c", **anon11)
    add(None, "added_to_cart", ago(7), session_id="s11c", cart_id="k11", **anon11)
    add(None, "checkout_started", ago(7) + timedelta(minutes=5), session_id="s11c", cart_id="k11", **anon11)

    # c13: one own search on a phone; one desktop view through a16 (tied link).
    add("c13", "search", ago(2), session_id="s13", device_type="mobile", os="iOS", browser="Safari")
    add(
        None,
        "product_viewed",
        ago(0, 60),
        anonymous_id="a16",
        session_id="s16",
        device_type="desktop",
        os="Windows",
        browser="Chrome",
    )

    # c14: carts and devices.
    add("c14", "added_to_cart", ago(3), session_id="s14a", cart_id="k14a", device_type="Mobile", os="iOS")
    add(
        "c14",
        "order_completed",
        ago(3) + timedelta(minutes=60),
        session_id="s14a",
        cart_id="k14a",
        device_type="Mobile",
        os="iOS",
        properties=json.dumps({"coupon": "SUMMER", "amount": 12.50}),
    )
    add("c14", "added_to_cart", ago(2), session_id="s14b", cart_id="k14b", device_type="mobile", os="iOS")
    add(
        "c14",
        "order_completed",
        ago(2) + timedelta(minutes=61),
        session_id="s14b",
        cart_id="k14b",
        device_type="mobile",
        os="iOS",
    )
    add("c14", "added_to_cart", ago(0, 30), session_id="s14c", cart_id="k14c", device_type="desktop")
    # Timestamps with milliseconds (as tracking libraries send them): completed 60 min 0.3 s after.
    add(
        "c14",
        "added_to_cart",
        ago(4) + timedelta(milliseconds=300),
        session_id="s14d",
        cart_id="k14d",
        device_type="mobile",
    )
    add(
        "c14",
        "order_completed",
        ago(4) + timedelta(minutes=60, milliseconds=600),
        session_id="s14d",
        cart_id="k14d",
        device_type="mobile",
    )
    add("c14", "added_to_cart", ago(1), device_type="MOBILE", channel="web")
    add(
        None,
        "checkout_started",
        ago(2) + timedelta(milliseconds=500),
        anonymous_id="a17",
        session_id="s17",
        cart_id="k17",
        device_type="desktop",
    )

    # c15: six e-mails (one exactly 90 days old), none opened; an unsubscribe.
    for i, d in enumerate((90, 80, 60, 40, 20, 1)):
        add("c15", "email_sent", ago(d), campaign_id=f"n{i}", channel="email")
    add("c15", "unsubscribed", ago(0, 60), channel="email")

    # Never linked: nobody's.
    add(None, "product_viewed", ago(1), anonymous_id="a99", session_id="s99", device_type="mobile")
    return ev  # fmt: skip


EVENTS = _events()

IDENTITIES = [
    {"anonymous_id": "a11", "customer_id": "c12", "linked_at": None},
    {"anonymous_id": "a11", "customer_id": "c11", "linked_at": None},
    {"anonymous_id": "a16", "customer_id": "c16", "linked_at": ago(5)},
    {"anonymous_id": "a16", "customer_id": "c13", "linked_at": ago(5)},
    {"anonymous_id": "a17", "customer_id": "c16", "linked_at": AS_OF + timedelta(days=1)},
    {"anonymous_id": "a17", "customer_id": "c14", "linked_at": AS_OF},
]


# ---- model scores --------------------------------------------------------------------------------


# c07 has an older run (churn risk 0.95) and a newer one (0.2), c02 a run scored as of a time after
# AS_OF: the predictive traits take the newest row at or before AS_OF. clv_12m ranks c05 < c04 < c03 <
# c07 < c02 < c01 (percent_rank 0, .2, .4, .6, .8, 1); c16 has no CLV and is left out of the ranks.
def _prediction(cid, run, days_before, p_alive, clv, propensity):
    return {
        "customer_id": cid, "run_id": run, "as_of": ago(days_before), "p_alive": p_alive,
        "expected_orders_90d": None, "clv_12m": clv, "purchase_propensity_30d": propensity,
        "next_order_at": None, "scored_at": ago(days_before),
    }  # fmt: skip


PREDICTIONS = [
    _prediction("c01", "r2", 1, 0.95, 900.0, 0.6),
    _prediction("c02", "r2", 1, 0.9, 400.0, 0.7),
    _prediction("c02", "r3", -5, 0.01, 1.0, 0.0),
    _prediction("c03", "r2", 1, 0.5, 150.0, 0.3),
    _prediction("c04", "r2", 1, 0.2, 60.0, 0.05),
    _prediction("c05", "r2", 1, 0.1, 10.0, 0.02),
    {**_prediction("c05", "r1", 1, 0.99, 10.0, 0.9), "scored_at": None},  # same as_of, never scored: r2 wins
    _prediction("c07", "r1", 60, 0.05, 5.0, 0.01),
    _prediction("c07", "r2", 1, 0.8, 200.0, 0.45),
    _prediction("c16", "r2", 1, 0.25, None, None),
]

ROWS = {
    "customers": CUSTOMERS,
    "orders": ORDERS,
    "order_lines": LINES,
    "products": PRODUCTS,
    "events": EVENTS,
    "identities": IDENTITIES,
}


def _table(schema: pa.Schema, rows: list[dict]) -> pa.Table:
    unknown = {k for r in rows for k in r} - set(schema.names)
    assert not unknown, unknown
    return pa.Table.from_pylist([{f.name: r.get(f.name) for f in schema} for r in rows], schema=schema)


def shop_tables() -> dict[str, pa.Table]:
    """Every canonical table (columns the rows leave out are null) and the model scores."""
    out = {name: _table(CANONICAL[name].schema.to_pyarrow(), rows) for name, rows in ROWS.items()}
    out["predictions"] = _table(DERIVED["predictions"].schema.to_pyarrow(), PREDICTIONS)
    return out


# ---- members of every ready-made segment at AS_OF, by construction --------------------------------

EXPECTED = {
    "age_18_24": {"c01", "c15"},
    "age_25_34": {"c02"},
    "age_55_plus": {"c03", "c04"},
    "women": {"c01", "c03", "c13", "c15"},
    "men": {"c02", "c04", "c16"},
    "high_income": {"c01", "c02"},
    "home_market": {"c02", "c04", "c05", "c08", "c14"},
    "city_shoppers": {"c01"},
    "near_flagship_store": {"c01", "c03"},
    "eco_conscious": {"c01", "c15"},
    "outdoor_enthusiasts": {"c01", "c02", "c15"},
    "mobile_first": {"c08", "c14"},
    "app_users": {"c08", "c13"},
    "desktop_shoppers": {"c06", "c07", "c13"},  # not c16: a17's link to c16 comes after AS_OF
    "cart_abandoners": {"c07", "c14"},
    "checkout_abandoners": {"c07", "c11", "c14"},
    "browsers_never_bought": {"c06", "c11"},
    "frequent_visitors": {"c08"},
    "discount_seekers": {"c02", "c13"},
    "email_engaged": {"c02"},
    "email_disengaged": {"c03", "c15"},
    "category_affinity": {"c01"},
    "replenishment_due": {"c03"},
    "high_spenders": {"c01"},
    "one_time_buyers": {"c01", "c04", "c05", "c07", "c12"},
    "lifecycle_prospect": {"c06", "c08", "c11", "c14", "c15", "c16"},
    "lifecycle_new": {"c01", "c07"},
    "lifecycle_reactivated": {"c03"},
    "lifecycle_active": {"c13"},
    "lifecycle_growing": {"c02"},
    "lifecycle_at_risk": {"c04", "c12"},
    "lifecycle_lapsed": {"c05"},
    "predicted_high_churn_risk": {"c04", "c05", "c16"},
    "predicted_clv_top": {"c01", "c02"},
    "predicted_clv_middle": {"c03", "c07"},
    "predicted_clv_low": {"c04", "c05"},
    "likely_to_buy_soon": {"c01", "c02", "c07"},
    # Buyers at AS_OF and their (recency_days, orders_count, total_spent): c01 (11, 1, 1200), c02 (16, 3,
    # 210), c03 (42, 2, 75), c04 (136, 1, 90), c05 (273, 1, 20), c07 (6, 1, 55), c12 (90, 1, 45), c13 (20,
    # 2, 130). Score = 1 + floor(5 k/7) for rank k of 8 (ties share the lowest rank), capped at 5:
    # R (most recent best) c05 1, c04 1, c12 2, c03 3, c13 3, c02 4, c01 5, c07 5; F: the five one-order
    # buyers 1, c03 and c13 4, c02 5; M: c05 1, c12 1, c07 2, c03 3, c04 3, c13 4, c02 5, c01 5.
    # FM = floor((F + M + 1) / 2) and the R x FM grid give the groups below.
    "rfm_champions": {"c02"},  # R 4, FM 5
    "rfm_loyal": {"c03", "c13"},  # R 3, FM 4
    "rfm_potential_loyalist": {"c01", "c07"},  # R 5, FM 3 and 2
    "rfm_new": set(),
    "rfm_promising": set(),
    "rfm_need_attention": set(),
    "rfm_about_to_sleep": set(),
    "rfm_at_risk": set(),
    "rfm_cannot_lose_them": set(),
    "rfm_hibernating": {"c12"},  # R 2, FM 1
    "rfm_lost": {"c04", "c05"},  # R 1, FM 2 and 1
}
