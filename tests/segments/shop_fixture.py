"""A tiny shop built by hand so that every ready-made segment's members are known by construction.

as_of is 2025-07-01. Each customer is written to land in specific segments; the comments say which.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pyarrow as pa

from segmint.core.schema import CANONICAL, DERIVED

AS_OF = datetime(2025, 7, 1)


def _cust(cid, birth=None, gender=None, income=None, country=None, city=None, lat=None, lon=None, attrs=None):
    return {
        "customer_id": cid, "birth_date": birth, "gender": gender, "income_band": income, "country": country,
        "city": city, "latitude": lat, "longitude": lon, "attributes": attrs, "created_at": datetime(2023, 1, 1),
        "email": f"{cid}@example.com", "email_opt_in": True,
    }  # fmt: skip


CUSTOMERS = [
    # 18-24, woman, high income, Paris (city, within 50 km), eco and outdoor survey; one big outdoor
    # order 11 days ago: new, one-time buyer, high spender, outdoor affinity.
    _cust("c01", date(2004, 1, 15), "female", "high", "FR", "Paris", 48.8566, 2.3522,
          '{"values": ["eco_conscious"], "interests": ["outdoor", "tech"], "lifestyle": "urban_professional"}'),
    # 25-34, man, upper-middle income, US; active outdoor lifestyle; three orders in 90 days, two with a
    # discount (growing, discount seeker); opens 3 of 4 e-mails (engaged).
    _cust("c02", date(1993, 5, 1), "male", "upper_middle", "US", "New York", 40.71, -74.0,
          '{"values": ["price_sensitive"], "interests": ["tech"], "lifestyle": "active_outdoor"}'),
    # 65, woman, Versailles (17 km from Paris): ordered in January 2024 and again 42 days ago after a
    # long gap (reactivated); grocery buyer due for a refill; never opens e-mails (disengaged).
    _cust("c03", date(1960, 2, 1), "female", "middle", "FR", "Versailles", 48.8049, 2.1204),
    # 55, man, low income, US: one order 136 days ago (at risk, one-time buyer).
    _cust("c04", date(1970, 6, 15), "male", "low", "US", "Boston", 42.36, -71.06),
    # Nothing known but the country: one order 273 days ago (lapsed, one-time buyer).
    _cust("c05", country="US"),
    # Browses (4 product views) and never buys: prospect.
    _cust("c06", country="DE"),
    # Ordered 6 days ago (new), then left a cart and a checkout 3 days ago; uses a desktop.
    _cust("c07", date(1990, 1, 1), None, None, "GB", "London", 51.5, -0.12),
    # 10 app sessions on a phone in the last 30 days, no order: frequent visitor, mobile first, app user.
    _cust("c08", country="US"),
]  # fmt: skip


def _order(oid, cid, at, total, discount=0.0, device="desktop", channel="web"):
    return {
        "order_id": oid, "customer_id": cid, "ordered_at": at, "status": "paid", "total": total,
        "subtotal": total, "discount": discount, "device_type": device, "channel": channel, "currency": "USD",
    }  # fmt: skip


ORDERS = [
    _order("o01", "c01", AS_OF - timedelta(days=11), 1200.0, device="mobile"),
    _order("o02a", "c02", AS_OF - timedelta(days=61), 60.0, discount=5.0),
    _order("o02b", "c02", AS_OF - timedelta(days=30), 80.0, discount=8.0),
    _order("o02c", "c02", AS_OF - timedelta(days=16), 70.0),
    _order("o03a", "c03", datetime(2024, 1, 10), 40.0),
    _order("o03b", "c03", AS_OF - timedelta(days=42), 35.0),
    _order("o04", "c04", AS_OF - timedelta(days=136), 90.0),
    _order("o05", "c05", AS_OF - timedelta(days=273), 20.0),
    _order("o07", "c07", AS_OF - timedelta(days=6), 55.0),
]
CATEGORY = {
    "o01": "outdoor",
    "o03a": "grocery",
    "o03b": "grocery",
    "o04": "home",
    "o05": "books",
    "o07": "apparel",
}
LINES = [
    {"order_id": o["order_id"], "line_no": 1, "product_id": f"p_{CATEGORY.get(o['order_id'], 'home')}",
     "quantity": 1, "unit_price": o["total"], "discount": 0.0}
    for o in ORDERS
]  # fmt: skip
PRODUCTS = [
    {"product_id": f"p_{c}", "category": c, "price": 10.0}
    for c in ("outdoor", "grocery", "home", "books", "apparel")
]


def _events() -> list[dict]:
    ev: list[dict] = []

    def add(cid, name, at, **kw):
        ev.append({"event_id": f"e{len(ev)}", "customer_id": cid, "name": name, "occurred_at": at, **kw})

    for i in range(4):  # c06 browses
        add(
            "c06",
            "product_viewed",
            AS_OF - timedelta(days=2 + i),
            session_id=f"s6_{i}",
            device_type="desktop",
            category="outdoor",
        )
    cart_at = AS_OF - timedelta(days=3)
    add("c07", "added_to_cart", cart_at, cart_id="k7", session_id="s7", device_type="desktop")
    add(
        "c07",
        "checkout_started",
        cart_at + timedelta(minutes=5),
        cart_id="k7",
        session_id="s7",
        device_type="desktop",
    )
    for i in range(10):  # c08: app sessions on a phone
        add(
            "c08",
            "search",
            AS_OF - timedelta(days=1 + 2 * i),
            session_id=f"s8_{i}",
            device_type="mobile",
            channel="app",
        )
    for i in range(4):  # c02 opens 3 of 4 campaigns
        add("c02", "email_sent", AS_OF - timedelta(days=10 + 7 * i), campaign_id=f"m{i}")
        if i < 3:
            add("c02", "email_opened", AS_OF - timedelta(days=9 + 7 * i), campaign_id=f"m{i}")
    for i in range(6):  # c03 opens none of 6
        add("c03", "email_sent", AS_OF - timedelta(days=5 + 7 * i), campaign_id=f"m{i}")
    return ev  # fmt: skip


def _table(name: str, rows: list[dict]) -> pa.Table:
    schema = CANONICAL[name].schema.to_pyarrow()
    cols = {f.name: [r.get(f.name) for r in rows] for f in schema}
    return pa.table({k: pa.array(v, schema.field(k).type) for k, v in cols.items()}, schema=schema)


# Model scores (the ``predictions`` table): c07 has an older run (churn risk 0.95) and a newer one
# (0.2), c02 a run scored as of a time after AS_OF: the predictive traits take the newest row at or
# before AS_OF. clv_12m ranks c05 < c04 < c03 < c07 < c02 < c01 (percent_rank 0, .2, .4, .6, .8, 1).
def _prediction(cid, run, days_before, p_alive, clv, propensity):
    return {
        "customer_id": cid, "run_id": run, "as_of": AS_OF - timedelta(days=days_before), "p_alive": p_alive,
        "expected_orders_90d": None, "clv_12m": clv, "purchase_propensity_30d": propensity,
        "next_order_at": None, "scored_at": AS_OF - timedelta(days=days_before),
    }  # fmt: skip


PREDICTIONS = [
    _prediction("c01", "r2", 1, 0.95, 900.0, 0.6),
    _prediction("c02", "r2", 1, 0.9, 400.0, 0.7),
    _prediction("c02", "r3", -5, 0.01, 1.0, 0.0),
    _prediction("c03", "r2", 1, 0.5, 150.0, 0.3),
    _prediction("c04", "r2", 1, 0.2, 60.0, 0.05),
    _prediction("c05", "r2", 1, 0.1, 10.0, 0.02),
    _prediction("c07", "r1", 60, 0.05, 5.0, 0.01),
    _prediction("c07", "r2", 1, 0.8, 200.0, 0.45),
]


def shop_tables() -> dict[str, pa.Table]:
    predictions = DERIVED["predictions"].schema.to_pyarrow()
    return {
        "customers": _table("customers", CUSTOMERS),
        "orders": _table("orders", ORDERS),
        "order_lines": _table("order_lines", LINES),
        "products": _table("products", PRODUCTS),
        "events": _table("events", _events()),
        "predictions": pa.Table.from_pylist(PREDICTIONS, schema=predictions),
    }


def load_shop(ws) -> None:
    for name, data in shop_tables().items():
        ws.store.append(name, data)


# Expected members of every ready-made segment, by construction (RFM groups are checked separately).
EXPECTED = {
    "age_18_24": {"c01"},
    "age_25_34": {"c02"},
    "age_55_plus": {"c03", "c04"},
    "women": {"c01", "c03"},
    "men": {"c02", "c04"},
    "high_income": {"c01", "c02"},
    "home_market": {"c02", "c04", "c05", "c08"},
    "city_shoppers": {"c01"},
    "near_flagship_store": {"c01", "c03"},
    "eco_conscious": {"c01"},
    "outdoor_enthusiasts": {"c01", "c02"},
    "mobile_first": {"c08"},
    "app_users": {"c08"},
    "desktop_shoppers": {"c06", "c07"},
    "cart_abandoners": {"c07"},
    "checkout_abandoners": {"c07"},
    "browsers_never_bought": {"c06"},
    "frequent_visitors": {"c08"},
    "discount_seekers": {"c02"},
    "email_engaged": {"c02"},
    "email_disengaged": {"c03"},
    "category_affinity": {"c01"},
    "replenishment_due": {"c03"},
    "high_spenders": {"c01"},
    "one_time_buyers": {"c01", "c04", "c05", "c07"},
    "lifecycle_prospect": {"c06", "c08"},
    "lifecycle_new": {"c01", "c07"},
    "lifecycle_reactivated": {"c03"},
    "lifecycle_active": set(),
    "lifecycle_growing": {"c02"},
    "lifecycle_at_risk": {"c04"},
    "lifecycle_lapsed": {"c05"},
    "predicted_high_churn_risk": {"c04", "c05"},
    "predicted_clv_top": {"c01", "c02"},
    "predicted_clv_middle": {"c03", "c07"},
    "predicted_clv_low": {"c04", "c05"},
    "likely_to_buy_soon": {"c01", "c02", "c07"},
}
