"""The propensity estimator: histogram gradient boosting (handles missing values and categories
natively) wrapped in isotonic calibration, so the scores are probabilities a marketer can threshold.

Calibration is fitted on a held-out *time slice* when the caller names one (the latest training cutoffs,
whose labels the booster never saw): probabilities are then checked against a later period than the one
the trees learned from, as they will be used. Without a slice it falls back to cross-validation."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from segmint.errors import SegmintError

__all__ = ["InsufficientHistoryError", "PropensityModel", "check_sufficient"]


class InsufficientHistoryError(SegmintError):
    """Too few customers, buyers or non-buyers, or too short a history, for a propensity model."""


def check_sufficient(
    y: Any, *, min_customers: int = 200, min_per_class: int = 30, what: str = "training"
) -> None:
    """Refuse data too thin to learn from, saying what is missing."""
    y = np.asarray(y, dtype=int)
    positives = int(y.sum())
    negatives = int(y.size - positives)
    if y.size < min_customers:
        raise InsufficientHistoryError(
            f"{what}: {y.size} customers with orders before the cutoff; a propensity model needs at least "
            f"{min_customers}: move the cutoff later or import more history"
        )
    if positives < min_per_class:
        raise InsufficientHistoryError(
            f"{what}: only {positives} customers ordered again within the horizon (need {min_per_class}): "
            "use a longer horizon or an earlier cutoff"
        )
    if negatives < min_per_class:
        raise InsufficientHistoryError(
            f"{what}: only {negatives} customers did not order again (need {min_per_class}): use a shorter "
            "horizon"
        )


class PropensityModel:
    """P(order again within the horizon | traits at the cutoff). Hyper-parameters only in __init__;
    fit(X, y) returns self; predict_proba(X) returns the calibrated probability of the positive class.
    The defaults are small, strongly regularised trees: shops have thousands of customers, not
    millions, and many correlated traits, so deeper trees overfit the training cutoff."""

    def __init__(
        self,
        *,
        learning_rate: float = 0.03,
        max_iter: int = 300,
        max_leaf_nodes: int = 8,
        min_samples_leaf: int = 50,
        l2_regularization: float = 1.0,
        calibration: str = "sigmoid",
        cv: int = 3,
        random_state: int = 0,
    ) -> None:
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.calibration = calibration
        self.cv = cv
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: Any, calibrate_on: Any = None) -> Self:
        """Fit on (X, y). ``calibrate_on`` (a boolean mask over the rows) holds out those rows to fit
        the calibration map on (scored by a booster fitted without them); the final booster learns from
        every row."""
        y = np.asarray(y, dtype=int)
        check_sufficient(y)
        booster = HistGradientBoostingClassifier(
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            categorical_features="from_dtype",
            early_stopping=True,
            validation_fraction=0.15,
            random_state=self.random_state,
        )
        self.feature_names_ = list(X.columns)
        self.categories_ = {
            c: X[c].cat.categories for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)
        }
        if calibrate_on is None:
            self.estimator_ = CalibratedClassifierCV(booster, method=self.calibration, cv=self.cv).fit(X, y)
            self.calibrator_ = None
            self.calibrated_on_ = "cross-validation"
        else:
            held = np.asarray(calibrate_on, dtype=bool)
            check_sufficient(y[held], min_customers=100, min_per_class=10, what="calibration slice")
            check_sufficient(y[~held])
            # A probe booster that never saw the slice scores it; the calibration map is fitted on those
            # scores. The final booster then learns from every row (the slice is the most recent data,
            # too valuable to leave out of the trees) and its log-odds go through the same map.
            probe = clone(booster).fit(X.loc[~held], y[~held])
            self.calibrator_ = _fit_calibrator(self.calibration, _log_odds(probe, X.loc[held]), y[held])
            self.estimator_ = booster.fit(X, y)
            self.calibrated_on_ = "held-out time slice"
        self.n_customers_ = int(y.size)
        self.positive_rate_ = float(y.mean())
        return self

    def _align(self, X: pd.DataFrame) -> pd.DataFrame:
        """The training columns, in order, with the training categories (unseen ones become missing)."""
        X = X.reindex(columns=self.feature_names_)
        for name, cats in self.categories_.items():
            X[name] = pd.Categorical(X[name].astype("object"), categories=cats)
        return X

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "estimator_"):
            raise InsufficientHistoryError("this PropensityModel is not fitted yet: call fit(X, y) first")
        X = self._align(X)
        if self.calibrator_ is None:
            return self.estimator_.predict_proba(X)[:, 1]
        return _apply_calibrator(self.calibrator_, _log_odds(self.estimator_, X))


def _log_odds(booster: HistGradientBoostingClassifier, X: pd.DataFrame) -> np.ndarray:
    return np.asarray(booster.decision_function(X), dtype=float)


def _fit_calibrator(method: str, score: np.ndarray, y: np.ndarray) -> Any:
    """Platt scaling (a logistic curve in the booster's log-odds: keeps the ranking strict) or isotonic
    regression (any monotone map; ties scores within a step)."""
    if method == "sigmoid":
        return LogisticRegression(C=1e6).fit(score[:, None], y)
    if method == "isotonic":
        return IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(score, y)
    raise ValueError(f"calibration must be 'sigmoid' or 'isotonic', got {method!r}")


def _apply_calibrator(calibrator: Any, score: np.ndarray) -> np.ndarray:
    if isinstance(calibrator, LogisticRegression):
        return calibrator.predict_proba(score[:, None])[:, 1]
    return calibrator.predict(score)
