"""Keys, scopes and request validation: 401 without a key, 403 without the scope, 400 with the failing
field, 413 over the size limit."""

from __future__ import annotations

import base64

import httpx
import pytest

from segmint.api.app import create_app
from segmint.live.service import ServiceSettings

from .support import ThreadServer, make_workspace


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("auth") / "shop"
    tokens = make_workspace(root)
    app = create_app(root, settings=ServiceSettings(max_body_bytes=2_000))
    with ThreadServer(app) as srv, httpx.Client(base_url=srv.url, timeout=10) as client:
        yield client, tokens


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


TRACK = {"messageId": "m1", "userId": "u1", "event": "Product Viewed"}


def test_no_key_is_401(server):
    client, _ = server
    r = client.post("/v1/track", json=TRACK)
    assert r.status_code == 401
    assert "API key is required" in r.json()["detail"]
    assert client.post("/v1/track", json=TRACK, headers=bearer("sgm_nope_nope")).status_code == 401


def test_wrong_scope_is_403(server):
    client, tokens = server
    r = client.post("/v1/track", json=TRACK, headers=bearer(tokens["read"]))
    assert r.status_code == 403 and "'ingest' scope" in r.json()["detail"]
    assert client.get("/v1/changes", headers=bearer(tokens["ingest"])).status_code == 403
    assert (
        client.post(
            "/v1/webhooks", json={"url": "http://127.0.0.1:9/x"}, headers=bearer(tokens["read"])
        ).status_code
        == 403
    )
    # admin includes the other scopes
    assert client.get("/v1/changes", headers=bearer(tokens["admin"])).status_code == 200


def test_basic_auth_with_write_key_like_segment_libraries(server):
    client, tokens = server
    basic = base64.b64encode(f"{tokens['ingest']}:".encode()).decode()
    r = client.post(
        "/v1/track", json={**TRACK, "messageId": "basic"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert r.status_code == 200 and r.json()["stored"] == 1


def test_invalid_bodies_are_400_with_the_field(server):
    client, tokens = server
    r = client.post(
        "/v1/track", json={"messageId": "x", "event": "Product Viewed"}, headers=bearer(tokens["ingest"])
    )
    assert r.status_code == 400 and "userId or anonymousId" in r.json()["message"]
    r = client.post("/v1/track", json={"userId": "u"}, headers=bearer(tokens["ingest"]))
    assert r.status_code == 400 and any(p["at"] == "event" for p in r.json()["detail"])
    r = client.post(
        "/v1/batch", json={"batch": [{"type": "group", "userId": "u"}]}, headers=bearer(tokens["ingest"])
    )
    assert r.status_code == 400
    r = client.post("/v1/batch", content=b"{not json", headers=bearer(tokens["ingest"]))
    assert r.status_code == 400 and "JSON" in r.json()["message"]
    r = client.post("/v1/track", content=b"[1,2]", headers=bearer(tokens["ingest"]))
    assert r.status_code == 400
    r = client.post(
        "/v1/track", json={**TRACK, "timestamp": "yesterday-ish"}, headers=bearer(tokens["ingest"])
    )
    assert r.status_code == 400 and any(p["at"] == "timestamp" for p in r.json()["detail"])


def test_oversized_payload_is_413(server):
    client, tokens = server
    big = {**TRACK, "properties": {"blob": "x" * 5_000}}
    r = client.post("/v1/track", json=big, headers=bearer(tokens["ingest"]))
    assert r.status_code == 413

    def chunks():  # no Content-Length: the limit still holds while streaming
        for _ in range(10):
            yield b" " * 500

    r = client.post("/v1/track", content=chunks(), headers=bearer(tokens["ingest"]))
    assert r.status_code == 413


def test_keys_over_http_create_and_revoke(server):
    client, tokens = server
    r = client.post("/v1/keys", json={"name": "pos", "scopes": ["ingest"]}, headers=bearer(tokens["admin"]))
    assert r.status_code == 201
    new = r.json()
    assert new["token"].startswith("sgm_") and new["scopes"] == ["ingest"]
    listed = client.get("/v1/keys", headers=bearer(tokens["admin"])).json()["keys"]
    assert "token" not in listed[0] and "token_sha256" not in listed[0]
    ok = client.post("/v1/track", json={**TRACK, "messageId": "k1"}, headers=bearer(new["token"]))
    assert ok.status_code == 200
    assert client.delete(f"/v1/keys/{new['key_id']}", headers=bearer(tokens["admin"])).json()["revoked_at"]
    assert (
        client.post("/v1/track", json={**TRACK, "messageId": "k2"}, headers=bearer(new["token"])).status_code
        == 401
    )
    bad = client.post("/v1/keys", json={"name": "x", "scopes": ["root"]}, headers=bearer(tokens["admin"]))
    assert bad.status_code == 400 and "unknown scope" in bad.json()["message"]


def test_second_service_on_the_same_workspace_gets_a_clear_error(tmp_path):
    from segmint.errors import SegmintError
    from segmint.live.service import Service

    root = tmp_path / "one"
    make_workspace(root)
    import subprocess
    import sys

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,time; c=duckdb.connect({str(root / 'segmint.duckdb')!r}); print('ok', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout.readline().strip() == b"ok"
        with pytest.raises(SegmintError, match="in use by another process"):
            Service(root)
    finally:
        holder.kill()
        holder.wait()
