"""Demographic, geographic and consent traits from the customers table.

A customer row counts from its ``created_at`` on (rows without one always count). ``age`` is in whole
years at ``as_of``; a birth date after ``as_of`` gives no age. Consent is the stored opt-in, not yet
given if its opt-in time is after ``as_of``; email consent is also withdrawn by an ``unsubscribed``
event after the opt-in (or any unsubscribe when the opt-in time is unknown). A missing opt-in stays
missing: the shop never said.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from segmint.core.traits._time import ts_literal
from segmint.core.traits.catalog import TraitGroup, TraitSpec

AGE_BANDS = ((18, "18-24"), (25, "25-34"), (35, "35-44"), (45, "45-54"), (55, "55-64"), (65, "65+"))

_S, _F, _I, _B = dt.string, dt.float64, dt.int64, dt.boolean

SPECS: tuple[TraitSpec, ...] = (
    TraitSpec("age", _I, "demographic", "Age in whole years at as_of, from birth_date.", "years"),
    TraitSpec(
        "age_band",
        _S,
        "demographic",
        "Age band: '<18', '18-24', '25-34', '35-44', '45-54', '55-64', '65+'.",
    ),
    TraitSpec("gender", _S, "demographic", "Gender as recorded."),
    TraitSpec("income_band", _S, "demographic", "Income band as recorded."),
    TraitSpec("marital_status", _S, "demographic", "Marital status as recorded."),
    TraitSpec("education", _S, "demographic", "Education as recorded."),
    TraitSpec("occupation", _S, "demographic", "Occupation as recorded."),
    TraitSpec("language", _S, "demographic", "Preferred language (e.g. en, fr)."),
    TraitSpec("country", _S, "geographic", "Country code (ISO 3166-1 alpha-2)."),
    TraitSpec("region", _S, "geographic", "Region, state or province."),
    TraitSpec("city", _S, "geographic", "City of the address."),
    TraitSpec("postal_code", _S, "geographic", "Postal code."),
    TraitSpec("latitude", _F, "geographic", "Latitude of the address (for distance rules).", "degrees"),
    TraitSpec("longitude", _F, "geographic", "Longitude of the address (for distance rules).", "degrees"),
)

PASSTHROUGH = (
    "gender",
    "income_band",
    "marital_status",
    "education",
    "occupation",
    "language",
    "country",
    "region",
    "city",
    "postal_code",
    "latitude",
    "longitude",
)
PRIVATE = ("_email_opt_in", "_email_opt_in_at", "_sms_consent", "_ads_consent")


def age_at(birth: ir.DateValue, as_of: datetime) -> ir.IntegerValue:
    """Whole years between ``birth`` and ``as_of`` (birthdays count on the day)."""
    years = ibis.literal(as_of.year) - birth.year()
    before_birthday = birth.month() * 100 + birth.day() > as_of.month * 100 + as_of.day
    age = (years - before_birthday.cast("int64")).cast("int64")
    return ibis.ifelse(age >= 0, age, ibis.null("int64"))


def age_band(age: ir.IntegerValue) -> ir.StringValue:
    cases = [(age >= low, label) for low, label in reversed(AGE_BANDS)]
    return ibis.cases(*cases, (age >= 0, "<18"), else_=ibis.null("string"))


def consent_at(opt_in: ir.BooleanValue, opt_in_at: ir.TimestampValue, as_of: datetime) -> ir.BooleanValue:
    """The stored opt-in as of ``as_of``: an opt-in dated later was not given yet."""
    given_later = opt_in_at.notnull() & (opt_in_at > ts_literal(as_of))
    return ibis.ifelse(opt_in.isnull(), ibis.null("boolean"), opt_in & ~given_later)


def _known(tables: Mapping[str, ir.Table], as_of: datetime) -> ir.Table:
    return known_at(tables["customers"], as_of)


def known_at(customers: ir.Table, as_of: datetime) -> ir.Table:
    """Customer rows that exist as of ``as_of`` (created then or earlier, or with no creation time):
    the one rule for who a customer is at a past time (traits, KPIs, exports)."""
    c = customers
    return c.filter(c.created_at.isnull() | (c.created_at <= ts_literal(as_of)))


def profile_ids(tables: Mapping[str, ir.Table], as_of: datetime) -> ir.Table:
    return _known(tables, as_of).select("customer_id").distinct()


def build_profile(tables: Mapping[str, ir.Table], as_of: datetime) -> ir.Table:
    c = _known(tables, as_of)
    age = age_at(c.birth_date, as_of)
    return c.select(
        "customer_id",
        age=age,
        age_band=age_band(age),
        **{name: c[name] for name in PASSTHROUGH},
        _email_opt_in=c.email_opt_in,
        _email_opt_in_at=c.email_opt_in_at,
        _sms_consent=consent_at(c.sms_opt_in, c.sms_opt_in_at, as_of),
        _ads_consent=consent_at(c.ads_opt_in, c.ads_opt_in_at, as_of),
    )


GROUP = TraitGroup("profile", SPECS, build_profile, ids=profile_ids)
