"""Behavioural and technographic traits from events: one aggregation over the (stitched) events into a
pre-aggregate per (customer, session, cart, device, browser, os, channel), from which the per-customer
counts, distinct sessions, abandoned carts and preferences are all read; distinct emails come from a
second, small pass over the email events of the last 90 days.

Event names follow the canonical tracking plan: product_viewed, added_to_cart, checkout_started,
order_completed, search (or products_searched), email_sent / email_opened / email_clicked,
unsubscribed. ``email_sent`` is something the shop did, not the customer, so it never makes a customer
"seen"; email events also say nothing about the customer's own device, so device, OS, browser and
channel preferences are read from the other events only.

Abandoned cart, exactly: for each (customer, cart_id) take the last ``added_to_cart`` at or before
``as_of``. The cart is abandoned when that add is at least ``abandon_after_minutes`` (60) old and no
``order_completed`` event carrying the same cart_id happened from that add up to 60 minutes after it
(judged on the latest such order event at or before ``as_of``). ``abandoned_carts_7d`` counts
abandoned carts whose last add falls in the window; a cart added in the last hour is not (yet)
abandoned.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from segmint.core.traits._time import ts_literal, whole_days_since, within
from segmint.core.traits.catalog import TraitGroup, TraitSpec
from segmint.core.traits.events import resolved_events
from segmint.core.traits.mode import top_value

VIEW, CART, CHECKOUT, ORDER = "product_viewed", "added_to_cart", "checkout_started", "order_completed"
SEARCHES = ("search", "products_searched")
SENT, OPENED, CLICKED, UNSUBSCRIBED = "email_sent", "email_opened", "email_clicked", "unsubscribed"
EMAIL_EVENTS = (SENT, OPENED, CLICKED, UNSUBSCRIBED)

_I, _F, _S, _B, _T = dt.int64, dt.float64, dt.string, dt.boolean, dt.timestamp


def _b(name: str, dtype: dt.DataType, unit: str, description: str, default: object = None) -> TraitSpec:
    return TraitSpec(name, dtype, "behavioral", description, unit, default)


def _t(name: str, dtype: dt.DataType, unit: str, description: str, default: object = None) -> TraitSpec:
    return TraitSpec(name, dtype, "technographic", description, unit, default)


SPECS: tuple[TraitSpec, ...] = (
    *(
        _b(f"sessions_{d}d", _I, "sessions", f"Distinct sessions in the last {d} days.", 0)
        for d in (7, 30, 90)
    ),
    *(
        _b(f"product_views_{d}d", _I, "events", f"product_viewed events in the last {d} days.", 0)
        for d in (7, 30, 90)
    ),
    *(
        _b(f"cart_adds_{d}d", _I, "events", f"added_to_cart events in the last {d} days.", 0)
        for d in (7, 30, 90)
    ),
    _b("checkouts_30d", _I, "events", "checkout_started events in the last 30 days.", 0),
    *(
        _b(
            f"abandoned_carts_{d}d",
            _I,
            "carts",
            f"Carts last added to in the last {d} days and not completed by an order within 1 hour.",
            0,
        )
        for d in (7, 30)
    ),
    _b("searches_30d", _I, "events", "Searches in the last 30 days.", 0),
    _b("last_seen_at", _T, "UTC", "Latest event caused by the customer (email sends excluded)."),
    _b("days_since_last_seen", _I, "days", "Whole days since last_seen_at."),
    _b("email_sent_90d", _I, "emails", "Emails sent in the last 90 days.", 0),
    _b(
        "email_open_rate_90d",
        _F,
        "share",
        "Distinct emails (campaigns) opened / distinct emails sent, last 90 days, capped at 1.",
    ),
    _b(
        "email_click_rate_90d",
        _F,
        "share",
        "Distinct emails (campaigns) clicked / distinct emails sent, last 90 days, capped at 1.",
    ),
    _b("unsubscribed", _B, "", "An unsubscribed event happened at or before as_of.", False),
    _t("preferred_device", _S, "", "Most frequent device type (ties: alphabetical first)."),
    _t("preferred_browser", _S, "", "Most frequent browser (ties: alphabetical first)."),
    _t("preferred_os", _S, "", "Most frequent operating system (ties: alphabetical first)."),
    _t("mobile_share", _F, "share", "Share of events with a known device that came from a mobile device."),
)

PRIVATE = ("_last_unsub_at", "_app_events", "_event_channel")


# Pre-aggregate counts only the email pass reads (per-email sent / opened / clicked in 90 days) and
# the interactive-event weight only the preference pass reads.
_PER_EMAIL = ("_n",)


def event_ids(tables: Mapping[str, ir.Table], as_of: datetime) -> ir.Table:
    """Every customer with an event (own or stitched) as of ``as_of``: the rows of :func:`build_events`."""
    return resolved_events(tables, as_of).select("customer_id").distinct()


def build_events(tables: Mapping[str, ir.Table], as_of: datetime, settings: dict[str, Any]) -> ir.Table:
    # One pass over the (large) events table: a pre-aggregate per (customer, session, cart, device,
    # browser, os, channel) holds every count and time the traits need, and each trait is then
    # read from that much smaller table. Distinct counts become counts of groups (a session is counted
    # in a window when its latest own event falls in it), which avoids COUNT(DISTINCT) over raw events.
    ev = resolved_events(tables, as_of)
    name = ev.name
    own = ~name.isin([SENT])
    interactive = ~name.isin(EMAIL_EVENTS)
    device = ev.device_type.lower()

    def count(event: str | tuple[str, ...], days: int) -> ir.IntegerValue:
        names = [event] if isinstance(event, str) else list(event)
        return ev.event_id.count(where=name.isin(names) & within(ev.occurred_at, as_of, days))

    sums = {
        **{f"product_views_{d}d": count(VIEW, d) for d in (7, 30, 90)},
        **{f"cart_adds_{d}d": count(CART, d) for d in (7, 30, 90)},
        "checkouts_30d": count(CHECKOUT, 30),
        "searches_30d": count(SEARCHES, 30),
        "email_sent_90d": count(SENT, 90),
        "_mobile": ev.event_id.count(where=interactive & (device == "mobile")),
        "_with_device": ev.event_id.count(where=interactive & device.notnull()),
        "_app_events": ev.event_id.count(where=ev.channel.lower() == "app"),
        "_n": ev.count(where=interactive),
    }
    maxes = {
        "_own_at": ev.occurred_at.max(where=own),
        "_last_unsub_at": ev.occurred_at.max(where=name == UNSUBSCRIBED),
        "_last_add": ev.occurred_at.max(where=name == CART),
        "_last_order": ev.occurred_at.max(where=name == ORDER),
    }
    pre = ev.group_by(
        "customer_id",
        "session_id",
        _cart=ev.cart_id,
        device=device,
        browser=ev.browser,
        os=ev.os,
        channel=ev.channel.lower(),
    ).agg(**sums, **maxes)

    sessions = _sessions(pre, as_of)
    agg = pre.group_by("customer_id").agg(
        **{k: pre[k].sum() for k in sums if k not in _PER_EMAIL},
        last_seen_at=pre._own_at.max(),
        _last_unsub_at=pre._last_unsub_at.max(),
    )
    emails = _distinct_emails(tables, as_of)
    agg = agg.mutate(
        days_since_last_seen=whole_days_since(agg.last_seen_at, as_of),
        unsubscribed=agg._last_unsub_at.notnull(),
        mobile_share=ibis.ifelse(
            agg._with_device > 0,
            agg._mobile.cast("float64") / agg._with_device.cast("float64"),
            ibis.null("float64"),
        ),
    )

    # Weighted by interactive events only: a group of email events alone says nothing of a device.
    tech = pre.filter(pre._n > 0)
    device_top = top_value(tech, "device", "_n")
    browser_top = top_value(tech, "browser", "_n")
    os_top = top_value(tech, "os", "_n")
    channel_top = top_value(tech, "channel", "_n")
    carts = abandoned_carts(pre, as_of, settings["abandon_after_minutes"])

    joined = (
        agg.left_join(sessions, agg.customer_id == sessions.customer_id)
        .left_join(emails, agg.customer_id == emails.customer_id)
        .left_join(device_top, agg.customer_id == device_top.customer_id)
        .left_join(browser_top, agg.customer_id == browser_top.customer_id)
        .left_join(os_top, agg.customer_id == os_top.customer_id)
        .left_join(channel_top, agg.customer_id == channel_top.customer_id)
        .left_join(carts, agg.customer_id == carts.customer_id)
        .select(
            agg,
            **{f"sessions_{d}d": sessions[f"sessions_{d}d"].fill_null(0) for d in (7, 30, 90)},
            email_open_rate_90d=_capped_rate(emails._opened, emails._sent),
            email_click_rate_90d=_capped_rate(emails._clicked, emails._sent),
            preferred_device=device_top.device,
            preferred_browser=browser_top.browser,
            preferred_os=os_top.os,
            _event_channel=channel_top.channel,
            abandoned_carts_7d=carts.abandoned_carts_7d.fill_null(0),
            abandoned_carts_30d=carts.abandoned_carts_30d.fill_null(0),
        )
    )
    return joined.select("customer_id", *(s.name for s in SPECS), *PRIVATE)


def _sessions(pre: ir.Table, as_of: datetime) -> ir.Table:
    """(customer_id, sessions_7d/30d/90d): distinct sessions with an own event in each window, i.e.
    sessions whose latest own event falls in it."""
    rows = pre.filter(pre.session_id.notnull() & pre._own_at.notnull())
    per = rows.group_by("customer_id", "session_id").agg(last=rows._own_at.max())
    return per.group_by("customer_id").agg(
        **{f"sessions_{d}d": per.count(where=within(per.last, as_of, d)) for d in (7, 30, 90)}
    )


def _distinct_emails(tables: Mapping[str, ir.Table], as_of: datetime) -> ir.Table:
    """(customer_id, _sent, _opened, _clicked): distinct emails (campaign, else event) sent, opened and
    clicked in the last 90 days. A pass over email events only (a small share of events), kept out
    of the main pre-aggregate where one group per email would outnumber the sessions."""
    em = resolved_events(tables, as_of, names=(SENT, OPENED, CLICKED), since=as_of - timedelta(days=90))
    per = em.group_by("customer_id", _email=em.campaign_id.fill_null(em.event_id)).agg(
        s=em.count(where=em.name == SENT),
        o=em.count(where=em.name == OPENED),
        c=em.count(where=em.name == CLICKED),
    )
    return per.group_by("customer_id").agg(
        _sent=per.count(where=per.s > 0),
        _opened=per.count(where=per.o > 0),
        _clicked=per.count(where=per.c > 0),
    )


def abandoned_carts(pre: ir.Table, as_of: datetime, minutes: float) -> ir.Table:
    """(customer_id, abandoned_carts_7d, abandoned_carts_30d) for customers with any cart, from the
    events pre-aggregate (its ``_cart`` key and per-group ``_last_add`` / ``_last_order``); see the
    module docstring for the exact definition."""
    rows = pre.filter(pre._cart.notnull())
    per_cart = rows.group_by("customer_id", cart_id=rows._cart).agg(
        last_add=rows._last_add.max(),
        last_order=rows._last_order.max(),
    )
    limit = minutes * 60.0
    gap = per_cart.last_order.epoch_seconds() - per_cart.last_add.epoch_seconds()
    completed = per_cart.last_order.notnull() & (gap >= 0) & (gap <= limit)
    due = per_cart.last_add <= ts_literal(as_of - timedelta(minutes=minutes))
    abandoned = per_cart.filter(per_cart.last_add.notnull() & due & ~completed)
    return abandoned.group_by("customer_id").agg(
        abandoned_carts_7d=abandoned.cart_id.count(where=within(abandoned.last_add, as_of, 7)),
        abandoned_carts_30d=abandoned.cart_id.count(where=within(abandoned.last_add, as_of, 30)),
    )


def _capped_rate(part: ir.IntegerValue, whole: ir.IntegerValue) -> ir.FloatingValue:
    rate = ibis.least(part.cast("float64") / whole.cast("float64"), 1.0)
    return ibis.ifelse(whole > 0, rate, ibis.null("float64"))


GROUP = TraitGroup("events", SPECS, build_events, needs_settings=True, ids=event_ids)
