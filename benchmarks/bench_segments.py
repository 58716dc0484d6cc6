"""All ready-made segments, evaluated and materialised (traits included), at two shop sizes.

For each size: generate a synthetic shop (cached under --cache), load it into a fresh workspace,
install the library and time ``evaluate_segments`` as of the end of the data, with its breakdown
(traits, rule evaluation, history and memberships). The acceptance target is 1M customers (~10M orders,
~30M events) in under 60 s on 2 cores, with cost growing no worse than linearly from 100k.

    python benchmarks/bench_segments.py [--sizes 100000 1000000] [--cache .bench-cache]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from _shops import fresh_copy, loaded, shop
from segmint.adapters.workspace import Workspace
from segmint.batch.definitions import install_library
from segmint.batch.evaluate import evaluate_segments
from segmint.demo.generate import generated_end


def run(cache: Path, customers: int, threads: int) -> dict:
    data = shop(cache, customers)
    source = loaded(cache, customers, data)
    # A fresh copy per run: evaluation writes traits, memberships and history.
    with fresh_copy(cache, source) as root:
        ws = Workspace.open(root)
        ws.con.raw_sql(f"SET threads = {threads}")
        counts = {name: ws.count(name) for name in ("customers", "orders", "order_lines", "events")}
        shutil.rmtree(ws.segments_dir, ignore_errors=True)
        install_library(ws)
        as_of = generated_end(data)
        cpu = time.process_time()
        summary = evaluate_segments(ws, as_of)
        cpu = time.process_time() - cpu
        members = sum(s.members for s in summary.segments)
        ws.close()
    return {"customers": customers, "counts": counts, "timings": summary.timings, "members": members,
            "segments": len(summary.segments), "cpu": cpu, "cpu_timings": summary.cpu}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--cache", type=Path, default=Path(".bench-cache"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        print(f"{size:,} customers ...")
        r = run(args.cache, size, args.threads)
        results.append(r)
        rows = ", ".join(f"{k} {v:,}" for k, v in r["counts"].items() if v)
        print(f"  data: {rows}")
        print(f"  {r['segments']} segments, {r['members']:,} memberships")
        print("  " + "  ".join(f"{k} {v:.2f}s" for k, v in r["timings"].items()))
        cpu = r.get("cpu_timings", {})
        print("  cpu: " + "  ".join(f"{k} {v:.2f}s" for k, v in cpu.items()) + f"  (process {r['cpu']:.2f}s)")
    print("\nsize         total s   s per 100k customers   CPU s   CPU s per 100k")
    for r in results:
        total, cpu = r["timings"]["total"], r["cpu"]
        per = 100_000 / r["customers"]
        print(
            f"{r['customers']:>10,}   {total:7.2f}   {total * per:7.2f}               {cpu:7.2f}   {cpu * per:7.2f}"
        )
    if len(results) >= 2:
        a, b = results[0], results[-1]
        growth = b["timings"]["total"] / a["timings"]["total"]
        scale = b["customers"] / a["customers"]
        verdict = "no worse than linear" if growth <= scale * 1.1 else "WORSE than linear"
        print(f"\n{scale:.0f}x customers -> {growth:.2f}x time ({verdict})")
        cpu_growth = b["cpu"] / a["cpu"]
        verdict = "no worse than linear" if cpu_growth <= scale * 1.1 else "WORSE than linear"
        print(f"{scale:.0f}x customers -> {cpu_growth:.2f}x CPU time ({verdict})")
    largest = results[-1]
    if largest["customers"] >= 1_000_000:
        ok = largest["timings"]["total"] < 60
        print(f"1M target (< 60 s): {'met' if ok else 'NOT met'} ({largest['timings']['total']:.1f} s)")


if __name__ == "__main__":
    main()
