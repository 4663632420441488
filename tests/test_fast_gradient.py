"""The fused, blocked gradient; float32 end to end; sparse input; memory."""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import gradient_problem, run_in_forked_child
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_gd_logreg import GDLogisticRegression, ImageFlattener, core
from sklearn_gd_logreg._gradient import (
    MIN_BLOCKS,
    block_size,
    cache_bytes,
    loss_and_gradient,
)
from sklearn_gd_logreg._step_size import lipschitz_constant


def _reference(w, b, X, Y, s):
    """The course's sums written plainly (textbook formulas, finite here)."""
    Z = w.T @ X + b
    if w.shape[1] == 1:
        A = 1 / (1 + np.exp(-Z))
        losses = -(Y * np.log(A) + (1 - Y) * np.log(1 - A))
    else:
        A = np.exp(Z) / np.exp(Z).sum(axis=0)
        losses = -(Y * np.log(A)).sum(axis=0)
    dZ = (A - Y) * s
    return (losses * s).sum(), X @ dZ.T, dZ.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("K", [1, 3])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(("block", "n_threads"), [(1, 1), (7, 1), (64, 2), (50, 3)])
def test_blocked_equals_unfused_to_1e_12(rng, K, weighted, block, n_threads):
    w, b, X, Y = gradient_problem(rng, 30, 301, K)
    s = rng.random(301) if weighted else None
    whole = loss_and_gradient(w, b, X, Y, s, block=10**9, n_threads=1)
    blocked = loss_and_gradient(w, b, X, Y, s, block=block, n_threads=n_threads)
    for a, c in zip(blocked, whole, strict=True):
        assert_allclose(a, c, rtol=1e-12, atol=0)
    reference = _reference(w, b, X, Y, np.ones(301) if s is None else s)
    for a, c in zip(whole, reference, strict=True):
        assert_allclose(a, c, rtol=1e-12, atol=1e-14)


def test_threads_give_the_same_bits_every_time(rng):
    w, b, X, Y = gradient_problem(rng, 20, 4000, 1)
    first = loss_and_gradient(w, b, X, Y, block=100, n_threads=2)
    for _ in range(3):
        again = loss_and_gradient(w, b, X, Y, block=100, n_threads=2)
        assert first[0] == again[0]
        assert_array_equal(first[1], again[1])


def test_block_size_fills_three_quarters_of_the_level_2_cache():
    X = np.zeros((200, 10))
    block = block_size(X)
    budget = cache_bytes() * 3 // 4
    assert block * 200 * 8 <= budget < (block + 1) * 200 * 8
    assert block_size(np.zeros((10**7, 3))) == 1  # a sample wider than the cache
    Xs = sp.random(1000, 500, density=0.01, format="csc", random_state=0)
    per_sample = (8 + Xs.indices.dtype.itemsize) * Xs.nnz / 500
    assert block_size(Xs) == int(budget // per_sample)


def test_propagate_on_large_data_is_blocked_exact_and_lean(rng):
    """Enough samples for the blocked path: same numbers as one block, and
    no temporary of X's size: only blocks and the scores ``Z`` (``K x m``)."""
    n_x = 100
    block = block_size(np.zeros((n_x, 1)))
    m = (MIN_BLOCKS + 1) * block + 17
    w, b, X, Y = gradient_problem(rng, n_x, m, 1)
    tracemalloc.start()
    grads, cost = core.propagate(w, b, X, Y, alpha=0.1)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # A few block-sized temporaries per thread, the (n_x, K) sums, and Z and
    # the losses (K x m each) for the loss; a (n_x, m) temporary would be
    # X's size.
    assert peak < 2.5 * m * 8 + 16 * block * 8 + 64 * n_x * 8 + 100_000
    assert peak < 0.03 * X.nbytes
    loss, XdZ, dZ = loss_and_gradient(w, b, X, Y, block=10**9, n_threads=1)
    assert_allclose(cost, loss / m + 0.05 * np.vdot(w, w), rtol=1e-12)
    assert_allclose(grads["dw"], XdZ / m + 0.1 * w, rtol=1e-12)
    assert_allclose(grads["db"], dZ[0, 0] / m, rtol=1e-12)


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


def test_sparse_is_never_densified():
    X = sp.random(5_000, 4_000, density=0.001, format="csr", random_state=0)
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


def test_threads_work_in_a_forked_child(rng):
    """The thread pool is per process: a forked child makes its own."""
    w, b, X, Y = gradient_problem(rng, 20, 4000, 1)
    expected = loss_and_gradient(w, b, X, Y, block=100, n_threads=2)[0]
    run_in_forked_child(
        lambda: loss_and_gradient(w, b, X, Y, block=100, n_threads=2)[0] == expected
    )
