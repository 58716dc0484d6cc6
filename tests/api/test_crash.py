"""kill -9 at any moment loses no acknowledged event and stores no event twice."""

from __future__ import annotations

import random
import threading
import time

import duckdb
import httpx
import pytest

from .support import ProcessServer, make_workspace

VIEWERS = "name: viewers\nfamily: behavioral\nrule: count(product_viewed, 1h) >= 3\n"


class LoadGenerator:
    """Senders posting batches of new messages; an unanswered batch is retried after the restart (as a
    client library would), so retries of possibly stored messages are exercised too."""

    def __init__(self, url: str, token: str, senders: int = 4, batch: int = 50) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"}
        self.senders = senders
        self.batch = batch
        self.acked: set[str] = set()
        self.unanswered: list[list[dict]] = []
        self.lock = threading.Lock()
        self.counter = 0
        self.stop = threading.Event()

    def _next_batch(self) -> list[dict]:
        with self.lock:
            if self.unanswered:
                return self.unanswered.pop()
            start = self.counter
            self.counter += self.batch
        return [
            {
                "type": "track",
                "messageId": f"crash-{i}",
                "userId": f"u{i % 97}",
                "event": "Product Viewed",
                "properties": {"product_id": f"p{i % 13}"},
            }
            for i in range(start, start + self.batch)
        ]

    def _send(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self.stop.is_set():
                batch = self._next_batch()
                try:
                    r = client.post(self.url + "/v1/batch", json={"batch": batch}, headers=self.headers)
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                with self.lock:
                    if ok:
                        self.acked.update(m["messageId"] for m in batch)
                    else:
                        self.unanswered.append(batch)
                if not ok:
                    time.sleep(0.05)

    def run_for(self, seconds: float) -> None:
        self.stop.clear()
        threads = [threading.Thread(target=self._send) for _ in range(self.senders)]
        for t in threads:
            t.start()
        time.sleep(seconds)
        self.stop.set()
        for t in threads:
            t.join(timeout=10)


@pytest.mark.slow
def test_sigkill_loses_no_acknowledged_event_and_stores_none_twice(tmp_path):
    root = tmp_path / "shop"
    tokens = make_workspace(root, {"viewers": VIEWERS})
    server = ProcessServer(root)
    load = LoadGenerator(server.url, tokens["ingest"])
    rng = random.Random(7)
    kills = 0
    try:
        for _ in range(4):
            server.start()
            killer = threading.Timer(rng.uniform(0.4, 1.2), server.kill)
            killer.start()
            load.run_for(1.6)  # the kill lands while the senders are busy
            killer.join()
            kills += 1
        server.start()
        load.run_for(0.5)  # and the retries of unanswered batches after the last restart
        with load.lock:
            left = list(load.unanswered)
        with httpx.Client(timeout=10) as client:
            for batch in left:
                r = client.post(server.url + "/v1/batch", json={"batch": batch}, headers=load.headers)
                assert r.status_code == 200
                load.acked.update(m["messageId"] for m in batch)
    finally:
        server.stop()

    assert kills == 4 and len(load.acked) > 1000
    con = duckdb.connect(str(root / "segmint.duckdb"), read_only=True)
    counts = dict(con.execute("SELECT event_id, count(*) FROM events GROUP BY event_id").fetchall())
    con.close()
    missing = [m for m in load.acked if m not in counts]
    doubled = {k: v for k, v in counts.items() if v > 1}
    assert missing == []
    assert doubled == {}
    print(f"{len(load.acked)} acknowledged, {len(counts)} stored, {kills} kills")
