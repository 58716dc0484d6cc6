"""Reads never write: with the workspace's files and folders made immutable (``chattr +i``: root ignores
file modes), the reading commands work, and so does every dashboard page of ``segmint serve
--read-only``, a reporting replica that refuses ingest and every other write. The database file is
byte-for-byte unchanged afterwards."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from segmint.access.keys import create_key
from segmint.adapters.workspace import Workspace
from segmint.batch import definitions, pipeline
from segmint.demo.generate import generate_shop, generated_end, load_generated
from segmint.models import clusters, predict

pytestmark = pytest.mark.slow
CHATTR = shutil.which("chattr")


def _digest(root: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def frozen(tmp_path_factory):
    """A generated shop with runs, a cluster model and scores, then made immutable (undone at the end)."""
    if CHATTR is None or os.geteuid() != 0:
        pytest.skip("needs root and chattr (e2fsprogs) to make the workspace immutable")
    base = tmp_path_factory.mktemp("frozen")
    generate_shop(base / "data", 600, seed=9)
    end = generated_end(base / "data")
    root = base / "shop"
    with Workspace.init(root) as ws:
        load_generated(ws, base / "data")
        definitions.install_library(ws)
        pipeline.run_pipeline(ws, end - timedelta(weeks=1))
        run = predict.fit_model(ws, "bgnbd", calibration_end=end)
        predict.fit_model(ws, "gg", calibration_end=end)
        predict.score(ws, run["run_id"], end)
        pipeline.run_pipeline(ws, end)
        clusters.fit_clusters(ws, as_of=end, stability_rounds=0, k_range=range(3, 5), sample=500)
        _, token = create_key(ws.con, "reader", "read")
        member = ws.table("memberships").filter(ws.table("memberships").segment == "rfm_champions")
        customer = member.customer_id.min().to_pyarrow().as_py()
    done = subprocess.run([CHATTR, "-R", "+i", str(root)], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"this filesystem cannot make files immutable: {done.stderr.strip()}")
    before = _digest(root)
    try:
        yield {"root": root, "token": token, "customer": customer, "end": end}
        assert _digest(root) == before, "a read changed the workspace"
    finally:
        subprocess.run([CHATTR, "-R", "-i", str(root)], check=True)


def segmint(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "segmint.cli.main", *args], capture_output=True, text=True, timeout=600
    )


def test_immutable_files_cannot_be_written(frozen):
    with pytest.raises(PermissionError):
        (frozen["root"] / "segments" / "new.yaml").write_text("x")


def test_reading_commands_work_on_an_immutable_workspace(frozen, tmp_path):
    root, customer = str(frozen["root"]), frozen["customer"]
    end = frozen["end"].isoformat()
    commands = [
        ["segments", "count", "orders_count >= 2 and did product_viewed within 30d"],
        ["segments", "count", "in_segment('rfm_champions')", "--as-of", end],
        ["segments", "members", "rfm_champions"],
        ["segments", "members", "rfm_champions", "--as-of", end],
        ["explain", customer, "rfm_champions"],
        ["explain", customer, "rfm_champions", "--as-of", (frozen["end"] - timedelta(days=20)).isoformat()],
        ["segments", "kpis"],
        ["segments", "list"],
        ["report", "--out", str(tmp_path / "report.html")],
    ]
    for args in commands:
        done = segmint("-w", root, "--json", *args)
        assert done.returncode == 0, (args, done.stderr[-2000:])
        assert "Traceback" not in done.stderr
        if args[0] != "report":
            json.loads(done.stdout)
    assert (tmp_path / "report.html").stat().st_size > 100_000


def test_every_dashboard_page_of_a_read_only_server(frozen):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "segmint.cli.main",
            "-w",
            str(frozen["root"]),
            "serve",
            "--read-only",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait(proc, url)
        auth = {"Authorization": f"Bearer {frozen['token']}"}
        assert httpx.get(f"{url}/health").json()["read_only"] is True
        with httpx.Client(base_url=url, timeout=120, follow_redirects=False) as client:
            assert client.post("/login", data={"key": frozen["token"], "next": "/"}).status_code == 303
            customer = frozen["customer"]
            pages = [
                "/",
                "/segments",
                "/segments/new",
                "/segments/rfm_champions",
                f"/segments/rfm_champions?as_of={frozen['end'].isoformat()}",
                "/segments/cluster:default:1",
                "/segments/rfm_champions/export.csv",
                "/clusters",
                "/predictions",
                f"/customers/{customer}",
                "/live",
                f"/ui/explain?customer_id={customer}&segment=rfm_champions",
            ]
            for page in pages:
                got = client.get(page)
                assert got.status_code == 200, (page, got.status_code, got.text[:500])
                assert "Traceback" not in got.text
            preview = client.post("/ui/rule", json={"rule": "orders_count >= 2"})
            assert preview.status_code == 200 and preview.json()["count"] > 0
            assert client.get("/v1/segments", headers=auth).status_code == 200
            assert client.get("/v1/segments/rfm_champions/members", headers=auth).status_code == 200
            assert client.get(f"/v1/profiles/{customer}", headers=auth).status_code == 200
            # Writes are refused, with the reason, before they reach anything.
            refused = [
                client.post("/v1/track", json={"userId": "u1", "event": "Product Viewed"}, headers=auth),
                client.post("/ui/segments", json={"name": "x", "rule": "orders_count >= 1"}),
                client.delete("/v1/segments/rfm_champions", headers=auth),
            ]
            for answer in refused:
                assert answer.status_code == 403 and answer.json()["error"] == "ReadOnly", answer.text
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert "Traceback" not in proc.stderr.read().decode()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(proc: subprocess.Popen, url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the read-only server did not become healthy")
