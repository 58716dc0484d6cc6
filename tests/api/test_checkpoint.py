"""The writer folds the write-ahead log into the database itself once it passes the configured size."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from segmint.adapters.workspace import Workspace
from segmint.live.ingest import Ingestor
from segmint.live.tracking import Rows


def _rows(start: int, n: int) -> Rows:
    rows = Rows()
    at = datetime(2024, 5, 1, 12)
    for i in range(start, start + n):
        rows.message_ids.append(f"m{i}")
        for column, values in rows.events.items():
            values.append(
                {"event_id": f"m{i}", "customer_id": f"c{i % 7}", "name": "page_viewed"}.get(column)
            )
        rows.events["occurred_at"][-1] = at
        rows.events["received_at"][-1] = at
    return rows


def test_writer_checkpoints_past_the_threshold_and_keeps_every_event(tmp_path) -> None:
    ws = Workspace.init(tmp_path / "shop")
    writer = ThreadPoolExecutor(max_workers=1)
    ingestor = Ingestor(ws, writer)
    writer.submit(ingestor.load).result()
    assert ingestor.wal_path == f"{ws.root / 'segmint.duckdb'}.wal"
    ingestor.checkpoint_bytes = 1  # any log at all is over the threshold
    first = ingestor.submit(_rows(0, 300)).result()
    second = ingestor.submit(_rows(300, 300)).result()
    assert (first.stored, second.stored) == (300, 300)
    writer.submit(lambda: None).result()  # the checkpoint runs after the acknowledgement
    assert ingestor.checkpoints == 2
    wal = ingestor.wal_path
    assert not os.path.exists(wal) or os.path.getsize(wal) == 0
    count = writer.submit(lambda: ws.con.con.execute("SELECT count(*) FROM events").fetchone()[0]).result()
    assert count == 600
    writer.shutdown()
    ws.close()
