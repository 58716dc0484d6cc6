"""The whole batch pipeline as of one instant: traits, then every segment of the workspace (memberships,
history, changes). `segmint run` and the demo call this; the real-time service re-evaluates only touched
customers with the same compiled rules."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from segmint.adapters.workspace import Workspace
from segmint.batch import evaluate
from segmint.batch.definitions import load_definitions
from segmint.batch.reads import data_end
from segmint.batch.traits import compute_traits
from segmint.core.progress import NO_PROGRESS, Progress
from segmint.core.timeutil import parse_as_of

__all__ = ["PipelineResult", "backfill_pipeline", "run_pipeline"]


@dataclass
class PipelineResult:
    as_of: datetime
    customers: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    segments: list[dict[str, Any]] = field(default_factory=list)
    traits_reused: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "customers": self.customers,
            "traits_reused": self.traits_reused,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "segments": self.segments,
        }


def run_pipeline(ws: Workspace, as_of: str | datetime | None = None) -> PipelineResult:
    """Traits as of ``as_of`` (default: the end of the workspace's data); then, when the workspace has
    segments, every segment with its history."""
    instant = parse_as_of(as_of) if as_of is not None else data_end(ws)
    result = PipelineResult(as_of=instant)
    started = time.perf_counter()
    # Traits first, for every customer and trait (the stored table the dashboard and reads use), then
    # the segments, which find them valid for this time.
    result.traits_reused = compute_traits(ws, instant).reused
    result.seconds["traits"] = time.perf_counter() - started
    if load_definitions(ws):
        summary = evaluate.evaluate_segments(ws, instant, cause="run")
        result.seconds.update({k: v for k, v in summary.timings.items() if k != "traits"})
        result.segments = [vars(s) for s in summary.segments]
    result.customers = ws.count("traits")
    return result


def backfill_pipeline(
    ws: Workspace, start: str | datetime, end: str | datetime, every: str, progress: Progress = NO_PROGRESS
) -> list[PipelineResult]:
    """Rebuild segment history at start, start + every, … ≤ end."""
    results = []
    for summary in evaluate.backfill(ws, start, end, every, progress=progress):
        results.append(
            PipelineResult(
                as_of=summary.as_of,
                customers=ws.count("traits"),
                seconds=dict(summary.timings),
                segments=[vars(s) for s in summary.segments],
                traits_reused=summary.traits_reused,
            )
        )
    return results
