"""Gradient-descent logistic regression from scratch, as scikit-learn estimators."""

from sklearn_gd_logreg._classifier import GDLogisticRegression
from sklearn_gd_logreg._image import ImageFlattener
from sklearn_gd_logreg._plotting import CostCurveDisplay, WeightsDisplay
from sklearn_gd_logreg._versioning import InconsistentVersionWarning, __version__

__all__ = [
    "CostCurveDisplay",
    "GDLogisticRegression",
    "ImageFlattener",
    "InconsistentVersionWarning",
    "WeightsDisplay",
    "__version__",
]
