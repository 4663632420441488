"""Gradient-descent logistic regression from scratch, as scikit-learn estimators."""

from sklearn_gd_logreg._classifier import GDLogisticRegression
from sklearn_gd_logreg._image import ImageFlattener
from sklearn_gd_logreg._versioning import InconsistentVersionWarning, __version__
from sklearn_gd_logreg.callbacks import IterationRecorder

__all__ = [
    "GDLogisticRegression",
    "ImageFlattener",
    "InconsistentVersionWarning",
    "IterationRecorder",
    "__version__",
]
