"""Re-running a time after a segment's definition changed records what the change does: the customers
the new version drops exit and the ones it adds enter, at that time, stamped with the new version; the
customers it keeps are relabelled, not re-announced. History, the change log, ``segment_runs``, the
current memberships and the counts every reader shows then agree."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from segmint.adapters.workspace import Workspace
from segmint.batch.evaluate import evaluate_segments
from segmint.batch.reads import counts, members
from segmint.core.segments import history as hist
from segmint.demo.generate import generate_shop, generated_end, load_generated

pytestmark = pytest.mark.slow

NAME = "big_spenders"


def definition(min_spent: int) -> str:
    return (
        f"name: {NAME}\nfamily: value\nrule: total_spent >= $min_spent\nparams:\n  min_spent: {min_spent}\n"
    )


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    root = tmp_path_factory.mktemp("rerun")
    data = root / "data"
    generate_shop(data, 2_000, seed=5, workers=1)
    ws = Workspace.init(root / "shop")
    load_generated(ws, data)
    end = generated_end(data)
    yield ws, end - timedelta(days=90), end
    ws.close()


def rows(expr) -> list[dict]:
    return expr.to_pyarrow().to_pylist()


def member_ids(ws: Workspace, t) -> set[str]:
    return {
        r["customer_id"]
        for r in rows(hist.members_at(ws.table("membership_history"), t))
        if r["segment"] == NAME
    }


def check_agreement(ws: Workspace, times, version_at) -> None:
    """History, changes, runs, memberships and the readers say the same thing."""
    history = ws.table("membership_history")
    history = history.filter(history.segment == NAME)
    changes = ws.table("changes")
    changes = changes.filter(changes.segment == NAME)
    logged = Counter(
        (r["customer_id"], r["kind"], r["at"], r["segment_version"])
        for r in rows(changes.select("customer_id", "kind", "at", "segment_version"))
    )
    implied = Counter(
        (r["customer_id"], r["kind"], r["at"], r["segment_version"])
        for r in rows(hist.boundaries(history).select("customer_id", "kind", "at", "segment_version"))
    )
    # Exits are stamped with the version evaluated at their time, intervals with the one that opened
    # them: compare exits by (who, when) and every stamp against the run's version.
    assert {k[:3] for k in logged} == {k[:3] for k in implied}
    assert sum(logged.values()) == len(logged), "a boundary is logged once"
    for _, _, at, version in logged:
        assert version == version_at[at], (at, version)
    for r in rows(history.select("valid_from", "segment_version")):
        assert r["segment_version"] == version_at[r["valid_from"]]
    runs = ws.table("segment_runs")
    runs = {r["as_of"]: r for r in rows(runs.filter(runs.segment == NAME))}
    for t in times:
        ids = member_ids(ws, t)
        assert runs[t]["members"] == len(ids)
        assert runs[t]["segment_version"] == version_at[t]
        assert {m["customer_id"] for m in rows(members(ws, NAME, t))} == ids
        assert counts(ws, t)[NAME] == len(ids)
    current = ws.table("memberships")
    current = rows(current.filter(current.segment == NAME))
    latest = max(times)
    assert {r["customer_id"] for r in current} == member_ids(ws, latest)
    for r in current:
        assert r["segment_version"] == version_at[r["since"]]


def test_rerunning_a_time_after_a_definition_changed(shop):
    ws, t1, t2 = shop
    path = ws.segments_dir / f"{NAME}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(definition(1000))
    for t in (t1, t2):
        evaluate_segments(ws, t, names=[NAME])
    version_at = {t1: 1, t2: 1}
    check_agreement(ws, (t1, t2), version_at)
    before = member_ids(ws, t2)
    seq_before = {r["seq"] for r in rows(ws.table("changes").select("seq"))}

    # Stricter (version 2): some members exit at t2, with version 2; nobody enters.
    path.write_text(definition(2500))
    evaluate_segments(ws, t2, names=[NAME])
    stricter = member_ids(ws, t2)
    assert stricter < before and stricter
    version_at[t2] = 2
    check_agreement(ws, (t1, t2), version_at)
    changes = ws.table("changes")
    new = rows(changes.filter(~changes.seq.isin(list(seq_before))))
    # Withdrawn entries freed the highest numbers: new changes still number after every one given,
    # or a reader whose cursor passed them would never see the new ones.
    assert min(r["seq"] for r in new) > max(seq_before)
    highest = max(r["seq"] for r in new)
    in_t1 = member_ids(ws, t1)
    # What the stricter version removed at t2, from customers who were members at t1 (those who
    # entered at t2 under version 1 lose their entry instead: they never were members).
    dropped = (before - stricter) & in_t1
    assert {(r["customer_id"], r["kind"], r["segment_version"]) for r in new} == {
        (c, "exited", 2) for c in dropped
    }
    assert all(r["at"] == t2 for r in new)

    # Looser (version 3): more members than at first; the added ones enter at t2 with version 3.
    path.write_text(definition(500))
    seq_before = {r["seq"] for r in rows(ws.table("changes").select("seq"))}
    evaluate_segments(ws, t2, names=[NAME])
    looser = member_ids(ws, t2)
    assert looser > before
    version_at[t2] = 3
    check_agreement(ws, (t1, t2), version_at)
    changes = ws.table("changes")
    new = rows(changes.filter(~changes.seq.isin(list(seq_before))))
    assert min(r["seq"] for r in new) > highest
    assert {(r["customer_id"], r["kind"], r["segment_version"]) for r in new} == {
        (c, "entered", 3) for c in looser - stricter - in_t1
    }

    # The same definition again changes nothing; a backfill of t1 under version 3 restamps t1.
    snapshot = rows(ws.table("changes").order_by("seq"))
    evaluate_segments(ws, t2, names=[NAME])
    assert rows(ws.table("changes").order_by("seq")) == snapshot
    evaluate_segments(ws, t1, names=[NAME])
    version_at[t1] = 3
    check_agreement(ws, (t1, t2), version_at)
