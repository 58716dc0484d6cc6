"""An explanation computed from one customer's rows (stored traits, or traits restricted to that
customer) is exactly the one computed over every customer with the whole trait catalog, for segments
of every kind, at the time of the stored traits and at a time they are not valid for."""

from __future__ import annotations

import math
import re
from datetime import timedelta

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pytest
from shop_fixture import AS_OF, load_shop

from segmint.adapters.workspace import Workspace
from segmint.batch import definitions
from segmint.batch.evaluate import compile_context, evaluate_segments
from segmint.batch.explain import explain
from segmint.batch.reads import segment_members_at
from segmint.batch.traits import (
    compute_traits,
    restrict,
    restricted_tables,
    restricted_traits,
    stored_traits,
    trait_settings,
    trait_sources,
    workspace_catalog,
)
from segmint.core.rules import explain as core_explain
from segmint.core.traits import trait_table
from segmint.demo.generate import generate_shop, generated_end, load_generated

pytestmark = pytest.mark.slow

IN_SEGMENT = """\
name: abandoning_buyers
family: behavioral
description: Repeat buyers who abandoned a checkout.
rule: in_segment('checkout_abandoners') and orders_count >= 2
"""

# A value segment ranked against the whole base, behavioral ones on an event trait and on a raw-event
# sequence, product categories, survey attributes, in_segment.
SEGMENTS = (
    "rfm_champions",
    "cart_abandoners",
    "checkout_abandoners",
    "category_affinity",
    "outdoor_enthusiasts",
    "abandoning_buyers",
)


def same(a, b) -> bool:
    """Equal, floats up to the last bits: a share summed over a customer's rows alone may add them in
    another order than the same sum in a query over everyone (0.7364243056388861 vs ...862)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, str) and isinstance(b, str) and a != b:  # an explanation line with a share in it
        return a.split("=")[0] == b.split("=")[0] and _floats(a) == pytest.approx(_floats(b), rel=1e-12)
    return a == b


def _floats(line: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", line)]


def full_explanation(ws: Workspace, customer_id: str, segment: str, t, traits: ir.Table) -> dict:
    """The explanation over every customer: unrestricted tables and the whole catalog's traits."""
    defs = {d.name: d for d in definitions.load_definitions(ws)}
    rule = definitions.resolve_rule(defs[segment])
    catalog = workspace_catalog(ws)
    ctx = compile_context(traits, ws.tables(), t, catalog, lambda name: segment_members_at(ws, name, t))

    def execute(expr):
        rows = expr.to_pyarrow().to_pylist()
        return rows[0] if rows else None

    result = core_explain(rule, ctx, customer_id, execute)
    return {"segment": segment, **result.to_dict(), "lines": result.root.lines()}


def every_trait(ws: Workspace, t) -> ir.Table:
    """Every customer's traits at ``t``, computed over the whole base and kept in memory."""
    expr = trait_table(trait_sources(ws), t, workspace_catalog(ws), trait_settings(ws))
    return ibis.memtable(expr.to_pyarrow(), schema=expr.schema())


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    base = tmp_path_factory.mktemp("explain_restricted")
    generate_shop(base / "data", 400, seed=7, workers=1)
    end = generated_end(base / "data")
    earlier = end - timedelta(days=30)
    ws = Workspace.init(base / "shop")
    load_generated(ws, base / "data")
    definitions.install_library(ws)
    (ws.segments_dir / "abandoning_buyers.yaml").write_text(IN_SEGMENT)
    for t in (earlier, end):  # in_segment reads the referenced segment's membership then
        evaluate_segments(ws, t, names=["checkout_abandoners"])
    compute_traits(ws, end)  # stored traits valid at `end`, not at `earlier`
    yield ws, end, earlier
    ws.close()


def customers_of_interest(ws: Workspace, end) -> list[str]:
    """A champion, someone who never bought, someone with stitched anonymous events, a checkout
    abandoner and the newest customer."""
    traits = ws.table("traits")
    picks = []
    for expr in (
        traits.filter(traits.rfm_group == "Champions").order_by("customer_id"),
        traits.filter(traits.orders_count == 0).order_by("customer_id"),
    ):
        picks.append(expr.select("customer_id").limit(1).to_pyarrow().column(0)[0].as_py())
    ids = ws.table("identities")
    events = ws.table("events")
    linked = events.filter(events.customer_id.isnull()).inner_join(ids, "anonymous_id")
    picks.append(
        linked.select(ids.customer_id).order_by("customer_id").limit(1).to_pyarrow().column(0)[0].as_py()
    )
    members = segment_members_at(ws, "checkout_abandoners", end - timedelta(days=30)).order_by("customer_id")
    first = members.limit(1).to_pyarrow().column(0).to_pylist()
    picks.extend(first)
    customers = ws.table("customers")
    newest = customers.order_by([ibis.desc("created_at"), "customer_id"]).select("customer_id").limit(1)
    picks.append(newest.to_pyarrow().column(0)[0].as_py())
    return list(dict.fromkeys(p for p in picks if p is not None))


def test_restricted_tables_hold_exactly_the_rows_restrict_keeps(shop):
    ws, end, _ = shop
    sources = trait_sources(ws)
    for cid in customers_of_interest(ws, end):
        lazy = restrict(sources, ibis.memtable(pa.table({"customer_id": pa.array([cid], pa.string())})))
        read = restricted_tables(ws, [cid])
        for name in ("customers", "orders", "order_lines", "events", "identities"):
            want = sorted(lazy[name].to_pyarrow().to_pylist(), key=repr)
            got = sorted(read[name].to_pyarrow().to_pylist(), key=repr)
            assert got == want, (cid, name)


def test_restricted_traits_equal_the_full_run(shop):
    """Every trait of the catalog (what ``profile`` shows), from the customer's rows alone."""
    ws, end, earlier = shop
    every = every_trait(ws, earlier)
    for cid in customers_of_interest(ws, end):
        traits, _ = restricted_traits(ws, earlier, [cid], workspace_catalog(ws))
        want = every.filter(every.customer_id == cid).to_pyarrow().to_pylist()
        assert same(traits.to_pyarrow().to_pylist(), want), cid


def test_explanations_equal_the_full_computation(shop):
    ws, end, earlier = shop
    assert stored_traits(ws, end) is not None and stored_traits(ws, earlier) is None
    for t in (end, earlier):  # stored traits, then traits restricted to the customer
        every = every_trait(ws, t)
        for cid in customers_of_interest(ws, end):
            for segment in SEGMENTS:
                got = explain(ws, cid, segment, t)
                want = full_explanation(ws, cid, segment, t, every)
                assert same(got, want), (cid, segment, t, got, want)


def test_predictive_explanations_equal_the_full_computation(tmp_path):
    """The hand-built shop has model scores: the CLV percentile ranks against every scored customer."""
    with Workspace.init(tmp_path / "shop") as ws:
        load_shop(ws)
        definitions.install_library(ws)
        every = every_trait(ws, AS_OF)
        for segment in ("predicted_clv_top", "predicted_high_churn_risk"):
            for cid in ("c02", "c05", "c07"):
                got = explain(ws, cid, segment, AS_OF)
                want = full_explanation(ws, cid, segment, AS_OF, every)
                assert same(got, want), (cid, segment, got, want)
