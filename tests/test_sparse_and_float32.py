"""float32 end to end, sparse input never densified, and the memory of fit."""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import gradient_problem
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_gd_logreg import GDLogisticRegression, ImageFlattener, core
from sklearn_gd_logreg._step_size import lipschitz_constant


def _fit(X, y, **params):
    params = {"max_iter": 30, "tol": 0.0, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning
        return GDLogisticRegression(**params).fit(X, y)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_float32_end_to_end(rng, n_classes):
    X = rng.normal(size=(500, 8))
    y = rng.integers(0, n_classes, size=500)
    clf32 = _fit(X.astype(np.float32), y)
    clf64 = _fit(X, y)
    assert clf32.coef_.dtype == np.float32 and clf32.intercept_.dtype == np.float32
    assert clf32.predict_proba(X.astype(np.float32)).dtype == np.float32
    assert_allclose(clf32.coef_, clf64.coef_, rtol=1e-4, atol=1e-5)
    assert_allclose(clf32.loss_curve_, clf64.loss_curve_, rtol=1e-5)
    w, b, XT, Y = gradient_problem(rng, 8, 50, 1, dtype=np.float32)
    grads, _ = core.propagate(w, b, XT, Y, sample_weight=np.ones(50, np.float32))
    assert grads["dw"].dtype == np.float32


def test_float32_fit_makes_no_float64_copy_of_X(rng):
    X = rng.normal(size=(20_000, 50)).astype(np.float32)
    y = rng.integers(0, 2, size=20_000)
    tracemalloc.start()
    _fit(X, y, max_iter=2)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 0.5 * X.nbytes  # a float64 copy would be 2 * X.nbytes


def test_image_flattener_float32_allocates_only_its_output(rng):
    images = rng.integers(0, 256, size=(50, 64, 64, 3), dtype=np.uint8)
    flattener = ImageFlattener(dtype=np.float32).fit(images)
    tracemalloc.start()
    X = flattener.transform(images)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert X.dtype == np.float32
    assert peak < 1.1 * X.nbytes  # one output; a float64 copy would add 2x


SPARSE = [sp.csr_matrix, sp.csc_matrix, sp.csr_array, sp.csc_array]


@pytest.mark.parametrize("container", SPARSE)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_sparse_fits_the_same_model_as_dense(rng, container, n_classes):
    dense = sp.random(300, 40, density=0.1, random_state=1).toarray()
    y = rng.integers(0, n_classes, size=300)
    s = rng.random(300)
    X = container(dense)
    clf_sparse = _fit(X, y, alpha=1e-3)
    clf_dense = _fit(dense, y, alpha=1e-3)
    assert_allclose(clf_sparse.coef_, clf_dense.coef_, rtol=1e-10, atol=1e-12)
    assert_allclose(clf_sparse.intercept_, clf_dense.intercept_, rtol=1e-10)
    assert_allclose(clf_sparse.learning_rate_, clf_dense.learning_rate_, rtol=1e-10)
    assert_allclose(
        clf_sparse.predict_proba(X), clf_dense.predict_proba(dense), rtol=1e-10
    )
    assert_array_equal(clf_sparse.predict(X), clf_dense.predict(dense))
    weighted = GDLogisticRegression(max_iter=30, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weighted.fit(X, y, sample_weight=s)
        reference = GDLogisticRegression(max_iter=30, tol=0.0).fit(
            dense, y, sample_weight=s
        )
    assert_allclose(weighted.coef_, reference.coef_, rtol=1e-10, atol=1e-12)


def test_sparse_partial_fit_equals_dense(rng):
    if not hasattr(GDLogisticRegression, "partial_fit"):
        return  # the solver layer adds it; nothing to check before
    dense = sp.random(200, 30, density=0.1, random_state=2).toarray()
    y = rng.integers(0, 2, size=200)
    a = GDLogisticRegression(random_state=0).partial_fit(
        sp.csr_matrix(dense), y, classes=[0, 1]
    )
    b = GDLogisticRegression(random_state=0).partial_fit(dense, y, classes=[0, 1])
    assert_allclose(a.coef_, b.coef_, rtol=1e-10, atol=1e-12)


def test_sparse_is_never_densified(rng):
    # 20_000 entries at random places (sp.random, which draws them without
    # replacement from all 20 million, took 1.5 s of this test's 1.6 s)
    rows, cols = rng.integers(5_000, size=20_000), rng.integers(4_000, size=20_000)
    X = sp.csr_matrix((rng.random(20_000), (rows, cols)), shape=(5_000, 4_000))
    y = np.arange(5_000) % 2
    dense_bytes = 5_000 * 4_000 * 8  # 160 MB
    tracemalloc.start()
    clf = _fit(X, y, max_iter=3)
    clf.predict_proba(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < dense_bytes / 100


def test_sparse_propagate_and_step_size_equal_dense(rng):
    w, b, _, Y = gradient_problem(rng, 30, 80, 3)
    X = sp.random(30, 80, density=0.2, format="csc", random_state=3)
    for Xs in (X, X.tocsr(), sp.csc_array(X)):
        grads_s, cost_s = core.propagate(w, b, Xs, Y, alpha=0.1)
        grads_d, cost_d = core.propagate(w, b, X.toarray(), Y, alpha=0.1)
        assert_allclose(cost_s, cost_d, rtol=1e-12)
        assert_allclose(grads_s["dw"], grads_d["dw"], rtol=1e-12, atol=1e-15)
        assert_allclose(grads_s["db"], grads_d["db"], rtol=1e-12, atol=1e-15)
        assert_allclose(
            lipschitz_constant(Xs, n_outputs=3),
            lipschitz_constant(X.toarray(), n_outputs=3),
            rtol=1e-12,
        )


@pytest.mark.parametrize("layout", ["rows", "columns"])  # the twin, NumPy
def test_propagate_keeps_float32_with_float64_weights(rng, layout):
    """The course's call with float32 data and np.ones(m) weights: the sum
    of the weights, a NumPy float64, made dw float64."""
    X = rng.normal(size=(50, 4)).astype(np.float32)
    X = X.T if layout == "rows" else np.asfortranarray(X).T.copy()
    Y = (rng.random((1, 50)) < 0.5).astype(np.float32)
    w = np.zeros((4, 1), dtype=np.float32)
    grads, _ = core.propagate(w, 0.0, X, Y, sample_weight=np.ones(50))
    assert grads["dw"].dtype == np.float32
    reference, _ = core.propagate(w, 0.0, X, Y)
    assert_allclose(grads["dw"], reference["dw"], rtol=1e-6)
