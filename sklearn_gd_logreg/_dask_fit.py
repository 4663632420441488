"""``fit`` and ``partial_fit`` on Dask collections: the data stay on the workers.

:func:`dask_problem` is the Dask twin of the in-memory lines of
``_fit_path.fit_path``: it checks the inputs, persists the chunks
once, finds the classes, their counts and the sample weights in one pass
over them, and returns a :class:`DaskProblem`, whose sums
(:mod:`sklearn_gd_logreg._dask`) run on the workers. The solvers do not
know the difference, except ``"sgd"``, whose mini-batches
(:meth:`DaskProblem.batches`) stream one chunk at a time to the client.
"""

from __future__ import annotations

import numbers
import sys
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_feature_names, _check_n_features

from sklearn_gd_logreg._dask import Columns, Labels, _n_classes, in_place, on_workers
from sklearn_gd_logreg._dask_holdout import holdout
from sklearn_gd_logreg._inputs import FLOATS, check_classes, check_structure, one_hot
from sklearn_gd_logreg._problem import NO_PENALTY, Problem


def is_dask(X) -> bool:
    """Whether ``X`` is a Dask collection (array, DataFrame, Series)."""
    if "dask" not in sys.modules:  # never imported: cannot be one
        return False
    from dask import is_dask_collection

    return is_dask_collection(X)


def as_rows(X, name: str, *, ndim: int | None = None):
    """A Dask collection (or, for ``y`` and weights, any array) as a Dask
    array with chunks of known sizes along its first axis only."""
    import dask.array as da

    if not is_dask(X):
        return None if X is None else np.asarray(X)
    if hasattr(X, "to_dask_array"):  # DataFrame, Series
        X = X.to_dask_array(lengths=True)
    if not isinstance(X, da.Array):
        raise TypeError(f"{name} must be a Dask array or DataFrame; got {type(X)}.")
    if ndim is not None and X.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D Dask array; got shape {X.shape}.")
    if any(np.isnan(c) for c in X.chunks[0]):
        raise ValueError(
            f"{name} has chunks of unknown size (NaN in {name}.chunks); call "
            f"{name}.compute_chunk_sizes() first, or for a Dask DataFrame use "
            f"{name}.to_dask_array(lengths=True)."
        )
    if X.ndim > 1 and X.numblocks[1:] != (1,) * (X.ndim - 1):
        X = X.rechunk({axis: -1 for axis in range(1, X.ndim)})
    return X


def _as_array(v):
    """A Dask Series as a 1-D Dask array, its partitions kept (their sizes
    unknown); else ``v``."""
    return v.to_dask_array() if hasattr(v, "to_dask_array") else v


def check_features(estimator, X, *, reset: bool) -> None:
    """``n_features_in_`` and ``feature_names_in_`` set (``reset``) or checked
    as ``validate_data`` does, from a Dask DataFrame's empty pandas
    ``_meta`` (which scikit-learn reads) or a Dask array's shape."""
    header = X._meta if hasattr(X, "to_dask_array") else X
    _check_n_features(estimator, header, reset=reset)
    _check_feature_names(estimator, header, reset=reset)


def aligned(v, X, name: str):
    """``y`` or ``sample_weight`` as a 1-D Dask array chunked like ``X``."""
    import dask.array as da

    if v is None:
        return None
    rows = as_rows(v, name, ndim=1)
    if not isinstance(rows, da.Array):  # in memory: cut as X is
        rows = np.ravel(rows)
        if len(rows) != X.shape[0]:
            raise ValueError(f"{name} has {len(rows)} samples, X has {X.shape[0]}.")
        return da.from_array(rows, chunks=(X.chunks[0],))
    if rows.chunks[0] != X.chunks[0]:
        raise ValueError(
            f"{name} and X must be chunked alike along the samples: {name} has "
            f"chunks {rows.chunks[0]}, X has {X.chunks[0]}. Use "
            f"{name}.rechunk(X.chunks[0]) (or partitions that match X's)."
        )
    return rows


def dask_problem(
    estimator, X, y, sample_weight, penalty, classes, first, incremental, dtype
):
    """``(X, classes, problem)`` for Dask inputs, as the in-memory path gives.

    ``X`` returned is the persisted Dask array (its ``shape`` and ``dtype``
    are what the rest of ``fit_path`` reads).
    """
    import dask

    if y is None:
        raise ValueError(
            "GDLogisticRegression requires y to be passed, but the target y is None."
        )
    reset = first or not incremental
    check_features(estimator, X, reset=reset)
    if any(hasattr(v, "to_dask_array") for v in (X, y, sample_weight)):
        # DataFrames: read together once, not 4 times (lengths, arrays apart).
        # Beside a Dask array, Series become arrays first: Dask warns when it
        # persists collections of both kinds. Their lengths are then counted
        # from the persisted chunks.
        beside_array = not hasattr(X, "to_dask_array")
        series = [hasattr(v, "to_dask_array") for v in (y, sample_weight)]
        if beside_array:
            y, sample_weight = (_as_array(v) for v in (y, sample_weight))
        with on_workers():
            X, y, sample_weight = dask.persist(X, y, sample_weight)
        if beside_array:
            y, sample_weight = (
                v.compute_chunk_sizes() if was else v
                for v, was in zip((y, sample_weight), series, strict=True)
            )
    X = as_rows(X, "X", ndim=2)
    if X.dtype.kind == "c":  # astype would drop the imaginary parts
        raise ValueError(f"Complex data not supported: X has dtype {X.dtype}.")
    sparse = sp.issparse(X._meta)
    if sparse:
        X = X.map_blocks(sp.csr_matrix, dtype=X.dtype)
    if isinstance(dtype, list):  # FLOATS: keep float32 and float64
        dtype = X.dtype if X.dtype in FLOATS else np.float64
    X = X.astype(dtype).map_blocks(in_place, dtype=dtype)  # what the twin reads
    y = aligned(y, X, "y")
    if isinstance(sample_weight, numbers.Number):  # as in memory: one for all
        sample_weight = np.full(X.shape[0], sample_weight)
    raw_weight = aligned(sample_weight, X, "sample_weight")
    with on_workers():  # once: every pass reads these
        X, y, raw_weight = dask.persist(X, y, raw_weight)
    parts = [
        dask.delayed(_chunk_stats)(x, yc, None if raw_weight is None else sc)
        for x, yc, sc in zip(
            X.to_delayed().ravel(),
            y.to_delayed().ravel(),
            [None] * X.numblocks[0] if raw_weight is None else raw_weight.to_delayed(),
            strict=True,
        )
    ]
    with on_workers():
        stats = dask.compute(*parts)
    labels, sums, top = _merge(stats)
    check_classification_targets(labels)
    classes, _ = check_classes(estimator, labels, classes, first, incremental)
    index = np.searchsorted(classes, labels)  # seen labels' places in classes
    sums_all = np.zeros(len(classes))
    sums_all[index] = sums
    top_all = np.zeros(len(classes))
    top_all[index] = top
    factors, exponent = _weight_factors(estimator, classes, sums_all, top_all)
    y_index = y.map_blocks(_chunk_index, classes=classes, dtype=np.intp)
    s = y_index.map_blocks(
        _chunk_weight,
        *(() if raw_weight is None else (raw_weight,)),
        factors=factors,
        dtype=X.dtype,
        out_dtype=X.dtype,
    )
    with on_workers():
        y_index, s = dask.persist(y_index, s)
    n_outputs = 1 if len(classes) == 2 else len(classes)
    problem = DaskProblem(
        Columns(X),
        Labels(y_index, n_outputs),
        Columns(s),
        penalty,
        estimator.fit_intercept,
        exponent,
    )
    return X, classes, problem


def _chunk_stats(x, y, s):
    """On a worker: whether a chunk's values are finite, its labels, the sum
    (times ``2**-shift``, ``shift`` the exponent of its largest weight: no
    overflow) and the largest of each one's weights, and its weights' range.
    A sparse chunk whose structure is corrupted raises, before any product."""
    check_structure(x)
    values = x.data if sp.issparse(x) else x
    finite = bool(np.isfinite(values).all())
    y = np.asarray(y)
    labels, inverse = np.unique(y, return_inverse=True)
    s = np.ones(len(y)) if s is None else np.asarray(s, dtype=np.float64)
    kept = np.where(np.isfinite(s) & (s > 0), s, 0.0)  # the errors: s_ok, s_min
    top = np.zeros(len(labels))
    np.maximum.at(top, inverse.ravel(), kept)
    shift = int(np.frexp(kept.max(initial=0.0))[1])
    sums = np.bincount(inverse.ravel(), np.ldexp(kept, -shift), len(labels))
    s_ok = bool(np.isfinite(s).all())
    s_min = float(s.min(initial=np.inf))
    return finite, labels, (sums, shift), top, s_ok, s_min


def _merge(stats):
    """The labels seen in all chunks, the sums (times a power of two) and
    the largest of their weights; the input errors of any chunk, naming its
    argument."""
    if not all(st[0] for st in stats):
        bad = [i for i, st in enumerate(stats) if not st[0]]
        raise ValueError(
            f"Input X contains NaN or infinity (in chunk(s) {bad[:5]}); "
            "GDLogisticRegression does not accept missing values."
        )
    if not all(st[4] for st in stats):
        raise ValueError("Input sample_weight contains NaN or infinity.")
    if min(st[5] for st in stats) < 0:
        raise ValueError("Negative values in data passed to sample_weight.")
    labels = np.unique(np.concatenate([st[1] for st in stats]))
    sums, top = np.zeros(len(labels)), np.zeros(len(labels))
    shift = max(st[2][1] for st in stats)
    for _, chunk_labels, (chunk_sums, chunk_shift), chunk_top, _, _ in stats:
        at = np.searchsorted(labels, chunk_labels)
        sums[at] += np.ldexp(chunk_sums, chunk_shift - shift)
        top[at] = np.maximum(top[at], chunk_top)
    return labels, sums, top


def _weight_factors(estimator, classes, sums, top):
    """Per class, the factor its samples' raw weights are multiplied by: the
    in-memory ``fit_sample_weight`` (powers of two that bring the largest
    weight into ``[0.5, 1)``, times ``class_weight``), from the sums (times
    a power of two) and the largest of the classes' weights; and, as
    ``fit_sample_weight``'s, the exponent of those powers of two."""
    from sklearn.utils.class_weight import compute_class_weight

    from sklearn_gd_logreg._inputs import _check_class_weight, _to_unit, balanced

    if not top.any():
        raise ValueError(
            "sample_weight is zero for every sample; at least one sample needs "
            "a positive weight."
        )
    top, exponent = _to_unit(top)
    first = np.ldexp(1.0, -exponent)
    if estimator.class_weight is None:
        return np.full(len(classes), first), exponent
    if estimator.class_weight == "balanced":
        weights = balanced(sums)
    else:
        weights = compute_class_weight(
            _check_class_weight(estimator.class_weight), classes=classes, y=classes
        )
    weights, class_exponent = _to_unit(weights)
    largest, both = _to_unit(top * weights)
    if not largest.any():
        raise ValueError(
            f"class_weight={estimator.class_weight!r} leaves every sample "
            "with zero weight (sample_weight times class_weight); at least "
            "one sample needs a positive weight."
        )
    return first * weights * np.ldexp(1.0, -both), exponent + class_exponent + both


def _chunk_index(y, *, classes):
    """On a worker: each sample's place in ``classes``."""
    return np.searchsorted(classes, y)


def _chunk_weight(y_index, s=None, *, factors, out_dtype):
    """On a worker: a chunk's weights, as ``fit_sample_weight`` makes them."""
    s = np.ones(len(y_index)) if s is None else np.asarray(s, dtype=np.float64)
    return (s * factors[y_index]).astype(out_dtype)


@dataclass(frozen=True)
class DaskProblem(Problem):
    """A :class:`~sklearn_gd_logreg._problem.Problem` whose data, labels and
    weights are chunks on Dask workers (:class:`~sklearn_gd_logreg._dask.Columns`).

    Full-batch evaluations run on the workers through the core; ``"sgd"``'s
    mini-batches come from :meth:`batches`, one chunk at a time.
    """

    def batches(self, batch_size: int, random_state):
        """An epoch's mini-batches: the chunks in a random order, each
        fetched to the client alone and its rows shuffled, cut into
        ``batch_size`` rows (a batch may span two chunks, so an epoch has as
        many batches as in memory); at most one chunk and one batch are on
        the client at a time."""
        import dask

        X, Y, s = self.X.rows, self.Y.rows, self.sample_weight.rows
        n_classes = _n_classes(self.Y)
        blocks = list(
            zip(X.to_delayed().ravel(), Y.to_delayed(), s.to_delayed(), strict=True)
        )
        left = None
        for i in random_state.permutation(len(blocks)):
            with on_workers():
                x, y, w = dask.compute(*blocks[i])
            order = random_state.permutation(len(y))
            x, y, w = x[order], y[order], w[order]
            if left is not None:  # the rows the last chunk left over first
                x = (
                    sp.vstack([left[0], x], format="csr")
                    if sp.issparse(x)
                    else np.concatenate([left[0], x])
                )
                y, w = np.concatenate([left[1], y]), np.concatenate([left[2], w])
            full = len(y) - len(y) % batch_size
            for start in range(0, full, batch_size):
                yield self._batch(x, y, w, slice(start, start + batch_size), n_classes)
            left = (x[full:], y[full:], w[full:])
        if left is not None and len(left[1]):
            yield self._batch(*left, slice(None), n_classes)

    def split(self, estimator, random_state) -> tuple[DaskProblem, DaskProblem]:
        """``early_stopping``: the training problem and the validation set
        (unpenalised), each persisted on the workers: as many samples held
        out as in memory, by class and by chunk in proportion to the counts,
        drawn on the workers
        (:func:`~sklearn_gd_logreg._dask_holdout.holdout`), not the
        in-memory split."""
        import dask

        parts = holdout(
            self.X.rows,
            self.Y.rows,
            self.sample_weight.rows,
            _n_classes(self.Y),
            estimator.validation_fraction,
            random_state,
        )
        with on_workers():
            (train, val) = dask.persist(*parts)
        problems = []
        for (x, y, w), name, penalty in (
            (train, "training", self.penalty),
            (val, "validation", NO_PENALTY),
        ):
            weights = Columns(w)
            if not weights.sum() > 0:
                raise ValueError(
                    f"early_stopping=True: the samples of the {name} set all "
                    "have zero weight (sample_weight times class_weight), or it "
                    "has none; change validation_fraction or random_state, or "
                    "set early_stopping=False."
                )
            problems.append(
                DaskProblem(
                    Columns(x),
                    Labels(y, self.Y.shape[0]),
                    weights,
                    penalty,
                    self.fit_intercept,
                )
            )
        return problems[0], problems[1]

    def _batch(self, x, y, w, rows, n_classes) -> Problem:
        x = x[rows]
        return Problem(
            x.T,
            one_hot(y[rows], n_classes, x.dtype),
            w[rows],
            NO_PENALTY,
            self.fit_intercept,
        )

    def subset(self, index) -> Problem:
        raise NotImplementedError(
            "DaskProblem has no subset by index; its mini-batches come from batches()."
        )
