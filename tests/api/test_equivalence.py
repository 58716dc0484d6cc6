"""Batch/stream equivalence: replaying a random event stream through the live engine (ingest, ticks on
new events, timers on due times) gives the memberships a batch run computes at the same as_of, and its
history agrees with batch evaluations at times in between."""

from __future__ import annotations

import json
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest

from segmint.adapters.workspace import Workspace
from segmint.live.engine import LiveEngine
from segmint.live.evaluator import RuleEvaluator
from segmint.live.ingest import Ingestor
from segmint.live.tracking import parse_batch, to_rows

SEGMENTS = {
    "viewers": "count(product_viewed, 10m) >= 2",
    "abandoners": "sequence(added_to_cart, then_not order_completed, within 5m, by cart_id)",
    "buyers": "did order_completed within 15m",
    "big_spenders": "sum(order_completed.value, 30m) > 100",
    "shoe_browsers": "count(product_viewed where category = 'shoes', 20m) >= 1 and not did added_to_cart within 20m",
    "window_shoppers": "in_segment('viewers') and not in_segment('buyers')",
    "weekly_viewers": "product_views_7d >= 3",
}
T0 = datetime(2025, 3, 1, 12, 0, 0)
EVENTS = ("Product Viewed", "Product Viewed", "Product Added", "Order Completed")


def write_segments(ws: Workspace) -> None:
    for name, rule in SEGMENTS.items():
        (ws.segments_dir / f"{name}.yaml").write_text(f'name: {name}\nfamily: behavioral\nrule: "{rule}"\n')


def random_stream(seed: int, anonymous: bool) -> list[tuple[datetime, list[dict]]]:
    """Groups of messages sharing one timestamp, at random minutes over two hours."""
    rng = random.Random(seed)
    times = sorted(rng.sample(range(0, 90 * 60, 7), 16))
    groups = []
    n = 0
    for sec in times:
        at = T0 + timedelta(seconds=sec)
        msgs = []
        for _ in range(rng.randint(1, 4)):
            n += 1
            user = f"u{rng.randint(1, 6)}"
            event = rng.choice(EVENTS)
            props = {"cart_id": f"c{user}{rng.randint(1, 2)}", "category": rng.choice(["shoes", "hats"])}
            if event == "Order Completed":
                props["value"] = rng.choice([30, 80, 120])
            msg = {
                "type": "track",
                "messageId": f"m{n}",
                "event": event,
                "properties": props,
                "timestamp": at.isoformat() + "Z",
            }
            if anonymous and rng.random() < 0.2:
                msg["anonymousId"] = f"anon-{user}"
            else:
                msg["userId"] = user
            msgs.append(msg)
            if anonymous and rng.random() < 0.1:
                n += 1
                msgs.append(
                    {
                        "type": "identify",
                        "messageId": f"m{n}",
                        "userId": user,
                        "anonymousId": f"anon-{user}",
                        "timestamp": at.isoformat() + "Z",
                    }
                )
        groups.append((at, msgs))
    return groups


def ingest(ingestor: Ingestor, msgs: list[dict], at: datetime) -> None:
    rows = to_rows(parse_batch(json.dumps({"batch": msgs}).encode()), at)
    ingestor.submit(rows).result()


def memberships(ws: Workspace) -> set[tuple[str, str]]:
    return set(ws.con.con.execute("SELECT segment, customer_id FROM memberships").fetchall())


@pytest.mark.parametrize(("seed", "anonymous"), [(1, False), pytest.param(2, True, marks=pytest.mark.slow)])
def test_stream_equals_batch(tmp_path, seed, anonymous):
    from segmint.batch.evaluate import evaluate_segments

    groups = random_stream(seed, anonymous)
    end = groups[-1][0] + timedelta(minutes=3)

    stream_ws = Workspace.init(tmp_path / "stream")
    write_segments(stream_ws)
    writer = ThreadPoolExecutor(max_workers=1)
    evaluator = RuleEvaluator(stream_ws)
    live = LiveEngine(stream_ws, evaluator)
    ingestor = Ingestor(
        stream_ws, writer, on_commit=lambda touched, _at, dated, relinked: live.mark(touched, dated, relinked)
    )
    writer.submit(ingestor.load).result()
    writer.submit(live.load).result()
    timer_ticks = 0

    def run_timers(until: datetime) -> None:
        nonlocal timer_ticks
        while (due := live.next_due()) is not None and due <= until:
            writer.submit(live.tick, due).result()
            timer_ticks += 1

    for at, msgs in groups:
        run_timers(at)
        ingest(ingestor, msgs, at)
        writer.submit(live.tick, at).result()
    run_timers(end)
    writer.submit(live.tick, end).result()
    assert timer_ticks > 0, "the stream should need time-driven evaluations"
    stream = writer.submit(memberships, stream_ws).result()
    changes = writer.submit(
        lambda: stream_ws.con.con.execute("SELECT cause, count(*) FROM changes GROUP BY cause").fetchall()
    ).result()
    assert dict(changes).get("time", 0) > 0  # some exits/entries happened on timers alone

    batch_ws = Workspace.init(tmp_path / "batch")
    write_segments(batch_ws)
    batch_writer = ThreadPoolExecutor(max_workers=1)
    batch_ingestor = Ingestor(batch_ws, batch_writer)
    batch_writer.submit(batch_ingestor.load).result()
    ingest(batch_ingestor, [m for _, msgs in groups for m in msgs], end)
    batch_writer.submit(evaluate_segments, batch_ws, end).result()
    batch = batch_writer.submit(memberships, batch_ws).result()
    assert stream == batch
    assert batch, "the stream should end with members"
    entered = writer.submit(
        lambda: stream_ws.con.con.execute(
            "SELECT DISTINCT segment FROM changes WHERE kind = 'entered'"
        ).fetchall()
    ).result()
    assert len(entered) >= 5  # most segments had members at some point

    if not anonymous:
        # In between, the stream's history matches a batch evaluation at that time (on the same data:
        # events dated later are invisible at an earlier as_of).
        rng = random.Random(seed)
        for _ in range(5):
            t = T0 + timedelta(seconds=rng.randint(0, 95 * 60) + 0.5)
            expected = writer.submit(evaluator.members, None, t).result()
            got = writer.submit(
                lambda t=t: set(
                    stream_ws.con.con.execute(
                        "SELECT segment, customer_id FROM membership_history WHERE valid_from <= ? "
                        "AND (valid_to IS NULL OR valid_to > ?)",
                        [t, t],
                    ).fetchall()
                )
            ).result()
            assert got == expected, t
    writer.shutdown()
    batch_writer.shutdown()
    stream_ws.close()
    batch_ws.close()
