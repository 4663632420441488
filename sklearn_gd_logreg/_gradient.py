"""The log-loss and its gradient in one pass over ``X``: fused and blocked.

:func:`sklearn_gd_logreg.core.propagate` needs, for ``X`` of shape
``(n_x, m)`` (samples as columns)::

    Z = w.T X + b,   A = sigmoid(Z) or softmax(Z),   dZ = s * (A - Y)
    loss = sum_i s_i loss_i(Z_i),   X dZ.T,   sum_i dZ_i

Written plainly, ``X`` is read from memory twice (``w.T X``, then
``X dZ.T``): once it is larger than the CPU caches, that is twice the time
of reading it once. Every quantity above is a sum over samples, so it can be
taken a sample, or a block of samples, at a time, while they are in cache.
:func:`loss_and_gradient` is the one place where these sums are computed
(``propagate`` only divides by the total weight and adds the penalty), in
one of two ways:

**Compiled** (``sklearn_gd_logreg._fused``, C, built at install time when a C
compiler is at hand). Per sample: its score, the loss and ``dZ``, and its
update of ``X dZ.T``, while its values are in the level-1 cache, so ``X``
comes from memory once. The exponential and the ``log1p`` of the loss are
computed a vector of samples at a time; the samples are split into one
contiguous range per core, each summed in its own float64 buffers by a
thread without the GIL, and the ranges' sums are added in a fixed order.
It reads ``X`` as it is, without a copy, when each sample's values are
contiguous: dense ``X`` whose transpose is C-contiguous (``fit`` passes the
view ``X.T`` of C-ordered data) and sparse ``X`` in CSC format (the
transpose of scikit-learn's CSR), float32 or float64, and ``w`` of ``X``'s
dtype. float32 data are multiplied and added in float32 within a sample and
a few hundred samples, and summed in float64 beyond.

**NumPy**, for every other layout (and when the extension was not built):
the same sums a block of samples at a time, ``Z`` and ``dZ`` of the block,
then ``X_block dZ_block.T`` while the block is still in the level-2 cache.
The loss needs only ``Z``, which is kept (``K x m``, ``1 / n_x`` of ``X``'s
size) and turned into the loss at the end in a few large NumPy calls: per
block, each call costs the other threads a hand-off of the GIL. No temporary
is larger than ``n_x x block`` or ``K x m``.

The block fills three quarters of one core's level-2 cache (read from the
operating system, 1 MiB when unknown), so its second read hits that cache
and the rest of the working set (``w``, the block's ``Z`` and ``dZ``, the
sums) fits beside it: ``block = 3/4 L2 / (n_x * itemsize)`` samples for
dense ``X``; for sparse ``X``, as many samples as make three quarters of the
cache of stored values and indices. (Measured on the development machine,
200 000 x 200 float64: 1/2 of L2 29 ms, 3/4 24 ms, all of it 25 ms, twice
it 26 ms per gradient; smaller blocks pay more per-block NumPy calls.)
Data of fewer than ``MIN_BLOCKS`` blocks is not blocked (there, the
per-block costs exceed the saved read, measured).
The blocks are split between the CPU cores, each summing its share in a
thread (NumPy's BLAS calls release the GIL) with BLAS limited to one thread,
and the shares are added in a fixed order, so the result does not depend on
timing. One block (small data) is the unfused computation itself; blocking
only changes the order of the sums. Sparse ``X`` is not blocked in NumPy
(see :func:`loss_and_gradient`).

Both ways agree with the unfused computation to ``1e-12`` relative in
float64 (tests/test_compiled.py, tests/test_fast_gradient.py).
"""

from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import ContextDecorator
from functools import cache

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

try:
    from . import _fused
except ImportError:  # pragma: no cover - built without a C compiler
    _fused = None

__all__ = ["block_size", "compiled", "loss_and_gradient", "one_blas_thread", "scores"]

_DEFAULT_CACHE_BYTES = 1 << 20  # when the OS does not say: a common L2 size
# Blocking pays when X is many times the cache: each block costs ~10 NumPy
# calls and each thread a hand-off, and data of a few blocks is read from a
# larger cache level anyway. Measured on the 2-core development machine, the
# blocked pass loses on the 20 MB image problem (14 to 21 blocks) and wins
# on 320 MB (200 blocks and more).
MIN_BLOCKS = 16
# Work per thread of the compiled pass, in values times K (a stored sparse
# value counts SPARSE_COST: gathered and scattered, it costs about that many
# dense values): below it, a second thread costs more than it saves.
# Measured on the 2-core development machine, in fit's loop: digits (1797 x
# 64, K = 10, 1.2 M) is faster on one thread, the images (209 x 12 288, 2.6
# M) and the sparse problem (2 M stored values) on two.
MIN_WORK_PER_THREAD = 1 << 20
SPARSE_COST = 4
_REALS = (np.dtype(np.float64), np.dtype(np.float32))


@cache
def cache_bytes() -> int:
    """Size of one core's level-2 data cache in bytes (1 MiB when unknown)."""
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for index in sorted(os.listdir(base)):
            path = os.path.join(base, index)
            with open(os.path.join(path, "level")) as f:
                level = int(f.read())
            with open(os.path.join(path, "type")) as f:
                kind = f.read().strip()
            if level == 2 and kind in ("Unified", "Data"):
                with open(os.path.join(path, "size")) as f:
                    size = f.read().strip().upper()
                factor = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(size[-1], 1)
                return int(size.rstrip("KMG")) * factor
    except (OSError, ValueError):
        pass
    return _DEFAULT_CACHE_BYTES


@cache
def n_cores() -> int:
    """Threads for one gradient: the CPU cores this process may run on, at
    most ``OMP_NUM_THREADS`` when that is set (as joblib sets it in its
    worker processes, so that ``n_jobs`` workers do not oversubscribe the
    cores; scikit-learn's own compiled code reads it too)."""
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = max(1, os.cpu_count() or 1)
    try:
        limit = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:  # unset, or not a number
        return cores
    return max(1, min(cores, limit))


def block_size(X) -> int:
    """Samples (columns of ``X``) per block: 3/4 of a level-2 cache of data.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_x, m)
        Data, one sample per column.

    Returns
    -------
    block : int
        ``>= 1``; ``m`` or more means one block.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gd_logreg._gradient import block_size, cache_bytes
    >>> X = np.zeros((200, 100_000))
    >>> block_size(X) == max(1, cache_bytes() * 3 // 4 // (200 * 8))
    True
    """
    n_x, m = X.shape
    budget = cache_bytes() * 3 // 4
    if sp.issparse(X):
        per_value = X.dtype.itemsize + X.indices.dtype.itemsize
        per_sample = per_value * max(X.nnz, 1) / max(m, 1)
    else:
        per_sample = n_x * X.dtype.itemsize
    return max(1, int(budget // max(per_sample, 1)))


def scores(w, b, X):
    """``Z = w.T X + b``, of shape ``(K, m)``, for dense or sparse ``X``."""
    if not sp.issparse(X):
        return w.T @ X + b
    if w.shape[1] == 1:  # SciPy's matrix-vector product is its fastest
        return (X.T @ w[:, 0])[np.newaxis, :] + b
    return np.asarray(X.T @ w).T + b


def _times(X, dZ):
    """``X dZ.T``, of shape ``(n_x, K)``, for dense or sparse ``X``."""
    if not sp.issparse(X):
        return X @ dZ.T
    if dZ.shape[0] == 1:
        return (X @ dZ[0])[:, np.newaxis]
    return np.asarray(X @ dZ.T)


def _activation(Z):
    """``A = sigmoid(Z)`` (``K = 1``) or the column-wise softmax of ``Z``."""
    if Z.shape[0] == 1:
        return expit(Z)
    A = np.exp(Z - Z.max(axis=0, keepdims=True))  # no overflow
    A /= A.sum(axis=0, keepdims=True)
    return A


def _loss_sum(Z, Y, sample_weight):
    """``sum_i s_i loss_i`` from the scores ``Z`` (overwritten).

    ``loss = log(1 + exp(z)) - y z`` (log-sum-exp for the softmax), which
    equals the course's ``-(y log a + (1 - y) log(1 - a))`` wherever that is
    finite, and stays finite where ``a`` rounds to 0 or 1.
    """
    if Z.shape[0] == 1:
        # log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)), in place. (The
        # values of np.logaddexp(0, z), but these ufuncs let other threads
        # run, while logaddexp's loop holds them up.)
        losses = np.abs(Z)
        np.negative(losses, out=losses)
        np.exp(losses, out=losses)
        np.log1p(losses, out=losses)
        # + max(z, 0) - y z, as (1 - y) z where z > 0: a well-classified
        # sample's loss is then the log1p term itself, not z + tiny - z.
        positive = Z > 0
        yz = Y * Z
        np.subtract(Z, yz, out=Z, where=positive)
        np.negative(yz, out=Z, where=~positive)
        losses += Z  # log(1 + exp(z)) - y z
    else:
        top = Z.max(axis=0, keepdims=True)
        losses = np.exp(Z - top).sum(axis=0, keepdims=True)
        np.log(losses, out=losses)
        losses += top
        losses -= np.einsum("km,km->m", Y, Z)  # log-sum-exp(z) - y.z
    if sample_weight is not None:
        losses *= sample_weight
    return losses.sum()


def _sums_over(w, b, X, Y, sample_weight, start, stop, block):
    """Loss, ``X dZ.T`` and ``dZ`` summed over the samples ``start:stop``.

    The course's forward and backward pass, a block of columns at a time:
    ``Z``, ``dZ = s * (A - Y)`` and ``X dZ.T`` per block, while the block is
    in cache; the loss once at the end, from the share's ``Z`` (a few large
    NumPy calls rather than a few per block).
    """
    K = w.shape[1]
    XdZ, dZ_sum, Z = np.zeros_like(w), np.zeros((K, 1), w.dtype), None
    for i in range(start, stop, block):
        j = min(i + block, stop)
        if j - i == X.shape[1]:  # one block: no slice (a copy, if sparse)
            Xb, Yb, s = X, Y, sample_weight
        else:
            Xb, Yb = X[:, i:j], Y[:, i:j]
            s = None if sample_weight is None else sample_weight[i:j]
        Zb = scores(w, b, Xb)
        if j - i == stop - start:
            Z = Zb
        else:
            if Z is None:
                Z = np.empty((K, stop - start), dtype=Zb.dtype)
            Z[:, i - start : j - start] = Zb
        dZ = _activation(Zb)
        dZ -= Yb
        if s is not None:
            dZ *= s
        XdZ += _times(Xb, dZ)
        dZ_sum += dZ.sum(axis=1, keepdims=True)
    if Z is None:  # no samples
        return 0.0, XdZ, dZ_sum
    s = None if sample_weight is None else sample_weight[start:stop]
    return _loss_sum(Z, Y[:, start:stop], s), XdZ, dZ_sum


def compiled(w, X) -> bool:
    """Whether the compiled pass reads ``X`` as it is (see the module's text).

    Parameters
    ----------
    w : ndarray of shape (n_x, K)
    X : ndarray or scipy.sparse matrix or array of shape (n_x, m)

    Returns
    -------
    bool
        ``True`` when the extension is built, ``X`` is float32 or float64
        with each sample's values contiguous (the transpose of a C-ordered
        array, or CSC), and ``w`` has ``X``'s dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gd_logreg._gradient import compiled
    >>> from sklearn_gd_logreg import _gradient
    >>> X = np.ones((5, 3))  # scikit-learn's layout: samples as rows
    >>> w = np.zeros((3, 1))
    >>> compiled(w, X.T) == (_gradient._fused is not None)  # fit's view X.T
    True
    >>> compiled(w, np.ascontiguousarray(X.T))  # the course's C-ordered layout
    False
    """
    if _fused is None or X.dtype not in _REALS or w.dtype != X.dtype:
        return False
    if sp.issparse(X):
        return X.format == "csc" and X.indices.dtype == X.indptr.dtype
    # Read in place: each sample's values contiguous, and aligned for X's type
    return isinstance(X, np.ndarray) and X.T.flags.c_contiguous and X.flags.aligned


def _compiled_sums(w, b, X, Y, sample_weight, n_threads):
    """:func:`loss_and_gradient` by the compiled pass (``compiled(w, X)``)."""
    dtype, (n_x, m), K = X.dtype, X.shape, w.shape[1]
    # C-contiguous and aligned (no copy when they already are), X's dtype
    wt = np.require(w.T, dtype, "CA")
    bias = np.empty(K, dtype=dtype)
    bias[:] = np.asarray(b).reshape(-1)
    Y = np.require(Y, dtype, "CA")
    if Y.shape != (K, m):
        raise ValueError(f"Y: expected shape {(K, m)}, got {Y.shape}")
    if sample_weight is not None:
        sample_weight = np.require(sample_weight, dtype, "CA")
    if sp.issparse(X):
        values, indices, indptr = (
            np.require(a, requirements="CA") for a in (X.data, X.indices, X.indptr)
        )
        work = SPARSE_COST * X.nnz
    else:
        values, indices, indptr, work = X.T, None, None, X.size
    if n_threads is None:
        n_threads = min(n_cores(), max(1, work * K // MIN_WORK_PER_THREAD))
    XdZ, dZ = np.empty((K, n_x)), np.empty(K)
    loss = _fused.loss_and_gradient(
        values, indices, indptr, wt, bias, Y, sample_weight, XdZ, dZ, int(n_threads)
    )
    return loss, XdZ.T.astype(dtype, copy=False), dZ.reshape(K, 1).astype(dtype)


def loss_and_gradient(w, b, X, Y, sample_weight=None, *, block=None, n_threads=None):
    """Summed loss, ``X dZ.T`` and ``sum dZ``, reading ``X`` once.

    Parameters
    ----------
    w : ndarray of shape (n_x, K)
    b : float or ndarray of shape (K, 1)
    X : ndarray or scipy.sparse matrix or array of shape (n_x, m)
        Data, one sample per column.
    Y : ndarray of shape (K, m)
        0/1 labels (``K = 1``) or one-hot.
    sample_weight : ndarray of shape (m,), default=None
    block : int, default=None
        ``None``: the compiled pass where :func:`compiled` says it applies,
        else NumPy blocks of :func:`block_size` samples. An int: NumPy
        blocks of that many samples; ``block >= m`` is the unfused
        computation.
    n_threads : int, default=None
        Threads that share the samples; ``None``: one per core, when each
        gets at least ``MIN_WORK_PER_THREAD`` values (compiled) or
        ``MIN_BLOCKS // 2`` blocks (NumPy).

    Returns
    -------
    loss : float
        ``sum_i s_i loss_i``.
    XdZ : ndarray of shape (n_x, K)
        ``X (s * (A - Y)).T``.
    dZ : ndarray of shape (K, 1)
        ``sum_i s_i (A_i - Y_i)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gd_logreg._gradient import loss_and_gradient
    >>> X, Y = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]]), np.array([[1, 0, 1]])
    >>> loss, XdZ, dZ = loss_and_gradient(np.array([[1.0], [2.0]]), 2.0, X, Y)
    >>> round(float(loss) / 3, 8), XdZ.ravel() / 3
    (5.80154532, array([0.99845601, 2.39507239]))
    """
    m = X.shape[1]
    if block is None and compiled(w, X):
        return _compiled_sums(w, b, X, Y, sample_weight, n_threads)
    if block is None:
        # Sparse X is taken whole: SciPy's sparse products hold the GIL (no
        # threads) and slicing a block copies it, so blocks only add cost.
        block = max(m, 1) if sp.issparse(X) else block_size(X)
        if -(-m // block) < MIN_BLOCKS:
            block = m  # too few blocks to pay for their fixed costs: unfused
    block = max(1, min(int(block), m))
    n_blocks = -(-m // block)
    if n_threads is None:
        n_threads = min(n_cores(), n_blocks // (MIN_BLOCKS // 2))
    n_threads = max(1, min(n_threads, n_blocks))
    if n_threads == 1:
        return _sums_over(w, b, X, Y, sample_weight, 0, m, block)
    # Equal shares of whole blocks, summed in share order: deterministic.
    edges = [block * (n_blocks * k // n_threads) for k in range(n_threads)] + [m]
    with one_blas_thread():
        pool = _pool(n_threads)
        (lo, hi), *others = itertools.pairwise(edges)
        futures = [
            pool.submit(_sums_over, w, b, X, Y, sample_weight, *share, block)
            for share in others
        ]
        parts = [_sums_over(w, b, X, Y, sample_weight, lo, hi, block)]
        parts += [f.result() for f in futures]
    loss, XdZ, dZ = parts[0]
    for part in parts[1:]:
        loss += part[0]
        XdZ += part[1]
        dZ += part[2]
    return loss, XdZ, dZ


_POOL: dict[tuple[int, int], ThreadPoolExecutor] = {}
_POOL_LOCK = threading.Lock()


def _pool(n_threads: int) -> ThreadPoolExecutor:
    """A process-wide pool of ``n_threads - 1`` workers (the caller is one).

    Keyed by process id too: a forked child has none of its parent's threads.
    """
    key = (os.getpid(), n_threads)
    with _POOL_LOCK:
        if key not in _POOL:
            _POOL[key] = ThreadPoolExecutor(
                n_threads - 1, thread_name_prefix="sklearn_gd_logreg"
            )
        return _POOL[key]


class one_blas_thread(ContextDecorator):
    """Limit BLAS to one thread while our own threads use the cores.

    Around the NumPy pass's blocks, each too small for BLAS's threads to pay
    off; and around the solvers' loops (a decorator there), whose BLAS calls
    are vector operations of ``n_x`` or ``m`` values: OpenBLAS's threads spin
    for a while after each call, and took a core from the compiled pass's
    threads (measured on the 209 x 12 288 images problem: 300 iterations of
    "nesterov" 2.1 s with BLAS's two threads, 0.56 s with one). Nests, and
    is shared by concurrent fits: the first to enter sets the limit, the
    last to leave restores it. Uses threadpoolctl (a dependency of
    scikit-learn) when it is installed; without it, BLAS keeps its own
    setting.
    """

    _lock = threading.Lock()
    _depth = 0
    _limiter = None

    def __enter__(self):
        cls = type(self)
        with cls._lock:
            if cls._depth == 0:
                cls._limiter = _blas_limiter()
            cls._depth += 1
        return self

    def __exit__(self, *exc):
        cls = type(self)
        with cls._lock:
            cls._depth -= 1
            if cls._depth == 0 and cls._limiter is not None:
                cls._limiter.restore_original_limits()
                cls._limiter = None
        return False


@cache
def _controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl comes with sklearn
        return None
    return ThreadpoolController()


def _blas_limiter():
    controller = _controller()
    if controller is None:  # pragma: no cover
        return None
    return controller.limit(limits=1, user_api="blas")
