"""A small hand-built shop whose every trait value is worked out by hand in test_values.py.

Two as_of instants: T (2025-06-30 12:00) and a past B (2025-05-01 00:00). Rows sit exactly on window
edges (30 days and 7 days before T) to pin the half-open windows, and there are refunded, cancelled and
guest orders, anonymous events stitched by a link made after T, and rows dated after T.
"""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa

from segmint.core.schema import CANONICAL

T = datetime(2025, 6, 30, 12, 0)
B = datetime(2025, 5, 1, 0, 0)


def dt(*args: int) -> datetime:
    return datetime(*args)


CUSTOMERS = [
    dict(
        customer_id="c1",
        created_at=dt(2024, 1, 1),
        birth_date=date(1990, 7, 1),
        gender="female",
        income_band="high",
        country="FR",
        region="Ile-de-France",
        city="Paris",
        latitude=48.8566,
        longitude=2.3522,
        email_opt_in=True,
        email_opt_in_at=dt(2024, 1, 1),
        sms_opt_in=False,
    ),
    dict(
        customer_id="c2",
        created_at=dt(2025, 5, 15),
        birth_date=date(2000, 6, 30),
        email_opt_in=True,
        email_opt_in_at=dt(2025, 6, 1),
    ),
    dict(customer_id="c3"),
    dict(
        customer_id="c5",
        created_at=dt(2024, 11, 1),
        birth_date=date(1955, 1, 1),
        email_opt_in=True,
        email_opt_in_at=dt(2025, 6, 1),
        sms_opt_in=True,
    ),
    dict(customer_id="c6", created_at=dt(2025, 1, 1), birth_date=date(2010, 3, 1), email_opt_in=False),
]

ORDERS = [
    # c1: three sales (o1 seasonal and discounted), a refund, a cancellation, and one after T.
    dict(
        order_id="o1",
        customer_id="c1",
        ordered_at=dt(2024, 11, 20, 10),
        status="paid",
        total=100.0,
        discount=10.0,
        discount_code="BF",
        tax=10.0,
        shipping=5.0,
        channel="web",
    ),
    dict(
        order_id="o2",
        customer_id="c1",
        ordered_at=dt(2025, 5, 31, 12),
        status="paid",
        total=50.0,
        refunded_amount=0.0,
        tax=5.0,
        shipping=0.0,
        channel="app",
    ),
    dict(
        order_id="o3",
        customer_id="c1",
        ordered_at=dt(2025, 6, 20, 8),
        status="partially_refunded",
        total=80.0,
        refunded_amount=20.0,
        tax=8.0,
        shipping=0.0,
        discount=0.0,
        channel="web",
    ),
    dict(
        order_id="o4",
        customer_id="c1",
        ordered_at=dt(2025, 6, 25),
        status="refunded",
        total=40.0,
        refunded_amount=40.0,
        channel="web",
    ),
    dict(
        order_id="o5",
        customer_id="c1",
        ordered_at=dt(2025, 6, 26),
        status="cancelled",
        total=30.0,
        channel="web",
    ),
    dict(
        order_id="o6", customer_id="c1", ordered_at=dt(2025, 7, 5), status="paid", total=999.0, channel="web"
    ),
    dict(
        order_id="o7",
        customer_id="c2",
        ordered_at=dt(2025, 6, 15, 9),
        status="paid",
        total=200.0,
        tax=0.0,
        shipping=0.0,
        channel="app",
    ),
    dict(order_id="o8", customer_id=None, ordered_at=dt(2025, 6, 10), status="paid", total=500.0),
    dict(
        order_id="o9", customer_id="c5", ordered_at=dt(2024, 12, 1), status="paid", total=30.0, channel="pos"
    ),
    dict(order_id="o10", customer_id="c4", ordered_at=dt(2025, 6, 1), status="cancelled", total=20.0),
    dict(
        order_id="o11", customer_id="c6", ordered_at=dt(2025, 1, 15), status="paid", total=40.0, channel="web"
    ),
    dict(
        order_id="o12", customer_id="c6", ordered_at=dt(2025, 4, 15), status="paid", total=60.0, channel="web"
    ),
]

PRODUCTS = [
    dict(product_id="p1", category="Shoes"),
    dict(product_id="p2", category="Home & Garden"),
    dict(product_id="p3", category=None),
]

ORDER_LINES = [
    dict(order_id="o1", line_no=1, product_id="p1", quantity=1, unit_price=60.0, discount=0.0),
    dict(order_id="o1", line_no=2, product_id="p2", quantity=2, unit_price=20.0),
    dict(order_id="o2", line_no=1, product_id="p2", quantity=1, unit_price=50.0),
    dict(order_id="o3", line_no=1, product_id="p1", quantity=1, unit_price=80.0),
    dict(order_id="o3", line_no=2, product_id="p3", quantity=1, unit_price=10.0),
    dict(order_id="o4", line_no=1, product_id="p1", quantity=1, unit_price=40.0),
    dict(order_id="o6", line_no=1, product_id="p1", quantity=9, unit_price=111.0),
    dict(order_id="o7", line_no=1, product_id="p1", quantity=1, unit_price=100.0),
    dict(order_id="o7", line_no=2, product_id="p2", quantity=1, unit_price=100.0),
    dict(order_id="o8", line_no=1, product_id="p1", quantity=5, unit_price=100.0),
]


def _ev(
    event_id,
    name,
    at,
    *,
    customer="c1",
    anon=None,
    session=None,
    device=None,
    os=None,
    browser=None,
    channel=None,
    cart=None,
    campaign=None,
):
    return dict(
        event_id=event_id,
        customer_id=customer,
        anonymous_id=anon,
        name=name,
        occurred_at=at,
        session_id=session,
        device_type=device,
        os=os,
        browser=browser,
        channel=channel,
        cart_id=cart,
        campaign_id=campaign,
    )


MOBILE = dict(device="mobile", os="iOS", browser="Safari")
DESKTOP = dict(device="desktop", os="Windows", browser="Chrome")

EVENTS = [
    _ev("e1", "product_viewed", dt(2025, 6, 29, 10), session="s1", channel="web", anon="a1", **MOBILE),
    _ev("e2", "added_to_cart", dt(2025, 6, 29, 10, 5), session="s1", cart="k1", channel="web", **MOBILE),
    _ev("e3", "order_completed", dt(2025, 6, 29, 10, 30), session="s1", cart="k1", channel="web", **MOBILE),
    # Exactly 7 days before T: inside the 30-day window, outside the 7-day one.
    _ev("e4", "added_to_cart", dt(2025, 6, 23, 12), session="s2", cart="k2", channel="web", **DESKTOP),
    # 30 minutes before T: not abandoned yet.
    _ev("e5", "added_to_cart", dt(2025, 6, 30, 11, 30), session="s3", cart="k3", channel="app", **MOBILE),
    # Exactly 30 days before T: inside the 90-day window only.
    _ev("e6", "product_viewed", dt(2025, 5, 31, 12), session="s4", channel="web", **DESKTOP),
    _ev("e7", "search", dt(2025, 6, 10), session="s5", channel="web", **MOBILE),
    _ev("e14", "checkout_started", dt(2025, 6, 10, 0, 5), session="s5", channel="web", **MOBILE),
    # Completed 90 minutes after the add: abandoned all the same.
    _ev("e15", "added_to_cart", dt(2025, 6, 12, 10), session="s6", cart="k4", channel="web", **DESKTOP),
    _ev("e16", "order_completed", dt(2025, 6, 12, 11, 30), session="s6", cart="k4", channel="web", **DESKTOP),
    _ev("e8", "email_sent", dt(2025, 6, 1), campaign="m1", channel="email"),
    _ev("e9", "email_sent", dt(2025, 6, 8), campaign="m2", channel="email"),
    _ev("e10", "email_opened", dt(2025, 6, 2), campaign="m1", channel="email"),
    _ev("e11", "email_opened", dt(2025, 6, 3), campaign="m1", channel="email"),
    _ev("e12", "email_clicked", dt(2025, 6, 4), campaign="m1", channel="email"),
    _ev("e13", "product_viewed", dt(2025, 7, 2), session="s9", channel="web", **MOBILE),
    _ev(
        "e17",
        "product_viewed",
        dt(2025, 4, 30, 23),
        session="s0",
        channel="web",
        device="desktop",
        os="Linux",
        browser="Firefox",
    ),
    # c3 browses anonymously (a3); the identify call linking a3 to c3 comes after that browsing, before T.
    _ev(
        "e20",
        "product_viewed",
        dt(2025, 6, 28, 9),
        customer=None,
        anon="a3",
        session="s7",
        channel="web",
        device="tablet",
        os="Android",
        browser="Chrome",
    ),
    _ev(
        "e21",
        "added_to_cart",
        dt(2025, 6, 28, 9, 5),
        customer=None,
        anon="a3",
        session="s7",
        cart="k5",
        channel="web",
        device="mobile",
        os="Android",
        browser="Chrome",
    ),
    # Never linked: belongs to nobody.
    _ev("e23", "product_viewed", dt(2025, 6, 29), customer=None, anon="a4", session="s8", **MOBILE),
    _ev("e24", "unsubscribed", dt(2025, 6, 20), customer="c2", channel="email"),
]

# a3 is a shared device: linked to c9 first, then to c3. As of T the later link (c3's) holds it and
# stitches a3's earlier browsing; a link made after T would not count as of T (segmint.core.identity).
IDENTITIES = [
    dict(anonymous_id="a3", customer_id="c9", linked_at=dt(2025, 1, 1)),
    dict(anonymous_id="a3", customer_id="c3", linked_at=dt(2025, 6, 29)),
]

ROWS = {
    "customers": CUSTOMERS,
    "orders": ORDERS,
    "products": PRODUCTS,
    "order_lines": ORDER_LINES,
    "events": EVENTS,
    "identities": IDENTITIES,
}


def arrow_tables() -> dict[str, pa.Table]:
    """The fixture as Arrow tables with the canonical schemas (absent columns are null)."""
    out = {}
    for name, rows in ROWS.items():
        schema = CANONICAL[name].schema.to_pyarrow()
        out[name] = pa.Table.from_pylist(
            [{f.name: row.get(f.name) for f in schema} for row in rows], schema=schema
        )
    return out


def load(ws) -> None:
    """Store the fixture in a workspace."""
    for name, table in arrow_tables().items():
        ws.store.append(name, table)
