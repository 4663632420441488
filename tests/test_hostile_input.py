"""Hostile input, round two: each test guards one fix and fails without it.

Divergence caught before it overflows (and never on noise), loops that
always end, extreme weights, NumPy scalars and strict floating-point
settings, concurrent fits, pickles of other versions, and the documented
equivalence with ``LogisticRegression``.
"""

import threading
import warnings

import numpy as np
import pytest
from helpers import fit_quietly, run_in_forked_child
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    make_classification,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

import sklearn_gd_logreg
from sklearn_gd_logreg import (
    GDLogisticRegression,
    ImageFlattener,
    InconsistentVersionWarning,
    _divergence,
    _fit_path,
    _fitting,
    _problem,
    core,
)
from sklearn_gd_logreg._inputs import validation_split
from sklearn_gd_logreg._step_size import lipschitz_constant


def _state(est):
    return {k: v for k, v in vars(est).items() if k.endswith("_")}


def _assert_same_state(before, after):
    assert before.keys() == after.keys()
    for name, value in before.items():
        if isinstance(value, np.ndarray):
            assert_array_equal(value, after[name])
        else:
            assert value == after[name]


# --- Divergence is caught before it overflows --------------------------------


@pytest.mark.parametrize("schedule", ["adaptive", "constant", "invscaling"])
def test_sgd_with_a_step_too_long_for_alpha_raises_naming_both(schedule):
    # The case: |coef_| reached 1e22 and the fit was called converged.
    X, y = load_iris(return_X_y=True)
    est = GDLogisticRegression(solver="sgd", random_state=0).fit(X[::2], y[::2])
    before = _state(est)
    est.set_params(alpha=1.0, learning_rate=10.0, learning_rate_schedule=schedule)
    with pytest.raises(core.DivergenceError, match="diverged") as error:
        est.fit(X, y)
    message = str(error.value)
    assert "learning_rate=10.0" in message and "alpha=1.0" in message, message
    assert error.value.iteration == 0  # within the first epoch, long before inf
    _assert_same_state(before, _state(est))  # the estimator is as it was


def test_gd_with_a_step_above_two_over_L_raises_before_overflow(iris):
    # learning_rate * alpha = 10: the L2 part alone grows 9 times per step
    # (|coef_| of 1e19 after 20 iterations, with only a ConvergenceWarning).
    X, y = iris
    est = GDLogisticRegression(learning_rate=1e5, alpha=1e-4, max_iter=20)
    with pytest.raises(core.DivergenceError, match="learning_rate=") as error:
        est.fit(X, y)
    assert error.value.iteration == 0  # before the first step
    assert "|1 - step * alpha| = 9 > 1" in str(error.value)
    assert "alpha=0.0001" in str(error.value)
    assert not hasattr(est, "coef_")


def test_divergence_under_auto_says_auto_and_suggests_nesterov(iris, monkeypatch):
    # 'auto' can only diverge if the subsample underestimates L by 2x; the
    # message must not tell the user to use the 'auto' they already use.
    X, y = iris
    monkeypatch.setattr(_fitting, "problem_step", lambda problem: 1e5)
    with pytest.raises(core.DivergenceError) as error:
        GDLogisticRegression(max_iter=20).fit(X, y)
    message = str(error.value)
    assert "learning_rate='auto' (a step of 1e+05)" in message, message
    assert "solver='nesterov' or 'bb'" in message, message


def test_the_l2_rule_refuses_exactly_the_steps_that_grow_geometrically():
    check = _divergence.check_l2_step
    check(1.99, 1.0)  # |1 - 1.99| < 1: the L2 part contracts
    check(1e9, 0.0)  # no L2 part: the weights grow at most linearly
    with pytest.raises(core.DivergenceError, match=r"= 1\.01 > 1 at every"):
        check(2.01, 1.0)
    # A decaying step: refused only if the weights grow over 1e10 times
    # before it falls below 2 / alpha.
    check(2.5, 1.0, schedule="invscaling", power_t=0.5, n_batches=1)
    check(2.5, 1.0, schedule="adaptive", patience=5, n_batches=1)  # 1.5**5
    with pytest.raises(core.DivergenceError, match="'adaptive' schedule"):
        check(10.0, 1.0, schedule="adaptive", patience=5, n_batches=5)  # 9**25


def test_sgd_whose_decaying_step_tames_the_l2_part_converges():
    # Found in review: a first step of 2.5 / alpha with one batch per epoch
    # grows the weights 1.5 times per step until the schedule shrinks it.
    X, y = make_classification(200, 5, random_state=0)
    for schedule in ("invscaling", "adaptive"):
        est = GDLogisticRegression(
            solver="sgd",
            learning_rate=2.5,
            alpha=1.0,
            batch_size=200,
            learning_rate_schedule=schedule,
            tol=1e-6,
            random_state=0,
        )
        fit_quietly(est, X, y)
        assert np.all(np.abs(est.coef_) < 1)


def test_a_large_step_whose_loss_spikes_then_settles_is_not_divergence(rng):
    # Separable image-like rows, no penalty, a step 10 x 1 / L: the loss
    # jumps to hundreds of times its start, then falls to 0 (found in
    # review: a rule on the objective's growth refused this fit).
    X = np.clip(rng.random((1, 2000)) + 0.2 * rng.normal(size=(120, 2000)), 0, 1)
    scores = X @ rng.normal(size=2000)
    y = (scores > np.median(scores)).astype(int)
    est = fit_quietly(GDLogisticRegression(learning_rate=2.0, alpha=0.0), X, y)
    assert est.loss_curve_.max() > 100 * est.loss_curve_[0]
    assert est.score(X, y) == 1.0
    # Unscaled digits, "sgd" with a step of 10 (step * alpha = 1e-3).
    X, y = load_digits(return_X_y=True)
    est = GDLogisticRegression(solver="sgd", learning_rate=10.0, max_iter=20)
    assert fit_quietly(est.set_params(random_state=0), X, y).score(X, y) > 0.95


def test_partial_fit_divergence_names_partial_fit(iris):
    X, y = iris
    est = GDLogisticRegression(solver="gd", alpha=1.0, learning_rate=10.0)
    with pytest.raises(
        core.DivergenceError, match=r"GDLogisticRegression\.partial_fit"
    ):
        est.partial_fit(X, y, classes=[0, 1, 2])


@pytest.mark.parametrize("seed", range(5))
def test_sgd_noise_never_reads_as_divergence(cancer, iris, seed):
    # The largest stable steps (2 / L: beyond it GD itself oscillates), one
    # row per batch (the noisiest SGD), constant step: no error, and a model
    # as good as the full fit.
    for X, y in (cancer, iris):
        step = 1.9 / lipschitz_constant(X.T, alpha=1e-4, n_outputs=len(set(y)) - 1)
        est = GDLogisticRegression(
            solver="sgd",
            learning_rate=step,
            learning_rate_schedule="constant",
            batch_size=1,
            max_iter=10,
            random_state=seed,
        )
        fit_quietly(est, X, y)
        assert est.score(X, y) > 0.9


def test_gd_at_its_largest_stable_step_and_at_the_optimum_never_diverges(iris):
    X, y = iris
    L = lipschitz_constant(X.T, alpha=1e-4, n_outputs=3)
    fit_quietly(GDLogisticRegression(learning_rate=1.99 / L, max_iter=500), X, y)
    # Warm-started at the optimum: only rounding moves the objective.
    est = GDLogisticRegression(solver="nesterov", tol=1e-12, max_iter=10_000)
    fit_quietly(est, X, y)
    est.set_params(solver="gd", warm_start=True, tol=0.0, max_iter=200)
    fit_quietly(est, X, y)
    assert np.ptp(est.loss_curve_) < 1e-12


# --- No hang, ever ------------------------------------------------------------


def _ends(make_data, **params):
    def check():
        X, y = make_data()
        try:
            fit_quietly(GDLogisticRegression(**params), X, y)
        except core.DivergenceError:
            return True  # an error is an end too
        return True

    return check


def _iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


@pytest.mark.parametrize(
    "make_data, params",
    [
        (_iris, {"solver": "nesterov", "learning_rate": 1.5e308}),
        (_iris, {"solver": "nesterov", "learning_rate": 1e-320}),
        (  # "auto" is 1 / L = 1.6e308 on these features of ~1e-154
            lambda: (_iris()[0] * 6.5e-155, _iris()[1]),
            {"solver": "nesterov", "alpha": 0.0, "fit_intercept": False, "tol": 0.0},
        ),
        (_iris, {"solver": "gd", "learning_rate": 1.5e308}),
        (_iris, {"solver": "sgd", "learning_rate": 1.5e308, "max_iter": 5}),
    ],
    ids=["nesterov-1.5e308", "nesterov-1e-320", "nesterov-auto-tiny-X", "gd", "sgd"],
)
def test_every_loop_ends(make_data, params):
    # A hang used to be an endless line search (1.25 x 1.5e308 = inf).
    run_in_forked_child(_ends(make_data, **{"max_iter": 200, **params}), timeout=60)


def test_a_huge_first_step_still_fits(iris):
    X, y = iris
    est = fit_quietly(
        GDLogisticRegression(solver="nesterov", learning_rate=1.5e308), X, y
    )
    assert est.score(X, y) > 0.9


# --- Extreme weights: the right answer or the right error ----------------------


def test_weights_whose_sum_overflows_give_the_scaled_weights_model(iris, rng):
    X, y = iris
    sw = rng.uniform(0.5, 2.0, len(y))
    ref = fit_quietly(GDLogisticRegression(max_iter=100), X, y, sample_weight=sw)
    for factor in [2.0**1020, 2.0**-1000]:  # sums overflow / products underflow
        est = GDLogisticRegression(max_iter=100)
        fit_quietly(est, X, y, sample_weight=sw * factor)
        assert_array_equal(est.coef_, ref.coef_)  # powers of two: exactly
    # The case: two weights of 1e308 (their sum is inf) used to give
    # coef_ = 0 "converged" after one iteration.
    heavy = np.r_[1e308, 1e308, np.ones(len(y) - 2)]
    est = fit_quietly(GDLogisticRegression(), X, y, sample_weight=heavy)
    light = fit_quietly(GDLogisticRegression(), X, y, sample_weight=heavy / 1e308)
    assert est.n_iter_ > 1 and np.abs(est.coef_).max() > 0.1
    assert_allclose(est.coef_, light.coef_, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("value", [1e307, 1e-320])
def test_uniform_extreme_weights_equal_no_weights(iris, value):
    # 1e307 was "diverged ... learning_rate=10000.0" under 'auto'; 1e-320 was
    # "the features in X are too large".
    X, y = iris
    ref = GDLogisticRegression(max_iter=100)
    ref = fit_quietly(ref, X, y)
    sw = np.full(len(y), value)
    est = fit_quietly(GDLogisticRegression(max_iter=100), X, y, sample_weight=sw)
    assert_allclose(est.coef_, ref.coef_, rtol=1e-12)


@pytest.mark.parametrize(
    "class_weight", [{0: np.inf}, {0: np.nan, 1: 1}, {0: -1.0, 1: 1.0}, {0: "a"}]
)
def test_bad_class_weights_are_named(cancer, class_weight):
    X, y = cancer
    with pytest.raises(ValueError, match=r"class_weight must map .* class 0"):
        GDLogisticRegression(class_weight=class_weight).fit(X, y)


@pytest.mark.parametrize("bad", [np.inf, np.nan, -1.0])
def test_bad_sample_weights_are_named(cancer, bad):
    X, y = cancer
    sw = np.ones(len(y))
    sw[3] = bad
    with pytest.raises(ValueError, match="sample_weight"):
        GDLogisticRegression().fit(X, y, sample_weight=sw)


def test_invscaling_with_a_huge_power_t_does_not_overflow(iris):
    X, y = iris
    est = GDLogisticRegression(
        solver="sgd", learning_rate_schedule="invscaling", power_t=1000.0
    )
    fit_quietly(est.set_params(random_state=0), X, y)
    assert np.all(np.isfinite(est.coef_))


# --- NumPy scalars and strict floating-point settings --------------------------

PYTHON_PARAMS = {
    "alpha": 1e-3,
    "tol": 1e-4,
    "max_iter": 60,
    "l1_ratio": 0.5,
    "batch_size": 16,
    "power_t": 0.25,
    "validation_fraction": 0.2,
    "n_iter_no_change": 3,
    "early_stopping": False,
    "fit_intercept": True,
}


@pytest.mark.parametrize("solver", ["gd", "nesterov", "bb", "sgd"])
@pytest.mark.parametrize("learning_rate", ["auto", 0.5])
def test_numpy_scalar_parameters_act_as_python_numbers(iris, solver, learning_rate):
    X, y = iris
    numpy_params = {
        name: (np.bool_(v) if isinstance(v, bool) else np.array(v)[()])
        for name, v in PYTHON_PARAMS.items()
    }
    if learning_rate != "auto":
        numpy_params["learning_rate"] = np.float64(learning_rate)
    common = {"solver": solver, "penalty": "elasticnet", "random_state": 0}
    ref = GDLogisticRegression(learning_rate=learning_rate, **common, **PYTHON_PARAMS)
    est = GDLogisticRegression(**common, **numpy_params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("error", RuntimeWarning)  # the overflow warning
        ref.fit(X, y)
        est.fit(X, y)
    assert_array_equal(est.coef_, ref.coef_)
    assert_array_equal(est.loss_curve_, ref.loss_curve_)
    for name, value in numpy_params.items():  # the parameters are untouched
        assert est.get_params()[name] is value


@pytest.mark.parametrize("solver", ["gd", "nesterov", "bb", "sgd"])
def test_strict_errstate_changes_nothing(solver):
    # Unscaled features of 1e150: the Lipschitz estimate's products underflow
    # (a FloatingPointError before); far from the data, the softmax's exp
    # underflows at predict time.
    X, y = load_breast_cancer(return_X_y=True)
    X_iris, y_iris = load_iris(return_X_y=True)
    for data, labels, far in (
        (X * 1e150, y, X * 1e150),
        (X_iris, y_iris, X_iris * 100),
    ):
        est = GDLogisticRegression(solver=solver, max_iter=30, random_state=0)
        ref = fit_quietly(est, data, labels)
        ref_coef, ref_proba = ref.coef_.copy(), ref.predict_proba(far)
        with np.errstate(all="raise"):
            fit_quietly(est, data, labels)
            proba = est.predict_proba(far)
            log_proba = est.predict_log_proba(far)
        assert_array_equal(est.coef_, ref_coef)
        assert_array_equal(proba, ref_proba)
        assert np.all(np.isfinite(log_proba))


def test_image_flattener_refuses_a_scale_that_overflows():
    images = np.full((2, 3, 3), 7, dtype=np.uint8)
    with pytest.raises(ValueError, match=r"scale=1e-310.*overflows float64"):
        ImageFlattener(scale=1e-310).fit_transform(images)
    big = np.full((2, 3, 3), 1e300)
    with pytest.raises(ValueError, match=r"overflows float32.*dtype=np.float64"):
        ImageFlattener(dtype=np.float32).fit_transform(big)
    assert ImageFlattener(scale=1e-300).fit_transform(images).max() == 7e300


def test_course_db_is_a_numpy_float64():
    # The course's notebook asserts type(grads["db"]) == np.float64.
    w, b = np.array([[1.0], [2.0]]), 2.0
    X, Y = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]]), np.array([[1, 0, 1]])
    grads, _ = core.propagate(w, b, X, Y)
    assert type(grads["db"]) is np.float64
    assert type(grads["dw"]) is np.ndarray and grads["dw"].shape == (2, 1)


# --- Concurrency and persistence -------------------------------------------------


def test_concurrent_fits_of_one_instance_leave_one_whole_fit(iris, cancer):
    data = [iris, cancer]  # 4 features and 3 classes; 30 features and 2
    refs = [fit_quietly(GDLogisticRegression(max_iter=40), X, y) for X, y in data]
    est = GDLogisticRegression(max_iter=40)
    for _ in range(40):  # the old code mixed the two in about 1 run in 3
        threads = [threading.Thread(target=est.fit, args=(X, y)) for X, y in data]
        with warnings.catch_warnings():  # set once, here: it is not thread-safe
            warnings.simplefilter("ignore", ConvergenceWarning)
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        ref = next(r for r in refs if r.n_features_in_ == est.coef_.shape[1])
        assert est.n_features_in_ == ref.n_features_in_
        assert_array_equal(est.classes_, ref.classes_)
        assert_array_equal(est.coef_, ref.coef_)
        assert_array_equal(est.loss_curve_, ref.loss_curve_)


def test_concurrent_partial_fits_all_count_and_set_params_is_kept(iris, monkeypatch):
    X, y = iris
    est = GDLogisticRegression(random_state=0)
    threads = [
        threading.Thread(
            target=est.partial_fit, args=(X, y), kwargs={"classes": [0, 1, 2]}
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert est.t_ == pytest.approx(2.0) and len(est.loss_curve_) == 2  # none lost
    # A parameter set while a fit runs is not undone when the fit ends.
    step_size = _fitting.step_size

    def set_params_midway(*args):
        est.set_params(max_iter=7)
        return step_size(*args)

    monkeypatch.setattr(_fit_path, "step_size", set_params_midway)
    fit_quietly(est.set_params(max_iter=3), X, y)
    assert est.n_iter_ == 3 and est.max_iter == 7


def test_subclasses_with_eq_or_properties_still_fit(iris):
    # Found in review: the per-instance lock was looked up by ==, and the
    # commit read parameters from __dict__.
    X, y = iris

    class Equal(GDLogisticRegression):
        def __eq__(self, other):
            return self.get_params() == other.get_params()

    class Property(GDLogisticRegression):
        @property
        def alpha(self):
            return self._alpha

        @alpha.setter
        def alpha(self, value):
            self._alpha = value

    for cls in (Equal, Property):
        est = fit_quietly(cls(max_iter=5, alpha=np.float64(1e-3)), X, y)
        assert est.n_iter_ == 5 and type(est.alpha) is np.float64


def test_gd_early_stopping_considers_the_last_step(iris):
    X, y = iris
    est = fit_quietly(GDLogisticRegression(early_stopping=True, max_iter=1), X, y)
    assert np.abs(est.coef_).max() > 0  # the start (zeros) was kept before
    assert len(est.validation_scores_) == est.n_iter_ == 1


def test_float32_iterates_stay_float32(monkeypatch):
    # A np.float64 db made every later score float64 and skipped the twin:
    # fits on float32 DataFrames (columns contiguous) ran 20 x slower.
    X, y = load_breast_cancer(return_X_y=True)
    X = np.asfortranarray((X - X.mean(0)) / X.std(0), dtype=np.float32)
    propagate = _problem.core.propagate
    dtypes = set()

    def spy(w, b, X, *args, **kwargs):
        grads, cost = propagate(w, b, X, *args, **kwargs)
        dtypes.update({w.dtype, grads["dw"].dtype, np.result_type(b, X.dtype)})
        return grads, cost

    monkeypatch.setattr(_problem.core, "propagate", spy)
    for solver in ("gd", "nesterov", "sgd"):
        fit_quietly(GDLogisticRegression(solver=solver, max_iter=5), X, y)
    assert dtypes == {np.dtype(np.float32)}
    params, _, _ = core.optimize(
        np.zeros((30, 1), np.float32), 0.0, X.T, y[None, :].astype(np.float32), 3, 0.1
    )
    assert params["w"].dtype == np.float32 and type(params["b"]) is float


def test_pickles_record_the_package_version(iris):
    est = fit_quietly(GDLogisticRegression(max_iter=5), *iris)
    state = est.__getstate__()
    assert state["_sklearn_gd_logreg_version"] == sklearn_gd_logreg.__version__
    for saved, shown in [("0.0.1", "version 0.0.1"), (None, "unrecorded")]:
        state["_sklearn_gd_logreg_version"] = saved
        if saved is None:
            del state["_sklearn_gd_logreg_version"]
        with pytest.warns(InconsistentVersionWarning, match=shown) as record:
            GDLogisticRegression().__setstate__(state)
        assert sklearn_gd_logreg.__version__ in str(record[-1].message)


@pytest.mark.parametrize("solver", ["sgd", "gd"])
def test_a_pickle_of_the_older_layout_continues_to_learn(iris, solver):
    X, y = iris
    est = fit_quietly(
        GDLogisticRegression(solver=solver, max_iter=5, random_state=0), X, y
    )
    state = est.__getstate__()
    for name in (
        "t_",
        "_base_learning_rate",
        "_shuffler",
        "_sklearn_gd_logreg_version",
    ):
        del state[name]
    old = GDLogisticRegression()
    with pytest.warns(InconsistentVersionWarning):
        old.__setstate__(state)
    assert old.t_ == (5.0 if solver == "sgd" else 0.0)
    assert old._base_learning_rate == est.learning_rate_
    old.partial_fit(X, y)  # an AttributeError before
    old.set_params(warm_start=True)
    fit_quietly(old, X, y)
    assert old.score(X, y) > 0.8


# --- The README's equivalence, with weights ----------------------------------------


def test_objective_is_logistic_regressions_with_C_from_the_weight_sum(cancer, rng):
    X, y = cancer
    alpha, class_weight = 1e-2, {0: 1.0, 1: 10.0}
    sw = rng.uniform(0.5, 2.0, len(y))
    S = np.sum(sw * np.where(y == 1, 10.0, 1.0))
    ours = GDLogisticRegression(
        alpha=alpha,
        class_weight=class_weight,
        solver="nesterov",
        tol=1e-9,
        max_iter=100_000,
    ).fit(X, y, sample_weight=sw)
    ref = LogisticRegression(
        C=1 / (alpha * S), class_weight=class_weight, tol=1e-12, max_iter=10_000
    ).fit(X, y, sample_weight=sw)
    assert_allclose(ours.coef_, ref.coef_, atol=1e-5)
    assert_allclose(ours.intercept_, ref.intercept_, atol=1e-5)


# --- early_stopping for the full-batch solvers ------------------------------------


@pytest.mark.parametrize("solver", ["gd", "nesterov", "bb"])
def test_early_stopping_of_full_batch_solvers(solver, rng):
    # Many noisy features and few samples, no penalty: the held-out loss
    # reaches its minimum and rises while the training loss keeps falling.
    X = rng.normal(size=(200, 150))
    y = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
    params = {"solver": solver, "alpha": 0.0, "learning_rate": 0.5, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = GDLogisticRegression(early_stopping=True, **params).fit(X, y)
    full = fit_quietly(GDLogisticRegression(max_iter=2000, **params), X, y)
    scores = est.validation_scores_
    assert len(scores) == est.n_iter_ < full.n_iter_
    best = int(np.argmin(scores))
    # Stopped n_iter_no_change iterations after the last new minimum.
    assert est.n_iter_ - 1 - best <= est.n_iter_no_change
    assert np.all(scores[best + 1 :] >= scores[best])  # no new minimum since
    assert est.loss_curve_[-1] > full.loss_curve_[-1]  # it did stop early
    # The model kept is the best iterate on the held-out rows.
    _, val = validation_split(y, 0.1, np.random.RandomState(0))
    held_out = -np.mean(est.predict_log_proba(X[val])[np.arange(len(val)), y[val]])
    assert held_out == pytest.approx(scores[best], rel=1e-9)


@pytest.mark.parametrize("solver", ["gd", "nesterov", "bb", "sgd"])
def test_early_stopping_when_the_start_is_already_the_minimum(solver):
    # Found by the thorough fuzzing: "nesterov" met tol before any held-out
    # loss was measured, and had no iterate to return.
    X, y = np.zeros((8, 1)), np.array([0, 1, 0, 0, 1, 0, 1, 0])
    est = GDLogisticRegression(
        solver=solver,
        early_stopping=True,
        fit_intercept=False,
        tol=0.0,
        validation_fraction=0.5,
        n_iter_no_change=1,
        max_iter=3,
    )
    fit_quietly(est, X, y)
    assert_array_equal(est.coef_, [[0.0]])


def test_a_line_search_with_no_representable_step_ends_with_an_error():
    # Found by the thorough fuzzing: features of 2e294 need a step below the
    # smallest float; the line search divided by a step that had become 0.
    X = np.zeros((9, 3))
    X[8, 2] = 2.42357807e294
    y = np.array([0, 1, 0, 0, 0, 0, 0, 0, 0])
    est = GDLogisticRegression(
        solver="nesterov", learning_rate=1.0, alpha=0.0, fit_intercept=False
    )
    with pytest.raises(core.DivergenceError, match="scale the features"):
        est.fit(X, y)


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        ([0.0, 1.0, np.nan], "classes contains NaN"),  # was a class of its own
        (np.array([0, 1, np.nan], dtype=object), "classes contains NaN"),  # too
        (["a", None], "classes must be labels of one kind"),  # was a TypeError
    ],
)
def test_partial_fit_names_classes_it_cannot_use(classes, message):
    X, y = np.random.default_rng(0).random((4, 2)), np.array([0.0, 1.0, 0.0, 1.0])
    estimator = GDLogisticRegression()
    with pytest.raises(ValueError, match=message):
        estimator.partial_fit(X, y if classes[1] == 1.0 else ["a"] * 4, classes)
    assert not hasattr(estimator, "classes_")


@pytest.mark.parametrize("weight", [-1.5, np.nan, np.inf])
def test_score_refuses_negative_or_non_finite_weights(weight):
    """accuracy_score took them: a score of 4.0 with a weight of -1.5."""
    X, y = np.array([[-1.0], [1.0], [2.0]]), np.array([0, 1, 1])
    model = GDLogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="sample_weight must hold finite, non-neg"):
        model.score(X, [0, 1, 0], sample_weight=[1.0, 1.0, weight])
    assert model.score(X, [0, 1, 0], sample_weight=[1.0, 2.0, 3.0]) == 0.5


def test_score_takes_finite_weights_whose_sum_overflows():
    """fit takes them (scaled by a power of two); score called them not
    finite once it refused non-finite weights, and returned NaN before."""
    X = np.array([[-1.0], [1.0], [2.0], [3.0]])
    huge = [1e308] * 4  # their sum: inf
    model = GDLogisticRegression(solver="bb").fit(X, [0, 1, 1, 1], sample_weight=huge)
    labels = [0, 1, 0, 1]
    expected = model.score(X, labels)  # equal weights: the plain accuracy
    assert model.score(X, labels, sample_weight=huge) == expected
