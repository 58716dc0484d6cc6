"""The GMM scorer, which the in-engine assignment replays, predicts exactly as scikit-learn does for every
covariance type. The assignment itself (every algorithm, against the model's own ``predict``) runs on
every engine in tests/engines/test_clusters.py."""

from __future__ import annotations

import numpy as np
import pytest

from clusters.synthetic import NUMERIC, persona_frame
from segmint.core.models.clusters.algorithms import gmm_scorer
from segmint.core.models.clusters.preprocess import Preprocessor


@pytest.fixture(scope="module")
def frame():
    return persona_frame(2400, seed=5)


def test_gmm_scorer_matches_every_covariance_type(frame):
    from sklearn.mixture import GaussianMixture

    prep = Preprocessor.fit(frame, NUMERIC, ["preferred_device"])
    x = prep.transform(frame)
    for kind in ("full", "tied", "diag", "spherical"):
        gmm = GaussianMixture(4, covariance_type=kind, random_state=0, reg_covar=1e-3).fit(x)
        assert np.array_equal(gmm_scorer(gmm).predict(x), gmm.predict(x)), kind
