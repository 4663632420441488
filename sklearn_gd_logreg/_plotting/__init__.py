"""Plots as scikit-learn ``Display`` objects; matplotlib is imported on use."""

from sklearn_gd_logreg._plotting.cost_curve import CostCurveDisplay
from sklearn_gd_logreg._plotting.weights import WeightsDisplay

__all__ = ["CostCurveDisplay", "WeightsDisplay"]
