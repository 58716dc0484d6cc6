"""The report is one file that opens with no network and draws its charts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"


def test_report_is_self_contained(shop):
    html = shop["report"].read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?(https?:)?//", html)
    assert "Plotly" in html and len(html) > 1_000_000  # the bundle is inlined
    assert "rfm_champions" in html


@pytest.mark.browser
def test_report_opens_offline_and_draws_charts(browser, shop):
    context = browser.new_context()
    requested: list[str] = []

    def block(route):
        requested.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^(?!file:).*"), block)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(shop["report"].resolve().as_uri())
    page.wait_for_selector(".plotly .main-svg")
    assert page.locator(".chart .plotly .main-svg").count() >= 3
    assert page.locator("#segment-table tbody tr").count() >= 10
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    context.close()
    assert requested == []
    assert errors == []
