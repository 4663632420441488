import os

# scikit-learn's array-API check (run for every estimator, in numpy-only mode
# for ours) needs SciPy's array-API switch, which must be set before SciPy is
# first imported. pytest loads this file before collecting any test.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(0)
