"""What sets each cluster apart: sizes and effect sizes against the whole base.

The statistics are aggregated in the engine over every assigned customer (not only the fitting sample):
:func:`profile_aggregates` builds one grouped Ibis aggregation, and :func:`build_profiles` turns its
small result into profiles in memory.

Effect size of a numeric trait is the standardised mean difference ``(mean_cluster - mean_base) /
sd_base`` computed on the model's scale (imputed and, for skewed traits, ``ln(x + 1)``), so one whale
does not make a cluster "high-spend". The raw mean is kept alongside for people. For a categorical
level the effect is the difference of proportions divided by the base's binomial spread
``sqrt(p (1 - p))``, which is the same standardised difference for an indicator variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from segmint.core.models.clusters.assign import category_expr, imputed_expr
from segmint.core.models.clusters.preprocess import Preprocessor

__all__ = ["ClusterProfile", "TraitEffect", "build_profiles", "profile_aggregates"]


@dataclass
class TraitEffect:
    trait: str
    level: str | None  # categorical level, or None for a numeric trait
    value: float | None  # cluster mean (raw units) or share of the level; None when all missing
    base: float | None  # the same over the whole base
    effect: float  # standardised mean difference

    @property
    def label(self) -> str:
        return self.trait if self.level is None else f"{self.trait}={self.level}"


@dataclass
class ClusterProfile:
    cluster: int  # the stable cluster number (continues across refits)
    size: int
    share: float
    effects: list[TraitEffect]  # every trait, strongest effect first
    name: str = ""
    description: str = ""
    stability: float | None = None  # mean best Jaccard with bootstrap refits
    center_2d: tuple[float, float] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def distinguishing(self, threshold: float = 0.5, limit: int = 5) -> list[TraitEffect]:
        """Traits whose standardised difference is at least ``threshold`` in size, strongest first."""
        return [e for e in self.effects if abs(e.effect) >= threshold][:limit]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["center_2d"] = list(self.center_2d) if self.center_2d is not None else None
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClusterProfile:
        center = data.get("center_2d")
        return cls(
            cluster=int(data["cluster"]),
            size=int(data["size"]),
            share=float(data["share"]),
            effects=[TraitEffect(**e) for e in data["effects"]],
            name=data.get("name", ""),
            description=data.get("description", ""),
            stability=data.get("stability"),
            center_2d=tuple(center) if center is not None else None,
            extra=dict(data.get("extra", {})),
        )


def profile_aggregates(
    traits: ir.Table, assignments: ir.Table, prep: Preprocessor, key: str = "customer_id"
) -> tuple[ir.Table, ir.Table]:
    """(per-cluster aggregates, whole-base aggregates) as Ibis expressions.

    Columns: ``n``; per numeric trait i: ``m{i}`` mean on the model scale, ``v{i}`` its population
    variance (base only), ``r{i}`` raw mean ignoring missing values; per categorical level: ``p{i}_{j}``
    the share of customers at that level."""
    joined = traits.join(assignments, key)
    metrics: dict[str, ir.Value] = {"n": joined.count()}
    base_metrics: dict[str, ir.Value] = {"n": joined.count()}
    for i, feature in enumerate(prep.numeric):
        scaled = imputed_expr(joined, feature)
        raw = joined[feature.trait].cast("float64")
        for target in (metrics, base_metrics):
            target[f"m{i}"] = scaled.mean()
            target[f"r{i}"] = raw.mean()
        base_metrics[f"v{i}"] = scaled.var(how="pop")
    for i, cat in enumerate(prep.categorical):
        level = category_expr(joined, cat)
        for j, value in enumerate(cat.levels):
            indicator = ibis.ifelse(level == value, 1.0, 0.0)
            metrics[f"p{i}_{j}"] = indicator.mean()
            base_metrics[f"p{i}_{j}"] = indicator.mean()
    per_cluster = joined.group_by("cluster").aggregate(**metrics).order_by("cluster")
    base = joined.aggregate(**base_metrics)
    return per_cluster, base


def build_profiles(per_cluster: pd.DataFrame, base: pd.DataFrame, prep: Preprocessor) -> list[ClusterProfile]:
    """Profiles from the two aggregate results, ordered by cluster index."""
    b = base.iloc[0]
    total = int(b["n"]) or 1
    profiles = []
    for _, row in per_cluster.iterrows():
        effects: list[TraitEffect] = []
        for i, feature in enumerate(prep.numeric):
            sd = float(np.sqrt(max(float(b[f"v{i}"]), 0.0)))
            effect = (float(row[f"m{i}"]) - float(b[f"m{i}"])) / sd if sd > 0 else 0.0
            effects.append(TraitEffect(feature.trait, None, _num(row[f"r{i}"]), _num(b[f"r{i}"]), effect))
        for i, cat in enumerate(prep.categorical):
            for j, value in enumerate(cat.levels):
                p, p0 = float(row[f"p{i}_{j}"]), float(b[f"p{i}_{j}"])
                spread = np.sqrt(p0 * (1.0 - p0))
                effect = (p - p0) / spread if spread > 0 else 0.0
                effects.append(TraitEffect(cat.trait, value, p, p0, float(effect)))
        effects.sort(key=lambda e: -abs(e.effect))
        size = int(row["n"])
        profiles.append(ClusterProfile(int(row["cluster"]), size, size / total, effects))
    return profiles


def _num(value: Any) -> float | None:
    """None for a missing mean (e.g. average order value of a cluster with no orders)."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out) else None
