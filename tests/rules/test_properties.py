"""Property tests: random rules on random shops give the same members when compiled and run on DuckDB
as with the pure-Python reference evaluator (tests/rules/reference.py); and every generated tree
survives text → tree and JSON → tree round trips.

The data is drawn to hit the edges on purpose: missing values in every column, customers without a
trait row, events exactly at as_of - window and exactly at as_of, events after as_of, anonymous events,
and carts with and without a cart_id."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import ibis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import Reference
from rule_fixtures import AS_OF, Shop

from segmint.core.rules import from_json, parse, to_json, to_text
from segmint.core.rules import nodes as n

H, D = 3600, 86400

# ------------------------------------------------------------------ data

OFFSETS = [0, -1, -H, -2 * H, -7 * D, -7 * D + 1, -30 * D, -30 * D + 1, -40 * D, H]  # seconds from as_of


def _ts(offset: int | None) -> datetime | None:
    return None if offset is None else AS_OF + timedelta(seconds=offset)


customer_st = st.fixed_dictionaries(
    {
        "country": st.sampled_from([None, "FR", "BE", "DE"]),
        "city": st.sampled_from([None, "Paris", "Berlin", "Gent"]),
        "email_opt_in": st.sampled_from([None, True, False]),
    }
)
trait_st = st.one_of(
    st.none(),  # no trait row at all
    st.fixed_dictionaries(
        {
            "orders_count": st.sampled_from([None, 0, 1, 2, 5]),
            "total_spent": st.sampled_from([None, 0.0, 10.5, 100.0]),
            "last_order_at": st.sampled_from([None, *OFFSETS]).map(_ts),
            "is_subscriber": st.sampled_from([None, True, False]),
        }
    ),
)
event_st = st.fixed_dictionaries(
    {
        "who": st.integers(0, 4) | st.none(),
        "name": st.sampled_from(["product_viewed", "added_to_cart", "order_completed"]),
        "occurred_at": st.sampled_from(OFFSETS).map(_ts),
        "category": st.sampled_from([None, "shoes", "outdoor"]),
        "cart_id": st.sampled_from([None, "A", "B"]),
        "value": st.sampled_from([None, 5.0, 20.0]),
    }
)
shop_st = st.tuples(
    st.lists(st.tuples(customer_st, trait_st), min_size=1, max_size=5),
    st.lists(event_st, max_size=14),
)

# ------------------------------------------------------------------ rules

durations = st.sampled_from([None, H, 2 * H, 7 * D, 30 * D]).map(
    lambda s: None if s is None else n.Duration(s)
)
windows = st.sampled_from([None, 7 * D, 30 * D]).map(lambda s: None if s is None else n.Duration(s))
ops = st.sampled_from(n.COMPARE_OPS)
events = st.sampled_from(["product_viewed", "added_to_cart", "order_completed"])
rel_times = st.sampled_from([0, -7 * D, -30 * D, -7 * D + 1]).map(lambda o: n.RelTime("now", o))


def _f(name: str) -> n.Field:
    return n.Field((name,))


event_filter = st.one_of(
    st.builds(
        n.Compare, st.just(_f("category")), st.sampled_from(["=", "!="]), st.just(n.StringLit("shoes"))
    ),
    st.builds(n.IsMissing, st.just(_f("cart_id")), st.booleans()),
    st.builds(n.Compare, st.just(_f("value")), ops, st.sampled_from([5, 10, 20]).map(n.NumberLit)),
)
maybe_filter = st.none() | event_filter | st.builds(lambda a, b: n.And((a, b)), event_filter, event_filter)

leaves = st.one_of(
    st.builds(
        n.Compare,
        st.sampled_from([_f("country"), _f("city")]),
        st.sampled_from(["=", "!="]),
        st.sampled_from(["FR", "BE", "Paris", "X"]).map(n.StringLit),
    ),
    st.builds(n.Compare, st.just(_f("orders_count")), ops, st.integers(0, 5).map(n.NumberLit)),
    st.builds(
        n.Compare, st.just(_f("total_spent")), ops, st.sampled_from([0, 10.5, 50, 100.0]).map(n.NumberLit)
    ),
    st.builds(n.Compare, st.just(_f("last_order_at")), ops, rel_times),
    st.builds(
        n.InList,
        st.just(_f("country")),
        st.lists(st.sampled_from(["FR", "BE", "X"]).map(n.StringLit), min_size=1, max_size=3).map(tuple),
        st.booleans(),
    ),
    st.builds(n.Between, st.just(_f("orders_count")), st.just(n.NumberLit(1)), st.just(n.NumberLit(2))),
    st.builds(
        n.IsMissing,
        st.sampled_from([_f("country"), _f("orders_count"), _f("last_order_at"), _f("is_subscriber")]),
        st.booleans(),
    ),
    st.just(n.Truthy(_f("is_subscriber"))),
    st.just(n.Contains(_f("city"), n.StringLit("er"))),
    st.just(n.StartsWith(_f("city"), n.StringLit("G"))),
    st.just(n.Consent("email")),
    st.builds(
        n.Compare,
        st.builds(n.Aggregate, st.just("count"), events, st.none(), maybe_filter, windows),
        ops,
        st.integers(0, 3).map(n.NumberLit),
    ),
    st.builds(
        n.Compare,
        st.builds(
            n.Aggregate,
            st.sampled_from(["sum", "avg", "min", "max"]),
            st.just("order_completed"),
            st.just(("value",)),
            maybe_filter,
            windows,
        ),
        ops,
        st.sampled_from([0, 5, 20, 25]).map(n.NumberLit),
    ),
    st.builds(
        n.Compare,
        st.builds(n.Aggregate, st.sampled_from(["first", "last"]), events, st.none(), maybe_filter, windows),
        ops,
        rel_times,
    ),
    st.builds(n.Did, events, maybe_filter, windows, st.booleans()),
    st.builds(
        n.Sequence,
        st.builds(n.Step, events, maybe_filter),
        st.builds(n.Step, events, maybe_filter),
        st.booleans(),
        durations,
        st.sampled_from([None, "cart_id"]),
        st.sampled_from([None, D, 7 * D]).map(lambda s: None if s is None else n.Duration(s)),
    ),
)


def _extend(children: st.SearchStrategy) -> st.SearchStrategy:
    items = st.lists(children, min_size=2, max_size=3).map(tuple)
    return st.one_of(st.builds(n.And, items), st.builds(n.Or, items), st.builds(n.Not, children))


rules = st.recursive(leaves, _extend, max_leaves=6).map(lambda body: n.Rule(body=body))


def _load(shop_data) -> tuple[list[dict], list[dict], list[dict]]:
    pairs, evs = shop_data
    cust, traits = [], []
    for i, (c, t) in enumerate(pairs):
        cust.append({"customer_id": f"c{i}", **c})
        if t is not None:
            traits.append({"customer_id": f"c{i}", **t})
    events = [
        {
            "event_id": f"e{j}",
            "customer_id": None if e["who"] is None else f"c{e['who']}",
            **{k: v for k, v in e.items() if k != "who"},
        }
        for j, e in enumerate(evs)
    ]
    return cust, traits, events


@pytest.fixture(scope="module")
def con():
    c = ibis.duckdb.connect()
    c.raw_sql("SET TimeZone = 'UTC'")
    yield c
    c.disconnect()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rule=rules, shop_data=shop_st)
def test_compiled_rules_agree_with_reference(con, rule: n.Rule, shop_data) -> None:
    cust, traits, events = _load(shop_data)
    shop = Shop(con, cust, [{k: v for k, v in e.items() if k != "event_id"} for e in events], traits)
    merged = {c["customer_id"]: dict(c) for c in cust}
    for t in traits:
        merged[t["customer_id"]].update(t)
    expected = Reference(merged, events, AS_OF).members(rule)
    assert shop.members(to_text(rule)) == expected, to_text(rule)


# ------------------------------------------------------------------ round trips

text_values = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)
any_literal = st.one_of(
    st.integers(-(10**12), 10**12).map(n.NumberLit),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9).map(n.NumberLit),
    text_values.map(n.StringLit),
    st.booleans().map(n.BoolLit),
    st.builds(n.RelTime, st.sampled_from(["now", "today"]), st.integers(-400, 400).map(lambda d: d * 3600)),
)
extra_leaves = st.one_of(
    leaves,
    st.builds(n.Compare, st.just(_f("rfm_group")), ops, any_literal),
    st.builds(n.InSegment, text_values.filter(bool)),
    st.builds(
        n.WithinKm,
        st.floats(-90, 90).map(n.NumberLit),
        st.floats(-180, 180).map(n.NumberLit),
        st.integers(0, 500).map(n.NumberLit),
    ),
    st.builds(n.Compare, st.builds(n.Field, st.just(("attr", "values", "eco"))), st.just("="), any_literal),
)
any_rules = st.recursive(extra_leaves, _extend, max_leaves=8).map(lambda body: n.Rule(body=body))


@settings(max_examples=200, deadline=None)
@given(rule=any_rules)
def test_text_round_trip(rule: n.Rule) -> None:
    text = to_text(rule)
    assert parse(text) == rule, text
    assert to_text(parse(text)) == text


@settings(max_examples=200, deadline=None)
@given(rule=any_rules)
def test_json_round_trip(rule: n.Rule) -> None:
    data = json.loads(json.dumps(to_json(rule)))
    assert from_json(data) == rule
    assert parse(to_text(from_json(data))) == rule
