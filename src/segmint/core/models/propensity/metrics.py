"""How good a propensity score is: ranking (ROC AUC, PR AUC, top-decile lift), probability accuracy
(Brier score) and a calibration table (mean predicted vs observed rate per decile of the score)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

__all__ = ["calibration_table", "evaluate", "top_decile_lift"]


def top_decile_lift(y: np.ndarray, score: np.ndarray) -> float:
    """Positive rate among the 10% highest scores divided by the overall positive rate."""
    n_top = max(1, int(np.ceil(0.1 * y.size)))
    order = np.argsort(-score, kind="stable")
    base = y.mean()
    return float(y[order[:n_top]].mean() / base) if base > 0 else float("nan")


def evaluate(y: Any, score: Any, probabilities: bool = True) -> dict[str, float | None]:
    """ROC AUC, PR AUC, top-decile lift and, when ``score`` is a probability, the Brier score."""
    y = np.asarray(y, dtype=int)
    score = np.asarray(score, dtype=float)
    return {
        "roc_auc": float(roc_auc_score(y, score)),
        "pr_auc": float(average_precision_score(y, score)),
        "brier": float(brier_score_loss(y, np.clip(score, 0, 1))) if probabilities else None,
        "top_decile_lift": top_decile_lift(y, score),
        "positive_rate": float(y.mean()),
    }


def calibration_table(y: Any, prob: Any, bins: int = 10) -> list[dict[str, float]]:
    """Customers split into ``bins`` equal-size groups by predicted probability: in each, the mean
    prediction and the observed rate. A calibrated model has the two close in every row."""
    y = np.asarray(y, dtype=float)
    prob = np.asarray(prob, dtype=float)
    order = np.argsort(prob, kind="stable")
    rows = []
    for i, idx in enumerate(np.array_split(order, bins), start=1):
        if idx.size == 0:
            continue
        rows.append(
            {
                "bin": i,
                "customers": int(idx.size),
                "mean_predicted": float(prob[idx].mean()),
                "observed_rate": float(y[idx].mean()),
            }
        )
    return rows
