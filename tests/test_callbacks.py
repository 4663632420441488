"""scikit-learn's callbacks (scikit-learn >= 1.9) on both estimators: real
``ProgressBar`` and ``ScoringMonitor``, stopping, propagation through
``Pipeline`` and ``GridSearchCV``, and ``IterationRecorder``."""

import copy
import pickle
import threading
import warnings

import numpy as np
import pytest
from helpers import fit_quietly
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from sklearn_gd_logreg import GDLogisticRegression, ImageFlattener, core
from sklearn_gd_logreg.callbacks import IterationRecorder

callback = pytest.importorskip(
    "sklearn.callback", reason="callbacks need scikit-learn >= 1.9"
)

SOLVERS = ["gd", "nesterov", "bb", "sgd"]


class StopAt:
    """Stops the fit when the ``n``-th task named ``name`` ends, and keeps
    the fitted estimator it was given there."""

    def __init__(self, name, n):
        self.name, self.n, self.seen, self.fitted = name, n, 0, None

    def setup(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.task_name != self.name:
            return False
        self.seen += 1
        if self.seen == self.n:
            self.fitted = fitted_estimator
            return True
        return False

    def teardown(self, estimator, context):
        pass


def iteration_rows(monitor, name="iteration"):
    return [row for row in monitor.get_logs().data if row["task_name"] == name]


def test_progress_bar_shows_a_bar_per_fit(cancer, capsys):
    X, y = cancer
    GDLogisticRegression(solver="nesterov").set_callbacks(callback.ProgressBar()).fit(
        X, y
    )
    out = capsys.readouterr().out
    assert "GDLogisticRegression - fit" in out
    assert "100%" in out


@pytest.mark.parametrize("solver", ["gd", "nesterov", "bb"])
def test_scoring_monitor_logs_a_score_per_iteration(cancer, solver):
    X, y = cancer
    monitor = callback.ScoringMonitor(scoring="accuracy")
    clf = GDLogisticRegression(solver=solver, tol=1e-2).set_callbacks(monitor)
    clf.fit(X, y)
    rows = iteration_rows(monitor)
    assert len(rows) == clf.n_iter_
    assert [row["task_id"] for row in rows] == list(range(clf.n_iter_))
    # the last iteration's estimator is the fitted one (to 1e-12 for sums
    # in another order, here none)
    assert rows[-1]["accuracy"] == pytest.approx(clf.score(X, y), abs=1e-12)


def test_scoring_monitor_logs_epochs_and_batches_of_sgd(iris):
    X, y = iris
    monitor = callback.ScoringMonitor(scoring="accuracy")
    clf = GDLogisticRegression(solver="sgd", batch_size=50, max_iter=4)
    fit_quietly(clf.set_callbacks(monitor), X, y)
    assert len(iteration_rows(monitor, "epoch")) == clf.n_iter_ == 4
    batches = iteration_rows(monitor, "batch")
    assert len(batches) == 4 * 3  # 150 rows in batches of 50
    assert all(0.0 <= row["accuracy"] <= 1.0 for row in batches)


@pytest.mark.parametrize("solver", SOLVERS)
def test_callbacks_change_nothing_in_the_fit(cancer, solver):
    X, y = cancer
    # sgd: 10 epochs of 18 batches, each scored by the monitor
    max_iter = 10 if solver == "sgd" else 30
    params = {"solver": solver, "max_iter": max_iter, "random_state": 0}
    plain = fit_quietly(GDLogisticRegression(**params), X, y)
    watched = GDLogisticRegression(**params).set_callbacks(
        callback.ScoringMonitor(scoring="accuracy"), IterationRecorder(params=True)
    )
    fit_quietly(watched, X, y)
    same = _same_as(solver)
    same(watched.coef_, plain.coef_)
    same(watched.loss_curve_, plain.loss_curve_)


def _same_as(solver):
    """Equality, bit for bit; for "sgd" to rounding: with a callback its
    epochs run the Python loop, which gives the compiled epoch's model."""
    if solver == "sgd":
        return lambda a, b: assert_allclose(a, b, rtol=1e-10, atol=1e-13)
    return assert_array_equal


@pytest.mark.parametrize(
    ("solver", "task", "average"),
    [
        ("gd", "iteration", False),
        ("nesterov", "iteration", False),
        ("sgd", "epoch", False),
        ("sgd", "epoch", True),  # the model there is the average
    ],
)
def test_a_callback_returning_true_stops_the_fit_there(cancer, solver, task, average):
    X, y = cancer
    params = {"solver": solver, "random_state": 0, "tol": 1e-8, "average": average}
    stop = StopAt(task, 7)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # none: asked for
        clf = GDLogisticRegression(**params).set_callbacks(stop).fit(X, y)
    assert clf.n_iter_ == 7 and len(clf.loss_curve_) == 7
    # fitted with the iterate of the 7th iteration, as a fit of 7 iterations
    short = fit_quietly(GDLogisticRegression(max_iter=7, **params), X, y)
    same = _same_as(solver)
    same(clf.coef_, short.coef_)
    same(clf.intercept_, short.intercept_)
    same(clf.loss_curve_, short.loss_curve_)
    # the callback was given that estimator, ready to predict
    assert_array_equal(stop.fitted.coef_, clf.coef_)
    assert_array_equal(stop.fitted.predict(X), clf.predict(X))


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_stop_with_early_stopping_scores_the_iterate_it_stopped_at(cancer, solver):
    """Stopped by a callback at the 7th iteration, an early-stopped fit is the
    fit of 7 iterations: its last iterate is scored on the held-out rows and
    may be the best (it was dropped, and validation_scores_ was one short)."""
    X, y = cancer
    params = {"solver": solver, "random_state": 0, "early_stopping": True}
    task = "epoch" if solver == "sgd" else "iteration"
    stop = StopAt(task, 7)
    clf = GDLogisticRegression(**params).set_callbacks(stop).fit(X, y)
    short = fit_quietly(GDLogisticRegression(max_iter=7, **params), X, y)
    assert clf.n_iter_ == 7 and len(clf.validation_scores_) == 7
    same = _same_as(solver)
    same(clf.validation_scores_, short.validation_scores_)
    same(clf.coef_, short.coef_)
    # still improving at 7 iterations: the iterate stopped at is the best
    assert_array_equal(clf.coef_, stop.fitted.coef_)


@pytest.mark.parametrize("average", [False, True])
def test_a_batch_callback_stops_sgd_after_that_batch(iris, average):
    X, y = iris
    stop = StopAt("batch", 2)
    clf = GDLogisticRegression(
        solver="sgd", batch_size=50, random_state=0, average=average
    )
    clf.set_callbacks(stop).fit(X, y)
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 1
    assert_array_equal(clf.coef_, stop.fitted.coef_)  # the model it saw
    assert clf.t_ == pytest.approx(2 / 3)  # two of the three batches seen


def test_partial_fit_is_one_epoch_of_batches(iris):
    X, y = iris
    monitor = callback.ScoringMonitor(scoring="accuracy")
    clf = GDLogisticRegression(batch_size=50, random_state=0).set_callbacks(monitor)
    clf.partial_fit(X, y, classes=np.unique(y))
    rows = monitor.get_logs().data
    assert [row["task_name"] for row in rows].count("partial_fit") == 1
    assert len(iteration_rows(monitor, "epoch")) == 1
    assert len(iteration_rows(monitor, "batch")) == 3


def test_partial_fit_shows_callbacks_the_whole_curve(iris):
    """At the end of the second call's epoch, the estimator a callback is
    given has n_iter_ = 2 and the two epochs' losses (it had only this
    call's)."""
    X, y = iris
    stop = StopAt("epoch", 2)  # at the end of the second call, which ends there
    clf = GDLogisticRegression(random_state=0).set_callbacks(stop)
    clf.partial_fit(X, y, classes=np.unique(y))
    clf.partial_fit(X, y)
    seen = stop.fitted
    assert seen.n_iter_ == len(seen.loss_curve_) == 2
    assert_array_equal(seen.loss_curve_, clf.loss_curve_)


def test_progress_bars_propagate_through_pipeline_and_grid_search(digits, capsys):
    images, y = digits
    pipe = Pipeline(
        [("flatten", ImageFlattener(scale=16.0)), ("clf", GDLogisticRegression())]
    )
    search = GridSearchCV(pipe, {"clf__max_iter": [5, 10]}, cv=2)
    search.set_callbacks(callback.ProgressBar(max_propagation_depth=None))
    with warnings.catch_warnings():
        # "does not support callbacks" would be a UserWarning
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(images, y)
    out = capsys.readouterr().out
    assert "GridSearchCV - fit" in out
    # 2 candidates x 2 folds + the refit, each a pipeline whose steps are ours
    assert out.count("ImageFlattener - fit") == 5
    assert out.count("GDLogisticRegression - fit") == 5


def test_scoring_monitor_inside_a_pipeline_scores_each_iteration(digits):
    images, y = digits
    monitor = callback.ScoringMonitor(scoring="accuracy")
    clf = GDLogisticRegression(solver="nesterov", max_iter=20).set_callbacks(monitor)
    pipe = Pipeline([("flatten", ImageFlattener(scale=16.0)), ("clf", clf)])
    fit_quietly(pipe, images, y)
    rows = iteration_rows(monitor)
    assert len(rows) == pipe[-1].n_iter_ == 20
    # each row's score is that of the iterate on the flattened training data
    assert rows[-1]["accuracy"] == pytest.approx(pipe.score(images, y), abs=1e-12)


def test_image_flattener_supports_the_protocol(digits):
    images, _ = digits
    monitor = callback.ScoringMonitor(
        scoring={"n_features": lambda est, X, y: float(est.n_features_in_)}
    )
    ImageFlattener().set_callbacks(monitor).fit(images, images[:, 0, 0])
    rows = monitor.get_logs().data
    assert [(row["task_name"], row["n_features"]) for row in rows] == [("fit", 64.0)]


@pytest.mark.parametrize("n_classes", [2, 3])
def test_recorder_follows_the_gd_update_rule(cancer, iris, n_classes):
    X, y = cancer if n_classes == 2 else iris
    recorder = IterationRecorder(params=True)
    lr, alpha = 0.3, 1e-2
    clf = GDLogisticRegression(learning_rate=lr, alpha=alpha, max_iter=25)
    fit_quietly(clf.set_callbacks(recorder), X, y)
    history = recorder.history_
    assert_array_equal(history["iteration"], np.arange(clf.n_iter_))
    assert_array_equal(history["cost"], clf.loss_curve_)  # the same numbers
    assert_array_equal(history["step"], np.full(clf.n_iter_, lr))
    assert_array_equal(history["coef"][-1], clf.coef_)
    Y = (y == 1)[np.newaxis] if n_classes == 2 else np.eye(3)[y].T
    w = np.zeros((X.shape[1], Y.shape[0]))
    b = 0.0 if n_classes == 2 else np.zeros((3, 1))
    for t in range(clf.n_iter_):  # w_{t+1} = w_t - lr * dw_t, from w_0 = 0
        grads, cost = core.propagate(w, b, X.T, Y.astype(float), alpha=alpha)
        w_next = history["coef"][t].T
        b_next = history["intercept"][t].reshape(np.shape(b))
        # 1e-12: the same sums as the fit's, in an order that may differ
        assert_allclose(w_next, w - lr * grads["dw"], rtol=1e-12, atol=1e-14)
        assert_allclose(b_next, b - lr * grads["db"], rtol=1e-12, atol=1e-14)
        assert history["cost"][t] == pytest.approx(cost, rel=1e-12)
        norm = np.sqrt(np.sum(grads["dw"] ** 2) + np.sum(np.square(grads["db"])))
        assert history["grad_norm"][t] == pytest.approx(norm, rel=1e-12)
        w, b = w_next, (float(b_next.item()) if n_classes == 2 else b_next)


def test_recorder_keeps_one_history_per_fit_in_a_grid_search(cancer):
    X, y = cancer
    recorder = IterationRecorder()
    clf = GDLogisticRegression(solver="nesterov").set_callbacks(recorder)
    search = GridSearchCV(clf, {"alpha": [1e-3, 1e-2]}, cv=3).fit(X, y)
    assert len(recorder.histories_) == 2 * 3 + 1  # folds, then the refit
    assert_array_equal(recorder.history_["cost"], search.best_estimator_.loss_curve_)
    assert all(np.isfinite(h["grad_norm"]).all() for h in recorder.histories_)


def test_recorder_records_epochs_of_sgd(iris):
    X, y = iris
    recorder = IterationRecorder()
    clf = GDLogisticRegression(solver="sgd", max_iter=3, random_state=0)
    fit_quietly(clf.set_callbacks(recorder), X, y)
    assert_array_equal(recorder.history_["cost"], clf.loss_curve_)
    assert np.isnan(recorder.history_["grad_norm"]).all()  # batches have theirs


def test_recorder_without_a_fit_says_what_to_do():
    with pytest.raises(AttributeError, match="set_callbacks"):
        _ = IterationRecorder().history_


def test_a_fit_that_raises_still_tears_its_callbacks_down(cancer):
    """The progress bar's drawing thread ends (teardown joins it), and the
    estimator keeps no context."""
    X, y = cancer
    clf = GDLogisticRegression(learning_rate=1e5).set_callbacks(callback.ProgressBar())
    with pytest.raises(ValueError, match="learning_rate"):
        clf.fit(X, y)
    drawing = [
        t for t in threading.enumerate() if "ProgressMonitor" in type(t).__name__
    ]
    assert drawing == []
    assert not hasattr(clf, "_callback_fit_ctx") and not hasattr(clf, "coef_")


def test_a_fit_on_a_dataframe_is_scored_without_a_feature_names_warning(cancer):
    """Callbacks get the validated array, and an estimator that takes it."""
    pd = pytest.importorskip("pandas")
    X, y = cancer
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    monitor = callback.ScoringMonitor(scoring="accuracy")
    clf = GDLogisticRegression(solver="nesterov").set_callbacks(monitor)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # "X does not have valid..."
        clf.fit(frame, y)
    assert list(clf.feature_names_in_) == list(frame.columns)  # the model's own
    assert len(iteration_rows(monitor)) == clf.n_iter_


def test_concurrent_fits_of_one_instance_with_callbacks(iris, cancer):
    """Fits of one instance run one at a time, scikit-learn's callback
    management (whose context lives on the instance) included."""
    recorder = IterationRecorder()
    est = GDLogisticRegression(solver="nesterov").set_callbacks(recorder)
    errors = []

    def fit(X, y):
        try:
            est.fit(X, y)
        except Exception as error:  # reported below
            errors.append(error)

    for _ in range(10):
        threads = [threading.Thread(target=fit, args=data) for data in (iris, cancer)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert len(recorder.histories_) == 20
    assert all(len(h["cost"]) == len(h["grad_norm"]) > 0 for h in recorder.histories_)
    assert not hasattr(est, "_callback_fit_ctx")


@pytest.mark.parametrize("solver", SOLVERS)
def test_callbacks_under_array_api_dispatch(iris, solver):
    """A torch tensor under array_api_dispatch: the callbacks see every
    iteration, the estimators they are given hold coef_ and classes_ in
    torch (as the fitted one), and score as the fitted one; the fit is the
    one without callbacks."""
    torch = pytest.importorskip("torch")
    from sklearn import config_context

    from sklearn_gd_logreg import _xp

    if _xp.array_api_compat is None:  # scikit-learn < 1.7: no dispatch
        pytest.skip("Array API dispatch needs scikit-learn >= 1.7")

    X, y = iris
    Xt, yt = torch.asarray(X), torch.asarray(y)
    params = {"solver": solver, "max_iter": 6, "random_state": 0}
    monitor = callback.ScoringMonitor(scoring="accuracy")
    recorder = IterationRecorder(params=True)
    stop = StopAt("epoch" if solver == "sgd" else "iteration", 6)
    with config_context(array_api_dispatch=True):
        plain = fit_quietly(GDLogisticRegression(**params), Xt, yt)
        watched = GDLogisticRegression(**params).set_callbacks(monitor, recorder, stop)
        fit_quietly(watched, Xt, yt)
        assert isinstance(stop.fitted.coef_, torch.Tensor)
        assert isinstance(stop.fitted.classes_, torch.Tensor)
        last_score = stop.fitted.score(Xt, yt)
    task = "epoch" if solver == "sgd" else "iteration"
    assert len(iteration_rows(monitor, task)) == watched.n_iter_ == 6
    # 1e-6: scikit-learn's accuracy under dispatch is a torch float32
    assert iteration_rows(monitor, task)[-1]["accuracy"] == pytest.approx(
        float(last_score), abs=1e-6
    )
    assert np.isfinite(recorder.history_["cost"]).all()
    assert_allclose(recorder.history_["coef"][-1], watched.coef_.numpy(), rtol=1e-12)
    assert_allclose(watched.coef_.numpy(), plain.coef_.numpy(), rtol=1e-10, atol=1e-13)


class Snapshots:
    """Checks that every model of an iteration or epoch it is given copies
    and pickles (a way to keep a "best model so far"), the copies
    predicting as the model does; keeps the models and a copy of each."""

    def __init__(self, X):
        self.X, self.models, self.copies = X, [], []

    def setup(self, estimator, context):
        pass

    def _keep(self, context, model):
        if model is None or context.task_name == "batch":
            return
        # as Dask's predict copies it, and a pickle (which holds this
        # callback, with the models kept so far)
        copies = (copy.copy(model), pickle.loads(pickle.dumps(model)))
        for kept in copies:
            assert_array_equal(kept.predict_proba(self.X), model.predict_proba(self.X))
            assert kept.learning_rate_ == model.learning_rate_ > 0
        self.models.append(model)
        self.copies.append(copies[1])

    def on_fit_task_begin(self, estimator, context, *, fitted_estimator=None):
        self._keep(context, fitted_estimator)

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self._keep(context, fitted_estimator)
        return False

    def teardown(self, estimator, context):
        pass


@pytest.mark.parametrize(
    ("task", "solver"), [("fit", "nesterov"), ("fit", "sgd"), ("partial_fit", "gd")]
)
def test_each_iterations_model_can_be_copied_pickled_and_fitted_on(iris, task, solver):
    """A callback's model of one iteration is a whole fitted estimator: it
    copies and pickles (a model without ``learning_rate_`` made copying
    raise AttributeError, so that ScoringMonitor broke every Dask fit),
    and partial_fit continues from a copy of it. The model is made alike
    for every solver, but for the epochs of "sgd" (and of partial_fit,
    whatever the solver)."""
    X, y = iris
    snapshots = Snapshots(X)
    clf = GDLogisticRegression(solver=solver, max_iter=3, random_state=0)
    clf.set_callbacks(snapshots)
    if task == "fit":
        fit_quietly(clf, X, y)
    else:
        clf.partial_fit(X, y, classes=np.unique(y))
    assert len(snapshots.models) >= 3
    last = snapshots.models[-1]  # the end of the fit: the fitted estimator
    assert_array_equal(last.coef_, clf.coef_)
    assert last.t_ == clf.t_ and last.n_iter_ == clf.n_iter_
    middle = snapshots.copies[len(snapshots.copies) // 2]
    coef = middle.coef_.copy()
    middle.partial_fit(X, y)
    assert np.all(np.isfinite(middle.coef_)) and not np.array_equal(middle.coef_, coef)


def test_an_iterations_model_does_not_carry_an_earlier_fits_state(iris):
    """The model of an iteration copies the estimator called, which may hold
    a fit before: what continuing from it reads (the epochs seen, the
    average of "sgd") is its own, so partial_fit on it does the same
    after a fit with averaging as after none."""
    X, y = iris

    def third_epoch(clf):
        stop = StopAt("epoch", 3)
        fit_quietly(clf.set_callbacks(stop), X, y)
        return stop.fitted

    params = {"solver": "sgd", "max_iter": 5, "random_state": 0}
    fresh = third_epoch(GDLogisticRegression(**params))
    refitted = GDLogisticRegression(**params, average=True)
    fit_quietly(refitted, X, y)  # its state: t_ = 5, an average of iterates
    after = third_epoch(refitted.set_params(average=False))
    assert_array_equal(after.coef_, fresh.coef_)
    assert after.t_ == fresh.t_ == after.n_iter_ == 3
    fresh.partial_fit(X, y)
    after.partial_fit(X, y)
    assert_array_equal(after.coef_, fresh.coef_)


def test_scoring_monitor_scores_each_iteration_of_a_dask_fit(iris):
    """ScoringMonitor predicts with each iteration's model, which Dask's
    predict copies."""
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    X, y = iris
    monitor = callback.ScoringMonitor(scoring="accuracy")
    clf = GDLogisticRegression(solver="nesterov", max_iter=4).set_callbacks(monitor)
    with dask.config.set(scheduler="synchronous"):
        fit_quietly(clf, da.from_array(X, chunks=50), da.from_array(y, chunks=50))
    rows = iteration_rows(monitor)
    assert len(rows) == clf.n_iter_ == 4
    assert rows[-1]["accuracy"] == pytest.approx(clf.score(X, y), abs=1e-12)


def test_the_last_epochs_model_has_the_fitted_estimators_epochs_and_step(iris):
    """The model of sgd's last epoch is the fitted one: the same epochs seen
    (they were counted from 0 after a warm start: 3 of 6, which the
    invscaling schedule reads) and learning_rate_ (the base step, as the
    estimator's: it was the scheduled one, 0.29 against 0.69)."""
    X, y = iris
    params = {"solver": "sgd", "max_iter": 3, "tol": 0.0, "random_state": 0}
    clf = fit_quietly(
        GDLogisticRegression(
            **params, warm_start=True, learning_rate_schedule="invscaling"
        ),
        X,
        y,
    )
    snapshots = Snapshots(X)
    fit_quietly(clf.set_callbacks(snapshots), X, y)
    last_epoch = snapshots.models[-2]  # [-1]: the end of the fit
    assert_array_equal(last_epoch.coef_, clf.coef_)
    assert last_epoch.t_ == clf.t_ == 6.0
    assert last_epoch.learning_rate_ == clf.learning_rate_
