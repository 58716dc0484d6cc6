"""Synthetic shop generation speed: 100k and 1M customers (``--quick``: 10k and 50k).

Prints, per size, wall time, CPU seconds spent generating blocks (summed over worker processes, so the
figure does not depend on what else the machine is doing), rows and rows/s per table, and bytes written.
Baseline measured in the same run: the per-customer Python loop that naive generators use (draw each
customer's purchase count and every order's time and basket one at a time), timed on a small sample and
compared on orders per CPU second. Target (issue 2): 1M customers with ~10M orders in about a minute on
2 cores.

    python benchmarks/bench_generate.py [--quick] [--workers N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds

from segmint.demo.generate import generate_shop

TABLES = ("customers", "orders", "order_lines", "events", "identities", "personas", "products")


def naive_loop(customers: int, seed: int = 0) -> tuple[int, float]:
    """The per-customer, per-order loop style: returns (orders made, CPU seconds)."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1)
    began = time.process_time()
    rows = []
    for c in range(customers):
        rate = rng.gammavariate(3.0, 0.5 / 3.0) / 30.0
        lifetime = rng.expovariate(1 / 1500.0)
        created = start + timedelta(days=rng.random() * 600)
        days = min(lifetime, (datetime(2025, 12, 31) - created).days)
        # Poisson count by inversion, then one order at a time.
        lam, p, k = rate * days, rng.random(), 0
        acc = math.exp(-lam)
        cum = acc
        while p > cum and k < 500:
            k += 1
            acc *= lam / k
            cum += acc
        for _ in range(k + 1):
            when = created + timedelta(days=rng.random() * days)
            lines = 1 + int(rng.expovariate(2.0))
            total = sum(round(rng.lognormvariate(3.5, 0.6), 2) for _ in range(lines))
            rows.append({"order_id": f"o{len(rows):09d}", "customer_id": f"c{c:08d}", "ordered_at": when,
                         "total": total, "lines": lines})  # fmt: skip
    return len(rows), time.process_time() - began


def run(customers: int, workers: int | None, keep: Path | None) -> dict:
    out = (keep or Path(tempfile.mkdtemp(prefix="segmint-gen-"))) / f"shop-{customers}"
    stats: dict = {}
    began = time.perf_counter()
    generate_shop(out, customers, seed=0, workers=workers, stats=stats)
    wall = time.perf_counter() - began
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    abandonment = cart_abandonment(out / "events")
    if keep is None:
        shutil.rmtree(out.parent, ignore_errors=True)
    return {
        "customers": customers,
        "wall": wall,
        "cpu": stats["cpu_seconds"],
        "counts": stats["counts"],
        "bytes": size,
        "abandonment": abandonment,
    }


def cart_abandonment(events: Path) -> float:
    """Share of carts (cart ids with an add) that never reach ``order_completed``."""
    table = ds.dataset(events, format="parquet").to_table(
        columns=["name", "cart_id"], filter=pc.field("name").isin(["added_to_cart", "order_completed"])
    )
    carts = pc.unique(table.filter(pc.equal(table["name"], "added_to_cart"))["cart_id"])
    bought = pc.unique(table.filter(pc.equal(table["name"], "order_completed"))["cart_id"].drop_null())
    return 1.0 - len(bought) / max(len(carts), 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="10k and 50k customers")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the generated shops under this folder")
    args = parser.parse_args()
    sizes = (10_000, 50_000) if args.quick else (100_000, 1_000_000)

    results = [run(n, args.workers, args.keep) for n in sizes]
    for r in results:
        c = r["counts"]
        print(f"\n{r['customers']:,} customers: {r['wall']:.1f} s wall, {r['cpu']:.1f} CPU s in generation "
              f"(+ writing), {r['bytes'] / 1e6:,.0f} MB of Parquet")  # fmt: skip
        print(f"  {'table':<12} {'rows':>12} {'rows/s wall':>14} {'rows per CPU s':>15}")
        for name in TABLES:
            print(f"  {name:<12} {c[name]:>12,} {c[name] / r['wall']:>14,.0f} {c[name] / r['cpu']:>15,.0f}")
        total = sum(c[name] for name in TABLES)
        print(f"  {'all':<12} {total:>12,} {total / r['wall']:>14,.0f} {total / r['cpu']:>15,.0f}")
        print(
            f"  per customer: {c['orders'] / r['customers']:.1f} orders, {c['events'] / r['customers']:.1f} events; "
            f"cart abandonment {r['abandonment']:.0%} of carts"
        )
    small, large = results
    growth = (large["cpu"] / small["cpu"]) / (large["customers"] / small["customers"])
    print(
        f"\nscaling {small['customers']:,} -> {large['customers']:,}: CPU per customer x{growth:.2f} (1.00 = linear)"
    )

    sample = 5_000
    base_orders, base_cpu = naive_loop(sample)
    rows = sum(large["counts"][name] for name in TABLES)
    ours, theirs = rows / large["cpu"], base_orders / base_cpu
    print(f"baseline per-customer Python loop ({sample:,} customers; order rows only, kept as dicts, "
          f"no lines, events or files): {theirs:,.0f} rows per CPU s")  # fmt: skip
    print(f"segmint (all tables, written to Parquet): {ours:,.0f} rows per CPU s: x{ours / theirs:.1f}")
    if not args.quick:
        verdict = "meets" if large["wall"] <= 90 else "misses"
        print(f"target: 1M customers in about a minute on 2 cores -> {large['wall']:.0f} s wall ({verdict})")


if __name__ == "__main__":
    main()
