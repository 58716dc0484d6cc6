"""Errors with positions, injection, the JSON form's validation, segment references and cycles,
explanations, and the built-in trait catalog."""

from __future__ import annotations

import json
from datetime import timedelta

import ibis
import pytest
from rule_fixtures import AS_OF, Shop, make_catalog

from segmint.core.rules import (
    CheckContext,
    CompileContext,
    RuleCycleError,
    RuleSyntaxError,
    RuleTypeError,
    SegmentResolver,
    check,
    compile_rule,
    explain,
    find_cycle,
    from_json,
    parse,
    segment_refs,
    to_json,
)
from segmint.core.schema import unbound
from segmint.errors import SegmintError


def test_syntax_error_position_on_later_line() -> None:
    with pytest.raises(RuleSyntaxError) as info:
        parse("orders_count > 1\n  and (country = 'FR'\n  or country = )")
    err = info.value
    assert isinstance(err, SegmintError)
    assert (err.line, err.column) == (3, 16)
    assert err.detail == {"line": 3, "column": 16, "reason": err.reason}
    assert "expected a value" in err.message


def test_type_error_suggests_nearest_trait() -> None:
    with pytest.raises(RuleTypeError) as info:
        check(parse("country = 'FR' and total_spnt > 5"), CheckContext(catalog=make_catalog()))
    assert (info.value.line, info.value.column) == (1, 20)
    assert info.value.reason == "unknown name 'total_spnt'; did you mean 'total_spent'?"


def test_custom_event_far_from_known_names_is_accepted_typo_is_not() -> None:
    check(parse("count(wishlist_added, 7d) >= 1"))
    with pytest.raises(RuleTypeError, match="did you mean 'added_to_cart'"):
        check(parse("did added_to_crt"))
    check(parse("did added_to_crt"), CheckContext(events=("added_to_crt",)))


def test_empty_rule() -> None:
    with pytest.raises(RuleSyntaxError, match="empty"):
        parse("  \n ")


HOSTILE = ["x'; DROP TABLE customers; --", "' OR '1'='1", 'a"b\\c', "é'\"; select 1"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_strings_stay_literals(duck, value: str) -> None:
    quoted = "'" + value.replace("'", "''") + "'"
    shop = Shop(
        duck,
        [
            {"customer_id": "c1", "city": value, "attributes": json.dumps({"k": value})},
            {"customer_id": "c2", "city": "Paris", "attributes": json.dumps({"k": "Paris"})},
        ],
        tr=[{"customer_id": "c1", "rfm_group": value}],
    )
    guard = duck.create_table("customers", ibis.memtable({"customer_id": ["g1", "g2"]}), overwrite=True)
    assert shop.members(f"city = {quoted}") == ["c1"]
    assert shop.members(f"city != {quoted}") == ["c2"]
    assert shop.members(f"rfm_group in ({quoted}, 'x')") == ["c1"]
    assert shop.members(f"city contains {quoted}") == ["c1"]
    assert shop.members(f"attr.k = {quoted}") == ["c1"]
    assert guard.count().execute() == 2  # nothing was dropped or changed


def test_sql_keywords_as_values_do_not_change_the_query() -> None:
    ctx = CompileContext(customers=unbound("customers"), events=unbound("events"), as_of=AS_OF)
    sql = ibis.to_sql(compile_rule(parse("city = 'a''; DELETE FROM events; --'"), ctx), dialect="duckdb")
    literal = "'a''; DELETE FROM events; --'"  # escaped, inside one literal
    assert literal in sql
    assert ";" not in sql.replace(literal, "")


def test_json_form_rejects_bad_input() -> None:
    with pytest.raises(RuleSyntaxError, match=r"\$\.body\.left: a number node is not allowed"):
        from_json(
            {
                "type": "rule",
                "body": {
                    "type": "compare",
                    "left": {"type": "number", "value": 1},
                    "op": "=",
                    "right": {"type": "number", "value": 1},
                },
            }
        )
    with pytest.raises(RuleSyntaxError, match="unknown node type 'drop'"):
        from_json({"type": "drop"})
    with pytest.raises(RuleSyntaxError, match="unknown field"):
        from_json({"type": "consent", "channel": "email", "sql": "x"})
    # semantic checks happen in check(), as for text
    bad_op = {
        "type": "compare",
        "left": {"type": "field", "path": ["country"]},
        "op": "LIKE",
        "right": {"type": "string", "value": "x"},
    }
    with pytest.raises(RuleTypeError, match="unknown operator"):
        check(from_json(bad_op))


def test_json_accepts_duration_text() -> None:
    rule = from_json({"type": "did", "event": "product_viewed", "window": "7d"})
    assert rule == parse("did product_viewed within 7d")
    assert to_json(rule)["body"]["window"] == {"type": "duration", "seconds": 604800}


def test_segment_refs_and_find_cycle() -> None:
    assert segment_refs(parse("in_segment('a') or not in_segment('b') and in_segment('a')")) == ["a", "b"]
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"], "d": []}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": ["b"], "b": [], "c": ["a", "zzz"]}) is None


def test_resolver_compiles_chains_and_rejects_cycles(duck) -> None:
    shop = Shop(
        duck,
        [{"customer_id": c, "country": k} for c, k in [("c1", "FR"), ("c2", "BE"), ("c3", "FR")]],
        tr=[{"customer_id": "c1", "orders_count": 5}, {"customer_id": "c3", "orders_count": 1}],
    )
    rules = {
        "french": parse("country = 'FR'"),
        "french_vip": parse("in_segment('french') and orders_count >= 5"),
        "others": parse("not in_segment('french_vip')"),
    }
    resolver = SegmentResolver(rules, shop.ctx)
    assert sorted(duck.execute(resolver.members("others"))["customer_id"]) == ["c2", "c3"]
    cyclic = {"a": parse("in_segment('b')"), "b": parse("country = 'FR' and in_segment('a')")}
    with pytest.raises(RuleCycleError, match="segment 'a' depends on itself: a → b → a"):
        SegmentResolver(cyclic, shop.ctx).members("a")
    with pytest.raises(RuleTypeError, match="unknown segment 'frnch'; did you mean 'french'"):
        SegmentResolver({**rules, "x": parse("in_segment('frnch')")}, shop.ctx).members("x")


def test_in_segment_without_segments_is_an_error() -> None:
    ctx = CompileContext(customers=unbound("customers"), events=unbound("events"), as_of=AS_OF)
    with pytest.raises(RuleTypeError, match="in_segment\\('vip'\\) needs other segments"):
        compile_rule(parse("in_segment('vip')"), ctx)


def test_explain_gives_each_clause_with_values(duck) -> None:
    shop = Shop(
        duck,
        [{"customer_id": "c1", "country": "FR"}, {"customer_id": "c2", "country": "BE"}],
        ev=[
            {"customer_id": "c1", "name": "product_viewed", "occurred_at": AS_OF - timedelta(days=2)},
            {"customer_id": "c1", "name": "product_viewed", "occurred_at": AS_OF - timedelta(days=9)},
        ],
        tr=[{"customer_id": "c1", "orders_count": 4}],
    )
    rule = parse(
        "orders_count >= 5 or (country = 'FR' and did product_viewed within 7d) or attr.a is present"
    )

    def run(expr):
        return next(iter(duck.execute(expr).to_dict("records")), None)

    out = explain(rule, shop.ctx, "c1", run)
    assert out.found and out.result
    root = out.root
    assert root.kind == "or" and [c.result for c in root.children] == [False, True, False]
    assert root.children[0].values == {"orders_count": 4}
    inner = root.children[1]
    assert inner.kind == "and"
    assert [(c.text, c.result, c.values) for c in inner.children] == [
        ("country = 'FR'", True, {"country": "FR"}),
        ("did product_viewed within 7d", True, {"count(product_viewed, 7d)": 1}),
    ]
    assert root.children[2].values == {"attr.a": None}
    assert "[x] or" in root.lines()[0]
    assert out.to_dict()["clauses"]["children"][0]["text"] == "orders_count >= 5"
    missing = explain(rule, shop.ctx, "nobody", run)
    assert not missing.found and not missing.result


def test_every_builtin_trait_parses_checks_and_compiles() -> None:
    from segmint.core.traits import default_catalog

    catalog = default_catalog()
    assert len(catalog) > 20
    traits = ibis.table({"customer_id": "string", **{s.name: s.dtype for s in catalog}}, name="traits")
    ctx = CompileContext(
        customers=unbound("customers"), events=unbound("events"), traits=traits, as_of=AS_OF, catalog=catalog
    )
    tests = {
        "number": "{} >= 0",
        "integer": "{} >= 0",
        "text": "{} = 'x'",
        "boolean": "{}",
        "timestamp": "{} >= -30d",
        "date": "{} < '2000-01-01'",
        "list": "{} contains 'x'",
    }
    for spec in catalog:
        for template in (tests[spec.type_name], "{} is present"):
            rule = parse(template.format(spec.name))
            typed = check(rule, ctx.check_context())
            assert typed.fields[("customer", (spec.name,))].source == "trait"
            sql = ibis.to_sql(compile_rule(typed, ctx), dialect="duckdb")
            assert f'"{spec.name}"' in sql
