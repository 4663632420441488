"""The compiled twin gives core.propagate's numbers, decides its threads as
documented, and never reads out of bounds.

The reference is ``core.propagate``'s NumPy code, which runs for any layout
the twin cannot read: the course's C-ordered ``(n_x, m)`` array, while the
view ``X.T`` of C-ordered rows (what ``fit`` passes) goes to the twin.
"""

import os

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import fit_quietly, run_in_forked_child
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from threadpoolctl import threadpool_limits

from sklearn_gd_logreg import _kernel, _twin, core

# What the twin may use here: every CPU of this process, unless OpenMP's
# own limit is lower.
CORES = min(len(os.sched_getaffinity(0)), _kernel.max_threads())


def problem(rng, n_x, m, K, dtype=np.float64, density=None, index_dtype=np.int32):
    """``w, b, X, Y, s``: ``X`` ``(n_x, m)`` as ``fit`` passes it (the view
    ``X.T`` of C-ordered rows, or CSC)."""
    rows = rng.normal(size=(m, n_x)).astype(dtype)
    if density is not None:
        rows[rng.random(rows.shape) > density] = 0
        rows = sp.csr_matrix(rows)
        rows.indices = rows.indices.astype(index_dtype)
        rows.indptr = rows.indptr.astype(index_dtype)
    index = rng.integers(0, max(K, 2), size=m)
    Y = (index[np.newaxis, :] == 1) if K == 1 else np.eye(K)[index].T
    w = (rng.normal(size=(n_x, K)) / np.sqrt(n_x)).astype(dtype)
    b = 0.3 if K == 1 else rng.normal(size=(K, 1)).astype(dtype)
    s = rng.random(m).astype(dtype)
    return w, b, rows.T, Y.astype(dtype), s


def reference(w, b, X, Y, s=None, alpha=0.0):
    """propagate by its NumPy code: X in a layout the twin does not read."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_twin, "reads", lambda w, X: False)
        return core.propagate(w, b, X, Y, sample_weight=s, alpha=alpha)


def assert_same(got, expected, rtol):
    (grads, cost), (grads_ref, cost_ref) = got, expected
    assert_allclose(cost, cost_ref, rtol=rtol)
    scale = np.abs(grads_ref["dw"]).max() + np.abs(grads_ref["db"]).max()
    assert_allclose(grads["dw"], grads_ref["dw"], rtol=rtol, atol=rtol * scale)
    assert_allclose(grads["db"], grads_ref["db"], rtol=rtol, atol=rtol * scale)


@given(
    n_x=st.integers(1, 40),
    m=st.integers(1, 300),
    K=st.sampled_from([1, 2, 3, 7]),
    dtype=st.sampled_from([np.float64, np.float32]),
    density=st.sampled_from([None, 0.3, 0.02]),
    index_dtype=st.sampled_from([np.int32, np.int64]),
    weighted=st.booleans(),
    threads=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_twin_equals_the_reference(
    n_x, m, K, dtype, density, index_dtype, weighted, threads, seed
):
    """Any shape, dtype, layout (dense, CSR rows), weights and thread count:
    the same cost and gradients, to 1e-12 in float64 (1e-4 in float32, whose
    scores the twin sums in float32)."""
    rng = np.random.default_rng(seed)
    w, b, X, Y, s = problem(rng, n_x, m, K, dtype, density, index_dtype)
    s = s if weighted else None
    assert _twin.reads(w, X)
    with pytest.MonkeyPatch.context() as mp:  # small work still gets threads
        mp.setattr(_twin, "MIN_WORK", 1)
        mp.setattr(_twin, "REDUCE", 0)
        mp.setenv("OMP_NUM_THREADS", str(threads))
        got = core.propagate(w, b, X, Y, sample_weight=s, alpha=0.1)
    assert got[0]["dw"].dtype == dtype
    rtol = 1e-12 if dtype == np.float64 else 1e-4
    expected = reference(w.astype(np.float64), b, X.astype(np.float64), Y, s, alpha=0.1)
    assert_same(got, expected, rtol)


def test_float64_on_every_core_to_1e_12(rng, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    w, b, X, Y, s = problem(rng, 50, 20_000, 3)
    assert _twin.n_threads(X.size * 3, 150) == min(CORES, 11)
    assert_same(
        core.propagate(w, b, X, Y, sample_weight=s),
        reference(w, b, X, Y, s),
        1e-12,
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extreme_scores_give_the_exact_loss(dtype):
    """Scores from -1000 to 1000, past where exp(-|z|) is a normal number:
    the loss and sigmoid as the formulas give them, finite, to the dtype's
    precision."""
    z = np.array([-1000, -800, -709, -100, -88, -30, -1, -1e-9, 0, 1e-20, 0.5, 20,
                  88, 700, 1000.0])  # fmt: skip
    X = z[:, np.newaxis].astype(dtype).T  # one feature, w = 1: Z = z
    w = np.ones((1, 1), dtype)
    zz = z.astype(dtype).astype(np.float64)
    for y in (0.0, 1.0):
        Y = np.full((1, len(z)), y, dtype)
        loss, XdZ, dZ = _twin.sums(w, 0.0, X, Y)
        a = 0.5 * (1 + np.tanh(zz / 2))  # the sigmoid, another way
        rtol = 1e-13 if dtype == np.float64 else 1e-6
        assert np.isfinite(loss)
        assert_allclose(loss, (np.logaddexp(0, zz) - y * zz).sum(), rtol=rtol)
        assert_allclose(dZ[0, 0], (a - y).sum(), rtol=rtol, atol=1e-300)
        assert_allclose(XdZ[0, 0], ((a - y) * zz).sum(), rtol=rtol)


def test_well_classified_samples_keep_their_tiny_loss():
    """At a margin of 30 a sample's loss is about exp(-30) ~ 1e-13; as z +
    log1p(exp(-z)) - y z it would come out of a cancellation with two digits
    at best. The twin and the reference keep it to 1e-14."""
    z = np.array([[30.0, 35.0, 40.0, 600.0, -30.0, -40.0]])
    Y = np.array([[1.0, 1, 1, 1, 0, 0]])
    expected = np.log1p(np.exp(-np.abs(z))).sum()
    assert_allclose(_twin.sums(np.ones((1, 1)), 0.0, z.T.copy().T, Y)[0], expected,
                    rtol=1e-14)  # fmt: skip
    assert_allclose(core.log_loss(z, Y).sum(), expected, rtol=1e-14)
    Z = np.array([[30.0, 40.0], [0.0, 2.0], [-5.0, 5.0]])  # class 0 wins by 30+
    Y = np.array([[1.0, 1.0], [0, 0], [0, 0]])
    expected = np.log1p(np.exp(Z[1:] - Z[0]).sum(axis=0)).sum()
    loss, _, _ = _twin.sums(np.eye(3), np.zeros((3, 1)), Z.T.copy().T, Y)
    assert_allclose(loss, expected, rtol=1e-14)
    assert_allclose(core.log_loss(Z, Y).sum(), expected, rtol=1e-14)


def test_same_bits_every_run(rng):
    w, b, X, Y, _ = problem(rng, 50, 20_000, 1)
    first = _twin.sums(w, b, X, Y)
    for _ in range(3):
        again = _twin.sums(w, b, X, Y)
        assert first[0] == again[0]
        assert_array_equal(first[1], again[1])
        assert_array_equal(first[2], again[2])


def test_no_samples():
    w = np.zeros((3, 1))
    for X in (np.zeros((0, 3)).T, sp.csr_matrix((0, 3)).T):
        loss, XdZ, dZ = _twin.sums(w, 0.0, X, np.zeros((1, 0)))
        assert loss == 0.0
        assert_array_equal(XdZ, np.zeros((3, 1)))
        assert_array_equal(dZ, np.zeros((1, 1)))


def test_which_layouts_the_twin_reads(rng):
    rows = rng.normal(size=(20, 4))
    w = np.zeros((4, 1))
    assert _twin.reads(w, rows.T)  # fit's view
    assert _twin.reads(w, sp.csr_matrix(rows).T)  # CSC: samples contiguous
    assert not _twin.reads(w, np.ascontiguousarray(rows.T))  # course layout
    assert not _twin.reads(w, rows[::2].T)  # strided samples
    assert not _twin.reads(w, sp.csr_matrix(rows.T))  # CSR of (n_x, m)
    assert not _twin.reads(w.astype(np.float32), rows.T)  # dtypes differ
    assert not _twin.reads(w, rows.astype(np.float16).T)
    raw = np.zeros(20 * 4 * 8 + 1, np.uint8)[1:].view(np.float64).reshape(20, 4)
    assert not _twin.reads(w, raw.T)  # misaligned: the reference reads it
    raw[:] = rows
    assert_same(core.propagate(w, 0.1, raw.T, np.ones((1, 20))),
                reference(w, 0.1, rows.T, np.ones((1, 20))), 1e-12)  # fmt: skip


def test_corrupted_sparse_structure_raises_instead_of_reading_out_of_bounds(rng):
    w, b, X, Y, _ = problem(rng, 5, 30, 1, density=0.5)
    for name, position, value in [
        ("indices", 0, 5),
        ("indices", -1, -1),
        ("indptr", -1, 10**6),
        ("indptr", 3, -2),
    ]:
        bad = X.copy()
        getattr(bad, name)[position] = value
        with pytest.raises(ValueError, match="X: the sparse matrix's indices"):
            _twin.sums(w, b, bad, Y)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_non_finite_data_gives_a_non_finite_cost(rng, bad):
    w, b, X, Y, _ = problem(rng, 4, 50, 3)
    X = X.T.copy().T
    X[1, 7] = bad
    with np.errstate(all="ignore"):
        _, cost = core.propagate(w, b, X, Y)
    assert not np.isfinite(cost)


def test_wrong_shapes_raise(rng):
    w, b, X, Y, s = problem(rng, 4, 50, 3)
    with pytest.raises(ValueError, match="w, b and Y must have shapes"):
        _twin.sums(w, b, X, Y[:, :10])
    with pytest.raises(ValueError, match="w, b and Y must have shapes"):
        _twin.sums(w[:3], b, X, Y)
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        _twin.sums(w, b, X, Y, s[:5])


def test_threads_follow_the_work_and_the_limits(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cores = min(CORES, 151)
    assert _twin.n_threads(200_000 * 200, 200) == cores  # dense 200 000 x 200
    assert _twin.n_threads(150 * 4 * 3, 12) == 1  # iris: too little work
    # wide sparse multiclass (1e6 features, K = 20, 2e5 stored values): each
    # thread's 2e7 sums cost more than its share of the work
    assert _twin.n_threads(200_000 * 20, 10**6 * 20) == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # read at each call
    assert _twin.n_threads(200_000 * 200, 200) == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    with threadpool_limits(1):
        assert _twin.n_threads(200_000 * 200, 200) == 1
    assert _twin.n_threads(200_000 * 200, 200) == cores


def test_a_forked_child_computes_on_one_thread_without_hanging(rng):
    """OpenMP's threads do not survive a fork (GNU OpenMP waits forever for
    them in the child): a forked child runs the twin on its own thread."""
    w, b, X, Y, _ = problem(rng, 50, 20_000, 1)
    expected = _twin.sums(w, b, X, Y)[0]  # starts the parent's threads
    run_in_forked_child(
        lambda: (
            _twin.n_threads(10**9, 1) == 1
            and np.isclose(_twin.sums(w, b, X, Y)[0], expected, rtol=1e-12)
        )
    )


def test_fit_leaves_the_thread_settings_as_it_found_them(rng):
    from threadpoolctl import threadpool_info

    from sklearn_gd_logreg import GDLogisticRegression

    X = rng.normal(size=(300, 20))
    y = (X[:, 0] > 0).astype(int)

    def threads():
        return sorted((i["filepath"], i["num_threads"]) for i in threadpool_info())

    before = threads()
    fit_quietly(GDLogisticRegression(max_iter=20, tol=0.0), X, y)
    assert threads() == before
    with threadpool_limits(1):  # the user's limit holds through the fit
        limited = threads()
        fit_quietly(GDLogisticRegression(max_iter=20, tol=0.0), X, y)
        assert threads() == limited
    assert threads() == before


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("n_x", "m"), [(257, 130), (2100, 9), (600, 64)])
@pytest.mark.parametrize("K", [1, 3])
@pytest.mark.parametrize("threads", [1, 2])
def test_wide_rows_never_read_past_the_data(
    rng, monkeypatch, dtype, n_x, m, K, threads
):
    """Chunks of 1 to 8 rows (rows of 16 KiB or more), their last partial
    blocks, and the rows right after X's last one, NaN, which the twin must
    never read: the reference's numbers, finite."""
    w, b, X, Y, s = problem(rng, n_x, m, K, dtype)
    rows = np.full((m + 8, n_x), np.nan, dtype=dtype)
    rows[:m] = X.T
    X = rows[:m].T  # the view fit passes, followed in memory by NaN rows
    assert _twin.reads(w, X) and not _twin.blas_is_faster(X)
    monkeypatch.setattr(_twin, "MIN_WORK", 1)
    monkeypatch.setattr(_twin, "REDUCE", 0)
    monkeypatch.setenv("OMP_NUM_THREADS", str(threads))
    got = core.propagate(w, b, X, Y, sample_weight=s)
    assert np.isfinite(got[1]) and np.isfinite(got[0]["dw"]).all()
    expected = reference(w.astype(np.float64), b, X.astype(np.float64), Y, s)
    assert_same(got, expected, 1e-12 if dtype == np.float64 else 1e-4)


@pytest.mark.parametrize("cache", [0, 32 << 20])
def test_wide_samples_in_the_cache_go_to_blas(rng, monkeypatch, cache):
    """Samples of 32 KiB or more (4096 float64 features) in an X within 3/4
    of the last-level cache take NumPy's two BLAS passes (faster there, see
    ``WIDE_ROW``); anywhere else the twin's one pass. The same numbers."""
    monkeypatch.setattr(_twin, "_cache", lambda: cache)
    calls, twin = [], _twin.sums
    monkeypatch.setattr(_twin, "sums", lambda *a: calls.append(1) or twin(*a))
    w, b, X, Y, s = problem(rng, 4096, 50, 1)  # 1.6 MB
    got = core.propagate(w, b, X, Y, sample_weight=s, alpha=0.1)
    assert_same(got, reference(w, b, X, Y, s, alpha=0.1), 1e-12)
    assert _twin.blas_is_faster(X) == (cache > 0) and len(calls) == (cache == 0)
    narrow, wide_f32 = problem(rng, 4095, 50, 1)[2], X.astype(np.float32)
    assert not _twin.blas_is_faster(narrow) and not _twin.blas_is_faster(wide_f32)
    monkeypatch.setattr(_twin, "_cache", lambda: 4 * X.nbytes // 3 + 8)
    assert _twin.blas_is_faster(X)  # just within 3/4 of the cache
    monkeypatch.setattr(_twin, "_cache", lambda: 4 * X.nbytes // 3 - 8)
    assert not _twin.blas_is_faster(X)  # just over 3/4 of the cache


def test_the_last_level_cache_is_read_once_and_never_fails(tmp_path, monkeypatch):
    """The largest size in sysfs's format, in bytes; what cannot be read or
    parsed is skipped (a fit never fails on it), and it is read once."""
    for index, size in enumerate(["32K", "1024K", "32M", "7 K", "banana", ""]):
        (tmp_path / f"index{index}").mkdir()
        (tmp_path / f"index{index}" / "size").write_text(size + "\n")
    (tmp_path / "index9" / "size").mkdir(parents=True)  # unreadable: a folder
    monkeypatch.setattr(_twin, "SYSFS", str(tmp_path))
    _twin._cache.cache_clear()
    try:
        assert _twin._cache() == 32 << 20
        for path in tmp_path.glob("index[0-5]/size"):
            path.write_text("64M\n")
        assert _twin._cache() == 32 << 20  # not read again
        _twin._cache.cache_clear()
        monkeypatch.setattr(_twin, "SYSFS", str(tmp_path / "missing"))
        assert _twin._cache() == 0  # unknown: the twin everywhere
    finally:
        _twin._cache.cache_clear()
