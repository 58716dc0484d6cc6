"""Benchmark data for the RFM comparison: customers and orders in the canonical schema, as Parquet.

Uses Segmint's synthetic shop (``segmint.demo.generate``) when it is installed; otherwise a small
vectorised generator here writes the two tables the RFM contenders need: ~10 orders per customer over
three years (Poisson counts, log-normal totals), with refunds, cancellations, guest orders and orders
after ``AS_OF`` so every contender has to filter the same way. Data is cached per size and seed.
"""

from __future__ import annotations

import glob
import os
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from segmint.core.schema import CANONICAL

AS_OF = datetime(2025, 1, 1)
DATA_ROOT = Path(__file__).resolve().parent / ".data"


def _ids(prefix: str, numbers: np.ndarray) -> pa.Array:
    text = pc.utf8_lpad(pa.array(numbers).cast(pa.string()), width=8, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), text, pa.scalar(""))


def _canonical(name: str, columns: dict[str, pa.Array]) -> pa.Table:
    schema = CANONICAL[name].schema.to_pyarrow()
    n = len(next(iter(columns.values())))
    arrays = [columns.get(f.name, pa.nulls(n, f.type)).cast(f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def generate_orders(out: Path, customers: int, seed: int) -> None:
    """Write customers.parquet and orders.parquet (canonical schemas) to ``out``."""
    rng = np.random.default_rng(seed)
    cust_ids = _ids("C", np.arange(customers))
    created = np.datetime64(AS_OF) - rng.integers(0, 3 * 365 * 86400, customers).astype("timedelta64[s]")
    pq.write_table(
        _canonical(
            "customers", {"customer_id": cust_ids, "created_at": pa.array(created, pa.timestamp("us"))}
        ),
        out / "customers.parquet",
    )
    counts = rng.poisson(10.0, customers)
    owner = np.repeat(np.arange(customers), counts)
    n = len(owner)
    span = 3 * 365 * 86400
    # Mostly before AS_OF, 2 % after it (must be invisible).
    offsets = rng.integers(-span, span // 50, n).astype("timedelta64[s]")
    ordered_at = np.datetime64(AS_OF) + offsets
    status = rng.choice(
        np.array(["paid", "partially_refunded", "refunded", "cancelled"]), n, p=[0.93, 0.03, 0.02, 0.02]
    )
    total = np.round(rng.lognormal(4.0, 0.7, n), 2)
    refunded = np.where(
        status == "partially_refunded",
        np.round(total * 0.3, 2),
        np.where(status == "refunded", total, 0.0),
    )
    customer = pc.take(cust_ids, pa.array(owner))
    guest = rng.random(n) < 0.01
    customer = pc.if_else(pa.array(guest), pa.scalar(None, pa.string()), customer)
    orders = _canonical(
        "orders",
        {
            "order_id": _ids("O", np.arange(n)),
            "customer_id": customer,
            "ordered_at": pa.array(ordered_at, pa.timestamp("us")),
            "status": pa.array(status),
            "total": pa.array(total),
            "refunded_amount": pa.array(refunded),
        },
    )
    pq.write_table(orders, out / "orders.parquet", row_group_size=1_000_000)


def _real_generator():
    try:
        from segmint.demo.generate import generate_shop, load_generated
    except ImportError:
        return None
    return generate_shop, load_generated


def ensure_data(customers: int, seed: int = 7, generator: str = "auto") -> tuple[Path, Path, datetime]:
    """(directory with the Parquet files, Parquet file of orders, as_of), generating them once. The
    as_of is the end of the synthetic shop's history, or ``AS_OF`` for the fallback generator."""
    real = _real_generator() if generator in ("auto", "shop") else None
    if generator == "shop" and real is None:
        raise SystemExit("--generator shop needs segmint.demo.generate")
    kind = "shop" if real else "orders"
    out = DATA_ROOT / f"{kind}_{customers}_{seed}"
    done = out / ".complete"
    if not done.exists():
        out.mkdir(parents=True, exist_ok=True)
        if real:
            real[0](out, customers, seed)
        else:
            generate_orders(out, customers, seed)
        done.touch()
    as_of = AS_OF
    if real:
        from segmint.demo.generate import generated_end

        as_of = generated_end(out)
    return out, orders_parquet(out), as_of


def orders_parquet(out: Path) -> Path:
    """The orders Parquet file of a data folder, whichever generator wrote it (one file or a folder)."""
    direct = out / "orders.parquet"
    if direct.is_file():
        return direct
    matches = sorted(glob.glob(str(out / "orders" / "*.parquet")))
    if not matches:
        raise FileNotFoundError(f"no orders Parquet under {out}")
    if len(matches) > 1:
        single = out / "_orders_single.parquet"
        if not single.exists():
            pq.write_table(pq.ParquetDataset(matches).read(), single)
        return single
    return Path(matches[0])


def ensure_workspace(data: Path, customers: int, seed: int) -> Path:
    """A Segmint workspace (DuckDB file) holding the data, built once."""
    from segmint.adapters.workspace import Workspace

    root = data / "workspace"
    if (root / ".complete").exists():
        return root
    real = _real_generator() if data.name.startswith("shop_") else None
    with Workspace.init(root) as ws:
        ws.con.raw_sql("SET enable_progress_bar = false")
        if real:
            real[1](ws, data)
        else:
            for name in ("customers", "orders"):
                path = os.fspath(data / f"{name}.parquet").replace("'", "''")
                ws.con.raw_sql(f"INSERT INTO {name} BY NAME SELECT * FROM read_parquet('{path}')")
        ws.con.raw_sql("CHECKPOINT")
    (root / ".complete").touch()
    return root
