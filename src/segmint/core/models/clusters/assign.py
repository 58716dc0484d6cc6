"""Assign every customer to a cluster inside the engine, as one Ibis expression.

A model is fitted on a sample in memory, but the base can be far larger than memory, and must also be
scored on Spark. So the preprocessing (imputation, ``ln(x + 1)``, robust scaling, clipping, one-hot
indicators) and the scoring of :class:`.scorer.Scorer` are replayed as plain arithmetic that every Ibis
backend compiles: three stacked projections (features, one score per cluster, argmin). Keeping them as
separate projections keeps the SQL linear in size: a feature is computed once and then referenced by
name, instead of being inlined into every distance.

Only the model's own numbers and trait names (checked against the table's columns) go into the
expression; categorical levels are literals that Ibis quotes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import ibis
import ibis.expr.types as ir

from segmint.core.models.clusters.preprocess import (
    MISSING_LEVEL,
    CategoricalFeature,
    NumericFeature,
    Preprocessor,
)
from segmint.core.models.clusters.scorer import Scorer

__all__ = ["assignment_expr", "category_expr", "feature_expr", "imputed_expr"]

_KEY = "customer_id"
_FEATURE = re.compile(r"f\d+")
_LEVEL = re.compile(r"c\d+")


def feature_expr(table: ir.Table, prep: Preprocessor, key: str = _KEY) -> ir.Table:
    """``key`` plus one float column per model feature (``f0``, ``f1``, ...), in :attr:`Preprocessor.columns`
    order, plus ``c0``, ``c1``, ... holding categorical levels when the model does not one-hot them."""
    missing = [t for t in prep.traits if t not in table.columns]
    if missing:
        raise KeyError(f"the traits table lacks {', '.join(missing)}")
    cols: dict[str, ir.Value] = {}
    for feature in prep.numeric:
        z = (imputed_expr(table, feature) - feature.center) / feature.scale
        cols[f"f{len(cols)}"] = z.clip(lower=-feature.clip, upper=feature.clip)
    for i, cat in enumerate(prep.categorical):
        level = category_expr(table, cat)
        if prep.one_hot:
            for value in cat.levels:
                cols[f"f{len(cols)}"] = ibis.ifelse(level == value, cat.weight, 0.0)
        else:
            cols[f"c{i}"] = level
    return table.select(table[key], **cols)


def imputed_expr(table: ir.Table, feature: NumericFeature) -> ir.FloatingValue:
    """A numeric trait imputed and (if the model says so) log-transformed: the unscaled model scale."""
    x = table[feature.trait].cast("float64")
    x = ibis.ifelse(x.isnull() | x.isnan() | x.isinf(), feature.fill, x)
    if feature.log:
        x = (ibis.greatest(x, 0.0) + 1.0).ln()
    return x


def category_expr(table: ir.Table, feature: CategoricalFeature) -> ir.StringValue:
    """A categorical trait as text, with missing values as their own level (as in NumPy)."""
    return table[feature.trait].cast("string").fill_null(MISSING_LEVEL)


def assignment_expr(
    table: ir.Table,
    prep: Preprocessor,
    scorer: Scorer,
    key: str = _KEY,
    numbers: Sequence[int] | None = None,
    stage: Callable[[ir.Table], ir.Table] | None = None,
) -> ir.Table:
    """``key`` and ``cluster`` (int64) for every row of ``table``: the index of the best-scoring cluster,
    or ``numbers[index]`` when the clusters carry stable numbers.

    ``stage`` (optional) materialises an intermediate table, e.g. ``lambda t: t.cache()``. Engines'
    optimisers inline stacked projections, so without it every feature is recomputed once per cluster
    and every score once per comparison; staging the features and the scores makes assignment several
    times cheaper on large bases. Without ``stage`` the result is one self-contained expression."""
    stage = stage or (lambda t: t)
    labels = list(range(scorer.k)) if numbers is None else [int(n) for n in numbers]
    if len(labels) != scorer.k:
        raise ValueError(f"{len(labels)} cluster numbers for {scorer.k} clusters")
    feats = stage(feature_expr(table, prep, key))
    names = [c for c in feats.columns if _FEATURE.fullmatch(c)]
    cats = [c for c in feats.columns if _LEVEL.fullmatch(c)]
    if len(names) != scorer.centers.shape[1]:
        raise ValueError(f"the model has {scorer.centers.shape[1]} features, the preprocessing {len(names)}")
    scores: dict[str, ir.Value] = {}
    for j in range(scorer.k):
        scores[f"s{j}"] = _score(feats, names, cats, scorer, j)
    scored = stage(feats.select(feats[key], **scores))
    if scorer.k == 1:
        return scored.select(scored[key], cluster=ibis.literal(labels[0], "int64"))
    cols = [scored[f"s{j}"] for j in range(scorer.k)]
    best = ibis.least(*cols)
    cluster = ibis.cases(*[(col == best, labels[j]) for j, col in enumerate(cols)], else_=labels[0])
    return scored.select(scored[key], cluster=cluster.cast("int64"))


def _score(feats: ir.Table, names: list[str], cats: list[str], scorer: Scorer, j: int) -> ir.Value:
    center = scorer.centers[j]
    diffs = [feats[n] - float(center[i]) for i, n in enumerate(names)]
    if scorer.whitening is None:
        terms = [d * d for d in diffs]
    else:
        w = scorer.whitening[j]
        terms = []
        for col in range(w.shape[1]):
            parts = [diffs[i] * float(w[i, col]) for i in range(w.shape[0]) if w[i, col] != 0.0]
            if parts:
                y = _sum(parts)
                terms.append(y * y)
    total = _sum(terms) if terms else ibis.literal(0.0)
    if scorer.offsets is not None:
        total = total + float(scorer.offsets[j])
    if scorer.modes is not None and cats:
        mismatches = _sum(
            [ibis.ifelse(feats[c] == str(scorer.modes[j, i]), 0.0, 1.0) for i, c in enumerate(cats)]
        )
        total = total + scorer.gamma * mismatches
    return total


def _sum(values: list[ir.Value]) -> ir.Value:
    out = values[0]
    for value in values[1:]:
        out = out + value
    return out
