"""Record the scikit-learn version in pickles of this package's estimators."""

from __future__ import annotations

import warnings

import sklearn
from sklearn.exceptions import InconsistentVersionWarning


class SklearnVersionMixin:
    """Pickle with ``_sklearn_version``; warn when loaded under another one.

    scikit-learn stamps its version only into the pickles of estimators
    defined in ``sklearn.*``; ours depend on its internals as much, so they
    carry the stamp too and give scikit-learn's own
    :class:`~sklearn.exceptions.InconsistentVersionWarning` on a mismatch.
    Put it before ``BaseEstimator`` in the bases.
    """

    def __getstate__(self):
        return dict(super().__getstate__(), _sklearn_version=sklearn.__version__)

    def __setstate__(self, state):
        state = dict(state)
        version = state.pop("_sklearn_version", None)
        if version is not None and version != sklearn.__version__:
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    current_sklearn_version=sklearn.__version__,
                    original_sklearn_version=version,
                ),
                stacklevel=2,
            )
        super().__setstate__(state)
