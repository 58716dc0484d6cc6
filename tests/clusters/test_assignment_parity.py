"""Acceptance 2: the engine assigns every customer exactly as the fitted model's own ``predict``."""

from __future__ import annotations

import ibis
import numpy as np
import pytest

from clusters.synthetic import NUMERIC, persona_frame
from segmint.core.models.clusters.algorithms import fit_algorithm, gmm_scorer
from segmint.core.models.clusters.assign import assignment_expr
from segmint.core.models.clusters.preprocess import Preprocessor


def _fit(algorithm: str, frame, k: int = 6):
    prep = Preprocessor.fit(frame, NUMERIC, ["preferred_device"], one_hot=algorithm != "kprototypes")
    features = prep.transform(frame)
    codes = prep.categorical_codes(frame) if algorithm == "kprototypes" else None
    fitted = fit_algorithm(algorithm, k, features, codes, seed=3, n_init=2)
    est = fitted.estimator
    own = est.predict(features, codes) if algorithm == "kprototypes" else est.predict(features)
    return prep, fitted, own


@pytest.fixture(scope="module")
def frame():
    # Fit on one sample, score a different, larger population (as in production).
    return persona_frame(2400, seed=5)


@pytest.fixture(scope="module")
def population():
    data = persona_frame(6000, seed=11)
    data.loc[data.index[::97], "recency_days"] = np.nan  # extra gaps the model must impute
    return data


@pytest.mark.parametrize("algorithm", ["kmeans", "minibatch", "gmm", "kprototypes"])
def test_duckdb_assignment_equals_predict(algorithm, frame, population):
    prep, fitted, _ = _fit(algorithm, frame)
    features = prep.transform(population)
    codes = prep.categorical_codes(population) if algorithm == "kprototypes" else None
    est = fitted.estimator
    own = est.predict(features, codes) if algorithm == "kprototypes" else est.predict(features)
    con = ibis.duckdb.connect()
    table = con.create_table("traits", population.drop(columns="persona"))
    got = assignment_expr(table, prep, fitted.scorer).to_pandas().set_index("customer_id")["cluster"]
    got = got.loc[population.customer_id].to_numpy()
    assert len(got) == len(population) == 6000
    mismatches = int((got != own).sum())
    assert mismatches == 0, f"{algorithm}: {mismatches} customers assigned differently"


def test_gmm_scorer_matches_every_covariance_type(frame):
    from sklearn.mixture import GaussianMixture

    prep = Preprocessor.fit(frame, NUMERIC, ["preferred_device"])
    x = prep.transform(frame)
    for kind in ("full", "tied", "diag", "spherical"):
        gmm = GaussianMixture(4, covariance_type=kind, random_state=0, reg_covar=1e-3).fit(x)
        assert np.array_equal(gmm_scorer(gmm).predict(x), gmm.predict(x)), kind


def test_stable_numbers_label_the_engine_output(frame):
    prep, fitted, own = _fit("kmeans", frame, k=3)
    con = ibis.duckdb.connect()
    table = con.create_table("traits", frame.drop(columns="persona"))
    got = assignment_expr(table, prep, fitted.scorer, numbers=[7, 2, 9]).to_pandas().set_index("customer_id")
    expected = np.array([7, 2, 9])[own]
    assert np.array_equal(got.loc[frame.customer_id, "cluster"].to_numpy(), expected)


@pytest.mark.slow
@pytest.mark.spark
@pytest.mark.parametrize("algorithm", ["kmeans", "gmm", "kprototypes"])
def test_spark_assignment_equals_predict(algorithm, frame, population):
    from segmint.adapters.engines import spark_session

    session = spark_session("local[1]")
    con = ibis.pyspark.connect(session)
    prep, fitted, _ = _fit(algorithm, frame)
    features = prep.transform(population)
    codes = prep.categorical_codes(population) if algorithm == "kprototypes" else None
    est = fitted.estimator
    own = est.predict(features, codes) if algorithm == "kprototypes" else est.predict(features)
    name = f"cluster_traits_{algorithm}"
    table = con.create_table(name, population.drop(columns="persona"), overwrite=True)
    try:
        got = assignment_expr(table, prep, fitted.scorer).to_pandas().set_index("customer_id")["cluster"]
    finally:
        con.drop_table(name, force=True)
    got = got.loc[population.customer_id].to_numpy()
    assert len(got) == 6000
    assert int((got != own).sum()) == 0
