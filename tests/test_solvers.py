"""The solver and penalty layer: every solver x penalty reaches the reference
optimum, Nesterov never diverges, mini-batch SGD streams with partial_fit."""

import warnings

import numpy as np
import pytest
import sklearn
from helpers import fit_quietly
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    make_classification,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.fixes import parse_version

from sklearn_gd_logreg import GDLogisticRegression, core

SOLVERS = ["gd", "nesterov", "bb", "sgd"]
LINE_SEARCH = ["nesterov", "bb"]  # solvers that cannot diverge
ALPHA = 1e-2
SKLEARN_18 = parse_version(sklearn.__version__) >= parse_version("1.8")


def reference(penalty, n_samples, l1_ratio=0.5):
    """scikit-learn's LogisticRegression with the same objective."""
    params = {"C": 1 / (ALPHA * n_samples), "tol": 1e-12, "max_iter": 100_000}
    if penalty == "l2":
        return LogisticRegression(**params)
    ratio = 1.0 if penalty == "l1" else l1_ratio
    if SKLEARN_18:
        return LogisticRegression(l1_ratio=ratio, solver="saga", **params)
    return LogisticRegression(
        penalty="elasticnet", l1_ratio=ratio, solver="saga", **params
    )


@pytest.fixture(scope="module")
def cancer_references(cancer):
    X, y = cancer
    return {p: reference(p, len(y)).fit(X, y) for p in ("l2", "l1", "elasticnet")}


@pytest.fixture(scope="module")
def planted():
    """Well-conditioned: 5 informative and 3 irrelevant features."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 8))
    w = np.array([0.3, -0.3, -0.8, -1.4, -1.4, 0.0, 0.0, 0.0])
    y = (rng.random(400) < 1 / (1 + np.exp(-(X @ w + 0.5)))).astype(int)
    return X, y


@pytest.mark.parametrize("solver", ["gd", "nesterov", "bb"])
@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet"])
def test_full_batch_solvers_reach_the_reference(
    cancer, cancer_references, solver, penalty
):
    X, y = cancer
    ours = GDLogisticRegression(
        solver=solver,
        penalty=penalty,
        l1_ratio=0.5,
        alpha=ALPHA,
        tol=1e-8,
        max_iter=100_000,
    ).fit(X, y)
    ref = cancer_references[penalty]
    atol = 1e-4 if penalty == "l2" else 1e-3
    assert_allclose(ours.coef_, ref.coef_, atol=atol)
    assert_allclose(ours.intercept_, ref.intercept_, atol=atol)
    assert_array_equal(ours.coef_ != 0, ref.coef_ != 0)
    if penalty != "l2":
        assert (ours.coef_ == 0).sum() >= 5  # exact zeros from the prox step


@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet"])
def test_sgd_reaches_the_reference(planted, penalty):
    X, y = planted
    ref = reference(penalty, len(y)).fit(X, y)
    ours = GDLogisticRegression(
        solver="sgd",
        penalty=penalty,
        l1_ratio=0.5,
        alpha=ALPHA,
        tol=1e-6,
        n_iter_no_change=10,
        max_iter=2000,
        random_state=0,
    ).fit(X, y)
    # SGD's last steps are noisy: a looser tolerance than the full-batch ones.
    assert_allclose(ours.coef_, ref.coef_, atol=2e-2)
    assert_allclose(ours.intercept_, ref.intercept_, atol=2e-2)


@pytest.mark.parametrize("solver", LINE_SEARCH)
def test_line_search_solvers_reach_the_multinomial_reference(solver):
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    ref = reference("l2", len(y)).fit(X, y)
    ours = GDLogisticRegression(solver=solver, alpha=ALPHA, tol=1e-8).fit(X, y)
    assert_allclose(ours.coef_, ref.coef_, atol=1e-4)
    assert_allclose(ours.intercept_, ref.intercept_, atol=1e-4)


def test_penalty_none_ignores_alpha(planted):
    X, y = planted
    none = GDLogisticRegression(penalty=None, alpha=5.0, max_iter=300).fit(X, y)
    zero = GDLogisticRegression(penalty="l2", alpha=0.0, max_iter=300).fit(X, y)
    assert_array_equal(none.coef_, zero.coef_)


@pytest.mark.parametrize("solver", LINE_SEARCH)
def test_line_search_solvers_need_far_fewer_iterations_than_gd(cancer, solver):
    X, y = cancer
    gd = GDLogisticRegression(alpha=ALPHA, tol=1e-8, max_iter=100_000).fit(X, y)
    fast = GDLogisticRegression(
        solver=solver, alpha=ALPHA, tol=1e-8, max_iter=100_000
    ).fit(X, y)
    assert fast.n_iter_ * 5 < gd.n_iter_
    assert_allclose(fast.coef_, gd.coef_, atol=1e-5)


@pytest.mark.parametrize("solver", LINE_SEARCH)
@pytest.mark.parametrize("learning_rate", ["auto", 1e3])
def test_line_search_solvers_never_diverge(learning_rate, solver):
    # Raw features spanning four orders of magnitude, and a huge first step.
    X, y = load_breast_cancer(return_X_y=True)
    est = fit_quietly(
        GDLogisticRegression(solver=solver, learning_rate=learning_rate, max_iter=300),
        X,
        y,
    )
    assert np.all(np.isfinite(est.loss_curve_))
    assert est.loss_curve_[-1] < np.log(2)
    assert est.score(X, y) > 0.9
    if learning_rate == 1e3:
        assert est.learning_rate_ < 1e3  # the line search shortened it


def test_gd_diverges_where_nesterov_does_not():
    X, y = load_breast_cancer(return_X_y=True)
    with pytest.raises(ValueError, match="learning_rate"):
        GDLogisticRegression(learning_rate=1e3, alpha=1.0, max_iter=300).fit(X, y)


@pytest.mark.parametrize("solver", LINE_SEARCH)
def test_line_search_loss_curve_ends_at_the_minimum(cancer, solver):
    X, y = cancer
    est = GDLogisticRegression(solver=solver, alpha=ALPHA, tol=1e-8).fit(X, y)
    grads, cost = core.propagate(
        est.coef_.T,
        float(est.intercept_[0]),
        X.T,
        y[np.newaxis].astype(float),
        alpha=ALPHA,
    )
    assert_allclose(est.loss_curve_[-1], cost, rtol=1e-12)
    assert np.abs(grads["dw"]).max() <= 1e-8
    assert len(est.loss_curve_) == est.n_iter_


@pytest.mark.parametrize("solver", SOLVERS)
def test_l1_gives_exact_zeros(planted, solver):
    X, y = planted
    est = fit_quietly(
        GDLogisticRegression(
            solver=solver, penalty="l1", alpha=0.05, random_state=0, max_iter=3000
        ),
        X,
        y,
    )
    irrelevant = est.coef_[0, 5:]
    if solver == "sgd":  # the last noisy step may leave one just off zero
        assert (irrelevant == 0).sum() >= 1 and np.abs(irrelevant).max() < 1e-5
    else:
        assert_array_equal(irrelevant, 0.0)
    assert np.all(est.coef_[0, 2:5] != 0)


@pytest.mark.parametrize("solver", SOLVERS)
def test_warm_start_continues_from_the_previous_fit(planted, solver):
    X, y = planted
    est = GDLogisticRegression(
        solver=solver,
        warm_start=True,
        max_iter=5,
        tol=0.0,
        random_state=0,
        n_iter_no_change=100,
    )
    fit_quietly(est, X, y)
    first_end = est.loss_curve_[-1]
    fit_quietly(est, X, y)
    cold = fit_quietly(clone_with(est, warm_start=False), X, y)
    # The second fit starts where the first ended, not from zeros.
    assert est.loss_curve_[0] < cold.loss_curve_[0]
    assert est.loss_curve_[0] <= first_end * 1.05


def clone_with(est, **params):
    return GDLogisticRegression(**{**est.get_params(), **params})


def test_sgd_counts_epochs(planted):
    X, y = planted
    est = fit_quietly(
        GDLogisticRegression(
            solver="sgd", max_iter=7, n_iter_no_change=100, random_state=0
        ),
        X,
        y,
    )
    assert est.n_iter_ == 7 and est.loss_curve_.shape == (7,)
    assert est.t_ == 7.0  # whole epochs counted exactly, not 7 x 1/n_batches


def test_sgd_is_reproducible_with_random_state(planted):
    X, y = planted
    params = {"solver": "sgd", "max_iter": 5, "n_iter_no_change": 100}
    a = fit_quietly(GDLogisticRegression(random_state=1, **params), X, y)
    b = fit_quietly(GDLogisticRegression(random_state=1, **params), X, y)
    c = fit_quietly(GDLogisticRegression(random_state=2, **params), X, y)
    assert_array_equal(a.coef_, b.coef_)
    assert not np.array_equal(a.coef_, c.coef_)


def test_sgd_uses_the_schedule(planted):
    X, y = planted
    params = {"solver": "sgd", "max_iter": 1, "random_state": 0, "tol": 0.0}
    steps = {}
    for schedule in ("constant", "invscaling"):
        est = fit_quietly(
            GDLogisticRegression(learning_rate_schedule=schedule, **params), X, y
        )
        steps[schedule] = np.abs(est.coef_).sum()
    # The same first epoch, with decaying steps, moves less far from zero.
    assert steps["invscaling"] < steps["constant"]


def test_sgd_early_stopping(planted):
    X, y = planted
    est = GDLogisticRegression(
        solver="sgd",
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=3,
        learning_rate_schedule="constant",
        max_iter=500,
        random_state=0,
    ).fit(X, y)
    assert est.n_iter_ < 500
    assert est.validation_scores_.shape == (est.n_iter_,)
    assert np.all(np.isfinite(est.validation_scores_))
    assert est.score(X, y) > 0.7


def test_sgd_early_stopping_needs_enough_samples():
    X = np.arange(6.0).reshape(3, 2)
    with pytest.raises(ValueError, match="early_stopping"):
        GDLogisticRegression(solver="sgd", early_stopping=True).fit(X, [0, 1, 2])


@pytest.fixture(scope="module")
def digits_split():
    digits = load_digits()
    X = digits.data / 16.0
    return train_test_split(X, digits.target, random_state=0, stratify=digits.target)


def test_partial_fit_streams_to_the_accuracy_of_fit(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    full = fit_quietly(GDLogisticRegression(), X_train, y_train)
    stream = GDLogisticRegression(random_state=0)
    classes = np.unique(y_train)
    for _ in range(10):
        for start in range(0, len(X_train), 100):
            rows = slice(start, start + 100)
            stream.partial_fit(X_train[rows], y_train[rows], classes=classes)
    n_chunks = -(-len(X_train) // 100)
    assert stream.n_iter_ == 10 * n_chunks == len(stream.loss_curve_)
    assert stream.t_ == 10 * n_chunks  # exactly
    assert stream.score(X_test, y_test) >= full.score(X_test, y_test) - 0.02


def test_partial_fit_checks_classes(digits_split):
    X, _, y, _ = digits_split
    est = GDLogisticRegression()
    with pytest.raises(ValueError, match="classes must be passed"):
        est.partial_fit(X[:50], y[:50])
    est.partial_fit(X[:50], y[:50] % 3, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"labels \[3"):
        est.partial_fit(X[:50], y[:50])
    with pytest.raises(ValueError, match="differs from the classes"):
        est.partial_fit(X[:50], y[:50] % 2, classes=[0, 1])
    with pytest.raises(ValueError, match="features"):
        est.partial_fit(X[:50, :10], y[:50] % 3)
    assert est.n_iter_ == 1  # the failed calls changed nothing
    with pytest.raises(ValueError, match="balanced"):
        GDLogisticRegression(class_weight="balanced").partial_fit(
            X[:50], y[:50], classes=np.arange(10)
        )


def test_partial_fit_after_fit_continues(planted):
    X, y = planted
    est = fit_quietly(GDLogisticRegression(max_iter=20, random_state=0), X, y)
    before = est.coef_.copy()
    est.partial_fit(X, y)
    assert not np.array_equal(est.coef_, before)
    # the model goes on; its curve counts epochs from here, not after the
    # 20 iterations of gd, which are not epochs
    # the same shuffles from zeros: the continued epoch starts nearer
    from_start = GDLogisticRegression(random_state=0).partial_fit(X, y, [0, 1])
    assert est.n_iter_ == len(est.loss_curve_) == 1
    assert est.loss_curve_[0] < from_start.loss_curve_[0]
    est.partial_fit(X, y)
    assert est.n_iter_ == len(est.loss_curve_) == 2


@pytest.mark.parametrize(
    "params, name",
    [
        ({"solver": "adam"}, "solver"),
        ({"penalty": "l3"}, "penalty"),
        ({"l1_ratio": 1.5}, "l1_ratio"),
        ({"batch_size": 0}, "batch_size"),
        ({"learning_rate_schedule": "optimal"}, "learning_rate_schedule"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"n_iter_no_change": 0}, "n_iter_no_change"),
    ],
)
def test_bad_solver_parameters_are_named(planted, params, name):
    with pytest.raises(InvalidParameterError, match=name):
        GDLogisticRegression(**params).fit(*planted)


def test_auto_step_on_a_subsample_matches_the_full_data():
    from sklearn_gd_logreg._step_size import auto_learning_rate, lipschitz_constant

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60_000, 20)) * np.linspace(0.5, 3, 20) + 1.0
    sw = np.ones(len(X))
    step = auto_learning_rate(
        X.T, sample_weight=sw, alpha=0.0, fit_intercept=True, n_outputs=1
    )
    full = lipschitz_constant(X.T, sample_weight=sw, n_power_iterations=50)
    # 6000 of the 60000 samples: the same curvature within a few percent.
    assert_allclose(1 / step, full, rtol=0.05)


@pytest.mark.parametrize("solver", LINE_SEARCH)
def test_line_search_solvers_are_invariant_at_their_tolerance(cancer, solver):
    # Their line searches (and restarts) compare objective values, so rounding
    # can change the path: permuted rows and repeated rows give the same
    # model to the accuracy that tol sets, not to the last bit as "gd" does.
    X, y = cancer
    params = {"solver": solver, "alpha": ALPHA, "tol": 1e-10, "max_iter": 20_000}
    base = GDLogisticRegression(**params).fit(X, y)
    order = np.random.default_rng(0).permutation(len(y))
    permuted = GDLogisticRegression(**params).fit(X[order], y[order])
    weights = np.arange(len(y)) % 3
    weighted = GDLogisticRegression(**params).fit(X, y, sample_weight=weights)
    repeat = np.repeat(np.arange(len(y)), weights)
    repeated = GDLogisticRegression(**params).fit(X[repeat], y[repeat])
    assert_allclose(permuted.coef_, base.coef_, rtol=1e-7, atol=1e-8)
    assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-7, atol=1e-8)


def test_sgd_keeps_the_penalty_on_zero_weight_batches(planted):
    # With one-row batches, half of them weigh nothing: they still take the
    # penalty's step, or the penalty would act at half its strength.
    X, y = planted
    weight = np.arange(len(y)) % 2
    sgd = GDLogisticRegression(
        solver="sgd",
        batch_size=1,
        alpha=0.5,
        tol=1e-6,
        n_iter_no_change=10,
        max_iter=2000,
        random_state=0,
    ).fit(X, y, sample_weight=weight)
    dropped = GDLogisticRegression(solver="nesterov", alpha=0.5, tol=1e-10).fit(
        X[1::2], y[1::2]
    )
    assert_allclose(sgd.coef_, dropped.coef_, atol=2e-2)


@pytest.mark.parametrize("solver", ["gd", "nesterov", "bb"])
def test_convergence_warning_iff_the_model_misses_tol(cancer, solver):
    X, y = cancer
    Y = y[np.newaxis].astype(float)
    params = {"solver": solver, "alpha": ALPHA, "tol": 1e-4}
    needed = GDLogisticRegression(max_iter=100_000, **params).fit(X, y).n_iter_
    for max_iter in sorted({1, 2, *range(3, needed + 2, max(1, needed // 12))}):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            est = GDLogisticRegression(max_iter=max_iter, **params).fit(X, y)
        grads, _ = core.propagate(
            est.coef_.T, float(est.intercept_[0]), X.T, Y, alpha=ALPHA
        )
        missed = max(np.abs(grads["dw"]).max(), abs(grads["db"])) > 1e-4
        warned = any(w.category is ConvergenceWarning for w in caught)
        assert warned == missed, (max_iter, warned, missed)


def test_warm_start_with_other_features_is_an_error(planted):
    X, y = planted
    est = fit_quietly(GDLogisticRegression(warm_start=True, max_iter=5), X, y)
    coef = est.coef_.copy()
    with pytest.raises(ValueError, match=r"warm_start=True, but X has 7 features"):
        est.fit(X[:, :7], y)
    assert_array_equal(est.coef_, coef)
    assert est.n_features_in_ == 8


@pytest.mark.parametrize("solver", SOLVERS)
def test_continuing_without_an_intercept_starts_it_at_zero(planted, solver):
    """warm_start or partial_fit after a fit with an intercept, then
    fit_intercept=False: the intercept stays 0 (it kept the old one, as
    LogisticRegression's warm start does not)."""
    X, y = planted
    X = X + 3.0  # an intercept that matters
    params = dict(solver=solver, max_iter=20, random_state=0)
    warm = fit_quietly(GDLogisticRegression(warm_start=True, **params), X, y)
    streamed = GDLogisticRegression(**params).partial_fit(X, y, classes=[0, 1])
    assert warm.intercept_[0] != 0 and streamed.intercept_[0] != 0
    fit_quietly(warm.set_params(fit_intercept=False), X, y)
    streamed.set_params(fit_intercept=False).partial_fit(X, y)
    for est in (warm, streamed):
        assert_array_equal(est.intercept_, [0.0])
        assert np.signbit(est.intercept_).sum() == 0  # +0, not -0


def test_partial_fit_weighs_each_call_against_the_calls_before():
    """Each call's weights were scaled to their own largest, so a chunk of
    weight 1e-6 moved the model as much as one of weight 1 (and a chunk of
    one class, with class_weight, as much as without): now, as in
    SGDClassifier, they count against the mean weight seen so far. Scaling
    every weight by one constant still changes nothing."""
    X, y = make_classification(400, 5, random_state=0)
    A, yA, B, yB = X[:200], y[:200], X[200:], 1 - y[200:]  # B: flipped labels

    def stream(weight_a, weight_b, **params):
        est = GDLogisticRegression(random_state=0, **params)
        est.partial_fit(A, yA, classes=[0, 1], sample_weight=np.full(200, weight_a))
        return est.partial_fit(B, yB, sample_weight=np.full(200, weight_b))

    alone = GDLogisticRegression(random_state=0).partial_fit(A, yA, classes=[0, 1])
    light = stream(1.0, 1e-6)
    assert_allclose(light.coef_, alone.coef_, rtol=1e-2)
    assert light.score(A, yA) == alone.score(A, yA) > 0.8
    assert stream(1.0, 1.0).score(A, yA) < 0.5  # an equal chunk does flip it
    assert_allclose(stream(3.0, 1.5).coef_, stream(3000.0, 1500.0).coef_, rtol=1e-12)
    # A heavier chunk keeps its own scale: its steps stay within the step
    # size (10 rows after 1990 of weight 1e-3 took steps 199 times as long).
    heavy = [GDLogisticRegression(random_state=0, batch_size=10) for _ in range(2)]
    for est, first in zip(heavy, (1.0, 1e-3), strict=True):
        est.partial_fit(X[:390], y[:390], classes=[0, 1], sample_weight=[first] * 390)
        est.partial_fit(X[390:], y[390:])
    assert_allclose(heavy[1].coef_, heavy[0].coef_, rtol=1e-12)
    # Weights 1e600 times lighter than those before: no step, no error.
    gap = stream(1e300, 1e-300)
    assert_allclose(gap.coef_, alone.coef_, rtol=1e-2)
    # class_weight over chunks of one class each, five passes
    ones, zeros = X[y == 1], X[y == 0]
    shares = []
    for class_weight in (None, {0: 1.0, 1: 1e-3}):
        est = GDLogisticRegression(class_weight=class_weight, random_state=0)
        for _ in range(5):
            est.partial_fit(zeros, np.zeros(len(zeros), int), classes=[0, 1])
            est.partial_fit(ones, np.ones(len(ones), int))
        shares.append(est.predict(X).mean())
    assert shares[1] < 0.1 < 0.3 < shares[0]


def test_warm_start_sgd_continues_its_schedule(planted):
    X, y = planted
    est = GDLogisticRegression(
        solver="sgd",
        warm_start=True,
        max_iter=3,
        n_iter_no_change=100,
        learning_rate_schedule="invscaling",
        random_state=0,
    )
    fit_quietly(est, X, y)
    fit_quietly(est, X, y)
    assert est.t_ == pytest.approx(6.0)
    # A full-batch warm start adds no epoch and resets none (it reset t_ to
    # 0, and the next partial_fit restarted "invscaling" at its full step).
    fit_quietly(est.set_params(solver="nesterov", max_iter=2), X, y)
    assert est.t_ == pytest.approx(6.0)
    assert est.partial_fit(X, y).t_ == pytest.approx(7.0)
    cold = fit_quietly(clone_with(est, warm_start=False), X, y)
    assert cold.t_ == 0.0


def test_a_failed_partial_fit_changes_nothing(planted):
    X, y = planted

    def stream(fail):
        est = GDLogisticRegression(learning_rate=0.1, random_state=0)
        est.partial_fit(X[:200], y[:200], classes=[0, 1])
        if fail:
            with pytest.raises(ValueError, match="learning_rate"):
                est.set_params(learning_rate=1e300).partial_fit(X[200:], y[200:])
            est.set_params(learning_rate=0.1)
        return est.partial_fit(X[200:], y[200:])

    assert_array_equal(stream(fail=True).coef_, stream(fail=False).coef_)


def test_partial_fit_follows_a_new_learning_rate(planted):
    X, y = planted
    est = GDLogisticRegression(random_state=0).partial_fit(X, y, classes=[0, 1])
    auto = est.learning_rate_
    est.partial_fit(X, y)
    # "auto": the chunks' mean estimate, here twice the same
    assert est.learning_rate_ == pytest.approx(auto, rel=1e-12)
    est.set_params(learning_rate=0.01).partial_fit(X, y)
    assert est.learning_rate_ == 0.01


@pytest.mark.parametrize("solver", LINE_SEARCH)
def test_line_search_never_accepts_a_step_that_overflows(solver):
    # Found by the thorough hypothesis profile: the first trial step makes w
    # -inf in float32; its curvature test read inf <= inf and accepted it.
    X = np.array([[1.0, 0.0, 0.0], [2.2685492e38, 0.0, 0.0]], dtype=np.float32)
    est = GDLogisticRegression(
        solver=solver,
        learning_rate=1.0,
        max_iter=1,
        tol=0.0,
        alpha=0.0,
        fit_intercept=False,
        class_weight={"a": 0.0, "b": 3.0},
    )
    try:
        fit_quietly(est, X, np.array(["a", "b"]))
    except ValueError as error:
        assert "learning_rate" in str(error)
    else:
        assert np.all(np.isfinite(est.coef_))


def test_bb_is_nonmonotone_within_its_memory_and_one_gradient_a_step(
    cancer, monkeypatch
):
    # Its objective may rise, never above the highest of the last MEMORY,
    # and a step costs one gradient unless the line search refuses it.
    from sklearn_gd_logreg import _problem, _solvers

    X, y = cancer
    calls = []
    original = _problem.Problem.loss_and_grad
    monkeypatch.setattr(
        _problem.Problem,
        "loss_and_grad",
        lambda self, w, b: calls.append(1) or original(self, w, b),
    )
    est = GDLogisticRegression(solver="bb", alpha=1e-4, tol=0.0, max_iter=100)
    curve = fit_quietly(est, X, y).loss_curve_
    assert len(curve) == est.n_iter_ == 100
    assert np.any(np.diff(curve) > 0)  # nonmonotone: it does rise
    memory = _solvers.MEMORY
    for k in range(memory, len(curve)):
        assert curve[k] <= max(curve[k - memory : k])
    refused = len(calls) - 1 - len(curve)  # the first gradient, then one each
    assert 0 <= refused < len(curve) / 4


def test_bb_reports_the_last_accepted_step(cancer):
    X, y = cancer
    est = GDLogisticRegression(solver="bb", alpha=ALPHA, tol=0.0, max_iter=30)
    fit_quietly(est, X, y)
    # a step the line search accepted: finite, and not a BB proposal of 1e300
    assert 0.0 < est.learning_rate_ < 1e3


@pytest.mark.parametrize("solver", LINE_SEARCH)
def test_l1_optimality_is_measured_at_the_first_step(cancer, solver):
    # The gradient mapping shrinks as its step grows: measured at a long
    # accepted step it could say "converged" early. At tol the model meets
    # tol's optimality at the first (1/L) step.
    from sklearn_gd_logreg._penalties import make_penalty

    X, y = cancer
    est = GDLogisticRegression(solver=solver, penalty="l1", alpha=ALPHA, tol=1e-5)
    est.fit(X, y)
    grads, _ = core.propagate(
        est.coef_.T, float(est.intercept_[0]), X.T, y[np.newaxis].astype(float)
    )
    step = GDLogisticRegression(max_iter=1, penalty="l1", alpha=ALPHA)
    step = fit_quietly(step, X, y).learning_rate_
    penalty = make_penalty("l1", ALPHA, 0.0)
    assert penalty.optimality(est.coef_.T, grads["dw"], step) <= 1e-5
