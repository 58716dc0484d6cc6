"""Shared synthetic shops for the generator tests: one in memory (5k customers, one block) and one
written to Parquet (1.5k customers in two blocks)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from segmint.core.synth import Shop
from segmint.demo.generate import generate_shop


@pytest.fixture(scope="session")
def shop5k() -> tuple[Shop, dict[str, pd.DataFrame]]:
    shop = Shop(customers=5000, seed=11)
    tables = shop.block(0)
    frames = {name: t.to_pandas() for name, t in tables.items()}
    frames["products"] = shop.products().to_pandas()
    return shop, frames


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "shop"
    generate_shop(out, 1500, seed=3, workers=1, block_size=800)
    return out
