"""The core against the course's numbers, a textbook reference loop and
finite differences."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sklearn_gd_logreg import core


def reference_propagate(w, b, X, Y):
    """The course's forward and backward pass, written plainly."""
    m = X.shape[1]
    A = 1 / (1 + np.exp(-(np.dot(w.T, X) + b)))
    cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
    dw = np.dot(X, (A - Y).T) / m
    db = np.sum(A - Y) / m
    return dw, db, cost


def reference_optimize(w, b, X, Y, num_iterations, learning_rate):
    costs = []
    for i in range(num_iterations):
        dw, db, cost = reference_propagate(w, b, X, Y)
        w = w - learning_rate * dw
        b = b - learning_rate * db
        if i % 100 == 0:
            costs.append(cost)
    return w, b, costs


@pytest.fixture
def course_example():
    w = np.array([[1.0], [2.0]])
    b = 2.0
    X = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]])
    Y = np.array([[1, 0, 1]])
    return w, b, X, Y


@pytest.fixture
def random_problem(rng):
    n_x, m = 20, 60
    X = rng.normal(size=(n_x, m))
    Y = (rng.random((1, m)) < 0.5).astype(float)
    return X, Y


def test_sigmoid_values_and_extremes():
    assert core.sigmoid(0) == 0.5
    z = np.array([-3.0, 0.5, 2.0])
    assert_allclose(core.sigmoid(z), 1 / (1 + np.exp(-z)), rtol=1e-15)
    with np.errstate(over="raise"):
        assert core.sigmoid(-1000.0) == 0.0
        assert core.sigmoid(1000.0) == 1.0


def test_initialize_with_zeros():
    w, b = core.initialize_with_zeros(3)
    assert w.shape == (3, 1) and not w.any()
    assert b == 0.0 and isinstance(b, float)
    w, b = core.initialize_with_zeros(3, n_outputs=4)
    assert w.shape == (3, 4) and b.shape == (4, 1)


def test_propagate_gives_the_course_numbers(course_example):
    grads, cost = core.propagate(*course_example)
    assert_allclose(grads["dw"], [[0.99845601], [2.39507239]], rtol=1e-8)
    assert_allclose(grads["db"], 0.00145557813678, rtol=1e-10)
    assert_allclose(cost, 5.801545319394553, rtol=1e-12)


def test_optimize_gives_the_course_numbers(course_example):
    params, grads, costs = core.optimize(
        *course_example, num_iterations=100, learning_rate=0.009
    )
    assert_allclose(params["w"], [[0.19033591], [0.12259159]], rtol=1e-7)
    assert_allclose(params["b"], 1.92535983008, rtol=1e-10)
    assert_allclose(grads["dw"], [[0.67752042], [1.41625495]], rtol=1e-7)
    assert_allclose(grads["db"], 0.219194504541, rtol=1e-10)
    assert_allclose(costs, [5.80154531939], rtol=1e-10)


def test_predict_gives_the_course_numbers():
    w, b = np.array([[0.1124579], [0.23106775]]), -0.3
    X = np.array([[1.0, -1.1, -3.2], [1.2, 2.0, 0.1]])
    pred = core.predict(w, b, X)
    assert pred.shape == (1, 3)
    assert_allclose(pred, [[1.0, 1.0, 0.0]])


def test_optimize_matches_the_reference_loop(random_problem):
    X, Y = random_problem
    w0, b0 = core.initialize_with_zeros(X.shape[0])
    params, _, costs = core.optimize(
        w0, b0, X, Y, num_iterations=2000, learning_rate=0.005
    )
    w, b, ref_costs = reference_optimize(w0, b0, X, Y, 2000, 0.005)
    assert len(costs) == 20
    assert_allclose(costs, ref_costs, rtol=1e-10)
    assert_allclose(params["w"], w, rtol=1e-10)
    assert_allclose(params["b"], b, rtol=1e-10)
    assert not w0.any() and b0 == 0.0  # inputs untouched


def test_print_cost_prints_every_100_iterations(course_example, capsys):
    core.optimize(*course_example, num_iterations=201, print_cost=True)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Cost after iteration 0: 5.801545"
    assert [line.split(":")[0] for line in lines] == [
        "Cost after iteration 0",
        "Cost after iteration 100",
        "Cost after iteration 200",
    ]


def test_predict_threshold_is_strictly_above_half():
    w, b = np.zeros((2, 1)), 0.0
    assert_allclose(core.predict(w, b, np.ones((2, 3))), [[0.0, 0.0, 0.0]])


@pytest.mark.parametrize("z", [1000.0, -1000.0])
def test_loss_is_finite_at_extreme_scores(z):
    X = np.array([[1.0, -1.0]])
    w = np.array([[z]])
    for y in ([[1.0, 0.0]], [[0.0, 1.0]]):
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            grads, cost = core.propagate(w, 0.0, X, np.array(y))
        assert np.isfinite(cost) and np.all(np.isfinite(grads["dw"]))
    # Wrongly classified by a margin of 1000 on each sample: cost is ~1000.
    _, cost = core.propagate(w, 0.0, X, np.array([[0.0, 1.0]] if z > 0 else [[1, 0]]))
    assert_allclose(cost, 1000.0, rtol=1e-12)


def test_loss_equals_the_textbook_formula_where_finite(random_problem, rng):
    X, Y = random_problem
    w, b = rng.normal(size=(X.shape[0], 1)), 0.3
    grads, cost = core.propagate(w, b, X, Y)
    dw, db, ref_cost = reference_propagate(w, b, X, Y)
    assert_allclose(cost, ref_cost, rtol=1e-12)
    assert_allclose(grads["dw"], dw, rtol=1e-12)
    assert_allclose(grads["db"], db, rtol=1e-12)


def test_softmax_loss_equals_the_textbook_formula(rng):
    X = rng.normal(size=(5, 30))
    labels = rng.integers(0, 3, size=30)
    Y = np.eye(3)[:, labels]
    w, b = rng.normal(size=(5, 3)), rng.normal(size=(3, 1))
    grads, cost = core.propagate(w, b, X, Y)
    Z = w.T @ X + b
    A = np.exp(Z) / np.exp(Z).sum(axis=0)
    assert_allclose(cost, -np.sum(Y * np.log(A)) / 30, rtol=1e-12)
    assert_allclose(grads["dw"], X @ (A - Y).T / 30, rtol=1e-12)
    assert_allclose(grads["db"], (A - Y).sum(axis=1, keepdims=True) / 30, rtol=1e-12)
    assert_allclose(core.softmax(Z), A, rtol=1e-13)


def numerical_gradient(f, w, b, eps=1e-6):
    """Central finite differences of f(w, b) over every entry of w and b."""
    dw = np.zeros_like(w)
    for idx in np.ndindex(w.shape):
        step = np.zeros_like(w)
        step[idx] = eps
        dw[idx] = (f(w + step, b) - f(w - step, b)) / (2 * eps)
    b = np.asarray(b, dtype=float)
    db = np.zeros_like(b)
    for idx in np.ndindex(b.shape):
        step = np.zeros_like(b)
        step[idx] = eps
        db[idx] = (f(w, b + step) - f(w, b - step)) / (2 * eps)
    return dw, db


@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_gradient_matches_finite_differences(rng, n_outputs, weighted, alpha):
    n_x, m = 6, 40
    X = rng.normal(size=(n_x, m))
    labels = rng.integers(0, max(n_outputs, 2), size=m)
    Y = labels[np.newaxis].astype(float) if n_outputs == 1 else np.eye(3)[:, labels]
    sw = rng.uniform(0, 3, size=m) if weighted else None
    w = rng.normal(size=(n_x, n_outputs))
    b = 0.4 if n_outputs == 1 else rng.normal(size=(n_outputs, 1))

    def cost(w, b):
        return core.propagate(w, b, X, Y, sample_weight=sw, alpha=alpha)[1]

    grads, _ = core.propagate(w, b, X, Y, sample_weight=sw, alpha=alpha)
    dw, db = numerical_gradient(cost, w, b)
    assert_allclose(grads["dw"], dw, rtol=1e-6, atol=1e-9)
    assert_allclose(grads["db"], db, rtol=1e-6, atol=1e-9)


def test_sample_weight_two_equals_a_repeated_column(random_problem):
    X, Y = random_problem
    w = np.linspace(-1, 1, X.shape[0])[:, np.newaxis]
    sw = np.ones(X.shape[1])
    sw[:5] = 2.0
    grads, cost = core.propagate(w, 0.1, X, Y, sample_weight=sw)
    X2, Y2 = np.hstack([X, X[:, :5]]), np.hstack([Y, Y[:, :5]])
    grads2, cost2 = core.propagate(w, 0.1, X2, Y2)
    assert_allclose(cost, cost2, rtol=1e-13)
    assert_allclose(grads["dw"], grads2["dw"], rtol=1e-12)
    assert_allclose(grads["db"], grads2["db"], rtol=1e-12)


def test_a_penalty_that_overflows_is_inf_without_a_warning():
    """||w||^2 past the largest float: the cost is inf, silently, as every
    overflow in propagate (a dot product by np.dot warned; RuntimeWarnings
    are errors in this suite)."""
    X, Y = np.full((3, 4), 1e-200), np.array([[1.0, 0.0, 1.0, 0.0]])
    _, cost = core.propagate(np.full((3, 1), 1e160), 0.0, X, Y, alpha=1.0)
    assert cost == np.inf


def test_l2_penalty_touches_w_not_b(random_problem):
    X, Y = random_problem
    w = np.full((X.shape[0], 1), 0.5)
    g0, c0 = core.propagate(w, 0.2, X, Y)
    g1, c1 = core.propagate(w, 0.2, X, Y, alpha=0.1)
    assert_allclose(c1 - c0, 0.05 * np.sum(w**2), rtol=1e-12)
    assert_allclose(g1["dw"] - g0["dw"], 0.1 * w, rtol=1e-12)
    assert g1["db"] == g0["db"]


def test_a_callback_that_returns_true_stops_before_the_step(random_problem):
    X, Y = random_problem
    w0, b0 = core.initialize_with_zeros(X.shape[0])
    seen = []

    def small_gradient(i, w, b, cost, grads):
        seen.append((i, cost))
        return max(np.abs(grads["dw"]).max(), abs(grads["db"])) <= 1e-6

    params, grads, costs = core.optimize(
        w0,
        b0,
        X,
        Y,
        num_iterations=100_000,
        learning_rate=0.5,
        alpha=0.1,
        cost_every=1,
        callback=small_gradient,
    )
    assert 1 < len(costs) < 100_000
    assert [i for i, _ in seen] == list(range(len(costs)))
    assert_allclose([c for _, c in seen], costs, rtol=0)
    assert max(np.abs(grads["dw"]).max(), abs(grads["db"])) <= 1e-6
    # The returned grads are those of the returned parameters: no last step.
    again, _ = core.propagate(params["w"], params["b"], X, Y, alpha=0.1)
    assert_allclose(again["dw"], grads["dw"], rtol=1e-12)


def test_prox_is_applied_after_each_step(random_problem):
    X, Y = random_problem
    w0, b0 = core.initialize_with_zeros(X.shape[0])
    calls = []

    def clip(w, step):
        calls.append(step)
        return np.clip(w, -0.01, 0.01)

    params, _, _ = core.optimize(w0, b0, X, Y, num_iterations=7, prox=clip)
    assert calls == [0.009] * 7
    assert np.abs(params["w"]).max() <= 0.01


def test_fit_intercept_false_keeps_b(random_problem):
    X, Y = random_problem
    w0, _ = core.initialize_with_zeros(X.shape[0])
    params, _, _ = core.optimize(w0, 0.0, X, Y, num_iterations=50, fit_intercept=False)
    assert params["b"] == 0.0
    assert np.abs(params["w"]).sum() > 0


def test_softmax_optimize_decreases_the_cost(rng):
    X = rng.normal(size=(4, 90))
    labels = np.argmax(rng.normal(size=(3, 4)) @ X, axis=0)
    w0, b0 = core.initialize_with_zeros(4, n_outputs=3)
    params, _, costs = core.optimize(
        w0,
        b0,
        X,
        np.eye(3)[:, labels],
        num_iterations=500,
        learning_rate=0.5,
        cost_every=1,
    )
    assert_allclose(costs[0], np.log(3), rtol=1e-12)
    assert np.all(np.diff(costs) <= 1e-15)
    assert (core.predict(params["w"], params["b"], X)[0] == labels).mean() > 0.9


def test_divergence_raises_a_clear_error(random_problem):
    X, Y = random_problem
    w0, b0 = core.initialize_with_zeros(X.shape[0])
    with pytest.raises(ValueError, match=r"iteration \d+.*learning_rate=1e\+30"):
        core.optimize(w0, b0, X * 1e200, Y, num_iterations=100, learning_rate=1e30)


def test_predict_takes_sparse_data_like_dense(rng):
    import scipy.sparse as sp

    X = sp.random(6, 40, density=0.3, format="csc", random_state=0)
    for n_outputs in (1, 3):
        w = rng.normal(size=(6, n_outputs))
        b = 0.1 if n_outputs == 1 else rng.normal(size=(3, 1))
        assert_allclose(core.predict(w, b, X), core.predict(w, b, X.toarray()))
