"""The real-time service under load, on loopback, against its targets.

Starts ``segmint serve`` in its own process on a fresh workspace (two live segments, one webhook to a
receiver in this process) and measures, in one run:

1. sustained ingest through ``/v1/batch`` (target >= 20,000 events/s), every event acknowledged only after
   its group commit;
2. under that load, the time from a batch's acknowledgement to the webhook announcing that a customer in
   it entered ``cart_adders`` (target p99 <= 1 s);
3. single-event ``/v1/track`` throughput (the per-request cost the batch endpoint amortises);
4. profile lookups at a fixed 500 requests/s (open loop): p50/p99 latency.

    python benchmarks/bench_api.py            # 15 s of batch load
    python benchmarks/bench_api.py --quick    # 4 s, for a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

LOOPBACK = "127.0.0.1"
SEGMENTS = {
    "cart_adders": "did added_to_cart within 1h",
    "browsers": "count(product_viewed, 1h) >= 3",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process (all its threads) has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


THREAD_NAMES: dict[str, str] = {}  # native thread id -> Python thread name, from the server's /health


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per server thread (Python threads by name; the rest are DuckDB's workers)."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = THREAD_NAMES.get(task.name, "other (DuckDB workers)").rstrip("0123456789_")
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def own_cpu() -> float:
    t = os.times()
    return t.user + t.system


class CpuMeter:
    """CPU seconds the server and this (client) process use during a phase: the figures that stay
    meaningful when other work shares the cores and wall-clock rates drop."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.server0, self.client0, self.wall0 = cpu_seconds(pid), own_cpu(), time.perf_counter()
        self.threads0 = thread_cpu(pid)

    def by_thread(self) -> dict[str, float]:
        now = thread_cpu(self.pid)
        return {k: v - self.threads0.get(k, 0.0) for k, v in now.items() if v - self.threads0.get(k, 0.0) > 0}

    def stop(self) -> tuple[float, float, float]:
        return (
            cpu_seconds(self.pid) - self.server0,
            own_cpu() - self.client0,
            time.perf_counter() - self.wall0,
        )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Receiver:
    """Records when each customer's ``entered`` webhook arrives."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.count = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                at = time.time()
                data = json.loads(body)
                receiver.count += 1
                receiver.arrivals.setdefault(data["customer_id"], at)
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{LOOPBACK}:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def setup(root: Path) -> dict[str, str]:
    from segmint.access.keys import create_key
    from segmint.adapters.workspace import Workspace

    tokens = {}
    with Workspace.init(root) as ws:
        for name, rule in SEGMENTS.items():
            (ws.segments_dir / f"{name}.yaml").write_text(
                f'name: {name}\nfamily: behavioral\nrule: "{rule}"\n'
            )
        for scope in ("ingest", "read", "admin"):
            _, tokens[scope] = create_key(ws.con, f"bench-{scope}", scope)
    return tokens


def start_server(root: Path, port: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "segmint.cli.main", "-w", str(root), "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server failed: {proc.stderr.read().decode()[-3000:]}")
        try:
            if httpx.get(f"http://{LOOPBACK}:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


class BatchLoad:
    """Pre-built /v1/batch bodies: product views and cart adds of many customers; about one event in
    200 is a new customer's first cart add, which makes that customer enter ``cart_adders``."""

    def __init__(self, batch_size: int, batches: int, seed: int = 1) -> None:
        rng = random.Random(seed)
        now = time.time()
        self.bodies: list[bytes] = []
        self.entering: list[list[str]] = []
        n = 0
        new_customer = 0
        for b in range(batches):
            msgs, entering = [], []
            for _ in range(batch_size):
                n += 1
                if rng.random() < 0.005:
                    new_customer += 1
                    user, event = f"new{new_customer}", "Product Added"
                    entering.append(user)
                else:
                    user, event = f"c{rng.randint(1, 20_000)}", "Product Viewed"
                msgs.append(
                    {
                        "type": "track",
                        "messageId": f"b{b}-{n}",
                        "userId": user,
                        "event": event,
                        "properties": {"product_id": f"p{rng.randint(1, 500)}", "cart_id": f"k{user}"},
                        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now - 60)) + "Z",
                        "context": {"device": {"type": "mobile"}, "os": {"name": "iOS"}},
                    }
                )
            self.bodies.append(json.dumps({"batch": msgs}).encode())
            self.entering.append(entering)


async def run_batches(url: str, token: str, load: BatchLoad, seconds: float, concurrency: int):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    acked_events = 0
    ack_time: dict[str, float] = {}
    failures = 0
    next_index = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def sender():
            nonlocal acked_events, failures, next_index
            while time.perf_counter() < deadline and next_index < len(load.bodies):
                i = next_index
                next_index += 1
                r = await client.post("/v1/batch", content=load.bodies[i], headers=headers)
                if r.status_code != 200:
                    failures += 1
                    continue
                at = time.time()
                acked_events += r.json()["accepted"]
                for user in load.entering[i]:
                    ack_time[user] = at

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return acked_events, elapsed, ack_time, failures


async def run_track(url: str, token: str, seconds: float, concurrency: int) -> tuple[int, float]:
    """Closed loop of single ``/v1/track`` calls, ``concurrency`` at a time (lean keep-alive client)."""
    from segmint.adapters.webhooks import KeepAlivePool

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    done = 0
    deadline = time.perf_counter() + seconds
    pool = KeepAlivePool(max_idle_per_host=concurrency)

    async def sender(k: int):
        nonlocal done
        i = 0
        while time.perf_counter() < deadline:
            i += 1
            body = json.dumps(
                {"messageId": f"t{k}-{i}", "userId": f"c{(k * 7919 + i) % 20_000}", "event": "Product Viewed"}
            ).encode()
            status = await pool.request("POST", f"{url}/v1/track", body, headers)
            done += status == 200

    started = time.perf_counter()
    await asyncio.gather(*(sender(k) for k in range(concurrency)))
    pool.close()
    return done, time.perf_counter() - started


async def run_profiles(url: str, token: str, rate: float, seconds: float) -> tuple[list[float], int]:
    """Open loop at ``rate`` lookups/s. The generator is a lean keep-alive client (the service's own
    webhook client): httpx costs ~1-2 ms of CPU per request, which on a shared 2-core machine made the
    generator, not the server, the bottleneck of this measurement."""
    from segmint.adapters.webhooks import KeepAlivePool

    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    errors = 0
    rng = random.Random(3)
    pool = KeepAlivePool(max_idle_per_host=256)

    async def one(cid: str):
        nonlocal errors
        t = time.perf_counter()
        try:
            status = await pool.request("GET", f"{url}/v1/profiles/{cid}", b"", headers)
        except OSError:
            status = 0
        latencies.append(time.perf_counter() - t)
        errors += status != 200

    tasks = []
    start = time.perf_counter()
    n = int(rate * seconds)
    for i in range(n):  # open loop: requests leave on schedule whatever the answers do
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(f"c{rng.randint(1, 20_000)}")))
    await asyncio.gather(*tasks)
    pool.close()
    return latencies, errors


def wait_idle(url: str, timeout: float = 60.0) -> None:
    """Let the live engine finish the backlog of the load phases before measuring lookups alone."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        health = httpx.get(url + "/health", timeout=10).json()
        ticks = health["live"]["ticks"]
        if ticks == last and health["webhooks_pending"] == 0:
            return
        last = ticks
        time.sleep(1.0)


async def profile_capacity(url: str, token: str, seconds: float, clients: int) -> float:
    headers = {"Authorization": f"Bearer {token}"}
    done = 0
    rng = random.Random(5)
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def worker():
            nonlocal done
            while time.perf_counter() < deadline:
                await client.get(f"/v1/profiles/c{rng.randint(1, 20_000)}", headers=headers)
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return done / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=float, default=15.0, help="batch-load duration")
    parser.add_argument("--batch", type=int, default=500, help="events per /v1/batch request")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--dump", help="write (ack time, ack->webhook seconds) pairs here as JSON")
    args = parser.parse_args()
    seconds = 4.0 if args.quick else args.seconds

    root = Path(tempfile.mkdtemp(prefix="segmint-bench-api-")) / "shop"
    tokens = setup(root)
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    receiver = Receiver()
    print(f"load average before start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"cores: {os.cpu_count()}, batch={args.batch} events, {args.concurrency} concurrent senders")
    load = BatchLoad(args.batch, batches=int(seconds * 60_000 / args.batch) + args.concurrency)
    server = start_server(root, port)
    try:
        hook = httpx.post(
            url + "/v1/webhooks",
            json={"url": receiver.url, "segment": "cart_adders", "kinds": ["entered"]},
            headers={"Authorization": f"Bearer {tokens['admin']}"},
        )
        hook.raise_for_status()
        # Warm-up: the live engine learns its plans once per day; keep that out of the measurement.
        asyncio.run(run_batches(url, tokens["ingest"], BatchLoad(50, 4, seed=9), 5, 2))
        time.sleep(3)

        THREAD_NAMES.update(httpx.get(url + "/health", timeout=10).json()["threads"])
        meter = CpuMeter(server.pid)
        acked, elapsed, ack_time, failures = asyncio.run(
            run_batches(url, tokens["ingest"], load, seconds, args.concurrency)
        )
        rate = acked / elapsed
        batch_cpu = meter.stop()
        batch_threads = meter.by_thread()
        print(f"batch: {acked:,} events in {elapsed:.1f} s", flush=True)
        settle = time.time() + 10
        while time.time() < settle and not set(ack_time) <= set(receiver.arrivals):
            time.sleep(0.05)
        latencies = [receiver.arrivals[u] - t for u, t in ack_time.items() if u in receiver.arrivals]
        # Steady state: leave out the first second of load, when every customer is new to the service
        # (first commits create ~10k customers at once) and the pipeline fills.
        first_ack = min(ack_time.values(), default=0.0)
        steady = [
            receiver.arrivals[u] - t
            for u, t in ack_time.items()
            if u in receiver.arrivals and t >= first_ack + 1.0
        ]
        missing = len(set(ack_time) - set(receiver.arrivals))
        if args.dump:
            pairs = sorted(
                (t, receiver.arrivals[u] - t) for u, t in ack_time.items() if u in receiver.arrivals
            )
            Path(args.dump).write_text(json.dumps(pairs))
        wait_idle(url)
        drained_cpu = meter.stop()  # everything the batch load caused, live evaluation included
        health = httpx.get(url + "/health", timeout=10).json()
        live_stats = health["live"]

        meter = CpuMeter(server.pid)
        track_done, track_elapsed = asyncio.run(run_track(url, tokens["ingest"], min(5.0, seconds), 16))
        track_cpu = meter.stop()
        print(f"track: {track_done:,} events in {track_elapsed:.1f} s", flush=True)
        wait_idle(url)
        capacity = asyncio.run(profile_capacity(url, tokens["read"], 3.0, 4))
        print(f"profiles: {capacity:,.0f} lookups/s with 4 clients in a closed loop", flush=True)
        meter = CpuMeter(server.pid)
        prof_lat, prof_err = asyncio.run(run_profiles(url, tokens["read"], 500, min(5.0, seconds)))
        prof_cpu = meter.stop()
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(root.parent, ignore_errors=True)

    print(f"\n{'measure':<48}{'value':>14}  target")
    print(
        f"{'/v1/batch sustained ingest (events/s)':<48}{rate:>14,.0f}  >= 20,000  ({acked:,} events in {elapsed:.1f} s, {failures} failed requests)"
    )
    print(f"{'ack -> webhook, entries (n)':<48}{len(latencies):>14,}  ({missing} not delivered within 10 s)")
    print(
        f"{'ack -> webhook p50 (ms)':<48}{statistics.median(latencies) * 1000 if latencies else float('nan'):>14,.0f}"
    )
    print(f"{'ack -> webhook p99 (ms)':<48}{pct(latencies, 0.99) * 1000:>14,.0f}  <= 1,000")
    print(
        f"{'ack -> webhook p99 after the first second (ms)':<48}{pct(steady, 0.99) * 1000:>14,.0f}  "
        f"(n={len(steady)}; p50 {statistics.median(steady) * 1000 if steady else float('nan'):,.0f} ms)"
    )
    print(
        f"{'/v1/track single events (events/s)':<48}{track_done / track_elapsed:>14,.0f}  (batch is {rate / max(1, track_done / track_elapsed):.0f}x)"
    )
    print(
        f"{'/v1/track server CPU per event (us)':<48}{track_cpu[0] / max(1, track_done) * 1e6:>14,.0f}  (client {track_cpu[1] / max(1, track_done) * 1e6:,.0f} us)"
    )
    print(
        f"{'profile lookups, closed loop (lookups/s)':<48}{capacity:>14,.0f}  (4 clients; capacity without a target rate)"
    )
    print(f"{'profile lookup at 500/s p50 (ms)':<48}{statistics.median(prof_lat) * 1000:>14,.1f}")
    print(
        f"{'profile lookup at 500/s p99 (ms)':<48}{pct(prof_lat, 0.99) * 1000:>14,.1f}  ({len(prof_lat)} requests, {prof_err} errors)"
    )
    print(
        f"{'profile lookup server CPU per request (us)':<48}{prof_cpu[0] / max(1, len(prof_lat)) * 1e6:>14,.0f}"
        f"  (load generator {prof_cpu[1] / max(1, len(prof_lat)) * 1e6:,.0f} us; server used "
        f"{prof_cpu[0] / prof_cpu[2]:.2f} cores, generator {prof_cpu[1] / prof_cpu[2]:.2f})"
    )
    print(
        "\nCPU time (defensible on a shared machine: wall rates above drop when other work shares the cores)"
    )
    server_us = batch_cpu[0] / max(1, acked) * 1e6
    drained_us = drained_cpu[0] / max(1, acked) * 1e6
    client_us = batch_cpu[1] / max(1, acked) * 1e6
    print(
        f"{'batch phase: server CPU per event (us)':<48}{server_us:>14.1f}  ({batch_cpu[0]:.1f} CPU-s in {batch_cpu[2]:.1f} s wall)"
    )
    print(
        f"{'  incl. live evaluation until idle (us)':<48}{drained_us:>14.1f}  ({drained_cpu[0]:.1f} CPU-s in {drained_cpu[2]:.1f} s wall)"
    )
    print(f"{'  load generator CPU per event (us)':<48}{client_us:>14.1f}")
    print(
        f"{'  => events/s 2 free cores could sustain':<48}{2e6 / (drained_us + client_us):>14,.0f}  (server incl. live + load generator)"
    )
    print(f"live engine: {live_stats}")
    print(
        f"writer: {health['commits']} commits, {health['checkpoints']} checkpoints, "
        f"waited {health['back_pressure_seconds']} s for live evaluation (back-pressure)"
    )
    per_thread = ", ".join(
        f"{name} {cpu / max(1, acked) * 1e6:.1f}"
        for name, cpu in sorted(batch_threads.items(), key=lambda kv: -kv[1])
    )
    print(f"batch phase server CPU per event by thread (us): {per_thread}")
    print(f"server GC pauses so far: {health['gc_pauses']}")
    print(f"server CPU share during the batch phase: {batch_cpu[0] / batch_cpu[2]:.2f} of 2 cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
