"""Synthetic customers: who they are (persona, demographics, place, devices, consent, survey answers)
and the latent quantities that drive their behaviour (purchase rate, lifetime, tastes)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmint.core.synth import arrow
from segmint.core.synth.calendar import DAY, Calendar
from segmint.core.synth.catalog import CATEGORIES, CATEGORY_POPULARITY
from segmint.core.synth.personas import PERSONAS, persona_table
from segmint.data.cities import CITIES, COUNTRIES

__all__ = ["People", "make_people"]

FEMALE = (
    "Emma", "Olivia", "Sophia", "Mia", "Charlotte", "Amelia", "Emily", "Chloe", "Lea", "Anna", "Laura",
    "Julia", "Sara", "Elena", "Lucia", "Marie", "Ines", "Hannah", "Nora", "Ella", "Alice", "Camille",
    "Sofia", "Maja", "Ingrid", "Yuki", "Ana", "Beatriz", "Clara", "Zoe", "Grace", "Isabel",
)  # fmt: skip
MALE = (
    "Liam", "Noah", "Oliver", "Elijah", "James", "Lucas", "Leo", "Hugo", "Louis", "Paul", "Jonas",
    "Felix", "Mateo", "Pablo", "Marco", "Luca", "Thomas", "David", "Daniel", "Adam", "Jakub", "Erik",
    "Lars", "Mikko", "Kenji", "Pedro", "Joao", "Martin", "Samuel", "Henry", "Oscar", "Jack",
)  # fmt: skip
LAST = (
    "Smith", "Johnson", "Brown", "Garcia", "Miller", "Martin", "Bernard", "Dubois", "Muller", "Schmidt",
    "Schneider", "Fischer", "Rossi", "Russo", "Ferrari", "Fernandez", "Lopez", "Gonzalez", "Silva",
    "Santos", "Ferreira", "Jansen", "de Vries", "Peeters", "Nowak", "Kowalski", "Novak", "Andersson",
    "Johansson", "Hansen", "Nielsen", "Virtanen", "Murphy", "Kelly", "Wilson", "Taylor", "Tanaka",
    "Suzuki", "Sato", "Walker", "Young", "King", "Wright", "Scott", "Moreau", "Laurent", "Weber", "Wagner",
)  # fmt: skip
GENDERS = ("female", "male", "non_binary", None)
INCOME = ("low", "lower_middle", "middle", "upper_middle", "high")
MARITAL = ("single", "married", "partnered", "divorced", "widowed")
EDUCATION = ("secondary", "vocational", "bachelor", "master", "doctorate")
OCCUPATIONS = (
    "student", "office_worker", "engineer", "teacher", "healthcare", "retail", "hospitality",
    "manager", "self_employed", "creative", "tradesperson", "public_sector", "it_professional",
    "homemaker", "retired", "unemployed",
)  # fmt: skip
DEVICES = ("mobile", "desktop", "tablet")
SIGNUP_SOURCES = ("web_signup", "checkout", "app", "store", "referral")
DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com")
CUSTOMER_TAGS = ("vip", "newsletter", "app_user", "wholesale", "employee", "student")
INTERESTS = (
    "outdoor", "fitness", "fashion", "beauty", "home_decor", "cooking", "tech", "travel", "reading",
    "gaming", "parenting", "gardening",
)  # fmt: skip
VALUES = ("eco_conscious", "price_sensitive", "quality_focused", "brand_loyal", "convenience_seeker")
LIFESTYLES = ("urban_professional", "family_focused", "active_outdoor", "homebody", "student_life", "retired")
SURVEY_SHARE = 0.35


@dataclass
class People:
    """A block of customers: their output tables and the latent state behaviour is generated from."""

    table: pa.Table
    personas: pa.Table
    ids: pa.Array
    persona: np.ndarray
    created: np.ndarray  # epoch seconds
    active_end: np.ndarray  # end of the customer's (purchase) lifetime, capped at the period's end
    rate: np.ndarray  # purchases per day at mean intensity
    longitude: np.ndarray
    favourite: np.ndarray  # favourite category number
    eco_taste: np.ndarray  # bool
    device: np.ndarray  # primary device number
    app_user: np.ndarray
    email_from: np.ndarray  # email opt-in time, NaN if never opted in
    open_rate: np.ndarray
    n_anon: np.ndarray  # anonymous ids (devices/browsers) per customer, 1..3
    os_u: np.ndarray  # fixed uniform draw: the customer's OS/browser on each device type
    first_number: int  # global number of the block's first customer (ids are unique across blocks)

    def __len__(self) -> int:
        return len(self.persona)


def make_people(rng: np.random.Generator, cal: Calendar, first_number: int, n: int, curves) -> People:
    shares = persona_table("share")
    persona = rng.choice(len(PERSONAS), size=n, p=shares / shares.sum())

    # Place: a real city by population, a few km around its centre.
    weights = np.array([c.population_k for c in CITIES])
    city = rng.choice(len(CITIES), size=n, p=weights / weights.sum())
    lat0 = np.array([c.latitude for c in CITIES])[city]
    lon0 = np.array([c.longitude for c in CITIES])[city]
    r_km = rng.gamma(2.0, 2.5, n)
    angle = rng.random(n) * 2 * np.pi
    latitude = np.round(lat0 + r_km * np.cos(angle) / 111.0, 5)
    longitude = np.round(lon0 + r_km * np.sin(angle) / (111.0 * np.cos(np.radians(lat0))), 5)
    created, active_end = _lifetimes(rng, cal, persona, curves, longitude)
    rate = (
        rng.gamma(persona_table("rate_shape")[persona], 1.0)
        * (persona_table("rate_mean") / persona_table("rate_shape"))[persona]
        / 30.0
    )

    # Demographics. Age at the period's end, at least 18 at sign-up and at most 90.
    min_age = 18.0 + (cal.end_s - created) / (365.25 * DAY)
    age = np.clip(rng.normal(persona_table("age_mean")[persona], 12.0), min_age, 90.0)
    birth_days = np.floor((cal.end_s - age * 365.25 * DAY) / DAY).astype(np.int32)
    gender = rng.choice(4, size=n, p=[0.51, 0.46, 0.01, 0.02])
    income_p = np.array([p.income for p in PERSONAS])
    income = _choose_rows(rng, income_p[persona])
    marital = np.where(
        age < 28,
        rng.choice(5, size=n, p=[0.7, 0.1, 0.18, 0.02, 0.0]),
        rng.choice(5, size=n, p=[0.25, 0.5, 0.12, 0.1, 0.03]),
    )
    education = rng.choice(5, size=n, p=[0.3, 0.2, 0.3, 0.17, 0.03])
    occupation = rng.integers(0, len(OCCUPATIONS) - 2, n)
    occupation = np.where(age >= 65, OCCUPATIONS.index("retired"), occupation)
    occupation = np.where((age < 25) & (rng.random(n) < 0.6), OCCUPATIONS.index("student"), occupation)

    # Devices, consent and tastes.
    mobile_p = persona_table("mobile_p")[persona]
    u = rng.random(n)
    device = np.where(u < mobile_p, 0, np.where(u < mobile_p + (1 - mobile_p) * 0.8, 1, 2))
    app_user = (device == 0) & (rng.random(n) < 0.45)
    n_anon = 1 + rng.binomial(2, 0.35, n)
    opt_email = rng.random(n) < persona_table("email_opt_in_p")[persona]
    email_from = np.where(opt_email, created + rng.exponential(0.5, n) * DAY * (rng.random(n) < 0.2), np.nan)
    email_from = np.where(email_from > cal.end_s, np.nan, email_from)
    open_mean = persona_table("open_mean")[persona]
    open_rate = rng.beta(open_mean * 16.0, (1 - open_mean) * 16.0)
    favourite = rng.choice(len(_CATEGORY_WEIGHTS), size=n, p=_CATEGORY_WEIGHTS)
    survey = rng.random(n) < SURVEY_SHARE
    eco_taste = rng.random(n) < np.where(survey, 0.3, 0.15)

    numbers = first_number + np.arange(n)
    ids = arrow.fixed_ids("c", numbers, 8)
    first, last, email = _names(rng, gender, numbers, n)
    country_iso = [c.country for c in CITIES]
    phone_valid = rng.random(n) < 0.65
    codes = pa.array(["+" + COUNTRIES[c].phone_code + " " for c in country_iso])
    phone = arrow.join(codes.take(pa.array(city)), arrow.fixed_ids("", rng.integers(0, 10**9, n), 9))
    phone = pc.if_else(pa.array(phone_valid), phone, pa.nulls(n, pa.string()))
    sms = phone_valid & (rng.random(n) < 0.3)
    ads = rng.random(n) < 0.5
    consent_lag = rng.exponential(20.0, n) * DAY
    sms_at = np.minimum(created + consent_lag * (rng.random(n) < 0.3), cal.end_s)
    tags = np.column_stack(
        [
            (persona == 0) & (rng.random(n) < 0.7),
            opt_email,
            app_user,
            rng.random(n) < 0.01,
            rng.random(n) < 0.005,
            (occupation == OCCUPATIONS.index("student")) & (rng.random(n) < 0.5),
        ]
    )
    source = rng.choice(len(SIGNUP_SOURCES), size=n, p=[0.35, 0.35, 0.12, 0.12, 0.06])
    source = np.where(app_user & (rng.random(n) < 0.5), 2, source)

    table = pa.table(
        {
            "customer_id": ids,
            "email": email,
            "phone": phone,
            "first_name": first,
            "last_name": last,
            "created_at": arrow.timestamps(created),
            "birth_date": pa.array(birth_days, type=pa.date32()),
            "gender": arrow.labels(GENDERS, gender),
            "income_band": arrow.labels(INCOME, income, rng.random(n) > 0.25),
            "marital_status": arrow.labels(MARITAL, marital, rng.random(n) > 0.2),
            "education": arrow.labels(EDUCATION, education, rng.random(n) > 0.3),
            "occupation": arrow.labels(OCCUPATIONS, occupation, rng.random(n) > 0.25),
            "country": arrow.labels(country_iso, city),
            "region": arrow.labels([c.region for c in CITIES], city),
            "city": arrow.labels([c.city for c in CITIES], city),
            "postal_code": pa.nulls(n, pa.string()),
            "latitude": pa.array(latitude),
            "longitude": pa.array(longitude),
            "language": arrow.labels([c.language for c in CITIES], city),
            "email_opt_in": pa.array(opt_email),
            "email_opt_in_at": arrow.timestamps(np.nan_to_num(email_from), opt_email),
            "sms_opt_in": pa.array(sms),
            "sms_opt_in_at": arrow.timestamps(sms_at, sms),
            "ads_opt_in": pa.array(ads),
            "ads_opt_in_at": arrow.timestamps(created, ads),
            "tags": arrow.list_column(tags, CUSTOMER_TAGS),
            "attributes": _survey(rng, persona, survey, eco_taste, favourite, age),
            "source": arrow.labels(SIGNUP_SOURCES, source),
            "updated_at": arrow.timestamps(np.maximum(created, np.where(sms, sms_at, created))),
        }
    )
    personas = pa.table({"customer_id": ids, "persona": arrow.labels([p.name for p in PERSONAS], persona)})
    return People(
        table=table,
        personas=personas,
        ids=ids,
        persona=persona,
        created=created,
        active_end=active_end,
        rate=rate,
        longitude=longitude,
        favourite=favourite,
        eco_taste=eco_taste,
        device=device,
        app_user=app_user,
        email_from=email_from,
        open_rate=open_rate,
        n_anon=n_anon,
        os_u=rng.random(n),
        first_number=first_number,
    )


_CATEGORY_WEIGHTS = np.array([CATEGORY_POPULARITY[c] for c in CATEGORIES])
_CATEGORY_WEIGHTS = _CATEGORY_WEIGHTS / _CATEGORY_WEIGHTS.sum()


def _choose_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category per row from per-row probabilities."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None] * cum[:, -1:]
    return (u >= cum).sum(axis=1)


def _lifetimes(
    rng: np.random.Generator, cal: Calendar, persona: np.ndarray, curves, longitude: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sign-up time (drawn from the persona's seasonal curve within its sign-up window) and the end of
    activity: an exponential lifetime (Pareto/NBD drop-out), forced early for churned customers."""
    n = len(persona)
    created = np.empty(n)
    end = cal.end_s - 3600.0
    for k, p in enumerate(PERSONAS):
        sel = persona == k
        m = int(sel.sum())
        if not m:
            continue
        if p.recent_days:
            a = np.full(m, cal.end_s - p.recent_days * DAY)
            b = np.full(m, end)
        else:
            a = np.full(m, cal.start_s + p.signup[0] * cal.span)
            b = np.full(m, cal.start_s + p.signup[1] * cal.span)
        # Recent acquisitions come from always-on campaigns: spread evenly over the recent window.
        day = a + rng.random(m) * (b - a) if p.recent_days else curves[k].sample(rng, a, b)
        t = cal.local_clock(rng, day, longitude[sel])
        created[sel] = np.clip(t, a, np.minimum(b, end))
    life = rng.exponential(persona_table("lifetime_days")[persona] * DAY)
    death = created + life
    churn_gap = persona_table("churn_before_end_days")[persona] * DAY
    forced = churn_gap > 0
    latest = cal.end_s - churn_gap - rng.random(n) * 90 * DAY
    death = np.where(
        forced, np.clip(death + 30 * DAY, created + 20 * DAY, np.maximum(latest, created + 20 * DAY)), death
    )
    return created, np.minimum(death, cal.end_s)


def _names(rng: np.random.Generator, gender: np.ndarray, numbers: np.ndarray, n: int):
    female = rng.integers(0, len(FEMALE), n)
    male = rng.integers(0, len(MALE), n)
    is_female = (gender == 0) | ((gender >= 2) & (rng.random(n) < 0.5))
    names = pa.array(FEMALE + MALE)
    first = names.take(pa.array(np.where(is_female, female, len(FEMALE) + male)))
    last = arrow.labels(LAST, rng.integers(0, len(LAST), n))
    local = arrow.join(
        pc.utf8_lower(first),
        ".",
        pc.replace_substring(pc.utf8_lower(last), " ", ""),
        arrow.fixed_ids("", numbers, 6),
    )
    email = arrow.join(local, "@", arrow.labels(DOMAINS, rng.integers(0, len(DOMAINS), n)))
    return first, last, email


def _survey(rng, persona, survey, eco_taste, favourite, age) -> pa.Array:
    """JSON survey answers for a share of customers: interests, values and lifestyle, correlated with
    persona (price-sensitive bargain hunters, quality-focused loyal customers), taste and age."""
    n = len(persona)
    # Interests: favourite category's interest plus up to two others, as one of the precomputed lists.
    fav_interest = np.array([0, 2, 3, 4, 6, 0, 1, 10, 8, 5])[favourite]
    other = rng.integers(0, len(INTERESTS), (n, 2))
    k = rng.integers(0, 3, n)
    mask = np.zeros((n, len(INTERESTS)), dtype=bool)
    mask[np.arange(n), fav_interest] = True
    mask[np.arange(n), other[:, 0]] |= k >= 1
    mask[np.arange(n), other[:, 1]] |= k >= 2
    interest_code = (mask * (1 << np.arange(len(INTERESTS)))).sum(axis=1)
    value_flags = np.column_stack(
        [
            eco_taste,
            rng.random(n) < np.where(persona == 1, 0.85, 0.2),
            rng.random(n) < np.where(persona == 0, 0.7, 0.2),
            rng.random(n) < np.where(persona == 0, 0.5, 0.1),
            rng.random(n) < 0.25,
        ]
    )
    value_code = (value_flags * (1 << np.arange(len(VALUES)))).sum(axis=1)
    lifestyle = rng.integers(0, 4, n)
    lifestyle = np.where(age >= 67, 5, np.where(age < 24, 4, lifestyle))
    lifestyle = np.where(favourite == list(CATEGORIES).index("outdoor"), 2, lifestyle)
    parts = [
        arrow.labels(_INTEREST_JSON, interest_code),
        arrow.labels(_VALUES_JSON, value_code),
        arrow.labels([json.dumps(x) for x in LIFESTYLES], lifestyle),
    ]
    text = arrow.join('{"interests": ', parts[0], ', "values": ', parts[1], ', "lifestyle": ', parts[2], "}")
    return pc.if_else(pa.array(survey), text, pa.nulls(n, pa.string()))


def _json_lists(names: tuple[str, ...]) -> list[str]:
    return [
        json.dumps([names[i] for i in range(len(names)) if code >> i & 1]) for code in range(1 << len(names))
    ]


_INTEREST_JSON = _json_lists(INTERESTS)
_VALUES_JSON = _json_lists(VALUES)
