"""History as intervals: runs at several times, in any order, give the intervals, change log, current
memberships and sizes that the membership sets at each time imply (checked against a direct
computation from the sets), and re-running a time changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmint.adapters.workspace import Workspace
from segmint.batch import evaluate, history, reads
from segmint.core.segments import history as hist
from segmint.core.segments.definition import SegmentError

T0 = datetime(2025, 1, 1)


def T(i: int) -> datetime:
    return T0 + timedelta(weeks=i)


def expected_intervals(states: dict[int, dict[str, set[str]]]) -> set[tuple]:
    """(segment, customer, valid_from, valid_to) from membership sets at run indexes, in time order."""
    out, times = set(), sorted(states)
    segments = {s for st_ in states.values() for s in st_}
    for s in segments:
        customers = set().union(*(states[t].get(s, set()) for t in times))
        for c in customers:
            start = None
            for t in times:
                inside = c in states[t].get(s, set())
                if inside and start is None:
                    start = t
                elif not inside and start is not None:
                    out.add((s, c, T(start), T(t)))
                    start = None
            if start is not None:
                out.add((s, c, T(start), None))
    return out


def stored_intervals(ws) -> set[tuple]:
    rows = ws.table("membership_history").to_pyarrow().to_pylist()
    return {(r["segment"], r["customer_id"], r["valid_from"], r["valid_to"]) for r in rows}


def stored_changes(ws) -> list[tuple]:
    rows = ws.table("changes").order_by("seq").to_pyarrow().to_pylist()
    return [(r["segment"], r["customer_id"], r["kind"], r["at"]) for r in rows]


def test_forward_runs_sizes_entries_exits_and_migration(workspace):
    ws = workspace
    states = {
        0: {"champions": {"a", "b"}, "at_risk": {"c"}},
        1: {"champions": {"a"}, "at_risk": {"b", "c"}},
        2: {"champions": {"a", "c"}, "at_risk": {"b"}},
    }
    for i, members in states.items():
        history.record_members(ws, T(i), members)
    assert stored_intervals(ws) == {
        ("champions", "a", T(0), None),
        ("champions", "b", T(0), T(1)),
        ("champions", "c", T(2), None),
        ("at_risk", "c", T(0), T(2)),
        ("at_risk", "b", T(1), None),
    }
    sizes = {(r["segment"], r["as_of"]): r["size"] for r in reads.size_over_time(ws)}
    assert sizes == {
        ("champions", T(0)): 2,
        ("champions", T(1)): 1,
        ("champions", T(2)): 2,
        ("at_risk", T(0)): 1,
        ("at_risk", T(1)): 2,
        ("at_risk", T(2)): 1,
    }

    moves = (
        hist.entries_exits(ws.table("membership_history"), "champions", T(0), T(2)).to_pyarrow().to_pylist()
    )
    assert moves == [{"customer_id": "c", "change": "entered"}, {"customer_id": "b", "change": "exited"}]
    matrix = hist.migration_matrix(ws.table("membership_history"), ["champions", "at_risk"], T(0), T(2))
    got = {(r["from_segment"], r["to_segment"]): r["customers"] for r in matrix.to_pyarrow().to_pylist()}
    assert got == {("champions", "champions"): 1, ("champions", "at_risk"): 1, ("at_risk", "champions"): 1}
    # The change log: every entry and exit, in time order.
    assert stored_changes(ws) == [
        ("at_risk", "c", "entered", T(0)),
        ("champions", "a", "entered", T(0)),
        ("champions", "b", "entered", T(0)),
        ("at_risk", "b", "entered", T(1)),
        ("champions", "b", "exited", T(1)),
        ("at_risk", "c", "exited", T(2)),
        ("champions", "c", "entered", T(2)),
    ]
    current = ws.table("memberships").to_pyarrow().to_pylist()
    assert {(r["segment"], r["customer_id"], r["since"]) for r in current} == {
        ("champions", "a", T(0)),
        ("champions", "c", T(2)),
        ("at_risk", "b", T(1)),
    }


def test_rerunning_a_time_changes_nothing(workspace):
    ws = workspace
    history.record_members(ws, T(0), {"s": {"a", "b"}})
    history.record_members(ws, T(1), {"s": {"b"}})
    snapshot = (
        ws.table("membership_history").order_by(["customer_id", "valid_from"]).to_pyarrow(),
        ws.table("changes").order_by("seq").to_pyarrow(),
        ws.table("segment_runs").order_by(["as_of"]).to_pyarrow(),
    )
    for t in (T(1), T(0), T(1)):
        history.record_members(ws, t, {"s": {"b"}} if t == T(1) else {"s": {"a", "b"}})
    assert (
        ws.table("membership_history")
        .order_by(["customer_id", "valid_from"])
        .to_pyarrow()
        .equals(snapshot[0])
    )
    assert ws.table("changes").order_by("seq").to_pyarrow().equals(snapshot[1])
    assert ws.table("segment_runs").order_by(["as_of"]).to_pyarrow().equals(snapshot[2])


def test_backfill_between_runs_splits_an_interval(workspace):
    ws = workspace
    history.record_members(ws, T(0), {"s": {"a"}})
    history.record_members(ws, T(4), {"s": {"a"}})
    history.record_members(ws, T(2), {"s": set()}, cause="backfill")
    assert stored_intervals(ws) == {("s", "a", T(0), T(2)), ("s", "a", T(4), None)}
    assert stored_changes(ws) == [
        ("s", "a", "entered", T(0)),
        ("s", "a", "exited", T(2)),
        ("s", "a", "entered", T(4)),
    ]


memberships = st.dictionaries(
    st.integers(0, 6),
    st.fixed_dictionaries({"x": st.sets(st.sampled_from("abcd")), "y": st.sets(st.sampled_from("abcd"))}),
    min_size=1,
    max_size=5,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(states=memberships, order=st.randoms())
def test_runs_in_any_order_match_runs_in_time_order(tmp_path_factory, states, order):
    ws = Workspace.init(tmp_path_factory.mktemp("h") / "shop")
    try:
        times = list(states)
        order.shuffle(times)
        for i in times:
            history.record_members(ws, T(i), states[i])
        assert stored_intervals(ws) == expected_intervals(states)
        boundaries = {(s, c, "entered", a) for s, c, a, _ in expected_intervals(states)} | {
            (s, c, "exited", b) for s, c, _, b in expected_intervals(states) if b is not None
        }
        assert set(stored_changes(ws)) == boundaries
        latest = states[max(states)]
        current = {(r["segment"], r["customer_id"]) for r in ws.table("memberships").to_pyarrow().to_pylist()}
        assert current == {(s, c) for s, ids in latest.items() for c in ids}
        sizes = {(r["segment"], r["as_of"]): r["size"] for r in reads.size_over_time(ws)}
        assert sizes == {(s, T(i)): len(states[i][s]) for i in states for s in ("x", "y")}
    finally:
        ws.close()


@pytest.mark.parametrize("bad", ["0d", "-1w"])
def test_backfill_rejects_non_positive_steps(workspace, bad):
    with pytest.raises(SegmentError):
        evaluate.backfill(workspace, T(0), T(3), bad)
