"""Customer lifetime value as Fader, Hardie & Lee compute it: expected transactions in each month of the
horizon times the expected spend per transaction, discounted month by month (a discounted-cash-flow sum,
not the closed-form DERL, so any transaction model can be plugged in)."""

from __future__ import annotations

from typing import Any

import numpy as np

from segmint.core.models.btyd._transactions import TransactionFitter
from segmint.core.models.btyd.errors import ModelInputError

__all__ = ["customer_lifetime_value"]

DAYS_PER_UNIT = {"D": 1.0, "W": 7.0}


def customer_lifetime_value(
    model: TransactionFitter,
    x: Any,
    t_x: Any,
    T: Any,
    spend: Any,
    *,
    months: int = 12,
    monthly_discount_rate: float = 0.01,
    time_unit: str = "W",
    margin: float = 1.0,
) -> np.ndarray:
    """Sum over months i = 1..months of (E[Y(i)] - E[Y(i-1)]) * spend * margin / (1 + d)^i, where a month
    is 30 days expressed in the model's time unit ('W' weeks or 'D' days) and ``spend`` is the expected
    value per transaction (e.g. GammaGammaFitter.conditional_expected_average_spend)."""
    if time_unit not in DAYS_PER_UNIT:
        raise ModelInputError(f"time_unit must be 'W' or 'D', got {time_unit!r}")
    if months < 1:
        raise ModelInputError("months must be >= 1")
    if monthly_discount_rate <= -1:
        raise ModelInputError("monthly_discount_rate must be > -1 (e.g. 0.01 for 1% a month)")
    month = 30.0 / DAYS_PER_UNIT[time_unit]
    spend = np.asarray(spend, dtype=float)
    previous = np.zeros(np.broadcast(np.asarray(x), np.asarray(t_x), np.asarray(T)).shape)
    total = np.zeros_like(previous)
    for i in range(1, months + 1):
        current = model.conditional_expected_purchases(i * month, x, t_x, T)
        total += (current - previous) / (1.0 + monthly_discount_rate) ** i
        previous = current
    return total * spend * margin
