import os

# scikit-learn's array-API check (run for every estimator, in numpy-only mode
# for ours) needs SciPy's array-API switch, which must be set before SciPy is
# first imported. pytest loads this file before collecting any test.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from sklearn.datasets import load_breast_cancer, load_digits, load_iris
from sklearn.preprocessing import StandardScaler

# Hypothesis profiles for the property-based tests (tests/README.md).
# "ci", the default: a fixed number of examples from a fixed seed
# (derandomised, no example database), so that every run tests the same cases.
# "thorough": 10x the examples, random and remembered in the example
# database, for local runs: python -m pytest --hypothesis-profile=thorough
CI_EXAMPLES = 100
settings.register_profile(
    "ci",
    max_examples=CI_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=10 * CI_EXAMPLES,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# Data sets shared by the test modules (each loaded once per run).
@pytest.fixture(scope="session")
def cancer():
    """Breast cancer, standardised: 569 x 30, two classes."""
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="session")
def iris():
    """Iris, standardised: 150 x 4, three classes."""
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="session")
def digits():
    """The first 360 8x8 digit images (pixels 0..16) and their labels."""
    digits = load_digits()
    return digits.images[:360], digits.target[:360]


@pytest.hookimpl(tryfirst=True)  # before -m "not slow" deselects
def pytest_collection_modifyitems(items):
    """scikit-learn's Array API checks of the default ``"gd"`` (2000
    iterations that do not meet ``tol`` on the checks' 30 samples, about
    2 s each on array-api-strict and torch) run in the slow step; the
    other solvers' and ``ImageFlattener``'s stay in the main suite, with
    ``test_array_api.py``, which fits ``"gd"`` on both libraries."""
    for item in items:
        if "GDLogisticRegression()-check_array_api" in item.nodeid:
            item.add_marker(pytest.mark.slow)


def _cpu_library(name):
    """(namespace, device) of the Array API library ``name`` on its CPU
    device, or a skip where it is not installed."""
    xp = pytest.importorskip(name)
    if name == "torch":
        return xp, xp.device("cpu")
    return xp, xp.Device("CPU_DEVICE")


@pytest.fixture(params=["torch", "array_api_strict"])
def lib(request):
    """torch and array-api-strict on the CPU, in turn (test_core_array_api.py
    has its own, over dtypes and devices too)."""
    return _cpu_library(request.param)


@pytest.fixture
def torch_cpu():
    return _cpu_library("torch")
