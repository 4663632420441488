"""``"sgd"``: proximal mini-batch stochastic gradient descent; its epochs
(:mod:`sklearn_gd_logreg._sgd_epochs`) run compiled."""

from __future__ import annotations

import math

import numpy as np

from sklearn_gd_logreg import core
from sklearn_gd_logreg._divergence import check_finite, check_l2_step
from sklearn_gd_logreg._problem import Problem
from sklearn_gd_logreg._sgd_epochs import (
    Iterate,
    compiled_epoch,
    compiles,
    python_epoch,
)
from sklearn_gd_logreg._solvers._base import Result, Stall, finish, validated
from sklearn_gd_logreg._xp import namespace


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
    mean_weight: float | None = None,
) -> Result:
    """Proximal mini-batch SGD: up to ``max_iter`` epochs of shuffled batches.

    A batch ``B`` steps along ``(sum_B s_i g_i) / (|B| * mean(s)) + l2 w``,
    an unbiased estimate of the full gradient (so that a batch of small
    weights makes a small step; ``mean(s)`` is ``mean_weight`` if given,
    that of the samples of earlier ``partial_fit`` calls too), then takes
    the penalty's proximal step. The
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
    if mean_weight is None:
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
    stall = Stall(tol, n_iter_no_change, it.params(), start)
    shrink, converged, stopped = 1.0, False, False
    run = compiled_epoch if compiles(problem, w, monitor) else python_epoch
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(max_iter):
            if monitor is not None:
                monitor.begin("epoch", *it.params(), n_batches)
            begun = it.epochs_seen
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
            if not done.stopped:  # whole: not n_batches rounded fractions
                it.epochs_seen = begun + 1.0
            if done.weight > 0.0:
                loss = done.total / done.weight + penalty.value(it.w)
            else:  # stopped after batches of weight 0: the whole objective
                loss = problem.value(it.w, it.b)
            # NaN if the last batch's step made b infinite (no batch's loss
            # saw it; w's: in the penalty's value), on b's device, read once
            probe = 0.0 * (
                it.b if isinstance(it.b, float) else namespace(it.b).sum(it.b)
            )
            check_finite(loss + probe, learning_rate, epoch)
            curve.append(loss)
            if verbose:
                core.show_cost(int(begun), loss)  # partial_fit: the epochs before
            if monitor is not None and monitor.end(*it.params(), loss, done.eta):
                done.stopped = True
            if done.stopped:
                stopped = True
                validated(stall, validation, *it.params())  # may be the best
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
    result = finish(*it.params(), curve, converged, learning_rate, stall, stopped)
    if converged:  # the model returned worse than w = 0? (the epochs' mean
        # batch loss, of moving iterates, may not be: 0.667 for a model of 1.38)
        result.step_too_long = _too_long(problem, result)
        result.converged = not result.step_too_long
    result.epochs_seen, result.iterate = it.epochs_seen, it
    return result


def uniform_loss(problem: Problem) -> float:
    """The loss of ``w = 0, b = 0``, which gives every class the same
    probability: ``log 2`` for the sigmoid, ``log K`` for the softmax."""
    return math.log(max(2, problem.Y.shape[0]))


def _too_long(problem: Problem, result: Result) -> bool:
    """Whether the model ``result`` returns (the last iterate, the average,
    or the best validated) has an objective above :func:`uniform_loss`,
    that of ``w = 0, b = 0``, which no minimum exceeds: the sign of a step
    too long for the data, whose iterates oscillate far from the minimum
    while their loss stalls. One pass over the data."""
    return problem.value(result.w, result.b) > uniform_loss(problem)
