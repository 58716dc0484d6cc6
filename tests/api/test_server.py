"""The service end to end on loopback: events in, membership changes out (log, stream, webhooks)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from segmint.adapters.webhooks import verify
from segmint.api.app import create_app
from segmint.live.service import ServiceSettings

from .support import Receiver, ThreadServer, make_workspace

VIEWERS = "name: viewers\nfamily: behavioral\nrule: count(product_viewed, 1h) >= 2\n"
ABANDON = (
    "name: cart_abandoners\nfamily: behavioral\n"
    "rule: sequence(added_to_cart, then_not order_completed, within 2s, by cart_id)\n"
)


def iso(t: datetime) -> str:
    return t.replace(tzinfo=UTC).isoformat()


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def served(tmp_path):
    tokens = make_workspace(tmp_path / "shop", {"viewers": VIEWERS, "cart_abandoners": ABANDON})
    app = create_app(tmp_path / "shop", settings=ServiceSettings(max_body_bytes=200_000))
    with ThreadServer(app) as server, Receiver() as receiver:
        yield server, receiver, tokens


def poll(fn, timeout: float = 10.0, every: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(every)
    return fn()


def test_events_in_changes_out_webhook_signed(served):
    server, receiver, tokens = served
    with httpx.Client(base_url=server.url, timeout=10) as client:
        hook = client.post(
            "/v1/webhooks", json={"url": receiver.url, "segment": "viewers"}, headers=auth(tokens["admin"])
        )
        assert hook.status_code == 201, hook.text
        secret = hook.json()["secret"]
        t = now() - timedelta(minutes=5)
        batch = {
            "batch": [
                {
                    "type": "track",
                    "messageId": f"v{i}",
                    "userId": "u1",
                    "event": "Product Viewed",
                    "properties": {"product_id": f"p{i}"},
                    "timestamp": iso(t + timedelta(seconds=i)),
                }
                for i in range(2)
            ]
            + [
                {
                    "type": "track",
                    "messageId": "v9",
                    "userId": "u2",
                    "event": "Product Viewed",
                    "timestamp": iso(t),
                }
            ]
        }
        r = client.post("/v1/batch", json=batch, headers=auth(tokens["ingest"]))
        assert r.status_code == 200 and r.json() == {
            "success": True,
            "accepted": 3,
            "stored": 3,
            "duplicates": 0,
        }
        # A retry of the same messages is acknowledged and not stored again.
        r = client.post("/v1/batch", json=batch, headers=auth(tokens["ingest"]))
        assert r.json()["stored"] == 0 and r.json()["duplicates"] == 3

        changes = poll(
            lambda: client.get("/v1/changes", params={"after": 0}, headers=auth(tokens["read"])).json()[
                "changes"
            ]
        )
        assert [(c["segment"], c["customer_id"], c["kind"], c["cause"]) for c in changes] == [
            ("viewers", "u1", "entered", "event")
        ]
        assert changes[0]["seq"] == 1 and changes[0]["segment_version"] == 1

        got = receiver.wait_for(1)
        assert len(got) == 1
        delivery = got[0]
        assert verify(secret, delivery["body"], delivery["headers"]["X-Segmint-Signature"])
        assert not verify("whsec_wrong", delivery["body"], delivery["headers"]["X-Segmint-Signature"])
        assert delivery["json"]["customer_id"] == "u1" and delivery["json"]["kind"] == "entered"
        assert delivery["json"]["delivery_id"] == delivery["headers"]["X-Segmint-Delivery"]

        # The delivery is recorded as delivered.
        def delivered():
            items = client.get(
                f"/v1/webhooks/{hook.json()['webhook_id']}/deliveries", headers=auth(tokens["read"])
            ).json()["deliveries"]
            return items if items and items[0]["status"] == "delivered" else None

        items = poll(delivered)
        assert items[0]["attempts"] == 1 and items[0]["last_status"] == 200

        members = client.get("/v1/segments/viewers/members", headers=auth(tokens["read"])).json()
        assert [m["customer_id"] for m in members["members"]] == ["u1"]
        profile = client.get("/v1/profiles/u1", headers=auth(tokens["read"])).json()
        assert [m["segment"] for m in profile["memberships"]] == ["viewers"]
        assert [e["event_id"] for e in profile["recent_events"]] == ["v1", "v0"]
        assert client.get("/v1/profiles/nobody", headers=auth(tokens["read"])).status_code == 404


def test_change_stream_sends_new_changes(served):
    server, _receiver, tokens = served
    received: list[dict] = []

    def listen():
        with (
            httpx.Client(base_url=server.url, timeout=10) as client,
            client.stream(
                "GET", "/v1/changes/stream", params={"after": 0}, headers=auth(tokens["read"])
            ) as response,
        ):
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                if line.startswith("data: "):
                    received.append(json.loads(line[6:]))
                    return

    import threading

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    time.sleep(0.2)
    t = now() - timedelta(minutes=1)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for i in range(2):
            r = client.post(
                "/v1/track",
                json={"messageId": f"s{i}", "userId": "u7", "event": "Product Viewed", "timestamp": iso(t)},
                headers=auth(tokens["ingest"]),
            )
            assert r.status_code == 200
    listener.join(timeout=10)
    assert received and received[0]["customer_id"] == "u7" and received[0]["kind"] == "entered"


def test_cart_abandoner_enters_within_one_second_of_deadline(served):
    server, receiver, tokens = served
    with httpx.Client(base_url=server.url, timeout=10) as client:
        hook = client.post(
            "/v1/webhooks",
            json={"url": receiver.url, "segment": "cart_abandoners", "kinds": ["entered"]},
            headers=auth(tokens["admin"]),
        )
        assert hook.status_code == 201
        t0 = now()
        events = [
            {
                "type": "track",
                "messageId": "a1",
                "userId": "shopper",
                "event": "Product Added",
                "properties": {"cart_id": "c1"},
                "timestamp": iso(t0),
            },
            {
                "type": "track",
                "messageId": "b1",
                "userId": "buyer",
                "event": "Product Added",
                "properties": {"cart_id": "c2"},
                "timestamp": iso(t0),
            },
            {
                "type": "track",
                "messageId": "b2",
                "userId": "buyer",
                "event": "Order Completed",
                "properties": {"cart_id": "c2", "order_id": "o1"},
                "timestamp": iso(t0 + timedelta(seconds=1)),
            },
        ]
        assert (
            client.post("/v1/batch", json={"batch": events}, headers=auth(tokens["ingest"])).status_code
            == 200
        )
        deadline = (t0 + timedelta(seconds=2)).replace(tzinfo=UTC).timestamp()
        got = receiver.wait_for(1, timeout=10)
        assert len(got) == 1, "the abandoner never entered"
        latency = got[0]["at"] - deadline
        print(f"cart abandonment: webhook {latency * 1000:.0f} ms after the deadline")
        assert 0 <= latency <= 1.0
        assert got[0]["json"]["customer_id"] == "shopper" and got[0]["json"]["cause"] == "time"
        time.sleep(0.5)
        members = client.get("/v1/segments/cart_abandoners/members", headers=auth(tokens["read"])).json()
        assert [m["customer_id"] for m in members["members"]] == ["shopper"]


def test_identify_stitches_anonymous_past_into_profile_and_segments(served):
    server, _receiver, tokens = served
    t = now() - timedelta(minutes=2)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for i in range(2):
            r = client.post(
                "/v1/track",
                json={
                    "messageId": f"anon{i}",
                    "anonymousId": "visitor-9",
                    "event": "Product Viewed",
                    "timestamp": iso(t + timedelta(seconds=i)),
                },
                headers=auth(tokens["ingest"]),
            )
            assert r.status_code == 200
        assert client.get("/v1/profiles/alice", headers=auth(tokens["read"])).status_code == 404
        r = client.post(
            "/v1/identify",
            json={
                "messageId": "id1",
                "anonymousId": "visitor-9",
                "userId": "alice",
                "traits": {"email": "alice@example.com", "address": {"country": "FR"}, "plan": "gold"},
            },
            headers=auth(tokens["ingest"]),
        )
        assert r.status_code == 200 and r.json()["stored"] == 0  # identify is not an event
        profile = client.get("/v1/profiles/alice", headers=auth(tokens["read"])).json()
        assert profile["anonymous_ids"] == ["visitor-9"]
        assert [e["event_id"] for e in profile["recent_events"]] == ["anon1", "anon0"]
        assert profile["customer"]["email"] == "alice@example.com" and profile["customer"]["country"] == "FR"
        assert json.loads(profile["customer"]["attributes"]) == {"plan": "gold"}
