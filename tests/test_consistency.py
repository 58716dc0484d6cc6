"""One number everywhere: on a generated shop, every segment's member count is the same in
``segments list --json``, ``GET /v1/segments/{name}``, the dashboard's Segments page, the segment's own
page, its CSV export, the report and the Python API, and equals its number of distinct customer ids.
Checked after a run, after saving a new version from the dashboard, after a backfill, after a cluster
refit and after live events."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import segmint
from segmint.access.keys import create_key
from segmint.adapters.workspace import Workspace
from segmint.api.app import create_app
from segmint.batch import definitions, pipeline
from segmint.cli.main import main
from segmint.demo.generate import generate_shop, generated_end, load_generated
from segmint.live.service import ServiceSettings
from segmint.models import clusters
from segmint.web.app import install
from segmint.web.report import build_report

pytestmark = pytest.mark.slow

_ROW = re.compile(r'<tr data-name="([^"]+)"[^>]*>.*?<td class="num">([\d,]+)</td>', re.S)
_REPORT_ROW = re.compile(r'<tr><td><b>([^<]+)</b>.*?<td class="num">([\d,]+)</td>', re.S)
_PAGE = re.compile(r"<small>([\d,]+) members as of")


def _n(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("consistency")
    data = base / "data"
    generate_shop(data, 1200, seed=5)
    end = generated_end(data)
    with Workspace.init(base / "shop") as ws:
        load_generated(ws, data)
        definitions.install_library(ws)
        pipeline.run_pipeline(ws, end - timedelta(weeks=1))
        pipeline.run_pipeline(ws, end)
        clusters.fit_clusters(ws, as_of=end, stability_rounds=0, k_range=range(3, 5), sample=1000)
        _, read = create_key(ws.con, "reader", ["read"])
        _, admin = create_key(ws.con, "admin", ["admin"])
    return {"root": base / "shop", "end": end, "read": read, "admin": admin}


def offline(root: Path, capsys) -> dict[str, dict[str, int]]:
    """Counts from the surfaces that open the workspace themselves (the service is stopped)."""
    main(["--json", "segments", "list", "-w", str(root)])
    cli = {r["name"]: r["members"] for r in json.loads(capsys.readouterr().out)}
    with Workspace.open(root, read_only=True) as ws:
        html = build_report(ws)
        distinct = {
            r["segment"]: r["n"]
            for r in ws.table("memberships")
            .group_by("segment")
            .aggregate(n=ws.table("memberships").customer_id.nunique())
            .to_pyarrow()
            .to_pylist()
        }
    report = {name: _n(n) for name, n in _REPORT_ROW.findall(html)}
    with segmint.open(root, read_only=True) as api:
        python = dict(zip(api.segments().name, api.segments().members, strict=True))
    return {"cli": cli, "report": report, "python": python, "distinct ids": distinct}


def online(shop: dict, client: TestClient) -> dict[str, dict[str, int]]:
    """Counts from the service: the API, the dashboard pages and the CSV download."""
    auth = {"Authorization": f"Bearer {shop['read']}"}
    listed = client.get("/v1/segments", headers=auth).json()["segments"]
    names = [s["name"] for s in listed]
    api = {n: client.get(f"/v1/segments/{n}", headers=auth).json()["members"] for n in names}
    page = client.get("/segments").text
    segments_page = {name: _n(n) for name, n in _ROW.findall(page)}
    own_page, export, export_distinct = {}, {}, {}
    for name in names:
        found = _PAGE.search(client.get(f"/segments/{name}").text)
        own_page[name] = _n(found.group(1)) if found else -1
        rows = list(csv.DictReader(io.StringIO(client.get(f"/segments/{name}/export.csv").text)))
        export[name] = len(rows)
        export_distinct[name] = len({r["customer_id"] for r in rows})
    return {
        "api": api,
        "segments page": segments_page,
        "segment page": own_page,
        "csv export": export,
        "csv distinct ids": export_distinct,
    }


def agree(surfaces: dict[str, dict[str, int]], names: set[str]) -> None:
    for name in sorted(names):
        seen = {surface: counts.get(name, 0) for surface, counts in surfaces.items()}
        assert len(set(seen.values())) == 1, f"{name}: {seen}"


def check(shop: dict, capsys, during: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    after = offline(shop["root"], capsys)
    surfaces = {**during, **after}
    names = set(after["cli"])
    assert len(names) >= 48 and any(n.startswith("cluster:") for n in names)
    assert set(during["api"]) == names
    agree(surfaces, names)
    return surfaces


def serve(shop: dict, action=None, sweep: bool = False) -> dict[str, dict[str, int]]:
    """Start the service (with ``sweep``, its start-up sweep re-evaluates everyone now), sign in to the
    dashboard with an admin key, do ``action``, and read every online surface."""
    settings = ServiceSettings(sweep_interval_s=3600, sweep_on_start=sweep)
    app = create_app(shop["root"], settings=settings, configure=lambda a: install(a, warm=False))
    with TestClient(app) as client:
        login = client.post("/login", data={"key": shop["admin"], "next": "/"}, follow_redirects=False)
        assert login.status_code == 303
        if action is not None:
            action(client)
        return online(shop, client)


def test_every_surface_shows_the_same_members(shop, capsys):
    # After the runs and a cluster fit, and the service's start-up sweep.
    check(shop, capsys, serve(shop, sweep=True))

    # After saving a new version from the dashboard builder (admin scope).
    def save(client: TestClient) -> None:
        body = {"name": "rfm_champions", "family": "value", "rule": "orders_count >= 3", "new_version": True}
        saved = client.post("/ui/segments", json=body)
        assert saved.status_code == 200, saved.text

    surfaces = check(shop, capsys, serve(shop, save))
    assert surfaces["cli"]["rfm_champions"] > 0

    # After a backfill over past weeks (the CLI), then a cluster refit.
    end = shop["end"]
    main(["run", "-w", str(shop["root"]), "--from", (end - timedelta(weeks=3)).isoformat(),
          "--to", (end - timedelta(weeks=2)).isoformat(), "--every", "1w"])  # fmt: skip
    capsys.readouterr()
    check(shop, capsys, serve(shop))
    main(["cluster", "fit", "-w", str(shop["root"]), "--k", "4", "--as-of", end.isoformat()])
    capsys.readouterr()
    check(shop, capsys, serve(shop))

    # After live events: new views and orders for a few customers, evaluated by the live engine.
    def events(client: TestClient) -> None:
        ingest = client.post("/v1/keys", json={"name": "ingest", "scopes": ["ingest"]},
                             headers={"Authorization": f"Bearer {shop['admin']}"}).json()["token"]  # fmt: skip
        members = client.get(
            "/v1/segments/rfm_champions/members", headers={"Authorization": f"Bearer {shop['read']}"}
        ).json()["members"]
        ids = [m["customer_id"] for m in members[:5]] + ["brand-new-customer"]
        batch = [
            {"type": "track", "messageId": f"live-{i}-{k}", "userId": cid, "event": event,
             "properties": {"value": 120.0, "cart_id": f"cart-{cid}"}}
            for i, cid in enumerate(ids)
            for k, event in enumerate(("Product Viewed", "Product Added", "Order Completed"))
        ]  # fmt: skip
        read = {"Authorization": f"Bearer {shop['read']}"}
        before = client.app.state.service.live.next_seq - 1
        sent = client.post("/v1/batch", json={"batch": batch}, headers={"Authorization": f"Bearer {ingest}"})
        assert sent.status_code == 200, sent.text
        # The acknowledgement means committed and marked; a tick evaluates them (run here rather than
        # waiting for the live clock, which first learns the day's compiled plan; whichever runs first
        # takes the marked customers).
        service = client.app.state.service
        deadline = time.monotonic() + 120
        while service.live.has_dirty() or service.live.lag() > 0:
            assert time.monotonic() < deadline, "the live engine did not evaluate the new events"
            service.live_exec.submit(service.live.tick, datetime.now(UTC).replace(tzinfo=None)).result()
        moved = client.get(f"/v1/changes?after={before}", headers=read).json()["changes"]
        assert any(c["customer_id"] == "brand-new-customer" for c in moved), moved

    check(shop, capsys, serve(shop, events))
