"""Fixtures for the model tests: the CDNOW sample as canonical orders, in a workspace and in memory."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import ibis
import numpy as np
import pyarrow as pa
import pytest

from segmint.core.models.summary import calibration_summary
from segmint.core.schema import ORDERS

CALIBRATION_END = "1997-09-30"
HOLDOUT_END = "1998-06-30"


def cdnow_sample_orders(path: Path) -> pa.Table:
    """Each line of CDNOW_sample.txt (master_id sample_id yyyymmdd cds dollars) as one paid order."""
    ids, when, cds, dollars = [], [], [], []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) != 5:
            continue
        ids.append(parts[1])
        when.append(datetime.strptime(parts[2], "%Y%m%d"))
        cds.append(int(parts[3]))
        dollars.append(float(parts[4]))
    n = len(ids)
    return pa.table(
        {
            "order_id": [f"{c}-{i}" for i, c in enumerate(ids)],
            "customer_id": ids,
            "ordered_at": pa.array(when, pa.timestamp("us")),
            "status": ["paid"] * n,
            "total": dollars,
            "items_count": cds,
        }
    )


@pytest.fixture(scope="session")
def cdnow_orders(cdnow_dir: Path) -> pa.Table:
    return cdnow_sample_orders(cdnow_dir / "CDNOW_sample.txt")


@pytest.fixture(scope="session")
def cdnow_summary(cdnow_orders: pa.Table):
    """The calibration/holdout summary built by Segmint's own summary code on an in-memory DuckDB."""
    con = ibis.duckdb.connect()
    orders = con.create_table("orders", cdnow_orders)
    df = calibration_summary(orders, CALIBRATION_END, HOLDOUT_END, "W").to_pandas()
    return df.sort_values("customer_id").reset_index(drop=True)


@pytest.fixture(scope="session")
def cdnow_xtT(cdnow_summary) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = cdnow_summary
    return s.x.to_numpy(), s.t_x.to_numpy(), s["T"].to_numpy()


def load_orders(ws, table: pa.Table) -> None:
    """Put canonical orders into a workspace the way importers do: stage, then upsert by key."""
    schema = pa.schema([pa.field(c, table.schema.field(c).type) for c in table.column_names])
    with ws.store.transaction():
        staged = ws.store.stage(table.to_batches(), schema)
        ws.store.upsert(ORDERS, staged)
        ws.store.drop(staged)
