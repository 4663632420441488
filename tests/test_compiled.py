"""The compiled fused pass (``sklearn_gd_logreg._fused``) against NumPy.

Every expected value comes from the NumPy pass with one block (the plain
two-product computation) or from formulas written out below.
"""

import os

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import fit_quietly, gradient_problem, run_in_forked_child
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_gd_logreg import _gradient
from sklearn_gd_logreg._gradient import compiled, loss_and_gradient

UNFUSED = {"block": 10**9, "n_threads": 1}


def _sparse(rng, n_x, m, density, index_dtype=np.int32):
    """CSC of shape (n_x, m): each sample's values contiguous (X.T of CSR)."""
    X = sp.random(m, n_x, density=density, format="csr", random_state=rng).T
    X.indices = X.indices.astype(index_dtype)
    X.indptr = X.indptr.astype(index_dtype)
    return X


def _assert_same(got, expected, rtol):
    loss, XdZ, dZ = got
    assert_allclose(loss, expected[0], rtol=rtol, atol=0)
    scale = np.abs(expected[1]).max()
    assert_allclose(XdZ, expected[1], rtol=rtol, atol=rtol * scale)
    assert_allclose(dZ, expected[2], rtol=rtol, atol=rtol * np.abs(expected[2]).max())


def test_the_extension_is_built():
    """The install builds it wherever a C compiler is at hand (as in CI);
    without it every sum still runs, in NumPy, only slower."""
    assert _gradient._fused is not None, "sklearn_gd_logreg._fused was not built"
    simd = _gradient._fused.simd()
    assert simd in {"x86-64-v4", "x86-64-v3", "x86-64", "compiler default"}


@pytest.mark.parametrize("K", [1, 3])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_dense_equals_unfused_to_1e_12(rng, K, weighted, n_threads):
    w, b, X, Y = gradient_problem(rng, 37, 1001, K)
    s = rng.random(1001) if weighted else None
    assert compiled(w, X)
    got = loss_and_gradient(w, b, X, Y, s, n_threads=n_threads)
    _assert_same(got, loss_and_gradient(w, b, X, Y, s, **UNFUSED), rtol=1e-12)


@pytest.mark.parametrize("K", [1, 4])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_sparse_equals_unfused_to_1e_12(rng, K, index_dtype, n_threads):
    w, b, _, Y = gradient_problem(rng, 300, 2000, K)
    X = _sparse(rng, 300, 2000, 0.02, index_dtype)
    s = rng.random(2000)
    assert compiled(w, X) and X.indices.dtype == index_dtype
    got = loss_and_gradient(w, b, X, Y, s, n_threads=n_threads)
    expected = loss_and_gradient(w, b, X.toarray(), Y, s, **UNFUSED)
    _assert_same(got, expected, rtol=1e-12)


@pytest.mark.parametrize("K", [1, 3])
def test_sparse_float32_stays_float32_and_agrees_with_float64(rng, K):
    w, b, _, Y = gradient_problem(rng, 300, 2000, K, np.float32)
    X = _sparse(rng, 300, 2000, 0.02).astype(np.float32)
    assert compiled(w, X)
    loss, XdZ, dZ = loss_and_gradient(w, b, X, Y, n_threads=2)
    assert XdZ.dtype == np.float32 and dZ.dtype == np.float32
    expected = loss_and_gradient(
        w.astype(np.float64), b, X.astype(np.float64).toarray(), Y, **UNFUSED
    )
    _assert_same((loss, XdZ, dZ), expected, rtol=1e-5)


@pytest.mark.parametrize("n_x", [1, 3, 8, 17, 33])
@pytest.mark.parametrize("m", [1, 2, 5, 9, 16, 31, 70])
def test_every_row_and_column_count(rng, n_x, m):
    """Chunks of rows, four-row groups, vector lanes and their remainders."""
    for K in (1, 2):
        for dtype, rtol in ((np.float64, 1e-12), (np.float32, 2e-5)):
            w, b, X, Y = gradient_problem(rng, n_x, m, K, dtype)
            got = loss_and_gradient(w, b, X, Y, n_threads=2)
            expected = loss_and_gradient(
                w.astype(np.float64), b, X.astype(np.float64), Y, **UNFUSED
            )
            _assert_same(got, expected, rtol=rtol)


def test_float32_stays_float32_and_agrees_with_float64(rng):
    w, b, X, Y = gradient_problem(rng, 200, 5000, 1, np.float32)
    assert compiled(w, X)
    loss, XdZ, dZ = loss_and_gradient(w, b, X, Y)
    assert XdZ.dtype == np.float32 and dZ.dtype == np.float32
    expected = loss_and_gradient(
        w.astype(np.float64), b, X.astype(np.float64), Y, **UNFUSED
    )
    # float32 products within a sample, float64 sums across samples
    _assert_same((loss, XdZ, dZ), expected, rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extreme_scores_give_the_exact_loss(dtype):
    """Scores from -1000 to 1000, past where exp(-|z|) is a normal number
    (|z| > 708 in float64, 87 in float32): the loss log(1 + exp(z)) - y z and
    sigmoid from the formulas, finite, to the dtype's precision."""
    z = np.array([-1000, -800, -709, -100, -88, -30, -1, -1e-9, 0, 1e-20, 0.5, 20,
                  88, 700, 1000.0])  # fmt: skip
    m = len(z)
    X = z[np.newaxis, :].astype(dtype)  # one feature, w = 1: Z = z
    w = np.ones((1, 1), dtype)
    for y in (0.0, 1.0):
        Y = np.full((1, m), y, dtype)
        loss, XdZ, dZ = loss_and_gradient(w, 0.0, np.asfortranarray(X), Y)
        zz = z.astype(dtype).astype(np.float64)
        losses = np.logaddexp(0, zz) - y * zz
        a = 0.5 * (1 + np.tanh(zz / 2))  # the sigmoid, another way
        rtol = 1e-13 if dtype == np.float64 else 1e-6
        assert np.isfinite(loss)
        assert_allclose(loss, losses.sum(), rtol=rtol)
        assert_allclose(dZ[0, 0], (a - y).sum(), rtol=rtol, atol=1e-300)
        assert_allclose(XdZ[0, 0], ((a - y) * zz).sum(), rtol=rtol)


def test_well_classified_samples_keep_their_tiny_loss():
    """At a margin of 30 a sample's loss is about exp(-30) ~ 1e-13; written
    as z + log1p(exp(-z)) - y z (or top + log(sum) - y . z) it would come out
    of a cancellation with two digits at best. The passes keep it to 1e-14."""
    z = np.array([[30.0, 35.0, 40.0, 600.0, -30.0, -40.0]])
    Y = np.array([[1.0, 1, 1, 1, 0, 0]])
    for block in (None, 10**9):  # the compiled and the NumPy pass
        loss, _, _ = loss_and_gradient(
            np.ones((1, 1)), 0.0, np.asfortranarray(z), Y, block=block
        )
        assert_allclose(loss, np.log1p(np.exp(-np.abs(z))).sum(), rtol=1e-14)
    # softmax: class 0 wins by 30 and 35 over the others
    Z = np.array([[30.0, 40.0], [0.0, 2.0], [-5.0, 5.0]])
    Y = np.array([[1.0, 1.0], [0, 0], [0, 0]])
    loss, _, _ = loss_and_gradient(np.eye(3), np.zeros((3, 1)), np.asfortranarray(Z), Y)
    expected = np.log1p(np.exp(Z[1:] - Z[0]).sum(axis=0)).sum()
    assert_allclose(loss, expected, rtol=1e-14)


def test_same_bits_every_run(rng):
    w, b, X, Y = gradient_problem(rng, 50, 20_000, 1)
    first = loss_and_gradient(w, b, X, Y, n_threads=2)
    for _ in range(3):
        again = loss_and_gradient(w, b, X, Y, n_threads=2)
        assert first[0] == again[0]
        assert_array_equal(first[1], again[1])
        assert_array_equal(first[2], again[2])


def test_no_samples(rng):
    w, b, X, Y = gradient_problem(rng, 5, 0, 1)
    loss, XdZ, dZ = loss_and_gradient(w, b, X, Y)
    assert loss == 0.0
    assert_array_equal(XdZ, np.zeros((5, 1)))
    assert_array_equal(dZ, np.zeros((1, 1)))


def test_other_layouts_take_the_numpy_pass(rng):
    w, b, X, Y = gradient_problem(rng, 10, 50, 1)
    c_ordered = np.ascontiguousarray(X)  # the course's (n_x, m) C layout
    assert not compiled(w, c_ordered)
    assert not compiled(w, sp.csr_matrix(X))  # samples are not contiguous
    assert not compiled(w.astype(np.float32), X)  # w and X of two dtypes
    assert not compiled(w, X.astype(np.int64))
    for other in (c_ordered, sp.csr_matrix(X)):
        _assert_same(
            loss_and_gradient(w, b, other, Y),
            loss_and_gradient(w, b, X, Y, **UNFUSED),
            rtol=1e-12,
        )


def test_broken_sparse_structure_raises_instead_of_reading_out_of_bounds(rng):
    w, b, _, Y = gradient_problem(rng, 20, 30, 1)
    X = _sparse(rng, 20, 30, 0.3)
    bad_index = X.copy()
    bad_index.indices[3] = 20  # a feature past n_x
    bad_pointer = X.copy()
    bad_pointer.indptr[5] = bad_pointer.indptr[-1] + 10  # past the stored values
    decreasing = X.copy()
    decreasing.indptr[10] = decreasing.indptr[12] + 1  # then falls back
    for broken in (bad_index, bad_pointer, decreasing):
        for n_threads in (1, 2, 3):
            with pytest.raises(ValueError, match="out of range"):
                loss_and_gradient(w, b, broken, Y, n_threads=n_threads)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_non_finite_data_gives_a_non_finite_cost_not_a_crash(rng, bad):
    """What the solvers' divergence check looks for, in both passes."""
    w, b, X, Y = gradient_problem(rng, 8, 100, 1)
    X[3, 7] = bad
    for block in (None, 10**9):
        with np.errstate(all="ignore"):
            loss, _, _ = loss_and_gradient(w, b, X, Y, block=block)
        assert not np.isfinite(loss)


def test_wrong_sizes_raise_instead_of_reading_out_of_bounds(rng):
    w, _, X, Y = gradient_problem(rng, 6, 40, 1)
    fused = _gradient._fused
    g, dz = np.empty((1, 6)), np.empty(1)
    wt, bias = np.ascontiguousarray(w.T), np.array([0.3])
    fused.loss_and_gradient(X.T, None, None, wt, bias, Y, None, g, dz, 1)
    with pytest.raises(ValueError, match="X: expected 240 items"):
        fused.loss_and_gradient(X.T[:-1], None, None, wt, bias, Y, None, g, dz, 1)
    with pytest.raises(ValueError, match="s: expected 40 items"):
        fused.loss_and_gradient(X.T, None, None, wt, bias, Y, np.ones(3), g, dz, 1)
    with pytest.raises(ValueError, match="g: expected 6 items"):
        fused.loss_and_gradient(X.T, None, None, wt, bias, Y, None, dz, dz, 1)
    with pytest.raises(TypeError, match="Y: expected items of type 'd'"):
        fused.loss_and_gradient(X.T, None, None, wt, bias, Y.astype(np.float32),
                                None, g, dz, 1)  # fmt: skip
    with pytest.raises(TypeError, match="X: expected a C-contiguous buffer"):
        fused.loss_and_gradient(X, None, None, wt, bias, Y, None, g, dz, 1)


def test_fit_on_the_compiled_pass_equals_fit_on_numpy(rng, monkeypatch):
    """The estimator end to end, both passes: the same model to 1e-10."""
    from sklearn_gd_logreg import GDLogisticRegression

    X = rng.normal(size=(3000, 12))
    y = (X[:, 0] + rng.normal(size=3000) > 0).astype(int)
    params = {"max_iter": 50, "tol": 0.0, "alpha": 1e-3}
    fast = fit_quietly(GDLogisticRegression(**params), X, y)
    monkeypatch.setattr(_gradient, "_fused", None)
    assert not compiled(np.zeros((12, 1)), X.T)
    slow = fit_quietly(GDLogisticRegression(**params), X, y)
    assert_allclose(fast.coef_, slow.coef_, rtol=1e-10)
    assert_allclose(fast.loss_curve_, slow.loss_curve_, rtol=1e-12)


def test_threads_work_in_a_forked_child(rng):
    """The compiled pass starts its threads per call: a forked child has
    none of its parent's threads and needs none."""
    w, b, X, Y = gradient_problem(rng, 20, 40_000, 1)
    expected = loss_and_gradient(w, b, X, Y, n_threads=2)[0]
    run_in_forked_child(
        lambda: loss_and_gradient(w, b, X, Y, n_threads=2)[0] == expected
    )


def test_omp_num_threads_caps_the_threads(monkeypatch):
    """joblib's workers set OMP_NUM_THREADS to share the cores between them."""
    _gradient.n_cores.cache_clear()
    try:
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        assert _gradient.n_cores() == 1
        _gradient.n_cores.cache_clear()
        monkeypatch.setenv("OMP_NUM_THREADS", "not a number")
        assert _gradient.n_cores() == len(os.sched_getaffinity(0))
        _gradient.n_cores.cache_clear()
        monkeypatch.setenv("OMP_NUM_THREADS", "1000")
        assert _gradient.n_cores() == len(os.sched_getaffinity(0))
    finally:
        monkeypatch.delenv("OMP_NUM_THREADS")
        _gradient.n_cores.cache_clear()


def test_indices_changed_during_a_call_never_read_out_of_bounds(rng):
    """The GIL is released during the pass: another thread may rewrite the
    indices meanwhile. Each index is checked where it is used, so the call
    returns or raises ValueError; it never reads or writes out of bounds
    (that would crash this process)."""
    import threading

    m, n = 20_000, 50
    indptr = np.arange(0, 20 * m + 1, 20, dtype=np.int64)
    indices = rng.integers(0, n, 20 * m).astype(np.int64)
    good, evil = indices.copy(), np.full_like(indices, 10**7)
    data, wt = rng.normal(size=20 * m), rng.normal(size=(1, n))
    Y, g, dz = np.ones((1, m)), np.empty((1, n)), np.empty(1)
    stop = threading.Event()

    def flip():
        while not stop.is_set():
            indices[:] = evil
            indices[:] = good

    flipper = threading.Thread(target=flip)
    flipper.start()
    outcomes = set()
    try:
        for _ in range(200):
            try:
                _gradient._fused.loss_and_gradient(
                    data, indices, indptr, wt, np.zeros(1), Y, None, g, dz, 2
                )
                outcomes.add("returned")
            except ValueError:
                outcomes.add("raised")
    finally:
        stop.set()
        flipper.join()
    assert outcomes <= {"returned", "raised"} and outcomes


def test_strided_and_misaligned_arrays_are_read_correctly(rng):
    """scipy accepts strided index arrays and NumPy misaligned ones: the
    wrapper hands C contiguous, aligned copies, or takes the NumPy pass."""
    from sklearn_gd_logreg import GDLogisticRegression

    m, per_row = 300, 3
    indices = np.empty(2 * m * per_row, np.int32)[::2]
    indices[:] = np.tile([0, 2, 4], m)
    data = np.empty(2 * m * per_row)[::2]
    data[:] = rng.normal(size=m * per_row)
    indptr = np.arange(0, m * per_row + 1, per_row, dtype=np.int32)
    X = sp.csr_matrix((data, indices, indptr), shape=(m, 5))
    assert not X.indices.flags.c_contiguous
    y = (X.toarray()[:, 0] > 0).astype(int)
    params = {"max_iter": 20, "tol": 0.0}
    sparse_fit = fit_quietly(GDLogisticRegression(**params), X, y)
    dense_fit = fit_quietly(GDLogisticRegression(**params), X.toarray(), y)
    assert_allclose(sparse_fit.coef_, dense_fit.coef_, rtol=1e-10)

    w, b, X, Y = gradient_problem(rng, 6, 40, 1)
    raw = bytearray(X.nbytes + 1)
    shifted = np.frombuffer(raw, dtype=np.float64, count=X.size, offset=1)
    shifted[:] = X.T.ravel()
    misaligned = shifted.reshape(40, 6).T
    assert not misaligned.flags.aligned and not compiled(w, misaligned)
    _assert_same(
        loss_and_gradient(w, b, misaligned, Y),
        loss_and_gradient(w, b, X, Y, **UNFUSED),
        rtol=1e-12,
    )
    g, dz = np.empty((1, 6)), np.empty(1)
    with pytest.raises(ValueError, match="X: expected a buffer aligned"):
        _gradient._fused.loss_and_gradient(
            misaligned.T, None, None, np.ascontiguousarray(w.T), np.array([0.3]),
            Y, None, g, dz, 1,
        )  # fmt: skip


def test_sizes_that_overflow_raise():
    """A zero-size Y of 2**63 - 1 columns: m + 1 and K * m would overflow."""
    with pytest.raises(ValueError, match="K >= 1"):
        _gradient._fused.loss_and_gradient(
            np.zeros(4), np.zeros(4, np.int64), np.zeros(4, np.int64),
            np.empty((0, 3)), np.empty(0), np.empty((0, 2**63 - 1), np.int8),
            None, np.empty((0, 3)), np.empty(0), 1,
        )  # fmt: skip


def test_any_thread_count_gives_the_result(rng):
    w, b, X, Y = gradient_problem(rng, 12, 500, 3)
    expected = loss_and_gradient(w, b, X, Y, **UNFUSED)
    for n_threads in (-5, 0, 1, 7, 499, 500, 501, 10**6):
        _assert_same(
            loss_and_gradient(w, b, X, Y, n_threads=n_threads), expected, rtol=1e-12
        )


def test_sparse_without_samples_in_both_passes():
    w = np.zeros((4, 1))
    for X in (sp.csc_matrix((4, 0)), sp.csr_matrix((4, 0))):
        loss, XdZ, dZ = loss_and_gradient(w, 0.0, X, np.zeros((1, 0)))
        assert loss == 0.0
        assert_array_equal(XdZ, np.zeros((4, 1)))
        assert_array_equal(dZ, np.zeros((1, 1)))


def test_blas_runs_one_thread_during_the_loop_and_is_restored(rng):
    """OpenBLAS's threads spin after each call and took a core from the
    pass's threads: the solvers' loops limit BLAS to one thread meanwhile."""
    from threadpoolctl import threadpool_info

    from sklearn_gd_logreg import core

    def blas_threads():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    seen = []
    w, b, X, Y = gradient_problem(rng, 5, 50, 1)
    core.optimize(w, b, X, Y, 3, 0.1, callback=lambda *_: seen.append(blas_threads()))
    assert seen and all(threads == [1] * len(before) for threads in seen)
    assert blas_threads() == before
