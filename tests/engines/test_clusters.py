"""Cluster assignment inside the engine gives every customer the cluster of the fitted model's own
``predict``, for every algorithm and on every engine (acceptance 2 of the clusters issue).

The model is fitted on one sample and scores a different population (as in production), with missing
traits stored as NULL and as NaN, both of which the model imputes (as it does infinite values)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from threadpoolctl import threadpool_limits

from clusters.synthetic import NUMERIC, persona_frame
from segmint.core.models.clusters.algorithms import fit_algorithm
from segmint.core.models.clusters.assign import assignment_expr, imputed_expr
from segmint.core.models.clusters.preprocess import NumericFeature, Preprocessor

from .support import load

ALGORITHMS = ["kmeans", "minibatch", "gmm", "kprototypes"]


@pytest.fixture(scope="module")
def population():
    data = persona_frame(3000, seed=11).drop(columns="persona")
    data.loc[data.index[::97], "recency_days"] = np.nan
    data.loc[data.index[7::61], "preferred_device"] = None
    return data


@pytest.fixture(scope="module")
def models(population):
    """Per algorithm: the preprocessing, the fitted model and its own predictions for the population."""
    frame = persona_frame(2400, seed=5)
    out = {}
    with threadpool_limits(limits=1):  # small fits: worker threads only cost on a shared machine
        for algorithm in ALGORITHMS:
            kproto = algorithm == "kprototypes"
            prep = Preprocessor.fit(frame, NUMERIC, ["preferred_device"], one_hot=not kproto)
            codes = prep.categorical_codes(frame) if kproto else None
            fitted = fit_algorithm(algorithm, 6, prep.transform(frame), codes, seed=3, n_init=2)
            x = prep.transform(population)
            own = (
                fitted.estimator.predict(x, prep.categorical_codes(population))
                if kproto
                else fitted.estimator.predict(x)
            )
            out[algorithm] = (prep, fitted, own)
    return out


@pytest.fixture(scope="module")
def traits(con, population):
    """The population on the engine: NaN in ``recency_days`` stored as NULL, the rest as written."""
    table = pa.Table.from_pandas(population, preserve_index=False)
    col = table.schema.get_field_index("aov")
    table = table.set_column(
        col, "aov", pa.array(population["aov"].to_numpy(), pa.float64(), from_pandas=False)
    )
    assert table.column("aov").null_count == 0 and table.column("recency_days").null_count > 0
    return load(con, {"cluster_traits": table}, prefix="engine_suite_")["cluster_traits"]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_engine_assignment_equals_predict(traits, models, population, algorithm):
    prep, fitted, own = models[algorithm]
    got = assignment_expr(traits, prep, fitted.scorer).to_pandas().set_index("customer_id")["cluster"]
    got = got.loc[population.customer_id].to_numpy()
    assert len(got) == len(population)
    mismatches = int((got != own).sum())
    assert mismatches == 0, f"{algorithm}: {mismatches} customers assigned differently"


def test_stable_numbers_label_the_engine_output(traits, models, population):
    prep, fitted, own = models["kmeans"]
    numbers = [7, 2, 9, 4, 11, 5]
    got = assignment_expr(traits, prep, fitted.scorer, numbers=numbers).to_pandas().set_index("customer_id")
    assert np.array_equal(got.loc[population.customer_id, "cluster"].to_numpy(), np.array(numbers)[own])


def test_non_finite_traits_are_imputed(con):
    """NULL, NaN and +-infinity are all missing to the model (``np.isfinite`` in NumPy), on every engine."""
    values = [1.5, None, float("nan"), float("inf"), float("-inf"), 0.0]
    data = pa.table(
        {
            "customer_id": [f"n{i}" for i in range(len(values))],
            "x": pa.array(values, pa.float64(), from_pandas=False),
        }
    )
    table = load(con, {"non_finite": data}, prefix="engine_suite_")["non_finite"]
    feature = NumericFeature("x", fill=7.0, log=False, center=0.0, scale=1.0, clip=5.0)
    got = table.select("customer_id", v=imputed_expr(table, feature)).to_pyarrow().to_pylist()
    assert [r["v"] for r in sorted(got, key=lambda r: r["customer_id"])] == [1.5, 7.0, 7.0, 7.0, 7.0, 0.0]
