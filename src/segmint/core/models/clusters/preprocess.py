"""Turn raw customer traits into clustering features that suit skewed e-commerce data.

E-commerce traits are long-tailed (a few customers spend a hundred times the median) and often
zero-inflated, so a plain z-score lets a handful of whales pull every centroid. Each numeric trait is:

1. imputed with the sample median when missing (a missing average order value is "no orders"; the other
   traits, such as ``orders_count = 0``, already say so);
2. log-transformed (``ln(x + 1)``) when it is non-negative, not a share in [0, 1], and right-skewed;
3. robust-scaled: ``(x - median) / (IQR / 1.349)`` so a normal trait gets unit spread, with the standard
   deviation as a fallback when most values are equal;
4. clipped to ``[-clip, clip]`` so the last outliers cannot dominate a distance.

Categorical traits become one-hot indicators of their frequent levels (weighted so that a mismatch
costs about as much as one robust unit), or stay as raw levels for k-prototypes.

Every step is a plain arithmetic formula with stored parameters, so :mod:`.assign` can replay it as an
Ibis expression inside the engine, and :meth:`Preprocessor.transform` replays it in NumPy with the same
operations in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "MISSING_LEVEL",
    "OTHER_LEVEL",
    "CategoricalFeature",
    "NumericFeature",
    "Preprocessor",
]

MISSING_LEVEL = "(missing)"
OTHER_LEVEL = "(other)"
# IQR of a standard normal: dividing by it gives normal data unit spread, like a z-score.
IQR_NORMAL = 1.349


@dataclass(frozen=True)
class NumericFeature:
    """How one numeric trait becomes one feature column."""

    trait: str
    fill: float  # imputed value for missing
    log: bool  # apply ln(x + 1) after imputation
    center: float  # median after the (optional) log
    scale: float  # robust spread after the (optional) log
    clip: float  # absolute bound on the scaled value

    @property
    def columns(self) -> list[str]:
        return [self.trait]


@dataclass(frozen=True)
class CategoricalFeature:
    """How one categorical trait becomes indicator columns (one-hot) or a raw level (k-prototypes)."""

    trait: str
    levels: tuple[str, ...]  # frequent levels, most frequent first; others map to OTHER_LEVEL
    weight: float  # value of an indicator when the level matches

    @property
    def columns(self) -> list[str]:
        return [f"{self.trait}={level}" for level in self.levels]

    def normalise(self, values: pd.Series) -> np.ndarray:
        """Raw values -> level strings: missing -> MISSING_LEVEL, kept as is otherwise."""
        out = values.astype(object).where(values.notna(), MISSING_LEVEL)
        return out.astype(str).to_numpy()


@dataclass
class Preprocessor:
    """Fitted preprocessing: an ordered list of numeric and categorical features.

    ``one_hot`` says whether categorical traits are expanded into indicator columns (k-means, GMM) or
    left as levels (k-prototypes reads them through :meth:`categorical_codes`).
    """

    numeric: list[NumericFeature] = field(default_factory=list)
    categorical: list[CategoricalFeature] = field(default_factory=list)
    one_hot: bool = True
    dropped: dict[str, str] = field(default_factory=dict)  # trait -> why it was left out

    # -- fitting -----------------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        numeric: Sequence[str],
        categorical: Sequence[str] = (),
        *,
        one_hot: bool = True,
        skew_threshold: float = 1.0,
        clip: float = 5.0,
        max_levels: int = 8,
        min_level_share: float = 0.01,
        category_weight: float = float(np.sqrt(0.5)),
    ) -> Preprocessor:
        """Learn medians, spreads, log choices and frequent levels from a sample of traits."""
        prep = cls(one_hot=one_hot)
        for trait in numeric:
            feature, reason = _fit_numeric(frame[trait], trait, skew_threshold, clip)
            if feature is None:
                prep.dropped[trait] = reason
            else:
                prep.numeric.append(feature)
        for trait in categorical:
            values = CategoricalFeature(trait, (), 1.0).normalise(frame[trait])
            counts = pd.Series(values).value_counts()
            share = counts / max(len(values), 1)
            levels = tuple(str(v) for v in share.index[share >= min_level_share][:max_levels])
            if len(levels) < 2 and len(counts) < 2:
                prep.dropped[trait] = "has a single value in the sample"
                continue
            prep.categorical.append(CategoricalFeature(trait, levels, category_weight))
        return prep

    # -- shape -------------------------------------------------------------------------------------
    @property
    def traits(self) -> list[str]:
        return [f.trait for f in self.numeric] + [f.trait for f in self.categorical]

    @property
    def numeric_columns(self) -> list[str]:
        return [f.trait for f in self.numeric]

    @property
    def columns(self) -> list[str]:
        """Names of the columns of :meth:`transform`'s output, in order."""
        cols = self.numeric_columns
        if self.one_hot:
            for feature in self.categorical:
                cols = cols + feature.columns
        return cols

    # -- applying ----------------------------------------------------------------------------------
    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Features as a float64 matrix (numeric columns, then indicators when ``one_hot``)."""
        parts = [_apply_numeric(f, frame[f.trait]) for f in self.numeric]
        if self.one_hot:
            for feature in self.categorical:
                values = feature.normalise(frame[feature.trait])
                for level in feature.levels:
                    parts.append(np.where(values == level, feature.weight, 0.0))
        if not parts:
            return np.zeros((len(frame), 0))
        return np.column_stack(parts).astype(np.float64)

    def log_values(self, frame: pd.DataFrame) -> np.ndarray:
        """Numeric traits imputed and log-transformed but not scaled: the scale profiles compare on."""
        return np.column_stack([_impute_log(f, frame[f.trait]) for f in self.numeric])

    def categorical_codes(self, frame: pd.DataFrame) -> np.ndarray:
        """Categorical traits as level strings (object matrix), for k-prototypes."""
        if not self.categorical:
            return np.empty((len(frame), 0), dtype=object)
        return np.column_stack([f.normalise(frame[f.trait]) for f in self.categorical])

    # -- storage -----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "numeric": [asdict(f) for f in self.numeric],
            "categorical": [{**asdict(f), "levels": list(f.levels)} for f in self.categorical],
            "one_hot": self.one_hot,
            "dropped": dict(self.dropped),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preprocessor:
        return cls(
            numeric=[NumericFeature(**f) for f in data["numeric"]],
            categorical=[
                CategoricalFeature(f["trait"], tuple(f["levels"]), float(f["weight"]))
                for f in data["categorical"]
            ],
            one_hot=bool(data["one_hot"]),
            dropped=dict(data.get("dropped", {})),
        )


def _fit_numeric(
    series: pd.Series, trait: str, skew_threshold: float, clip: float
) -> tuple[NumericFeature | None, str]:
    values = pd.to_numeric(series, errors="coerce").astype("float64").to_numpy()
    observed = values[np.isfinite(values)]
    if observed.size < 2:
        return None, "has no values in the sample"
    fill = float(np.median(observed))
    filled = np.where(np.isfinite(values), values, fill)
    lo, hi = float(filled.min()), float(filled.max())
    is_share = lo >= 0.0 and hi <= 1.0
    log = bool(lo >= 0.0 and not is_share and _skewness(filled) > skew_threshold)
    if log:
        filled = np.log(filled + 1.0)
    center = float(np.median(filled))
    q25, q75 = np.percentile(filled, [25, 75])
    scale = float(q75 - q25) / IQR_NORMAL
    if scale <= 1e-12:
        scale = float(filled.std())
    if scale <= 1e-12:
        return None, "is constant in the sample"
    return NumericFeature(trait, fill, log, center, scale, clip), ""


def _skewness(x: np.ndarray) -> float:
    sd = x.std()
    if sd <= 0:
        return 0.0
    return float(np.mean(((x - x.mean()) / sd) ** 3))


def _impute_log(feature: NumericFeature, series: pd.Series) -> np.ndarray:
    x = pd.to_numeric(series, errors="coerce").astype("float64").to_numpy()
    x = np.where(np.isfinite(x), x, feature.fill)
    if feature.log:
        # Values below zero can appear in later data even if the sample had none: treat them as zero.
        x = np.log(np.maximum(x, 0.0) + 1.0)
    return x


def _apply_numeric(feature: NumericFeature, series: pd.Series) -> np.ndarray:
    z = (_impute_log(feature, series) - feature.center) / feature.scale
    return np.clip(z, -feature.clip, feature.clip)
