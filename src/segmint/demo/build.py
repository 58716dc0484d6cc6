"""The demo shop: generate a synthetic shop, import it, run the whole pipeline (traits, the ready-made
segments with history, BTYD value models, clusters) and summarise it. Re-running with the same size and
seed reuses the built workspace, so `make demo` is quick the second time."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from segmint.adapters.workspace import Workspace
from segmint.batch import reads
from segmint.batch.definitions import install_library
from segmint.batch.pipeline import run_pipeline
from segmint.core.progress import NO_PROGRESS, Progress
from segmint.demo.generate import generate_shop, generated_end, load_generated
from segmint.models import clusters as cluster_usecase
from segmint.models import predict as predict_usecase

__all__ = ["DemoSummary", "build_demo"]

MARKER = "demo.json"


@dataclass
class DemoSummary:
    workspace: Path
    as_of: datetime
    reused: bool
    counts: dict[str, int] = field(default_factory=dict)
    revenue: float = 0.0
    segments: list[dict[str, Any]] = field(default_factory=list)
    models: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "workspace": str(self.workspace),
            "as_of": self.as_of.isoformat(),
            "reused": self.reused,
            "counts": self.counts,
            "revenue": round(self.revenue, 2),
            "segments": self.segments,
            "models": self.models,
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
        }


# Bumped when what a build contains changes (e.g. model runs gained the holdout-fit tables), so a shop
# built earlier the same day by an older Segmint is rebuilt rather than reused.
BUILD_FORMAT = 3


def build_demo(
    root: Path,
    customers: int = 20_000,
    seed: int = 7,
    rebuild: bool = False,
    step: Callable[[str], None] = lambda _msg: None,
    *,
    progress: Progress = NO_PROGRESS,
) -> DemoSummary:
    """Build (or reuse) the demo shop under ``root``. Each stage is announced to ``step`` and, with the
    units of work inside it (blocks generated, tables loaded, pipeline runs, models fitted), to
    ``progress``, so one display can follow the whole build."""
    root = Path(root).resolve()
    shop, data = root / "shop", root / "data"
    # The demo's history ends now, so the live service (which evaluates at the current time) and the
    # batch run agree, and "last 7 days" segments are about this week. A new day means a new build.
    end = datetime.now(UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=730)
    wanted = {"customers": customers, "seed": seed, "day": end.date().isoformat(), "format": BUILD_FORMAT}
    marker = shop / MARKER
    if not rebuild and marker.exists() and json.loads(marker.read_text()).get("build") == wanted:
        with Workspace.open(shop) as ws:
            as_of = datetime.fromisoformat(json.loads(marker.read_text())["as_of"])
            return _summarise(ws, as_of, reused=True, seconds={})

    def stage(message: str) -> None:
        step(message)
        progress(0, None, message)

    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    if shop.exists():
        for leftover in shop.glob("segmint.duckdb*"):
            leftover.unlink()
    stage(f"generating a shop of {customers:,} customers")
    generate_shop(data, customers, seed=seed, start=start, end=end, progress=progress)
    as_of = generated_end(data)
    seconds["generate"] = time.perf_counter() - clock

    with Workspace.init(shop, name="demo-shop") as ws:
        clock = time.perf_counter()
        stage("loading it into the workspace")
        load_generated(ws, data, progress=progress)
        seconds["load"] = time.perf_counter() - clock

        clock = time.perf_counter()
        stage("installing the ready-made segments and running the pipeline")
        install_library(ws, overwrite=True)
        # A few weekly runs before the final one give the dashboard history to show.
        run_times = [as_of - timedelta(weeks=weeks_back) for weeks_back in (4, 3, 2, 1)]
        for done, when in enumerate(run_times):
            progress(done, len(run_times), f"running the pipeline as of {when:%Y-%m-%d}")
            run_pipeline(ws, when)
        seconds["pipeline"] = time.perf_counter() - clock

        clock = time.perf_counter()
        stage("fitting value models (BG/NBD, Gamma-Gamma) and scoring every customer")
        models: dict[str, Any] = {}
        calibration_end = as_of - timedelta(days=180)
        for done, model in enumerate(("bgnbd", "gg")):
            progress(done, 5, f"fitting {model} with a holdout")
            run = predict_usecase.fit_model(ws, model, calibration_end=calibration_end, holdout_end=as_of)
            models[model] = {"run_id": run.get("run_id"), "parameters": run.get("parameters")}
        progress(2, 5, "fitting bgnbd on the whole history")
        final = predict_usecase.fit_model(ws, "bgnbd", calibration_end=as_of)
        progress(3, 5, "fitting gg on the whole history")
        predict_usecase.fit_model(ws, "gg", calibration_end=as_of)
        progress(4, 5, "scoring every customer")
        predict_usecase.score(ws, final.get("run_id"), as_of)
        seconds["models"] = time.perf_counter() - clock

        # The final run comes after scoring, so its traits hold the predictions and the predictive
        # segments have their members in the batch run as in the live service.
        clock = time.perf_counter()
        stage("running the pipeline as of the end of the data")
        run_pipeline(ws, as_of)
        seconds["pipeline"] += time.perf_counter() - clock

        clock = time.perf_counter()
        stage("clustering customers")
        fit = cluster_usecase.fit_clusters(ws, as_of=as_of, name="default")
        models["clusters"] = {"k": fit.to_dict().get("k")}
        seconds["clusters"] = time.perf_counter() - clock

        marker.write_text(json.dumps({"build": wanted, "as_of": as_of.isoformat()}))
        summary = _summarise(ws, as_of, reused=False, seconds=seconds)
        summary.models = models
        return summary


def _summarise(ws: Workspace, as_of: datetime, reused: bool, seconds: dict[str, float]) -> DemoSummary:
    counts = {name: ws.count(name) for name in ("customers", "orders", "order_lines", "events", "products")}
    orders = ws.table("orders")
    sales = orders.filter(orders.status.isin(["paid", "partially_refunded"]))
    revenue = (sales.total - sales.refunded_amount.fill_null(0)).sum().to_pyarrow().as_py() or 0.0
    sizes = sorted(reads.counts(ws).items(), key=lambda kv: (-kv[1], kv[0]))
    return DemoSummary(
        workspace=ws.root,
        as_of=as_of,
        reused=reused,
        counts=counts,
        revenue=float(revenue),
        segments=[{"segment": name, "members": n} for name, n in sizes],
        seconds=seconds,
    )
