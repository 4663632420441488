"""Record the versions of scikit-learn and of this package in pickles of
this package's estimators, and warn when either differs at load time."""

from __future__ import annotations

import warnings

import sklearn
from sklearn.exceptions import InconsistentVersionWarning as SklearnVersionWarning

__version__ = "0.2.0.dev0"


class InconsistentVersionWarning(UserWarning):
    """A model saved by another version of ``sklearn_gd_logreg`` was loaded.

    The counterpart of scikit-learn's
    :class:`~sklearn.exceptions.InconsistentVersionWarning`, for this
    package's own version; ``original_version`` is ``None`` for pickles made
    before versions were recorded (before 0.2).

    Examples
    --------
    >>> import pickle, warnings
    >>> from sklearn_gd_logreg import GDLogisticRegression, InconsistentVersionWarning
    >>> state = GDLogisticRegression().__getstate__()
    >>> state["_sklearn_gd_logreg_version"] = "0.1.0"
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     GDLogisticRegression().__setstate__(state)
    >>> caught[0].category is InconsistentVersionWarning
    True
    """

    def __init__(self, *, estimator_name, current_version, original_version):
        self.estimator_name = estimator_name
        self.current_version = current_version
        self.original_version = original_version

    def __str__(self) -> str:
        saved = (
            "an unrecorded version (before 0.2)"
            if self.original_version is None
            else f"version {self.original_version}"
        )
        return (
            f"Trying to unpickle estimator {self.estimator_name} from "
            f"sklearn_gd_logreg {saved} when using version "
            f"{self.current_version}. This might lead to breaking code or "
            "invalid results: refit the model with this version if you can."
        )


class SklearnVersionMixin:
    """Pickle with both versions; warn when loaded under other ones.

    scikit-learn stamps its version only into the pickles of estimators
    defined in ``sklearn.*``; ours depend on its internals as much, so they
    carry that stamp too and give scikit-learn's own
    :class:`~sklearn.exceptions.InconsistentVersionWarning` on a mismatch,
    and this package's :class:`InconsistentVersionWarning` when our own
    version differs. Put it before ``BaseEstimator`` in the bases.
    """

    def __getstate__(self):
        return dict(
            super().__getstate__(),
            _sklearn_version=sklearn.__version__,
            _sklearn_gd_logreg_version=__version__,
        )

    def __setstate__(self, state):
        state = dict(state)
        version = state.pop("_sklearn_version", None)
        if version is not None and version != sklearn.__version__:
            warnings.warn(
                SklearnVersionWarning(
                    estimator_name=type(self).__name__,
                    current_sklearn_version=sklearn.__version__,
                    original_sklearn_version=version,
                ),
                stacklevel=2,
            )
        ours = state.pop("_sklearn_gd_logreg_version", None)
        if ours != __version__:
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    current_version=__version__,
                    original_version=ours,
                ),
                stacklevel=2,
            )
        super().__setstate__(state)
