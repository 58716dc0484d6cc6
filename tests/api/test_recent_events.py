"""The in-memory recent-events cache behind profile lookups stays exact when loads race with commits."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from segmint.live.recent_events import RecentEvents

T = datetime(2025, 1, 1)


def ev(i: int) -> dict:
    return {"event_id": f"e{i}", "occurred_at": T + timedelta(minutes=i)}


def test_miss_loads_then_commits_append_newest_first():
    cache = RecentEvents(depth=3)
    db = {"u1": [ev(1), ev(2)]}
    calls = []

    def load(cid, n):
        calls.append((cid, n))
        return sorted(db.get(cid, []), key=lambda e: e["occurred_at"], reverse=True)[:n]

    assert [e["event_id"] for e in cache.get("u1", 5 - 2, load)] == ["e2", "e1"]
    cache.append({"u1": [ev(5), ev(4)], "u2": [ev(9)]})  # u2 is not cached: ignored
    assert [e["event_id"] for e in cache.get("u1", 3, load)] == ["e5", "e4", "e2"]
    assert calls == [("u1", 3)]  # the second lookup was served from memory
    assert cache.wanted({"u1", "u2"}) == {"u1"}
    assert [e["event_id"] for e in cache.get("u1", 10, load)] == ["e2", "e1"]  # deeper than kept: database


def test_commit_during_load_is_not_lost_nor_doubled():
    cache = RecentEvents(depth=5)

    def load(cid, n):
        # While the database is read, a commit lands with one event the read sees and one it does not.
        cache.append({cid: [ev(3), ev(4)]})
        return [ev(3), ev(1)]

    assert [e["event_id"] for e in cache.get("u1", 5, load)] == ["e4", "e3", "e1"]


def test_least_recently_used_customers_are_dropped():
    cache = RecentEvents(depth=2, max_customers=2)
    for cid in ("a", "b", "c"):
        cache.get(cid, 1, lambda c, n: [ev(1)])
    assert cache.wanted({"a", "b", "c"}) == {"b", "c"}


def test_forget_drops_an_entry_and_a_load_in_flight():
    cache = RecentEvents(depth=5)
    cache.get("u1", 5, lambda c, n: [ev(1)])
    cache.forget({"u1"})
    assert cache.wanted({"u1"}) == set()

    def load(cid, n):
        cache.forget({cid})  # an identify commits while the old past is being read
        return [ev(1)]

    assert [e["event_id"] for e in cache.get("u2", 5, load)] == ["e1"]
    assert cache.wanted({"u2"}) == set()  # the stale result was not kept


def test_complete_mode_answers_from_memory_only():
    cache = RecentEvents(depth=2, max_customers=10)
    cache.preload({"u1": [ev(1), ev(2), ev(3)]})
    never = lambda c, n: (_ for _ in ()).throw(AssertionError("no database read expected"))  # noqa: E731
    assert [e["event_id"] for e in cache.get("u1", 2, never)] == ["e3", "e2"]
    assert cache.get("nobody", 2, never) == []
    cache.append({"new": [ev(7)]})  # first seen after the preload: kept
    assert [e["event_id"] for e in cache.get("new", 2, never)] == ["e7"]
    cache.forget({"u1"})  # its past changed: the next lookup reads the database once
    assert [e["event_id"] for e in cache.get("u1", 2, lambda c, n: [ev(1), ev(9)])] == ["e9", "e1"]
    assert [e["event_id"] for e in cache.get("u1", 2, never)] == ["e9", "e1"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 5), max_size=12),
    st.lists(st.integers(0, 5), min_size=1, max_size=12),
    st.lists(st.integers(0, 11), max_size=3),
)
def test_merging_new_events_equals_sorting_everything(old, new, repeated) -> None:
    """Event ids are unique; a commit may repeat an event the entry holds (same time and id)."""
    from segmint.live.recent_events import _newest, _prepend

    def event(t: int, i: int) -> dict:
        return {"occurred_at": datetime(2024, 1, 1, 0, t), "event_id": f"e{i:02d}"}

    entry = _newest([event(t, i) for i, t in enumerate(old)], 6)
    fresh = [event(t, 50 + i) for i, t in enumerate(new)] + [entry[r] for r in repeated if r < len(entry)]
    assert _prepend(fresh, entry, 6) == _newest(entry + fresh, 6)
