"""One BLAS/OpenMP thread for the small fits of these tests: on a shared 2-core machine, spinning
worker threads make a 20 ms k-means take half a second."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def _one_thread():
    with threadpool_limits(limits=1):
        yield
