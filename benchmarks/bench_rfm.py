"""RFM for 1M customers / ~10M orders, from data at rest to result: Segmint against three baselines.

Contenders, each in its own subprocess so its peak memory (VmHWM, else ``ru_maxrss``) is its own:

1. segmint     - ``trait_table`` (orders + RFM groups) on the workspace's DuckDB file;
2. duckdb_sql  - one hand-written DuckDB SQL query over the orders Parquet file (the floor);
3. pandas      - vectorised pandas groupby over the Parquet file;
4. tutorial    - the per-customer lambda style of the widely copied RFM tutorials
                 (``groupby().agg`` with lambdas, then ``pd.qcut``), run on a random subset of customers
                 and extrapolated linearly to all of them (reading the file is timed in full, only the
                 per-customer part is scaled).

All compute, as of the end of the data's history, over paid / partially refunded orders net of refunds: recency (whole
days since the last order), frequency (orders), monetary (money), and 1-5 scores
``1 + floor(5 * percent_rank)`` (ties share the lowest score; 5 best). The tutorial scores with
``pd.qcut`` as tutorials do, which splits ties arbitrarily: its R, F, M must equal the others', its
scores are reported as an agreement rate. Timings exclude Python imports.

    python benchmarks/bench_rfm.py [--customers 1000000] [--tutorial-customers 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from rfm_data import ensure_data, ensure_workspace  # noqa: E402

COLUMNS = ["customer_id", "recency", "frequency", "monetary", "r", "f", "m"]
SALE = ("paid", "partially_refunded")


# ---- contenders (run in the child process) ---------------------------------------------------------
def run_segmint(args) -> tuple[object, dict]:
    from segmint.adapters.workspace import Workspace
    from segmint.core.traits import Catalog, trait_table, value
    from segmint.core.traits import rfm as rfm_group

    started = time.perf_counter()
    with Workspace.open(args.workspace, read_only=True) as ws:
        t = trait_table(ws.tables(), args.as_of, Catalog([value.GROUP, rfm_group.GROUP]))
        t = t.filter(t.orders_count > 0).select(
            "customer_id",
            recency=t.recency_days,
            frequency=t.orders_count,
            monetary=t.total_spent,
            r=t.r_score,
            f=t.f_score,
            m=t.m_score,
        )
        result = t.to_pyarrow()
    return result, {"seconds": time.perf_counter() - started}


DUCKDB_SQL = """
WITH per_customer AS (
    SELECT customer_id,
           count(*) AS frequency,
           round(sum(total - coalesce(refunded_amount, 0)), 2) AS monetary,
           max(ordered_at) AS last_order_at
    FROM read_parquet($path)
    WHERE customer_id IS NOT NULL
      AND ordered_at <= $as_of
      AND (status IS NULL OR status IN ('paid', 'partially_refunded'))
    GROUP BY customer_id
), with_recency AS (
    SELECT *, CAST(floor((epoch($as_of) - epoch(last_order_at)) / 86400) AS BIGINT) AS recency
    FROM per_customer
)
SELECT customer_id, recency, frequency, monetary,
       CAST(least(floor(5 * percent_rank() OVER (ORDER BY recency DESC) + 1e-9) + 1, 5) AS BIGINT) AS r,
       CAST(least(floor(5 * percent_rank() OVER (ORDER BY frequency) + 1e-9) + 1, 5) AS BIGINT) AS f,
       CAST(least(floor(5 * percent_rank() OVER (ORDER BY monetary) + 1e-9) + 1, 5) AS BIGINT) AS m
FROM with_recency
"""


def run_duckdb_sql(args) -> tuple[object, dict]:
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    result = con.execute(DUCKDB_SQL, {"path": str(args.parquet), "as_of": args.as_of}).to_arrow_table()
    return result, {"seconds": time.perf_counter() - started}


def _read_sales(path, as_of):
    import pandas as pd

    df = pd.read_parquet(
        path, columns=["order_id", "customer_id", "ordered_at", "status", "total", "refunded_amount"]
    )
    df = df[
        df.customer_id.notna()
        & (df.ordered_at <= pd.Timestamp(as_of))
        & (df.status.isna() | df.status.isin(SALE))
    ]
    return df.assign(net=df.total - df.refunded_amount.fillna(0.0))


def _score(values, descending=False):
    import numpy as np

    ranks = (-values if descending else values).rank(method="min")
    n = len(values)
    pct = (ranks - 1) / (n - 1) if n > 1 else ranks * 0.0
    return np.minimum(np.floor(5 * pct + 1e-9) + 1, 5).astype("int64")


def run_pandas(args) -> tuple[object, dict]:
    import numpy as np
    import pandas as pd

    started = time.perf_counter()
    sales = _read_sales(args.parquet, args.as_of)
    g = sales.groupby("customer_id", sort=False).agg(
        frequency=("order_id", "size"), monetary=("net", "sum"), last_order_at=("ordered_at", "max")
    )
    seconds = (pd.Timestamp(args.as_of) - g.last_order_at).dt.total_seconds().to_numpy()
    g["recency"] = np.floor(seconds / 86400).astype("int64")
    g["monetary"] = g.monetary.round(2)
    g["r"] = _score(g.recency, descending=True)
    g["f"] = _score(g.frequency)
    g["m"] = _score(g.monetary)
    result = g.reset_index()[COLUMNS]
    return result, {"seconds": time.perf_counter() - started}


def run_tutorial(args) -> tuple[object, dict]:
    import numpy as np
    import pandas as pd

    started = time.perf_counter()
    sales = _read_sales(args.parquet, args.as_of)
    read_seconds = time.perf_counter() - started
    buyers = sales.customer_id.unique()
    rng = np.random.default_rng(0)
    subset = rng.choice(buyers, size=min(args.subset, len(buyers)), replace=False)
    part = sales[sales.customer_id.isin(subset)]

    started = time.perf_counter()
    snapshot = pd.Timestamp(args.as_of)
    rfm = part.groupby("customer_id").agg(
        {
            "ordered_at": lambda x: (snapshot - x.max()).days,
            "order_id": lambda x: len(x),
            "net": lambda x: round(x.sum(), 2),
        }
    )
    rfm.columns = ["recency", "frequency", "monetary"]
    rfm["r"] = pd.qcut(rfm["recency"], 5, labels=[5, 4, 3, 2, 1]).astype("int64")
    rfm["f"] = pd.qcut(rfm["frequency"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5]).astype("int64")
    rfm["m"] = pd.qcut(rfm["monetary"], 5, labels=[1, 2, 3, 4, 5]).astype("int64")
    per_customer = time.perf_counter() - started
    scale = len(buyers) / len(subset)
    result = rfm.reset_index()[COLUMNS]
    return result, {
        "seconds": read_seconds + per_customer * scale,
        "measured_seconds": read_seconds + per_customer,
        "subset_customers": len(subset),
        "scale": scale,
    }


RUNNERS = {
    "segmint": run_segmint,
    "duckdb_sql": run_duckdb_sql,
    "pandas": run_pandas,
    "tutorial": run_tutorial,
}


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM is per address space, so unlike ``ru_maxrss`` (kept
    across exec on Linux) it does not include the parent's memory before the exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args) -> None:
    result, info = RUNNERS[args.child](args)
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = result if isinstance(result, pa.Table) else pa.Table.from_pandas(result, preserve_index=False)
    info["rows"] = table.num_rows
    info["peak_rss_mb"] = peak_rss_mb()
    pq.write_table(table.select(COLUMNS), args.result)
    print(json.dumps(info))


# ---- the parent: run every contender, compare, print --------------------------------------------------
def run_child(name: str, args, as_of, parquet: Path, workspace: Path, out: Path) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        name,
        "--parquet",
        str(parquet),
        "--workspace",
        str(workspace),
        "--result",
        str(out / f"{name}.parquet"),
        "--subset",
        str(args.tutorial_customers),
        "--as-of",
        as_of.isoformat(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare(out: Path) -> dict[str, str]:
    import numpy as np
    import pandas as pd

    base = pd.read_parquet(out / "duckdb_sql.parquet").sort_values("customer_id").reset_index(drop=True)
    verdicts = {}
    for name in ("segmint", "pandas", "tutorial"):
        other = pd.read_parquet(out / f"{name}.parquet").sort_values("customer_id").reset_index(drop=True)
        ref = base[base.customer_id.isin(other.customer_id)].reset_index(drop=True)
        if name != "tutorial" and len(other) != len(base):
            verdicts[name] = f"DIFFERENT: {len(other)} rows vs {len(base)}"
            continue
        same_rfm = (
            (ref.customer_id.to_numpy() == other.customer_id.to_numpy()).all()
            and (ref.recency.to_numpy() == other.recency.to_numpy()).all()
            and (ref.frequency.to_numpy() == other.frequency.to_numpy()).all()
            and np.allclose(ref.monetary.to_numpy(), other.monetary.to_numpy(), rtol=1e-9, atol=1e-6)
        )
        agree = float(
            ((ref.r == other.r) & (ref.f == other.f) & (ref.m == other.m)).mean() if len(other) else 0.0
        )
        if name == "tutorial":
            verdicts[name] = (
                f"R/F/M {'identical' if same_rfm else 'DIFFERENT'}; qcut scores agree for {agree:.1%}"
            )
        else:
            ok = same_rfm and agree == 1.0
            verdicts[name] = "identical" if ok else f"DIFFERENT (scores agree {agree:.1%})"
    verdicts["duckdb_sql"] = "reference"
    return verdicts


def parent(args) -> None:
    t0 = time.perf_counter()
    data, parquet, as_of = ensure_data(args.customers, args.seed, args.generator)
    workspace = ensure_workspace(data, args.customers, args.seed)
    prep = time.perf_counter() - t0
    for path in (parquet, workspace / "segmint.duckdb"):  # warm the page cache for everyone alike
        with open(path, "rb") as fh:
            while fh.read(1 << 24):
                pass
    import pyarrow.parquet as pq

    orders = pq.ParquetFile(parquet).metadata.num_rows
    print(f"RFM benchmark: {args.customers:,} customers, {orders:,} orders (data ready in {prep:.1f}s)")
    print(f"as of {as_of:%Y-%m-%d %H:%M}; data: {parquet}\nworkspace: {workspace}\ncpus: {os.cpu_count()}\n")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        results = {}
        for name in args.contenders:
            results[name] = run_child(name, args, as_of, parquet, workspace, out)
            print(f"  {name:<11} {results[name]['seconds']:8.2f} s", flush=True)
        verdicts = compare(out) if set(args.contenders) == set(RUNNERS) else {}

    seg = results.get("segmint", {}).get("seconds")
    print()
    print(f"{'contender':<12}{'seconds':>10}{'vs segmint':>12}{'peak RSS MB':>13}{'rows':>11}  result")
    for name, info in results.items():
        ratio = f"{info['seconds'] / seg:.1f}x" if seg else ""
        note = verdicts.get(name, "")
        if name == "tutorial":
            note += (
                f" [measured {info['measured_seconds']:.1f}s on {info['subset_customers']:,} customers,"
                f" per-customer part scaled x{info['scale']:.1f}; RSS is for the subset]"
            )
        print(
            f"{name:<12}{info['seconds']:>10.2f}{ratio:>12}{info['peak_rss_mb']:>13.0f}{info['rows']:>11,}  {note}"
        )
    if {"segmint", "duckdb_sql", "pandas", "tutorial"} <= results.keys():
        s = results["segmint"]["seconds"]
        print()
        print(f"segmint within 2x of hand-written DuckDB: {s <= 2 * results['duckdb_sql']['seconds']}")
        print(f"segmint faster than vectorised pandas:    {s < results['pandas']['seconds']}")
        print(f"segmint >= 10x faster than the tutorial:  {results['tutorial']['seconds'] >= 10 * s}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--generator",
        choices=["auto", "shop", "orders"],
        default="auto",
        help="shop: Segmint's synthetic shop; orders: the small orders-only generator; auto: shop if present",
    )
    ap.add_argument("--tutorial-customers", type=int, default=20_000, help="subset for the lambda style")
    ap.add_argument("--contenders", nargs="+", default=list(RUNNERS), choices=list(RUNNERS))
    ap.add_argument("--child", choices=list(RUNNERS), help=argparse.SUPPRESS)
    ap.add_argument("--parquet", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--workspace", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--subset", type=int, default=20_000, help=argparse.SUPPRESS)
    ap.add_argument("--as-of", type=datetime.fromisoformat, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
