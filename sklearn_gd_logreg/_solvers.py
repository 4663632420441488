"""Solvers: variants of the course's ``optimize`` loop, swapped by name.

Each solver minimises ``F(w, b) = f(w, b) + l1 ||w||_1`` where ``f`` is the
smooth, L2-penalised weighted mean log-loss of
:func:`sklearn_gd_logreg.core.propagate`, and returns a :class:`Result`.
They share one signature and differ only in their loop:

- ``"gd"``: the course's gradient descent with a fixed step
  (:func:`sklearn_gd_logreg.core.optimize`), a proximal step for L1.
  Unit of ``n_iter``: one gradient step.
- ``"nesterov"``: accelerated proximal gradient (FISTA) with a backtracking
  line search and adaptive restart. Unit: one accepted step.
- ``"sgd"``: proximal mini-batch stochastic gradient descent over shuffled
  batches, with a decaying step. Unit: one epoch (one pass over the data).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sklearn_gd_logreg import _gradient, core

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


def gd(
    w,
    b,
    X,
    Y,
    *,
    sample_weight,
    penalty,
    fit_intercept,
    learning_rate,
    max_iter,
    tol,
    verbose,
    **_,
):
    """The course's gradient descent (ISTA when ``penalty.l1 > 0``)."""
    params, grads, costs = core.optimize(
        w,
        b,
        X,
        Y,
        num_iterations=max_iter,
        learning_rate=learning_rate,
        print_cost=verbose > 0,
        sample_weight=sample_weight,
        alpha=penalty.l2,
        l1=penalty.l1,
        fit_intercept=fit_intercept,
        tol=tol,
        cost_every=1,
    )
    n_iter = len(costs)
    converged = n_iter < max_iter
    if not converged:  # did the last step land on the minimum?
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            grads, cost = core.propagate(
                params["w"],
                params["b"],
                X,
                Y,
                sample_weight=sample_weight,
                alpha=penalty.l2,
            )
        if not np.isfinite(cost):
            core._diverged(learning_rate, n_iter)
        step = _stationarity(params["w"], grads, learning_rate, penalty, fit_intercept)
        converged = step <= tol
    return Result(params["w"], params["b"], n_iter, costs, converged, learning_rate)


@_gradient.one_blas_thread()  # the gradient's threads use the cores
def nesterov(
    w,
    b,
    X,
    Y,
    *,
    sample_weight,
    penalty,
    fit_intercept,
    learning_rate,
    max_iter,
    tol,
    verbose,
    growth=None,
    **_,
):
    """Accelerated proximal gradient with backtracking and adaptive restart.

    From the extrapolated point ``y``, a proximal gradient step of size
    ``step`` gives ``x_new``; the step is halved until ``<grad f(x_new) -
    grad f(y), d> <= ||d||^2 / (2 step)`` with ``d = x_new - y``, which (``f``
    being convex) implies the sufficient decrease ``f(x_new) <= f(y) +
    <grad f(y), d> + ||d||^2 / (2 step)`` and stays exact near the minimum,
    where values of ``f`` differ by less than their rounding. So it cannot
    diverge. Each iteration starts from the
    last accepted step times ``growth``: ``1 / L`` bounds the curvature of
    the whole space, and near the minimum the log-loss is much flatter. The
    momentum follows FISTA with varying steps, ``t_{k+1} = (1 + sqrt(1 + 4
    t_k^2 step_k / step_{k+1})) / 2``, and is reset (O'Donoghue and Candès,
    2015) when the objective goes up or when the step and the momentum
    disagree, ``<y - x_new, x_new - x> > 0``. Each iteration costs one
    gradient at ``x_new`` (for the test) and one at ``y`` (none after a
    restart, where ``y = x_new``).
    """

    def evaluate(w, b):
        return core.propagate(w, b, X, Y, sample_weight=sample_weight, alpha=penalty.l2)

    step = learning_rate
    x_w, x_b = w, b
    y_w, y_b = w, b
    t = 1.0
    costs: list[float] = []
    converged = False
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        grads_y, f_y = evaluate(y_w, y_b)
        if not np.isfinite(f_y):
            core._diverged(learning_rate, 0)
        F_x = f_y + penalty.l1_value(y_w)
        for k in range(max_iter):
            if _stationarity(y_w, grads_y, step, penalty, fit_intercept) <= tol:
                x_w, x_b = y_w, y_b
                costs.append(f_y + penalty.l1_value(y_w))
                converged = True
                break
            previous_step, step = step, step * (GROWTH if growth is None else growth)
            while True:
                new_w = y_w - step * grads_y["dw"]
                if penalty.l1:
                    new_w = core.soft_threshold(new_w, step * penalty.l1)
                new_b = y_b - step * grads_y["db"] if fit_intercept else y_b
                grads_new, f_new = evaluate(new_w, new_b)
                d_w, d_b = new_w - y_w, np.subtract(new_b, y_b)
                # The curvature along the step, from the two gradients. By
                # convexity, <g(x_new) - g(y), d> <= |d|^2 / (2 step) implies
                # f(x_new) <= f(y) + <g(y), d> + |d|^2 / (2 step), and unlike
                # that test it does not subtract nearly equal values of f.
                curvature = np.vdot(grads_new["dw"] - grads_y["dw"], d_w) + np.vdot(
                    np.subtract(grads_new["db"], grads_y["db"]), d_b
                )
                # A step whose scores overflow has no finite f: halve it too.
                if np.isfinite(f_new) and curvature <= (
                    np.vdot(d_w, d_w) + np.vdot(d_b, d_b)
                ) / (2 * step):
                    break
                step /= 2
                if step < 1e-30 * learning_rate:
                    core._diverged(learning_rate, k)
            F_new = f_new + penalty.l1_value(new_w)
            costs.append(F_new)
            if verbose and k % 100 == 0:
                print(f"Cost after iteration {k}: {F_new:f}")
            disagree = np.vdot(y_w - new_w, new_w - x_w) + np.vdot(
                np.subtract(y_b, new_b), np.subtract(new_b, x_b)
            )
            if F_new > F_x or disagree > 0:
                t = 1.0
                y_w, y_b, grads_y, f_y = new_w, new_b, grads_new, f_new
            else:
                t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t * previous_step / step)) / 2
                beta = (t - 1.0) / t_next
                t = t_next
                y_w = new_w + beta * (new_w - x_w)
                y_b = new_b + beta * (new_b - x_b) if fit_intercept else new_b
                if beta == 0.0:
                    grads_y, f_y = grads_new, f_new
                else:
                    grads_y, f_y = evaluate(y_w, y_b)
            x_w, x_b, F_x = new_w, new_b, F_new
        if not converged:  # is the last iterate, whose gradient we have, done?
            converged = (
                _stationarity(x_w, grads_new, step, penalty, fit_intercept) <= tol
            )
    return Result(x_w, x_b, len(costs), costs, converged, step)


@_gradient.one_blas_thread()  # the gradient's threads use the cores
def sgd(
    w,
    b,
    X,
    Y,
    *,
    sample_weight,
    penalty,
    fit_intercept,
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
    validation=None,
    **_,
):
    """Proximal mini-batch SGD: up to ``max_iter`` epochs of shuffled batches.

    A batch ``B`` steps along ``(sum_B s_i g_i) / (|B| * mean(s)) + l2 w``,
    an unbiased estimate of the full gradient (so that a batch of small
    weights makes a small step), then applies the L1 proximal step. The step
    size is ``learning_rate`` (``schedule="constant"``), ``learning_rate /
    (1 + e) ** power_t`` (``"invscaling"``, ``e`` the epochs seen so far,
    fractional within an epoch), or ``"adaptive"``: constant, divided by 5
    each time the loss stalls. The loss of an epoch is the weighted mean of
    its batches' log-losses, each taken before its update, plus the penalty
    at the epoch's end. With ``tol``, the loss (or, with ``validation = (X,
    Y, sample_weight)``, the log-loss there) stalls when it has not improved
    by ``tol`` for ``n_iter_no_change`` epochs; training then stops (for
    ``"adaptive"``, once the step is a millionth of ``learning_rate``). With
    ``validation`` the best weights seen are returned.
    """
    m = X.shape[1]
    n_batches = math.ceil(m / batch_size)
    mean_weight = float(sample_weight.sum()) / m
    costs: list[float] = []
    scores: list[float] = []
    best, best_params, stall, shrink = math.inf, (w, b), 0, 1.0
    converged = False
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(max_iter):
            order = random_state.permutation(m)
            total, weight = 0.0, 0.0
            for start in range(0, m, batch_size):
                batch = order[start : start + batch_size]
                sw = sample_weight[batch]
                batch_weight = float(sw.sum())
                eta = learning_rate * shrink
                if schedule == "invscaling":
                    eta = eta / (1.0 + epochs_seen) ** power_t
                epochs_seen += 1.0 / n_batches
                dw = penalty.l2 * w
                if batch_weight > 0.0:  # else only the penalty's step
                    grads, cost = core.propagate(
                        w, b, X[:, batch], Y[:, batch], sample_weight=sw
                    )
                    if not np.isfinite(cost):
                        core._diverged(learning_rate, epoch)
                    total += cost * batch_weight
                    weight += batch_weight
                    scale = batch_weight / (len(batch) * mean_weight)
                    dw = dw + scale * grads["dw"]
                    if fit_intercept:
                        b = b - eta * scale * grads["db"]
                w = w - eta * dw
                if penalty.l1:
                    w = core.soft_threshold(w, eta * penalty.l1)
            loss = total / weight + penalty.value(w)
            if not np.isfinite(loss):
                core._diverged(learning_rate, epoch)
            costs.append(loss)
            if verbose:
                print(f"Epoch {epoch + 1}: loss {loss:f}")
            current = loss
            if validation is not None:
                X_val, Y_val, sw_val = validation
                _, current = core.propagate(w, b, X_val, Y_val, sample_weight=sw_val)
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
        w, b, len(costs), costs, converged, learning_rate, epochs_seen, scores
    )


def _stationarity(w, grads, step, penalty, fit_intercept):
    return core.stationarity(w, grads, step, l1=penalty.l1, fit_intercept=fit_intercept)


SOLVERS = {"gd": gd, "nesterov": nesterov, "sgd": sgd}
