"""Predictions on Dask collections: lazy Dask arrays, chunk by chunk on the
workers, by the in-memory methods themselves (``map_blocks``)."""

from __future__ import annotations

import copy
from math import prod

import numpy as np
from sklearn.utils.validation import _check_feature_names, check_is_fitted

from sklearn_gd_logreg._dask_fit import _as_array, aligned, check_features, is_dask
from sklearn_gd_logreg._inputs import _to_unit

__all__ = ["dask_images", "is_dask", "lazy", "lazy_score", "lazy_transform"]


def _rows(estimator, X):
    """``X`` as a Dask array of rows (a DataFrame's chunk sizes may stay
    unknown), its feature names and count checked here, once."""
    import dask.array as da

    check_is_fitted(estimator)
    check_features(estimator, X, reset=False)
    if hasattr(X, "to_dask_array"):  # DataFrame: partitions of unknown length
        X = X.to_dask_array()
    if not isinstance(X, da.Array) or X.ndim != 2:
        raise ValueError(f"X must be a 2-D Dask array or a Dask DataFrame; got {X!r}.")
    if X.numblocks[1] != 1:
        X = X.rechunk({1: -1})
    return X


def lazy(estimator, method: str, X):
    """``estimator.method(X)`` for a Dask ``X``: a lazy Dask array chunked
    like ``X`` along the samples, each chunk computed on a worker by the
    in-memory method."""
    X = _rows(estimator, X)
    # The names were checked above; each chunk is a bare array.
    model = copy.copy(estimator)
    vars(model).pop("feature_names_in_", None)
    # the scores' dtype, as in memory: the model's and X's (float64 for
    # X of integers, which validation makes float64)
    x_dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    dtype = np.result_type(estimator.coef_.dtype, x_dtype)
    n_classes = len(estimator.classes_)
    if method == "predict":
        width, dtype = None, estimator.classes_.dtype
    elif method == "decision_function":
        width = None if n_classes == 2 else n_classes
    else:  # predict_proba, predict_log_proba
        width = n_classes
    empty = np.empty((0,) if width is None else (0, width), dtype)
    if width is None:
        return X.map_blocks(
            _chunk_method,
            model=model,
            method=method,
            empty=empty,
            drop_axis=1,
            dtype=dtype,
            meta=np.empty((0,), dtype),
        )
    return X.map_blocks(
        _chunk_method,
        model=model,
        method=method,
        empty=empty,
        chunks=(X.chunks[0], (width,)),
        dtype=dtype,
        meta=np.empty((0, 0), dtype),
    )


def _chunk_method(x, *, model, method, empty):
    """On a worker: the in-memory method on one chunk (``empty`` for a chunk
    of no rows, which the in-memory methods refuse: a filtered DataFrame's
    partitions may be empty)."""
    if x.shape[0] == 0:
        return empty
    return getattr(model, method)(x)


def lazy_score(estimator, X, y, sample_weight=None) -> float:
    """The (weighted) accuracy on Dask data, computed on the workers: only
    two sums come back (for a DataFrame's partitions with labels in memory,
    the predictions, as many as the labels)."""
    import dask
    from sklearn.utils._param_validation import InvalidParameterError

    if sample_weight is not None and np.ndim(sample_weight) == 0:  # as in memory
        raise InvalidParameterError(
            "The 'sample_weight' parameter of score must be an array-like or "
            f"None. Got {sample_weight!r} instead."
        )
    predicted = lazy(estimator, "predict", X)
    if any(np.isnan(size) for size in predicted.chunks[0]):  # DataFrame's
        if not is_dask(y):  # in memory: the predictions, as many, come to it
            from sklearn.metrics import accuracy_score

            predicted, sample_weight = dask.compute(predicted, sample_weight)
            if sample_weight is not None:
                sample_weight = checked_score_weights(sample_weight)
            return float(accuracy_score(y, predicted, sample_weight=sample_weight))
        y, sample_weight = _as_array(y), _as_array(sample_weight)  # partitions
        for name, v in (("y", y), ("sample_weight", sample_weight)):
            if is_dask(v) and v.numblocks[0] != predicted.numblocks[0]:
                raise ValueError(
                    f"{name} and X must be partitioned alike: {name} has "
                    f"{v.numblocks[0]} partitions, X has {predicted.numblocks[0]}."
                )
    else:
        y = aligned(y, predicted, "y")
        sample_weight = aligned(sample_weight, predicted, "sample_weight")
    correct = predicted == y
    if sample_weight is None:
        return float(correct.mean().compute())
    right, total, lowest, top = dask.compute(
        *_weighted_sums(correct, sample_weight),
        sample_weight.min(),
        sample_weight.max(),
    )
    check_score_weights(lowest, top)
    if not total:  # as in memory (scikit-learn's accuracy_score), not NaN
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return float(right / total)


def _weighted_sums(correct, sample_weight):
    """Lazy ``sum(s * correct)`` and ``sum(s)``, each chunk's divided by a
    power of two near its largest weight and added at the largest: finite
    weights whose sum overflows give the right ratio (as ``fit`` scales
    them), without an overflow on a worker."""
    import dask.array as da

    from sklearn_gd_logreg._dask import _rescaled_sum

    parts = da.blockwise(
        _chunk_weighted,
        "ij",
        correct,
        "i",
        sample_weight,
        "i",
        new_axes={"j": 3},
        adjust_chunks={"i": 1},
        dtype=np.float64,
        meta=np.empty((0, 0)),
    )
    row = da.reduction(
        parts,
        _rescaled_sum,
        _rescaled_sum,
        axis=0,
        keepdims=True,
        concatenate=True,
        dtype=np.float64,
        meta=np.empty((0, 0)),
    )
    return row[0, 1], row[0, 2]


def _chunk_weighted(correct, s):
    """On a worker: ``[scale, sum(s * correct) / scale, sum(s) / scale]``."""
    from sklearn_gd_logreg._step_size import _power_of_two

    s = np.asarray(s, dtype=np.float64)
    with np.errstate(all="ignore"):  # NaN or inf weights: refused once summed
        scale = _power_of_two(float(np.max(s, initial=0.0)))
        s = s / scale
        return np.array([[scale, np.where(correct, s, 0.0).sum(), s.sum()]])


def check_score_weights(lowest, highest) -> None:
    """Refuse weights that are negative, NaN or infinite (from the smallest
    and the largest), naming the argument: scikit-learn's accuracy_score
    took them (a score of 4.0 with a weight of -1.5)."""
    if not (lowest >= 0 and np.isfinite(highest)):
        raise ValueError(
            "sample_weight must hold finite, non-negative weights; got weights "
            f"from {float(lowest)!r} to {float(highest)!r}."
        )


def checked_score_weights(sample_weight):
    """``sample_weight`` for ``accuracy_score``, checked; scaled by a power of
    two (the weighted mean does not change) where finite weights have a sum
    that overflows, as ``fit`` scales them."""
    weights = np.asarray(sample_weight, dtype=np.float64)
    if not weights.size:
        return sample_weight
    check_score_weights(weights.min(), weights.max())
    with np.errstate(over="ignore"):  # the overflow this is for
        if np.isfinite(weights.sum()):
            return sample_weight
    return _to_unit(weights)[0]


def dask_images(flattener, X, *, reset: bool):
    """A Dask array or DataFrame of images (or flat rows) as a Dask array,
    checked as ``ImageFlattener`` checks one in memory, from its metadata: a
    DataFrame's column names recorded (``reset``) or compared, numbers, 2 to
    4 dimensions, at least one value per sample. A DataFrame's partitions
    are counted (a pass over it) only for ``transform``, whose chunks must
    be known."""
    import dask.array as da

    if hasattr(X, "to_dask_array"):  # DataFrame, Series
        _check_feature_names(flattener, X._meta, reset=reset)
        X = X.to_dask_array(lengths=None if reset else True)
    elif not isinstance(X, da.Array):
        raise TypeError(f"X must be a Dask array or DataFrame; got {type(X)}.")
    else:
        _check_feature_names(flattener, X, reset=reset)  # none: forgets a fit's
    if X.dtype.kind not in "biuf":  # as validate_data's dtype="numeric"
        if X.dtype.kind == "c":
            raise ValueError(f"Complex data not supported: X has dtype {X.dtype}.")
        raise ValueError(
            "ImageFlattener needs X of numbers (bool, integers or floats); X "
            f"has dtype {X.dtype}."
        )
    if X.ndim not in (2, 3, 4) or prod(X.shape[1:]) == 0 or X.shape[0] == 0:
        raise ValueError(
            "X must be a 2-D (n_samples, n_features), 3-D (n_samples, height, "
            "width) or 4-D (n_samples, height, width, channels) Dask array with "
            f"at least one value per sample; got an array of shape {X.shape}."
        )
    return X


def lazy_transform(flattener, X):
    """``ImageFlattener.transform`` of a Dask array or DataFrame of images,
    lazily, chunk by chunk along the samples."""
    check_is_fitted(flattener)
    X = dask_images(flattener, X, reset=False)
    if X.shape[1:] != tuple(flattener.image_shape_):
        raise ValueError(
            f"X has samples of shape {X.shape[1:]}, but ImageFlattener was "
            f"fitted on samples of shape {tuple(flattener.image_shape_)}."
        )
    if X.ndim > 1 and X.numblocks[1:] != (1,) * (X.ndim - 1):
        X = X.rechunk({axis: -1 for axis in range(1, X.ndim)})
    dtype = np.dtype(flattener.dtype)
    model = copy.copy(flattener)  # the names were checked above; chunks have none
    vars(model).pop("feature_names_in_", None)
    return X.map_blocks(
        _chunk_method,
        model=model,
        method="transform",
        empty=np.empty((0, flattener.n_features_in_), dtype),
        drop_axis=tuple(range(2, X.ndim)),
        chunks=(X.chunks[0], (flattener.n_features_in_,)),
        dtype=dtype,
        meta=np.empty((0, 0), dtype),
    )
