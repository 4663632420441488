"""The machinery around one fit of ``GDLogisticRegression``: a copy to fit
and put in place at once, the starting point, the step, the stream of
shuffles, and the warnings and errors in the estimator's terms."""

from __future__ import annotations

import copy
import functools
import math
import sys
import threading
import warnings
import weakref
from contextlib import contextmanager

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._array_api import _max_precision_float_dtype

from sklearn_gd_logreg import core
from sklearn_gd_logreg._callbacks import FitHooks, fresh_state, with_callbacks
from sklearn_gd_logreg._diagnosis import diagnose
from sklearn_gd_logreg._sgd_epochs import Iterate
from sklearn_gd_logreg._solvers import LINE_SEARCH
from sklearn_gd_logreg._step_size import problem_step
from sklearn_gd_logreg._xp import (
    device,
    dispatched,
    is_numpy,
    move_to,
    namespace,
    to_numpy,
)


def fit_method(method):
    """``method`` (``fit``, ``partial_fit``) as scikit-learn's callbacks
    want it (``with_callbacks``), one call per instance at a time: the
    lock of :func:`fitting` is taken first, so that the callbacks' context,
    which scikit-learn keeps on the instance and removes after the method,
    is that of one call at a time."""
    managed = with_callbacks(method)

    @functools.wraps(method)
    def one_at_a_time(estimator, *args, **kwargs):
        with _lock_of(estimator):
            return managed(estimator, *args, **kwargs)

    return one_at_a_time


@contextmanager
def fitting(estimator, task_name: str = "fit", max_subtasks: int = 0):
    """Fit a copy of ``estimator``, then give the estimator its state at once.

    The copy sees its parameters as Python numbers (a NumPy scalar such as
    ``np.float64(1e-4)`` from ``np.logspace`` behaves exactly as ``1e-4``)
    and runs under one floating-point error state, whatever the caller's
    ``np.errstate``: the fit checks finiteness itself and raises its own
    errors. Only a fit that ends well changes the estimator, by one
    assignment of its ``__dict__`` (its parameters set back as they are
    then): a fit that raises leaves it as it was. Fits of one instance run one
    at a time (a lock per instance, outside its state): two threads fitting
    it at once leave the whole model of the later, and two ``partial_fit``
    calls both count. Yields the copy and the callbacks' hooks of the fit
    (:class:`~sklearn_gd_logreg._callbacks.FitHooks`, whose root task
    ``task_name`` has ``max_subtasks``), opened on ``estimator`` before the
    copy, so that their teardown finds them even when the fit raises.
    """
    with _lock_of(estimator):
        hooks = FitHooks(estimator, task_name, max_subtasks)
        params = _params(estimator)
        work = object.__new__(type(estimator))
        vars(work).update(vars(estimator))
        for name, value in params.items():
            if isinstance(value, np.generic):
                setattr(work, name, value.item())
        with np.errstate(all="ignore"):
            yield work, hooks
        current = _params(estimator)  # as they are now
        estimator.__dict__ = dict(vars(work))
        for name, value in current.items():  # through properties, if any
            setattr(estimator, name, value)


def _params(estimator) -> dict:
    """``estimator.get_params(deep=False)``, with the names read once per
    class (scikit-learn reads them from the signature on each call: 30 us,
    twice a fit)."""
    return {name: getattr(estimator, name) for name in _names(type(estimator))}


@functools.cache
def _names(cls) -> tuple[str, ...]:
    return tuple(cls._get_param_names())


_LOCKS: dict[int, threading.RLock] = {}
# Reentrant: the garbage collection that creating a lock or a finalizer in
# _lock_of may start can run another estimator's _forget in that thread.
_LOCKS_LOCK = threading.RLock()


def _lock_of(estimator) -> threading.RLock:
    """The lock of ``estimator``'s fits, by identity (not by ``==``, which
    a subclass may define); it goes with the estimator and is never
    pickled, copied or cloned."""
    key = id(estimator)
    with _LOCKS_LOCK:
        if key not in _LOCKS:
            _LOCKS[key] = threading.RLock()
            weakref.finalize(estimator, _forget, key)
        return _LOCKS[key]


def _forget(key: int) -> None:
    with _LOCKS_LOCK:
        _LOCKS.pop(key, None)


def start(estimator, X, n_classes, first, sgd=False):
    """Zeros, or the fitted ``coef_`` and ``intercept_`` to continue from
    (which must have as many features as ``X``), in ``X``'s library, on its
    device and in its dtype; for ``sgd`` (an
    :class:`~sklearn_gd_logreg._sgd_epochs.Iterate`, or None), the last
    iterate and the running average of the fit before."""
    n_outputs = 1 if n_classes == 2 else n_classes
    if not first and X.shape[1] != estimator.coef_.shape[1]:
        raise ValueError(
            f"warm_start=True, but X has {X.shape[1]} features while the "
            f"fitted model has {estimator.coef_.shape[1]}; set warm_start=False "
            "to fit from scratch."
        )
    if first:
        w, b = core.initialize_with_zeros(X.shape[1], n_outputs=n_outputs)
        xp, dev, other = dispatched(X)
        if other:  # zeros put on X's device
            w = xp.asarray(w, dtype=X.dtype, device=dev)
            b = b if n_outputs == 1 else xp.asarray(b, dtype=X.dtype, device=dev)
            return w, b, None
        return w.astype(X.dtype), (b if n_outputs == 1 else b.astype(X.dtype)), None

    def layout(coef, intercept):  # without an intercept, b starts (and stays) 0
        w, b = _core_layout(coef, intercept, X)
        return w, (b if estimator.fit_intercept else b - b)  # zeros, b's kind

    w, b = layout(estimator.coef_, estimator.intercept_)
    averaged = None
    average = int(estimator.average)
    carry = average and getattr(estimator, "_samples_seen", 0.0) >= average
    if sgd and getattr(estimator, "_n_averaged", 0.0) and carry:  # coef_: the average
        averaged = Iterate(w, b, 0.0, 0, estimator._samples_seen)
        averaged.n_averaged, averaged.average_w, averaged.average_b = (
            estimator._n_averaged,
            w,
            b,
        )
        w, b = layout(*estimator._iterate)
    elif sgd:
        averaged = Iterate(w, b, 0.0, 0, getattr(estimator, "_samples_seen", 0.0))
    return w, b, averaged


def _core_layout(coef, intercept, X):
    """``w, b`` in the core's layout from ``coef_`` and ``intercept_``, in
    ``X``'s library, on its device and in its dtype."""
    xp, dev, other = dispatched(X)
    if other:  # the fitted model, moved to X's library and device if need be
        coef, intercept = move_to(coef, intercept, xp=xp, device=dev)
        w, b = xp.astype(coef.T, X.dtype), xp.astype(intercept, X.dtype)
        return w, (float(b[0]) if b.shape[0] == 1 else b[:, None])
    coef, intercept = to_numpy(coef), to_numpy(intercept)  # fitted elsewhere?
    w = np.ascontiguousarray(coef.T, dtype=X.dtype)
    b = intercept.astype(X.dtype)
    return w, (float(b[0]) if len(b) == 1 else b[:, np.newaxis])


def keep_iterate(estimator, result) -> None:
    """Keep what a later ``partial_fit`` or warm start of ``"sgd"`` continues
    from: the samples seen, and with averaging (``coef_`` is then the
    average) the number of iterates averaged and the last iterate (in
    ``coef_``'s library and on its device)."""
    it = result.iterate
    # Python floats, not the kernel's np.float64, which scikit-learn's
    # move_estimator_to would take for arrays
    estimator._samples_seen = 0.0 if it is None else float(it.samples_seen)
    estimator._n_averaged = 0.0 if it is None else float(it.n_averaged)
    estimator._iterate = None
    if it is not None and it.n_averaged:
        dtype = estimator.coef_.dtype
        xp = namespace(it.w)
        if is_numpy(xp):
            estimator._iterate = (
                np.ascontiguousarray(it.w.T, dtype=dtype),
                np.asarray(it.b, dtype=dtype).reshape(-1),
            )
        else:
            dev = device(estimator.coef_)
            b = xp.asarray(it.b, dtype=dtype, device=dev)
            estimator._iterate = (
                xp.asarray(it.w.T, dtype=dtype, device=dev, copy=True),
                xp.reshape(b, (-1,)),
            )


def curves_on_device(xp, device, curve, scores):
    """``loss_curve_`` and ``validation_scores_`` (``None`` as is): the floats
    the solver read back, as an array of ``xp`` on ``device`` (in the
    device's widest float), so that every fitted array is in ``X``'s
    library."""
    dtype = _max_precision_float_dtype(xp, device)
    return tuple(
        None if values is None else xp.asarray(values, dtype=dtype, device=device)
        for values in (curve, scores)
    )


def step_size(estimator, problem, first, incremental):
    """The fixed ``learning_rate``, or the ``"auto"`` step for ``problem``.

    For ``partial_fit``, each chunk's ``1 / L`` is estimated, and the step
    is ``1 / L`` for the mean of the chunks' ``L``, weighted by their
    numbers of rows (``_step_weight``; a chunk's steps divide its weights
    by at least their own mean, :func:`weight_scale`, so they stay within
    its own ``1 / L``): it does not hang on the first chunk, and it bounds
    the curvature of all the data seen as each update weighs it (the
    largest eigenvalue is convex, so the chunks' mean bounds that of their
    union)."""
    if estimator.learning_rate != "auto":
        return float(estimator.learning_rate)
    step = problem_step(problem)
    if not incremental or first:
        return step
    seen, weight = estimator._step_weight, float(problem.n_samples)
    if not math.isfinite(seen):  # a pickle of 0.1: its first chunk's step
        return estimator._base_learning_rate
    return (seen + weight) / (seen / estimator._base_learning_rate + weight / step)


def weight_scale(estimator, problem, first, incremental) -> float | None:
    """The mean weight that ``"sgd"``'s steps divide the batches' weights by
    (``None``: the mean of this call's, as for ``fit``). Each call scales its
    weights so that the largest is below 1 (``problem.weight_exponent``).
    For a ``partial_fit`` call whose mean weight is below the running mean
    of the samples of the calls before (since the last ``fit``), it is that
    running mean, in this call's units: the lighter call makes smaller
    steps. A heavier call keeps its own mean, so that its steps stay within
    the step size (``1 / L`` for ``"auto"``), which its own scale bounds.
    Records the running mean, in the user's units, on ``estimator``."""
    if not incremental:  # none to compare to: the next partial_fit starts anew
        estimator._weight_rows = 0.0
        return None
    m = problem.n_samples
    mean = problem.weight() / m
    user = float(np.ldexp(mean, problem.weight_exponent))  # the user's units
    seen = 0.0 if first else getattr(estimator, "_weight_rows", 0.0)
    if not math.isfinite(user):  # weights beyond float64: none to compare to
        estimator._weight_rows = 0.0
        return None
    if not seen:
        estimator._weight_mean, estimator._weight_rows = user, float(m)
        return None
    running = estimator._weight_mean * (seen / (seen + m)) + user * (m / (seen + m))
    estimator._weight_mean, estimator._weight_rows = running, seen + m
    lighter = running / user  # inf: this call's weights are negligible
    return mean * lighter if lighter > 1.0 + 1e-9 else None


def step_weight(estimator, problem, first, incremental) -> float:
    """The rows behind the ``"auto"`` step after this fit (see
    :func:`step_size`): the data's, plus those seen before for ``partial_fit``."""
    weight = float(problem.n_samples)
    if incremental and not first:
        weight += estimator._step_weight
    return weight


def shuffler(estimator, first, incremental):
    """The random state of this fit: one stream of shuffles across
    ``partial_fit`` calls, each epoch a new one. A copy: a call that fails
    leaves the stream as it was."""
    if incremental and not first:
        return copy.deepcopy(estimator._shuffler)
    random_state = check_random_state(estimator.random_state)
    return copy.deepcopy(random_state) if incremental else random_state


def divergence_error(estimator, error, solver, step, incremental):
    """The divergence error in the estimator's terms: which call and
    parameters made the step too long, and what to change."""
    where = (
        "GDLogisticRegression.partial_fit"
        if incremental
        else f"GDLogisticRegression(solver={solver!r})"
    )
    if estimator.learning_rate == "auto":
        setting = f"learning_rate='auto' (a step of {step:.3g})"
        advice = ["a smaller fixed learning_rate"]
        if solver not in LINE_SEARCH and not incremental:
            advice.insert(
                0, "solver='nesterov' or 'bb', whose line searches cannot diverge"
            )
    else:
        setting = f"learning_rate={estimator.learning_rate!r}"
        advice = ["a smaller learning_rate", "learning_rate='auto'"]
    alpha_l2 = estimator.alpha * (
        {"l2": 1.0, "elasticnet": 1.0 - estimator.l1_ratio}.get(estimator.penalty, 0.0)
    )
    if solver not in LINE_SEARCH and step * alpha_l2 > 2:  # the L2 part diverges
        setting += f" and alpha={estimator.alpha!r}"
        advice.append("a smaller alpha")
    return core.DivergenceError(
        f"{where} diverged at iteration {error.iteration}: {error.reason}, "
        f"with {setting}. Use {', '.join(advice)}, or scale the features.",
        error.iteration,
        error.reason,
    )


def warn_not_converged(estimator, step, problem, result):
    """The ``ConvergenceWarning`` of a fit that used up ``max_iter``, with
    the causes it measured and their fixes (:mod:`._diagnosis`)."""
    stopped, *causes = diagnose(estimator, step, problem, result)
    early = len(result.loss_curve) < estimator.max_iter  # "sgd": the loss stalled
    warnings.warn(
        f"GDLogisticRegression(solver={estimator.solver!r}) did not converge "
        + (
            f"(it stopped after {len(result.loss_curve)} of max_iter="
            f"{estimator.max_iter} epochs, the loss stalled) "
            if early
            else f"in max_iter={estimator.max_iter} iterations "
        )
        + f"to tol={estimator.tol} (learning_rate={estimator.learning_rate!r}, "
        f"a step of {step:.3g}); "
        + stopped
        + "".join(f"\n- {cause}" for cause in causes)
        + ("" if early else "\nOr increase max_iter."),
        ConvergenceWarning,
        stacklevel=_user_level(),
    )


def _user_level() -> int:
    """The ``stacklevel`` of the user's call of ``fit``, from a function
    called by ``warnings.warn``'s caller: past this package's frames and the
    decorators of scikit-learn's ``fit`` methods (their number depends on
    its version)."""
    frame, level = sys._getframe(2), 2
    while frame is not None and frame.f_globals.get("__name__", "").startswith(
        ("sklearn_gd_logreg.", "sklearn.base", "sklearn.callback.")
    ):
        frame, level = frame.f_back, level + 1
    return level


def fill_older_layout(estimator):
    """Pickles of 0.1 lack what ``partial_fit`` and warm starts need; they get
    :func:`~sklearn_gd_logreg._callbacks.fresh_state`'s."""
    state = vars(estimator)
    step = getattr(estimator, "learning_rate_", math.nan)
    # epochs: of "sgd", or of partial_fit, the only calls that set t_ then
    sgd = estimator.solver == "sgd" or getattr(estimator, "t_", 0.0) > 0.0
    epochs = estimator.n_iter_ if sgd else 0.0
    for name, value in fresh_state(estimator, epochs, step, sgd).items():
        state.setdefault(name, value)
