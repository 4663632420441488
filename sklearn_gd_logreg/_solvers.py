"""Solvers: variants of the course's ``optimize`` loop, swapped by name.

Each minimises a :class:`~sklearn_gd_logreg._problem.Problem`, ``F(w, b) =
f(w, b) + penalty.nonsmooth(w)``, from ``w, b``, and returns a
:class:`Result`. They only combine the problem's ``loss_and_grad`` and
``optimality`` with the penalty's ``prox``; one loop each:

- ``"gd"``: the course's gradient descent, :func:`sklearn_gd_logreg.core.optimize`
  itself, with the proximal step for L1. Unit of ``n_iter``: one gradient.
- ``"nesterov"``: accelerated proximal gradient (FISTA) with a backtracking
  line search and adaptive restart. Unit: one accepted step.
- ``"sgd"``: proximal mini-batch stochastic gradient descent over shuffled
  batches, with a decaying step. Unit: one epoch (one pass over the data).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sklearn_gd_logreg import core
from sklearn_gd_logreg._problem import Problem

GROWTH = 1.25  # "nesterov": each iteration first tries 1.25 x the last step


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


def gd(problem: Problem, w, b, *, learning_rate, max_iter, tol, verbose) -> Result:
    """The course's gradient descent (ISTA when the penalty has an L1 part),
    stopping when ``problem.optimality <= tol``."""
    curve: list[float] = []
    converged = False

    def record(i, w, b, f, grads):
        nonlocal converged
        curve.append(f + problem.penalty.nonsmooth(w))
        if verbose and i % 100 == 0:
            core.show_cost(i, curve[-1])
        converged = problem.optimality(w, grads, learning_rate) <= tol
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
        callback=record,
    )
    w, b = params["w"], params["b"]
    if not converged:  # did the last step land on the minimum?
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            f, grads = problem.loss_and_grad(w, b)
        core.check_finite(f, learning_rate, max_iter)
        converged = problem.optimality(w, grads, learning_rate) <= tol
    return Result(w, b, len(curve), curve, converged, learning_rate)


def nesterov(
    problem: Problem, w, b, *, learning_rate, max_iter, tol, verbose, growth=GROWTH
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
    at ``y`` (none after a restart, where ``y = x_new``).
    """
    penalty = problem.penalty
    step, t = learning_rate, 1.0
    x_w, x_b = y_w, y_b = w, b
    curve: list[float] = []
    converged = False
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        f_y, g_y = problem.loss_and_grad(y_w, y_b)
        core.check_finite(f_y, learning_rate, 0)
        F_x = f_y + penalty.nonsmooth(y_w)
        for k in range(max_iter):
            if problem.optimality(y_w, g_y, step) <= tol:
                x_w, x_b = y_w, y_b
                curve.append(f_y + penalty.nonsmooth(y_w))
                converged = True
                break
            previous_step, step = step, step * growth
            while True:
                new_w = penalty.prox(y_w - step * g_y["dw"], step)
                new_b = y_b - step * g_y["db"]  # db is 0 without an intercept
                f_new, g_new = problem.loss_and_grad(new_w, new_b)
                d_w, d_b = new_w - y_w, np.subtract(new_b, y_b)
                # The curvature along the step, from the two gradients. By
                # convexity, <g(x_new) - g(y), d> <= |d|^2 / (2 step) implies
                # f(x_new) <= f(y) + <g(y), d> + |d|^2 / (2 step), and unlike
                # that test it does not subtract nearly equal values of f.
                curvature = _dot(g_new["dw"] - g_y["dw"], d_w) + _dot(
                    np.subtract(g_new["db"], g_y["db"]), d_b
                )
                # A step whose scores overflow has no finite f: halve it too.
                if np.isfinite(f_new) and curvature <= (
                    _dot(d_w, d_w) + _dot(d_b, d_b)
                ) / (2 * step):
                    break
                step /= 2
                if step < 1e-30 * learning_rate:
                    core.diverged(learning_rate, k)
            F_new = f_new + penalty.nonsmooth(new_w)
            curve.append(F_new)
            if verbose and k % 100 == 0:
                core.show_cost(k, F_new)
            disagree = _dot(y_w - new_w, new_w - x_w) + _dot(
                np.subtract(y_b, new_b), np.subtract(new_b, x_b)
            )
            if F_new > F_x or disagree > 0:
                t = 1.0
                y_w, y_b, g_y, f_y = new_w, new_b, g_new, f_new
            else:
                t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t * previous_step / step)) / 2
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
            converged = problem.optimality(x_w, g_new, step) <= tol
    return Result(x_w, x_b, len(curve), curve, converged, step)


def sgd(
    problem: Problem,
    w,
    b,
    *,
    learning_rate,
    max_iter,
    tol,
    verbose,
    batch_size,
    schedule,
    power_t,
    random_state,
    n_iter_no_change,
    epochs_seen=0.0,
    validation: Problem | None = None,
) -> Result:
    """Proximal mini-batch SGD: up to ``max_iter`` epochs of shuffled batches.

    A batch ``B`` steps along ``(sum_B s_i g_i) / (|B| * mean(s)) + l2 w``,
    an unbiased estimate of the full gradient (so that a batch of small
    weights makes a small step), then takes the penalty's proximal step. The
    step size is ``learning_rate`` (``schedule="constant"``), ``learning_rate
    / (1 + e) ** power_t`` (``"invscaling"``, ``e`` the epochs seen so far,
    fractional within an epoch), or ``"adaptive"``: constant, divided by 5
    each time the loss stalls. The loss of an epoch is the weighted mean of
    its batches' log-losses, each taken before its update, plus the penalty
    at the epoch's end. With ``tol``, the loss (or, with a ``validation``
    problem, the log-loss there) stalls when it has not improved by ``tol``
    for ``n_iter_no_change`` epochs; training then stops (for
    ``"adaptive"``, once the step is a millionth of ``learning_rate``). With
    ``validation`` the best weights seen are returned.
    """
    penalty, m = problem.penalty, problem.n_samples
    n_batches = math.ceil(m / batch_size)
    mean_weight = float(problem.sample_weight.sum()) / m
    curve: list[float] = []
    scores: list[float] = []
    best, best_params, stall, shrink = math.inf, (w, b), 0, 1.0
    converged = False
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(max_iter):
            order = random_state.permutation(m)
            total, weight = 0.0, 0.0
            for start in range(0, m, batch_size):
                batch = problem.subset(order[start : start + batch_size])
                batch_weight = float(batch.sample_weight.sum())
                eta = learning_rate * shrink
                if schedule == "invscaling":
                    eta = eta / (1.0 + epochs_seen) ** power_t
                epochs_seen += 1.0 / n_batches
                dw = penalty.l2 * w
                if batch_weight > 0.0:  # else only the penalty's step
                    f, grads = batch.loss_and_grad(w, b)
                    core.check_finite(f, learning_rate, epoch)
                    total += f * batch_weight
                    weight += batch_weight
                    scale = batch_weight / (batch.n_samples * mean_weight)
                    dw = dw + scale * grads["dw"]
                    b = b - eta * scale * grads["db"]
                w = penalty.prox(w - eta * dw, eta)
            loss = total / weight + penalty.value(w)
            core.check_finite(loss, learning_rate, epoch)
            curve.append(loss)
            if verbose:
                core.show_cost(epoch, loss)
            current = loss
            if validation is not None:
                current = validation.value(w, b)
                scores.append(current)
            if tol is not None:
                stall = 0 if current < best - tol else stall + 1
            if current < best:
                best, best_params = current, (w, b)
            if tol is not None and stall >= n_iter_no_change:
                if schedule != "adaptive" or shrink < 1e-6:
                    converged = True
                    break
                shrink, stall = shrink / 5.0, 0
    if validation is not None:
        w, b = best_params
    return Result(
        w, b, len(curve), curve, converged, learning_rate, epochs_seen, scores
    )


def _dot(a, b) -> float:
    """The inner product of two parameter arrays (or floats), without BLAS
    and without a temporary: OpenBLAS threads even a vector's dot product
    from 10 000 entries on, and its threads then spin against the twin's
    (measured: 300 iterations of "nesterov" on the 209 x 12 288 images took
    4.4 s with np.vdot, 0.3 s without)."""
    return float(np.einsum("i,i->", np.ravel(a), np.ravel(b)))


SOLVERS = {"gd": gd, "nesterov": nesterov, "sgd": sgd}
