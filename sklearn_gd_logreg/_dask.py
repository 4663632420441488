"""Data in chunks on Dask workers, seen by the core in its own layout.

Full-batch gradient descent reads the data only through sums over samples
(:func:`sklearn_gd_logreg.core.sums`, and the products of the power
iteration of ``learning_rate="auto"``). When ``X`` is a :class:`Columns`, the
rows of a Dask array persisted on the workers, each chunk's sums are
computed where the chunk lies, by :func:`~sklearn_gd_logreg.core.sums` itself
(so by the compiled twin, as in memory): on a ``distributed`` cluster, by one
task per worker that adds the sums of the chunks it holds (submitted
directly, with no graph to build per evaluation: 57 ms to 15 ms per
iteration on 16 small chunks and 2 workers); under another scheduler, as
a Dask array graph added in a tree. Only ``w``, ``b`` and the ``K x n_x``
sums travel; the client holds samples only to estimate the ``"auto"`` step
on a subsample of at most ``FETCH_BYTES`` (:func:`fetch_small`).

Dask is imported only when such data exist; this module imports neither Dask
nor scikit-learn at import time (the core imports it).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

__all__ = ["Columns", "Labels", "holds", "power_products", "sums"]

SPLIT_EVERY = 8  # partial sums added per task of the reduction tree
ORDERED = 1 << 17  # values per evaluation up to which rows are added in order
FETCH_BYTES = 1 << 26  # the "auto" step's subsample read on the client up to this
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
        self._placed: dict = {}  # _placement's, by the arrays' names

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


def fetch_small(X, sample_weight):
    """``X`` and its ``sample_weight`` on the client, in the core's layout,
    in one round trip, when they are :class:`Columns` of at most
    ``FETCH_BYTES`` (``X`` counted as dense); else themselves."""
    if not holds(X) or X.rows.nbytes > FETCH_BYTES:
        return X, sample_weight
    import dask

    with on_workers():
        rows, weights = dask.compute(X.rows, sample_weight.rows)
    return rows.T, weights


def sums(w, b, X: Columns, Y: Labels, sample_weight: Columns | None):
    """:func:`sklearn_gd_logreg.core.sums` of each chunk on its worker, added:
    ``(loss, XdZ, dZ)`` as in memory, up to the order of the sums.

    On a ``distributed`` cluster, with the chunks persisted there, one task
    per worker sums the chunks it holds (:func:`_by_worker`): no graph is
    built per call, and 2 tasks run instead of one per chunk plus the tree.
    """
    n_x, K = w.shape
    kwargs = {"w": w, "b": b, "n_classes": _n_classes(Y)}
    columns = (X, Y) if sample_weight is None else (X, Y, sample_weight)
    with on_workers():
        placed = _placement(*columns)
        if placed is not None:
            total = _by_worker(placed, _chunk_sums, _added, kwargs, 1 + n_x * K + K)
        else:
            total = _by_graph(columns, n_x * K + K, kwargs)
    XdZ = total[1 : 1 + n_x * K].reshape(n_x, K).astype(X.dtype)
    return float(total[0]), XdZ, total[1 + n_x * K :].reshape(K, 1)


def _by_graph(columns, width, kwargs):
    """The chunks' sums as a Dask array graph, added in a tree, computed."""
    import dask.array as da

    indices = ("ij", "i", "i")[: len(columns)]  # X's rows, labels, weights
    parts = da.blockwise(
        _chunk_sums,
        "ij",
        *(a for c, i in zip(columns, indices, strict=True) for a in (c.rows, i)),
        **kwargs,
        adjust_chunks={"i": 1, "j": 1 + width},
        dtype=np.float64,
        meta=np.empty((0, 0)),
        concatenate=True,
    )
    return parts.sum(axis=0, split_every=SPLIT_EVERY).compute()


def _placement(*columns):
    """``(client, groups)`` when every chunk of ``columns`` (aligned
    :class:`Columns`) is a future of the current ``distributed`` client:
    ``groups`` lists, per worker holding chunks of ``X`` (``columns[0]``),
    its address and those chunks' futures, one tuple per chunk in
    ``columns``' order. Else ``None``. Remembered on ``X``, by the arrays'
    names (Dask's tokens of their graphs); the addresses are only hints (a
    task may run elsewhere, if a worker was lost)."""
    X, key = columns[0], tuple(c.rows.name for c in columns)
    if key not in X._placed:
        X._placed[key] = _place(columns)
    return X._placed[key]


def _place(columns):
    try:
        from distributed import Client, futures_of, wait
    except ImportError:
        return None
    try:
        client = Client.current(allow_global=True)
    except ValueError:  # no client: the graph's scheduler
        return None
    chunks = []
    for c in columns:
        futures = {f.key: f for f in futures_of(c.rows) if f.client is client}
        keys = list(_flat(c.rows.__dask_keys__()))
        if not all(k in futures for k in keys):
            return None  # not persisted on this client's workers
        chunks.append([futures[k] for k in keys])
    chunks = list(zip(*chunks, strict=True))  # per chunk: its X, Y (and s) futures
    wait([chunk[0] for chunk in chunks])  # where they lie, once computed
    who = client.who_has([chunk[0] for chunk in chunks])
    groups: dict = {}
    for i, chunk in enumerate(chunks):
        holders = sorted(who.get(chunk[0].key, ())) or [None]
        indices, futures = groups.setdefault(holders[0], ([], []))
        indices.append(i)
        futures.append(chunk)
    return client, sorted(groups.items(), key=lambda g: str(g[0]))


def _flat(keys):
    for k in keys:
        if isinstance(k, list):
            yield from _flat(k)
        else:
            yield k


def _by_worker(placed, per_chunk, combine, kwargs, width):
    """One task per worker: ``per_chunk(*chunk, **kwargs)`` (a row of
    ``width`` values) of each chunk it holds, then the rows combined by
    ``combine`` (rows to a row). Up to ``ORDERED`` values in all, every
    chunk's row comes back and they are combined here in the chunks' order:
    the same bits wherever the chunks lie (on workers alike: each chunk's
    sums use the threads its worker allows). Above, each worker combines its
    own rows first (wide data: less traffic, an order that follows where the
    chunks lie)."""
    client, groups = placed
    n_chunks = sum(len(indices) for _, (indices, _) in groups)
    ordered = n_chunks * width <= ORDERED
    tasks = [
        client.submit(
            _group,
            chunks,
            per_chunk,
            None if ordered else combine,
            kwargs,
            # a hint: anywhere, if the worker is lost (or none was known)
            **({} if address is None else {"workers": [address]}),
            allow_other_workers=address is not None,
            pure=False,
        )
        for address, (_, chunks) in groups
    ]
    rows = np.concatenate(client.gather(tasks))
    if ordered:
        rows = rows[np.argsort([i for _, (indices, _) in groups for i in indices])]
    return combine(rows)[0]


def _group(chunks, per_chunk, combine, kwargs):
    """On a worker: its ``chunks``' rows, combined in order if ``combine``."""
    rows = np.concatenate([per_chunk(*chunk, **kwargs) for chunk in chunks])
    return rows if combine is None else combine(rows)


def _added(parts):
    """Partial sums (rows) added."""
    return parts.sum(axis=0, keepdims=True)


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
    n_x, kwargs = len(v_w), {"v_w": v_w, "v_b": v_b}
    with on_workers():
        placed = _placement(X, s)
        if placed is not None:
            total = _by_worker(placed, _chunk_power, _rescaled_sum, kwargs, n_x + 2)
        else:
            total = _power_by_graph(X, s, n_x, kwargs)
    return total[1 : 1 + n_x].astype(X.dtype), float(total[-1]), float(total[0])


def _power_by_graph(X, s, n_x, kwargs):
    """The chunks' :func:`_chunk_power` as a graph, in a tree of
    :func:`_rescaled_sum`, computed."""
    import dask.array as da

    parts = da.blockwise(
        _chunk_power,
        "ij",
        X.rows,
        "ij",
        s.rows,
        "i",
        **kwargs,
        adjust_chunks={"i": 1, "j": n_x + 2},
        dtype=np.float64,
        meta=np.empty((0, 0)),
        concatenate=True,
    )
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
