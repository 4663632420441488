"""``"gd"``: the course's gradient descent, :func:`sklearn_gd_logreg.core.optimize`
itself, with the proximal step for L1."""

from __future__ import annotations

import math

import numpy as np

from sklearn_gd_logreg import core
from sklearn_gd_logreg._divergence import check_finite, check_l2_step, diverged
from sklearn_gd_logreg._problem import Problem
from sklearn_gd_logreg._solvers._base import (
    SETTLE_EVERY,
    Pending,
    Result,
    Stall,
    finish,
    validated,
)
from sklearn_gd_logreg._xp import device, is_numpy, namespace


def gd(
    problem: Problem,
    w,
    b,
    *,
    learning_rate,
    max_iter,
    tol,
    verbose,
    validation: Problem | None = None,
    n_iter_no_change: int = 5,
    monitor=None,
) -> Result:
    """The course's gradient descent (ISTA when the penalty has an L1 part),
    stopping when ``problem.optimality <= tol``, or with a ``validation``
    problem when its loss has reached no new minimum for
    ``n_iter_no_change`` iterations (:class:`Stall`), returning the best
    iterate there. A step that makes the L2 part diverge is refused first
    (:func:`~sklearn_gd_logreg._divergence.check_l2_step`)."""
    check_l2_step(learning_rate, problem.penalty.l2)
    curve: list[float] = []
    stall = None if validation is None else Stall(0.0, n_iter_no_change, (w, b))
    converged, stopped, optimality, last_grads = False, False, math.nan, None
    xp = namespace(w)
    # On another library's arrays (a GPU's), the stopping test and the
    # divergence check wait for the device only once every SETTLE_EVERY
    # iterations (Pending), unless something must see each iteration.
    pending = None
    if not is_numpy(xp) and monitor is None and stall is None and not verbose:
        pending = Pending(xp, device(w))

    def settle(i):
        """Read the pending iterations back at once (to ``i``) and run their
        tests in order: stop at the first that meets ``tol``, at its
        iterate."""
        nonlocal converged, optimality
        first = i + 1 - len(pending.iterates)
        for k, (f, F, o) in enumerate(pending.read()):
            if not math.isfinite(f):  # as optimize would have, at first + k
                diverged(learning_rate, first + k)
            curve.append(F)
            optimality = o
            if o <= tol:
                converged, pending.best = True, pending.iterates[k]
                return True
        pending.iterates.clear()
        return False

    def record_pending(i, w, b, f, grads):
        o = problem.optimality(w, grads, learning_rate, to_float=False)
        pending.add((f, f + problem.penalty.nonsmooth(w, to_float=False), o), (w, b))
        if len(pending.iterates) == SETTLE_EVERY or i == max_iter - 1:
            return settle(i)
        return False

    def record(i, w, b, f, grads):
        nonlocal converged, stopped, optimality, last_grads
        # w, b is where iteration i - 1 led: it ends here (stop: no step i)
        if i and monitor is not None:
            stopped = monitor.end(w, b, curve[-1], learning_rate, last_grads)
            if stopped:  # as at the end: it may be the best
                validated(stall, validation, w, b, record=False)
                return True
        curve.append(f + problem.penalty.nonsmooth(w))
        if verbose and i % 100 == 0:
            core.show_cost(i, curve[-1])
        optimality = problem.optimality(w, grads, learning_rate)
        converged = optimality <= tol
        if validated(stall, validation, w, b):
            converged = True
        if monitor is not None:
            last_grads = grads
            monitor.begin("iteration", w, b)
        return converged

    params, _, _ = core.optimize(
        w,
        b,
        problem.X,
        problem.Y,
        num_iterations=max_iter,
        learning_rate=learning_rate,
        sample_weight=problem.sample_weight,
        alpha=problem.penalty.l2,
        fit_intercept=problem.fit_intercept,
        prox=problem.penalty.prox,
        cost_every=max_iter,
        callback=record if pending is None else record_pending,
        to_float=pending is None,
    )
    w, b = params["w"], params["b"]
    if pending is not None and pending.best is not None:  # met tol there
        w, b = pending.best
    if not converged and not stopped:  # did the last step land on the minimum?
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            f, grads = problem.loss_and_grad(w, b)
        check_finite(f, learning_rate, max_iter)
        optimality = problem.optimality(w, grads, learning_rate)
        converged = optimality <= tol
        # the last step's iterate may be the best
        validated(stall, validation, w, b, record=False)
    if monitor is not None and not stopped:  # the last iteration ends at w, b
        stopped = monitor.end(w, b, curve[-1], learning_rate, last_grads)
    return finish(w, b, curve, converged, learning_rate, stall, stopped, optimality)
