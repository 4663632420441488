"""``fit`` and ``partial_fit``'s one path, from the inputs to the fitted
attributes: the checks and the problem (:mod:`._inputs`, :mod:`._dask_fit`),
the step and the start (:mod:`._fitting`), the solver (:mod:`._solvers`)."""

from __future__ import annotations

import numpy as np
from sklearn.utils.multiclass import check_classification_targets

from sklearn_gd_logreg import core
from sklearn_gd_logreg._dask_fit import DaskProblem, dask_problem, is_dask
from sklearn_gd_logreg._fitting import (
    curves_on_device,
    divergence_error,
    keep_iterate,
    shuffler,
    start,
    step_size,
    step_weight,
    warn_not_converged,
    weight_scale,
)
from sklearn_gd_logreg._inputs import (
    FLOATS,
    check_classes,
    early_stopping_split,
    fit_sample_weight,
    one_hot,
    validate,
)
from sklearn_gd_logreg._penalties import make_penalty
from sklearn_gd_logreg._problem import Problem
from sklearn_gd_logreg._solvers import SOLVERS
from sklearn_gd_logreg._xp import (
    check_same_namespace,
    continued_curve,
    dispatched,
    fitted_arrays,
    is_numpy,
    namespace,
    to_numpy,
)


def fit_path(estimator, X, y, sample_weight, hooks, *, classes=None, incremental=False):
    """The one path of ``estimator.fit`` and ``partial_fit`` (``incremental``:
    one epoch of ``"sgd"``, continuing the model and its shuffles): the
    inputs checked and made a problem (in memory, or on Dask workers), the
    solver run, and the fitted attributes stored."""
    fitted = hasattr(estimator, "coef_")
    first = not fitted if incremental else not (fitted and estimator.warm_start)
    dtype = estimator.coef_.dtype if incremental and fitted else FLOATS
    penalty = make_penalty(estimator.penalty, estimator.alpha, estimator.l1_ratio)
    other = False  # another library's X than NumPy's (Array API dispatch)
    if is_dask(X):  # the data stay on the workers (_dask_fit.py)
        X, classes, problem = dask_problem(
            estimator, X, y, sample_weight, penalty, classes, first, incremental, dtype
        )
    else:
        if incremental and fitted:  # as predict: in the model's library, device
            check_same_namespace(X, estimator, attribute="coef_", method="partial_fit")
            if not is_numpy(namespace(estimator.coef_)) and not dispatched(X)[2]:
                raise ValueError(
                    "partial_fit: the model was fitted on arrays of "
                    f"{type(estimator.coef_).__module__.split('.')[0]}, under "
                    "array_api_dispatch, and X would be NumPy's: continue "
                    "with dispatch on and X of that library (or move the "
                    "model to NumPy first)."
                )
        X, y = validate(estimator, X, y, dtype=dtype, reset=first or not incremental)
        xp, dev, other = dispatched(X)  # another library's: on its device
        labels = to_numpy(y)  # on the host, once
        check_classification_targets(labels)
        classes, y_index = check_classes(estimator, labels, classes, first, incremental)
        sample_weight, exponent = fit_sample_weight(
            estimator, X, labels, y_index, classes, sample_weight
        )
        if other:  # the labels' indices and the weights, to X's device once
            y_index = xp.asarray(y_index, device=dev)
            sample_weight = xp.asarray(sample_weight, dtype=X.dtype, device=dev)
        problem = Problem(
            X.T,  # a view: the core's layout, samples as columns, for free
            one_hot(y_index, len(classes), X.dtype, xp),
            sample_weight,
            penalty,
            estimator.fit_intercept,
            exponent,
        )
    hooks.begin_fit(estimator, X, y, classes, sample_weight)
    solver = "sgd" if incremental else estimator.solver
    w, b, averaged = start(estimator, X, len(classes), first, sgd=solver == "sgd")
    learning_rate = hooks.learning_rate = step_size(
        estimator, problem, first, incremental
    )
    epochs_before = hooks.epochs_before = 0.0 if first else float(estimator.t_)
    mean_weight = weight_scale(estimator, problem, first, incremental)
    weight_seen = step_weight(estimator, problem, first, incremental)
    random_state = shuffler(estimator, first, incremental)
    options = {
        "learning_rate": learning_rate,
        "max_iter": 1 if incremental else estimator.max_iter,
        "tol": None if incremental else estimator.tol,
        "verbose": estimator.verbose,
        "n_iter_no_change": 1 if incremental else estimator.n_iter_no_change,
    }
    if estimator.early_stopping and not incremental:
        problem, options["validation"] = (
            problem.split(estimator, random_state)  # chunk by chunk, there
            if isinstance(problem, DaskProblem)
            else early_stopping_split(
                problem, to_numpy(y_index), estimator, random_state
            )
        )
    if solver == "sgd":
        options.update(
            batch_size=min(estimator.batch_size, problem.n_samples),
            schedule=estimator.learning_rate_schedule,
            power_t=estimator.power_t,
            random_state=random_state,
            epochs_seen=epochs_before,
            average=int(estimator.average),
            averaged=averaged,
            mean_weight=mean_weight,
        )
    try:
        result = SOLVERS[solver](problem, w, b, monitor=hooks.monitor, **options)
    except core.DivergenceError as error:
        raise divergence_error(
            estimator, error, solver, learning_rate, incremental
        ) from None
    if not (result.converged or result.stopped or incremental):
        warn_not_converged(estimator, learning_rate, problem, result)
    previous = continued_curve(estimator, incremental)
    estimator._shuffler, estimator._base_learning_rate = random_state, learning_rate
    estimator._step_weight = weight_seen
    estimator.learning_rate_ = result.learning_rate
    estimator.n_iter_ = len(previous) + result.n_iter
    scores = result.validation_scores
    scores = scores if estimator.early_stopping and not incremental else None
    # coef_, intercept_ in X's library and on its device (classes_ in y's),
    # as scikit-learn's Array API models hold them
    fitted = fitted_arrays(result.w, result.b, X.dtype, y, classes)
    for name, value in fitted.items():
        setattr(estimator, name, value)
    if not other:
        estimator.loss_curve_ = np.asarray(previous + result.loss_curve)
        estimator.validation_scores_ = None if scores is None else np.asarray(scores)
    else:
        estimator.loss_curve_, estimator.validation_scores_ = curves_on_device(
            xp, dev, previous + result.loss_curve, scores
        )
    # epochs of "sgd" seen: a full-batch warm start adds none, and resets none
    keeps = solver != "sgd" and not first
    estimator.t_ = float(estimator.t_) if keeps else result.epochs_seen
    estimator._curve_in_epochs = solver == "sgd"  # else full-batch iterations
    keep_iterate(estimator, result)
    hooks.end_fit(estimator)
