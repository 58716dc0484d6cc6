"""The live service behind its storage seam: DuckDB only (refused clearly otherwise), the change log read
by one use case for the API and the stream, and profile reads that stitch as the rule says."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
import pyarrow as pa
import pytest

from segmint.adapters.duckdb_handle import NotDuckDB, duckdb_connection
from segmint.adapters.engines import EngineSpec
from segmint.adapters.ingest_store import IngestStore
from segmint.adapters.workspace import Workspace
from segmint.api.app import create_app
from segmint.batch.changes import changes_after
from segmint.core.schema import CHANGES
from segmint.errors import SegmintError
from segmint.live.service import Service

from .support import ThreadServer, make_workspace

T = datetime(2025, 3, 1, 12)
HOSTILE = "vip' OR '1'='1"


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_the_live_service_refuses_another_engine_before_starting_anything(tmp_path) -> None:
    root = tmp_path / "spark-shop"
    root.mkdir()
    (root / "segmint.toml").write_text('[workspace]\nname = "s"\n[engine]\nkind = "pyspark"\n')
    started = time.monotonic()
    with pytest.raises(SegmintError, match="DuckDB only") as caught:
        Service(root)
    assert isinstance(caught.value, NotDuckDB)
    assert "'pyspark'" in caught.value.message and 'kind = "duckdb"' in caught.value.message
    assert time.monotonic() - started < 5, "refused from the settings, without starting Spark"
    assert list(root.iterdir()) == [root / "segmint.toml"], "nothing was created"


def test_the_duckdb_handle_is_refused_for_another_engine() -> None:
    """An engine given another way than segmint.toml (a workspace already open on it)."""
    other = SimpleNamespace(con=SimpleNamespace(name="postgres"), engine=EngineSpec(kind="ibis"))
    with pytest.raises(NotDuckDB, match="DuckDB only, and this workspace's engine is 'ibis'"):
        duckdb_connection(other)
    with pytest.raises(NotDuckDB):
        IngestStore(other)


def _changes(rows: list[tuple[int, str, str, str]]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "seq": seq,
                "segment": segment,
                "customer_id": cid,
                "kind": kind,
                "at": T + timedelta(minutes=seq),
                "segment_version": 1,
                "cause": "event",
            }
            for seq, segment, cid, kind in rows
        ],
        schema=CHANGES.schema.to_pyarrow(),
    )


LOG = [(1, "vip", "c1", "entered"), (2, "buyers", "c2", "entered"), (3, "vip", "c1", "exited")]


def test_changes_after_reads_any_workspace_in_order(workspace: Workspace) -> None:
    workspace.store.append("changes", _changes(LOG))
    assert [c["seq"] for c in changes_after(workspace, 0, 10)] == [1, 2, 3]
    assert [c["seq"] for c in changes_after(workspace, 1, 1)] == [2]
    assert [c["seq"] for c in changes_after(workspace, 0, 10, "vip")] == [1, 3]
    assert changes_after(workspace, 0, 10, "") == changes_after(workspace, 0, 10)
    assert changes_after(workspace, 0, 10, HOSTILE) == []
    assert changes_after(workspace, 3, 10) == []
    first = changes_after(workspace, 0, 1)[0]
    assert first == {
        "seq": 1,
        "segment": "vip",
        "customer_id": "c1",
        "kind": "entered",
        "at": (T + timedelta(minutes=1)).isoformat(),
        "segment_version": 1,
        "cause": "event",
    }


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "shop"
    tokens = make_workspace(root)
    with Workspace.open(root) as ws:
        ws.store.append("changes", _changes(LOG))
    with ThreadServer(create_app(root)) as server:
        yield server, tokens


def test_change_log_and_stream_backlog_come_from_one_reader(served) -> None:
    server, tokens = served
    with httpx.Client(base_url=server.url, timeout=10, headers=auth(tokens["read"])) as client:
        page = client.get("/v1/changes", params={"after": 0, "limit": 2}).json()
        assert [c["seq"] for c in page["changes"]] == [1, 2] and page["next"] == 2
        assert [c["seq"] for c in client.get("/v1/changes", params={"segment": "vip"}).json()["changes"]] == [
            1,
            3,
        ]
        hostile = client.get("/v1/changes", params={"segment": HOSTILE})
        assert hostile.status_code == 200 and hostile.json() == {"changes": [], "next": 0}
        assert client.get("/v1/changes", params={"after": -1}).status_code == 400
        assert client.get("/health").json()["next_change_seq"] == 4
        ids = []
        with client.stream("GET", "/v1/changes/stream", params={"after": 1}) as stream:
            for line in stream.iter_lines():
                if line.startswith("id: "):
                    ids.append(int(line[4:]))
                if len(ids) == 2:
                    break
        assert ids == [2, 3]


def test_profile_events_follow_the_winning_link_from_memory_and_from_the_database(served) -> None:
    """A shared device linked to alice, then to bob: its events are bob's, whether the profile is
    answered from memory (20 events) or from the database (more events than are cached)."""
    server, tokens = served
    t = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=10)
    batch = [
        {
            "type": "track",
            "messageId": f"dev{i}",
            "anonymousId": "device-1",
            "event": "Product Viewed",
            "timestamp": (t + timedelta(seconds=i)).isoformat() + "Z",
        }
        for i in range(3)
    ] + [
        {"type": "identify", "messageId": "id-a", "anonymousId": "device-1", "userId": "alice",
         "timestamp": (t + timedelta(minutes=1)).isoformat() + "Z"},
        {"type": "identify", "messageId": "id-b", "anonymousId": "device-1", "userId": "bob",
         "timestamp": (t + timedelta(minutes=2)).isoformat() + "Z"},
        {"type": "track", "messageId": "own-a", "userId": "alice", "event": "Product Viewed",
         "timestamp": (t + timedelta(minutes=3)).isoformat() + "Z"},
    ]  # fmt: skip
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert (
            client.post("/v1/batch", json={"batch": batch}, headers=auth(tokens["ingest"])).status_code == 200
        )
        for events in (20, 200):
            alice = client.get(f"/v1/profiles/alice?events={events}", headers=auth(tokens["read"])).json()
            bob = client.get(f"/v1/profiles/bob?events={events}", headers=auth(tokens["read"])).json()
            assert alice["anonymous_ids"] == bob["anonymous_ids"] == ["device-1"], events
            assert [e["event_id"] for e in alice["recent_events"]] == ["own-a"], events
            assert [e["event_id"] for e in bob["recent_events"]] == ["dev2", "dev1", "dev0"], events
