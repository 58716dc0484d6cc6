"""How well a fitted purchase model describes the calibration period and forecasts the holdout: the three
checks of Fader, Hardie & Lee (2005, section 5) on CDNOW.

* :func:`frequency_histogram` — customers by number of repeat purchases in calibration, actual against
  the model's expectation sum_i P(X(T_i) = n) (their Figure 2).
* :func:`cohort_tracking` — cumulative repeat transactions of the whole cohort, period by period through
  calibration and holdout, actual against sum_i E[X(t - s_i)] for customers acquired at s_i (Figure 3;
  the holdout part is an unconditional forecast).
* :func:`holdout_by_frequency` — mean holdout purchases of customers grouped by calibration frequency,
  actual against the conditional expectation E[Y(t) | x, t_x, T] (Figure 4).

Everything works on arrays (or the small per-day table of :func:`cohort_daily_transactions`), so it
runs the same whichever engine built the summary. Work is done once per distinct T or acquisition day,
not per customer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from segmint.core.models.btyd._transactions import TransactionFitter
from segmint.core.models.btyd.errors import ModelInputError

__all__ = ["cohort_tracking", "frequency_histogram", "holdout_by_frequency"]


def _labels(censor: int) -> list[str]:
    return [str(n) for n in range(censor)] + [f"{censor}+"]


def _check_censor(censor: int) -> None:
    if not isinstance(censor, int) or censor < 1:
        raise ModelInputError("censor must be a whole number of at least 1")


def frequency_histogram(model: TransactionFitter, x: Any, T: Any, censor: int = 7) -> pd.DataFrame:
    """Customers with 0, 1, ..., censor-1 and censor-or-more repeat purchases in calibration: columns
    ``purchases``, ``actual`` and ``expected`` (the last bin takes the rest, so both columns sum to the
    number of customers)."""
    _check_censor(censor)
    x = np.asarray(x, dtype=float)
    T = np.asarray(T, dtype=float)
    lengths, counts = np.unique(T, return_counts=True)
    n = np.arange(censor, dtype=float)
    pmf = model.probability_of_purchases(n[None, :], lengths[:, None])
    expected = counts @ pmf
    expected = np.append(expected, x.size - expected.sum())
    actual = np.bincount(np.minimum(x, censor).astype(np.int64), minlength=censor + 1)
    return pd.DataFrame({"purchases": _labels(censor), "actual": actual, "expected": expected})


def holdout_by_frequency(
    model: TransactionFitter,
    x: Any,
    t_x: Any,
    T: Any,
    x_holdout: Any,
    duration: float,
    censor: int = 7,
    expected: Any = None,
) -> pd.DataFrame:
    """Customers grouped by calibration repeat purchases (censored at ``censor``): ``customers`` per
    group and their mean holdout purchases, ``actual`` and ``expected`` (conditional expectation over
    the holdout of length ``duration``; pass ``expected`` when it is already computed per customer)."""
    _check_censor(censor)
    x = np.asarray(x, dtype=float)
    if expected is None:
        expected = model.conditional_expected_purchases(duration, x, t_x, T)
    group = np.minimum(x, censor).astype(np.int64)
    customers = np.bincount(group, minlength=censor + 1)
    actual_sum = np.bincount(group, weights=np.asarray(x_holdout, dtype=float), minlength=censor + 1)
    expected_sum = np.bincount(group, weights=expected, minlength=censor + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame(
            {
                "calibration_purchases": _labels(censor),
                "customers": customers,
                "actual": actual_sum / customers,
                "expected": expected_sum / customers,
            }
        )


def cohort_tracking(
    model: TransactionFitter,
    daily: pd.DataFrame,
    calibration_end_day: int,
    last_day: int,
    unit_days: int,
) -> pd.DataFrame:
    """Cumulative repeat transactions of the cohort at the end of each period, actual and expected.

    ``daily`` has one row per day (days since 1970-01-01) with ``first_purchases`` and
    ``repeat_transactions`` (see :func:`segmint.core.models.summary.cohort_daily_transactions`). Periods
    are ``unit_days`` long and aligned so that one ends with the calibration end (day included, as in
    the summary), going back to the first acquisition and forward to ``last_day`` (the last period may
    be shorter). A customer acquired on day b has, by the end of day e, E[X((e - b) / unit_days)] repeat
    purchases expected, the same time convention as T in the summary.

    Columns: ``period`` (1 = the first), ``end_day``, ``holdout`` (True after the calibration end),
    ``actual``, ``expected`` (both cumulative) and the per-period ``actual_incremental`` and
    ``expected_incremental``.
    """
    if unit_days < 1:
        raise ModelInputError("unit_days must be at least 1")
    if last_day < calibration_end_day:
        raise ModelInputError("the tracking must reach at least the calibration end")
    days = daily["day"].to_numpy(np.int64)
    births = daily["first_purchases"].to_numpy(float)
    repeats = daily["repeat_transactions"].to_numpy(np.int64)
    if births.sum() == 0:
        raise ModelInputError("no customer was acquired on or before the calibration end")
    origin = int(days[births > 0].min())
    back = -(-(calibration_end_day - origin + 1) // unit_days)  # periods up to the calibration end
    forward = -(-(last_day - calibration_end_day) // unit_days)
    ends = calibration_end_day + unit_days * np.arange(-back + 1, forward + 1)
    ends[-1] = min(ends[-1], last_day)
    born = births > 0
    birth_days, birth_counts = days[born], births[born]
    age = (ends[:, None] - birth_days[None, :]) / unit_days
    exposure = np.where(age > 0, age, 0.0)
    expected = model.expected_purchases_new_customer(exposure) @ birth_counts
    # Repeats up to each period end: cumulative sums over the sorted days, read at each end.
    order = np.argsort(days, kind="stable")
    cumulative = np.concatenate([[0], np.cumsum(repeats[order])])
    actual = cumulative[np.searchsorted(days[order], ends, side="right")]
    return pd.DataFrame(
        {
            "period": np.arange(1, ends.size + 1),
            "end_day": ends,
            "holdout": ends > calibration_end_day,
            "actual": actual,
            "expected": expected,
            "actual_incremental": np.diff(actual, prepend=0),
            "expected_incremental": np.diff(expected, prepend=0.0),
        }
    )
