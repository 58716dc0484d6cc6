"""Orders and order lines from a latent buy-till-you-die process.

Each customer buys at a Poisson rate (gamma-distributed across customers) while alive; the lifetime is
exponential (Pareto/NBD drop-out). Buying customers place their first order when they sign up. Purchase
times follow the persona's seasonal curve. Guest checkouts (no customer) are added on top. Baskets,
discount codes, shipping, tax, refunds and cancellations are drawn per order, all vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from segmint.core.synth import arrow
from segmint.core.synth.calendar import DAY, Calendar
from segmint.core.synth.catalog import Catalog
from segmint.core.synth.people import People
from segmint.core.synth.personas import PERSONAS, persona_table

__all__ = ["CHANNELS", "GUEST_PERSONA", "Orders", "make_orders"]

CHANNELS = ("web", "app", "store")
SOURCES = ("direct", "organic_search", "paid_search", "email", "social", "referral", "store")
STATUSES = ("paid", "partially_refunded", "refunded", "cancelled", "pending")
# code, share of the subtotal taken off
CODES = (
    ("WELCOME10", 0.10), ("SAVE10", 0.10), ("SPRING15", 0.15), ("SUMMER15", 0.15), ("FLASH20", 0.20),
    ("VIP10", 0.10), ("BF25", 0.25), ("XMAS20", 0.20), ("NEWYEAR15", 0.15),
)  # fmt: skip
GUEST_SHARE = 0.07
GUEST_PERSONA = 4  # guests shop like new customers
TAX_RATE = 0.08
FREE_SHIPPING_FROM = 50.0
SHIPPING = 4.95
PENDING_HOURS = 6.0


@dataclass
class Orders:
    """Orders of one block (sorted by time) and what sessions need to replay them as events."""

    table: pa.Table
    lines: pa.Table
    owner: np.ndarray  # customer index in the block, -1 for guests
    persona: np.ndarray
    time: np.ndarray
    channel: np.ndarray
    device: np.ndarray  # -1 in store
    total: np.ndarray
    ids: pa.Array
    line_start: np.ndarray
    line_count: np.ndarray
    line_product: np.ndarray
    guest_longitude: np.ndarray  # per order (only meaningful for guests)

    def __len__(self) -> int:
        return len(self.time)


def make_orders(
    rng: np.random.Generator, cal: Calendar, people: People, catalog: Catalog, curves, block: int
) -> Orders:
    owner, time, is_first = _customer_orders(rng, cal, people, curves)
    n_guest = rng.poisson(GUEST_SHARE * len(owner))
    guest_lon = rng.choice(people.longitude, n_guest) if len(people) else np.zeros(n_guest)
    guest_time = cal.local_clock(
        rng,
        curves[GUEST_PERSONA].sample(rng, np.full(n_guest, cal.start_s), np.full(n_guest, cal.end_s)),
        guest_lon,
    )
    owner = np.concatenate([owner, np.full(n_guest, -1)])
    time = np.concatenate([time, np.clip(guest_time, cal.start_s, cal.end_s - 60)])
    is_first = np.concatenate([is_first, np.zeros(n_guest, dtype=bool)])
    longitude = np.concatenate([people.longitude[owner[: len(owner) - n_guest]], guest_lon])
    order = np.argsort(time, kind="stable")
    owner, time, is_first, longitude = owner[order], time[order], is_first[order], longitude[order]
    n = len(owner)
    guest = owner < 0
    safe = np.where(guest, 0, owner)
    persona = np.where(guest, GUEST_PERSONA, people.persona[safe] if len(people) else GUEST_PERSONA)

    # Channel and device.
    shares = np.array([p.channels for p in PERSONAS])[persona]
    u = rng.random(n)
    channel = (u >= shares[:, 0]).astype(np.int64) + (u >= shares[:, 0] + shares[:, 1])
    channel = np.where(guest & (channel == 1), 0, channel)  # guests have no app account
    primary = np.where(guest, rng.integers(0, 3, n), people.device[safe] if len(people) else 0)
    device = np.where(rng.random(n) < 0.8, primary, rng.integers(0, 3, n))
    device = np.where(channel == 1, 0, np.where(channel == 2, -1, device))

    # Baskets: lines, products (favourite category first), quantities.
    line_count = 1 + rng.poisson(persona_table("extra_lines")[persona])
    line_start = np.concatenate([[0], np.cumsum(line_count)[:-1]]).astype(np.int64)
    line_order = np.repeat(np.arange(n), line_count)
    m = len(line_order)
    fav = np.where(guest, -1, people.favourite[safe] if len(people) else -1)[line_order]
    random_cat = rng.choice(len(catalog.category_weights), size=m, p=catalog.category_weights)
    category = np.where((fav >= 0) & (rng.random(m) < 0.6), fav, random_cat)
    eco = np.where(guest, False, people.eco_taste[safe] if len(people) else False)[line_order]
    taste = persona[line_order] * 2 + eco
    product = catalog.choose(rng, taste, category)
    quantity = 1 + rng.poisson(persona_table("extra_quantity")[persona][line_order])
    unit_price = catalog.price[product]

    # Discount codes: the calendar decides the code, the persona decides whether one is used.
    code = _codes(rng, cal, time, persona, is_first)
    used = rng.random(n) < persona_table("discount_p")[persona]
    pct = np.where(used, np.array([c[1] for c in CODES])[code], 0.0)
    line_amount = quantity * unit_price
    line_discount = np.round(line_amount * pct[line_order], 2)
    subtotal = np.round(np.bincount(line_order, line_amount, minlength=n), 2)
    discount = np.round(np.bincount(line_order, line_discount, minlength=n), 2)
    net = subtotal - discount
    shipping = np.where((channel == 2) | (net >= FREE_SHIPPING_FROM), 0.0, SHIPPING)
    tax = np.round(net * TAX_RATE, 2)
    total = np.round(net + shipping + tax, 2)

    # What happened afterwards: cancellations, full and partial refunds, still-pending recent orders.
    u = rng.random(n)
    cancel_p = persona_table("cancel_p")[persona]
    refund_p = persona_table("refund_p")[persona]
    status = np.zeros(n, dtype=np.int64)
    status[u < cancel_p + refund_p * 1.5] = 1
    status[u < cancel_p + refund_p] = 2
    status[u < cancel_p] = 3
    status = np.where((status == 1) & (line_count < 2), 2, status)
    recent = time > cal.end_s - PENDING_HOURS * 3600
    status = np.where(recent & (status != 3) & (rng.random(n) < 0.7), 4, status)
    first_line_net = line_amount[line_start] - line_discount[line_start]
    refunded = np.select(
        [status == 1, status == 2], [np.round(first_line_net * (1 + TAX_RATE), 2), total], 0.0
    )
    cancelled_at = np.minimum(time + rng.exponential(4 * 3600.0, n), cal.end_s)
    source = _sources(rng, persona, channel)

    number = block * 10**8 + np.arange(n)
    ids = arrow.fixed_ids("o", number, 12)
    customer = arrow.labels(people.ids, safe, ~guest) if len(people) else pa.nulls(n, pa.string())
    table = pa.table(
        {
            "order_id": ids,
            "customer_id": customer,
            "ordered_at": arrow.timestamps(time),
            "status": arrow.labels(STATUSES, status),
            "currency": arrow.labels(["USD"], np.zeros(n, dtype=np.int64)),
            "subtotal": arrow.money(subtotal),
            "discount": arrow.money(discount),
            "discount_code": arrow.labels([c[0] for c in CODES], code, used),
            "shipping": arrow.money(shipping),
            "tax": arrow.money(tax),
            "total": arrow.money(total),
            "refunded_amount": arrow.money(refunded),
            "items_count": pa.array(np.bincount(line_order, quantity, minlength=n).astype(np.int64)),
            "channel": arrow.labels(CHANNELS, channel),
            "device_type": arrow.labels(("mobile", "desktop", "tablet"), np.maximum(device, 0), device >= 0),
            "source": arrow.labels(SOURCES, source),
            "cancelled_at": arrow.timestamps(cancelled_at, status == 3),
        }
    )
    products = catalog.table
    take = pa.array(product)
    lines = pa.table(
        {
            "order_id": ids.take(pa.array(line_order)),
            "line_no": pa.array(np.arange(m) - line_start[line_order] + 1),
            "product_id": products["product_id"].take(take),
            "sku": products["sku"].take(take),
            "name": products["name"].take(take),
            "quantity": pa.array(quantity.astype(np.int64)),
            "unit_price": arrow.money(unit_price),
            "discount": arrow.money(line_discount),
        }
    )
    return Orders(
        table=table,
        lines=lines,
        owner=owner,
        persona=persona,
        time=time,
        channel=channel,
        device=device,
        total=total,
        ids=ids,
        line_start=line_start,
        line_count=line_count,
        line_product=product,
        guest_longitude=longitude,
    )


def _customer_orders(rng: np.random.Generator, cal: Calendar, people: People, curves):
    """(customer index, time, is-first-order) of every customer order: a first order at sign-up for
    buying personas, then Poisson repeats on the persona's seasonal curve until the customer drops out."""
    buys = persona_table("buys_at_signup")[people.persona].astype(bool)
    first_time = np.minimum(people.created + rng.random(len(people)) * 900.0, cal.end_s - 60)
    owners, times, firsts = [np.flatnonzero(buys)], [first_time[buys]], [np.ones(int(buys.sum()), dtype=bool)]
    for k in range(len(PERSONAS)):
        idx = np.flatnonzero(people.persona == k)
        if not len(idx):
            continue
        a = np.where(buys[idx], first_time[idx], people.created[idx])
        b = np.maximum(people.active_end[idx], a)
        count = rng.poisson(people.rate[idx] * curves[k].mass(a, b))
        who = np.repeat(idx, count)
        lo, hi = np.repeat(a, count), np.repeat(b, count)
        t = cal.local_clock(
            rng, curves[k].at(lo, hi, _fractions(rng, count, PERSONAS[k].regularity)), people.longitude[who]
        )
        owners.append(who)
        times.append(np.clip(t, lo + 60, np.maximum(hi, lo + 60)).clip(max=cal.end_s - 60))
        firsts.append(np.zeros(len(who), dtype=bool))
    return np.concatenate(owners), np.concatenate(times), np.concatenate(firsts)


def _fractions(rng: np.random.Generator, count: np.ndarray, regularity: float) -> np.ndarray:
    """Where each customer's repeat orders fall in their active time, as fractions of its intensity
    mass: with probability ``regularity`` an order keeps to its own slot (the j-th of n equal slots,
    uniform inside it, so gaps stay close to 1/n: a steady cadence), otherwise anywhere (Poisson)."""
    total = int(count.sum())
    u = rng.random(total)
    if regularity <= 0 or not total:
        return u
    n = np.repeat(count, count)
    j = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
    return np.where(rng.random(total) < regularity, (j + u) / n, u)


def _codes(rng, cal: Calendar, time: np.ndarray, persona: np.ndarray, is_first: np.ndarray) -> np.ndarray:
    names = [c[0] for c in CODES]
    day = np.clip(((time - cal.start_s) // DAY).astype(np.int64), 0, len(cal.days) - 1)
    month, dom = cal.month[day], cal.dom[day]
    code = np.full(len(time), names.index("SAVE10"))
    code = np.where((month >= 3) & (month <= 5), names.index("SPRING15"), code)
    code = np.where((month >= 6) & (month <= 8), names.index("SUMMER15"), code)
    code = np.where((persona == 1) & (rng.random(len(time)) < 0.5), names.index("FLASH20"), code)
    code = np.where(persona == 0, names.index("VIP10"), code)
    code = np.where(month == 1, names.index("NEWYEAR15"), code)
    code = np.where((month == 12) & (dom <= 24), names.index("XMAS20"), code)
    code = np.where(cal.black_week[day], names.index("BF25"), code)
    return np.where(is_first, names.index("WELCOME10"), code)


def _sources(rng, persona: np.ndarray, channel: np.ndarray) -> np.ndarray:
    """Marketing source of online orders; email weighs more for bargain hunters and loyal customers."""
    n = len(persona)
    email = np.select([persona == 1, persona == 0], [0.35, 0.2], 0.08)
    base = np.array([0.3, 0.25, 0.15, 0.0, 0.15, 0.15])
    probs = base[None, :] * (1 - email)[:, None] / base.sum()
    probs[:, 3] = email
    cum = np.cumsum(probs, axis=1)
    source = (rng.random(n)[:, None] >= cum).sum(axis=1).clip(max=5)
    return np.where(channel == 2, SOURCES.index("store"), source)
