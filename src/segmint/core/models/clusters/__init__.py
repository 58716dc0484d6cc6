"""ML segments: clusters of customers with automatic k, readable profiles and stable numbers.

Pure core: preprocessing and fitting on in-memory samples, the in-engine assignment expression, profile
aggregation expressions, naming and refit matching. :mod:`segmint.models.clusters` runs it on a
workspace.
"""

from segmint.core.models.clusters.algorithms import ALGORITHMS, fit_algorithm
from segmint.core.models.clusters.assign import assignment_expr, feature_expr
from segmint.core.models.clusters.fit import FitSettings, SampleFit, finish_profiles, fit_sample
from segmint.core.models.clusters.kprototypes import KPrototypes
from segmint.core.models.clusters.matching import centers_in_space, match_clusters, renumber
from segmint.core.models.clusters.model import ClusterModel, segment_name
from segmint.core.models.clusters.naming import describe, name_clusters
from segmint.core.models.clusters.preprocess import Preprocessor
from segmint.core.models.clusters.profiles import (
    ClusterProfile,
    TraitEffect,
    build_profiles,
    profile_aggregates,
)
from segmint.core.models.clusters.scorer import Scorer
from segmint.core.models.clusters.select_k import KChoice, choose_k
from segmint.core.models.clusters.stability import bootstrap_stability, project

__all__ = [
    "ALGORITHMS",
    "ClusterModel",
    "ClusterProfile",
    "FitSettings",
    "KChoice",
    "KPrototypes",
    "Preprocessor",
    "SampleFit",
    "Scorer",
    "TraitEffect",
    "assignment_expr",
    "bootstrap_stability",
    "build_profiles",
    "centers_in_space",
    "choose_k",
    "describe",
    "feature_expr",
    "finish_profiles",
    "fit_algorithm",
    "fit_sample",
    "match_clusters",
    "name_clusters",
    "profile_aggregates",
    "project",
    "renumber",
    "segment_name",
]
