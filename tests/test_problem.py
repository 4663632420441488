"""Layer 2 on its own: penalties, the problem object and the solvers called
directly on a Problem, without the estimator."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import LogisticRegression

from sklearn_gd_logreg import core
from sklearn_gd_logreg._penalties import Penalty, make_penalty
from sklearn_gd_logreg._problem import Problem
from sklearn_gd_logreg._solvers import gd, nesterov, sgd
from sklearn_gd_logreg._step_size import auto_learning_rate


def test_prox_is_soft_thresholding_and_the_identity_without_l1(rng):
    w = rng.normal(size=(30, 2))
    shrunk = Penalty(0.5, 0.1).prox(w, 0.4)  # threshold 0.2
    assert_allclose(shrunk, np.sign(w) * np.maximum(np.abs(w) - 0.2, 0), rtol=0)
    assert Penalty(0.0, 0.1).prox(w, 0.4) is w


def test_prox_minimises_its_proximal_objective(rng):
    """prox(v, t) = argmin_u ||u - v||^2 / (2t) + t-scaled L1: no coordinate
    perturbation of the result does better."""
    v, t, penalty = rng.normal(size=(12, 1)), 0.3, Penalty(0.7, 0.0)
    u = penalty.prox(v, t)

    def objective(u):
        return np.sum((u - v) ** 2) / (2 * t) + penalty.nonsmooth(u)

    for j in range(len(u)):
        for eps in (1e-6, -1e-6):
            moved = u.copy()
            moved[j] += eps
            assert objective(moved) >= objective(u)


def test_penalty_values():
    w = np.array([[3.0], [-4.0]])
    assert Penalty(0.5, 0.2).value(w) == 0.5 * 7 + 0.1 * 25
    assert Penalty(0.5, 0.2).nonsmooth(w) == 0.5 * 7
    assert Penalty(0.0, 0.2).nonsmooth(w) == 0.0
    assert make_penalty(None, 3.0, 0.5) == Penalty(0.0, 0.0)
    assert make_penalty("l1", 3.0, 0.5) == Penalty(3.0, 0.0)


def test_optimality_is_the_gradient_mapping(rng):
    w, dw = rng.normal(size=(5, 1)), rng.normal(size=(5, 1))
    assert Penalty(0.0, 1.0).optimality(w, dw, 0.1) == np.abs(dw).max()
    penalty = Penalty(0.3, 0.0)
    mapping = (w - penalty.prox(w - 0.1 * dw, 0.1)) / 0.1
    assert penalty.optimality(w, dw, 0.1) == np.abs(mapping).max()
    # at an L1 minimum, zero weights may keep a gradient up to l1
    assert penalty.optimality(np.zeros((2, 1)), np.array([[0.3], [-0.2]]), 1.0) == 0


@pytest.fixture
def problem(rng):
    X = rng.normal(size=(6, 300))  # the core's layout
    w_true = rng.normal(size=(6, 1))
    Y = (rng.random((1, 300)) < core.sigmoid(w_true.T @ X + 0.3)).astype(float)
    return Problem(X, Y, rng.random(300) + 0.5, Penalty(0.0, 0.05), True)


def test_loss_and_grad_is_propagate(problem, rng):
    w = rng.normal(size=(6, 1))
    f, grads = problem.loss_and_grad(w, 0.2)
    expected, cost = core.propagate(
        w, 0.2, problem.X, problem.Y, sample_weight=problem.sample_weight, alpha=0.05
    )
    assert f == cost
    assert_array_equal(grads["dw"], expected["dw"])
    assert grads["db"] == expected["db"]
    assert problem.value(w, 0.2) == f  # no L1 part


def test_without_intercept_db_is_zero_and_not_measured(problem, rng):
    fixed = Problem(problem.X, problem.Y, problem.sample_weight, problem.penalty, False)
    w = rng.normal(size=(6, 1))
    _, grads = fixed.loss_and_grad(w, 0.2)
    assert grads["db"] == 0.0
    assert (
        fixed.optimality(w, {"dw": grads["dw"], "db": 5.0}, 0.1)
        == np.abs(grads["dw"]).max()
    )


@pytest.mark.parametrize("db", [5.0, np.float64(-5.0), np.array([[5.0], [-0.5]])])
def test_optimality_measures_the_intercept_where_it_is_fitted(problem, rng, db):
    """|db| counts, whether ``db`` is a float (one class) or an array."""
    w = rng.normal(size=(6, 1))
    _, grads = problem.loss_and_grad(w, 0.2)
    mapping = problem.penalty.optimality(w, grads["dw"], 0.1)
    measured = problem.optimality(w, {"dw": grads["dw"], "db": db}, 0.1)
    assert isinstance(measured, float) and measured == max(mapping, 5.0)
    small = problem.optimality(w, {"dw": grads["dw"], "db": 0.0 * db}, 0.1)
    assert small == mapping
    nan = problem.optimality(w, {"dw": grads["dw"], "db": np.nan * db}, 0.1)
    assert np.isnan(nan)  # never "optimal", so never reported converged


def test_subset_is_the_unpenalised_loss_on_those_samples(problem, rng):
    index = np.arange(0, 300, 3)
    part = problem.subset(index)
    assert part.n_samples == 100
    w = rng.normal(size=(6, 1))
    _, cost = core.propagate(
        w, 0.0, problem.X[:, index], problem.Y[:, index],
        sample_weight=problem.sample_weight[index],
    )  # fmt: skip
    assert part.value(w, 0.0) == cost


def _reference(problem):
    """scikit-learn's optimum of the same objective (C = 1 / (alpha S))."""
    s = problem.sample_weight
    ref = LogisticRegression(C=1 / (problem.penalty.l2 * s.sum()), tol=1e-12,
                             max_iter=10_000)  # fmt: skip
    return ref.fit(problem.X.T, problem.Y[0], sample_weight=s)


@pytest.mark.parametrize("solver", [gd, nesterov])
def test_full_batch_solvers_reach_the_optimum_directly(problem, solver):
    w0, b0 = core.initialize_with_zeros(6)
    step = auto_learning_rate(problem.X, sample_weight=problem.sample_weight,
                              alpha=0.05, fit_intercept=True, n_outputs=1)  # fmt: skip
    result = solver(problem, w0, b0, learning_rate=step, max_iter=50_000,
                    tol=1e-9, verbose=0)  # fmt: skip
    assert result.converged
    assert result.n_iter == len(result.loss_curve)
    ref = _reference(problem)
    assert_allclose(result.w.T, ref.coef_, atol=1e-7)
    assert_allclose(result.b, ref.intercept_[0], atol=1e-7)
    assert problem.optimality(result.w, problem.loss_and_grad(result.w, result.b)[1],
                              step) <= 1e-9  # fmt: skip


def test_sgd_gets_close_to_the_optimum_directly(problem):
    w0, b0 = core.initialize_with_zeros(6)
    result = sgd(problem, w0, b0, learning_rate=0.05, max_iter=200, tol=1e-6,
                 verbose=0, batch_size=16, schedule="adaptive", power_t=0.5,
                 random_state=np.random.RandomState(0), n_iter_no_change=5)  # fmt: skip
    ref = _reference(problem)
    assert_allclose(result.w.T, ref.coef_, atol=2e-2)
    assert result.epochs_seen == pytest.approx(result.n_iter)
