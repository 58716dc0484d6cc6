"""Dashboard page render times: cold (first request after start, nothing cached) and warm (cached per
data version), for every page, through the real app and service on a demo shop.

    .venv/bin/python benchmarks/bench_web.py --workspace /tmp/demo/shop        # an existing demo shop
    .venv/bin/python benchmarks/bench_web.py --customers 100000 --dir benchmarks/.data/web

The target is under 1 s per page. The workspace is copied first: the benchmark creates an API key.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workspace", type=Path, help="An existing demo workspace (else one is built).")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=Path("benchmarks/.data/web"))
    parser.add_argument("--repeat", type=int, default=3, help="Warm requests per page (the best is shown).")
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from segmint.api.app import create_app
    from segmint.api.service import ServiceSettings
    from segmint.usecases.api_keys import create_key
    from segmint.usecases.workspace import Workspace
    from segmint.web.app import install

    source = args.workspace
    if source is None:
        from segmint.usecases.demo import build_demo

        source = build_demo(args.dir, customers=args.customers, step=print).workspace
    root = Path(tempfile.mkdtemp(prefix="bench-web-")) / "shop"
    shutil.copytree(source, root, ignore=shutil.ignore_patterns("*.wal"))
    with Workspace.open(root) as ws:
        _key, token = create_key(ws.con, "bench", "read")
        customers = ws.count("customers")
        member = ws.con.con.execute(
            "SELECT customer_id FROM memberships ORDER BY customer_id LIMIT 1"
        ).fetchone()[0]
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
    app = create_app(root, configure=install, settings=ServiceSettings(sweep_on_start=False))
    print(f"{customers:,} customers ({root})")
    print(f"{'page':40} {'cold s':>8} {'warm s':>8} {'bytes':>9}")
    with TestClient(app) as client:
        client.post("/login", data={"key": token, "next": "/"}, follow_redirects=False)
        worst = 0.0
        for path in pages:
            t0 = time.perf_counter()
            r = client.get(path)
            cold = time.perf_counter() - t0
            assert r.status_code == 200, (path, r.status_code)
            warm = min(_timed(client, path) for _ in range(args.repeat))
            worst = max(worst, warm)
            print(f"{path:40} {cold:8.3f} {warm:8.3f} {len(r.content):9,}")
        t0 = time.perf_counter()
        r = client.post("/ui/rule", json={"rule": "total_spent > 500 and orders_count >= 2"})
        print(f"{'/ui/rule (builder count, cold)':40} {time.perf_counter() - t0:8.3f} {_timed_post(client):8.3f}")
    print(f"slowest warm page: {worst:.3f} s (target < 1 s)")
    shutil.rmtree(root.parent, ignore_errors=True)


def _timed(client, path: str) -> float:
    t0 = time.perf_counter()
    client.get(path)
    return time.perf_counter() - t0


def _timed_post(client) -> float:
    t0 = time.perf_counter()
    client.post("/ui/rule", json={"rule": "total_spent > 500 and orders_count >= 2"})
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
