"""What both Displays share: importing pyplot on use, reaching the classifier."""

from __future__ import annotations

from typing import Any

from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted


def import_pyplot(what: str):
    """Import ``matplotlib.pyplot``, or say which extra installs it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            f"{what} needs matplotlib (>= 3.5), which is not installed: "
            'python -m pip install -e ".[plots]" from the repository root, or '
            "python -m pip install matplotlib."
        ) from error
    return plt


def fitted_classifier(estimator: Any, argument: str = "estimator") -> Any:
    """The fitted final step of ``estimator`` (itself if not a ``Pipeline``).

    Raises ``NotFittedError`` (from ``check_is_fitted``) if it is not fitted.
    """
    final = estimator[-1] if isinstance(estimator, Pipeline) else estimator
    if not hasattr(final, "get_params"):
        raise TypeError(
            f"{argument} must be a scikit-learn estimator or a Pipeline ending in "
            f"one, such as GDLogisticRegression; got {type(estimator).__name__}."
        )
    check_is_fitted(final)
    return final


def short_name(parameter: str) -> str:
    """``"clf__learning_rate"`` -> ``"learning_rate"``."""
    return parameter.rsplit("__", 1)[-1]
