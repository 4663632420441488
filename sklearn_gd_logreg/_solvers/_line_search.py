"""The solvers whose step adapts by a line search: ``"nesterov"`` (FISTA with
backtracking and adaptive restart) and ``"bb"`` (Barzilai-Borwein steps with
a nonmonotone line search, SpaRSA)."""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from sklearn_gd_logreg import core
from sklearn_gd_logreg._divergence import check_finite, diverged
from sklearn_gd_logreg._problem import Problem
from sklearn_gd_logreg._solvers._base import (
    GROWTH,
    MAX_STEP,
    MEMORY,
    SIGMA,
    TRIALS,
    Result,
    Stall,
    dots,
    finish,
    shorter,
    validated,
)
from sklearn_gd_logreg._solvers._line_search_device import (
    bb_on_device,
    nesterov_on_device,
)
from sklearn_gd_logreg._xp import is_numpy, namespace


def nesterov(
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
    growth=GROWTH,
    monitor=None,
) -> Result:
    """Accelerated proximal gradient with backtracking and adaptive restart.

    From the extrapolated point ``y``, a proximal gradient step of size
    ``step`` gives ``x_new``; the step is halved until ``<grad f(x_new) -
    grad f(y), d> <= ||d||^2 / (2 step)`` with ``d = x_new - y``, which (``f``
    being convex) implies the sufficient decrease ``f(x_new) <= f(y) +
    <grad f(y), d> + ||d||^2 / (2 step)`` and stays exact near the minimum,
    where values of ``f`` differ by less than their rounding. So it cannot
    diverge. Each iteration starts from the last accepted step times
    ``growth``: ``1 / L`` bounds the curvature of the whole space, and near
    the minimum the log-loss is much flatter. The momentum follows FISTA with
    varying steps, ``t_{k+1} = (1 + sqrt(1 + 4 t_k^2 step_k / step_{k+1})) /
    2``, and is reset (O'Donoghue and Candès, 2015) when the objective goes up
    or when the step and the momentum disagree, ``<y - x_new, x_new - x> >
    0``. Each iteration costs one gradient at ``x_new`` (for the test) and one
    at ``y`` (none after a restart, where ``y = x_new``). Every loop ends: a
    step never grows past ``MAX_STEP``, a step that fails the test by more
    than 1024 times is replaced by the one the measured curvature allows
    (one whose objective overflows is divided by 65536), so that even a
    first step of 1e308 takes a few dozen trials, and a line search that finds no
    step in ``TRIALS`` reports divergence. With a ``validation`` problem, it
    also stops when the validation loss has reached no new minimum for
    ``n_iter_no_change`` iterations (:class:`Stall`) and returns the best
    iterate there (or the start, if none is better).

    On another library's arrays, unless something watches each iteration,
    the line search is decided on the device (:func:`nesterov_on_device`).
    """
    if _on_device(w, monitor, validation, verbose):
        return nesterov_on_device(
            problem,
            w,
            b,
            learning_rate=learning_rate,
            max_iter=max_iter,
            tol=tol,
            growth=growth,
        )
    penalty = problem.penalty
    step, t = learning_rate, 1.0
    x_w, x_b = y_w, y_b = w, b
    curve: list[float] = []
    stall = None
    if validation is not None:  # the start is the best until beaten
        stall = Stall(0.0, n_iter_no_change, (w, b), validation.value(w, b))
    converged, stopped, optimality = False, False, math.nan
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        f_y, g_y = problem.loss_and_grad(y_w, y_b)
        check_finite(f_y, learning_rate, 0)
        F_x = f_y + penalty.nonsmooth(y_w)
        for k in range(max_iter):
            if monitor is not None:
                monitor.begin("iteration", x_w, x_b)
            if problem.optimality(y_w, g_y, min(step, learning_rate)) <= tol:
                x_w, x_b = y_w, y_b
                curve.append(f_y + penalty.nonsmooth(y_w))
                validated(stall, validation, y_w, y_b)
                converged = True
                if monitor is not None:
                    monitor.end(y_w, y_b, curve[-1], step, g_y)
                break
            previous_step, step = step, min(step * growth, MAX_STEP)
            for _ in range(TRIALS):
                new_w = penalty.prox(y_w - step * g_y["dw"], step)
                new_b = y_b - step * g_y["db"]  # db is 0 without an intercept
                f_new, g_new = problem.loss_and_grad(new_w, new_b)
                d_w, d_b = new_w - y_w, new_b - y_b
                # The curvature along the step, from the two gradients. By
                # convexity, <g(x_new) - g(y), d> <= |d|^2 / (2 step) implies
                # f(x_new) <= f(y) + <g(y), d> + |d|^2 / (2 step), and unlike
                # that test it does not subtract nearly equal values of f.
                curvature, squared = dots(  # one read-back from a device
                    (g_new["dw"] - g_y["dw"], d_w),
                    (g_new["db"] - g_y["db"], d_b),
                    (d_w, d_w),
                    (d_b, d_b),
                )
                finite = np.isfinite(f_new + squared + curvature)
                if finite and curvature <= squared / (2 * step):
                    break
                step = shorter(step, finite, squared, curvature, learning_rate, k)
            else:
                diverged(learning_rate, k, "the line search found no step")
            F_new = f_new + penalty.nonsmooth(new_w)
            curve.append(F_new)
            if verbose and k % 100 == 0:
                core.show_cost(k, F_new)
            # scored before a callback may stop here: it may be the best
            stalled = validated(stall, validation, new_w, new_b)
            if monitor is not None and monitor.end(new_w, new_b, F_new, step, g_y):
                x_w, x_b, stopped = new_w, new_b, True
                break
            if stalled:
                x_w, x_b, converged = new_w, new_b, True
                break
            (disagree,) = dots((y_w - new_w, new_w - x_w), (y_b - new_b, new_b - x_b))
            # (t_next overflows only after a first step ~1e300 times too long)
            t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t * previous_step / step)) / 2
            if F_new > F_x or disagree > 0 or t_next == math.inf:
                t = 1.0
                y_w, y_b, g_y, f_y = new_w, new_b, g_new, f_new
            else:
                beta = (t - 1.0) / t_next
                t = t_next
                y_w = new_w + beta * (new_w - x_w)
                y_b = new_b + beta * (new_b - x_b)
                if beta == 0.0:
                    g_y, f_y = g_new, f_new
                else:
                    f_y, g_y = problem.loss_and_grad(y_w, y_b)
            x_w, x_b, F_x = new_w, new_b, F_new
        if not converged:  # is the last iterate, whose gradient we have, done?
            optimality = problem.optimality(x_w, g_new, min(step, learning_rate))
            converged = optimality <= tol
    return finish(x_w, x_b, curve, converged, step, stall, stopped, optimality)


def bb(
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
    """Proximal gradient descent with Barzilai-Borwein steps and a
    nonmonotone line search (SpaRSA: Wright, Nowak and Figueiredo, 2009).

    Each iteration is one proximal gradient step from ``x``, of the size the
    last step measured: ``|s|^2 / <s, r>`` and ``<s, r> / |r|^2`` in turn
    (BB1 and BB2), for the last step ``s`` and the change ``r`` of the
    gradient along it, the inverse of the curvature seen between the two
    points. A step is accepted when its objective is below the highest of
    the last ``MEMORY`` by ``SIGMA |d|^2 / (2 step)``, or when it passes
    :func:`nesterov`'s curvature test (which implies a decrease, and stays
    exact near the minimum where values of ``f`` differ by less than their
    rounding); else it is halved (or cut as :func:`nesterov` cuts one far
    too long). So an iteration costs one gradient unless a step is refused,
    and the objective may rise for a few iterations, never above the
    highest of the last ``MEMORY``. ``learning_rate`` is the first step.
    Stops when ``problem.optimality <= tol``; with a ``validation`` problem,
    also as :func:`nesterov`. On another library's arrays, as
    :func:`nesterov`'s, decided on the device (:func:`bb_on_device`).
    """
    if _on_device(w, monitor, validation, verbose):
        return bb_on_device(
            problem, w, b, learning_rate=learning_rate, max_iter=max_iter, tol=tol
        )
    penalty = problem.penalty
    step = accepted = learning_rate
    curve: list[float] = []
    stall = None
    if validation is not None:  # the start is the best until beaten
        stall = Stall(0.0, n_iter_no_change, (w, b), validation.value(w, b))
    converged, stopped, optimality = False, False, math.nan
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        f, g = problem.loss_and_grad(w, b)
        check_finite(f, learning_rate, 0)
        recent = deque([f + penalty.nonsmooth(w)], maxlen=MEMORY)
        for k in range(max_iter):
            if monitor is not None:
                monitor.begin("iteration", w, b)
            # With L1 the gradient mapping shrinks as its step grows: measured
            # at the first step (1/L for "auto"), not at a long BB step.
            optimality = problem.optimality(w, g, min(step, learning_rate))
            if optimality <= tol:
                converged = True
                curve.append(recent[-1])  # an iteration that takes no step
                validated(stall, validation, w, b)
                if monitor is not None:
                    monitor.end(w, b, recent[-1], step, g)
                break
            highest = max(recent)
            for _ in range(TRIALS):
                new_w = penalty.prox(w - step * g["dw"], step)
                new_b = b - step * g["db"]  # db is 0 without an intercept
                f_new, g_new = problem.loss_and_grad(new_w, new_b)
                F_new = f_new + penalty.nonsmooth(new_w)
                d_w, d_b = new_w - w, new_b - b
                r_w, r_b = g_new["dw"] - g["dw"], g_new["db"] - g["db"]
                curvature, squared, gradient_change = dots(  # one read-back
                    (r_w, d_w),
                    (r_b, d_b),
                    (d_w, d_w),
                    (d_b, d_b),
                    (r_w, r_w),
                    (r_b, r_b),
                )
                finite = np.isfinite(F_new + squared + curvature)
                if finite and (
                    F_new <= highest - SIGMA * squared / (2 * step)
                    or curvature <= squared / (2 * step)
                ):
                    break
                step = shorter(step, finite, squared, curvature, learning_rate, k)
            else:
                diverged(learning_rate, k, "the line search found no step")
            curve.append(F_new)
            recent.append(F_new)
            if verbose and k % 100 == 0:
                core.show_cost(k, F_new)
            # scored before a callback may stop here: it may be the best
            stalled = validated(stall, validation, new_w, new_b)
            if monitor is not None and monitor.end(new_w, new_b, F_new, step, g):
                w, b, g, stopped = new_w, new_b, g_new, True
                break
            if stalled:
                w, b, g, converged = new_w, new_b, g_new, True
                break
            accepted = step
            bb_step = math.nan  # BB1, BB2 in turn, where curvature was seen
            if curvature > 0.0 and squared > 0.0:
                if k % 2:
                    bb_step = squared / curvature
                elif gradient_change > 0.0:  # |r|^2 may underflow to 0
                    bb_step = curvature / gradient_change
            if 0.0 < bb_step < math.inf:
                step = min(bb_step, MAX_STEP)
            else:  # none seen (rounding), or |r|^2 overflowed: a longer step
                step = min(step * GROWTH, MAX_STEP)
            w, b, f, g = new_w, new_b, f_new, g_new
        if not converged and not stopped:  # is the last iterate done?
            optimality = problem.optimality(w, g, min(step, learning_rate))
            converged = optimality <= tol
    return finish(w, b, curve, converged, accepted, stall, stopped, optimality)


def _on_device(w, monitor, validation, verbose) -> bool:
    """Whether to decide the line search on the device: another library's
    arrays, and nothing that must see each iteration (as ``"gd"``'s
    :class:`~._base.Pending`)."""
    quiet = monitor is None and validation is None and not verbose
    return quiet and not is_numpy(namespace(w))
