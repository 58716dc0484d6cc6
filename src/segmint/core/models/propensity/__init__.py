"""Churn and purchase propensity: features are traits as of a cutoff, the label is "ordered again within
the horizon after it"; gradient boosting, calibrated, judged on a time-split backtest against baselines."""

from segmint.core.models.propensity.dataset import label_expr, prepare_features
from segmint.core.models.propensity.metrics import calibration_table, evaluate
from segmint.core.models.propensity.model import InsufficientHistoryError, PropensityModel, check_sufficient

__all__ = [
    "InsufficientHistoryError",
    "PropensityModel",
    "calibration_table",
    "check_sufficient",
    "evaluate",
    "label_expr",
    "prepare_features",
]
