"""When and on how many threads the twin computes :func:`~sklearn_gd_logreg.core.sums`.

The twin (``_kernel.pyx``) reads ``X`` in place when each sample's values are
contiguous: dense ``X`` (``(n_x, m)``) with a C-contiguous transpose (``fit`` passes
the view ``X.T`` of scikit-learn's C-ordered rows) or CSC sparse ``X`` (the transpose
of scikit-learn's CSR), float32 or float64, ``w`` of ``X``'s dtype. Other layouts,
and wide samples in cache (:func:`blas_is_faster`), run ``propagate``'s NumPy code.

Threads: each extra one must earn its start and the float64 buffer of ``n_x * K``
sums it fills, then added to the others. So a pass of ``work`` multiply-adds (stored
values times ``K``) runs on ``work // (MIN_WORK + REDUCE * n_x * K)`` threads, at
most the CPU cores this process may use, ``OMP_NUM_THREADS`` (read at each call) and
OpenMP's own limit for the calling thread (``threadpoolctl.threadpool_limits`` sets it).
"""

from __future__ import annotations

import contextlib
import functools
import glob
import os

import numpy as np
import scipy.sparse as sp

from sklearn_gd_logreg import _kernel
from sklearn_gd_logreg._xp import check_shapes

__all__ = ["blas_is_faster", "n_threads", "reads", "sums"]

# Measured on the 2-core development machine (benchmarks/README.md): a second thread
# pays from 1/4 M multiply-adds per thread; adding a buffer up, 8 per value.
MIN_WORK = 1 << 18
REDUCE = 8
# Samples this wide in an X held in the last-level cache: BLAS's two passes
# from it beat the twin's one, whose blocks of 8 rows overflow level 2 (209 x
# 12 288 images: 0.81 x the twin's time, bench_speed; from memory, the twin).
WIDE_ROW = 1 << 15
SYSFS = "/sys/devices/system/cpu/cpu0/cache"
_REALS = (np.dtype(np.float32), np.dtype(np.float64))
_INDICES = (np.dtype(np.int32), np.dtype(np.int64))
_forked = False  # a forked child's OpenMP may wait forever on the parent's threads


def _after_fork() -> None:
    global _forked
    _forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def reads(w, X) -> bool:
    """Whether the twin reads ``X`` (``(n_x, m)``) in place, for ``w``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gd_logreg._twin import reads
    >>> X = np.ones((5, 3))  # scikit-learn's layout: 5 samples as rows
    >>> reads(np.zeros((3, 1)), X.T)  # the view fit passes to the core
    True
    >>> reads(np.zeros((3, 1)), np.ascontiguousarray(X.T))  # samples strided
    False
    """
    if not (isinstance(X, np.ndarray) or sp.issparse(X)):
        return False  # another library's array: core's Array API code
    if X.dtype not in _REALS or w.dtype != X.dtype:
        return False
    if sp.issparse(X):
        return (
            X.format == "csc"
            and X.indices.dtype in _INDICES
            and X.indptr.dtype == X.indices.dtype
        )
    return X.T.flags.c_contiguous and X.flags.aligned


def blas_is_faster(X) -> bool:
    """Whether dense float64 ``X`` has samples of ``WIDE_ROW`` bytes or more
    and fits in 3/4 of the last-level cache, where NumPy beats the twin."""
    wide = isinstance(X, np.ndarray) and X.dtype == np.float64
    return wide and X.shape[0] * 8 >= WIDE_ROW and 4 * X.nbytes <= 3 * _cache()


@functools.cache
def _cache() -> int:
    """Bytes of the CPU's largest cache, from Linux's sysfs (0 where unread)."""
    sizes, shift = [0], {"K": 10, "M": 20, "G": 30}
    for path in glob.glob(f"{SYSFS}/index*/size"):
        with contextlib.suppress(OSError, ValueError, KeyError), open(path) as f:
            text = f.read().strip()
            sizes.append(int(text[:-1]) << shift[text[-1:]])  # "32768K"
    return max(sizes)


def n_threads(work: int, reduction: int) -> int:
    """Threads for a pass of ``work`` multiply-adds into ``reduction`` sums."""
    by_work = work // (MIN_WORK + REDUCE * reduction)
    if by_work <= 1:  # whatever the limits: no system call on small problems
        return 1
    affinity = getattr(os, "sched_getaffinity", None)  # the CPUs it may run on
    cpus = len(affinity(0)) if affinity else os.cpu_count() or 1
    limit = min(_kernel.max_threads(), cpus)
    setting = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if setting.isdigit() and int(setting) > 0:
        limit = min(limit, int(setting))
    if _forked:
        return 1
    return max(1, min(limit, by_work))


def sums(w, b, X, Y, sample_weight=None):
    """``propagate``'s sums by the twin, for ``reads(w, X)``: ``(loss, XdZ, dZ)`` as
    :func:`sklearn_gd_logreg.core.sums` returns them, ``XdZ`` in ``X``'s dtype."""
    check_shapes(w, b, X, Y, sample_weight)  # before the kernel reads them
    (n_x, m), K, dtype = X.shape, w.shape[1], X.dtype
    bias = np.empty(K)  # a float or 0-d b: each k
    bias[:] = b if type(b) is float else np.asarray(b, np.float64).reshape(-1)
    Y = _ready(Y, dtype)
    if sample_weight is not None:
        sample_weight = _ready(sample_weight, dtype)
    sparse = sp.issparse(X)
    T = n_threads((X.nnz if sparse else X.size) * K, n_x * K)
    # Dense rows meet w class by class (K x n_x: a dot product per class);
    # a sparse row's stored value meets the K weights of its feature (n_x x K).
    shape = (T, n_x, K) if sparse else (T, K, n_x)
    G, db, loss = np.zeros(shape), np.zeros((T, K)), np.zeros(T)
    W = _ready(w if sparse else w.T)  # no copy if K = 1
    args = (W, bias, Y, sample_weight, G, db, loss)
    if not sparse:
        _kernel.dense(X.T, *args)
    else:
        data, indices, indptr = (_ready(a) for a in (X.data, X.indices, X.indptr))
        if len(indptr) != m + 1 or not _kernel.sparse(
            data, indices, indptr, n_x, *args
        ):
            raise ValueError(
                "X: the sparse matrix's indices or indptr are out of range for "
                f"its shape {X.shape}; its structure is corrupted."
            )
    for t in range(1, T):  # in task order: the same bits on every run
        G[0] += G[t]
        db[0] += db[t]
    XdZ = G[0] if sparse else G[0].T
    total = float(loss[0]) if T == 1 else float(loss.sum())
    return total, XdZ.astype(dtype, copy=False), db[0].reshape(K, 1)


def _ready(a, dtype=None):
    """``a`` C-contiguous, aligned, in ``dtype``: itself if so (a third of
    ``np.require``'s time, three times a gradient), else a copy."""
    f = a.flags
    ok = f.c_contiguous and f.aligned and (dtype is None or a.dtype == dtype)
    return a if ok else np.require(a, dtype, "CA")
