"""Every ready-made segment, and rules using each part of the language that compiles differently per
engine, have the members known by construction (shop.py) on every engine.

Traits are computed and stored once per engine, then every segment is compiled against them (as a run
does) and all members come back in one union query; a segment that fails alone is re-run by itself so
the failure is its own."""

from __future__ import annotations

import pyarrow as pa
import pytest

from segmint.batch.definitions import library_definitions
from segmint.batch.evaluate import members_expression, segment_expressions
from segmint.core.schema import CANONICAL
from segmint.core.segments.definition import SegmentDef
from segmint.core.traits import default_catalog

from .shop import AS_OF, CATEGORIES, EXPECTED
from .support import load

LIBRARY = sorted(d.name for d in library_definitions())

# Rules beyond the library, one per construct whose SQL differs between engines. Members at AS_OF.
RULES = {
    # JSON text with \u escapes and escaped quotes, read back and compared as text.
    "json_array_unicode": ("attr.interests contains 'café'", {"c15"}),
    "json_text_unicode": ("attr.note = 'São Paulo \"SP\"'", {"c15"}),
    "json_missing": ("attr.lifestyle is missing and orders_count >= 1", {"c03", "c04", "c05", "c07", "c12", "c13"}),
    "text_unicode": ("city = 'São Paulo'", {"c15"}),
    # Missing values match neither != nor not in.
    "not_equal_missing": ("gender != 'female'", {"c02", "c04", "c16"}),
    "not_in_missing": ("country not in ('US', 'FR')", {"c06", "c07", "c15"}),
    "between_ages": ("age between 18 and 24", {"c01", "c15"}),
    # Relative times are the operator written: an order exactly 90 days old is >= -90d.
    "relative_time_edge": ("last_order_at >= -90d", {"c01", "c02", "c03", "c07", "c12", "c13"}),
    # Windows over stitched events: (as_of - d, as_of], links known at as_of (a tie: smallest id).
    "count_window_edges": ("count(product_viewed, 30d) >= 3", {"c06", "c11"}),
    "count_at_as_of": ("count(product_viewed, 1d) >= 1", {"c11", "c13"}),
    "count_where": ("count(product_viewed where category = 'outdoor', 30d) >= 3", {"c06"}),
    "event_json": (
        "count(order_completed where properties.coupon = 'SUMMER' and properties.amount > 12, 30d) >= 1",
        {"c14"},
    ),
    # A cart completed exactly 60 minutes after the add is not abandoned; one 61 minutes after is.
    "sequence_edges": (
        "sequence(added_to_cart, then_not order_completed, within 1h, by cart_id, since 7d)",
        {"c07", "c14"},
    ),
    "consent_ads": ("consent(ads)", {"c15"}),
    "consent_and_trait": ("consent(email) and email_consent", {f"c0{i}" for i in range(1, 9)} | {"c16"}),
    "within_km_lyon": ("within_km(45.75, 4.85, 10)", {"c13"}),
    "in_segment": ("in_segment('one_time_buyers') and not in_segment('lifecycle_new')", {"c04", "c05", "c12"}),
    "device_tie": ("preferred_device = 'desktop' and mobile_share < 0.6", {"c06", "c07", "c13"}),
}  # fmt: skip

CUSTOM = [SegmentDef(name=name, family="behavioral", rule=rule) for name, (rule, _) in RULES.items()]


def test_every_library_segment_has_expected_members():
    assert sorted(EXPECTED) == LIBRARY


@pytest.fixture(scope="session")
def members(con, shop_bound, traits_at_as_of) -> dict[str, set[str] | Exception]:
    defs = [*library_definitions(), *CUSTOM]
    exprs = segment_expressions(defs, traits_at_as_of, shop_bound, AS_OF, default_catalog(CATEGORIES))
    out: dict[str, set[str] | Exception] = {name: set() for name in exprs}
    try:
        for row in members_expression(exprs).to_pyarrow().to_pylist():
            out[row["segment"]].add(row["customer_id"])  # type: ignore[union-attr]
    except Exception:
        for name, expr in exprs.items():
            try:
                out[name] = set(expr.to_pyarrow().column("customer_id").to_pylist())
            except Exception as exc:
                out[name] = exc
    return out


def _check(got: set[str] | Exception, expected: set[str]) -> None:
    if isinstance(got, Exception):
        raise got
    assert got == expected, f"missing {sorted(expected - got)}, unexpected {sorted(got - expected)}"


@pytest.mark.parametrize("name", LIBRARY)
def test_segment_members(members, name):
    _check(members[name], EXPECTED[name])


@pytest.mark.parametrize("name", list(RULES))
def test_rule_members(members, name):
    _check(members[name], RULES[name][1])


def test_unreadable_json_attributes_read_as_missing(con):
    """A customer whose attributes are not JSON has every attr.* missing, like one without attributes."""
    rows = [
        {"customer_id": "x1", "attributes": '{"interests": ["outdoor"]}'},
        {"customer_id": "x2", "attributes": "not json {"},
        {"customer_id": "x3", "attributes": None},
    ]
    schema = CANONICAL["customers"].schema.to_pyarrow()
    customers = pa.Table.from_pylist([{f.name: r.get(f.name) for f in schema} for r in rows], schema=schema)
    bound = load(con, {"customers": customers}, prefix="engine_suite_bad_json_")
    tables = {**{name: con.table(name) for name in CANONICAL}, "customers": bound["customers"]}
    defs = [
        SegmentDef(name="has", family="psychographic", rule="attr.interests contains 'outdoor'"),
        SegmentDef(name="missing", family="psychographic", rule="attr.interests is missing"),
    ]
    exprs = segment_expressions(defs, None, tables, AS_OF, default_catalog(CATEGORIES))
    got = {name: set(e.to_pyarrow().column("customer_id").to_pylist()) for name, e in exprs.items()}
    assert got == {"has": {"x1"}, "missing": {"x2", "x3"}}
