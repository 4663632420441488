"""Why a fit stopped at ``max_iter``: the measured causes, with their fixes.

Run only when the ``ConvergenceWarning`` is raised, for at most about one
pass over the data: the column scales and the Lipschitz constant ``L`` are
measured on the subsample of the ``"auto"`` step (every ``stride``-th sample,
about a tenth of a large data set), and the distance from stationarity is
the solver's own last measure (one gradient, where it has none: ``"sgd"``,
``early_stopping``).
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import scipy.sparse as sp

from sklearn_gd_logreg import _dask
from sklearn_gd_logreg._solvers import LINE_SEARCH
from sklearn_gd_logreg._solvers._sgd import uniform_loss
from sklearn_gd_logreg._step_size import _name, problem_step
from sklearn_gd_logreg._xp import namespace, to_numpy

SCALE_RATIO = 100.0  # column scales this far apart slow gradient descent
STEP_RATIO = 10.0  # a fixed step this far below 1/L is "far below"
TAIL = 0.1  # the share of the last iterations whose progress is reported


def diagnose(estimator, step: float, problem, result) -> list[str]:
    """The measured causes of a fit of ``estimator`` that used up
    ``max_iter`` on ``problem``, each a sentence with its fix.

    The first says how far from stationarity it stopped; then, where
    measured: features on very different scales, a fixed ``learning_rate``
    far below the stable step ``1 / L``, and slow progress.
    """
    solver = estimator.solver
    optimality = result.optimality
    if not math.isfinite(optimality):  # "sgd", or the best of early stopping
        with np.errstate(all="ignore"):
            _, grads = problem.loss_and_grad(result.w, result.b)
        optimality = problem.optimality(result.w, grads, step)
    causes = [
        f"it stopped with a largest gradient entry of {optimality:.3g}"
        + (f", {optimality / estimator.tol:.3g} x tol." if estimator.tol else ".")
    ]
    low, high = _column_scales(problem.X)
    if high >= SCALE_RATIO * low:
        causes.append(
            "Features on very different scales: the largest |x| of a column "
            f"ranges from {low:.3g} to {high:.3g} (ratio {high / low:.3g}); "
            "scale them with StandardScaler (MaxAbsScaler for sparse X)."
        )
    if estimator.learning_rate != "auto" and solver not in LINE_SEARCH:
        try:
            stable = problem_step(problem)
        except ValueError as error:  # 1/L underflows: features too large
            causes.append(str(error))
        else:
            if stable >= STEP_RATIO * step:
                causes.append(
                    f"learning_rate={estimator.learning_rate!r} is "
                    f"{stable / step:.3g} x below the stable step 1/L = "
                    f"{stable:.3g}: use learning_rate='auto'."
                )
    if result.step_too_long:  # measured by "sgd" on the model it returns
        causes.append(
            f"The loss stalled above the {uniform_loss(problem):.3g} of a "
            "model that gives every class the same probability: the step of "
            f"{step:.3g} is too long for these data; lower learning_rate"
            + (
                " or use learning_rate='auto'."
                if estimator.learning_rate != "auto"
                else "."
            )
        )
        return causes  # not slow: more epochs would not help
    curve = result.loss_curve
    tail = max(1, int(TAIL * len(curve)))
    recent = curve[-tail - 1 :]
    # a step below 2 / L never raises gd's cost by more than its rounding
    # (float32's: ~1e-7 of it)
    eps = np.finfo(_name(result.w.dtype)).eps
    rises = solver == "gd" and sum(
        b > a + 64 * eps * abs(a) for a, b in pairwise(recent)
    )
    if rises:
        causes.append(
            f"The cost rose in {rises} of the last {len(recent) - 1} iterations: "
            f"the step of {step:.3g} is too long for these data"
            + (
                " (the 'auto' step's 1 / L, estimated on every few samples, "
                "missed rows that curve the loss more)"
                if estimator.learning_rate == "auto"
                else ""
            )
            + "; use a smaller learning_rate, or solver='nesterov' or 'bb', "
            "whose line search adapts the step."
        )
        return causes  # not slow: more iterations would not help
    if len(curve) > tail and curve[-tail - 1] >= curve[-1]:  # slow, not rising
        before = curve[-tail - 1]
        fall, share = (
            before - curve[-1],
            100 * (before - curve[-1]) / (abs(before) or 1),
        )
        unit = "epoch" if solver == "sgd" else "iteration"
        causes.append(
            f"Slow progress: the cost fell by {fall:.3g} "
            f"({share:.2g} %) over the last "
            f"{tail} of {len(curve)} {unit}s, as on a poorly conditioned problem; "
            + (
                "solver='bb' or 'nesterov' needs far fewer iterations."
                if solver not in LINE_SEARCH
                else "a larger alpha conditions it better."
            )
        )
    return causes


def _column_scales(X) -> tuple[float, float]:
    """The smallest and largest ``max |x|`` of the nonzero columns (features,
    rows of the core's ``X``), on the ``"auto"`` step's subsample."""
    if _dask.holds(X):  # one pass over the chunks, each on its worker
        import dask

        chunks = [dask.delayed(_row_scales)(c) for c in X.rows.to_delayed().ravel()]
        with _dask.on_workers():
            return _extremes(np.max(dask.compute(*chunks), axis=0))
    stride = max(1, X.shape[1] // max(1000, X.shape[1] // 10))
    X = X[:, ::stride]
    if sp.issparse(X):
        largest = np.asarray(abs(X).max(axis=1).todense()).ravel()
    elif not isinstance(X, np.ndarray):  # another library's: on its device
        xp = namespace(X)
        largest = to_numpy(xp.maximum(xp.max(X, axis=1), -xp.min(X, axis=1)))
    else:  # no temporary copy of X
        largest = np.maximum(X.max(axis=1), -X.min(axis=1))
    return _extremes(largest)


def _row_scales(rows) -> np.ndarray:
    """``max |x|`` of each column of a chunk of rows (dense or CSR); 0 for
    a chunk of no rows (an empty partition)."""
    if rows.shape[0] == 0:
        return np.zeros(rows.shape[1])
    if sp.issparse(rows):
        return np.asarray(abs(rows).max(axis=0).todense()).ravel()
    return np.max(np.abs(rows), axis=0)


def _extremes(largest) -> tuple[float, float]:
    """The smallest and largest of the positive column scales."""
    largest = largest[largest > 0]
    if len(largest) < 2:
        return 1.0, 1.0
    return float(largest.min()), float(largest.max())
