"""The problem one fit solves, built once per fit: data, labels, weights,
penalty and ``fit_intercept``, and the objective's value and gradient.

It minimises ``F(w, b) = f(w, b) + penalty.nonsmooth(w)``, with ``f`` the
weighted mean log-loss plus the L2 part of the penalty, whose gradient
:func:`sklearn_gd_logreg.core.propagate` computes. Solvers see only this.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sklearn_gd_logreg import core
from sklearn_gd_logreg._penalties import Penalty
from sklearn_gd_logreg._xp import device, is_array, is_numpy, namespace


@dataclass(frozen=True)
class Problem:
    """Minimise ``f(w, b) + penalty.nonsmooth(w)`` over ``w`` (and ``b``).

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_x, m)
        Data in the core's layout (one sample per column).
    Y : ndarray of shape (K, m)
        0/1 labels (``K = 1``) or one-hot.
    sample_weight : ndarray of shape (m,)
        Non-negative weights, with a positive sum.
    penalty : Penalty
    fit_intercept : bool
        ``False``: ``b`` is fixed (its gradient is reported as 0).
    weight_exponent : int, default=0
        The weights are the user's (times ``class_weight``) times
        ``2**-weight_exponent``, scaled so that the largest is below 1:
        ``partial_fit`` compares the weights of its calls by it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gd_logreg._penalties import Penalty
    >>> from sklearn_gd_logreg._problem import Problem
    >>> X, Y = np.array([[1.0, -1.0]]), np.array([[1.0, 0.0]])
    >>> problem = Problem(X, Y, np.ones(2), Penalty(0.0, 0.0), True)
    >>> f, grads = problem.loss_and_grad(np.zeros((1, 1)), 0.0)
    >>> round(f, 6), grads["dw"].ravel(), float(grads["db"])
    (0.693147, array([-0.5]), 0.0)
    """

    X: object
    Y: np.ndarray
    sample_weight: np.ndarray
    penalty: Penalty
    fit_intercept: bool
    weight_exponent: int = 0

    @property
    def n_samples(self) -> int:
        return self.X.shape[1]

    def loss_and_grad(self, w, b, *, to_float: bool = True):
        """``f(w, b)`` and ``{"dw", "db"}``, its gradient (with
        ``to_float=False``, another library's ``f`` stays a 0-d array on its
        device)."""
        grads, f = core.propagate(
            w,
            b,
            self.X,
            self.Y,
            sample_weight=self.sample_weight,
            alpha=self.penalty.l2,
            to_float=to_float,
        )
        db = grads["db"]
        if np.ndim(db) == 0 and is_numpy(namespace(db)):  # a float: a np.float64
            grads["db"] = float(db) if self.fit_intercept else 0.0  # b would
            # make the scores float64; another library's stays on its device
        elif not self.fit_intercept:
            grads["db"] = 0.0 * db  # zeros, in db's library and on its device
        return f, grads

    def value(self, w, b) -> float:
        """The whole objective ``F(w, b)``."""
        return self.loss_and_grad(w, b)[0] + self.penalty.nonsmooth(w)

    def optimality(self, w, grads, step: float, *, to_float: bool = True) -> float:
        """0 exactly at the minimum: the penalty's measure for ``w``, and
        ``|db|`` for ``b`` when it is fitted (with ``to_float=False``, another
        library's stays a 0-d array on its device)."""
        largest = self.penalty.optimality(w, grads["dw"], step, to_float=False)
        if self.fit_intercept:
            db = grads["db"]
            if isinstance(db, float):  # NumPy's, one class: no wrappers
                return _nan_max(largest, abs(float(db)))
            xp = namespace(db)
            top = xp.max(xp.abs(xp.asarray(db)))
            if is_numpy(xp):
                largest = _nan_max(largest, float(top))
            else:  # on the device, read back once below
                largest = xp.maximum(xp.asarray(largest, device=device(top)), top)
        return float(largest) if to_float else largest

    def batches(self, batch_size: int, random_state):
        """An epoch's mini-batches: the samples in a new random order,
        ``batch_size`` at a time, each the unpenalised problem on them."""
        order = random_state.permutation(self.n_samples)
        xp = namespace(self.Y)
        if not is_numpy(xp):  # to the data's device once an epoch, not per batch
            order = xp.asarray(order, device=device(self.Y))
        for start in range(0, self.n_samples, batch_size):  # the standard
            stop = min(start + batch_size, self.n_samples)  # leaves a slice past
            yield self.subset(order[start:stop])  # the end unspecified

    def subset(self, index, penalty: Penalty | None = None) -> Problem:
        """The loss on the samples ``index`` (integers, NumPy's or on the
        data's device), unpenalised
        unless ``penalty`` is given (a mini-batch, a validation set, a
        training set)."""
        penalty = NO_PENALTY if penalty is None else penalty
        xp = namespace(self.Y)
        if is_numpy(xp):
            X, Y, s = self.X[:, index], self.Y[:, index], self.sample_weight[index]
        else:  # the indices on the data's device, as the standard indexes
            index = xp.asarray(index, device=device(self.Y))
            X, Y = xp.take(self.X, index, axis=1), xp.take(self.Y, index, axis=1)
            s = xp.take(self.sample_weight, index, axis=0)
        return Problem(X, Y, s, penalty, self.fit_intercept)

    def weight(self, *, to_float: bool = True) -> float:
        """The sum of the sample weights, on the host (with ``to_float=False``,
        another library's stays a 0-d array on its device)."""
        s = self.sample_weight
        if isinstance(s, np.ndarray) or not is_array(s):  # NumPy's, Dask's
            return float(s.sum())
        total = namespace(s).sum(s)
        return float(total) if to_float else total


def _nan_max(a: float, b: float) -> float:
    """The larger, or NaN if either is: a NaN gradient is never optimal."""
    return a if a != a or a >= b else b


NO_PENALTY = Penalty(0.0, 0.0)
