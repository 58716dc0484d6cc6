"""Traits that combine two sources, computed on the joined wide table (no extra join).

* Consent (see :mod:`segmint.core.traits.profile`): email consent needs the profile's opt-in and the
  events' last unsubscribe.
* ``preferred_channel``: the channel of most paid orders (web, app, pos, ...); for a customer with no
  paid order, the channel of most of their own events. ``app_user``: any order or event through the app.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from segmint.core.traits.catalog import TraitGroup, TraitSpec
from segmint.core.traits.profile import consent_at

SPECS: tuple[TraitSpec, ...] = (
    TraitSpec(
        "email_consent",
        dt.boolean,
        "consent",
        "Email opt-in given by as_of and not withdrawn by a later unsubscribe.",
    ),
    TraitSpec("sms_consent", dt.boolean, "consent", "SMS opt-in given by as_of."),
    TraitSpec("ads_consent", dt.boolean, "consent", "Advertising opt-in given by as_of."),
    TraitSpec(
        "preferred_channel",
        dt.string,
        "technographic",
        "Channel of most paid orders; else of most own events.",
    ),
    TraitSpec("app_user", dt.boolean, "technographic", "Ordered or was active through the app.", "", False),
)


def build_combined(tables: Mapping[str, ir.Table], as_of: datetime) -> ir.Table:
    t = tables["traits"]
    email = consent_at(t._email_opt_in, t._email_opt_in_at, as_of)
    unsub_after = t._last_unsub_at.notnull() & (
        t._email_opt_in_at.isnull() | (t._last_unsub_at >= t._email_opt_in_at)
    )
    return t.mutate(
        email_consent=ibis.ifelse(email.isnull(), ibis.null("boolean"), email & ~unsub_after),
        sms_consent=t._sms_consent,
        ads_consent=t._ads_consent,
        preferred_channel=t._order_channel.fill_null(t._event_channel),
        app_user=(t._app_orders.fill_null(0) + t._app_events.fill_null(0)) > 0,
    )


GROUP = TraitGroup(
    "combined", SPECS, build_combined, depends_on=("profile", "orders", "events"), derived=True
)
