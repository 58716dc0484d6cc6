"""Stored model runs (``model_runs``): writing one, listing them, finding one. Shared by the BTYD fits
(:mod:`segmint.models.predict`) and the propensity backtests (:mod:`segmint.models.propensity`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from segmint.core.schema import MODEL_RUNS
from segmint.errors import SegmintError

__all__ = ["PredictError", "list_runs", "load_run", "now", "store_run"]


class PredictError(SegmintError):
    """A predict command cannot run as asked (unknown model or run, nothing to score)."""


def now() -> datetime:
    """When a run is fitted or scored (whole seconds, UTC)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def store_run(ws: Any, run: dict[str, Any]) -> None:
    row = {
        **run,
        "parameters": json.dumps(run["parameters"]),
        "standard_errors": json.dumps(run["standard_errors"], allow_nan=True),
        "metrics": json.dumps(run["metrics"], default=float),
    }
    table = pa.Table.from_pylist([row], schema=MODEL_RUNS.schema.to_pyarrow())
    ws.store.append(MODEL_RUNS.name, table)


def list_runs(ws: Any, model: str | None = None) -> list[dict[str, Any]]:
    """Every stored run, newest first, with JSON columns decoded."""
    t = ws.table(MODEL_RUNS.name)
    if model is not None:
        t = t.filter(t.model == model)
    rows = t.order_by(t.fitted_at.desc()).to_pyarrow().to_pylist()
    for row in rows:
        for key in ("parameters", "standard_errors", "metrics"):
            row[key] = json.loads(row[key]) if row[key] else {}
    return rows


def load_run(
    ws: Any, run_id: str | None = None, models: tuple[str, ...] = ("bgnbd", "pnbd", "mbgnbd")
) -> dict:
    """A run by id, or the newest run of one of ``models``."""
    runs = [r for r in list_runs(ws) if (r["run_id"] == run_id if run_id else r["model"] in models)]
    if not runs:
        what = f"no run {run_id!r}" if run_id else f"no fitted {' / '.join(models)} model"
        raise PredictError(f"{what} in this workspace: run `segmint predict fit --model ...` first")
    return runs[0]
