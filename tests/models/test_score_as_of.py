"""Scoring as of an instant sees only the orders known then: a customer whose first order comes later
the same day is a prospect at that instant, not a scored buyer, and the scores are the same whether
or not the orders after the instant exist."""

from __future__ import annotations

from datetime import timedelta

import pytest

from segmint.adapters.workspace import Workspace
from segmint.demo.generate import generate_shop, generated_end, load_generated
from segmint.models import predict

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shops(tmp_path_factory):
    root = tmp_path_factory.mktemp("score")
    data = root / "data"
    generate_shop(data, 1_500, seed=11, workers=1)
    end = generated_end(data)
    full = Workspace.init(root / "full")
    load_generated(full, data)
    # An instant inside a day on which some customer placed their first order later that day.
    orders = full.table("orders")
    first = (
        orders.group_by("customer_id")
        .aggregate(first=orders.ordered_at.min())
        .filter(lambda t: (t.first.hour() >= 12) & (t.first < end - timedelta(days=30)))
        .order_by("first")
        .to_pyarrow()
        .to_pylist()
    )
    late = first[len(first) // 2]
    as_of = late["first"].replace(hour=6, minute=0, second=0, microsecond=0)
    # The same shop without anything dated after as_of.
    cut = Workspace.init(root / "cut")
    load_generated(cut, data)
    for name, column in (("orders", "ordered_at"), ("events", "occurred_at")):
        t = cut.table(name)
        cut.store.rewrite(name, t.filter(t[column] <= as_of))
    yield full, cut, as_of, late["customer_id"]
    full.close()
    cut.close()


def scores(ws: Workspace, as_of) -> dict[str, dict]:
    calibration_end = (as_of - timedelta(days=60)).date().isoformat()
    run = predict.fit_model(ws, "bgnbd", calibration_end=calibration_end)
    predict.score(ws, run["run_id"], as_of=as_of)
    p = ws.table("predictions")
    rows = p.filter(p.as_of == as_of).drop("run_id", "scored_at").to_pyarrow().to_pylist()
    return {r["customer_id"]: r for r in rows}


def test_scores_as_of_an_instant_do_not_see_later_orders(shops):
    full, cut, as_of, late = shops
    seen = scores(full, as_of)
    assert late not in seen, "a customer whose first order came after as_of was scored"
    assert seen == scores(cut, as_of)
