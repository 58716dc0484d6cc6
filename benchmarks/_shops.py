"""Generated shops for the benchmarks, built once and cached: the synthetic shop's Parquet files and a
workspace with them loaded (``--cache``, git-ignored). Generating and loading 1M customers takes
minutes and is not what the benchmarks measure; each benchmark copies the loaded workspace before
writing to it."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from segmint.adapters.workspace import Workspace
from segmint.demo.generate import generate_shop, load_generated


def shop(cache: Path, customers: int) -> Path:
    out = cache / f"shop_{customers}"
    if not (out / "meta.json").exists():
        started = time.perf_counter()
        generate_shop(out, customers, seed=1)
        print(f"  generated {customers:,} customers in {time.perf_counter() - started:.1f} s")
    return out


def loaded(cache: Path, customers: int, data: Path) -> Path:
    """A workspace with the generated shop loaded, kept under the cache: loading 1M customers takes
    minutes and is not what this benchmark measures. Reloaded when the shop's meta.json changes."""
    out = cache / f"loaded_{customers}"
    meta = (data / "meta.json").read_text()
    if (out / "meta.json").exists() and (out / "meta.json").read_text() == meta:
        return out
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    ws = Workspace.init(out / "shop")
    load_generated(ws, data)
    ws.close()
    (out / "meta.json").write_text(meta)
    print(f"  loaded {customers:,} customers in {time.perf_counter() - started:.1f} s")
    return out


@contextmanager
def fresh_copy(cache: Path, source: Path) -> Iterator[Path]:
    """A throw-away copy of a loaded workspace (``source`` from :func:`loaded`), removed afterwards."""
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        shutil.copytree(source / "shop", Path(tmp) / "shop")
        yield Path(tmp) / "shop"
