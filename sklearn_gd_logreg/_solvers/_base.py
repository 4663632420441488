"""What the solvers share: their :class:`Result`, how it is made at the
end (:func:`finish`), the stall test of ``n_iter_no_change``, inner
products without BLAS threads, the scalars a solver on another
library's arrays has not read back yet, and the line searches' constants
and refused-step rule (on the host and on a device)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sklearn_gd_logreg._divergence import diverged
from sklearn_gd_logreg._sgd_epochs import (
    Iterate,
)
from sklearn_gd_logreg._xp import device, flat_dot, is_numpy, namespace, to_numpy

SETTLE_EVERY = 10  # on another library's arrays: iterations (rounds) per read-back
GROWTH = 1.25  # "nesterov": each iteration first tries 1.25 x the last step
MAX_STEP = float(np.finfo(np.float64).max) / GROWTH  # 1.25 x a step stays finite
TRIALS = 200  # "nesterov", "bb": steps a line search tries before it gives up
MEMORY = 10  # "bb": a step must improve on the highest of the last 10 objectives
SIGMA = 1e-4  # "bb": by SIGMA |d|^2 / (2 step)


@dataclass
class Result:
    """What a solver returns."""

    w: np.ndarray
    b: float | np.ndarray
    n_iter: int
    loss_curve: list[float]
    converged: bool
    learning_rate: float
    epochs_seen: float = 0.0
    validation_scores: list[float] = field(default_factory=list)
    stopped: bool = False  # by the monitor
    optimality: float = math.nan  # at the returned iterate, where measured
    iterate: Iterate | None = None  # "sgd": where it is, to continue from
    step_too_long: bool = False  # "sgd": stalled far above the uniform model


def finish(w, b, curve, converged, step, stall, stopped, optimality=math.nan):
    """The :class:`Result` at ``w, b``, or with a validation ``stall`` at
    its best iterate (whose optimality was not measured)."""
    result = Result(w, b, len(curve), curve, converged, step, stopped=stopped)
    if stall is None:
        result.optimality = optimality
    else:
        result.w, result.b = stall.best_params
        result.validation_scores = stall.scores
    return result


class Stall:
    """``n_iter_no_change`` iterations without an improvement by ``tol``.

    ``update(loss, params)`` records a monitored loss (the training loss, or
    a held-out log-loss for ``early_stopping``) and the parameters it was
    measured at, and returns ``True`` once the loss has not improved on its
    best by more than ``tol`` for ``patience`` calls in a row;
    ``best_params`` are those of the lowest loss (``start``, whose loss is
    ``start_loss``, until one is lower), ``scores`` every loss.
    """

    def __init__(self, tol, patience: int, start, start_loss=math.inf):
        self.tol, self.patience = tol, patience
        self.best, self.best_params, self.count = start_loss, start, 0
        self.scores: list[float] = []

    def update(self, loss: float, params, record: bool = True) -> bool:
        if record:  # else only a candidate for the best
            self.scores.append(loss)
        self.count = 0 if loss < self.best - self.tol else self.count + 1
        if loss < self.best:
            self.best, self.best_params = loss, params
        return self.count >= self.patience


def validated(stall, validation, w, b, *, record: bool = True) -> bool:
    """``stall.update`` with the held-out loss at ``w, b``: whether it has
    stopped improving (``False`` without a ``validation`` problem). With
    ``record=False``, ``w, b`` is only a candidate for the best iterate."""
    if validation is None:
        return False
    return stall.update(validation.value(w, b), (w, b), record=record)


def dot(a, b) -> float:
    """The inner product of two parameter arrays (or floats): for NumPy's,
    :func:`~sklearn_gd_logreg._xp.flat_dot` (without BLAS's threads, whose spin
    would take the cores from the twin's). Another library's arrays are
    multiplied on their device, and the float read back."""
    if type(a) is np.ndarray and type(b) is np.ndarray:  # fast, the common case
        return flat_dot(a, b)
    if isinstance(a, float) and isinstance(b, float):  # NumPy's intercepts, K = 1
        return float(a * b)
    xp = namespace(a, b)
    if not is_numpy(xp):
        return float(xp.sum(a * b))
    return flat_dot(a, b)


def dots(*pairs) -> list[float]:
    """Sums of :func:`dot` of consecutive ``pairs`` of pairs (the weights'
    and the intercept's parts of one inner product): ``dot(*pairs[0]) +
    dot(*pairs[1])``, ... For another library's arrays, all computed on
    the device and read back at once."""
    xp = namespace(*(a for pair in pairs for a in pair))
    if is_numpy(xp):
        dots = [dot(a, b) for a, b in pairs]
    else:
        dev = device(pairs[0][0])
        parts = [xp.sum(xp.asarray(a * b, device=dev)) for a, b in pairs]
        dots = [float(v) for v in to_numpy(xp.stack(parts))]
    return [dots[k] + dots[k + 1] for k in range(0, len(dots), 2)]


class Pending:
    """Iterations of ``"gd"`` (rounds of a line search) whose scalars (each
    a 0-d array on the device) are not read back yet: ``add`` one, ``read``
    all their values in one transfer, as rows of floats. ``iterates`` are
    their ``(w, b)`` (what the round needs kept), ``best`` the one that met
    ``tol``, once found."""

    def __init__(self, xp, device):
        self.xp, self.device = xp, device
        self.scalars: list = []
        self.iterates: list = []
        self.best = None

    def add(self, scalars, iterate) -> None:
        self.scalars.append(scalars)
        self.iterates.append(iterate)

    def read(self) -> list[tuple[float, ...]]:
        xp, device = self.xp, self.device
        rows = [
            xp.stack([xp.asarray(v, device=device) for v in row])
            for row in self.scalars
        ]
        self.scalars = []
        values = to_numpy(xp.stack(rows))  # one transfer
        return [tuple(float(v) for v in row) for row in values]


def shorter(step, finite, squared, curvature, learning_rate, k) -> float:
    """The next trial of a line search after ``step`` was refused: divided
    by 65536 when its objective overflowed (a step far too long), the one
    the measured curvature allows when it failed the curvature test by more
    than 1024 times, else half. Underflow to 0 reports divergence."""
    if not finite:
        step /= 65536
    elif curvature > 1024 * squared / (2 * step):  # far too long
        step = squared / (2 * curvature)
    else:
        step /= 2
    if step == 0.0:  # underflow: no step is short enough
        diverged(learning_rate, k, "the line search found no step")
    return step


def shorter_on_device(xp, step, finite, squared, curvature):
    """:func:`shorter` for 0-d arrays on a device, with the same arithmetic
    (its underflow to 0 is for the caller to read back and report)."""
    far_too_long = curvature > 1024 * squared / (2 * step)
    cut = xp.where(far_too_long, squared / (2 * curvature), step / 2)
    return xp.where(finite, cut, step / 65536)
