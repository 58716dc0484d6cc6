"""A small demo shop served by a real uvicorn server on 127.0.0.1, and a Chromium driven by Playwright.

The shop is built once (and reused between sessions under test-artifacts/, which build_demo checks by
size and seed), then copied per session so the tests' writes (an API key, a saved segment, the report)
never leak into the next run. Facts the tests check are computed from the database before the server
starts (the server then holds it).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def shop(tmp_path_factory) -> dict:
    """The demo shop copied into a temp folder, a read key, a report, and facts to check against."""
    from segmint.access.keys import create_key
    from segmint.adapters.workspace import Workspace
    from segmint.demo.build import build_demo
    from segmint.web.report import write_report

    prebuilt = os.environ.get("SEGMINT_WEB_TEST_SHOP")  # a demo workspace built earlier, to save time
    source = (
        Path(prebuilt)
        if prebuilt
        else build_demo(ROOT / "test-artifacts" / "web-demo", 500, seed=11).workspace
    )
    root = tmp_path_factory.mktemp("web") / "shop"
    shutil.copytree(source, root, ignore=shutil.ignore_patterns("*.wal"))
    with Workspace.open(root) as ws:
        _key, token = create_key(ws.con, "dashboard tests", "read")
        _ikey, ingest_token = create_key(ws.con, "ingest only", "ingest")
        _akey, admin_token = create_key(ws.con, "dashboard admin", "admin")
        report = write_report(ws, ARTIFACTS.parent / "report.html")
    con = duckdb.connect(str(root / "segmint.duckdb"), read_only=True)
    try:
        big = con.execute(
            "SELECT count(*) FROM traits WHERE total_spent > 500 AND orders_count >= 2"
        ).fetchone()[0]
        member = con.execute(
            "SELECT customer_id, segment FROM memberships WHERE segment = 'high_spenders' ORDER BY customer_id LIMIT 1"
        ).fetchone()
        customers = con.execute("SELECT count(*) FROM customers").fetchone()[0]
    finally:
        con.close()
    return {
        "root": root,
        "token": token,
        "ingest_token": ingest_token,
        "admin_token": admin_token,
        "report": report,
        "big_spenders": big,
        "member": member,
        "customers": customers,
    }


@pytest.fixture(scope="session")
def server(shop) -> str:
    """The service with the dashboard on a random free port; its base URL."""
    import uvicorn

    from segmint.api.app import create_app
    from segmint.live.service import ServiceSettings
    from segmint.web.app import install

    # The start-up sweep re-evaluates live segments; the dashboard does not depend on it.
    app = create_app(shop["root"], configure=install, settings=ServiceSettings(sweep_on_start=False))
    shop["app"] = app  # tests look at its cache and warmer
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("the dashboard server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright into .venv")
    with sync_api.sync_playwright() as pw:
        # Playwright gives every launch a fresh, temporary --user-data-dir (it refuses one in args).
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser context and page that records console errors and uncaught exceptions."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.errors = []
    page.on("console", lambda msg: page.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    yield page
    context.close()


@pytest.fixture
def signed_in(page, server, shop):
    page.goto(f"{server}/login")
    page.fill("input[name=key]", shop["token"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")
    return page
