"""The compiled epoch of "sgd" gives the Python loop's model, and averaging.

The Python loop (``_sgd_epochs.python_epoch``) is the reference: each step
from the problem's gradient (so from ``core.propagate``) and the penalty's
``prox``. The compiled epoch (``_sgd_kernel``) must give the same weights,
intercepts and loss curve to rounding (1e-10 relative in float64) for the
same seed, batch size and schedule.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import BatchRecorder, fit_quietly
from numpy.testing import assert_allclose
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from sklearn_gd_logreg import GDLogisticRegression, _sgd_epochs, _solvers
from sklearn_gd_logreg._penalties import Penalty
from sklearn_gd_logreg._problem import Problem

PENALTIES = {
    "l2": Penalty(0.0, 0.01),
    "l1": Penalty(0.02, 0.0),
    "elasticnet": Penalty(0.01, 0.05),
}
# each schedule with its own averaging: none, from the start, from sample 50
SCHEDULES = {"constant": 0, "invscaling": 1, "adaptive": 50}


def make_problem(rng, sparse, K, penalty, dtype=np.float64, m=203, n=17):
    X = rng.standard_normal((m, n)) * (rng.random((m, n)) < 0.3)
    y = rng.integers(0, max(K, 2), m)
    Y = np.eye(K)[y].T if K > 1 else y[np.newaxis, :].astype(float)
    weights = 2 * rng.random(m)
    weights[:10] = 0.0  # a batch or more of weight 0
    X = X.astype(dtype)
    X = sp.csr_matrix(X).T if sparse else X.T  # the views fit passes
    return Problem(X, Y.astype(dtype), weights.astype(dtype), penalty, True)


def run(problem, compiled, schedule="constant", average=0, epochs=3, **options):
    K = problem.Y.shape[0]
    w = np.zeros((problem.X.shape[0], K), problem.X.dtype)
    b = 0.0 if K == 1 else np.zeros((K, 1), problem.X.dtype)
    assert _sgd_epochs.compiles(problem, w, None)
    monitor = options.pop("monitor", None if compiled else BatchRecorder())
    return _solvers.sgd(
        problem,
        w,
        b,
        learning_rate=options.pop("learning_rate", 0.3),
        max_iter=epochs,
        tol=1e-3 if schedule == "adaptive" else None,
        verbose=0,
        batch_size=options.pop("batch_size", 7),
        schedule=schedule,
        power_t=0.5,
        random_state=np.random.RandomState(0),
        n_iter_no_change=1,
        average=average,
        monitor=monitor,
        **options,
    )


def assert_same_model(a, b, rtol=1e-10):
    atol = rtol * max(1.0, float(np.max(np.abs(b.w))))
    assert_allclose(a.w, b.w, rtol=rtol, atol=atol)
    assert_allclose(np.asarray(a.b), np.asarray(b.b), rtol=rtol, atol=atol)
    assert_allclose(a.loss_curve, b.loss_curve, rtol=rtol)
    assert a.epochs_seen == pytest.approx(b.epochs_seen, rel=1e-14)
    assert a.iterate.n_averaged == b.iterate.n_averaged


@pytest.mark.parametrize("schedule", list(SCHEDULES))
@pytest.mark.parametrize("penalty", list(PENALTIES))
@pytest.mark.parametrize("K", [1, 3])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_compiled_epoch_gives_the_python_loops_model(rng, sparse, K, penalty, schedule):
    problem = make_problem(rng, sparse, K, PENALTIES[penalty])
    average = SCHEDULES[schedule]
    compiled = run(problem, True, schedule, average)
    reference = run(problem, False, schedule, average)
    assert_same_model(compiled, reference)
    if penalty != "l2" and not average:  # the proximal step's exact zeros
        assert_allclose(compiled.w == 0, reference.w == 0)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_compiled_epoch_float32(rng, sparse):
    """float32 data: float64 weights within the compiled epoch, float32 in
    the Python loop; the models agree to float32's precision."""
    problem = make_problem(rng, sparse, 3, PENALTIES["elasticnet"], np.float32)
    compiled = run(problem, True, average=1, epochs=2)
    reference = run(problem, False, average=1, epochs=2)
    assert compiled.w.dtype == np.float32
    assert_same_model(compiled, reference, rtol=2e-4)


@pytest.mark.parametrize("l1", [0.001, 0.0])
@pytest.mark.parametrize("learning_rate", [0.5, 0.6])
def test_sparse_l2_shrink_rescales(rng, learning_rate, l1):
    """A step times alpha near 1 shrinks the scale of the lazy weights
    under 1e-9 within a few batches: they are then rescaled, exactly, and
    so is the lazy average (without L1); past 1 (0.6 x 1.9) the scale
    changes sign at every step."""
    problem = make_problem(rng, True, 1, Penalty(l1, 1.9))
    options = {"learning_rate": learning_rate, "batch_size": 3, "average": 1}
    compiled = run(problem, True, **options)
    reference = run(problem, False, **options)
    assert_same_model(compiled, reference)


def test_the_average_is_the_mean_of_the_iterates(rng):
    """The iterates do not depend on averaging (a constant step): those of
    the same fit without it, recorded after each batch, are averaged."""
    problem = make_problem(rng, False, 1, PENALTIES["l2"])
    monitor = BatchRecorder()  # a monitor: the Python loop
    plain = run(problem, False, average=0, epochs=2, monitor=monitor)
    result = run(problem, False, average=100, epochs=2)
    assert_allclose(result.iterate.w, plain.w, rtol=0)
    # 203 rows in batches of 7: the average starts with the 15th (105 rows)
    iterates = monitor.iterates[14:]
    assert result.iterate.n_averaged == len(iterates) == 2 * 29 - 14
    assert_allclose(result.w, np.mean([w for w, _ in iterates], axis=0), rtol=1e-12)
    assert_allclose(result.b, np.mean([b for _, b in iterates]), rtol=1e-12)
    assert_allclose(result.iterate.w, iterates[-1][0])


def test_a_corrupted_sparse_matrix_is_refused(rng):
    problem = make_problem(rng, True, 1, PENALTIES["l2"])
    problem.X.indices[3] = 10**6
    with pytest.raises(ValueError, match="corrupted"):
        run(problem, True)


@pytest.mark.parametrize("average", [False, True, 300])
def test_partial_fit_continues_the_average(cancer, average):
    """Two partial_fit calls are the two epochs of a fit: the shuffles, the
    iterate and its average continue across calls."""
    X, y = cancer
    params = {"learning_rate": 0.05, "random_state": 0, "average": average}
    params["learning_rate_schedule"] = "constant"
    # two whole epochs, whatever the loss does
    fit = GDLogisticRegression(solver="sgd", max_iter=2, n_iter_no_change=9, **params)
    with pytest.warns(ConvergenceWarning):
        fit.fit(X, y)
    streamed = GDLogisticRegression(**params)
    streamed.partial_fit(X, y, classes=[0, 1]).partial_fit(X, y)
    assert_allclose(streamed.coef_, fit.coef_, rtol=1e-10)
    assert_allclose(streamed.intercept_, fit.intercept_, rtol=1e-10)
    if average:  # the average, not the last iterate
        last = GDLogisticRegression(**{**params, "average": False})
        last.partial_fit(X, y, classes=[0, 1]).partial_fit(X, y)
        assert np.abs(streamed.coef_ - last.coef_).max() > 1e-3


@pytest.fixture(scope="module")
def raw_digits():
    """load_digits as it comes (pixels 0 to 16), a stratified quarter held
    out, as benchmarks/bench_sgd.py streams it."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def stream(estimator, X, y, epochs, chunk=100):
    for _ in range(epochs):
        for start in range(0, len(X), chunk):
            rows = slice(start, start + chunk)
            estimator.partial_fit(X[rows], y[rows], classes=np.arange(10))
    return estimator


def test_streaming_reaches_the_accuracy_of_fit_within_a_point(raw_digits):
    """5 epochs of chunks of 100 rows, averaged, one row per step: held-out
    accuracy within 1 point of fit on all the rows (measured: 0.964 and
    0.964; benchmarks/README.md has the table, batches of 32 included)."""
    X_train, X_test, y_train, y_test = raw_digits
    # one thread: on a busy machine OpenMP's waits made this fit 30 x slower
    with threadpool_limits(limits=1, user_api="openmp"):
        full = fit_quietly(GDLogisticRegression(), X_train, y_train)
    streamed = GDLogisticRegression(random_state=0, average=True, batch_size=1)
    stream(streamed, X_train, y_train, epochs=5)
    assert streamed.score(X_test, y_test) >= full.score(X_test, y_test) - 0.01


def test_partial_fit_step_does_not_hang_on_the_first_chunk(raw_digits):
    X, _, y, _ = raw_digits
    forward = stream(GDLogisticRegression(random_state=0), X, y, epochs=1)
    backward = stream(GDLogisticRegression(random_state=0), X[::-1], y[::-1], 1)
    first = GDLogisticRegression(random_state=0).partial_fit(
        X[-100:], y[-100:], classes=np.arange(10)
    )
    # the chunks' mean, whatever came first (weighted as their rows)...
    assert forward.learning_rate_ != first.learning_rate_
    assert forward.learning_rate_ == pytest.approx(backward.learning_rate_, rel=1e-3)
    # ...near the step of all the rows at once (the mean bounds their L)
    full = fit_quietly(GDLogisticRegression(max_iter=1), X, y)
    assert 0.9 * full.learning_rate_ <= forward.learning_rate_ <= full.learning_rate_


def test_averaging_gets_closer_in_the_same_epochs():
    """fit's "adaptive" schedule, averaged by stage: after 16 epochs the
    averaged model is nearer the optimum than the last iterate."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4000, 20))
    y = (X @ rng.standard_normal(20) + rng.logistic(size=4000) > 0).astype(int)
    gaps = {}
    for average in (False, True):
        est = GDLogisticRegression(solver="sgd", max_iter=16, average=average)
        fit_quietly(est.set_params(random_state=0), X, y)
        gaps[average] = est.loss_curve_[-1], objective(est, X, y)
    best = fit_quietly(GDLogisticRegression(solver="nesterov", tol=1e-8), X, y)
    f_star = objective(best, X, y)
    assert gaps[True][1] - f_star < 0.5 * (gaps[False][1] - f_star)


def objective(estimator, X, y):
    problem = Problem(
        X.T, y[np.newaxis].astype(float), np.ones(len(y)), Penalty(0.0, 1e-4), True
    )
    return problem.value(estimator.coef_.T, float(estimator.intercept_[0]))


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
@pytest.mark.parametrize("K", [2, 3])
def test_switching_average_off_continues_from_the_average(cancer, how, K):
    """average=True, then average=False (or an average not due yet): the
    next fit continues from coef_ (the average) and averages anew, rather
    than reporting a stale or malformed average."""
    X, y = cancer
    y = y if K == 2 else (y + (X[:, 0] > 0)).astype(int)
    classes = np.unique(y)
    params = {"solver": "sgd", "random_state": 0, "max_iter": 3}
    est = GDLogisticRegression(average=True, warm_start=True, **params)
    if how == "warm_start":
        fit_quietly(est, X, y)
    else:
        est.partial_fit(X, y, classes=classes)
    averaged = est.coef_.copy()
    for average in (False, 10**9):
        est.set_params(average=average)
        before = est.coef_.copy()
        if how == "warm_start":
            fit_quietly(est, X, y)
        else:
            est.partial_fit(X, y)
        assert est.coef_.shape == averaged.shape
        assert np.all(np.isfinite(est.coef_))
        assert np.abs(est.coef_ - before).max() > 0  # it moved on
        assert est._n_averaged == 0.0  # no average carried or started
