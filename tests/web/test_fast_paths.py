"""The parts that keep pages fast: the start-up warmer fills the cache under the keys the pages read,
explanations come from a small JSON endpoint, parsed definitions are reused until a file changes, and a
segment without a KPI row renders dashes."""

from __future__ import annotations

import time

import httpx
import pytest
from jinja2 import Environment

from segmint.batch import pages as queries
from segmint.core.segments.kpis import ALL
from segmint.web import filters


@pytest.fixture
def client(server, shop):
    with httpx.Client(base_url=server, timeout=60) as c:
        r = c.post("/login", data={"key": shop["token"], "next": "/"}, follow_redirects=False)
        assert r.status_code == 303
        yield c


def test_warmer_fills_the_cache_the_pages_read(client, shop):
    web = shop["app"].state.web
    deadline = time.time() + 120
    while web.warmer.rounds == 0:
        assert time.time() < deadline, "the warmer did not finish"
        time.sleep(0.1)
    keys = {key for _version, key in web.cache._items}
    assert {("overview", None), ("segments",), ("history",), ("clusters", ""), ("predictions",)} <= keys
    warmed = next(v for (_version, key), v in web.cache._items.items() if key == ("overview", None))
    assert warmed["customers"] == shop["customers"]
    hits = web.cache.hits
    assert client.get("/").status_code == 200
    assert web.cache.hits > hits  # the overview came from the warmed cache


def test_explain_endpoint(client, shop):
    customer_id, segment = shop["member"]
    r = client.get("/ui/explain", params={"customer_id": customer_id, "segment": segment})
    assert r.status_code == 200
    body = r.json()
    assert body["lines"][0].startswith("[x] ")  # a member: the rule holds
    assert any("total_spent" in line for line in body["lines"])
    unknown = client.get("/ui/explain", params={"customer_id": customer_id, "segment": "cluster:default:1"})
    assert unknown.status_code == 200 and unknown.json()["lines"] is None
    # JSON callers without a session get a 401, not a redirect to the login page.
    anonymous = httpx.get(f"{client.base_url}/ui/explain", params={"customer_id": "x", "segment": segment})
    assert anonymous.status_code == 401


def test_definitions_are_reparsed_only_when_a_file_changes(workspace):
    folder = workspace.segments_dir
    folder.mkdir(exist_ok=True)
    path = folder / "vip.yaml"
    path.write_text("name: vip\nfamily: value\ndescription: first\nrule: total_spent > 100\n")
    first = queries.definitions(workspace)
    assert [(d.name, d.description) for d in first] == [("vip", "first")]
    assert queries.definitions(workspace)[0] is first[0]  # reused, not parsed again
    path.write_text("name: vip\nfamily: value\ndescription: second, longer\nrule: total_spent > 200\n")
    assert [(d.name, d.description) for d in queries.definitions(workspace)] == [("vip", "second, longer")]
    path.unlink()
    assert queries.definitions(workspace) == []


def test_kpis_for_and_missing_kpi_cells():
    rows = [{"segment": ALL, "size": 10}, {"segment": "a", "size": 4}, {"segment": "b", "size": 6}]
    assert queries.kpis_for(rows, "b") == [rows[0], rows[2]]
    assert queries.kpis_for(rows, "empty") == [rows[0]]
    env = Environment()
    filters.register(env)
    text = env.from_string(
        "{{ k.share | pct }} {{ k.aov | num(2) }} {{ k.at | when }} {{ 0.25 | pct }}"
    ).render(k={})
    assert text == "– – – 25.0%"
