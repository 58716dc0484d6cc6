"""Every ready-made segment on a hand-built shop whose members are known by construction."""

from __future__ import annotations

import pytest
from shop_fixture import AS_OF, EXPECTED, load_shop

from segmint.batch import definitions, evaluate
from segmint.core.traits import RFM_GROUPS


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    from segmint.adapters.workspace import Workspace

    ws = Workspace.init(tmp_path_factory.mktemp("lib") / "shop")
    load_shop(ws)
    definitions.install_library(ws)
    summary = evaluate.evaluate_segments(ws, AS_OF)
    members = {}
    for row in ws.table("memberships").to_pyarrow().to_pylist():
        members.setdefault(row["segment"], set()).add(row["customer_id"])
    traits = {r["customer_id"]: r for r in ws.table("traits").to_pyarrow().to_pylist()}
    yield ws, summary, members, traits
    ws.close()


def test_library_has_every_family_and_at_least_30_segments():
    defs = definitions.library_definitions()
    assert len(defs) >= 30
    families = {d.family for d in defs}
    assert families >= {"demographic", "geographic", "psychographic", "technographic", "behavioral", "needs",
                        "value", "lifecycle"}  # fmt: skip
    assert {d.name for d in defs if d.group == "rfm"} == {
        "rfm_" + g.lower().replace(" ", "_") for g in RFM_GROUPS
    }


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_ready_made_segment_members(evaluated, name):
    _, _, members, _ = evaluated
    assert members.get(name, set()) == EXPECTED[name]


def test_every_library_segment_is_covered():
    names = {d.name for d in definitions.library_definitions()}
    rfm = {d.name for d in definitions.library_definitions() if d.group == "rfm"}
    assert names - rfm == set(EXPECTED)


@pytest.mark.parametrize("group", RFM_GROUPS)
def test_rfm_segments_follow_the_rfm_grid(evaluated, group):
    _, _, members, traits = evaluated
    name = "rfm_" + group.lower().replace(" ", "_")
    assert members.get(name, set()) == {c for c, t in traits.items() if t["rfm_group"] == group}


def test_rfm_groups_partition_the_buyers(evaluated):
    _, _, members, _ = evaluated
    rfm = [members.get("rfm_" + g.lower().replace(" ", "_"), set()) for g in RFM_GROUPS]
    union = set().union(*rfm)
    assert union == {"c01", "c02", "c03", "c04", "c05", "c07"}
    assert sum(len(s) for s in rfm) == len(union)
    # c02: three recent orders, the most of anyone -> a top group; c05: oldest single small order.
    by = {c: g for g, s in zip(RFM_GROUPS, rfm, strict=True) for c in s}
    assert by["c05"] in ("Lost", "Hibernating")
    assert by["c02"] in ("Champions", "Loyal", "Potential Loyalist")


def test_summary_counts_match_memberships(evaluated):
    _, summary, members, _ = evaluated
    got = {s.name: (s.members, s.entered, s.exited) for s in summary.segments}
    for name, s in got.items():
        assert s == (len(members.get(name, set())), len(members.get(name, set())), 0)
