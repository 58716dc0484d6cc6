"""The whole batch pipeline as of one instant: traits, then every segment of the workspace (memberships,
history, changes). `segmint run` and the demo call this; the real-time service re-evaluates only touched
customers with the same compiled rules."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from segmint.batch import segments as segments_usecase
from segmint.batch import traits as traits_usecase
from segmint.core.timeutil import parse_as_of

__all__ = ["PipelineResult", "backfill_pipeline", "run_pipeline"]


@dataclass
class PipelineResult:
    as_of: datetime
    customers: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    segments: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "customers": self.customers,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "segments": self.segments,
        }


def run_pipeline(ws, as_of: str | datetime | None = None) -> PipelineResult:
    """Traits as of ``as_of``; then, when the workspace has segments, every segment with its history."""
    instant = parse_as_of(as_of)
    result = PipelineResult(as_of=instant)
    started = time.perf_counter()
    if segments_usecase.load_definitions(ws):
        summary = segments_usecase.evaluate_segments(ws, instant, cause="run")
        result.seconds.update(summary.timings)
        result.segments = [vars(s) for s in summary.segments]
    else:
        traits_usecase.compute_traits(ws, instant)
        result.seconds["traits"] = time.perf_counter() - started
    result.customers = ws.count("traits")
    return result


def backfill_pipeline(ws, start: str | datetime, end: str | datetime, every: str) -> list[PipelineResult]:
    """Rebuild segment history at start, start + every, … ≤ end."""
    results = []
    for summary in segments_usecase.backfill(ws, start, end, every):
        results.append(
            PipelineResult(
                as_of=summary.as_of,
                customers=ws.count("traits"),
                seconds=dict(summary.timings),
                segments=[vars(s) for s in summary.segments],
            )
        )
    return results
