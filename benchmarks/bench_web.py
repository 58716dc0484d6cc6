"""Dashboard page render times per page, through the real app and service on a demo shop:

* ``cold``: the first request in a fresh process, with the start-up warmer switched off: imports,
  definitions and every query paid by that request (pages are requested in the order listed, so only the
  first pays for pandas and only the clusters page for scikit-learn);
* ``computed``: the page data computed from scratch (cache emptied before the request, except the
  aggregates at a run time: every segment's KPIs and sizes over time, computed once per run and
  timed on their own below), libraries already imported: what a view costs right after the data
  changed;
* ``first``: the first request after the server started with the warmer on and finished warming: what a
  visitor sees;
* ``warm``: served from the per-data-version cache (best of ``--repeat``).

    .venv/bin/python benchmarks/bench_web.py --workspace /tmp/demo100k/shop     # an existing demo shop
    .venv/bin/python benchmarks/bench_web.py --customers 100000 --dir benchmarks/.data/web

The target is under 1 s per page. The workspace is copied first: the benchmark creates an API key.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

RULE = "total_spent > 500 and orders_count >= 2"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workspace", type=Path, help="An existing demo workspace (else one is built).")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=Path("benchmarks/.data/web"))
    parser.add_argument("--repeat", type=int, default=3, help="Warm requests per page (the best is shown).")
    parser.add_argument(
        "--preload-recent",
        action="store_true",
        help="Let the service preload every customer's recent events at start (the API's profile cache; "
        "minutes at 100k customers). Off by default: no dashboard page reads it.",
    )
    args = parser.parse_args()
    if not args.preload_recent:
        from segmint.live.ingest import Ingestor

        Ingestor.preload_recent = lambda self: None
        print("service start without the recent-events preload (--preload-recent to include it)")

    from segmint.access.keys import create_key
    from segmint.adapters.workspace import Workspace

    source = args.workspace
    if source is None:
        from segmint.demo.build import build_demo

        source = build_demo(args.dir, customers=args.customers, step=print).workspace
    root = Path(tempfile.mkdtemp(prefix="bench-web-")) / "shop"
    shutil.copytree(source, root, ignore=shutil.ignore_patterns("*.wal"))
    with Workspace.open(root) as ws:
        _key, token = create_key(ws.con, "bench", "read")
        customers = ws.count("customers")
        # A customer in many segments: the explanations are the most work for them.
        member = ws.con.con.execute(
            "SELECT customer_id FROM memberships GROUP BY customer_id ORDER BY count(*) DESC, customer_id LIMIT 1"
        ).fetchone()[0]
        segments = [
            r[0]
            for r in ws.con.con.execute(
                "SELECT segment FROM memberships WHERE customer_id = ? ORDER BY segment", [member]
            ).fetchall()
        ]
    pages = [
        "/",
        "/segments",
        "/segments/rfm_champions",
        "/segments/lifecycle_active",
        "/clusters",
        "/predictions",
        f"/customers/{member}",
        "/live",
    ]
    print(f"{customers:,} customers ({root}); customer {member} is in {len(segments)} segments", flush=True)

    cold = _cold(root, token, pages)
    first, computed, warm, sizes, warm_s, explain = _served(root, token, pages, args.repeat, member, segments)
    print(f"start-up warming took {warm_s:.2f} s (in the background)")
    print(f"{'page':36} {'cold s':>8} {'computed s':>11} {'first s':>8} {'warm s':>8} {'bytes':>9}")
    for path in pages:
        print(
            f"{path:36} {cold[path]:8.3f} {computed[path]:11.3f} {first[path]:8.3f} {warm[path]:8.3f} "
            f"{sizes[path]:9,}"
        )
    print(f"{'/ui/rule (builder count)':36} {'':8} {computed['/ui/rule']:11.3f}")
    label = "run aggregates + /segments"
    print(f"{label:36} {'':8} {computed[label]:11.3f}  (once per run, done by the warmer)")
    print(
        f"{'/ui/explain per membership':36} {'':8} {max(explain.values()):11.3f}  (slowest of {len(explain)})"
    )
    for seg, s in sorted(explain.items(), key=lambda kv: -kv[1])[:5]:
        print(f"    {seg:32} {s:.3f}")
    slowest = max(computed[p] for p in pages)
    print(
        f"slowest page computed from scratch: {slowest:.3f} s, first view after start: "
        f"{max(first.values()):.3f} s, cold start: {max(cold.values()):.3f} s (target < 1 s)"
    )
    shutil.rmtree(root.parent, ignore_errors=True)


def _app(root: Path, warm: bool):
    from segmint.api.app import create_app
    from segmint.live.service import ServiceSettings
    from segmint.web.app import install

    return create_app(
        root, configure=lambda app: install(app, warm=warm), settings=ServiceSettings(sweep_on_start=False)
    )


def _login(client, token: str) -> None:
    r = client.post("/login", data={"key": token, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text


def _get(client, path: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    r = client.get(path)
    seconds = time.perf_counter() - t0
    assert r.status_code == 200, (path, r.status_code)
    return seconds, len(r.content)


def _cold(root: Path, token: str, pages: list[str]) -> dict[str, float]:
    from fastapi.testclient import TestClient

    t0 = time.perf_counter()
    with TestClient(_app(root, warm=False)) as client:
        print(f"service start (not a page): {time.perf_counter() - t0:.1f} s", flush=True)
        _login(client, token)
        return {path: _get(client, path)[0] for path in pages}


def _served(root: Path, token: str, pages: list[str], repeat: int, member: str, segments: list[str]):
    from fastapi.testclient import TestClient

    app = _app(root, warm=True)
    with TestClient(app) as client:
        warmer = app.state.web.warmer
        t0 = time.perf_counter()
        while warmer.rounds == 0:
            time.sleep(0.05)
        warm_s = time.perf_counter() - t0
        _login(client, token)
        first, sizes = {}, {}
        for path in pages:
            first[path], sizes[path] = _get(client, path)
        warm = {path: min(_get(client, path)[0] for _ in range(repeat)) for path in pages}
        computed = {}
        cache = app.state.web.cache

        def per_data_version(version: tuple, _key: tuple) -> bool:
            return version[0] != "runs"

        for path in pages:
            cache.clear(per_data_version)
            computed[path] = _get(client, path)[0]
        cache.clear()
        t0 = time.perf_counter()
        _get(client, "/segments")  # computes the run aggregates again (KPIs of every segment, history)
        computed["run aggregates + /segments"] = time.perf_counter() - t0
        cache.clear()
        t0 = time.perf_counter()
        client.post("/ui/rule", json={"rule": RULE})
        computed["/ui/rule"] = time.perf_counter() - t0
        explain = _explanations(client, member, segments)
    return first, computed, warm, sizes, warm_s, explain


def _explanations(client, member: str, segments: list[str]) -> dict[str, float]:
    out = {}
    for segment in segments:
        url = f"/ui/explain?customer_id={quote(member)}&segment={quote(segment)}"
        out[segment] = _get(client, url)[0]
    return out


if __name__ == "__main__":
    main()
