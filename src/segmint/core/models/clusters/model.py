"""A fitted cluster model as data: everything assignment, reports and the next refit need.

Stored as one row of ``cluster_models`` per (model name, version); the structured parts are JSON text so
every engine can hold them. ``numbers[i]`` is the stable number of the scorer's cluster ``i``: it is what
users see (``cluster:<model>:<number>``) and what continues across refits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from segmint.core.models.clusters.preprocess import Preprocessor
from segmint.core.models.clusters.profiles import ClusterProfile
from segmint.core.models.clusters.scorer import Scorer

__all__ = ["ClusterModel", "segment_name"]


def segment_name(model: str, number: int) -> str:
    """The segment a cluster is known by in rules: ``cluster:<model>:<number>``."""
    return f"cluster:{model}:{number}"


@dataclass
class ClusterModel:
    name: str
    version: int
    algorithm: str
    prep: Preprocessor
    scorer: Scorer
    numbers: list[int]
    selection: dict[str, Any]  # chosen k, the reason and the scores per k
    stability: dict[str, Any]
    projection: dict[str, Any]
    profiles: list[ClusterProfile] = field(default_factory=list)
    fitted_at: datetime | None = None
    as_of: datetime | None = None
    sample_size: int = 0
    next_number: int = 1  # the first number never used by this model
    matched: dict[str, Any] = field(default_factory=dict)  # refit: which numbers continued

    @property
    def k(self) -> int:
        return self.scorer.k

    @property
    def traits(self) -> list[str]:
        return self.prep.traits

    def profile(self, number: int) -> ClusterProfile | None:
        return next((p for p in self.profiles if p.cluster == number), None)

    def names(self) -> dict[int, str]:
        return {p.cluster: p.name for p in self.profiles}

    # -- storage -----------------------------------------------------------------------------------
    def to_record(self) -> dict[str, Any]:
        """One ``cluster_models`` row."""
        return {
            "model": self.name,
            "version": self.version,
            "algorithm": self.algorithm,
            "k": self.k,
            "traits": json.dumps(self.traits),
            "spec": json.dumps(
                {
                    "prep": self.prep.to_dict(),
                    "scorer": self.scorer.to_dict(),
                    "numbers": self.numbers,
                    "next_number": self.next_number,
                    "matched": self.matched,
                }
            ),
            "selection": json.dumps(self.selection),
            "stability": json.dumps(self.stability),
            "projection": json.dumps(self.projection),
            "profiles": json.dumps([p.to_dict() for p in self.profiles]),
            "stability_ari": self.stability.get("ari_mean"),
            "sample_size": self.sample_size,
            "fitted_at": self.fitted_at,
            "as_of": self.as_of,
        }

    @classmethod
    def from_record(cls, row: Mapping[str, Any]) -> ClusterModel:
        spec = json.loads(row["spec"])
        return cls(
            name=row["model"],
            version=int(row["version"]),
            algorithm=row["algorithm"],
            prep=Preprocessor.from_dict(spec["prep"]),
            scorer=Scorer.from_dict(spec["scorer"]),
            numbers=[int(n) for n in spec["numbers"]],
            selection=json.loads(row["selection"]),
            stability=json.loads(row["stability"]),
            projection=json.loads(row["projection"]),
            profiles=[ClusterProfile.from_dict(p) for p in json.loads(row["profiles"])],
            fitted_at=_ts(row.get("fitted_at")),
            as_of=_ts(row.get("as_of")),
            sample_size=int(row.get("sample_size") or 0),
            next_number=int(spec.get("next_number", max(spec["numbers"]) + 1)),
            matched=dict(spec.get("matched", {})),
        )


def _ts(value: Any) -> datetime | None:
    if value is None or value != value:  # None or NaT
        return None
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    return value
