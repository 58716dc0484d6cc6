"""One identity rule (segmint.core.identity), whichever form runs it.

Random identities tables (shared devices, equal times, links without a time, as_of before, between and
after the links) must give the same anonymous id -> customer map from

* the rule written out independently here (the oracle),
* the Python form (``IdentityLinks``, what the service holds in memory),
* and the Ibis form (``identity_map``) on DuckDB.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmint.core.identity import IdentityLinks, beats, identity_map

T0 = datetime(2025, 3, 1, 12)
# Few distinct values, so ties, shared devices and re-links are common.
TIMES = [None, T0, T0 + timedelta(hours=1), T0 + timedelta(hours=1, microseconds=1), T0 + timedelta(days=2)]
AS_OFS = [
    None,
    T0 - timedelta(days=1),  # before every link: only links without a time count
    T0,  # exactly at a link: it counts (linked_at <= as_of)
    T0 + timedelta(minutes=30),  # between links
    T0 + timedelta(hours=1),
    T0 + timedelta(days=3),  # after every link
]
ANON = ["a1", "a2", "a3"]
CUSTOMERS = ["c1", "c2", "c10", "c3"]  # "c10" < "c2": the tie-break is on text, not numbers

link = st.tuples(st.sampled_from(ANON), st.sampled_from(CUSTOMERS), st.sampled_from(TIMES))
links_table = st.lists(link, max_size=12)


def oracle(rows: list[tuple[str, str, datetime | None]], as_of: datetime | None) -> dict[str, str]:
    """The rule as the docstring states it, written without the code under test: among links known at
    as_of, the one with a time beats the one without, then the latest, then the smallest customer_id."""
    out: dict[str, str] = {}
    for anon in {a for a, _, _ in rows}:
        known = [(c, t) for a, c, t in rows if a == anon and (as_of is None or t is None or t <= as_of)]
        if known:
            newest = max((t for _, t in known if t is not None), default=None)
            out[anon] = min(c for c, t in known if t == newest)
    return out


def ibis_map(con, rows, as_of) -> dict[str, str]:
    table = pa.table(
        {
            "anonymous_id": pa.array([a for a, _, _ in rows], pa.string()),
            "customer_id": pa.array([c for _, c, _ in rows], pa.string()),
            "linked_at": pa.array([t for _, _, t in rows], pa.timestamp("us")),
        }
    )
    expr = identity_map(ibis.memtable(table), as_of)
    result = con.to_pyarrow(expr).to_pylist()
    assert len(result) == len({r["anonymous_id"] for r in result}), "one row per anonymous id"
    return {r["anonymous_id"]: r["customer_id"] for r in result}


@pytest.fixture(scope="module")
def duck():
    con = ibis.duckdb.connect()
    yield con
    con.disconnect()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=links_table, as_of=st.sampled_from(AS_OFS))
def test_python_and_ibis_forms_give_the_rule(duck, rows, as_of) -> None:
    expected = oracle(rows, as_of)
    assert IdentityLinks.of(rows, as_of).customer_of == expected
    assert ibis_map(duck, rows, as_of) == expected


def test_beats_is_a_strict_total_order_on_distinct_links() -> None:
    links = [(c, t) for c in CUSTOMERS for t in TIMES]
    for a in links:
        assert not beats(*a, *a)
        for b in links:
            if a != b:
                assert beats(*a, *b) != beats(*b, *a), (a, b)
                for c in links:
                    if beats(*a, *b) and beats(*b, *c):
                        assert beats(*a, *c)
