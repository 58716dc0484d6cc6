"""The shop's calendar: the generated period, and seasonal intensity curves sampled by inverse CDF.

Purchases and visits are inhomogeneous Poisson processes: a customer's base rate times a persona's daily
intensity curve (normalised to mean 1 over the period). Sampling times and expected counts on any interval
both go through the curve's cumulative integral, so everything stays vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

__all__ = ["DAY", "Calendar", "Curve"]

DAY = 86_400.0
EPOCH = datetime(1970, 1, 1)

# Share of daily activity per local hour (0..23): quiet nights, lunch bump, evening peak.
HOUR_WEIGHTS = np.array(
    [
        1.2,
        0.7,
        0.4,
        0.3,
        0.3,
        0.5,
        1.0,
        2.0,
        3.0,
        3.6,
        4.0,
        4.3,
        4.8,
        4.6,
        4.2,
        4.1,
        4.3,
        4.8,
        5.6,
        6.6,
        7.2,
        7.0,
        5.4,
        2.9,
    ]
)


def to_seconds(value: datetime) -> float:
    return (value - EPOCH).total_seconds()


def from_seconds(seconds: float) -> datetime:
    return EPOCH + timedelta(seconds=float(seconds))


def black_friday(year: int) -> date:
    """The day after the fourth Thursday of November."""
    first = date(year, 11, 1)
    thursday = first + timedelta(days=(3 - first.weekday()) % 7 + 21)
    return thursday + timedelta(days=1)


@dataclass(frozen=True)
class Curve:
    """A piecewise-constant daily intensity (mean 1) and its cumulative integral, in days."""

    grid: np.ndarray  # day boundaries in epoch seconds, len D + 1
    cum: np.ndarray  # cumulative intensity at the boundaries, in "mean days"

    def mass(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Expected-count multiplier on [a, b]: the integral of the intensity, in days."""
        return np.maximum(np.interp(b, self.grid, self.cum) - np.interp(a, self.grid, self.cum), 0.0)

    def sample(self, rng: np.random.Generator, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """One time per (a, b) pair drawn from the intensity restricted to [a, b]."""
        return self.at(a, b, rng.random(len(a)))

    def at(self, a: np.ndarray, b: np.ndarray, fraction: np.ndarray) -> np.ndarray:
        """The time that splits the intensity mass on [a, b] at ``fraction`` (0..1): uniform fractions
        give inhomogeneous-Poisson times, evenly spaced fractions give a steady cadence."""
        ca = np.interp(a, self.grid, self.cum)
        cb = np.interp(b, self.grid, self.cum)
        return np.interp(ca + fraction * (cb - ca), self.cum, self.grid)


class Calendar:
    """The generated period [start, end] and the intensity curves of the shop."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start = start
        self.end = end
        self.start_s = to_seconds(start)
        self.end_s = to_seconds(end)
        first = date(start.year, start.month, start.day)
        days = (end.date() - first).days + 1
        self.days = np.array([first + timedelta(days=i) for i in range(days)])
        self.grid = self.start_s + np.arange(days + 1, dtype=np.float64) * DAY
        self.month = np.array([d.month for d in self.days])
        self.dom = np.array([d.day for d in self.days])
        self.weekday = np.array([d.weekday() for d in self.days])
        bf = {black_friday(y) for y in range(start.year, end.year + 1)}
        self.black_week = np.array([any(0 <= (d - b).days <= 3 for b in bf) for d in self.days])
        self.hour_cdf = np.cumsum(HOUR_WEIGHTS) / HOUR_WEIGHTS.sum()

    @property
    def span(self) -> float:
        return self.end_s - self.start_s

    def curve(self, daily: np.ndarray) -> Curve:
        daily = np.asarray(daily, dtype=np.float64)
        daily = daily / daily.mean()
        cum = np.concatenate([[0.0], np.cumsum(daily)])
        return Curve(self.grid, cum)

    def retail_curve(self, gift_boost: float = 0.0) -> Curve:
        """Everyday retail seasonality: a Nov/Dec peak (Black Friday week, pre-Christmas), a soft
        January sale, a summer dip, busier weekends. ``gift_boost`` > 0 concentrates activity into the
        gift season (mid-November to Christmas) for seasonal shoppers."""
        m, dom = self.month, self.dom
        base = np.ones(len(self.days))
        base[m == 1] = 1.05
        base[(m == 7) | (m == 8)] = 0.85
        base[m == 11] = 1.35
        base[(m == 12) & (dom <= 20)] = 1.8
        base[(m == 12) & (dom > 20)] = 1.0
        base[self.black_week] = 3.0
        base *= np.where(self.weekday >= 5, 1.12, 1.0)
        if gift_boost:
            season = ((m == 11) & (dom >= 10)) | ((m == 12) & (dom <= 23))
            base = base * np.where(season, gift_boost, 1.0)
        return self.curve(base)

    def email_curve(self, holiday_boost: float = 4.0) -> Curve:
        """Campaign email intensity: a quiet base and a holiday push (November, and December up to
        Christmas) when retailers send several times as many campaigns."""
        m, dom = self.month, self.dom
        holiday = (m == 11) | ((m == 12) & (dom <= 24))
        return self.curve(np.where(holiday, holiday_boost, 1.0))

    def local_clock(self, rng: np.random.Generator, t: np.ndarray, longitude: np.ndarray) -> np.ndarray:
        """Keep the day of ``t`` and draw the hour from the daily rhythm in the customer's local time
        (approximated from longitude), returned as UTC epoch seconds."""
        day = np.floor((t - self.start_s) / DAY)
        hour = np.searchsorted(self.hour_cdf, rng.random(len(t)))
        local = hour * 3600.0 + rng.random(len(t)) * 3600.0
        offset = np.round(longitude / 15.0) * 3600.0
        return self.start_s + day * DAY + local - offset
