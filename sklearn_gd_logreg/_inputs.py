"""What ``fit`` receives, checked and put in the core's terms: the classes
and each sample's class, the sample weights (times ``class_weight``), the
labels one-hot, and the ``early_stopping`` split."""

from __future__ import annotations

import inspect
import math
from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn import config_context
from sklearn.model_selection import train_test_split
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import _check_sample_weight, validate_data

from sklearn_gd_logreg._xp import device, dispatched, is_numpy, to_numpy

FLOATS = [np.float64, np.float32]
# scikit-learn >= 1.7 refuses all-zero weights itself, in words that do not
# name sample_weight; ours do. (1.6 has neither the check nor the option.)
_ALLOW_ZERO_WEIGHTS = (
    {"allow_all_zero_weights": True}
    if "allow_all_zero_weights" in inspect.signature(_check_sample_weight).parameters
    else {}
)


def check_classes(estimator, y, classes, first, incremental):
    """``classes_`` and each sample's index in it, checked against the
    fitted ``estimator``'s (``classes`` is ``partial_fit``'s argument).

    Labels are NumPy arrays here: under Array API dispatch, ``fit`` reads
    another library's ``y`` back to the host once, and puts ``classes_``
    back in ``y``'s library (``_xp.fitted_arrays``).
    """
    if not incremental:
        classes, y_index = np.unique(y, return_inverse=True)
        if len(classes) < 2:  # none: a Dask y of 0 samples (in memory: refused before)
            found = f"only one class: {classes[0]!r}" if len(classes) else "no samples"
            raise ValueError(
                "GDLogisticRegression needs samples of at least 2 classes in "
                f"y, but y contains {found}."
            )
        fitted = None if first else to_numpy(estimator.classes_)
        if not first and not np.array_equal(fitted, classes):
            raise ValueError(
                f"warm_start=True, but y has the classes {classes.tolist()} "
                f"while the fitted model has {fitted.tolist()}; "
                "set warm_start=False to fit from scratch."
            )
        return classes, y_index
    if first and classes is None:
        raise ValueError(
            "classes must be passed on the first call to partial_fit: every "
            "label of the whole stream, e.g. classes=np.unique(y_all)."
        )
    fitted = None if first else to_numpy(estimator.classes_)
    if classes is not None:
        classes = np.asarray(to_numpy(classes))
        if _has_nan(classes):  # a class no label can be: y refuses NaN
            raise ValueError(f"classes contains NaN: {classes.tolist()}.")
        try:
            classes = np.unique(classes)
        except TypeError:  # labels that do not compare: None and str
            raise ValueError(
                "classes must be labels of one kind, which sort (all numbers "
                f"or all strings); got {classes.tolist()}."
            ) from None
        if not first and not np.array_equal(classes, fitted):
            raise ValueError(
                f"classes={classes.tolist()} differs from the classes of the "
                f"previous partial_fit calls, {fitted.tolist()}."
            )
    if estimator.class_weight == "balanced":
        raise ValueError(
            "class_weight='balanced' is not supported by partial_fit: one "
            "chunk does not tell the class frequencies. Pass "
            "class_weight=dict(zip(classes, compute_class_weight('balanced', "
            "classes=classes, y=y_sample))) computed on a large sample."
        )
    classes = classes if first else fitted
    if len(classes) < 2:
        raise ValueError(
            f"classes must hold at least 2 labels; got {classes.tolist()}."
        )
    unknown = np.setdiff1d(y, classes)
    if len(unknown):
        raise ValueError(
            f"y contains labels {unknown.tolist()} that are not in classes "
            f"{classes.tolist()}."
        )
    return classes, np.searchsorted(classes, y)


def _has_nan(labels: np.ndarray) -> bool:
    """Whether ``labels`` (floats, or objects such as ``[0, 1, nan]``) hold NaN."""
    if labels.dtype.kind in "fc":
        return bool(np.isnan(labels).any())
    return labels.dtype == object and any(
        isinstance(c, float | np.floating) and c != c for c in labels.ravel()
    )


def fit_sample_weight(estimator, X, y, y_index, classes, sample_weight):
    """The weight of each sample in the objective: ``sample_weight`` times
    ``estimator.class_weight``, in ``X``'s dtype, with a positive sum, and
    the exponent ``e`` of the power of two ``2**-e`` they were scaled by.

    The objective is a weighted mean, so multiplying every weight by one
    constant changes nothing: weights are scaled so that the largest is in
    ``[0.5, 1)`` (by a power of two, exactly), and neither their sum nor
    their products overflow nor underflow, however large or small the weights
    the user gave (finite ones; NaN, infinite and negative weights are
    refused, naming the argument).

    For another library's ``X`` (under Array API dispatch), the weights are
    computed on the host, as the labels, and returned as a NumPy float64
    array, which ``fit`` puts on ``X``'s device once.
    """
    with config_context(array_api_dispatch=False):  # on the host
        sample_weight = _check_sample_weight(
            to_numpy(sample_weight),
            X,
            dtype=np.float64,
            ensure_non_negative=True,
            **_ALLOW_ZERO_WEIGHTS,  # our message below names the argument
        )
    if not sample_weight.any():
        raise ValueError(
            "sample_weight is zero for every sample; at least one sample needs "
            "a positive weight."
        )
    sample_weight, exponent = _to_unit(sample_weight)
    if estimator.class_weight is not None:
        weights = (
            balanced(np.bincount(y_index, sample_weight, len(classes)))
            if estimator.class_weight == "balanced"  # as LogisticRegression's
            else compute_class_weight(
                _check_class_weight(estimator.class_weight), classes=classes, y=y
            )
        )
        weights, class_exponent = _to_unit(weights)
        sample_weight, both = _to_unit(sample_weight * weights[y_index])
        exponent += class_exponent + both
        if not sample_weight.any():
            raise ValueError(
                f"class_weight={estimator.class_weight!r} leaves every sample "
                "with zero weight (sample_weight times class_weight); at least "
                "one sample needs a positive weight."
            )
    if not isinstance(X, np.ndarray) and not sp.issparse(X):
        return sample_weight, exponent  # for another library's X
    return sample_weight.astype(X.dtype, copy=False), exponent


def balanced(sums):
    """``class_weight="balanced"``'s weight of each class from the sums of
    its samples' weights, as ``LogisticRegression``'s: ``sum(sums) /
    (n_classes * sums[k])`` (0 for a class of no weight, whose samples all
    weigh 0)."""
    out = np.zeros(len(sums))
    return np.divide(sums.sum(), len(sums) * sums, out=out, where=sums > 0)


def _to_unit(weights) -> tuple[np.ndarray, int]:
    """``weights`` (non-negative, finite) times ``2**-e``, the power of two
    that brings the largest into ``[0.5, 1)`` (``e = 0`` for zeros), and
    ``e``."""
    exponent = int(np.frexp(np.max(weights))[1])
    return np.ldexp(weights, -exponent), exponent


def _check_class_weight(class_weight):
    """``class_weight`` if each of its weights is a finite number >= 0."""
    if isinstance(class_weight, dict):
        for label, weight in class_weight.items():
            if not (isinstance(weight, Real) and 0 <= weight < math.inf):
                raise ValueError(
                    f"class_weight must map each class to a finite, "
                    f"non-negative weight; got {weight!r} for class {label!r}."
                )
    return class_weight


def early_stopping_split(problem, y_index, estimator, random_state):
    """``early_stopping``: the training problem and the validation set."""
    train, val = validation_split(y_index, estimator.validation_fraction, random_state)
    training, validation = problem.subset(train, problem.penalty), problem.subset(val)
    for part, name in ((training, "training"), (validation, "validation")):
        if not part.weight() > 0:
            raise ValueError(
                f"early_stopping=True: the samples of the {name} set all "
                "have zero weight (sample_weight times class_weight); "
                "change validation_fraction or random_state, or set "
                "early_stopping=False."
            )
    return training, validation


def validation_size(n: int, n_classes: int, fraction: float) -> int:
    """How many of ``n`` samples ``early_stopping`` holds out: a ``fraction``,
    rounded up, and at least one per class, leaving one per class to train
    on (else a ``ValueError``)."""
    n_val = max(math.ceil(fraction * n), n_classes)
    if n - n_val < n_classes:
        raise ValueError(
            f"early_stopping=True needs more samples: {n} samples cannot be "
            "split into a training and a validation set "
            f"(validation_fraction={fraction}) that both hold {n_classes} "
            "samples; set early_stopping=False."
        )
    return n_val


def validation_split(y_index, fraction, random_state):
    """Indices of a train and a validation set, stratified when possible."""
    n_val = validation_size(len(y_index), int(y_index.max()) + 1, fraction)
    indices = np.arange(len(y_index))
    try:
        return train_test_split(
            indices, test_size=n_val, stratify=y_index, random_state=random_state
        )
    except ValueError:  # a class with a single sample cannot be stratified
        return train_test_split(indices, test_size=n_val, random_state=random_state)


def one_hot(y_index, n_classes, dtype, xp=None):
    """The course's ``Y``: 0/1 labels ``(1, m)``, or one-hot ``(K, m)``, in
    ``y_index``'s library and on its device when ``xp`` is another's than
    NumPy."""
    if xp is not None and not is_numpy(xp):
        classes = xp.arange(n_classes, device=device(y_index))[:, None]
        if n_classes == 2:
            return xp.astype(y_index[None, :], dtype)
        return xp.astype(classes == y_index[None, :], dtype)
    if n_classes == 2:
        return y_index[np.newaxis, :].astype(dtype)
    Y = np.zeros((n_classes, len(y_index)), dtype=dtype)
    Y[y_index, np.arange(len(y_index))] = 1.0
    return Y


def validate(estimator, X, *args, **kwargs):
    """``validate_data``, without NumPy's warnings from its finiteness check,
    then a sparse ``X``'s structure checked (:func:`check_structure`).

    That check sums ``X``, which overflows for finite float32 values near
    3e38; it still rejects NaN and infinity.
    """
    kwargs.setdefault("accept_sparse", ("csr", "csc"))  # CSR, CSC: no copy
    if kwargs.get("dtype") is FLOATS:  # in X's library (under dispatch)
        xp = dispatched(X)[0]
        kwargs["dtype"] = [xp.float64, xp.float32]
    with np.errstate(over="ignore", invalid="ignore"):
        out = validate_data(estimator, X, *args, **kwargs)
    check_structure(out[0] if isinstance(out, tuple) else out)
    return out


def check_structure(X) -> None:
    """Refuse a CSR or CSC matrix whose ``indptr`` or ``indices`` are out of
    range, in O(nnz), before any product reads them: SciPy's constructors do
    not check, and its products would read out of bounds (or crash)."""
    if not sp.issparse(X):
        return
    n_major, n_minor = X.shape if X.format == "csr" else X.shape[::-1]
    indptr = X.indptr
    ok = (
        len(indptr) == n_major + 1
        and indptr[0] == 0
        and indptr[-1] <= min(len(X.indices), len(X.data))
        and bool(np.all(indptr[1:] >= indptr[:-1]))
    )
    used = X.indices[: indptr[-1]] if ok else None  # entries past it are unread
    ok = ok and (len(used) == 0 or (used.min() >= 0 and used.max() < n_minor))
    if not ok:
        raise ValueError(
            "X: the sparse matrix's indices or indptr are out of range for "
            f"its shape {X.shape}; its structure is corrupted."
        )
