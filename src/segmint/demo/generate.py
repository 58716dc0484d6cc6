"""Generate a synthetic shop to Parquet, and load a generated shop into a workspace.

Layout of a generated shop folder::

    customers.parquet  products.parquet  identities.parquet  personas.parquet
    orders/part-00000.parquet ...  order_lines/part-*.parquet  events/part-*.parquet
    meta.json          seed, counts, start/end (written last: its presence marks a complete shop)

Customer blocks are generated in worker processes (bounded memory: one block per worker at a time); the
big tables are written as one part per block by the worker, the small per-customer tables are appended in
block order by the parent, so the same seed gives byte-identical files whatever the number of workers.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import time as _time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from segmint.core.progress import NO_PROGRESS, Progress
from segmint.core.schema import TABLES
from segmint.core.synth import BLOCK_SIZE, DEFAULT_END, DEFAULT_START, PERSONAS, Shop, arrow_schema
from segmint.errors import SegmintError

__all__ = ["GenerateError", "generate_shop", "generated_end", "load_generated", "parse_period_bound"]

PART_TABLES = ("orders", "order_lines", "events")
FILE_TABLES = ("customers", "identities", "personas")
# Load order matters: orders before order_lines (an order upsert clears its lines).
LOAD_ORDER = ("products", "customers", "orders", "order_lines", "events", "identities", "personas")
META = "meta.json"
COMPRESSION = "zstd"
GENERATOR_VERSION = 1


class GenerateError(SegmintError):
    """Bad generation settings or a folder that is not a generated shop."""


def parse_period_bound(value: str | date | datetime | None, *, end: bool) -> datetime | None:
    """``2025-12-31`` as a start means midnight; as an end it means the last second of that day."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time(23, 59, 59) if end else time())
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise GenerateError(
            f"cannot read {value!r} as a date: write e.g. 2025-12-31 or 2025-12-31T18:00"
        ) from None
    if parsed.tzinfo is not None:
        raise GenerateError(f"{value!r}: give the period in UTC without a time zone")
    if end and len(value.strip()) <= 10:
        parsed = datetime.combine(parsed.date(), time(23, 59, 59))
    return parsed


def generate_shop(
    out_dir: Path,
    customers: int,
    seed: int = 0,
    start: str | date | datetime | None = None,
    end: str | date | datetime | None = None,
    progress: Progress = NO_PROGRESS,
    workers: int | None = None,
    stats: dict | None = None,
    block_size: int | None = None,
) -> dict[str, Path]:
    """Write a synthetic shop of ``customers`` customers to ``out_dir``; returns table name -> Parquet
    file or folder of parts. ``workers`` defaults to the machine's cores (at most one per block).
    ``block_size`` (customers per block) changes the data, so keep the default unless testing.
    ``stats``, when given, receives the row counts and the CPU seconds spent in block generation (kept
    out of meta.json so the files stay byte-identical run to run). ``progress`` hears of each block of
    customers written."""
    start_dt = parse_period_bound(start, end=False) or DEFAULT_START
    end_dt = parse_period_bound(end, end=True) or DEFAULT_END
    if customers < 1:
        raise GenerateError("--customers must be at least 1")
    if seed < 0:
        raise GenerateError("--seed must be zero or positive")
    if end_dt <= start_dt + (DEFAULT_END - DEFAULT_START) / 8:
        raise GenerateError(
            f"the period {start_dt:%Y-%m-%d} .. {end_dt:%Y-%m-%d} is too short: give at least ~3 months"
        )
    out = Path(out_dir)
    _prepare(out)
    shop = Shop(
        customers=customers, seed=seed, start=start_dt, end=end_dt, block_size=block_size or BLOCK_SIZE
    )
    paths = {name: out / f"{name}.parquet" for name in ("customers", "products", "identities", "personas")}
    paths.update({name: out / name for name in PART_TABLES})
    for name in PART_TABLES:
        paths[name].mkdir()
    pq.write_table(shop.products(), paths["products"], compression=COMPRESSION)

    counts = {name: 0 for name in (*FILE_TABLES, *PART_TABLES)}
    counts["products"] = shop.products().num_rows
    cpu = 0.0
    writers = {
        name: pq.ParquetWriter(paths[name], arrow_schema(name), compression=COMPRESSION)
        for name in FILE_TABLES
    }
    blocks = f"{shop.blocks} block{'s' if shop.blocks != 1 else ''}"
    progress(0, shop.blocks, f"generating {customers:,} customers in {blocks}")
    try:
        for done, result in enumerate(_run_blocks(shop, out, workers), start=1):
            for name, n in result["counts"].items():
                counts[name] += n
            cpu += result["cpu_seconds"]
            for name in FILE_TABLES:
                writers[name].write_table(result[name])
            progress(done, shop.blocks, f"generated block {done} of {shop.blocks}")
    finally:
        for writer in writers.values():
            writer.close()
    meta = {
        "generator": "segmint.synth",
        "version": GENERATOR_VERSION,
        "seed": seed,
        "customers": customers,
        "start": start_dt.isoformat(),
        "end": end_dt.isoformat(),
        "block_size": shop.block_size,
        "blocks": shop.blocks,
        "personas": [p.name for p in PERSONAS],
        "counts": counts,
    }
    (out / META).write_text(json.dumps(meta, indent=2) + "\n")
    if stats is not None:
        stats.update(counts=dict(counts), cpu_seconds=cpu, blocks=shop.blocks)
    return paths


def _prepare(out: Path) -> None:
    """Create the folder, clearing a previous generated shop's files (and only those)."""
    if out.exists() and not out.is_dir():
        raise GenerateError(f"{out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    (out / META).unlink(missing_ok=True)
    for name in PART_TABLES:
        if (out / name).is_dir():
            shutil.rmtree(out / name)
    for name in (*FILE_TABLES, "products"):
        (out / f"{name}.parquet").unlink(missing_ok=True)


def _run_blocks(shop: Shop, out: Path, workers: int | None) -> Iterator[dict]:
    """Block results in block order, from worker processes when there is more than one block."""
    workers = max(1, min(workers or os.cpu_count() or 1, shop.blocks))
    args = [
        (shop.customers, shop.seed, shop.start, shop.end, shop.block_size, b, str(out))
        for b in range(shop.blocks)
    ]
    if workers == 1:
        for a in args:
            yield _block_job(*a, shop=shop)
        return
    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    ctx = mp.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload([__name__])
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        yield from pool.map(_block_job, *zip(*args, strict=True))


_SHOPS: dict[tuple, Shop] = {}


def _block_job(
    customers: int,
    seed: int,
    start: datetime,
    end: datetime,
    block_size: int,
    block: int,
    out: str,
    shop: Shop | None = None,
) -> dict:
    """Generate one block, write its parts of the big tables, return the small tables and counts."""
    started = _time.process_time()
    key = (customers, seed, start, end, block_size)
    if shop is None:
        shop = _SHOPS.get(key)
        if shop is None:
            shop = _SHOPS[key] = Shop(customers, seed=seed, start=start, end=end, block_size=block_size)
    tables = shop.block(block)
    for name in PART_TABLES:
        pq.write_table(
            tables[name],
            Path(out) / name / f"part-{block:05d}.parquet",
            compression=COMPRESSION,
            use_dictionary=_dictionary_columns(name),
        )
    result: dict = {name: tables[name] for name in FILE_TABLES}
    result["counts"] = {name: t.num_rows for name, t in tables.items()}
    result["cpu_seconds"] = _time.process_time() - started
    return result


# Columns that are (nearly) unique per row: dictionary-encoding them only costs time, so Parquet
# dictionaries are kept to the repetitive text columns (names, labels, product and customer ids).
UNIQUE_COLUMNS = {"session_id", "cart_id", "anonymous_id"}


def _dictionary_columns(name: str) -> list[str]:
    key = set(TABLES[name].key)
    return [
        f.name
        for f in arrow_schema(name)
        if pa.types.is_string(f.type) and f.name not in UNIQUE_COLUMNS and f.name not in key
    ]


def _read_meta(out_dir: Path) -> dict:
    path = Path(out_dir) / META
    if not path.is_file():
        raise GenerateError(
            f"{out_dir} is not a generated shop (no {META}): run `segmint generate --out {out_dir}` first"
        )
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise GenerateError(f"{path} is damaged: {exc}") from None


def generated_end(out_dir: Path) -> datetime:
    """The instant the generated history ends: a sensible default ``as_of`` for demos and tests."""
    return datetime.fromisoformat(_read_meta(out_dir)["end"])


def _files(out_dir: Path, name: str) -> list[Path]:
    single = out_dir / f"{name}.parquet"
    if single.is_file():
        return [single]
    return sorted((out_dir / name).glob("part-*.parquet"))


def _batches(files: list[Path], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=256_000):
            yield batch if batch.schema.equals(schema) else batch.cast(schema)


def load_generated(ws, out_dir: Path, *, progress: Progress = NO_PROGRESS) -> dict[str, int]:
    """Load every table of a generated shop (personas included) into the workspace, in one transaction.
    Loading by key, so loading the same shop twice changes nothing. Returns rows loaded per table.
    ``progress`` hears of each table loaded."""
    out = Path(out_dir)
    meta = _read_meta(out)
    loaded: dict[str, int] = {}
    expected = meta.get("counts", {})
    with ws.store.transaction():
        for step, name in enumerate(LOAD_ORDER):
            progress(step, len(LOAD_ORDER), f"loading {name}")
            files = _files(out, name)
            if not files:
                raise GenerateError(f"{out} lacks the {name} table: regenerate the shop")
            schema = arrow_schema(name)
            staged = ws.store.stage(_batches(files, schema), schema, prefix=f"gen_{name}")
            try:
                loaded[name] = int(ws.store.count(staged))
                if name in expected and expected[name] != loaded[name]:
                    raise GenerateError(
                        f"{out}: {name} holds {loaded[name]} rows but meta.json says {expected[name]}: "
                        "regenerate the shop"
                    )
                ws.store.upsert(TABLES[name], staged)
            finally:
                ws.store.drop(staged)
    progress(len(LOAD_ORDER), len(LOAD_ORDER), f"loaded {sum(loaded.values()):,} rows")
    return loaded
