"""Behaviour as tracked events: web/app sessions (searches, product views, cart adds, checkouts,
completed orders), email campaigns (sends, opens, clicks, unsubscribes) and identity links.

Every tracked online order is replayed as a purchase session that ends with ``order_completed`` at the
order's time; browsing sessions follow each persona's visit rate and often end in abandoned carts or
checkouts. Visits before sign-up carry only the anonymous id; ``identities`` links it to the customer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmint.core.synth import arrow
from segmint.core.synth.calendar import DAY, Calendar, Curve
from segmint.core.synth.catalog import CATEGORIES, Catalog
from segmint.core.synth.people import People
from segmint.core.synth.personas import PERSONAS, persona_table
from segmint.core.synth.purchases import Orders

__all__ = ["Behaviour", "make_behaviour"]

EVENT_NAMES = (
    "search", "product_viewed", "added_to_cart", "checkout_started", "order_completed",
    "email_sent", "email_opened", "email_clicked", "unsubscribed",
)  # fmt: skip
DEVICES = ("mobile", "desktop", "tablet")
# Per device type: (os, browser, share). A customer keeps one combination per device type.
PLATFORMS = {
    0: (("iOS", "Safari", 0.47), ("iOS", "Chrome", 0.08), ("Android", "Chrome", 0.38), ("Android", "Samsung Internet", 0.07)),
    1: (("Windows", "Chrome", 0.45), ("Windows", "Edge", 0.14), ("Windows", "Firefox", 0.08), ("macOS", "Safari", 0.14),
        ("macOS", "Chrome", 0.12), ("Linux", "Firefox", 0.04), ("Linux", "Chrome", 0.03)),
    2: (("iPadOS", "Safari", 0.6), ("Android", "Chrome", 0.4)),
}  # fmt: skip
EMAIL_RATE = 0.4  # campaign emails per 30 days per subscriber, on average over the year
PRELOGIN_P = 0.5  # share of customers who browsed anonymously before signing up
MEAN_GAP = 50.0  # seconds between events of a session
SEARCH_P = 0.12  # share of browsing sessions that start with a site search
PURCHASE_VIEW_P = 0.5  # share of an order's lines whose product page is viewed in the purchase session


@dataclass
class Behaviour:
    events: pa.Table
    identities: pa.Table
    unsubscribed_at: np.ndarray  # per customer, NaN if still subscribed


@dataclass
class _Sessions:
    owner: np.ndarray  # customer index, -1 guest
    anchor: np.ndarray  # start (browse) or end (purchase) time
    purchase: np.ndarray  # order index or -1
    device: np.ndarray
    app: np.ndarray
    slot: np.ndarray  # anonymous id slot
    persona: np.ndarray


def make_behaviour(
    rng: np.random.Generator,
    cal: Calendar,
    people: People,
    orders: Orders,
    catalog: Catalog,
    curves,
    block: int,
) -> Behaviour:
    s = _sessions(rng, cal, people, orders, curves)
    web = _session_events(rng, cal, people, orders, catalog, s, block)
    mail, unsub_at = _email_events(rng, cal, people, cal.email_curve())
    events = _assemble(rng, cal, people, orders, catalog, web, mail, block)
    identities = _identities(cal, people, s)
    return Behaviour(events=events, identities=identities, unsubscribed_at=unsub_at)


def _sessions(rng, cal: Calendar, people: People, orders: Orders, curves) -> _Sessions:
    n = len(people)
    # Purchase sessions: one per online order.
    tracked = np.flatnonzero(orders.channel != 2)
    p_owner = orders.owner[tracked]
    # Browsing sessions: Poisson on the persona curve from sign-up (or a little before) until a month
    # and a half after the customer's last activity.
    pre = np.where(rng.random(n) < PRELOGIN_P, rng.exponential(4.0, n) * DAY, 0.0)
    a = np.maximum(people.created - pre, cal.start_s)
    b = np.minimum(people.active_end + 45 * DAY, cal.end_s)
    owners, times = [], []
    for k in range(len(PERSONAS)):
        idx = np.flatnonzero(people.persona == k)
        if not len(idx):
            continue
        count = rng.poisson(PERSONAS[k].browse_rate / 30.0 * curves[k].mass(a[idx], b[idx]))
        who = np.repeat(idx, count)
        lo, hi = a[who], b[who]
        t = cal.local_clock(rng, curves[k].sample(rng, lo, hi), people.longitude[who])
        owners.append(who)
        times.append(np.clip(t, lo, hi))
    # The anonymous visit before sign-up.
    pre_who = np.flatnonzero(pre > 0)
    owners.append(pre_who)
    times.append(np.maximum(people.created[pre_who] - pre[pre_who] * rng.random(len(pre_who)), cal.start_s))
    b_owner = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64)
    b_time = np.concatenate(times) if times else np.zeros(0)

    owner = np.concatenate([p_owner, b_owner]).astype(np.int64)
    guest = owner < 0
    safe = np.where(guest, 0, owner)
    m = len(owner)
    purchase = np.concatenate([tracked, np.full(len(b_owner), -1)])
    primary = people.device[safe] if n else np.zeros(m, dtype=np.int64)
    browse_device = np.where(rng.random(m) < 0.75, primary, rng.integers(0, 3, m))
    device = np.where(purchase >= 0, orders.device[np.maximum(purchase, 0)], browse_device)
    app_user = people.app_user[safe] if n else np.zeros(m, dtype=bool)
    app = np.where(
        purchase >= 0,
        orders.channel[np.maximum(purchase, 0)] == 1,
        (~guest) & app_user & (device == 0) & (rng.random(m) < 0.7),
    )
    n_anon = people.n_anon[safe] if n else np.ones(m, dtype=np.int64)
    slot = np.where(device == primary, 0, np.minimum(1 + (device == (primary + 2) % 3), n_anon - 1))
    persona = np.where(guest, orders.persona[np.maximum(purchase, 0)], people.persona[safe] if n else 0)
    anchor = np.concatenate([orders.time[tracked], b_time])
    return _Sessions(owner, anchor, purchase, device, app, slot, persona)


def _session_events(
    rng, cal: Calendar, people: People, orders: Orders, catalog: Catalog, s: _Sessions, block: int
):
    """Expand sessions to events: [search] views [adds [checkout [completed]]], timed by exponential gaps."""
    m = len(s.owner)
    is_p = s.purchase >= 0
    order = np.maximum(s.purchase, 0)
    lines = np.where(is_p, orders.line_count[order], 0)
    search = (~is_p) & (rng.random(m) < SEARCH_P)
    # A purchase session views some of the order's products (the others go to the cart from a list,
    # a wish list or a reorder button); a browsing session views at least one product.
    views = np.where(
        is_p,
        rng.binomial(lines, PURCHASE_VIEW_P),
        1 + rng.poisson(persona_table("extra_views")[s.persona]),
    )
    cart = rng.random(m) < persona_table("cart_p")[s.persona]
    adds = np.where(is_p, lines, np.where(cart, np.minimum(1 + rng.poisson(0.25, m), views), 0))
    checkout = np.where(is_p, 1, cart & (rng.random(m) < persona_table("checkout_p")[s.persona]))
    done = is_p.astype(np.int64)
    counts = search + views + adds + checkout + done
    start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    sess = np.repeat(np.arange(m), counts)
    pos = np.arange(len(sess)) - start[sess]
    b1 = search[sess]
    b2 = b1 + views[sess]
    b3 = b2 + adds[sess]
    b4 = b3 + checkout[sess]
    kind = (pos >= b1).astype(np.int64) + (pos >= b2) + (pos >= b3) + (pos >= b4)

    # Times: cumulative gaps within the session; purchase sessions end exactly at the order time.
    gaps = rng.exponential(MEAN_GAP, len(sess))
    gaps[start] = 0.0
    cum = np.cumsum(gaps)
    offset = cum - cum[start][sess]
    last = offset[start + counts - 1][sess]
    time = np.where(is_p[sess], s.anchor[sess] - (last - offset), s.anchor[sess] + offset)

    # Products: purchase views/adds show the order's lines; browse adds come from the session's views.
    n_ev = len(sess)
    owner = s.owner[sess]
    safe = np.maximum(owner, 0)
    fav = people.favourite[safe] if len(people) else np.zeros(n_ev, dtype=np.int64)
    eco = people.eco_taste[safe] & (owner >= 0) if len(people) else np.zeros(n_ev, dtype=bool)
    random_cat = rng.choice(len(catalog.category_weights), size=n_ev, p=catalog.category_weights)
    category = np.where((owner >= 0) & (rng.random(n_ev) < 0.6), fav, random_cat)
    product = catalog.choose(rng, s.persona[sess] * 2 + eco, category)
    view_j = pos - b1
    add_j = pos - b2
    ps = is_p[sess]
    line_base = orders.line_start[order][sess]
    in_lines = ps & (kind == 1) & (view_j < lines[sess])
    product = np.where(in_lines, orders.line_product[np.where(in_lines, line_base + view_j, 0)], product)
    add_p = ps & (kind == 2)
    product = np.where(add_p, orders.line_product[np.where(add_p, line_base + add_j, 0)], product)
    add_b = (~ps) & (kind == 2)
    viewed_at = np.where(add_b, np.arange(n_ev) - views[sess], 0)
    product = np.where(add_b, product[viewed_at], product)
    has_product = (kind == 1) | (kind == 2)
    price = catalog.price[product]
    cart_value = np.bincount(sess, np.where(kind == 2, price, 0.0), minlength=m)
    value = np.select(
        [has_product, ps & (kind >= 3), kind == 3],
        [price, orders.total[order][sess], np.round(cart_value[sess] * (1 + 0.08), 2)],
        np.nan,
    )
    return {
        "sess": sess,
        "kind": kind,
        "time": time,
        "product": product,
        "has_product": has_product,
        "value": value,
        "order": np.where(ps & (kind >= 3), order[sess], -1),
        "cart": (adds[sess] > 0) & (kind >= 2),
        "sessions": s,
        "search_category": np.where(kind == 0, category, -1),
    }


def _email_events(rng, cal: Calendar, people: People, curve: Curve):
    """Campaign emails to subscribers: one campaign per week, each subscriber gets a share of them,
    several times more in the holiday push. Opens follow the customer's open propensity (far lower
    once they stopped buying), clicks follow opens, and an unsubscribe ends the sends."""
    n = len(people)
    subscribed = ~np.isnan(people.email_from)
    who = np.flatnonzero(subscribed)
    since = people.email_from[who]
    until = np.full(len(who), cal.end_s)
    count = rng.poisson(EMAIL_RATE / 30.0 * curve.mass(since, until))
    owner = np.repeat(who, count)
    draw = curve.sample(rng, since.repeat(count), until.repeat(count))
    week = np.floor((draw - cal.start_s) / (7 * DAY))
    send = (
        cal.start_s + week * 7 * DAY + DAY + 9 * 3600.0
        - np.round(people.longitude[owner] / 15.0) * 3600.0 + rng.random(len(owner)) * 3600.0
    )  # fmt: skip
    keep = (send >= people.email_from[owner]) & (send <= cal.end_s)
    owner, send, week = owner[keep], send[keep], week[keep].astype(np.int64)
    order = np.lexsort((send, owner))
    owner, send, week = owner[order], send[order], week[order]
    # Drop repeated sends of one campaign to one customer.
    dup = np.zeros(len(owner), dtype=bool)
    dup[1:] = (owner[1:] == owner[:-1]) & (week[1:] == week[:-1])
    owner, send, week = owner[~dup], send[~dup], week[~dup]
    persona = people.persona[owner]
    unsub = rng.random(len(owner)) < persona_table("unsub_p")[persona]
    csum = np.cumsum(unsub)
    first_of = np.concatenate([[True], owner[1:] != owner[:-1]]) if len(owner) else np.zeros(0, dtype=bool)
    group_start = np.maximum.accumulate(np.where(first_of, np.arange(len(owner)), 0))
    before = csum - unsub - (csum[group_start] - unsub[group_start])
    alive = before == 0
    owner, send, week, persona, unsub = owner[alive], send[alive], week[alive], persona[alive], unsub[alive]
    active = send <= people.active_end[owner] + 30 * DAY
    p_open = people.open_rate[owner] * np.where(active, 1.0, 0.06)
    opened = rng.random(len(owner)) < p_open
    open_t = send + rng.exponential(5 * 3600.0, len(owner))
    clicked = opened & (rng.random(len(owner)) < persona_table("click_p")[persona])
    click_t = open_t + rng.exponential(180.0, len(owner))
    unsub_t = np.where(opened, open_t, send) + 30 + rng.exponential(600.0, len(owner))
    unsub_at = np.full(n, np.nan)
    done = unsub & (unsub_t <= cal.end_s)
    unsub_at[owner[done]] = unsub_t[done]
    parts = [
        (owner, send, 5),
        (owner[opened], open_t[opened], 6),
        (owner[clicked], click_t[clicked], 7),
        (owner[done], unsub_t[done], 8),
    ]
    weeks = [week, week[opened], week[clicked], week[done]]
    out_owner = np.concatenate([p[0] for p in parts])
    out_time = np.concatenate([p[1] for p in parts])
    out_kind = np.concatenate([np.full(len(p[0]), p[2]) for p in parts])
    out_week = np.concatenate(weeks)
    keep = out_time <= cal.end_s
    return {
        "owner": out_owner[keep],
        "time": out_time[keep],
        "kind": out_kind[keep],
        "week": out_week[keep],
    }, unsub_at


def _platform_tables():
    oss = sorted({o for v in PLATFORMS.values() for o, _, _ in v})
    browsers = sorted({b for v in PLATFORMS.values() for _, b, _ in v})
    combos, cum = [], []
    for d in range(3):
        shares = np.array([p for _, _, p in PLATFORMS[d]])
        cum.append(np.cumsum(shares) / shares.sum())
        combos.append([(oss.index(o), browsers.index(b)) for o, b, _ in PLATFORMS[d]])
    return oss, browsers, combos, cum


_OSS, _BROWSERS, _COMBOS, _COMBO_CUM = _platform_tables()


def _platform(device: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    os_ = np.zeros(len(device), dtype=np.int64)
    br = np.zeros(len(device), dtype=np.int64)
    for d in range(3):
        sel = device == d
        k = np.minimum(np.searchsorted(_COMBO_CUM[d], u[sel]), len(_COMBOS[d]) - 1)
        table = np.array(_COMBOS[d])
        os_[sel], br[sel] = table[k, 0], table[k, 1]
    return os_, br


def _campaign_names(cal: Calendar) -> list[str]:
    weeks = int((cal.end_s - cal.start_s) // (7 * DAY)) + 2
    names = []
    for w in range(weeks):
        day = cal.start + timedelta(days=7 * w + 1)
        year, iso_week, _ = day.isocalendar()
        names.append(f"cmp-{year}-w{iso_week:02d}")
    return names


def _assemble(
    rng, cal: Calendar, people: People, orders: Orders, catalog: Catalog, web, mail, block: int
) -> pa.Table:
    """Web and email events of the block in time order, with their ids and promoted properties."""
    s: _Sessions = web["sessions"]
    sess = web["sess"]
    n_web, n_mail = len(sess), len(mail["owner"])
    keep_web = (web["time"] <= cal.end_s) & (web["time"] >= cal.start_s)
    owner = np.concatenate([s.owner[sess], mail["owner"]])
    time = np.concatenate([web["time"], mail["time"]])
    kind = np.concatenate([web["kind"], mail["kind"]])
    keep = np.concatenate([keep_web, np.ones(n_mail, dtype=bool)])
    order = np.flatnonzero(keep)[np.argsort(time[keep], kind="stable")]
    is_w = order < n_web
    w = np.where(is_w, order, 0)
    mi = np.where(is_w, 0, order - n_web)
    n = len(order)
    owner, time, kind = owner[order], time[order], kind[order]
    guest = owner < 0
    safe = np.maximum(owner, 0)
    created = people.created[safe] if len(people) else np.zeros(n)
    known = (~guest) & (np.floor(time) >= np.floor(created))  # compared as stored: whole seconds
    sess_of = sess[w]

    device = s.device[sess_of]
    web_dev = is_w & (device >= 0)
    os_u = people.os_u[safe] if len(people) else rng.random(n)
    os_u = np.where(guest, (sess_of * 0.618034) % 1.0, os_u)
    os_, br = _platform(np.where(web_dev, device, 0), os_u)
    app = s.app[sess_of] & is_w
    session_no = block * 10**8 + sess_of
    anon_no = np.where(guest, 0, safe * 4 + s.slot[sess_of])
    customer_no = people.ids if len(people) else pa.array([], pa.string())

    guest_no = block * 10**8 + np.maximum(s.purchase[sess_of], 0)
    anon = arrow.fixed_ids("a", people.first_number * 4 + anon_no, 11, is_w & ~guest)
    guest_anon = arrow.fixed_ids("g", guest_no, 12, is_w & guest)
    anon = pc.coalesce(anon, guest_anon)

    product = web["product"][w]
    has_product = is_w & web["has_product"][w]
    search_cat = np.where(is_w, web["search_category"][w], -1)
    cat_idx = np.where(has_product, catalog.category[product], search_cat)
    order_idx = np.where(is_w, web["order"][w], -1)
    cart = is_w & web["cart"][w]
    campaigns = _campaign_names(cal)
    value = np.where(is_w, web["value"][w], np.nan)
    properties = arrow.labels(_QUERIES, np.maximum(search_cat, 0), kind == 0)
    received = time + rng.exponential(1.5, n) * np.where(is_w, 1.0, 0.0)

    return pa.table(
        {
            "event_id": arrow.fixed_ids("e", block * 10**9 + np.arange(n), 13),
            "customer_id": arrow.labels(customer_no, safe, known)
            if len(people)
            else pa.nulls(n, pa.string()),
            "anonymous_id": anon,
            "name": arrow.labels(EVENT_NAMES, kind),
            "occurred_at": arrow.timestamps(time),
            "received_at": arrow.timestamps(received),
            "session_id": arrow.fixed_ids("s", session_no, 12, is_w),
            "device_type": arrow.labels(DEVICES, np.maximum(device, 0), web_dev),
            "os": arrow.labels(_OSS, os_, web_dev),
            "browser": arrow.labels(_BROWSERS, br, web_dev & ~app),
            "channel": arrow.labels(("web", "app", "email"), np.where(is_w, app.astype(np.int64), 2)),
            "product_id": arrow.labels(catalog.ids, product, has_product),
            "category": arrow.labels(list(CATEGORIES), np.maximum(cat_idx, 0), cat_idx >= 0),
            "cart_id": arrow.fixed_ids("k", session_no, 12, cart),
            "order_id": arrow.labels(orders.ids, np.maximum(order_idx, 0), order_idx >= 0),
            "campaign_id": arrow.labels(campaigns, np.where(is_w, 0, mail["week"][mi]), ~is_w),
            "value": arrow.masked(np.nan_to_num(value), ~np.isnan(value), pa.float64()),
            "properties": properties,
        }
    )


# Search properties: what a customer looking for a category typed (one query per category).
_QUERIES = [json.dumps({"query": subs[0][0].replace("_", " ")}) for subs in CATEGORIES.values()]


def _identities(cal: Calendar, people: People, s: _Sessions) -> pa.Table:
    """Links from anonymous ids to customers: the first device at sign-up, other devices at their first
    visit after sign-up."""
    n = len(people)
    first_seen: np.ndarray = np.full(n * 4, np.inf)
    known = s.owner >= 0
    key = s.owner[known] * 4 + s.slot[known]
    np.minimum.at(first_seen, key, s.anchor[known])
    first_seen = first_seen.reshape(n, 4)
    created = people.created
    slots = np.arange(4)[None, :]
    linked = np.where(slots == 0, created[:, None], np.maximum(first_seen, created[:, None]))
    valid = (slots < people.n_anon[:, None]) & np.isfinite(linked) & (linked <= cal.end_s)
    rows, cols = np.nonzero(valid)
    return pa.table(
        {
            "anonymous_id": arrow.fixed_ids("a", (people.first_number + rows) * 4 + cols, 11),
            "customer_id": people.ids.take(pa.array(rows)),
            "linked_at": arrow.timestamps(linked[rows, cols]),
        }
    )
