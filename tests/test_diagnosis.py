"""The ConvergenceWarning says which causes it measured, with their fixes."""

import warnings
from itertools import pairwise

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning

from sklearn_gd_logreg import GDLogisticRegression, _fitting, core


def warning_of(clf, X, y) -> str:
    """The one ConvergenceWarning of ``clf.fit(X, y)``, which must come from
    the caller's line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X, y)
    found = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(found) == 1
    assert found[0].filename == __file__  # stacklevel: the user's fit call
    return str(found[0].message)


def largest_gradient_entry(clf, X, y) -> float:
    """``problem.optimality`` at the fitted model, from the course's math."""
    w, b = clf.coef_.T, float(clf.intercept_[0])
    grads, _ = core.propagate(
        w, b, X.T, (y == clf.classes_[1])[None] * 1.0, alpha=clf.alpha
    )
    return max(np.abs(grads["dw"]).max(), abs(float(grads["db"])))


@pytest.fixture(scope="module")
def raw_cancer():
    """Breast cancer as it comes: column scales from 0.03 to 4254."""
    return load_breast_cancer(return_X_y=True)


def test_features_on_very_different_scales(raw_cancer):
    X, y = raw_cancer
    message = warning_of(GDLogisticRegression(max_iter=50), X, y)
    scales = np.abs(X).max(axis=0)  # every row: 569 < 1000 samples
    ratio = scales.max() / scales.min()
    assert (
        f"ranges from {scales.min():.3g} to {scales.max():.3g} (ratio {ratio:.3g})"
        in message
    )
    assert "StandardScaler" in message and "MaxAbsScaler" in message


def test_scaled_features_are_not_blamed(cancer):
    X, y = cancer  # standardised: largest |x| of a column from 2.4 to 12
    message = warning_of(GDLogisticRegression(max_iter=50), X, y)
    assert "scales" not in message


def test_a_fixed_learning_rate_far_below_the_stable_step(cancer):
    X, y = cancer
    auto = GDLogisticRegression(max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        stable = auto.fit(X, y).learning_rate_  # 1/L, as "auto" estimates it
    message = warning_of(GDLogisticRegression(learning_rate=1e-3, max_iter=50), X, y)
    assert (
        f"learning_rate=0.001 is {stable / 1e-3:.3g} x below the stable step "
        f"1/L = {stable:.3g}: use learning_rate='auto'" in message
    )
    # a step near 1/L is not blamed, nor is "auto"
    near = warning_of(GDLogisticRegression(learning_rate=stable / 2, max_iter=50), X, y)
    assert "stable step" not in near
    assert "stable step" not in warning_of(GDLogisticRegression(max_iter=50), X, y)


@pytest.mark.parametrize("solver", ["gd", "sgd"])
def test_slow_progress_suggests_nesterov(cancer, solver):
    X, y = cancer
    clf = GDLogisticRegression(solver=solver, max_iter=40, random_state=0)
    message = warning_of(clf, X, y)
    fall = clf.loss_curve_[-5] - clf.loss_curve_[-1]  # the last 4 of 40
    unit = "epochs" if solver == "sgd" else "iterations"
    assert f"the cost fell by {fall:.3g}" in message
    assert f"over the last 4 of 40 {unit}" in message
    assert "solver='bb' or 'nesterov' needs far fewer iterations" in message


@pytest.mark.parametrize("learning_rate", ["auto", 3.78])
def test_a_cost_that_rises_and_falls_is_a_step_too_long(learning_rate):
    """Every 10th row, 10 x the others: the "auto" step's subsample (every
    10th row from the first) misses them all, its step is about 10 x too
    long, and the cost went up and down; the warning said "slow progress"."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10_000, 5))
    y = (X[:, 0] + rng.normal(size=10_000) > 0).astype(int)
    X[5::10] *= 10
    clf = GDLogisticRegression(learning_rate=learning_rate, max_iter=100)
    message = warning_of(clf, X, y)
    curve = clf.loss_curve_[-11:]
    rises = sum(b > a for a, b in pairwise(curve))
    assert rises >= 4  # the cost goes up and down
    assert f"The cost rose in {rises} of the last 10 iterations" in message
    assert "is too long for these data" in message
    assert ("estimated on every few samples" in message) == (learning_rate == "auto")
    assert "Slow progress" not in message
    stable = GDLogisticRegression(solver="nesterov").fit(X, y)
    assert stable.loss_curve_[-1] < min(curve) - 0.05  # far below, as it says


def test_float32_rounding_is_not_a_rising_cost(cancer):
    """Near its minimum a float32 fit's cost moves by its rounding, ~1e-7
    of it, up as often as down: that was called a step too long."""
    X, y = cancer
    clf = GDLogisticRegression(max_iter=3000, tol=1e-9, alpha=1e-2)
    message = warning_of(clf, X.astype(np.float32), y)
    curve = np.asarray(clf.loss_curve_[-301:])
    rises = np.diff(curve)[np.diff(curve) > 0] / curve[:-1][np.diff(curve) > 0]
    assert len(rises) > 10 and rises.max() < 1e-6  # by rounding: up to 5e-8
    assert "The cost rose" not in message


@pytest.mark.parametrize("solver", ["nesterov", "bb"])
def test_line_search_solvers_are_not_told_to_switch(cancer, solver):
    X, y = cancer
    message = warning_of(GDLogisticRegression(solver=solver, max_iter=10), X, y)
    assert "needs far fewer" not in message
    assert "a larger alpha" in message


@pytest.mark.parametrize("solver", ["gd", "nesterov", "sgd"])
def test_says_how_far_from_stationarity_it_stopped(cancer, solver):
    X, y = cancer
    clf = GDLogisticRegression(solver=solver, max_iter=20, random_state=0)
    message = warning_of(clf, X, y)
    optimality = largest_gradient_entry(clf, X, y)
    # the twin's sums and the reference's agree to ~1e-15; 3 digits shown
    assert f"largest gradient entry of {optimality:.3g}, " in message
    assert f"{optimality / clf.tol:.3g} x tol" in message
    assert message.splitlines()[0].startswith(
        f"GDLogisticRegression(solver={solver!r}) did not converge in max_iter=20"
    )


@pytest.mark.parametrize(
    ("solver", "gradients"), [("gd", 0), ("nesterov", 0), ("sgd", 1)]
)
def test_the_diagnosis_reads_the_data_at_most_once(
    cancer, monkeypatch, solver, gradients
):
    """Full-batch solvers measured the gradient already; "sgd" takes one."""
    X, y = cancer
    calls = []
    propagate, diagnose = core.propagate, _fitting.diagnose

    def counting_diagnose(*args):
        monkeypatch.setattr(
            core, "propagate", lambda *a, **k: calls.append(1) or propagate(*a, **k)
        )
        try:
            return diagnose(*args)
        finally:
            monkeypatch.setattr(core, "propagate", propagate)

    monkeypatch.setattr(_fitting, "diagnose", counting_diagnose)
    warning_of(GDLogisticRegression(solver=solver, max_iter=5, random_state=0), X, y)
    assert len(calls) == gradients


def test_no_diagnosis_when_the_fit_converges(cancer, monkeypatch):
    def fail(*args):
        raise AssertionError("diagnosed a fit that converged")

    monkeypatch.setattr(_fitting, "diagnose", fail)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        GDLogisticRegression(solver="nesterov").fit(*cancer)
