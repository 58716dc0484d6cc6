"""Which cutoffs a propensity model trains and calibrates on, for a given test cutoff.

A training cutoff is usable only if its whole label window, (cutoff, cutoff + horizon], ends at or
before the test cutoff: its labels are then fully observed at the time we would score, and nothing
after the test cutoff is ever read. Cutoffs are spaced ``step`` apart (a month by default, finer than
the horizon, so overlapping windows give many more examples and cover every part of the year,
including the same season one year earlier, where shops see their biggest shift in buying).

The most recent ``calibration_span`` of cutoffs is held out to fit the probability calibration on the
scores of a probe booster trained only on cutoffs whose label windows end before the first of them, so
the calibration map is fitted on labels from a period those trees never saw, as at scoring time. The
final booster then learns from both lists (see PropensityModel.fit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["CutoffPlan", "plan_cutoffs"]


@dataclass(frozen=True)
class CutoffPlan:
    """Training cutoffs (oldest first) and the held-out calibration cutoffs (oldest first)."""

    train: list[datetime]
    calibrate: list[datetime]


def plan_cutoffs(
    test_cutoff: datetime,
    horizon: timedelta,
    history_start: datetime,
    *,
    step: timedelta = timedelta(days=30),
    min_history: timedelta = timedelta(days=60),
    calibration_span: timedelta | None = None,
) -> CutoffPlan:
    """Cutoffs c = test_cutoff - horizon - k * step (k >= 0) with at least ``min_history`` of orders
    before them. The calibration slice is the cutoffs within ``calibration_span`` (default: the
    horizon) of the latest one; training cutoffs are those whose label windows end at or before the
    first calibration cutoff. Either list may be empty when the history is short."""
    if horizon <= timedelta(0) or step <= timedelta(0):
        raise ValueError("horizon and step must be positive")
    span = calibration_span if calibration_span is not None else horizon
    latest = test_cutoff - horizon
    cutoffs: list[datetime] = []
    at = latest
    while at - history_start >= min_history:
        cutoffs.append(at)
        at -= step
    cutoffs.reverse()
    if not cutoffs:
        return CutoffPlan([], [])
    calibrate = [c for c in cutoffs if latest - c < span]
    first_cal = calibrate[0]
    train = [c for c in cutoffs if c + horizon <= first_cal]
    return CutoffPlan(train, calibrate)
