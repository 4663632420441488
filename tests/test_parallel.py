"""Parallel use: GridSearchCV on processes and threads, concurrent fits, and
sample_weight through scikit-learn's metadata routing."""

import threading
import warnings

import numpy as np
import pytest
import sklearn
from joblib import parallel_config
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, make_scorer
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from sklearn_gd_logreg import GDLogisticRegression, ImageFlattener

SCORES = [
    "mean_test_score",
    "split0_test_score",
    "split1_test_score",
    "split2_test_score",
    "mean_train_score",
]


def search(n_jobs):
    pipe = Pipeline(
        [
            ("flatten", ImageFlattener(scale=16.0)),
            ("clf", GDLogisticRegression(max_iter=30)),
        ]
    )
    return GridSearchCV(
        pipe,
        {"clf__learning_rate": ["auto", 0.5], "clf__alpha": [1e-4, 1e-2]},
        cv=3,
        n_jobs=n_jobs,
        scoring="neg_log_loss",  # continuous: any change in the model shows
        return_train_score=True,
    )


@pytest.fixture(scope="module")
def sequential(digits):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return search(n_jobs=1).fit(*digits)


@pytest.mark.parametrize(  # loky starts worker processes: 1.2 s
    "backend", [pytest.param("loky", marks=pytest.mark.slow), "threading"]
)
def test_grid_search_in_parallel_equals_sequential(digits, sequential, backend):
    with parallel_config(backend=backend), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        parallel = search(n_jobs=2).fit(*digits)
    for key in SCORES:
        assert np.all(np.isfinite(sequential.cv_results_[key])), key
        assert_allclose(
            parallel.cv_results_[key],
            sequential.cv_results_[key],
            rtol=1e-12,
            atol=0,
            err_msg=key,
        )
    assert parallel.best_params_ == sequential.best_params_
    assert_allclose(
        parallel.best_estimator_["clf"].coef_,
        sequential.best_estimator_["clf"].coef_,
        rtol=1e-12,
        atol=0,
    )


def test_two_threads_fitting_clones_equal_sequential_fits(digits):
    images, y = digits
    X = ImageFlattener(scale=16.0).fit_transform(images)
    # Two different problems, so that crossed state would show.
    problems = [
        (GDLogisticRegression(max_iter=200, alpha=1e-3), X, y),
        (
            GDLogisticRegression(max_iter=200, learning_rate=0.3, tol=0.0),
            X[::-1],
            y[::-1] % 2,
        ),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        expected = [clone(est).fit(Xp, yp) for est, Xp, yp in problems]

    fitted = [clone(est) for est, _, _ in problems]
    errors = []
    start = threading.Barrier(len(problems))

    def fit(i):
        try:
            _, Xp, yp = problems[i]
            start.wait()
            fitted[i].fit(Xp, yp)
        except BaseException as error:  # reported in the main thread
            errors.append(error)

    threads = [threading.Thread(target=fit, args=(i,)) for i in range(len(problems))]
    # warnings.catch_warnings is not thread-safe: one around both threads.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors, errors
    for got, want in zip(fitted, expected, strict=True):
        assert_array_equal(got.classes_, want.classes_)
        assert_allclose(got.coef_, want.coef_, rtol=1e-12, atol=0)
        assert_allclose(got.intercept_, want.intercept_, rtol=1e-12, atol=0)
        assert got.n_iter_ == want.n_iter_
        assert_allclose(got.loss_curve_, want.loss_curve_, rtol=1e-12, atol=0)


@pytest.fixture
def weighted():
    X, y = make_classification(n_samples=90, n_features=4, random_state=0)
    weight = np.where(y == 1, 5.0, 1.0)  # weights that move the model
    weight[::7] = 0.0
    return X, y, weight


def test_sample_weight_routed_through_pipeline_and_grid_search(weighted):
    X, y, weight = weighted
    params = {"max_iter": 300, "alpha": 1e-2}
    direct = GDLogisticRegression(**params).fit(X, y, sample_weight=weight)
    unweighted = GDLogisticRegression(**params).fit(X, y)
    # The weights change the model, so reaching the estimator is observable.
    assert np.abs(direct.coef_ - unweighted.coef_).max() > 1e-2

    with sklearn.config_context(enable_metadata_routing=True):
        clf = GDLogisticRegression(**params).set_fit_request(sample_weight=True)
        pipe = Pipeline([("clf", clf)])
        # Weighted accuracy too: an explicit scorer routes the same way on
        # every supported scikit-learn (the default scorer's routing changed).
        scorer = make_scorer(accuracy_score).set_score_request(sample_weight=True)
        grid = GridSearchCV(pipe, {"clf__alpha": [1e-2]}, cv=3, scoring=scorer)
        grid.fit(X, y, sample_weight=weight)
        # Refit on all the data with the weights: the direct fit.
        assert_allclose(
            grid.best_estimator_["clf"].coef_, direct.coef_, rtol=1e-12, atol=0
        )
        # Each split is fitted on its own rows' weights.
        folds = StratifiedKFold(3).split(X, y)
        for k, (train, test) in enumerate(folds):
            split = GDLogisticRegression(**params)
            split.fit(X[train], y[train], sample_weight=weight[train])
            assert_allclose(
                grid.cv_results_[f"split{k}_test_score"],
                [split.score(X[test], y[test], sample_weight=weight[test])],
                rtol=1e-12,
                atol=0,
            )
        unrouted = GridSearchCV(pipe, {"clf__alpha": [1e-2]}, cv=3).fit(X, y)
    assert_allclose(
        unrouted.best_estimator_["clf"].coef_, unweighted.coef_, rtol=1e-12, atol=0
    )


def test_sample_weight_without_a_request_is_an_error(weighted):
    X, y, weight = weighted
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline([("clf", GDLogisticRegression(max_iter=5))])
        with pytest.raises(ValueError, match="sample_weight"):
            GridSearchCV(pipe, {"clf__alpha": [1e-2]}, cv=3).fit(
                X, y, sample_weight=weight
            )
