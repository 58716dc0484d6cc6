"""Webhook signatures, retries with backoff, dead deliveries, manual retry and surviving a restart."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx

from segmint.adapters.webhooks import RetryPolicy, sign, verify
from segmint.api.app import create_app
from segmint.live.service import ServiceSettings

from .support import Receiver, ThreadServer, free_port, make_workspace

VIEWERS = "name: viewers\nfamily: behavioral\nrule: count(product_viewed, 1h) >= 1\n"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_signature_is_hmac_sha256_of_time_and_body():
    header = sign("whsec_k", b'{"a":1}', timestamp=1_700_000_000)
    # hmac.new(b"whsec_k", b'1700000000.{"a":1}', sha256) computed independently:
    import hashlib
    import hmac

    expected = hmac.new(b"whsec_k", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify("whsec_k", b'{"a":1}', header, now=1_700_000_100)
    assert not verify("whsec_k", b'{"a":2}', header, now=1_700_000_100)  # body changed
    assert not verify("whsec_k", b'{"a":1}', header, now=1_700_001_000)  # replayed too late
    assert not verify("whsec_k", b'{"a":1}', "garbage")


def test_backoff_doubles_and_is_capped():
    policy = RetryPolicy(base_s=2, cap_s=60)
    for attempts, raw in ((1, 2), (2, 4), (3, 8), (5, 32), (6, 60), (12, 60)):
        assert raw * 0.8 <= policy.delay(attempts) <= raw * 1.2


def _view(client, tokens, message_id: str, user: str) -> None:
    t = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    r = client.post(
        "/v1/track",
        json={"messageId": message_id, "userId": user, "event": "Product Viewed", "timestamp": t},
        headers=bearer(tokens["ingest"]),
    )
    assert r.status_code == 200


def test_failed_deliveries_are_retried_then_delivered(tmp_path):
    tokens = make_workspace(tmp_path / "shop", {"viewers": VIEWERS})
    settings = ServiceSettings(retry=RetryPolicy(base_s=0.05, cap_s=0.2, max_attempts=5))
    app = create_app(tmp_path / "shop", settings=settings)
    with (
        Receiver(fail_first=2) as receiver,
        ThreadServer(app) as srv,
        httpx.Client(base_url=srv.url, timeout=10) as client,
    ):
        hook = client.post("/v1/webhooks", json={"url": receiver.url}, headers=bearer(tokens["admin"])).json()
        _view(client, tokens, "m1", "u1")
        got = receiver.wait_for(1)
        assert len(got) == 1 and got[0]["json"]["customer_id"] == "u1"
        time.sleep(0.5)
        items = client.get(
            f"/v1/webhooks/{hook['webhook_id']}/deliveries", headers=bearer(tokens["read"])
        ).json()
        [item] = items["deliveries"]
        assert item["status"] == "delivered" and item["attempts"] == 3 and item["last_status"] == 200


def test_dead_delivery_is_visible_and_can_be_retried(tmp_path):
    tokens = make_workspace(tmp_path / "shop", {"viewers": VIEWERS})
    settings = ServiceSettings(retry=RetryPolicy(base_s=0.02, cap_s=0.05, max_attempts=2))
    app = create_app(tmp_path / "shop", settings=settings)
    with (
        Receiver(fail_first=2) as receiver,
        ThreadServer(app) as srv,
        httpx.Client(base_url=srv.url, timeout=10) as client,
    ):
        hook = client.post("/v1/webhooks", json={"url": receiver.url}, headers=bearer(tokens["admin"])).json()
        _view(client, tokens, "m1", "u1")
        url = f"/v1/webhooks/{hook['webhook_id']}/deliveries"
        deadline = time.monotonic() + 10
        dead = []
        while not dead and time.monotonic() < deadline:
            dead = client.get(url, params={"status": "dead"}, headers=bearer(tokens["read"])).json()[
                "deliveries"
            ]
            time.sleep(0.05)
        assert len(dead) == 1 and dead[0]["attempts"] == 2 and dead[0]["last_error"] == "HTTP 500"
        assert receiver.received == []
        r = client.post(f"{url}/{dead[0]['delivery_id']}/retry", headers=bearer(tokens["admin"]))
        assert r.status_code == 202
        assert len(receiver.wait_for(1)) == 1


def test_pending_deliveries_survive_a_restart(tmp_path):
    tokens = make_workspace(tmp_path / "shop", {"viewers": VIEWERS})
    port = free_port()  # nothing listens here during the first run: every attempt fails
    settings = ServiceSettings(retry=RetryPolicy(base_s=0.05, cap_s=0.1, max_attempts=1000))
    app = create_app(tmp_path / "shop", settings=settings)
    with ThreadServer(app) as srv, httpx.Client(base_url=srv.url, timeout=10) as client:
        url = f"http://127.0.0.1:{port}/hook"
        client.post("/v1/webhooks", json={"url": url}, headers=bearer(tokens["admin"]))
        _view(client, tokens, "m1", "u1")
        _view(client, tokens, "m2", "u2")
        time.sleep(0.5)
    with Receiver(port=port) as receiver, ThreadServer(create_app(tmp_path / "shop", settings=settings)):
        got = receiver.wait_for(2)
        assert sorted(g["json"]["customer_id"] for g in got) == ["u1", "u2"]
