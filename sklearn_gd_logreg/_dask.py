"""Data in chunks on Dask workers, seen by the core in its own layout.

Full-batch gradient descent reads the data only through sums over samples
(:func:`sklearn_gd_logreg.core.sums`, and the products of the power
iteration of ``learning_rate="auto"``). When ``X`` is a :class:`Columns`, the
rows of a Dask array persisted on the workers, each chunk's sums are
computed where the chunk lies, by :func:`~sklearn_gd_logreg.core.sums` itself
(so by the compiled twin, as in memory), and added in a tree
(``dask.array``'s ``sum(split_every=...)``): only ``w``, ``b`` and the
``K x n_x`` sums travel, the client never holds a sample.

Dask is imported only when such data exist; this module imports neither Dask
nor scikit-learn at import time (the core imports it).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

__all__ = ["Columns", "Labels", "holds", "power_products", "sums"]

SPLIT_EVERY = 8  # partial sums added per task of the reduction tree
# distributed's errors for results lost with a worker (matched by name: this
# module does not import distributed)
_LOST = {"CancelledError", "FutureCancelledError", "KilledWorker"}


@contextmanager
def on_workers():
    """Say so when a computation fails because workers were lost for good:
    the chunks they held could not be recomputed, or a chunk's task killed
    worker after worker."""
    try:
        yield
    except Exception as error:
        if type(error).__name__ not in _LOST:
            raise
        raise RuntimeError(
            f"Dask workers were lost during the fit ({type(error).__name__}: "
            f"{error}), and the chunks they held could not be recomputed. The "
            "estimator is unchanged. Build the data from a Dask graph (not "
            "client.scatter) so that the scheduler can recompute lost chunks "
            "on other workers, and fit again."
        ) from error


class Columns:
    """Samples as columns, stored as the rows of a Dask array on the workers.

    ``rows`` is a Dask array of shape ``(m,)`` (weights) or ``(m, n_x)`` (data,
    one chunk along the features), in chunks along the samples. The core sees
    the shape ``(n_x, m)``; each chunk's ``rows.T`` is a view of dense rows,
    or a CSC matrix for CSR rows: what the compiled twin reads in place.

    Examples
    --------
    >>> import dask
    >>> import dask.array as da
    >>> from sklearn_gd_logreg._dask import Columns
    >>> X = Columns(da.ones((6, 2), chunks=(3, 2)))
    >>> with dask.config.set(scheduler="synchronous"):  # or a cluster's
    ...     X.shape, X.sum()
    ((2, 6), 12.0)
    """

    def __init__(self, rows, total: float | None = None):
        self.rows = rows
        self.shape = (*rows.shape[1:], rows.shape[0])
        self.ndim = len(self.shape)
        self.dtype = rows.dtype
        self._total = total

    def sum(self) -> float:
        """The sum of all values, on the workers (remembered if given)."""
        if self._total is None:
            with on_workers():
                self._total = float(self.rows.sum().compute())
        return self._total

    def max(self) -> float:
        """The largest value, on the workers."""
        with on_workers():
            return float(self.rows.max().compute())

    def __abs__(self) -> Columns:
        return Columns(abs(self.rows))

    def __getitem__(self, key) -> Columns:
        """Samples by a slice (``X[:, ::stride]``, ``s[::stride]``): lazy."""
        key = key if isinstance(key, tuple) else (key,)
        if not all(k == slice(None) for k in key[:-1]) or not isinstance(
            key[-1], slice
        ):
            raise IndexError("Columns select samples by a slice only.")
        return Columns(self.rows[key[-1]])


class Labels(Columns):
    """The one-hot ``Y`` of shape ``(K, m)`` (0/1 labels when ``K = 1``), kept
    on the workers as each sample's class index, one-hot per chunk on use."""

    def __init__(self, rows, n_outputs: int):
        super().__init__(rows)
        self.shape = (n_outputs, rows.shape[0])
        self.ndim = 2

    def __getitem__(self, key) -> Labels:
        return Labels(super().__getitem__(key).rows, self.shape[0])


def holds(X) -> bool:
    """Whether ``X`` lies in chunks on Dask workers."""
    return isinstance(X, Columns)


def sums(w, b, X: Columns, Y: Labels, sample_weight: Columns | None):
    """:func:`sklearn_gd_logreg.core.sums` of each chunk on its worker, added
    in a tree: ``(loss, XdZ, dZ)`` as in memory, up to the order of the sums."""
    import dask.array as da

    n_x, K = w.shape
    weights = () if sample_weight is None else (sample_weight.rows, "i")
    parts = da.blockwise(
        _chunk_sums,
        "ij",
        X.rows,
        "ij",
        Y.rows,
        "i",
        *weights,
        w=w,
        b=b,
        n_classes=_n_classes(Y),
        adjust_chunks={"i": 1, "j": 1 + n_x * K + K},
        dtype=np.float64,
        meta=np.empty((0, 0)),
        concatenate=True,
    )
    with on_workers():
        total = parts.sum(axis=0, split_every=SPLIT_EVERY).compute()
    XdZ = total[1 : 1 + n_x * K].reshape(n_x, K).astype(X.dtype)
    return float(total[0]), XdZ, total[1 + n_x * K :].reshape(K, 1)


def in_place(x):
    """A chunk the twin reads in place: ``x`` itself when its values are
    C-ordered and aligned, else an aligned copy. A chunk that crossed
    processes is a view into the message it came in, which may sit at any
    byte offset; ``fit`` copies such chunks once, when it persists them."""
    import scipy.sparse as sp

    if sp.issparse(x):
        parts = (x.data, x.indices, x.indptr)
        if all(a.flags.aligned and a.flags.c_contiguous for a in parts):
            return x
        return sp.csr_matrix(
            tuple(np.require(a, requirements="CA") for a in parts), shape=x.shape
        )
    return np.require(x, requirements="CA")


def _chunk_sums(x, y_index, s=None, *, w, b, n_classes):
    """On a worker: one chunk's sums, packed in a row ``[loss, XdZ, dZ]``."""
    from sklearn_gd_logreg import core
    from sklearn_gd_logreg._inputs import one_hot

    x = in_place(x)  # a no-op, unless the chunk moved since fit persisted it
    loss, XdZ, dZ = core.sums(w, b, x.T, one_hot(y_index, n_classes, x.dtype), s)
    return np.concatenate([[loss], np.ravel(XdZ), np.ravel(dZ)])[np.newaxis, :]


def _n_classes(Y: Labels) -> int:
    """``one_hot``'s number of classes: 2 for 0/1 labels."""
    return 2 if Y.shape[0] == 1 else Y.shape[0]


def power_products(X: Columns, s: Columns, v_w, v_b: float):
    """One step of the power iteration of
    :func:`~sklearn_gd_logreg._step_size.lipschitz_constant` on the workers.

    With ``u = diag(s) X1.T v``, returns ``X u / scale``, ``sum(u) / scale``
    and ``scale``, a power of two near ``max |u|``. Each chunk divides its
    ``u`` by its own power of two; the tree rescales to the largest, exactly
    (powers of two), so the result is the in-memory one up to the order of
    the sums.
    """
    import dask.array as da

    n_x = len(v_w)
    parts = da.blockwise(
        _chunk_power,
        "ij",
        X.rows,
        "ij",
        s.rows,
        "i",
        v_w=v_w,
        v_b=v_b,
        adjust_chunks={"i": 1, "j": n_x + 2},
        dtype=np.float64,
        meta=np.empty((0, 0)),
        concatenate=True,
    )
    with on_workers():
        total = _reduce_rescaled(parts)
    return total[1 : 1 + n_x].astype(X.dtype), float(total[-1]), float(total[0])


def _reduce_rescaled(parts):
    """The tree reduction of :func:`_rescaled_sum`, computed."""
    import dask.array as da

    return da.reduction(
        parts,
        _rescaled_sum,
        _rescaled_sum,
        axis=0,
        keepdims=True,
        split_every=SPLIT_EVERY,
        dtype=np.float64,
        concatenate=True,
        meta=np.empty((0, 0)),
    ).compute()[0]


def _chunk_power(x, s, *, v_w, v_b):
    """On a worker: ``[scale, x.T u / scale, sum(u) / scale]`` for a chunk."""
    from sklearn_gd_logreg._step_size import _power_of_two

    u = s * (x @ v_w + v_b)
    scale = _power_of_two(float(np.max(np.abs(u), initial=0.0)))
    u = u / scale
    return np.concatenate([[scale], x.T @ u, [u.sum()]])[np.newaxis, :]


def _rescaled_sum(parts, axis=None, keepdims=True):
    """Partial results ``[scale, sums / scale]`` added at the largest scale."""
    parts = np.atleast_2d(parts)
    scale = float(parts[:, 0].max())
    added = (parts[:, 1:] * (parts[:, :1] / scale)).sum(axis=0)
    return np.concatenate([[scale], added])[np.newaxis, :]
