"""The workflows users asked for: images in a Pipeline, GridSearchCV over
learning_rate, cross_val_score next to LogisticRegression."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sklearn_gd_logreg import GDLogisticRegression, ImageFlattener


@pytest.fixture(scope="module")
def digit_images():
    digits = load_digits()
    return digits.images, digits.target  # (1797, 8, 8) floats in 0..16


def test_pipeline_on_images(digit_images):
    images, y = digit_images
    X_train, X_test, y_train, y_test = train_test_split(images, y, random_state=0)
    pipe = Pipeline(
        [("flatten", ImageFlattener(scale=16.0)), ("clf", GDLogisticRegression())]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(X_train, y_train)
    assert pipe.score(X_test, y_test) > 0.93
    # A coefficient row maps back to an 8x8 image.
    assert pipe["flatten"].inverse_transform(pipe["clf"].coef_).shape == (10, 8, 8)


def test_grid_search_over_learning_rate(digit_images):
    images, y = digit_images
    pipe = make_pipeline(ImageFlattener(scale=16.0), GDLogisticRegression(max_iter=100))
    grid = GridSearchCV(
        pipe, {"gdlogisticregression__learning_rate": [0.001, 0.1, 1.0]}, cv=3
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid.fit(images, y)
    scores = grid.cv_results_["mean_test_score"]
    # 100 steps of 0.001 barely move from zero; 1.0 learns the digits.
    assert scores[0] < scores[2]
    assert grid.best_params_ == {"gdlogisticregression__learning_rate": 1.0}
    assert grid.best_score_ > 0.85


def test_grid_search_survives_a_diverging_grid_point(digit_images):
    images, y = digit_images
    pipe = make_pipeline(
        ImageFlattener(scale=16.0), GDLogisticRegression(max_iter=50, alpha=1.0)
    )
    grid = GridSearchCV(
        pipe,
        {"gdlogisticregression__learning_rate": [1e-3, 1e6]},
        cv=2,
        error_score=np.nan,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grid.fit(images, y)
    messages = {w.category: str(w.message) for w in caught}
    assert "learning_rate=1000000.0" in messages[FitFailedWarning]
    assert "non-finite" in messages[UserWarning]
    scores = grid.cv_results_["mean_test_score"]
    assert np.isfinite(scores[0]) and np.isnan(scores[1])
    assert grid.best_params_ == {"gdlogisticregression__learning_rate": 1e-3}


def test_cross_val_score_next_to_logistic_regression(digit_images):
    images, y = digit_images
    X = images.reshape(len(images), -1)
    alpha = 1e-2
    # 300 iterations, not the default 2000: the scores are those of the
    # optimum from about 200 on (mean 0.9238 at 300, 0.9232 at 2000)
    ours = make_pipeline(
        StandardScaler(), GDLogisticRegression(alpha=alpha, max_iter=300)
    )
    ref = make_pipeline(
        StandardScaler(),
        LogisticRegression(C=1 / (alpha * len(y) * 0.8), max_iter=5000),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours_scores = cross_val_score(ours, X, y, cv=5)
    # The reference on one BLAS thread: its lbfgs on 2 OpenBLAS threads took
    # 1.2-6 s (0.1 s on one) on a 2-core machine that another job kept busy;
    # the same scores.
    with threadpool_limits(limits=1, user_api="blas"):
        ref_scores = cross_val_score(ref, X, y, cv=5)
    assert ours_scores.shape == (5,)
    assert_allclose(ours_scores.mean(), ref_scores.mean(), atol=0.02)
