"""The membership state machine (segmint.core.segments.history) on every engine, against a pure-Python
model of what history means.

The model: a customer's membership of a segment is known at the times it was observed (a run observes
every customer, a live tick some); history is the maximal streaks of observations in which the customer
was a member, ``[first observation of the streak, next observation not a member)`` (open while the streak
reaches the latest observation). Any sequence of observations, recorded in any order, must give those
intervals; ``observe`` + ``diff`` applied to the stored intervals must reach them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import ibis
import pyarrow as pa
import pytest

from segmint.core.schema import MEMBERSHIP_HISTORY
from segmint.core.segments import history as hist

from .support import load, rows

VERSION = {"s1": 3, "s2": 1}


def day(n: float) -> datetime:
    return datetime(2025, 1, 1) + timedelta(days=n)


@dataclass(frozen=True)
class Obs:
    """Members of ``segment`` at ``at`` among ``seen`` (None: every customer, i.e. a run)."""

    at: datetime
    segment: str
    members: frozenset[str]
    seen: frozenset[str] | None = None


def obs(n: float, segment: str, members: str, seen: str | None = None) -> Obs:
    return Obs(day(n), segment, frozenset(members), None if seen is None else frozenset(seen))


# Runs of s1 on days 1, 3, 5, 7 and of s2 on days 2 and 6; a live tick on day 6 enters c into s1.
BASE = [
    obs(1, "s1", "abc"),
    obs(3, "s1", "acd"),
    obs(5, "s1", "ad"),
    obs(6, "s1", "c", seen="c"),
    obs(7, "s1", "abd"),
    obs(2, "s2", "a"),
    obs(6, "s2", "e"),
]
CUSTOMERS = "abcdef"


def model(observations: Iterable[Obs]) -> set[tuple]:
    """``(segment, customer_id, valid_from, valid_to, segment_version)`` of every streak."""
    seen: dict[tuple[str, str], dict[datetime, bool]] = {}
    for o in observations:
        for c in CUSTOMERS if o.seen is None else o.seen:
            seen.setdefault((o.segment, c), {})[o.at] = c in o.members
    out = set()
    for (segment, c), states in seen.items():
        start = None
        for t in sorted(states):
            if states[t] and start is None:
                start = t
            elif not states[t] and start is not None:
                out.add((segment, c, start, t, VERSION[segment]))
                start = None
        if start is not None:
            out.add((segment, c, start, None, VERSION[segment]))
    return out


def _history_table(intervals: set[tuple]) -> pa.Table:
    cols = ["segment", "customer_id", "valid_from", "valid_to", "segment_version"]
    return pa.Table.from_pylist(
        [dict(zip(cols, i, strict=True)) for i in sorted(intervals, key=str)],
        schema=MEMBERSHIP_HISTORY.schema.to_pyarrow(),
    )


def _key(r: dict) -> tuple:
    return (r["segment"], r["customer_id"], r["valid_from"], r["valid_to"], r["segment_version"])


@pytest.fixture(scope="session")
def stored(con):
    """The base history on the engine, and the runs it was built from."""
    runs = pa.table(
        {
            "segment": [o.segment for o in BASE if o.seen is None],
            "as_of": [o.at for o in BASE if o.seen is None],
        }
    )
    return load(con, {"history": _history_table(model(BASE)), "runs": runs}, prefix="engine_suite_")


def test_the_model_reads_as_written():
    assert model(BASE) == {
        ("s1", "a", day(1), None, 3),
        ("s1", "b", day(1), day(3), 3),
        ("s1", "b", day(7), None, 3),
        ("s1", "c", day(1), day(5), 3),
        ("s1", "c", day(6), day(7), 3),
        ("s1", "d", day(3), None, 3),
        ("s2", "a", day(2), day(6), 1),
        ("s2", "e", day(6), None, 1),
    }


# Each case observes a time among (or beyond) the stored ones; several segments at once in the last two.
CASES = {
    "between_runs": [obs(4, "s1", "bc")],
    "before_everything": [obs(0, "s1", "ae")],
    "rerun_changed": [obs(5, "s1", "abcd")],  # c's live entry on day 6 bounds it
    "rerun_same": [obs(3, "s1", "acd")],  # nothing changes
    "after_everything": [obs(9, "s1", "de")],
    "some_customers": [obs(2, "s1", "d", seen="bd")],  # a live tick among runs
    "two_segments": [obs(4, "s1", "b"), obs(4, "s2", "ae")],
}


def _next_run(segment: str, at: datetime) -> datetime | None:
    later = [o.at for o in BASE if o.segment == segment and o.seen is None and o.at > at]
    return min(later) if later else None


@pytest.mark.parametrize("case", list(CASES))
def test_observe_and_diff_reach_the_model(con, stored, case):
    new = CASES[case]
    at = new[0].at
    assert all(o.at == at for o in new)
    scope = pa.table(
        {
            "segment": [o.segment for o in new],
            "version": [VERSION[o.segment] for o in new],
            "t_next": pa.array([_next_run(o.segment, at) for o in new], pa.timestamp("us")),
        }
    )
    members = pa.table(
        {
            "segment": [o.segment for o in new for _ in o.members],
            "customer_id": [c for o in new for c in sorted(o.members)],
        },
        schema=pa.schema([("segment", pa.string()), ("customer_id", pa.string())]),
    )
    history = stored["history"].filter(stored["history"].segment.isin([o.segment for o in new]))
    seen = {o.seen for o in new} - {None}
    if seen:  # a partial observation reads the history of the customers it saw
        history = history.filter(history.customer_id.isin(sorted(set().union(*seen))))
    old, after = hist.observe(history, ibis.memtable(scope), ibis.memtable(members), at)
    delete, insert = hist.diff(old, after)
    # One query for both sides: on Spark every query re-plans (and re-runs) the whole observation.
    both = rows(
        delete.mutate(op=ibis.literal("delete")).union(insert.mutate(op=ibis.literal("insert"))), con=con
    )
    deleted = {_key(r) for r in both if r["op"] == "delete"}
    inserted = {_key(r) for r in both if r["op"] == "insert"}
    base = model(BASE)
    assert deleted <= base
    assert not inserted & (base - deleted)
    assert (base - deleted) | inserted == model([*BASE, *new])
    if case == "rerun_same":
        assert not deleted and not inserted


def test_forward_gives_entries_and_exits(con):
    current = [("s1", "a", day(1)), ("s1", "b", day(7)), ("s1", "d", day(3)), ("s2", "e", day(6))]
    members = [("s1", "d"), ("s1", "e"), ("s2", "e"), ("s2", "f"), ("s3", "a")]  # s3 is not observed
    tables = {
        "current": pa.table(
            {
                "segment": [r[0] for r in current],
                "customer_id": [r[1] for r in current],
                "since": pa.array([r[2] for r in current], pa.timestamp("us")),
                "segment_version": pa.array([VERSION[r[0]] for r in current], pa.int64()),
            }
        ),
        "members": pa.table({"segment": [m[0] for m in members], "customer_id": [m[1] for m in members]}),
        "scope": pa.table({"segment": ["s1", "s2"], "version": pa.array([4, 1], pa.int64())}),
    }
    bound = {name: ibis.memtable(data) for name, data in tables.items()}
    got = rows(hist.forward(bound["current"], bound["members"], bound["scope"], day(9)), con=con)
    assert got == [
        {
            "segment": s,
            "customer_id": c,
            "kind": k,
            "at": day(9),
            "segment_version": v,
            "since": since,
            "interval_version": 3 if k == "exited" else v,
        }  # the closed interval keeps its version
        for s, c, k, v, since in [
            ("s1", "a", "exited", 4, day(1)),  # the version evaluated now decided the exit
            ("s1", "b", "exited", 4, day(7)),
            ("s1", "e", "entered", 4, None),
            ("s2", "f", "entered", 1, None),
        ]
    ]


def _members_at(t: datetime) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for s, c, start, end, _ in model(BASE):
        if start <= t and (end is None or end > t):
            out.setdefault(c, set()).add(s)
    return out


def test_reads_of_history(con, stored):
    h, runs = stored["history"], stored["runs"]
    for n in (0, 1, 2, 3, 4.5, 5, 6, 7, 8):
        got = {(r["segment"], r["customer_id"]) for r in rows(hist.members_at(h, day(n)))}
        assert got == {(s, c) for c, segs in _members_at(day(n)).items() for s in segs}, n

    sizes = [(r["segment"], r["as_of"], r["size"]) for r in rows(hist.size_over_time(h, runs))]
    want = [
        (o.segment, o.at, sum(o.segment in segs for segs in _members_at(o.at).values()))
        for o in BASE
        if o.seen is None
    ]
    assert sizes == sorted(want)

    changes = {(r["segment"], r["customer_id"], r["kind"], r["at"]) for r in rows(hist.boundaries(h))}
    want_changes = set()
    for s, c, start, end, _ in model(BASE):
        want_changes.add((s, c, "entered", start))
        if end is not None:
            want_changes.add((s, c, "exited", end))
    assert changes == want_changes

    net = [
        (r["customer_id"], r["change"])
        for r in hist.entries_exits(h, "s1", day(1), day(7)).to_pyarrow().to_pylist()
    ]
    assert net == [("d", "entered"), ("c", "exited")]

    t1, t2 = _members_at(day(2)), _members_at(day(6))
    pairs: Counter = Counter()
    for c in set(t1) | set(t2):
        for a in t1.get(c, {hist.NONE}):
            for b in t2.get(c, {hist.NONE}):
                pairs[(a, b)] += 1
    matrix = hist.migration_matrix(h, ["s1", "s2"], day(2), day(6)).to_pyarrow().to_pylist()
    assert {(r["from_segment"], r["to_segment"]): r["customers"] for r in matrix} == dict(pairs)
