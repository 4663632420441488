"""``GDLogisticRegression``: the course's gradient descent as a classifier."""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from scipy.special import log_expit, log_softmax
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from sklearn_gd_logreg import core
from sklearn_gd_logreg._step_size import lipschitz_constant

_FLOATS = [np.float64, np.float32]


class GDLogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression trained by full-batch gradient descent.

    The course's algorithm (:mod:`sklearn_gd_logreg.core`) behind the
    scikit-learn classifier API: a sigmoid for two classes, a softmax
    (multinomial) for three or more, labels of any type, sample and class
    weights, and an L2 penalty. It minimises the weighted mean log-loss plus
    ``alpha / 2 * ||coef_||^2``, the same objective as
    ``LogisticRegression(C=1 / (alpha * n_samples))``.

    Parameters
    ----------
    learning_rate : float or "auto", default="auto"
        Step size of gradient descent. ``"auto"`` uses ``1 / L``, with ``L``
        the Lipschitz constant of the gradient estimated by a few power
        iterations on the data; this step never diverges. A fixed float is the
        course's ``learning_rate``.
    max_iter : int, default=2000
        Maximum number of gradient-descent iterations.
    tol : float, default=1e-4
        Stop when the largest absolute entry of the gradient (weights and
        intercept) is ``<= tol``.
    alpha : float, default=1e-4
        L2 penalty strength on the mean loss. ``0`` is the course's
        unregularised algorithm.
    fit_intercept : bool, default=True
        Whether to learn the bias ``b``; if ``False`` it stays 0.
    class_weight : dict, "balanced" or None, default=None
        Weights by class, multiplied into ``sample_weight``. ``"balanced"``
        weighs class ``k`` by ``n_samples / (n_classes * n_k)``.
    warm_start : bool, default=False
        Start ``fit`` from the previous ``coef_`` and ``intercept_`` instead of
        zeros.
    verbose : int, default=0
        If ``> 0``, print ``Cost after iteration i: c`` every 100 iterations,
        as the course's ``print_cost``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights (``w.T`` in the course's notation); one row for two classes.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Bias ``b``.
    n_iter_ : int
        Iterations run, each one evaluation of the cost and gradient (the last
        one takes no step when ``tol`` is met).
    loss_curve_ : ndarray of shape (n_iter_,)
        The objective at every iteration.
    learning_rate_ : float
        The step size used (the value ``"auto"`` chose).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.

    See Also
    --------
    sklearn.linear_model.LogisticRegression : The same model, solved by
        second-order and coordinate methods.
    sklearn_gd_logreg.ImageFlattener : Turns image arrays into rows for it.

    Notes
    -----
    ``fit`` is atomic: if it raises (bad input, or a fixed ``learning_rate``
    that makes the iterates diverge), the estimator keeps the state it had
    before the call.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_gd_logreg import GDLogisticRegression
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(), GDLogisticRegression(alpha=1e-2))
    >>> clf = clf.fit(X, y)
    >>> round(clf.score(X, y), 3)
    0.986
    >>> clf[-1].n_iter_  # iterations until the largest gradient entry <= tol
    768
    >>> clf[-1].predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints: ClassVar[dict] = {
        "learning_rate": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
        ],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        learning_rate: float | str = "auto",
        max_iter: int = 2000,
        tol: float = 1e-4,
        alpha: float = 1e-4,
        fit_intercept: bool = True,
        class_weight: dict | str | None = None,
        warm_start: bool = False,
        verbose: int = 0,
    ):
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None) -> GDLogisticRegression:
        """Fit the model by gradient descent.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels, of any type; at least two classes.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight per sample; a weight of 2 counts a row twice.

        Returns
        -------
        self : GDLogisticRegression
            The fitted estimator.
        """
        before = {k: v for k, v in vars(self).items() if _is_fitted_attribute(k)}
        try:
            self._fit(X, y, sample_weight)
        except BaseException:
            for k in [k for k in vars(self) if _is_fitted_attribute(k)]:
                delattr(self, k)
            vars(self).update(before)
            raise
        return self

    def _fit(self, X, y, sample_weight):
        previous = (getattr(self, "coef_", None), getattr(self, "intercept_", None))
        previous_classes = getattr(self, "classes_", None)
        X, y = validate_data(self, X, y, dtype=_FLOATS)
        check_classification_targets(y)
        classes, y_index = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                "GDLogisticRegression needs samples of at least 2 classes in y, "
                f"but y contains only one class: {classes[0]!r}."
            )
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=X.dtype, ensure_non_negative=True
        )
        if self.class_weight is not None:
            weights = compute_class_weight(self.class_weight, classes=classes, y=y)
            sample_weight = sample_weight * weights[y_index].astype(X.dtype)
        if not sample_weight.sum() > 0:
            raise ValueError(
                "The weights of the samples (sample_weight times class_weight) "
                "sum to zero; at least one sample needs a positive weight."
            )

        n_samples, n_features = X.shape
        n_outputs = 1 if len(classes) == 2 else len(classes)
        Y = np.zeros((n_outputs, n_samples), dtype=X.dtype)
        if n_outputs == 1:
            Y[0] = y_index
        else:
            Y[y_index, np.arange(n_samples)] = 1.0

        if self.warm_start and previous[0] is not None:
            if previous_classes is None or not np.array_equal(
                previous_classes, classes
            ):
                raise ValueError(
                    f"warm_start=True, but y has the classes {classes.tolist()} "
                    f"while the fitted model has {list(previous_classes)}; "
                    "set warm_start=False to fit from scratch."
                )
            w = previous[0].T.astype(X.dtype)
            b = previous[1].astype(X.dtype)
            b = float(b[0]) if n_outputs == 1 else b[:, np.newaxis]
        else:
            w, b = core.initialize_with_zeros(n_features, n_outputs=n_outputs)
            w = w.astype(X.dtype)
        # The core works on samples as columns; X.T is a view, not a copy.
        XT = X.T
        if self.learning_rate == "auto":
            L = lipschitz_constant(
                XT,
                sample_weight=sample_weight,
                alpha=self.alpha,
                fit_intercept=self.fit_intercept,
                n_outputs=n_outputs,
            )
            learning_rate = 1.0 / L
        else:
            learning_rate = float(self.learning_rate)

        params, grads, costs = core.optimize(
            w,
            b,
            XT,
            Y,
            num_iterations=self.max_iter,
            learning_rate=learning_rate,
            print_cost=self.verbose > 0,
            sample_weight=sample_weight,
            alpha=self.alpha,
            fit_intercept=self.fit_intercept,
            tol=self.tol,
            cost_every=1,
        )
        largest = core._max_abs(grads, self.fit_intercept)
        if largest > self.tol:
            warnings.warn(
                f"GDLogisticRegression did not converge in max_iter={self.max_iter} "
                f"iterations: the largest gradient entry is {largest:.3g} > "
                f"tol={self.tol}. Increase max_iter, change learning_rate (here "
                f"{self.learning_rate!r}, a step of {learning_rate:.3g}), or "
                "scale the features.",
                ConvergenceWarning,
                stacklevel=4,
            )

        self.classes_ = classes
        self.coef_ = np.ascontiguousarray(params["w"].T, dtype=X.dtype)
        self.intercept_ = np.asarray(params["b"], dtype=X.dtype).reshape(-1)
        self.n_iter_ = len(costs)
        self.loss_curve_ = np.asarray(costs)
        self.learning_rate_ = learning_rate

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
            predict it.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=_FLOATS, reset=False)
        scores = X @ self.coef_.T + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict_proba(self, X):
        """Class probabilities: the sigmoid (two classes) or softmax of the scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class in ``classes_``; rows sum to 1.
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return np.column_stack([core.sigmoid(-scores), core.sigmoid(scores)])
        return core.softmax(scores.T).T

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities, computed without underflow.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probability of each class in ``classes_``.
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return np.column_stack([log_expit(-scores), log_expit(scores)])
        return log_softmax(scores, axis=1)

    def predict(self, X):
        """Predict class labels with the course's ``predict``.

        The label is ``classes_[1]`` where its probability is ``> 0.5`` (two
        classes), else the most probable class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels, taken from ``classes_``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=_FLOATS, reset=False)
        b = self.intercept_
        b = float(b[0]) if len(b) == 1 else b[:, np.newaxis]
        index = core.predict(self.coef_.T, b, X.T)[0].astype(np.intp)
        return self.classes_[index]


def _is_fitted_attribute(name: str) -> bool:
    return name.endswith("_") and not name.startswith("_")
