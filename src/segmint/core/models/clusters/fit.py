"""Fit a cluster model on an in-memory sample of traits: preprocess, choose k, fit, measure stability,
project, and number the clusters (continuing a previous model's numbers and names when refitting).

Everything here is pure (arrays in, data out). The use case pulls the sample from the engine, calls
:func:`fit_sample`, then assigns every customer and aggregates profiles in the engine.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from segmint.core.models.clusters.algorithms import ALGORITHMS, fit_algorithm
from segmint.core.models.clusters.matching import centers_in_space, match_clusters, renumber
from segmint.core.models.clusters.model import ClusterModel
from segmint.core.models.clusters.naming import describe, name_clusters
from segmint.core.models.clusters.preprocess import Preprocessor
from segmint.core.models.clusters.profiles import ClusterProfile
from segmint.core.models.clusters.select_k import choose_k
from segmint.core.models.clusters.stability import bootstrap_stability, project

__all__ = ["FitSettings", "SampleFit", "finish_profiles", "fit_sample"]

# Fewer rows than this per cluster and a clustering means little; the fit refuses.
MIN_ROWS_PER_CLUSTER = 10
SMALL_SAMPLE = 200_000


@dataclass
class FitSettings:
    algorithm: str = "kmeans"
    k: int | None = None  # None: automatic
    k_range: Sequence[int] = range(2, 11)
    seed: int = 0
    n_init: int = 4
    stability_rounds: int = 5
    search_rows: int = 20_000  # rows used by the k search (the final fit uses the whole sample)
    silhouette_rows: int = 3_000
    # BLAS/OpenMP threads for fitting; None: one thread for samples under SMALL_SAMPLE rows. Measured on
    # 2 shared cores, the k search on 20k rows took 0.8 s of CPU with one thread and 4.5 s with the
    # OpenMP default (start-up and spin-waiting cost more than they save at this size).
    threads: int | None = None


@dataclass
class SampleFit:
    model: ClusterModel
    labels: np.ndarray  # scorer index per sample row
    features: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)


def fit_sample(
    frame: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
    settings: FitSettings,
    *,
    name: str,
    previous: ClusterModel | None = None,
) -> SampleFit:
    """Fit on ``frame`` (one row per sampled customer). Raises ValueError on data too thin to cluster."""
    threads = settings.threads
    if threads is None and len(frame) < SMALL_SAMPLE:
        threads = 1
    with threadpool_limits(limits=threads):
        return _fit_sample(frame, numeric, categorical, settings, name=name, previous=previous)


def _fit_sample(
    frame: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
    settings: FitSettings,
    *,
    name: str,
    previous: ClusterModel | None,
) -> SampleFit:
    if settings.algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {settings.algorithm!r}; use one of {', '.join(ALGORITHMS)}")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    kproto = settings.algorithm == "kprototypes"
    prep = Preprocessor.fit(frame, numeric, categorical, one_hot=not kproto)
    if not prep.numeric and not prep.categorical:
        raise ValueError("none of the chosen traits varies in the sample: " + _why(prep))
    features = prep.transform(frame)
    codes = prep.categorical_codes(frame) if kproto else None
    timings["preprocessing"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    rng = np.random.default_rng(settings.seed)
    if settings.k is None:
        max_k = max(settings.k_range)
        if features.shape[0] < MIN_ROWS_PER_CLUSTER * 2:
            raise ValueError(f"{features.shape[0]} customers are too few to cluster")
        ks = [k for k in settings.k_range if k * MIN_ROWS_PER_CLUSTER <= features.shape[0]] or [2]
        search = np.sort(
            rng.choice(features.shape[0], size=min(settings.search_rows, len(features)), replace=False)
        )
        choice, _ = choose_k(
            settings.algorithm,
            features[search],
            codes[search] if codes is not None else None,
            k_range=ks,
            seed=settings.seed,
            silhouette_sample=settings.silhouette_rows,
        )
        k = choice.k
        selection = choice.to_dict() | {"auto": True, "searched": [min(ks), max_k]}
    else:
        k = int(settings.k)
        if k < 1 or k * MIN_ROWS_PER_CLUSTER > features.shape[0]:
            raise ValueError(
                f"k={k} needs at least {k * MIN_ROWS_PER_CLUSTER} customers, the sample has {len(features)}"
            )
        selection = {"k": k, "reason": "given", "scores": [], "auto": False}
    timings["k_search"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    fitted = fit_algorithm(settings.algorithm, k, features, codes, seed=settings.seed, n_init=settings.n_init)
    labels = fitted.labels
    timings["fit"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    stab = (
        bootstrap_stability(
            settings.algorithm,
            k,
            features,
            labels,
            codes,
            rounds=settings.stability_rounds,
            seed=settings.seed,
        ).to_dict()
        if settings.stability_rounds > 0 and k > 1
        else {"ari_mean": None, "ari": [], "jaccard": []}
    )
    projection = project(features, labels, fitted.scorer.centers, seed=settings.seed).to_dict()
    timings["stability"] = time.perf_counter() - t0

    numbers, next_number, matched = _number(prep, fitted.scorer, labels, previous)
    model = ClusterModel(
        name=name,
        version=(previous.version + 1) if previous else 1,
        algorithm=settings.algorithm,
        prep=prep,
        scorer=fitted.scorer,
        numbers=numbers,
        selection=selection,
        stability=stab,
        projection=projection,
        sample_size=int(features.shape[0]),
        next_number=next_number,
        matched=matched,
    )
    return SampleFit(model, labels, features, timings)


def _number(prep, scorer, labels, previous: ClusterModel | None) -> tuple[list[int], int, dict]:
    """Stable numbers: continue the previous model's through matching, else 1..k by size, largest first."""
    k = scorer.k
    if previous is None:
        sizes = np.bincount(labels, minlength=k)
        order = np.argsort(-sizes, kind="stable")
        numbers = [0] * k
        for rank, idx in enumerate(order):
            numbers[int(idx)] = rank + 1
        return numbers, k + 1, {}
    old = centers_in_space(previous.prep, previous.scorer, previous.prep)
    new = centers_in_space(prep, scorer, previous.prep)
    pairs = match_clusters(old, new)
    numbers = renumber(pairs, previous.numbers, k, previous.next_number)
    carried = {str(numbers[i]): previous.numbers[j] for i, j in pairs.items()}
    return (
        numbers,
        max([*numbers, previous.next_number - 1]) + 1,
        {"from_version": previous.version, "continued": carried},
    )


def finish_profiles(
    model: ClusterModel, profiles: list[ClusterProfile], previous: ClusterModel | None = None
) -> list[ClusterProfile]:
    """Attach stable numbers, names, descriptions, stability and 2-D centres to engine-built profiles
    (whose ``cluster`` is the stable number already)."""
    index_of = {n: i for i, n in enumerate(model.numbers)}
    present = {p.cluster for p in profiles}
    # Clusters no customer landed in still get a (size 0) profile so their numbers stay visible.
    profiles = profiles + [ClusterProfile(n, 0, 0.0, []) for n in model.numbers if n not in present]
    jaccard = model.stability.get("jaccard") or []
    centers = model.projection.get("centers") or []
    keep: dict[int, str] = {}
    if previous is not None:
        old_names = previous.names()
        for number in model.numbers:
            if str(number) in model.matched.get("continued", {}) and number in old_names:
                keep[number] = old_names[number]
    names = name_clusters(profiles, keep)
    for p in profiles:
        i = index_of[p.cluster]
        p.name = names[p.cluster]
        p.description = describe(p)
        p.stability = float(jaccard[i]) if i < len(jaccard) else None
        p.center_2d = tuple(centers[i]) if i < len(centers) else None
    return sorted(profiles, key=lambda p: p.cluster)


def _why(prep: Preprocessor) -> str:
    return "; ".join(f"{t} {reason}" for t, reason in prep.dropped.items())
