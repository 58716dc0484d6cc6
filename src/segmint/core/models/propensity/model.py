"""The propensity estimator: histogram gradient boosting (handles missing values and categories
natively) wrapped in isotonic calibration, so the scores are probabilities a marketer can threshold."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier

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
        calibration: str = "isotonic",
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

    def fit(self, X: pd.DataFrame, y: Any) -> Self:
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
        self.estimator_ = CalibratedClassifierCV(booster, method=self.calibration, cv=self.cv).fit(X, y)
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
        return self.estimator_.predict_proba(self._align(X))[:, 1]
