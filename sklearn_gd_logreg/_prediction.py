"""The prediction side of ``GDLogisticRegression``: the course's scores
``Z``, its prediction rule, and the probabilities, from ``coef_`` and
``intercept_``."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.special import log_expit, log_softmax
from sklearn.utils.validation import check_is_fitted

from sklearn_gd_logreg import core
from sklearn_gd_logreg._dask_predict import (
    checked_score_weights,
    is_dask,
    lazy,
    lazy_score,
)
from sklearn_gd_logreg._inputs import FLOATS, validate
from sklearn_gd_logreg._xp import (
    check_same_namespace,
    device,
    is_numpy,
    move_to,
    namespace,
    to_numpy,
)


class LinearPredictionMixin:
    """``decision_function``, ``predict_proba``, ``predict_log_proba`` and
    ``predict`` of a fitted linear model (``coef_``, ``intercept_``,
    ``classes_``).

    Each also takes a Dask array or DataFrame ``X`` and then returns a lazy
    Dask array, chunked like ``X`` along the samples, whose chunks the
    in-memory method computes on the workers (``map_blocks``).
    """

    def decision_function(self, X):
        """Scores ``X @ coef_.T + intercept_`` (the course's ``Z``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, the score of ``classes_[1]``; positive scores
            predict it. For a Dask ``X``, a lazy Dask array chunked like it.
        """
        if is_dask(X):  # lazily, chunk by chunk on the workers
            return lazy(self, "decision_function", X)
        scores = self._scores(X, "decision_function")
        if scores.shape[1] == 1:
            return namespace(scores).reshape(scores, (-1,))
        return scores

    def _scores(self, X, method):
        """The course's ``Z`` for ``X``, as ``(n_samples, K)``, checked finite.

        Under Array API dispatch, ``X`` must be in the library and on the
        device of ``fit``'s (scikit-learn's error otherwise, naming
        ``method``); the scores are computed there.
        """
        check_is_fitted(self)
        check_same_namespace(X, self, attribute="coef_", method=method)
        X = validate(self, X, dtype=FLOATS, reset=False)
        with np.errstate(all="ignore"):  # whatever the caller's: checked below
            Z = core.scores(self.coef_.T, self.intercept_[:, None], X.T).T
        xp = namespace(Z)
        if not bool(xp.all(xp.isfinite(Z))):  # one wait, for a device's
            largest = abs(X).max() if sp.issparse(X) else xp.max(xp.abs(X))
            raise ValueError(
                "The scores X @ coef_.T + intercept_ overflow for some samples: "
                f"the values in X (largest |X| = {float(largest):.3g}) "
                "are too large for this model. Scale X as the training data was."
            )
        return Z

    def predict_proba(self, X):
        """Class probabilities: the sigmoid (two classes) or softmax of the scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class in ``classes_``; rows sum to 1. For a
            Dask ``X``, a lazy Dask array chunked like it.
        """
        if is_dask(X):  # lazily, chunk by chunk on the workers
            return lazy(self, "predict_proba", X)
        return self._per_class(
            X, "predict_proba", core.sigmoid, lambda Z: core.softmax(Z.T).T
        )

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities, computed without underflow.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probability of each class in ``classes_``. For a Dask ``X``,
            a lazy Dask array chunked like it.
        """
        if is_dask(X):  # lazily, chunk by chunk on the workers
            return lazy(self, "predict_log_proba", X)
        return self._per_class(X, "predict_log_proba", _log_expit, _log_softmax)

    def _per_class(self, X, method, binary, multiclass):
        """``binary`` of minus and plus the score (two classes), or
        ``multiclass`` of the ``(n_samples, K)`` scores: one column per class."""
        scores = self._scores(X, method)
        xp = namespace(scores)
        with np.errstate(all="ignore"):  # exp underflows to 0: exact enough
            if scores.shape[1] == 1:
                scores = xp.reshape(scores, (-1,))
                return xp.stack([binary(-scores), binary(scores)], axis=1)
            return multiclass(scores)

    def predict(self, X):
        """Predict class labels by the course's rule.

        The label is ``classes_[1]`` where its probability ``sigmoid(score)``
        is ``> 0.5``, that is where the score is ``> 0`` (two classes), else
        the class of the largest score, as :func:`sklearn_gd_logreg.core.predict`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels, taken from ``classes_``. For a Dask ``X``, a
            lazy Dask array chunked like it.
        """
        if is_dask(X):  # lazily, chunk by chunk on the workers
            return lazy(self, "predict", X)
        Z = self._scores(X, "predict").T
        index = core.decide(Z)
        if is_numpy(namespace(index)) and is_numpy(namespace(self.classes_)):
            return self.classes_[index]
        # Under Array API dispatch, as scikit-learn's linear classifiers: the
        # labels taken where classes_ lies, then moved to X's library and
        # device (unless they are strings, which only NumPy holds).
        xp, dev = namespace(index), device(index)
        xp_c, dev_c = namespace(self.classes_), device(self.classes_)
        labels = xp_c.take(self.classes_, move_to(index, xp=xp_c, device=dev_c))
        if not xp_c.isdtype(labels.dtype, "numeric"):
            return labels
        return move_to(labels, xp=xp, device=dev)

    def score(self, X, y, sample_weight=None) -> float:
        """Mean accuracy of ``predict(X)`` against ``y``, weighted by
        ``sample_weight``.

        On Dask collections (``X``, and ``y`` and ``sample_weight`` chunked
        like it) the predictions and the two sums run on the workers, and a
        computed float comes back, as scikit-learn's scorers expect.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample.

        Returns
        -------
        score : float
            Share of samples (of weight) whose label is predicted right.

        Examples
        --------
        >>> import dask
        >>> import dask.array as da
        >>> from sklearn.datasets import load_iris
        >>> from sklearn_gd_logreg import GDLogisticRegression
        >>> X, y = load_iris(return_X_y=True)
        >>> X = (X - X.mean(axis=0)) / X.std(axis=0)  # scaled: 65 iterations
        >>> Xd, yd = da.from_array(X, chunks=50), da.from_array(y, chunks=50)
        >>> with dask.config.set(scheduler="synchronous"):  # or a cluster
        ...     clf = GDLogisticRegression(solver="bb").fit(Xd, yd)
        ...     print(round(clf.score(Xd, yd), 2), clf.predict(Xd).chunks)
        0.98 ((50, 50, 50),)
        """
        if is_dask(X):
            return lazy_score(self, X, y, sample_weight)
        if sample_weight is not None and np.ndim(sample_weight) == 1:
            sample_weight = checked_score_weights(to_numpy(sample_weight))
        return super().score(X, y, sample_weight=sample_weight)


def _log_expit(z):
    """``log(sigmoid(z))`` without underflow: SciPy's for NumPy, else
    ``-log(1 + exp(-z))`` in ``z``'s library."""
    xp = namespace(z)
    if is_numpy(xp):
        return log_expit(z)
    return -xp.logaddexp(xp.zeros_like(z), -z)


def _log_softmax(Z):
    """Row-wise ``log(softmax(Z))``: SciPy's for NumPy, else ``Z`` minus its
    log-sum-exp (the largest taken out first) in ``Z``'s library."""
    xp = namespace(Z)
    if is_numpy(xp):
        return log_softmax(Z, axis=1)
    shifted = Z - xp.max(Z, axis=1, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))
