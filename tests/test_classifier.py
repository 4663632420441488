"""GDLogisticRegression: the course's algorithm, scikit-learn's optimum and
the estimator contract."""

import importlib.util
import warnings

import numpy as np
import pytest
from helpers import fit_quietly
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_gd_logreg import GDLogisticRegression, core


@pytest.fixture
def binary(rng):
    X, y = make_classification(n_samples=120, n_features=5, random_state=0)
    return X, y


def test_alpha_zero_is_the_course_algorithm(binary):
    X, y = binary
    est = GDLogisticRegression(learning_rate=0.005, alpha=0.0, tol=0.0, max_iter=300)
    fit_quietly(est, X, y)
    w0, b0 = core.initialize_with_zeros(X.shape[1])
    params, _, costs = core.optimize(
        w0,
        b0,
        X.T,
        y[np.newaxis].astype(float),
        num_iterations=300,
        learning_rate=0.005,
    )
    assert_allclose(est.coef_, params["w"].T, rtol=1e-10)
    assert_allclose(est.intercept_, [params["b"]], rtol=1e-10)
    assert_allclose(est.loss_curve_[::100], costs, rtol=1e-10)
    assert est.n_iter_ == 300 and est.loss_curve_.shape == (300,)
    assert_array_equal(est.predict(X), core.predict(params["w"], params["b"], X.T)[0])


@pytest.mark.parametrize("dataset", ["cancer", "iris"])
def test_reaches_the_scikit_learn_optimum(dataset, request):
    X, y = request.getfixturevalue(dataset)
    alpha = 1e-2
    ours = GDLogisticRegression(alpha=alpha, tol=1e-8, max_iter=100_000).fit(X, y)
    ref = LogisticRegression(C=1 / (alpha * len(y)), tol=1e-12, max_iter=10_000)
    ref.fit(X, y)
    assert ours.coef_.shape == ref.coef_.shape
    assert_allclose(ours.coef_, ref.coef_, atol=1e-4)
    assert_allclose(ours.intercept_, ref.intercept_, atol=1e-4)
    assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-4)


def test_fitted_attributes_and_shapes(iris):
    X, y = iris
    est = fit_quietly(GDLogisticRegression(max_iter=50), X, y)
    assert est.coef_.shape == (3, 4) and est.intercept_.shape == (3,)
    assert_array_equal(est.classes_, [0, 1, 2])
    assert est.n_iter_ == 50 and est.loss_curve_.shape == (50,)
    assert est.n_features_in_ == 4
    assert est.learning_rate_ > 0


def test_string_labels_multiclass(iris):
    X, y = iris
    labels = np.array(["setosa", "versicolor", "virginica"])
    names = labels[y]
    a = fit_quietly(GDLogisticRegression(max_iter=200), X, y)
    b = fit_quietly(GDLogisticRegression(max_iter=200), X, names)
    assert_array_equal(b.classes_, ["setosa", "versicolor", "virginica"])
    assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-12)
    assert_array_equal(b.predict(X), labels[a.predict(X)])
    assert b.score(X, names) > 0.9


def test_bool_labels(binary):
    X, y = binary
    est = fit_quietly(GDLogisticRegression(max_iter=200), X, y.astype(bool))
    assert est.classes_.dtype == bool
    assert est.predict(X).dtype == bool
    assert est.score(X, y.astype(bool)) > 0.85


def test_probabilities_scores_and_predictions_agree(iris, binary):
    for X, y in (iris, binary):
        est = fit_quietly(GDLogisticRegression(max_iter=300), X, y)
        proba = est.predict_proba(X)
        assert np.all((proba >= 0) & (proba <= 1))
        assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
        assert_allclose(est.predict_log_proba(X), np.log(proba), rtol=1e-10, atol=1e-15)
        scores = est.decision_function(X)
        assert_array_equal(est.predict(X), est.classes_[proba.argmax(axis=1)])
        if scores.ndim == 1:
            assert_allclose(proba[:, 1], 1 / (1 + np.exp(-scores)), rtol=1e-12)
            assert_array_equal(est.predict(X), est.classes_[(scores > 0).astype(int)])
        else:
            assert_array_equal(scores.argmax(axis=1), proba.argmax(axis=1))


def test_log_proba_is_finite_when_proba_rounds_to_zero():
    X = np.array([[-1.0], [1.0]])
    est = fit_quietly(GDLogisticRegression(max_iter=1), X, [0, 1])
    est.coef_ = np.array([[1000.0]])
    log_proba = est.predict_log_proba(np.array([[1.0]]))
    assert_allclose(log_proba, [[-1000.0, 0.0]], rtol=1e-12)


def test_sample_weight_two_equals_a_duplicated_row(binary):
    X, y = binary
    sw = np.ones(len(y))
    sw[::7] = 2.0
    a = fit_quietly(GDLogisticRegression(tol=0, max_iter=500), X, y, sample_weight=sw)
    X2, y2 = np.vstack([X, X[::7]]), np.concatenate([y, y[::7]])
    b = fit_quietly(GDLogisticRegression(tol=0, max_iter=500), X2, y2)
    assert_allclose(a.coef_, b.coef_, rtol=1e-9)
    assert_allclose(a.intercept_, b.intercept_, rtol=1e-9)
    assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-10)


def test_zero_weight_equals_dropping_the_row(binary):
    X, y = binary
    sw = np.ones(len(y))
    sw[:10] = 0.0
    a = fit_quietly(GDLogisticRegression(tol=0, max_iter=300), X, y, sample_weight=sw)
    b = fit_quietly(GDLogisticRegression(tol=0, max_iter=300), X[10:], y[10:])
    assert_allclose(a.coef_, b.coef_, rtol=1e-9)


def test_class_weight_balanced_equals_its_sample_weights(rng):
    X = rng.normal(size=(100, 3))
    y = np.where(np.arange(100) < 80, "a", "b")
    balanced = fit_quietly(
        GDLogisticRegression(class_weight="balanced", tol=0, max_iter=200), X, y
    )
    sw = np.where(y == "a", 100 / (2 * 80), 100 / (2 * 20))
    by_hand = fit_quietly(
        GDLogisticRegression(tol=0, max_iter=200), X, y, sample_weight=sw
    )
    assert_allclose(balanced.coef_, by_hand.coef_, rtol=1e-10)
    as_dict = fit_quietly(
        GDLogisticRegression(class_weight={"a": 0.625, "b": 2.5}, tol=0, max_iter=200),
        X,
        y,
    )
    assert_allclose(as_dict.coef_, by_hand.coef_, rtol=1e-10)
    # Balancing moves the decision towards the minority class.
    plain = fit_quietly(GDLogisticRegression(tol=0, max_iter=200), X, y)
    assert (balanced.predict(X) == "b").sum() > (plain.predict(X) == "b").sum()


def test_class_weight_balanced_weighs_repetitions_and_weights_alike(rng):
    """ "balanced" counts each class by its samples' weights, as
    LogisticRegression does: a sample of weight 3 is three samples (it was
    counted once, so the classes' weights, and the model, differed)."""
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + rng.normal(size=60) > 0.8).astype(int)
    weight = np.where(y == 1, 3, 1)
    params = dict(class_weight="balanced", learning_rate=0.5, max_iter=100, tol=0)
    weighted = fit_quietly(GDLogisticRegression(**params), X, y, sample_weight=weight)
    repeated = fit_quietly(
        GDLogisticRegression(**params), X.repeat(weight, 0), y.repeat(weight)
    )
    assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-10)
    assert_allclose(weighted.intercept_, repeated.intercept_, rtol=1e-10)


def test_loss_curve_is_non_increasing_with_the_auto_step(cancer):
    X, y = cancer
    est = fit_quietly(GDLogisticRegression(max_iter=500), X, y)
    assert np.all(np.diff(est.loss_curve_) <= 1e-12)
    assert_allclose(est.loss_curve_[0], np.log(2), rtol=1e-12)


def test_tol_stops_the_loop_and_is_met(cancer):
    X, y = cancer
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = GDLogisticRegression(alpha=1e-2, tol=1e-3).fit(X, y)
    assert 1 < est.n_iter_ < 2000
    assert len(est.loss_curve_) == est.n_iter_
    grads, _ = core.propagate(
        est.coef_.T, float(est.intercept_[0]), X.T, y[np.newaxis] * 1.0, alpha=1e-2
    )
    assert max(np.abs(grads["dw"]).max(), abs(grads["db"])) <= 1e-3


def test_convergence_warning_names_max_iter_and_learning_rate(cancer):
    X, y = cancer
    with pytest.warns(ConvergenceWarning, match=r"max_iter=5\b.*learning_rate"):
        GDLogisticRegression(max_iter=5).fit(X, y)


def test_warm_start_continues_where_it_stopped(binary):
    X, y = binary
    once = fit_quietly(GDLogisticRegression(tol=0, max_iter=100), X, y)
    twice = GDLogisticRegression(tol=0, max_iter=50, warm_start=True)
    fit_quietly(twice, X, y)
    fit_quietly(twice, X, y)
    assert_allclose(twice.coef_, once.coef_, rtol=1e-12)
    assert_allclose(twice.loss_curve_, once.loss_curve_[50:], rtol=1e-12)


def test_warm_start_with_other_classes_is_an_error(binary):
    X, y = binary
    est = fit_quietly(GDLogisticRegression(max_iter=10, warm_start=True), X, y)
    with pytest.raises(ValueError, match="warm_start"):
        est.fit(X, y + 5)
    assert_array_equal(est.classes_, [0, 1])


def test_verbose_prints_the_course_cost_lines(binary, capsys):
    fit_quietly(GDLogisticRegression(verbose=1, max_iter=201, tol=0), *binary)
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out] == [
        f"Cost after iteration {i}" for i in (0, 100, 200)
    ]
    assert out[0] == "Cost after iteration 0: 0.693147"


def test_verbose_partial_fit_counts_the_epochs_of_earlier_calls(binary, capsys):
    """Each call printed "Cost after iteration 0"."""
    est = GDLogisticRegression(verbose=1, random_state=0)
    for _ in range(3):
        est.partial_fit(*binary, classes=[0, 1])
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out] == [
        f"Cost after iteration {i}" for i in (0, 1, 2)
    ]
    assert [float(line.split(": ")[1]) for line in out] == pytest.approx(
        est.loss_curve_, abs=1e-6
    )


def test_fit_intercept_false(binary):
    X, y = binary
    est = fit_quietly(GDLogisticRegression(fit_intercept=False, max_iter=100), X, y)
    assert_array_equal(est.intercept_, [0.0])


def test_float32_stays_float32(binary):
    X, y = binary
    est = fit_quietly(GDLogisticRegression(max_iter=100), X.astype(np.float32), y)
    assert est.coef_.dtype == np.float32 and est.intercept_.dtype == np.float32
    ref = fit_quietly(GDLogisticRegression(max_iter=100), X, y)
    assert_allclose(est.coef_, ref.coef_, rtol=1e-4, atol=1e-5)


def test_feature_names_from_a_dataframe(binary):
    import pandas as pd

    X, y = binary
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    est = fit_quietly(GDLogisticRegression(max_iter=10), df, y)
    assert_array_equal(est.feature_names_in_, df.columns)


@pytest.mark.parametrize(
    "params, name",
    [
        ({"learning_rate": -0.1}, "learning_rate"),
        ({"learning_rate": "fast"}, "learning_rate"),
        ({"max_iter": 0}, "max_iter"),
        ({"tol": -1.0}, "tol"),
        ({"alpha": -1.0}, "alpha"),
        ({"class_weight": "auto"}, "class_weight"),
    ],
)
def test_bad_parameters_are_named(binary, params, name):
    with pytest.raises(InvalidParameterError, match=name):
        GDLogisticRegression(**params).fit(*binary)


def test_bad_inputs_get_clear_errors(binary):
    X, y = binary
    with pytest.raises(ValueError, match="only one class"):
        GDLogisticRegression().fit(X, np.zeros(len(y)))
    with pytest.raises(ValueError, match="sample_weight"):
        GDLogisticRegression().fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="sample_weight is zero for every"):
        GDLogisticRegression().fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match=r"class_weight=.* every sample with zero"):
        GDLogisticRegression(class_weight={0: 0.0, 1: 0.0}).fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        GDLogisticRegression().fit(np.full_like(X, np.nan), y)
    with pytest.raises(NotFittedError):
        GDLogisticRegression().predict(X)


@pytest.fixture
def diverging():
    return GDLogisticRegression(learning_rate=1e6, alpha=1.0, max_iter=500)


def test_divergence_is_a_clear_error_and_fits_nothing(binary, diverging):
    X, y = binary
    with pytest.raises(ValueError, match=r"iteration \d+.*learning_rate=1000000\.0"):
        diverging.fit(X, y)
    with pytest.raises(NotFittedError):
        diverging.predict(X)
    assert not hasattr(diverging, "n_features_in_")


def test_divergence_keeps_the_previous_model(binary, diverging):
    X, y = binary
    est = fit_quietly(GDLogisticRegression(max_iter=100), X, y)
    coef, proba = est.coef_.copy(), est.predict_proba(X)
    est.set_params(**diverging.get_params())
    with pytest.raises(ValueError, match="learning_rate"):
        est.fit(X[:, :3], y)
    assert est.n_features_in_ == X.shape[1]
    assert_array_equal(est.coef_, coef)
    assert_array_equal(est.predict_proba(X), proba)


def test_clone_is_unfitted(binary):
    est = fit_quietly(GDLogisticRegression(max_iter=5), *binary)
    with pytest.raises(NotFittedError):
        clone(est).predict(binary[0])


def test_fits_on_every_scikit_learn_and_has_callbacks_from_1_9(cancer):
    """Before 1.9 there is no ``set_callbacks``, and fits are as they were."""
    has_callbacks = importlib.util.find_spec("sklearn.callback") is not None
    clf = GDLogisticRegression(solver="nesterov").fit(*cancer)
    assert clf.score(*cancer) > 0.97
    assert hasattr(clf, "set_callbacks") is has_callbacks


def test_a_collection_inside_the_fit_lock_does_not_deadlock(monkeypatch):
    """Creating an estimator's fit lock may start a garbage collection that
    forgets another's lock, in the same thread (the whole suite hung there)."""
    import gc
    import threading

    from sklearn_gd_logreg import _fitting

    dead = GDLogisticRegression()
    dead.cycle = dead  # freed only by a collection
    _fitting._lock_of(dead)
    del dead
    finalize = _fitting.weakref.finalize

    def collect_first(*args, **kwargs):
        gc.collect()  # what any allocation there may start
        return finalize(*args, **kwargs)

    monkeypatch.setattr(_fitting.weakref, "finalize", collect_first)
    thread = threading.Thread(
        target=_fitting._lock_of, args=(GDLogisticRegression(),), daemon=True
    )
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive()
