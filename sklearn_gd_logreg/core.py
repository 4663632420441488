"""Logistic regression by gradient descent, in the course's names and layout.

Samples are columns: ``X`` is ``(n_x, m)``, ``Y`` is ``(1, m)`` with 0/1
labels (or ``(K, m)`` one-hot for ``K >= 3`` classes) and ``w`` is
``(n_x, 1)`` (or ``(n_x, K)``).

Forward and backward pass, for one sample weight ``s_i`` per column
(all ones in the course, then ``S = m``)::

    Z  = w.T X + b                 A = sigmoid(Z)      (softmax(Z) if K >= 3)
    J  = (1/S) sum_i s_i loss_i + (alpha/2) ||w||^2
    dZ = A - Y
    dw = (1/S) X (s * dZ).T + alpha w
    db = (1/S) sum_i s_i dZ_i

with ``S = sum_i s_i``. ``optimize`` repeats ``w := w - learning_rate * dw``,
``b := b - learning_rate * db`` from zeros. Every extra capability is a
keyword-only argument whose default gives the course's algorithm.

The loss is computed from ``Z``, never from ``log(A)``: ``loss_i =
log(1 + exp(z_i)) - y_i z_i`` (log-sum-exp for softmax), which equals the
course's ``-(y log a + (1 - y) log(1 - a))`` wherever that is finite and
stays finite where ``a`` rounds to 0 or 1.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import expit
from scipy.special import softmax as _softmax

from sklearn_gd_logreg import _gradient

__all__ = [
    "initialize_with_zeros",
    "optimize",
    "predict",
    "propagate",
    "sigmoid",
    "soft_threshold",
    "softmax",
    "stationarity",
]


def sigmoid(z):
    """Compute the sigmoid of ``z``, without overflow.

    ``sigmoid(z) = 1 / (1 + exp(-z))``.

    Parameters
    ----------
    z : float or array_like
        A scalar or an array of any shape.

    Returns
    -------
    s : float or ndarray
        ``sigmoid(z)``, same shape as ``z``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gd_logreg.core import sigmoid
    >>> sigmoid(np.array([0, 2]))
    array([0.5       , 0.88079708])
    >>> float(sigmoid(-1000.0))
    0.0
    """
    return expit(z)


def softmax(z):
    """Column-wise softmax: ``exp(z) / sum(exp(z), axis=0)``, without overflow.

    Parameters
    ----------
    z : ndarray of shape (K, m)
        One score per class (rows) and sample (columns).

    Returns
    -------
    a : ndarray of shape (K, m)
        Probabilities; each column sums to 1.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gd_logreg.core import softmax
    >>> softmax(np.array([[0.0, 1000.0], [0.0, 0.0]]))
    array([[0.5, 1. ],
           [0.5, 0. ]])
    """
    return _softmax(z, axis=0)


def initialize_with_zeros(dim: int, *, n_outputs: int = 1):
    """Create ``w`` of zeros with shape ``(dim, n_outputs)`` and ``b = 0``.

    Parameters
    ----------
    dim : int
        Number of features ``n_x``.
    n_outputs : int, default=1
        ``1`` for the course's binary model; ``K`` for a softmax over ``K``
        classes, in which case ``b`` is a ``(K, 1)`` array of zeros.

    Returns
    -------
    w : ndarray of shape (dim, n_outputs)
    b : float or ndarray of shape (n_outputs, 1)

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


def propagate(w, b, X, Y, *, sample_weight=None, alpha: float = 0.0):
    """Cost ``J`` and its gradients ``dw``, ``db`` (forward and backward pass).

    ``A = sigmoid(w.T X + b)`` when ``w`` has one column, the softmax of it
    when ``w`` has ``K >= 2`` columns (``Y`` is then one-hot, ``(K, m)``);
    ``dZ = A - Y`` in both cases.

    Parameters
    ----------
    w : ndarray of shape (n_x, 1) or (n_x, K)
        Weights.
    b : float or ndarray of shape (K, 1)
        Bias.
    X : ndarray or scipy.sparse matrix or array of shape (n_x, m)
        Data, one sample per column. ``X`` is read from memory once per
        call, by the CPU's cores in parallel, dense or sparse (never
        densified); fastest when each sample's values are contiguous, as in
        the view ``X.T`` of a C-ordered array or of a CSR matrix
        (:mod:`sklearn_gd_logreg._gradient`). float32 stays float32.
    Y : ndarray of shape (1, m) or (K, m)
        True labels: 0/1 (binary) or one-hot (softmax).
    sample_weight : ndarray of shape (m,), default=None
        Non-negative weight per sample; ``None`` weighs each by 1. Means
        become weighted means, so a weight of 2 equals a repeated column.
    alpha : float, default=0.0
        L2 strength: adds ``alpha/2 ||w||^2`` to the cost and ``alpha w`` to
        ``dw`` (never to ``db``).

    Returns
    -------
    grads : dict
        ``{"dw": ndarray like w, "db": float or ndarray like b}``.
    cost : float
        The (weighted, penalised) mean log-loss.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gd_logreg.core import propagate
    >>> w, b = np.array([[1.0], [2.0]]), 2.0
    >>> X, Y = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]]), np.array([[1, 0, 1]])
    >>> grads, cost = propagate(w, b, X, Y)
    >>> grads["dw"].ravel(), float(grads["db"]), round(cost, 8)
    (array([0.99845601, 2.39507239]), 0.00145557813678, 5.80154532)
    """
    # The forward and backward pass, summed over the samples while each is in
    # cache, so that X is read from memory once (see _gradient).
    loss, XdZ, dZ = _gradient.loss_and_gradient(w, b, X, Y, sample_weight)
    total = X.shape[1] if sample_weight is None else sample_weight.sum()
    cost = loss / total
    dw = XdZ / total
    db = dZ / total
    if alpha:
        cost = cost + 0.5 * alpha * np.vdot(w, w)
        dw = dw + alpha * w
    db = float(db[0, 0]) if np.ndim(b) == 0 else db
    return {"dw": dw, "db": db}, float(cost)


@_gradient.one_blas_thread()  # the gradient's threads use the cores
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
    l1: float = 0.0,
    tol: float | None = None,
    cost_every: int = 100,
    callback: Callable[[int, float, dict], None] | None = None,
):
    """Run gradient descent on ``w`` and ``b``, recording the cost.

    Each iteration ``i`` calls :func:`propagate` at the current ``w, b``,
    then steps ``w := w - learning_rate * dw``, ``b := b - learning_rate *
    db``.

    Parameters
    ----------
    w : ndarray of shape (n_x, 1) or (n_x, K)
        Starting weights (not modified).
    b : float or ndarray of shape (K, 1)
        Starting bias.
    X : ndarray or scipy.sparse matrix or array of shape (n_x, m)
        Data, one sample per column.
    Y : ndarray of shape (1, m) or (K, m)
        True labels: 0/1 or one-hot.
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
    l1 : float, default=0.0
        L1 strength: adds ``l1 ||w||_1`` to the cost, by a proximal step
        (``w := soft_threshold(w - learning_rate * dw, learning_rate * l1)``),
        so that weights become exactly zero.
    tol : float, default=None
        Stop, without stepping, at the first iteration where
        :func:`stationarity` (the largest absolute entry of ``dw`` and ``db``
        when ``l1 = 0``) is ``<= tol``. ``None`` always runs
        ``num_iterations`` iterations.
    cost_every : int, default=100
        Record the cost in ``costs`` every ``cost_every`` iterations
        (``1`` records the whole learning curve).
    callback : callable, default=None
        Called as ``callback(i, cost, grads)`` after each ``propagate``.

    Returns
    -------
    params : dict
        ``{"w": ..., "b": ...}`` after the last step.
    grads : dict
        The gradients of the last iteration (at the final parameters when
        ``tol`` stopped the loop).
    costs : list of float
        The cost at iterations ``0, cost_every, 2 * cost_every, ...``.

    Raises
    ------
    ValueError
        If the cost or the parameters stop being finite: ``learning_rate``
        is too large for the data.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gd_logreg.core import optimize
    >>> w, b = np.array([[1.0], [2.0]]), 2.0
    >>> X, Y = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]]), np.array([[1, 0, 1]])
    >>> params, grads, costs = optimize(w, b, X, Y, num_iterations=100,
    ...                                 learning_rate=0.009)
    >>> params["w"].ravel(), round(float(params["b"]), 8)
    (array([0.19033591, 0.12259159]), 1.92535983)
    >>> [round(c, 8) for c in costs]
    [5.80154532]
    """
    costs: list[float] = []
    grads: dict = {}
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for i in range(num_iterations):
            grads, cost = propagate(
                w, b, X, Y, sample_weight=sample_weight, alpha=alpha
            )
            if l1:
                cost += l1 * float(np.abs(w).sum())
            if not np.isfinite(cost):
                _diverged(learning_rate, i)
            if i % cost_every == 0:
                costs.append(cost)
            if print_cost and i % 100 == 0:
                print(f"Cost after iteration {i}: {cost:f}")
            if callback is not None:
                callback(i, cost, grads)
            if tol is not None and (
                stationarity(
                    w, grads, learning_rate, l1=l1, fit_intercept=fit_intercept
                )
                <= tol
            ):
                break
            w = w - learning_rate * grads["dw"]
            if l1:
                w = soft_threshold(w, learning_rate * l1)
            if fit_intercept:
                b = b - learning_rate * grads["db"]
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
            _diverged(learning_rate, num_iterations - 1)
    return {"w": w, "b": b}, grads, costs


def predict(w, b, X):
    """Predict 0/1 labels: 1 where ``sigmoid(w.T X + b) > 0.5``.

    With ``K >= 2`` columns in ``w``, returns the index of the most probable
    class instead.

    Parameters
    ----------
    w : ndarray of shape (n_x, 1) or (n_x, K)
    b : float or ndarray of shape (K, 1)
    X : ndarray or scipy.sparse matrix or array of shape (n_x, m)

    Returns
    -------
    Y_prediction : ndarray of shape (1, m)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gd_logreg.core import predict
    >>> w, b = np.array([[0.1124579], [0.23106775]]), -0.3
    >>> X = np.array([[1.0, -1.1, -3.2], [1.2, 2.0, 0.1]])
    >>> predict(w, b, X)
    array([[1., 1., 0.]])
    """
    Z = _gradient.scores(w, b, X)
    if w.shape[1] == 1:
        # sigmoid(Z) > 0.5 exactly where Z > 0; testing Z is immune to the
        # sigmoid rounding to 0.5 for tiny |Z| (below 3e-8 in float32).
        return (Z > 0).astype(float)
    return np.argmax(Z, axis=0)[np.newaxis, :].astype(float)


def soft_threshold(w, threshold):
    """Proximal step of ``threshold * ||w||_1``: shrink each entry towards 0.

    ``sign(w) * max(|w| - threshold, 0)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gd_logreg.core import soft_threshold
    >>> soft_threshold(np.array([-2.0, 0.5, 3.0]), 1.0)
    array([-1.,  0.,  2.])
    """
    return np.sign(w) * np.maximum(np.abs(w) - threshold, 0.0)


def stationarity(w, grads, learning_rate, *, l1=0.0, fit_intercept=True) -> float:
    """How far ``w, b`` are from the minimum: 0 exactly there.

    The largest absolute entry of ``dw`` and ``db`` (of ``dw`` only when
    ``fit_intercept=False``). With an L1 penalty, ``dw`` is replaced by the
    gradient mapping ``(w - soft_threshold(w - learning_rate * dw,
    learning_rate * l1)) / learning_rate``, since ``dw`` itself does not
    vanish at the minimum.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gd_logreg.core import stationarity
    >>> grads = {"dw": np.array([[0.5], [-2.0]]), "db": 0.25}
    >>> stationarity(np.zeros((2, 1)), grads, 0.1)
    2.0
    >>> stationarity(np.zeros((2, 1)), grads, 0.1, l1=1.0)  # only |-2| > 1 moves
    1.0
    """
    dw = grads["dw"]
    if l1:
        step = soft_threshold(w - learning_rate * dw, learning_rate * l1)
        dw = (w - step) / learning_rate
    largest = float(np.max(np.abs(dw), initial=0.0))
    if fit_intercept:
        largest = max(largest, float(np.max(np.abs(grads["db"]))))
    return largest


def _diverged(learning_rate, iteration):
    raise ValueError(
        f"Gradient descent diverged at iteration {iteration}: the cost or the "
        f"weights are no longer finite with learning_rate={learning_rate!r}. "
        "Use a smaller learning_rate, learning_rate='auto', or scale the features."
    )
