"""Degenerate inputs found by a hostile-input review: each test fails
without its fix (crashes, a finished fit thrown away, silent broadcasting,
an image scale that zeroes every pixel, a useless sgd fit called converged,
corrupted sparse matrices read out of bounds)."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import run_in_forked_child
from numpy.testing import assert_allclose
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss

from sklearn_gd_logreg import GDLogisticRegression, ImageFlattener, core
from sklearn_gd_logreg._step_size import lipschitz_constant


@pytest.fixture(scope="module")
def held_out_every_tenth():
    """10 000 rows, every 10th of weight 0: the "auto" step's every-stride-th
    subsample (stride 10 here) would hold only rows of weight 0."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10_000, 5))
    y = (X[:, 0] + 0.3 * rng.normal(size=10_000) > 0).astype(int)
    weight = (np.arange(10_000) % 10 != 0).astype(float)
    return X, y, weight


@pytest.mark.parametrize("solver", ["gd", "nesterov", "bb", "sgd"])
def test_a_subsample_of_weight_zero_estimates_the_step_on_all_rows(
    held_out_every_tenth, solver
):
    X, y, weight = held_out_every_tenth
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = GDLogisticRegression(solver=solver, max_iter=30, random_state=0)
        model.fit(X, y, sample_weight=weight)  # was a ZeroDivisionError
    if solver in ("gd", "sgd"):  # the line searches' learning_rate_ moves on
        L = lipschitz_constant(X.T, sample_weight=weight, alpha=1e-4)
        assert model.learning_rate_ == pytest.approx(1 / L, rel=1e-12)
    assert np.all(np.isfinite(model.coef_)) and model.score(X, y) > 0.9


def test_a_fixed_step_is_diagnosed_on_rows_of_weight_zero(held_out_every_tenth):
    """The ConvergenceWarning's diagnosis estimates 1/L too; it used to
    crash after the fit had finished."""
    X, y, weight = held_out_every_tenth
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        model = GDLogisticRegression(learning_rate=0.5, max_iter=3)
        model.fit(X, y, sample_weight=weight)
    assert np.all(np.isfinite(model.coef_))


def test_a_fixed_step_on_huge_features_keeps_the_fit_and_warns():
    """1/L underflows for features ~1e160; with a fixed step the fit itself
    runs, and its diagnosis leaves that cause out instead of raising."""
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0) * 1e160
    with pytest.warns(ConvergenceWarning, match="features in X are too large"):
        model = GDLogisticRegression(learning_rate=1e-320, max_iter=5).fit(X, y)
    assert model.n_iter_ == 5 and np.all(np.isfinite(model.coef_))


def test_bb_survives_a_change_of_gradient_whose_square_underflows():
    """Features ~1e-154: the change r of the gradient along a step is
    ~1e-163, |r|^2 underflows to 0 while <s, r> > 0 (BB2 divided by it)."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(22, 2)) * 1e-154
    y = np.arange(22) % 2
    with pytest.warns(ConvergenceWarning):
        model = GDLogisticRegression(solver="bb", tol=0.0, max_iter=50).fit(X, y)
    assert model.n_iter_ == 50 and np.all(np.isfinite(model.coef_))


@pytest.mark.parametrize("order", ["C", "F"])  # NumPy's lines, the twin's
@pytest.mark.parametrize(
    ("w", "b", "Y"),
    [
        (np.zeros((2, 1)), 0.0, np.array([[1], [0], [1]])),  # labels transposed
        (np.zeros((2, 1)), np.zeros((2, 1)), np.array([[1, 0, 1]])),  # b of n_x
        (np.zeros(2), 0.0, np.array([[1, 0, 1]])),  # w 1-D
        (np.zeros((2, 2)), 0.0, np.array([[1, 0, 1]])),  # two columns, one row
    ],
)
def test_the_core_refuses_shapes_that_would_broadcast(order, w, b, Y):
    X = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]], order=order)
    with pytest.raises(ValueError, match=r"w, b and Y must have shapes \(2, K\)"):
        core.optimize(w, b, X, Y, 10, 0.009)


def test_the_core_refuses_weights_of_another_length():
    X = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]])
    for data in (X, np.asfortranarray(X)):
        with pytest.raises(ValueError, match=r"sample_weight must have shape \(3,\)"):
            core.propagate(
                np.zeros((2, 1)),
                0.0,
                data,
                np.array([[1, 0, 1]]),
                sample_weight=np.ones(2),
            )


@pytest.mark.parametrize("order", ["C", "F"])
def test_the_core_accepts_the_shapes_it_documents(order):
    """A float b or (K, 1) b, for K = 1 and K = 3: the same sums either way."""
    X = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]], order=order)
    _, cost = core.propagate(np.array([[1.0], [2.0]]), 2.0, X, np.array([[1, 0, 1]]))
    assert cost == pytest.approx(5.80154532, abs=1e-8)
    _, same = core.propagate(
        np.array([[1.0], [2.0]]), np.full((1, 1), 2.0), X, np.array([[1, 0, 1]])
    )
    assert same == pytest.approx(cost, rel=1e-15)
    _, third = core.propagate(np.zeros((2, 3)), np.zeros((3, 1)), X, np.eye(3))
    assert_allclose(third, np.log(3.0), rtol=1e-15)


def test_an_image_scale_beyond_the_dtype_is_refused():
    """scale=1e39 is inf in float32: every pixel / scale would be 0."""
    images = np.arange(18, dtype=np.uint8).reshape(2, 3, 3) * 10
    with pytest.raises(ValueError, match=r"scale=1e\+39, dtype=float32\): scale is"):
        ImageFlattener(scale=1e39, dtype=np.float32).fit(images)
    fitted = ImageFlattener(dtype=np.float32).fit(images).set_params(scale=1e39)
    with pytest.raises(ValueError, match="larger than the largest float32"):
        fitted.transform(images)
    wide = ImageFlattener(scale=1e39).fit_transform(images)  # float64 holds it
    assert_allclose(wide, images.reshape(2, -1) / 1e39)


@pytest.mark.parametrize("scale", [np.float32(255), np.float16(255), np.int64(255)])
def test_a_numpy_scalar_scale_warns_nothing(scale):
    """A NumPy float32 scale was compared with float64's largest value in
    float32: an "overflow encountered in cast" warning at every fit."""
    images = np.arange(18, dtype=np.uint8).reshape(2, 3, 3) * 10
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = ImageFlattener(scale=scale).fit_transform(images)
    assert_allclose(out, images.reshape(2, -1) / 255.0)


def test_float64_values_beyond_float32_that_scale_brings_in_are_kept():
    """dtype=np.float32 cast X before dividing: 1e39 became inf, and the fit
    was refused with the advice of a larger scale, which could not help."""
    X = np.array([[1e39, 1.0], [-3e38, 2.0]])
    out = ImageFlattener(scale=1e10, dtype=np.float32).fit_transform(X)
    assert out.dtype == np.float32
    assert_allclose(out, (X / 1e10).astype(np.float32), rtol=1e-7)


def test_an_overflow_names_the_largest_value_of_signed_integers():
    """np.abs(-128) is -128 in int8: the message said largest |X| = 1."""
    X = np.array([[-128, 1]], dtype=np.int8)
    with pytest.raises(ValueError, match=r"largest \|X\| = 128\)"):
        ImageFlattener(scale=1e-307).fit_transform(X)


def test_sgd_that_stalls_far_above_the_uniform_model_is_not_converged():
    """A constant step past 2/L: the epochs' loss oscillates around 1e3
    (the model that tells no class apart has log 3 = 1.1) until the stall
    rule stopped it and called that converged, at 0.7 % accuracy."""
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    params = dict(solver="sgd", alpha=1.0, random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"stalled above the 1\.1 of a model"):
        GDLogisticRegression(
            learning_rate=1.99, learning_rate_schedule="constant", **params
        ).fit(X, y)
    for extra in ({}, {"average": True}, {"early_stopping": True}):
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            model = GDLogisticRegression(**params, **extra).fit(X, y)  # "auto"
        assert model.loss_curve_[-1] < np.log(3)  # below the uniform model


def test_sgd_worse_than_the_uniform_model_is_not_converged(cancer):
    """A constant step of 100 on standardised breast cancer stalled at a
    loss of 1.1, between once and twice the log 2 of w = 0 (the old bound),
    and was called converged; no minimum is worse than w = 0."""
    X, y = cancer
    params = dict(solver="sgd", learning_rate_schedule="constant", random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"stalled above the 0\.693"):
        model = GDLogisticRegression(learning_rate=100, **params).fit(X, y)
    assert model.loss_curve_[-1] > np.log(2)
    with warnings.catch_warnings():  # the "auto" step: below it, converged
        warnings.simplefilter("error", ConvergenceWarning)
        model = GDLogisticRegression(**params).fit(X, y)
    assert model.loss_curve_[-1] < 0.1


def test_sgd_whose_returned_model_is_worse_than_uniform_is_not_converged():
    """Noisy labels and a constant "auto" step: the epochs' mean batch loss
    stalled at 0.667, under log 2, so the returned model (log-loss 1.38,
    48 % accuracy) was not checked and was called converged."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2500, 5)) * 3
    y = (X[:, 0] + rng.standard_normal(2500) * 5 > 0).astype(int)
    params = dict(solver="sgd", learning_rate_schedule="constant", random_state=1)
    with pytest.warns(ConvergenceWarning, match=r"stalled above the 0\.693"):
        model = GDLogisticRegression(**params).fit(X, y)
    assert model.loss_curve_[-1] < np.log(2) < log_loss(y, model.predict_proba(X))


def test_sgd_reports_an_intercept_that_overflows_in_the_last_batch():
    """Each batch's loss is checked before its step, so the last step of an
    epoch went unchecked: an intercept of inf came back, without an error."""
    X, y = np.full((10, 1), 1e-200), np.array([0, 1] * 5)
    weight = np.full(10, 1e-300)
    weight[np.random.RandomState(0).permutation(10)[-1]] = 1.0  # the last batch
    model = GDLogisticRegression(
        solver="sgd", learning_rate=1e308, penalty=None, batch_size=1, random_state=0
    )
    with pytest.raises(core.DivergenceError, match="no longer finite"):
        model.partial_fit(X, y, classes=[0, 1], sample_weight=weight)
    assert not hasattr(model, "coef_")


def test_sgd_judges_the_model_it_returns_not_the_last_iterate():
    """With averaging the last iterates' loss may stall high while the
    average is good, or not: the warning follows the objective of the model
    returned (here 539, against 0.003 at the optimum: a step of 50 is far
    too long, though the average classifies 96 % of the digits)."""
    X, y = load_digits(return_X_y=True)
    params = dict(solver="sgd", alpha=1e-4, random_state=0, average=True)
    with pytest.warns(ConvergenceWarning, match="stopped after 9 of max_iter=2000"):
        model = GDLogisticRegression(
            learning_rate=50, learning_rate_schedule="constant", **params
        ).fit(X, y)
    assert model.score(X, y) > 0.9


def _refuses_corrupted(fmt, index):
    def check():
        X, y = load_iris(return_X_y=True)
        fitted = GDLogisticRegression(max_iter=5).fit(X, y)
        bad = sp.csc_matrix(X) if fmt == "csc" else sp.csr_matrix(X)
        bad.indices[5] = index  # SciPy's constructors do not check this
        for call in (
            lambda: GDLogisticRegression(solver="nesterov").fit(bad, y),
            lambda: fitted.predict_proba(bad),
        ):
            with pytest.raises(ValueError, match="structure is corrupted"):
                call()
        return True

    return check


@pytest.mark.parametrize("index", [10**6, -1])
@pytest.mark.parametrize("fmt", ["csc", "csr"])
def test_a_corrupted_sparse_matrix_is_refused_before_any_product(fmt, index):
    """SciPy's product in the "auto" step read the CSC matrix's index 10**6
    out of bounds (a segfault, hence the forked child); a -1 gave a model of
    1e84 without an error."""
    run_in_forked_child(_refuses_corrupted(fmt, index), timeout=60)


@pytest.mark.parametrize("cost_every", [0, -1, 1.5])
def test_optimize_refuses_a_cost_every_below_one(cost_every):
    X, Y = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]]), np.array([[1, 0, 1]])
    with pytest.raises(ValueError, match="cost_every must be an int >= 1"):  # was 1 % 0
        core.optimize(np.zeros((2, 1)), 0.0, X, Y, 10, 0.009, cost_every=cost_every)


def test_stale_entries_past_indptr_are_not_read():
    """Stored entries past ``indptr[-1]`` belong to no row: an index there
    out of range does not make a valid matrix corrupted."""
    X, y = load_iris(return_X_y=True)
    A = sp.csr_matrix(X)
    nnz = A.indptr[-1]
    padded = A.copy()  # SciPy's constructor would trim the stale entry
    padded.data, padded.indices = np.append(A.data, 1.0), np.append(A.indices, 10**6)
    assert len(padded.indices) == nnz + 1  # the stale entry is kept
    ours = GDLogisticRegression(max_iter=5).fit(padded, y)
    reference = GDLogisticRegression(max_iter=5).fit(A, y)
    assert_allclose(ours.coef_, reference.coef_, rtol=1e-12)


@pytest.mark.parametrize(
    "case", ["weights of zero", "NaN in X", "scores that overflow"]
)
def test_optimize_blames_the_inputs_not_the_step_for_a_bad_start(case):
    """A cost that is not finite before any step was called divergence
    ("use a smaller learning_rate"), which no learning_rate could fix."""
    X, Y = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]]), np.array([[1, 0, 1]])
    w, weight = np.zeros((2, 1)), None
    if case == "weights of zero":
        weight = np.zeros(3)
    elif case == "NaN in X":
        X[0, 1] = np.nan
    else:
        w, X = np.full((2, 1), 1e300), X * 1e300
    with pytest.raises(ValueError, match="starting w and b is not finite") as caught:
        core.optimize(w, 0.0, X, Y, 10, 0.009, sample_weight=weight)
    assert not isinstance(caught.value, core.DivergenceError)
    assert "learning_rate" not in str(caught.value)
