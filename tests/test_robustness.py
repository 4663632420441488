"""Property-based tests: hostile inputs, invariances and numerical extremes.

Hypothesis draws the data and the parameters; the profile (``ci`` by default,
``thorough`` for 10x the examples) is registered in ``conftest.py``. What the
suite covers, and how many examples it runs, is listed in ``tests/README.md``.
"""

import re
import warnings

import numpy as np
import pytest
from helpers import fit_quietly
from hypothesis import assume, event, given, note
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError, StrOptions

from sklearn_gd_logreg import GDLogisticRegression, ImageFlattener

# The argument names an error message may blame: fit's and the estimator's.
ARGUMENTS = ("X", "y", "sample_weight", *GDLogisticRegression().get_params())

X_DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int32, np.int64]


def names(message: str, *arguments: str) -> bool:
    """Whether ``message`` names one of ``arguments`` as a whole word."""
    return any(
        re.search(rf"(?<![\w.]){re.escape(a)}(?!\w)", message) for a in arguments
    )


# --------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------


def _elements(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        info = np.finfo(dtype)
        return st.one_of(
            st.floats(
                -float(info.max),
                float(info.max),
                width=dtype.itemsize * 8,
                allow_nan=False,
                allow_subnormal=False,
            ),
            # Tiny and huge magnitudes, both signs: 1e-300 ... 1e300 in float64.
            # Rounded to the dtype first: hypothesis requires exact elements.
            st.builds(
                lambda sign, exponent: float(dtype.type(sign * 10.0**exponent)),
                st.sampled_from([-1.0, 1.0]),
                st.integers(int(np.log10(info.tiny)) + 1, int(np.log10(info.max))),
            ),
        )
    info = np.iinfo(dtype)
    return st.integers(int(info.min), int(info.max))


@st.composite
def feature_matrices(draw, max_samples=12, max_features=4, dtypes=X_DTYPES):
    """Any shape from 1 x 1, any of ``dtypes``, constant columns, duplicated rows."""
    dtype = draw(st.sampled_from(dtypes))
    n_samples = draw(st.sampled_from(range(1, max_samples + 1)))
    n_features = draw(st.integers(1, max_features))
    X = draw(hnp.arrays(dtype, (n_samples, n_features), elements=_elements(dtype)))
    if draw(st.booleans()):  # a constant column
        j = draw(st.integers(0, n_features - 1))
        X[:, j] = X[0, j]
    if n_samples > 1 and draw(st.booleans()):  # duplicated rows
        source = draw(st.integers(0, n_samples - 1))
        targets = draw(st.lists(st.integers(0, n_samples - 1), max_size=3))
        X[targets] = X[source]
    return X


def label_arrays(n_samples):
    """1 to 5 classes, unbalanced, as ints, strings or bools."""

    @st.composite
    def build(draw):
        # Hypothesis favours the first option: two classes first, one last.
        n_classes = min(n_samples, draw(st.sampled_from([2, 3, 5, 4, 1])))
        # Every one of the n_classes labels present, in any order.
        rest = st.lists(
            st.integers(0, n_classes - 1),
            min_size=n_samples - n_classes,
            max_size=n_samples - n_classes,
        )
        codes = np.array(draw(st.permutations(list(range(n_classes)) + draw(rest))))
        kinds = ["int", "str", "bool"] if n_classes <= 2 else ["int", "str"]
        kind = draw(st.sampled_from(kinds))
        if kind == "bool":
            return codes.astype(bool)
        label = st.integers(-1000, 1000) if kind == "int" else st.text(max_size=4)
        values = draw(
            st.lists(label, min_size=n_classes, max_size=n_classes, unique=True)
        )
        return np.array(values, dtype=object if kind == "str" else np.int64)[codes]

    return build()


def sample_weights(n_samples):
    weight = st.one_of(
        st.sampled_from([0.0, 1.0, 2.0]),
        st.floats(0.0, 1e6, allow_subnormal=False),
    )
    return st.one_of(
        st.none(),
        hnp.arrays(np.float64, n_samples, elements=weight),
    )


def _options(name):
    """The string options of a parameter, from its constraints."""
    for constraint in GDLogisticRegression._parameter_constraints[name]:
        if isinstance(constraint, StrOptions):
            return sorted(constraint.options)
    raise AssertionError(name)


# Strategies for the parameters beyond the course's, used when the estimator
# has them (solver layer): every value within the parameter's constraints.
EXTRA_PARAMS = {
    "penalty": lambda: st.sampled_from([*_options("penalty"), None]),
    "l1_ratio": lambda: st.floats(0.0, 1.0),
    "solver": lambda: st.sampled_from(_options("solver")),
    "batch_size": lambda: st.integers(1, 20),
    "learning_rate_schedule": lambda: st.sampled_from(
        _options("learning_rate_schedule")
    ),
    "power_t": lambda: st.floats(0.0, 2.0),
    "average": lambda: st.one_of(st.booleans(), st.integers(0, 50)),
    "early_stopping": st.booleans,
    "validation_fraction": lambda: st.floats(0.05, 0.95),
    "n_iter_no_change": lambda: st.integers(1, 5),
    "random_state": lambda: st.one_of(st.none(), st.integers(0, 2**32 - 1)),
}


@st.composite
def classifier_params(draw, classes):
    class_weight = draw(
        st.one_of(
            st.none(),
            st.just("balanced"),
            st.fixed_dictionaries({c: st.floats(0.0, 10.0) for c in classes.tolist()}),
        )
    )
    params = {
        "learning_rate": draw(
            st.one_of(st.just("auto"), st.floats(1e-6, 1e3, allow_subnormal=False))
        ),
        "max_iter": draw(st.integers(1, 30)),
        "tol": draw(st.one_of(st.just(0.0), st.floats(1e-8, 1.0))),
        "alpha": draw(st.one_of(st.just(0.0), st.floats(1e-8, 1e3))),
        "fit_intercept": draw(st.booleans()),
        "class_weight": class_weight,
        "warm_start": draw(st.booleans()),
    }
    for name in GDLogisticRegression().get_params():
        if name in EXTRA_PARAMS:
            params[name] = draw(EXTRA_PARAMS[name]())
    return params


@st.composite
def fit_problems(draw):
    X = draw(feature_matrices())
    y = draw(label_arrays(len(X)))
    sample_weight = draw(sample_weights(len(X)))
    params = draw(classifier_params(np.unique(y)))
    return X, y, sample_weight, params


# --------------------------------------------------------------------------
# Fit succeeds, or fails naming the argument at fault
# --------------------------------------------------------------------------


def check_fitted_model(est, X):
    """The promises of a fitted model, on the data it was fitted on."""
    assert np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.intercept_))
    proba = est.predict_proba(X)
    decision = est.decision_function(X)
    y_pred = est.predict(X)
    n_classes = len(est.classes_)
    assert proba.shape == (len(X), n_classes)
    assert np.all(np.isfinite(proba))
    assert np.all((proba >= 0) & (proba <= 1))
    atol = 1e-12 if proba.dtype == np.float64 else 1e-6
    assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=atol)
    assert np.all(np.isfinite(est.predict_log_proba(X)) | (proba == 0))
    assert set(y_pred.tolist()) <= set(est.classes_.tolist())
    index = np.searchsorted(est.classes_, y_pred)
    # The predicted class has the largest probability (ties: any of them) ...
    assert_array_equal(proba[np.arange(len(X)), index], proba.max(axis=1))
    # ... and the largest score: its sign, for two classes.
    if n_classes == 2:
        assert_array_equal(index, (decision > 0).astype(int))
    else:
        assert_array_equal(decision[np.arange(len(X)), index], decision.max(axis=1))


@given(problem=fit_problems())
def test_fit_succeeds_or_names_the_argument_at_fault(problem):
    X, y, sample_weight, params = problem
    note(f"X.dtype={X.dtype}, X={X!r}, y={y!r}, sample_weight={sample_weight!r}")
    est = GDLogisticRegression(**params)
    try:
        fit_quietly(est, X, y, sample_weight=sample_weight)
        if params["warm_start"]:  # a second fit starts from the first one
            fit_quietly(est, X, y, sample_weight=sample_weight)
    except (ValueError, InvalidParameterError) as error:
        message = str(error)
        note(f"error: {message}")
        event("fit raised", message.split(":")[0][:60])
        if len(np.unique(y)) < 2:
            assert names(message, "y"), message
        elif "zero weight" in message or "zero for every" in message:
            assert names(message, "sample_weight", "class_weight"), message
        elif "diverged" in message:
            assert names(message, "learning_rate"), message
            assert "'auto'" in message and "scale" in message, message
        else:
            assert names(message, *ARGUMENTS), message
        return
    event("fit succeeded", f"{len(est.classes_)} classes, X {X.dtype}")
    check_fitted_model(est, X)


# Values outside each parameter's constraints.
BAD_PARAMS = {
    "learning_rate": st.one_of(st.floats(max_value=0.0), st.just("fast")),
    "max_iter": st.one_of(st.integers(max_value=0), st.just(1.5)),
    "tol": st.floats(max_value=-1e-300),
    "alpha": st.one_of(st.floats(max_value=-1e-300), st.just("strong")),
    "fit_intercept": st.sampled_from(["yes", None]),
    "class_weight": st.sampled_from(["auto", 3, [1.0, 2.0]]),
    "warm_start": st.sampled_from(["no", 2.5]),
    "penalty": st.sampled_from(["l3", "L2"]),
    "solver": st.sampled_from(["adam", "GD"]),
    "l1_ratio": st.floats(1.0, allow_infinity=False).filter(lambda v: v > 1.0),
    "batch_size": st.integers(max_value=0),
    "average": st.one_of(st.integers(max_value=-1), st.just(1.5), st.just("yes")),
}


@given(data=st.data())
def test_invalid_parameters_are_named(data):
    est = GDLogisticRegression()
    name = data.draw(st.sampled_from(sorted(set(BAD_PARAMS) & set(est.get_params()))))
    value = data.draw(BAD_PARAMS[name])
    est.set_params(**{name: value})
    X, y = np.array([[0.0], [1.0]]), np.array([0, 1])
    with pytest.raises(InvalidParameterError) as error:
        est.fit(X, y)
    assert f"'{name}' parameter" in str(error.value), error.value


@given(
    X=feature_matrices(dtypes=[np.float64]),
    data=st.data(),
)
def test_bad_values_in_X_and_sample_weight_are_named(X, data):
    n = len(X)
    y = np.arange(n) % 2
    assume(n >= 2)
    bad = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    i, j = data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, X.shape[1] - 1))
    X_bad = X.copy()
    X_bad[i, j] = bad
    with pytest.raises(ValueError) as error:
        GDLogisticRegression(max_iter=2).fit(X_bad, y)
    assert names(str(error.value), "X"), error.value
    weight = np.ones(n)
    weight[i] = data.draw(st.sampled_from([np.nan, np.inf, -1.0]))
    with pytest.raises(ValueError) as error:
        GDLogisticRegression(max_iter=2).fit(X, y, sample_weight=weight)
    assert names(str(error.value), "sample_weight"), error.value


# --------------------------------------------------------------------------
# Invariances, on moderately scaled random data
# --------------------------------------------------------------------------


# Solvers whose iterates depend on the data only through full-batch sums, by
# a fixed sequence of operations. "nesterov" is left out: its line search and
# restarts compare objective values, and comparisons that rounding decides
# differently give models that agree only to the solver's tolerance (tested
# in test_solvers.py::test_nesterov_is_invariant_at_its_tolerance).
FULL_BATCH_SOLVERS = ["gd"]


@st.composite
def moderate_problems(draw, min_classes=2, max_classes=4):
    n_classes = draw(st.integers(min_classes, max_classes))
    n_samples = draw(st.integers(n_classes, 15))
    n_features = draw(st.integers(1, 4))
    # Moderately scaled: 0 or 1e-3 <= |x| <= 10. (Tiny features make the
    # "auto" step huge, and a gradient that is zero but for rounding then
    # moves the weights: no invariance holds beyond rounding there.)
    moderate = st.one_of(st.just(0.0), st.floats(1e-3, 10.0), st.floats(-10.0, -1e-3))
    X = draw(hnp.arrays(np.float64, (n_samples, n_features), elements=moderate))
    # Every class present: the first n_classes samples cover them.
    codes = np.array(
        list(range(n_classes))
        + draw(
            st.lists(
                st.integers(0, n_classes - 1),
                min_size=n_samples - n_classes,
                max_size=n_samples - n_classes,
            )
        )
    )
    params = {
        # Fixed steps below 2 / L for features in [-10, 10] (L <= 200.5): a
        # larger step amplifies rounding errors exponentially, and then no
        # invariance holds beyond rounding.
        "learning_rate": draw(st.sampled_from(["auto", 0.001, 0.004])),
        "max_iter": draw(st.integers(1, 40)),
        "tol": 0.0,
        "alpha": draw(st.sampled_from([0.0, 1e-3, 1.0])),
        "fit_intercept": draw(st.booleans()),
    }
    params["solver"] = draw(st.sampled_from(FULL_BATCH_SOLVERS))
    return X, codes, params


def assert_same_loss_curve(a, b):
    # With tol=0 a run stops only on an exactly zero gradient, which one run
    # may reach while the other's stays at rounding level (at the optimum):
    # compare the iterations both ran.
    n = min(len(a.loss_curve_), len(b.loss_curve_))
    assert_allclose(a.loss_curve_[:n], b.loss_curve_[:n], rtol=1e-10)


def assert_same_model(a, b, rtol, atol):
    assert_array_equal(a.classes_, b.classes_)
    assert_allclose(a.coef_, b.coef_, rtol=rtol, atol=atol)
    assert_allclose(a.intercept_, b.intercept_, rtol=rtol, atol=atol)


@given(problem=moderate_problems(), data=st.data())
def test_permuting_rows_gives_the_same_model(problem, data):
    X, y, params = problem
    order = np.array(data.draw(st.permutations(range(len(X)))))
    a = fit_quietly(GDLogisticRegression(**params), X, y)
    b = fit_quietly(GDLogisticRegression(**params), X[order], y[order])
    assert_same_model(a, b, rtol=1e-12, atol=1e-12)
    assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-12, atol=1e-12)


@given(problem=moderate_problems(), data=st.data())
def test_relabelling_classes_gives_the_same_probabilities(problem, data):
    X, codes, params = problem
    n_classes = codes.max() + 1
    names_ = ["cat", "dog", "emu", "fox"][:n_classes]
    # Any one-to-one relabelling, including ones that reorder classes_.
    new = np.array(data.draw(st.permutations(names_)), dtype=object)
    a = fit_quietly(GDLogisticRegression(**params), X, codes)
    b = fit_quietly(GDLogisticRegression(**params), X, new[codes])
    # Column k of a is class k, found in b at the position of label new[k].
    columns = np.searchsorted(b.classes_, new)
    proba = a.predict_proba(X)
    assert_allclose(proba, b.predict_proba(X)[:, columns], rtol=1e-10, atol=1e-12)
    # The same predictions, wherever the largest probability is not a tie.
    top = np.sort(proba, axis=1)
    clear = top[:, -1] - top[:, -2] > 1e-9
    assert_array_equal(new[a.predict(X)][clear], b.predict(X)[clear])


@given(problem=moderate_problems(), data=st.data())
def test_integer_sample_weight_equals_repeating_rows(problem, data):
    X, y, params = problem
    weight = np.array(
        data.draw(st.lists(st.integers(1, 4), min_size=len(X), max_size=len(X)))
    )
    a = fit_quietly(GDLogisticRegression(**params), X, y, sample_weight=weight)
    repeat = np.repeat(np.arange(len(X)), weight)
    b = fit_quietly(GDLogisticRegression(**params), X[repeat], y[repeat])
    assert_same_model(a, b, rtol=1e-9, atol=1e-10)
    assert_same_loss_curve(a, b)


@given(problem=moderate_problems(), data=st.data())
def test_zero_sample_weight_equals_dropping_rows(problem, data):
    X, y, params = problem
    n_classes = int(y.max()) + 1
    # Zero weights on some of the rows after the first n_classes (which keep
    # every class present).
    dropped = np.array(
        [False] * n_classes
        + data.draw(
            st.lists(
                st.booleans(),
                min_size=len(X) - n_classes,
                max_size=len(X) - n_classes,
            )
        )
    )
    weight = np.where(dropped, 0.0, 1.0)
    a = fit_quietly(GDLogisticRegression(**params), X, y, sample_weight=weight)
    b = fit_quietly(GDLogisticRegression(**params), X[~dropped], y[~dropped])
    assert_same_model(a, b, rtol=1e-9, atol=1e-10)
    assert_same_loss_curve(a, b)


# --------------------------------------------------------------------------
# ImageFlattener under fuzzing
# --------------------------------------------------------------------------

IMAGE_DTYPES = [
    np.uint8,
    np.uint16,
    np.int16,
    np.int32,
    np.float16,
    np.float32,
    np.float64,
]


@st.composite
def image_batches(draw):
    dtype = np.dtype(draw(st.sampled_from(IMAGE_DTYPES)))
    n_images = draw(st.integers(1, 4))
    shape = (n_images, *draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    if dtype.kind == "f":
        # Finite values whose scaling stays finite in the output dtype.
        elements = st.floats(-1e4, 1e4, width=dtype.itemsize * 8, allow_subnormal=False)
    else:
        info = np.iinfo(dtype)
        elements = st.integers(int(info.min), int(info.max))
    return draw(hnp.arrays(dtype, shape, elements=elements))


@given(
    images=image_batches(),
    scale=st.one_of(
        st.none(), st.sampled_from([255.0, 1.0, 0.5]), st.floats(1e-3, 1e6)
    ),
    out_dtype=st.sampled_from([np.float64, np.float32, "float32"]),
)
def test_image_flattener_round_trip(images, scale, out_dtype):
    flattener = ImageFlattener(scale=scale, dtype=out_dtype).fit(images)
    rows = flattener.transform(images)
    n_features = int(np.prod(images.shape[1:]))
    assert rows.shape == (len(images), n_features)
    assert rows.dtype == np.dtype(out_dtype)
    assert np.all(np.isfinite(rows))
    back = flattener.inverse_transform(rows)
    assert back.shape == images.shape
    # Two roundings in the output dtype (divide, then multiply), plus the cast;
    # values below its smallest normal number round to it or to zero.
    info = np.finfo(np.dtype(out_dtype))
    atol = 2 * float(info.smallest_normal) * (1.0 if scale is None else scale)
    assert_allclose(back, images.astype(np.float64), rtol=4 * info.eps, atol=atol)
    assert len(flattener.get_feature_names_out()) == n_features


@given(images=image_batches(), data=st.data())
def test_image_flattener_rejects_other_shapes_naming_X(images, data):
    flattener = ImageFlattener().fit(images)
    other = data.draw(
        st.lists(st.integers(1, 5), min_size=0, max_size=4).filter(
            lambda s: tuple(s) != images.shape[1:]
        )
    )
    X = np.zeros((len(images), *other))
    with pytest.raises(ValueError) as error:
        flattener.transform(X)
    assert names(str(error.value), "X"), error.value


# --------------------------------------------------------------------------
# Numerical extremes
# --------------------------------------------------------------------------


@pytest.fixture
def blobs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] + 0.3 * X[:, 1] > 0).astype(int)
    return X, y


def gd(**params):
    """A GDLogisticRegression with plain gradient descent as the solver."""
    est = GDLogisticRegression(**params)
    if "solver" in est.get_params():
        est.set_params(solver="gd")
    return est


@pytest.mark.parametrize("scale", [1e150, 1e300, 1e-150, 1e-160, 1e-300])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_extreme_feature_scales(blobs, scale, n_classes):
    X, y = blobs
    y = y if n_classes == 2 else np.arange(len(y)) % 3
    est = gd(max_iter=200)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's overflow warnings included
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            est.fit(X * scale, y)
        except ValueError as error:
            # The only acceptable failure: the features are too large for the
            # step-size estimate (its square overflows), and the message says
            # to scale them.
            assert scale > 1e154 and names(str(error), "X"), error
            assert "scal" in str(error).lower(), error
            return
        check_fitted_model(est, X * scale)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_auto_step_adapts_to_huge_features(blobs, n_classes):
    # Without an intercept or a penalty, features s times larger give the
    # same iterates divided by s: "auto" takes a step s**2 times smaller.
    X, y = blobs
    y = y if n_classes == 2 else np.arange(len(y)) % 3
    params = {"alpha": 0.0, "fit_intercept": False, "max_iter": 100, "tol": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        huge = gd(**params).fit(X * 1e150, y)
        ref = gd(**params).fit(X, y)
    assert_allclose(huge.coef_ * 1e150, ref.coef_, rtol=1e-9)
    assert_allclose(huge.learning_rate_ * 1e300, ref.learning_rate_, rtol=1e-9)
    assert_allclose(huge.predict_proba(X * 1e150), ref.predict_proba(X), atol=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("scale", [1.0, 1e150])
def test_learning_rate_1e3_fits_or_names_learning_rate(blobs, n_classes, scale):
    X, y = blobs
    X = X * scale
    y = y if n_classes == 2 else np.arange(len(y)) % 3
    est = gd(learning_rate=1e3, max_iter=100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            est.fit(X, y)
        except ValueError as error:
            message = str(error)
            assert names(message, "learning_rate"), message
            assert "'auto'" in message and "scale" in message, message
            return
        check_fitted_model(est, X)


def test_separable_data_without_penalty_warns_and_separates(blobs):
    X, y = blobs
    est = gd(alpha=0.0, max_iter=300)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.warns(ConvergenceWarning, match="max_iter"):
            est.fit(X, y)
        check_fitted_model(est, X)
    assert_array_equal(est.predict(X), y)
    # The weights grow along the separating direction; the loss keeps falling.
    assert np.all(np.diff(est.loss_curve_) <= 1e-12)


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_one_sample_per_class(n_classes):
    rng = np.random.default_rng(n_classes)
    X = rng.normal(size=(n_classes, 4))
    y = np.array(["a", "b", "c", "d", "e"][:n_classes])
    for alpha in [0.0, 1e-4]:
        est = gd(alpha=alpha, max_iter=200)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
            check_fitted_model(est, X)
        assert_array_equal(est.predict(X), y)


def test_extreme_float32_features_fit_or_name_X(blobs):
    X, y = blobs
    for scale in [1e-30, 1e-20, 1e15, 1e30, 3e38]:
        X32 = (X / np.abs(X).max() * scale).astype(np.float32)
        est = gd(max_iter=50)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            warnings.simplefilter("ignore", ConvergenceWarning)
            try:
                est.fit(X32, y)
            except ValueError as error:
                assert names(str(error), "X") and "scal" in str(error).lower(), error
                continue
            check_fitted_model(est, X32)


def test_clone_of_a_failed_fit_is_usable(blobs):
    X, y = blobs
    est = gd(learning_rate=1e300, max_iter=5)
    with pytest.raises(ValueError, match="learning_rate"):
        est.fit(X * 1e150, y)
    check_fitted_model(
        fit_quietly(clone(est).set_params(learning_rate="auto"), X, y), X
    )


@pytest.mark.parametrize("n_classes", [2, 3])
def test_scores_that_overflow_at_predict_time_are_an_error_naming_X(blobs, n_classes):
    X, y = blobs
    y = y if n_classes == 2 else np.arange(len(y)) % 3
    est = fit_quietly(gd(max_iter=50), X, y)
    # Weights of 10 (or -10) on features of 1e308: the scores overflow.
    est.coef_ = np.where(np.arange(est.coef_.shape[0]) % 2 == 0, 10.0, -10.0)[
        :, np.newaxis
    ] * np.ones_like(est.coef_)
    huge = np.full((4, X.shape[1]), 1e308)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # predict too: its labels come from these scores, never from NaN.
        for method in [
            est.decision_function,
            est.predict_proba,
            est.predict_log_proba,
            est.predict,
        ]:
            with pytest.raises(ValueError, match=r"X @ coef_.*too large") as error:
                method(huge)
            assert names(str(error.value), "X")
