"""Divergence of gradient descent: detected and worded in one place.

:mod:`sklearn_gd_logreg.core` re-exports the error; the solvers raise
:class:`DivergenceError` through :func:`diverged`, for a cost or weights
that stop being finite (:func:`check_finite`) or, before any step, for a
step whose L2 part grows the weights geometrically (:func:`check_l2_step`).
"""

from __future__ import annotations

import math

import numpy as np

from sklearn_gd_logreg._xp import namespace

GROWTH_DIGITS = 10  # a decaying step may grow the weights at most 1e10 times


def check_finite(
    value, learning_rate: float, iteration: int, *, start: bool = False
) -> None:
    """Report divergence (:func:`diverged`) unless ``value``, a cost or the
    parameters, is finite everywhere. ``start``: ``value`` is the cost where
    the descent starts, before any step, so the step is not at fault: a
    ``ValueError`` names the inputs instead."""
    if type(value) is float:  # the common case, each iteration: no wrappers
        if math.isfinite(value):
            return
    elif type(value) is np.ndarray:
        if np.isfinite(value).all():
            return
    else:
        xp = namespace(value)
        if bool(xp.all(xp.isfinite(xp.asarray(value)))):  # on value's device
            return
    if start:
        raise ValueError(
            "The cost at the starting w and b is not finite, before any step: "
            "X, Y, w and b must be finite, with scores w.T X + b that do not "
            "overflow, and sample_weight non-negative with a positive sum."
        )
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


def check_l2_step(
    learning_rate,
    l2,
    *,
    schedule="constant",
    power_t=0.0,
    n_batches=1,
    patience=1,
    epochs_seen=0.0,
) -> None:
    """Refuse a step that makes the L2 part diverge, before it is taken.

    Each step multiplies ``w`` by ``1 - step * l2`` before the log-loss's
    part, whose gradient is bounded by the largest ``|x|``: the weights grow
    geometrically while ``|1 - step * l2| > 1``, that is ``step * l2 > 2``
    (``1 / L`` never is: ``L >= l2``), and at most linearly otherwise (a
    large step's loss may spike and then settle; that is not divergence).
    A constant step (``"gd"``, ``schedule="constant"``, ``partial_fit``'s
    ``"adaptive"``) is refused if ``step * l2 > 2``; a decaying one
    (``"invscaling"``, or ``"adaptive"``, divided by 5 after at least
    ``patience`` epochs) if the steps it takes before ``step * l2 <= 2``
    multiply the weights by more than ``10**GROWTH_DIGITS``.
    """
    if learning_rate * l2 <= 2.0 and schedule != "invscaling":
        return
    reason = None
    if schedule == "constant":
        reason = "at every iteration"
    else:
        digits = 0.0
        for t in range(1_000_000):  # steps, in the order the schedule takes them
            if schedule == "invscaling":
                step = learning_rate * (1.0 + epochs_seen + t / n_batches) ** -power_t
            else:  # "adaptive": constant for at least `patience` epochs
                step = learning_rate * 0.2 ** (t // (patience * n_batches))
            if step * l2 <= 2.0:
                break
            digits += math.log10(step * l2 - 1.0)
            if digits > GROWTH_DIGITS:
                reason = (
                    f"{t + 1} times, a factor over 1e{GROWTH_DIGITS:g}, before "
                    f"the {schedule!r} schedule brings the step below 2 / alpha"
                )
                break
    if reason is not None:
        diverged(
            learning_rate,
            0,
            f"a step of {learning_rate:.3g} multiplies the weights by "
            f"|1 - step * alpha| = {abs(1 - learning_rate * l2):.3g} > 1 "
            f"{reason} (the L2 part alone grows geometrically)",
        )
