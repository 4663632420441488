"""Helpers shared by the test modules (pytest puts this folder on sys.path)."""

import warnings

from sklearn.exceptions import ConvergenceWarning


def fit_quietly(est, X, y, **fit_params):
    """``est.fit``, for tests that stop short of convergence on purpose."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **fit_params)
