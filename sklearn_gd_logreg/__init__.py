"""Gradient-descent logistic regression from scratch, as scikit-learn estimators."""

from sklearn_gd_logreg._classifier import GDLogisticRegression
from sklearn_gd_logreg._image import ImageFlattener

__version__ = "0.1.0"

__all__ = ["GDLogisticRegression", "ImageFlattener", "__version__"]
