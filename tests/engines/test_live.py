"""The live engine's evaluator on a workspace of each engine: restricted to a few customers (a live tick)
and over everyone (a sweep) it finds the members a batch run finds. The live engine is DuckDB only;
on other engines this is a declared gap (known_gaps.py), not a silent skip."""

from __future__ import annotations

import pytest

from segmint.adapters.workspace import Workspace
from segmint.batch.definitions import install_library
from segmint.live.evaluator import RuleEvaluator

from .shop import AS_OF, EXPECTED, shop_tables

pytestmark = pytest.mark.engine_feature("live")

TICK = ["c11", "c12", "c13", "c14", "c15", "c16", "c17", "nobody"]


@pytest.fixture
def live(con, tmp_path):
    with Workspace.init(tmp_path / "shop", engine=con.name) as ws:
        for name, data in shop_tables().items():
            ws.store.append(name, data)
        install_library(ws)
        evaluator = RuleEvaluator(ws)
        yield evaluator
        evaluator.close()


def test_live_tick_and_sweep_find_the_batch_members(live):
    expected = {(segment, c) for segment, members in EXPECTED.items() for c in members}
    assert live.members(TICK, AS_OF) == {(s, c) for s, c in expected if c in TICK}
    assert live.members(None, AS_OF) == expected
