"""The dashboard in a real browser: every page loads without console errors and draws its charts, the
builder checks, counts and saves a segment that then shows in the list, and a customer page explains why
the customer is in a segment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"

pytestmark = pytest.mark.browser

PAGES = [
    ("overview", "/", 3),
    ("segments", "/segments", 1),
    ("segments-value", "/segments?family=value", 1),
    ("builder", "/segments/new", 0),
    ("segment-rfm", "/segments/rfm_champions", 3),
    ("segment-lifecycle", "/segments/lifecycle_active", 3),
    ("clusters", "/clusters", 1),
    ("predictions", "/predictions", 5),
    ("live", "/live", 0),
]


@pytest.mark.parametrize(("label", "path", "charts"), PAGES, ids=[p[0] for p in PAGES])
def test_page_loads_without_console_errors(signed_in, server, label, path, charts):
    page = signed_in
    response = page.goto(server + path)
    assert response.status == 200
    page.wait_for_load_state("networkidle") if label != "live" else page.wait_for_timeout(500)
    if charts:
        page.wait_for_selector(".plotly .main-svg")
        assert page.locator("[data-figure] .main-svg").count() >= charts
    page.screenshot(path=str(ARTIFACTS / f"{label}.png"), full_page=True)
    assert page.errors == []


def test_predictions_show_the_holdout_fit(signed_in, server):
    """The demo fits BG/NBD with a holdout: its cumulative tracking and its conditional expectations by
    calibration frequency are drawn, each with an actual and a model line."""
    page = signed_in
    page.goto(server + "/predictions")
    for chart_id in ("#chart-tracking", "#chart-by-frequency"):
        page.wait_for_selector(f"{chart_id} .main-svg")
        assert page.locator(f"{chart_id} .scatterlayer .trace").count() == 2
    assert "Cumulative repeat transactions" in page.inner_text("#chart-tracking")
    assert page.errors == []


def test_overview_shows_the_customer_count(signed_in, shop):
    assert signed_in.inner_text("#tile-customers") == f"{shop['customers']:,}"


def test_pages_need_a_login(page, server, shop):
    page.goto(server + "/segments")
    assert "/login" in page.url
    page.fill("input[name=key]", shop["ingest_token"])  # valid key, but no read scope
    page.click("button[type=submit]")
    assert "lacks the read scope" in page.inner_text(".error")
    page.fill("input[name=key]", shop["token"])
    page.click("button[type=submit]")
    page.wait_for_url(server + "/segments")
    assert page.locator("#segment-table").count() == 1


def test_builder_checks_counts_saves_and_lists(signed_in, server, shop):
    page = signed_in
    page.goto(server + "/segments/new")
    page.fill("#seg-name", "web_big_spenders")
    page.fill("#seg-description", "Spent over 500 in two or more orders")
    editor = page.locator("#rule-editor")
    editor.fill("total_spent > 500 and orders_count >=")
    page.wait_for_selector("#rule-status.error")
    status = page.inner_text("#rule-status")
    assert re.match(r"line 1, column \d+: ", status), status
    column = int(page.get_attribute("#rule-status", "data-column"))
    assert column == len("total_spent > 500 and orders_count >=") + 1  # the end of the rule
    assert page.locator("#rule-error-mark").count() == 1
    page.screenshot(path=str(ARTIFACTS / "builder-error.png"))

    editor.fill("total_spent > 500 and orders_count >= 2")
    page.wait_for_selector("#rule-status.ok")
    page.wait_for_function("document.getElementById('rule-count').textContent !== '–'")
    assert page.inner_text("#rule-count") == f"{shop['big_spenders']:,}"
    assert page.locator("#rule-sample li").count() == min(10, shop["big_spenders"])
    page.screenshot(path=str(ARTIFACTS / "builder-count.png"))

    # Saving writes: like the API, it needs the admin scope; a read key is refused and nothing is saved.
    page.click("#save-new")
    page.wait_for_selector("#save-status.error")
    assert "lacks the 'admin' scope" in page.inner_text("#save-status")
    assert page.errors == ["Failed to load resource: the server responded with a status of 403 (Forbidden)"]
    page.errors.clear()  # the refused save's 403, which the browser reports as a console error
    page.goto(server + "/segments?q=web_big")
    assert page.locator("tr[data-name=web_big_spenders]").count() == 0

    page.goto(server + "/login?next=/segments/new")
    page.fill("input[name=key]", shop["admin_token"])
    page.click("button[type=submit]")
    page.wait_for_url(server + "/segments/new")
    page.fill("#seg-name", "web_big_spenders")
    page.fill("#seg-description", "Spent over 500 in two or more orders")
    page.locator("#rule-editor").fill("total_spent > 500 and orders_count >= 2")
    page.wait_for_selector("#rule-status.ok")
    page.click("#save-new")
    page.wait_for_selector("#saved-link", timeout=60_000)
    assert f"with {shop['big_spenders']} members" in page.inner_text("#save-status")

    page.goto(server + "/segments?q=web_big")
    row = page.locator("tr[data-name=web_big_spenders]")
    assert row.count() == 1
    assert row.locator("td.num").first.inner_text() == f"{shop['big_spenders']:,}"
    page.screenshot(path=str(ARTIFACTS / "segments-after-save.png"), full_page=True)
    assert page.errors == []

    # Saving the same name again as a new segment is refused; as a new version it is accepted.
    page.goto(server + "/segments/new?base=web_big_spenders")
    page.click("#save-new")
    page.wait_for_selector("#save-status.error")
    assert "exists" in page.inner_text("#save-status")


def test_customer_page_explains_memberships(signed_in, server, shop):
    customer_id, segment = shop["member"]
    page = signed_in
    page.goto(f"{server}/customers/{customer_id}")
    box = page.locator("details.membership", has=page.locator(f"a[href='/segments/{segment}']"))
    assert box.locator("pre.explanation").count() == 0  # explained on demand, not at page load
    box.locator("summary span.muted").click()  # expand (clicking the link would open the segment)
    text = box.locator("pre.explanation").inner_text()
    assert text.startswith("[x] ")  # the rule holds for a member
    assert "total_spent" in text
    assert page.locator("ol.timeline li").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "customer.png"), full_page=True)
    assert page.errors == []


def test_user_text_is_escaped(signed_in, server):
    page = signed_in
    page.goto(server + "/segments?q=%3Cscript%3Ewindow.hacked%3D1%3C%2Fscript%3E")
    assert page.evaluate("window.hacked === undefined")
    assert page.input_value("#segment-search") == "<script>window.hacked=1</script>"
