"""Divergence of gradient descent: detected and worded in one place.

:mod:`sklearn_gd_logreg.core` re-exports these; the solvers raise
:class:`DivergenceError` through :func:`diverged`.
"""

from __future__ import annotations

import numpy as np


def check_finite(value, learning_rate: float, iteration: int) -> None:
    """Report divergence (:func:`diverged`) unless ``value``, a cost or the
    parameters, is finite everywhere."""
    if not np.all(np.isfinite(value)):
        diverged(learning_rate, iteration)


class DivergenceError(ValueError):
    """Gradient descent diverged: its cost or weights grew without bound.

    ``iteration`` and ``reason`` say when and how.
    """

    def __init__(self, message: str, iteration: int, reason: str):
        super().__init__(message)
        self.iteration, self.reason = iteration, reason


def diverged(
    learning_rate: float,
    iteration: int,
    reason: str = "the cost or the weights are no longer finite",
):
    """Raise :class:`DivergenceError`: the one place where it is worded."""
    raise DivergenceError(
        f"Gradient descent diverged at iteration {iteration}: {reason} with "
        f"learning_rate={learning_rate!r}. Use a smaller learning_rate or "
        "scale the features.",
        iteration,
        reason,
    )
