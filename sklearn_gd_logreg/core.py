"""Logistic regression by gradient descent, in the course's names and layout.

Samples are columns: ``X`` is ``(n_x, m)``, ``Y`` is ``(1, m)`` with 0/1 labels
(or ``(K, m)`` one-hot for ``K >= 3`` classes) and ``w`` is ``(n_x, 1)`` (or
``(n_x, K)``). Forward and backward pass, for one sample weight ``s_i`` per
column (all ones in the course, then ``S = m``)::

    Z  = w.T X + b                 A = sigmoid(Z)      (softmax(Z) if K >= 3)
    J  = (1/S) sum_i s_i loss_i + (alpha/2) ||w||^2
    dZ = A - Y
    dw = (1/S) X (s * dZ).T + alpha w
    db = (1/S) sum_i s_i dZ_i

with ``S = sum_i s_i``. ``optimize`` repeats ``w := w - learning_rate * dw``,
``b := b - learning_rate * db`` from zeros. Every extra capability is a
keyword-only argument whose default gives the course's algorithm. The loss is
computed from ``Z``, never from ``log(A)`` (:func:`log_loss`). Written against
the Array API standard: NumPy arrays (and SciPy sparse ``X``) as in the course,
or another library's (a torch tensor on a GPU, CuPy, array-api-strict), computed
in that library, on that array's device.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sklearn_gd_logreg import _dask, _twin, _xp
from sklearn_gd_logreg._divergence import DivergenceError, check_finite
from sklearn_gd_logreg._xp import device, is_numpy, namespace, sum_of_squares

__all__ = [
    "DivergenceError",
    "decide",
    "initialize_with_zeros",
    "log_loss",
    "optimize",
    "predict",
    "propagate",
    "scores",
    "sigmoid",
    "softmax",
    "sums",
]


def sigmoid(z):
    """Compute ``sigmoid(z) = 1 / (1 + exp(-z))``, without overflow.

    Parameters
    ----------
    z : float or array
        A scalar or an array of any shape (NumPy, or any Array API library).

    Returns
    -------
    s : array
        Same shape and library as ``z`` (a 0-d NumPy array for a Python number).

    Examples
    --------
    >>> from sklearn_gd_logreg.core import sigmoid
    >>> sigmoid(np.array([0, 2]))
    array([0.5       , 0.88079708])
    >>> float(sigmoid(-1000.0))
    0.0
    """
    xp = namespace(z)
    z = _xp.floats(xp, xp.asarray(z))
    e = xp.exp(-xp.abs(z))  # in (0, 1]: exp never overflows
    return xp.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softmax(z):
    """Column-wise softmax: ``exp(z) / sum(exp(z), axis=0)``, without overflow.

    ``z`` holds one score per class (rows) and sample (columns), ``(K, m)``; the
    result, of the same shape, holds probabilities: each column sums to 1.

    Examples
    --------
    >>> from sklearn_gd_logreg.core import softmax
    >>> softmax(np.array([[0.0, 1000.0], [0.0, 0.0]]))
    array([[0.5, 1. ],
           [0.5, 0. ]])
    """
    xp = namespace(z)
    e = xp.exp(z - xp.max(z, axis=0, keepdims=True))  # the largest is exp(0)
    return e / xp.sum(e, axis=0, keepdims=True)


def initialize_with_zeros(dim: int, *, n_outputs: int = 1):
    """Create ``w`` of zeros with shape ``(dim, n_outputs)`` and ``b = 0``.

    Parameters
    ----------
    dim : int
        Number of features ``n_x``.
    n_outputs : int, default=1
        ``1`` for the course's binary model, ``K`` for a softmax over ``K`` classes.

    Returns
    -------
    w : ndarray of shape (dim, n_outputs)
    b : float, or ndarray of zeros of shape (n_outputs, 1) if ``n_outputs > 1``

    Examples
    --------
    >>> from sklearn_gd_logreg.core import initialize_with_zeros
    >>> w, b = initialize_with_zeros(2)
    >>> w.shape, b
    ((2, 1), 0.0)
    """
    w = np.zeros((dim, n_outputs))
    b = 0.0 if n_outputs == 1 else np.zeros((n_outputs, 1))
    return w, b


def scores(w, b, X):
    """The scores ``Z = w.T X + b``, of shape ``(K, m)``; dense or sparse ``X``.

    Written ``(X.T w).T``: a sparse ``X`` then multiplies from the left.

    Examples
    --------
    >>> from sklearn_gd_logreg.core import scores
    >>> scores(np.array([[1.0], [2.0]]), 0.5, np.array([[1.0, 0.0], [0.0, 1.0]]))
    array([[1.5, 2.5]])
    """
    return (X.T @ w).T + b


def log_loss(Z, Y):
    """Each sample's log-loss from its scores: ``-(y log a + (1 - y) log(1 - a))``.

    For scores ``Z`` and labels ``Y`` of shape ``(K, m)`` (0/1 if ``K = 1``, else
    one-hot), the ``m`` losses ``log(1 + exp(z)) - y z`` or (softmax)
    ``log(sum_k exp(z_k)) - y . z``: the course's formula where it is finite,
    without overflow where ``a`` rounds to 0 or 1, and exact when well classified
    (the largest score is taken out first: no ``z - z`` or ``log(1 + tiny)``
    rounds a tiny loss away).

    Examples
    --------
    >>> from sklearn_gd_logreg.core import log_loss
    >>> log_loss(np.array([[0.0, 1000.0, 40.0]]), np.array([[1, 0, 1]]))
    array([6.93147181e-01, 1.00000000e+03, 4.24835426e-18])
    """
    xp = namespace(Z, Y)
    Y = _xp.floats(xp, Y, like=Z)
    if Z.shape[0] == 1:  # log(1 + exp(z)) = max(z, 0) + log(1 + exp(-|z|))
        z, y = Z[0, :], Y[0, :]
        return xp.log1p(xp.exp(-xp.abs(z))) + (xp.where(z > 0, z, 0.0) - y * z)
    # log-sum-exp(z) = top + log1p(sum of the others' exp(z_k - top))
    top = xp.max(Z, axis=0)
    classes = xp.arange(Z.shape[0], device=device(Z))[:, None]
    best = classes == xp.argmax(Z, axis=0)[None, :]  # one per sample
    others = xp.where(best, 0.0, xp.exp(Z - top))
    return xp.log1p(xp.sum(others, axis=0)) + (top - xp.sum(Y * Z, axis=0))


def propagate(
    w, b, X, Y, *, sample_weight=None, alpha: float = 0.0, to_float: bool = True
):
    """Cost ``J`` and its gradients ``dw``, ``db`` (forward and backward pass).

    ``A = sigmoid(w.T X + b)``, or its softmax when ``w`` has ``K >= 2`` columns
    (``Y`` is then one-hot, ``(K, m)``); ``dZ = A - Y`` in both cases.

    Parameters
    ----------
    w : ndarray of shape (n_x, 1) or (n_x, K)
        Weights.
    b : float or ndarray of shape (K, 1)
        Bias.
    X : ndarray or scipy.sparse matrix or array of shape (n_x, m)
        Data, one sample per column. For the view ``X.T`` of C-ordered rows (as
        ``fit`` passes) or CSC, the compiled twin sums in one pass on the CPU's
        cores (:mod:`sklearn_gd_logreg._twin`); float32 stays float32.
    Y : ndarray of shape (1, m) or (K, m)
        True labels: 0/1 (binary) or one-hot (softmax).
    sample_weight : ndarray of shape (m,), default=None
        Non-negative weight per sample (``None``: all 1); means become weighted
        means, so a weight of 2 equals a repeated column.
    alpha : float, default=0.0
        L2 strength: adds ``alpha/2 ||w||^2`` to the cost and ``alpha w`` to ``dw``
        (never to ``db``).
    to_float : bool, default=True
        ``False`` leaves ``cost`` a 0-d array of ``X``'s library, on its
        device: nothing waits for a GPU to finish the sums.

    Returns
    -------
    grads : dict
        ``{"dw": ndarray like w, "db": float or ndarray like b}``.
    cost : float
        The (weighted, penalised) mean log-loss; 0-d array if ``to_float=False``.

    Examples
    --------
    >>> from sklearn_gd_logreg.core import propagate
    >>> w, b = np.array([[1.0], [2.0]]), 2.0
    >>> X, Y = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]]), np.array([[1, 0, 1]])
    >>> grads, cost = propagate(w, b, X, Y)
    >>> grads["dw"].ravel(), float(grads["db"]), round(cost, 8)
    (array([0.99845601, 2.39507239]), 0.00145557813678, 5.80154532)
    """
    if _dask.holds(X):  # chunks on Dask workers: NumPy sums come back
        xp = namespace(w, b)
        S = X.shape[1] if sample_weight is None else sample_weight.sum()
    else:
        xp = namespace(w, b, X, Y, sample_weight)
        S = X.shape[1] if sample_weight is None else _xp.total(xp, sample_weight, X)
    loss, XdZ, dZ = sums(w, b, X, Y, sample_weight)  # forward and backward
    cost, dw, db = loss / S, XdZ / S, dZ / S
    if alpha:  # the L2 penalty: alpha/2 ||w||^2 and its gradient alpha w
        cost = cost + alpha / 2 * sum_of_squares(w, to_float=False)  # one read
        dw = dw + alpha * w
    if type(b) is float or np.ndim(b) == 0:  # the course's db: a np.float64
        db = np.float64(db[0, 0]) if is_numpy(xp) else db[0, 0]
    return {"dw": dw, "db": db}, float(cost) if to_float else cost


def sums(w, b, X, Y, sample_weight=None):
    """The sums over samples that :func:`propagate` divides by ``S``.

    Returns ``loss = sum_i s_i loss_i`` (a float), ``XdZ = X (s * dZ).T`` of shape
    ``(n_x, K)`` and ``dZ = sum_i s_i dZ_i`` of shape ``(K, 1)``, for ``dZ = A - Y``.
    The one seam where the data are read: the compiled twin when it reads ``X`` in
    place (:mod:`sklearn_gd_logreg._twin`); for ``X`` in chunks on Dask workers
    (:mod:`sklearn_gd_logreg._dask`), this function on each chunk where it lies,
    the results added in a tree; else the NumPy lines below.

    Examples
    --------
    >>> from sklearn_gd_logreg.core import sums
    >>> loss, XdZ, dZ = sums(np.zeros((1, 1)), 0.0, np.array([[1.0, -1.0]]),
    ...                      np.array([[1.0, 0.0]]))
    >>> round(loss, 6), XdZ.ravel(), dZ.ravel()
    (1.386294, array([-1.]), array([0.]))
    """
    if _twin.reads(w, X) and not _twin.blas_is_faster(X):  # compiled, one pass
        return _twin.sums(w, b, X, Y, sample_weight)
    if _dask.holds(X):  # these sums per chunk on its worker, added in a tree
        return _dask.sums(w, b, X, Y, sample_weight)
    _xp.check_shapes(w, b, X, Y, sample_weight)  # no silent broadcasting
    xp = namespace(w, b, X, Y, sample_weight)
    Z = scores(w, b, X)  # forward; the weights in its dtype (float32 stays)
    s = 1.0 if sample_weight is None else xp.astype(sample_weight, Z.dtype, copy=False)
    A = sigmoid(Z) if Z.shape[0] == 1 else softmax(Z)
    loss = xp.sum(s * log_loss(Z, Y))
    dZ = s * (A - _xp.floats(xp, Y, like=A))  # backward
    return loss, X @ dZ.T, xp.sum(dZ, axis=1, keepdims=True)


def optimize(
    w,
    b,
    X,
    Y,
    num_iterations: int = 100,
    learning_rate: float = 0.009,
    print_cost: bool = False,
    *,
    sample_weight=None,
    alpha: float = 0.0,
    fit_intercept: bool = True,
    prox: Callable | None = None,
    cost_every: int = 100,
    callback: Callable | None = None,
    to_float: bool = True,
):
    """Run gradient descent on ``w`` and ``b``, recording the cost.

    Each iteration calls :func:`propagate` at the current ``w, b``, then steps
    ``w := w - learning_rate * dw``, ``b := b - learning_rate * db``.

    Parameters
    ----------
    w, b, X, Y
        As in :func:`propagate`; ``w, b`` are the start (``w`` is not modified).
    num_iterations : int, default=100
        Maximum number of iterations.
    learning_rate : float, default=0.009
        Step size.
    print_cost : bool, default=False
        Print ``Cost after iteration i: c`` every 100 iterations.
    sample_weight, alpha
        As in :func:`propagate`.
    fit_intercept : bool, default=True
        ``False`` keeps ``b`` at its starting value.
    prox : callable, default=None
        ``prox(w, learning_rate)``, applied to ``w`` after each step: the proximal
        step of a non-smooth penalty (an L1 penalty's soft-thresholding makes
        weights exactly zero). ``None``: the course's plain step.
    cost_every : int, default=100
        Record the cost every ``cost_every`` iterations (``1``: the whole curve).
    callback : callable, default=None
        Called as ``callback(i, w, b, cost, grads)`` after each :func:`propagate`,
        before the step; returning ``True`` stops the loop there, without the step.
    to_float : bool, default=True
        ``False`` keeps each cost (and a scalar ``b``) a 0-d array of ``X``'s library
        on its device, so that no iteration waits for a GPU: ``callback`` (or the
        caller) then checks that the costs are finite, the loop only the final ``w, b``.

    Returns
    -------
    params : dict
        ``{"w": ..., "b": ...}`` after the last step.
    grads : dict
        Of the last iteration (at the final ``w, b`` if ``callback`` stopped there).
    costs : list of float
        The cost at iterations ``0, cost_every, 2 * cost_every, ...``.

    Raises
    ------
    ValueError
        If the cost is not finite at the start, or stops being finite (step too large).

    Examples
    --------
    >>> from sklearn_gd_logreg.core import optimize
    >>> w, b = np.array([[1.0], [2.0]]), 2.0
    >>> X, Y = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]]), np.array([[1, 0, 1]])
    >>> params, _, costs = optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009)
    >>> params["w"].ravel(), round(float(params["b"]), 8)
    (array([0.19033591, 0.12259159]), 1.92535983)
    >>> [round(c, 8) for c in costs]
    [5.80154532]
    """
    if not (isinstance(cost_every, int | np.integer) and cost_every >= 1):
        raise ValueError(f"cost_every must be an int >= 1; got {cost_every!r}.")
    costs: list[float] = []
    grads: dict = {}
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for i in range(num_iterations):
            grads, cost = propagate(
                w, b, X, Y, sample_weight=sample_weight, alpha=alpha, to_float=to_float
            )
            if to_float:  # else the callback's to check, without waiting
                check_finite(cost, learning_rate, i, start=i == 0)
            if i % cost_every == 0:
                costs.append(cost)
            if print_cost and i % 100 == 0:
                show_cost(i, cost)
            if callback is not None and callback(i, w, b, cost, grads):
                break
            w = w - learning_rate * grads["dw"]
            if prox is not None:
                w = prox(w, learning_rate)
            if fit_intercept:  # a float b keeps float32 scores float32
                db = grads["db"]
                scalar = to_float and np.ndim(db) == 0
                b = b - learning_rate * (float(db) if scalar else db)
        check_finite(w, learning_rate, num_iterations - 1)
        check_finite(b, learning_rate, num_iterations - 1)
    return {"w": w, "b": b}, grads, costs


def predict(w, b, X):
    """Predict 0/1 labels: 1 where ``sigmoid(w.T X + b) > 0.5``.

    For ``w, b, X`` as in :func:`propagate`, ``Y_prediction`` of shape ``(1, m)``;
    with ``K >= 2`` columns in ``w``, the index of the most probable class.

    Examples
    --------
    >>> from sklearn_gd_logreg.core import predict
    >>> w, b = np.array([[0.1124579], [0.23106775]]), -0.3
    >>> X = np.array([[1.0, -1.1, -3.2], [1.2, 2.0, 0.1]])
    >>> predict(w, b, X)
    array([[1., 1., 0.]])
    """
    Z = scores(w, b, X)
    xp = namespace(Z)
    return xp.astype(decide(Z)[None, :], _xp.real_dtype(xp, Z))


def decide(Z):
    """The course's prediction rule on the scores ``Z`` (``(K, m)``).

    For ``K = 1``, ``1`` where ``sigmoid(Z) > 0.5``, i.e. ``Z > 0`` (immune to the
    sigmoid rounding to 0.5 for tiny ``|Z|``); else the index of the largest score.

    Examples
    --------
    >>> from sklearn_gd_logreg.core import decide
    >>> decide(np.array([[0.2, 0.0, -3.0]]))
    array([1, 0, 0])
    """
    xp = namespace(Z)
    if Z.shape[0] == 1:
        return xp.astype(Z[0, :] > 0, xp.int64)
    return xp.argmax(Z, axis=0)


def show_cost(i: int, cost: float) -> None:
    """Print the course's progress line, ``Cost after iteration i: c``."""
    print(f"Cost after iteration {i}: {float(cost):f}")  # a 0-d array too
