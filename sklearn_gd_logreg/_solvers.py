"""Solvers: variants of the course's ``optimize`` loop, swapped by name.

Each minimises a :class:`~sklearn_gd_logreg._problem.Problem`, ``F(w, b) =
f(w, b) + penalty.nonsmooth(w)``, from ``w, b``, and returns a
:class:`Result`. They only combine the problem's ``loss_and_grad`` and
``optimality`` with the penalty's ``prox``; one loop each:

- ``"gd"``: the course's gradient descent, :func:`sklearn_gd_logreg.core.optimize`
  itself, with the proximal step for L1. Unit of ``n_iter``: one gradient.
- ``"nesterov"``: accelerated proximal gradient (FISTA) with a backtracking
  line search and adaptive restart. Unit: one accepted step.
- ``"bb"``: proximal gradient descent with Barzilai-Borwein steps and a
  nonmonotone line search (SpaRSA). Unit: one accepted step.
- ``"sgd"``: proximal mini-batch stochastic gradient descent over shuffled
  batches, with a decaying step and optional averaging; its epochs
  (:mod:`._sgd_epochs`) run compiled. Unit: one epoch (one pass over the
  data).

A ``monitor`` (``None``: no call) has ``begin(name, w, b, n_subtasks=0)`` and
``end(w, b, cost, step, grads=None, data=None) -> bool``, called around each
iteration (each epoch, and in it each batch, of ``"sgd"``) with the iterate
reached, its cost, step and gradient; ``True`` stops there (``stopped``).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from sklearn_gd_logreg import core
from sklearn_gd_logreg._divergence import check_finite, check_l2_step, diverged
from sklearn_gd_logreg._problem import Problem
from sklearn_gd_logreg._sgd_epochs import (
    Iterate,
    compiled_epoch,
    compiles,
    python_epoch,
)
from sklearn_gd_logreg._xp import device, is_numpy, namespace, to_numpy

SETTLE_EVERY = 10  # "gd" on another library's arrays: iterations per read-back
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
    ``n_iter_no_change`` iterations (:class:`_Stall`), returning the best
    iterate there. A step that makes the L2 part diverge is refused first
    (:func:`~sklearn_gd_logreg._divergence.check_l2_step`)."""
    check_l2_step(learning_rate, problem.penalty.l2)
    curve: list[float] = []
    stall = None if validation is None else _Stall(0.0, n_iter_no_change, (w, b))
    converged, stopped, optimality, last_grads = False, False, math.nan, None
    xp = namespace(w)
    # On another library's arrays (a GPU's), the stopping test and the
    # divergence check wait for the device only once every SETTLE_EVERY
    # iterations (_Pending), unless something must see each iteration.
    pending = None
    if not is_numpy(xp) and monitor is None and stall is None and not verbose:
        pending = _Pending(xp, device(w))

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
            if stopped:
                return True
        curve.append(f + problem.penalty.nonsmooth(w))
        if verbose and i % 100 == 0:
            core.show_cost(i, curve[-1])
        optimality = problem.optimality(w, grads, learning_rate)
        converged = optimality <= tol
        if stall is not None and stall.update(validation.value(w, b), (w, b)):
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
        if stall is not None:  # the last step's iterate may be the best
            stall.update(validation.value(w, b), (w, b), record=False)
    if monitor is not None and not stopped:  # the last iteration ends at w, b
        stopped = monitor.end(w, b, curve[-1], learning_rate, last_grads)
    return _finish(w, b, curve, converged, learning_rate, stall, stopped, optimality)


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
    ``n_iter_no_change`` iterations (:class:`_Stall`) and returns the best
    iterate there (or the start, if none is better).
    """
    penalty = problem.penalty
    step, t = learning_rate, 1.0
    x_w, x_b = y_w, y_b = w, b
    curve: list[float] = []
    stall = None
    if validation is not None:  # the start is the best until beaten
        stall = _Stall(0.0, n_iter_no_change, (w, b), validation.value(w, b))
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
                if stall is not None:
                    stall.update(validation.value(y_w, y_b), (y_w, y_b))
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
                curvature, squared = _dots(  # one read-back from a device
                    (g_new["dw"] - g_y["dw"], d_w),
                    (g_new["db"] - g_y["db"], d_b),
                    (d_w, d_w),
                    (d_b, d_b),
                )
                finite = np.isfinite(f_new + squared + curvature)
                if finite and curvature <= squared / (2 * step):
                    break
                step = _shorter(step, finite, squared, curvature, learning_rate, k)
            else:
                diverged(learning_rate, k, "the line search found no step")
            F_new = f_new + penalty.nonsmooth(new_w)
            curve.append(F_new)
            if verbose and k % 100 == 0:
                core.show_cost(k, F_new)
            if monitor is not None and monitor.end(new_w, new_b, F_new, step, g_y):
                x_w, x_b, stopped = new_w, new_b, True
                break
            if stall is not None and stall.update(
                validation.value(new_w, new_b), (new_w, new_b)
            ):
                x_w, x_b, converged = new_w, new_b, True
                break
            (disagree,) = _dots((y_w - new_w, new_w - x_w), (y_b - new_b, new_b - x_b))
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
    return _finish(x_w, x_b, curve, converged, step, stall, stopped, optimality)


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
    also as :func:`nesterov`.
    """
    penalty = problem.penalty
    step = accepted = learning_rate
    curve: list[float] = []
    stall = None
    if validation is not None:  # the start is the best until beaten
        stall = _Stall(0.0, n_iter_no_change, (w, b), validation.value(w, b))
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
                if stall is not None:
                    stall.update(validation.value(w, b), (w, b))
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
                curvature, squared, gradient_change = _dots(  # one read-back
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
                step = _shorter(step, finite, squared, curvature, learning_rate, k)
            else:
                diverged(learning_rate, k, "the line search found no step")
            curve.append(F_new)
            recent.append(F_new)
            if verbose and k % 100 == 0:
                core.show_cost(k, F_new)
            if monitor is not None and monitor.end(new_w, new_b, F_new, step, g):
                w, b, g, stopped = new_w, new_b, g_new, True
                break
            if stall is not None and stall.update(
                validation.value(new_w, new_b), (new_w, new_b)
            ):
                w, b, g, converged = new_w, new_b, g_new, True
                break
            accepted = step
            bb_step = math.nan  # BB1, BB2 in turn, where curvature was seen
            if curvature > 0.0 and squared > 0.0:
                bb_step = squared / curvature if k % 2 else curvature / gradient_change
            if 0.0 < bb_step < math.inf:
                step = min(bb_step, MAX_STEP)
            else:  # none seen (rounding), or |r|^2 overflowed: a longer step
                step = min(step * GROWTH, MAX_STEP)
            w, b, f, g = new_w, new_b, f_new, g_new
        if not converged and not stopped:  # is the last iterate done?
            optimality = problem.optimality(w, g, min(step, learning_rate))
            converged = optimality <= tol
    return _finish(w, b, curve, converged, accepted, stall, stopped, optimality)


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
    average: int = 0,
    averaged: Iterate | None = None,
    validation: Problem | None = None,
    monitor=None,
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

    With ``average > 0``, the model returned (and validated) is the mean of
    the iterates after each batch, from the one that brings the samples seen
    to ``average`` on (Polyak-Ruppert averaging), restarted from the average
    at each new stage of ``"adaptive"``; ``averaged`` continues an
    earlier run's (an :class:`~sklearn_gd_logreg._sgd_epochs.Iterate`,
    whose ``w, b`` are then ignored for those given). ``result.iterate``
    holds the last iterate and the average, to continue from.

    An epoch runs compiled (:func:`~sklearn_gd_logreg._sgd_epochs.compiled_epoch`)
    unless a ``monitor`` wants a call around each batch or the data are not
    rows that the twin reads; the Python loop
    (:func:`~sklearn_gd_logreg._sgd_epochs.python_epoch`) gives the same model.
    """
    penalty, m = problem.penalty, problem.n_samples
    n_batches = math.ceil(m / batch_size)
    mean_weight = problem.weight() / m
    curve: list[float] = []
    check_l2_step(
        learning_rate,
        penalty.l2,
        schedule="constant" if tol is None and schedule == "adaptive" else schedule,
        power_t=power_t,
        n_batches=n_batches,
        patience=n_iter_no_change,
        epochs_seen=epochs_seen,
    )
    it = Iterate(w, b, epochs_seen, average)
    if averaged is not None:
        it.samples_seen, it.n_averaged = averaged.samples_seen, averaged.n_averaged
        it.average_w, it.average_b = averaged.average_w, averaged.average_b
    start = math.inf if validation is None else validation.value(*it.params())
    stall = _Stall(tol, n_iter_no_change, it.params(), start)
    shrink, converged, stopped = 1.0, False, False
    run = compiled_epoch if compiles(problem, w, monitor) else python_epoch
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(max_iter):
            if monitor is not None:
                monitor.begin("epoch", it.w, it.b, n_batches)
            done = run(
                problem,
                it,
                random_state,
                batch_size=batch_size,
                eta0=learning_rate * shrink,
                invscaling=schedule == "invscaling",
                power_t=power_t,
                n_batches=n_batches,
                mean_weight=mean_weight,
                learning_rate=learning_rate,
                epoch=epoch,
                monitor=monitor,
            )
            if done.weight > 0.0:
                loss = done.total / done.weight + penalty.value(it.w)
            else:  # stopped after batches of weight 0: the whole objective
                loss = problem.value(it.w, it.b)
            check_finite(loss, learning_rate, epoch)
            curve.append(loss)
            if verbose:
                core.show_cost(epoch, loss)
            if monitor is not None and monitor.end(it.w, it.b, loss, done.eta):
                done.stopped = True
            if done.stopped:
                stopped = True
                break
            params = it.params()
            current = loss if validation is None else validation.value(*params)
            if tol is not None and stall.update(current, params):
                if schedule != "adaptive" or shrink < 1e-6:
                    converged = True
                    break
                shrink, stall.count = shrink / 5.0, 0
                it.restart_average()
    stall = None if validation is None else stall
    result = _finish(*it.params(), curve, converged, learning_rate, stall, stopped)
    result.epochs_seen, result.iterate = it.epochs_seen, it
    return result


def _shorter(step, finite, squared, curvature, learning_rate, k) -> float:
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


def _finish(w, b, curve, converged, step, stall, stopped, optimality=math.nan):
    """The :class:`Result` at ``w, b``, or with a validation ``stall`` at
    its best iterate (whose optimality was not measured)."""
    result = Result(w, b, len(curve), curve, converged, step, stopped=stopped)
    if stall is None:
        result.optimality = optimality
    else:
        result.w, result.b = stall.best_params
        result.validation_scores = stall.scores
    return result


class _Stall:
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


def _dot(a, b) -> float:
    """The inner product of two parameter arrays (or floats), without BLAS
    and without a temporary: OpenBLAS threads even a vector's dot product
    from 10 000 entries on, and its threads then spin against the twin's
    (measured: 300 iterations of "nesterov" on the 209 x 12 288 images took
    4.4 s with np.vdot, 0.3 s without). Another library's arrays are
    multiplied on their device, and the float read back."""
    if type(a) is np.ndarray and type(b) is np.ndarray:  # fast, the common case
        return float(np.einsum("i,i->", a.ravel(), b.ravel()))
    xp = namespace(a, b)
    if not is_numpy(xp):
        return float(xp.sum(a * b))
    return float(np.einsum("i,i->", np.ravel(a), np.ravel(b)))


def _dots(*pairs) -> list[float]:
    """Sums of :func:`_dot` of consecutive ``pairs`` of pairs (the weights'
    and the intercept's parts of one inner product): ``_dot(*pairs[0]) +
    _dot(*pairs[1])``, ... For another library's arrays, all computed on
    the device and read back at once."""
    xp = namespace(*(a for pair in pairs for a in pair))
    if is_numpy(xp):
        dots = [_dot(a, b) for a, b in pairs]
    else:
        dev = device(pairs[0][0])
        parts = [xp.sum(xp.asarray(a * b, device=dev)) for a, b in pairs]
        dots = [float(v) for v in to_numpy(xp.stack(parts))]
    return [dots[k] + dots[k + 1] for k in range(0, len(dots), 2)]


class _Pending:
    """Iterations of ``"gd"`` whose scalars (each a 0-d array on the
    device) are not read back yet: ``add`` one, ``read`` all their values in
    one transfer, as rows of floats. ``iterates`` are their ``(w, b)``,
    ``best`` the one that met ``tol``, once found."""

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


SOLVERS = {"gd": gd, "nesterov": nesterov, "bb": bb, "sgd": sgd}
LINE_SEARCH = ("nesterov", "bb")  # the solvers whose step adapts: no divergence
