"""The estimators under scikit-learn's Array API dispatch, beyond
scikit-learn's own Array API checks (which ``tests/test_common.py`` runs,
the tags declaring the support): the same model as NumPy's, computed in
another library, with its labels, weights and dtypes.

array-api-strict is in the test extra and torch is installed by ``.ci/run``
(a CPU build); where either is missing, or array-api-compat is (scikit-learn
< 1.7 without the package), their cases are skipped.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context

from sklearn_gd_logreg import GDLogisticRegression, ImageFlattener, _xp
from sklearn_gd_logreg._xp import to_numpy

# Most fits here stop at max_iter on purpose, to compare iterates.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

if _xp.array_api_compat is None:
    pytest.skip(
        "needs array-api-compat (scikit-learn >= 1.7 ships it)",
        allow_module_level=True,
    )


def _on(xp, dev, *arrays, dtype=None):
    out = tuple(xp.asarray(a, dtype=dtype, device=dev) for a in arrays)
    return out[0] if len(out) == 1 else out


def _assert_in(xp, dev, a):
    assert _xp.namespace(a) is _xp.namespace(xp.zeros(1, device=dev))
    assert _xp.device(a) == dev


@pytest.mark.parametrize("solver", ["gd", "nesterov", "bb"])
@pytest.mark.parametrize("data, tol", [("cancer", 0.0), ("iris", 3e-2)])
def test_the_same_model_as_numpys(lib, solver, data, tol, request):
    """float64: NumPy's coef_ to 1e-10, the same n_iter_ whether max_iter
    ends the fit (tol=0) or tol does, between two read-backs (iris)."""
    X, y = request.getfixturevalue(data)
    xp, dev = lib
    params = dict(solver=solver, max_iter=45, tol=tol)
    ours = GDLogisticRegression(**params).fit(X, y)
    with config_context(array_api_dispatch=True):
        theirs = GDLogisticRegression(**params).fit(*_on(xp, dev, X, y))
        proba = theirs.predict_proba(_on(xp, dev, X))
    assert theirs.n_iter_ == ours.n_iter_
    assert (ours.n_iter_ < 45) == (data == "iris")
    for name in ("coef_", "intercept_", "loss_curve_", "classes_"):
        _assert_in(xp, dev, getattr(theirs, name))
    assert_allclose(to_numpy(theirs.coef_), ours.coef_, rtol=1e-10, atol=1e-10)
    assert_allclose(to_numpy(theirs.intercept_), ours.intercept_, atol=1e-10)
    assert_allclose(to_numpy(theirs.loss_curve_), ours.loss_curve_, rtol=1e-10)
    assert_array_equal(to_numpy(theirs.classes_), ours.classes_)
    assert_allclose(to_numpy(proba), ours.predict_proba(X), atol=1e-10)


def test_sgd_and_partial_fit_stay_on_the_device(lib, iris):
    """150 rows, and chunks of 50, in batches of 32: the last batch's slice
    past the end, which array-api-strict refuses, is not asked for."""
    xp, dev = lib
    X, y = iris
    Xt, yt = _on(xp, dev, X, y)
    with config_context(array_api_dispatch=True):
        sgd = GDLogisticRegression(solver="sgd", max_iter=3, tol=0.0)
        sgd.set_params(random_state=0).fit(Xt, yt)
        stream = GDLogisticRegression(random_state=0)
        for part in range(3):
            rows = slice(50 * part, 50 * part + 50)
            stream.partial_fit(Xt[rows, :], yt[rows], classes=xp.arange(3, device=dev))
        assert stream.score(Xt, yt) > 0.7
    numpy_sgd = GDLogisticRegression(solver="sgd", max_iter=3, tol=0.0)
    numpy_sgd.set_params(random_state=0).fit(X, y)
    _assert_in(xp, dev, sgd.coef_)
    _assert_in(xp, dev, stream.coef_)
    assert stream.n_iter_ == 3
    assert_allclose(to_numpy(sgd.coef_), numpy_sgd.coef_, rtol=1e-8)


def test_float32_stays_float32(lib, cancer):
    xp, dev = lib
    X, y = cancer
    Xf = _on(xp, dev, X, dtype=xp.float32)
    with config_context(array_api_dispatch=True):
        clf = GDLogisticRegression(max_iter=50, tol=0.0).fit(Xf, _on(xp, dev, y))
        proba = clf.predict_proba(Xf)
        log_proba = clf.predict_log_proba(Xf)
    assert clf.coef_.dtype == clf.intercept_.dtype == proba.dtype == xp.float32
    assert log_proba.dtype == xp.float32
    numpy_fit = GDLogisticRegression(max_iter=50, tol=0.0).fit(X.astype(np.float32), y)
    assert_allclose(to_numpy(clf.coef_), numpy_fit.coef_, rtol=1e-3, atol=1e-4)


def test_weights_class_weights_and_string_labels(lib, iris, rng):
    """sample_weight in X's library, class_weight, and labels NumPy alone
    holds: classes_ then stays NumPy, as with scikit-learn's estimators."""
    xp, dev = lib
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    weights = rng.uniform(0.5, 2.0, size=len(y))
    params = dict(max_iter=20, tol=0.0, class_weight={"setosa": 3.0})
    ours = GDLogisticRegression(**params).fit(X, names, sample_weight=weights)
    Xt = _on(xp, dev, X)
    with config_context(array_api_dispatch=True):
        theirs = GDLogisticRegression(**params)
        theirs.fit(Xt, names, sample_weight=_on(xp, dev, weights))
        predicted = theirs.predict(Xt)
        score = theirs.score(Xt, names)
    assert isinstance(theirs.classes_, np.ndarray)
    assert isinstance(predicted, np.ndarray)
    assert_array_equal(predicted, ours.predict(X))
    assert score == ours.score(X, names)
    assert_allclose(to_numpy(theirs.coef_), ours.coef_, rtol=1e-10, atol=1e-12)


def test_fitted_on_torch_predicts_torch_and_refuses_numpy(torch_cpu, iris):
    xp, dev = torch_cpu
    X, y = iris
    with config_context(array_api_dispatch=True):
        clf = GDLogisticRegression(max_iter=20, tol=0.0).fit(*_on(xp, dev, X, y))
        predicted = clf.predict(_on(xp, dev, X))
        _assert_in(xp, dev, predicted)
        _assert_in(xp, dev, clf.decision_function(_on(xp, dev, X)))
        for method in ("predict", "predict_proba", "decision_function"):
            with pytest.raises(ValueError, match=rf"{method}\(\) must use the same"):
                getattr(clf, method)(X)
    numpy_fit = GDLogisticRegression(max_iter=20, tol=0.0).fit(X, y)
    assert_array_equal(to_numpy(predicted), numpy_fit.predict(X))


def test_sparse_input_stays_numpys_under_dispatch(cancer):
    """Sparse matrices are NumPy's world in scikit-learn: the compiled twin,
    NumPy's fitted arrays, the same numbers as without dispatch."""
    X, y = cancer
    csr = sp.csr_matrix(X)
    ours = GDLogisticRegression(max_iter=30, tol=0.0).fit(csr, y)
    with config_context(array_api_dispatch=True):
        theirs = GDLogisticRegression(max_iter=30, tol=0.0).fit(csr, y)
        predicted = theirs.predict(csr)
    assert isinstance(theirs.coef_, np.ndarray)
    assert_array_equal(theirs.coef_, ours.coef_)
    assert_array_equal(predicted, ours.predict(csr))


def test_without_dispatch_another_librarys_input_becomes_numpy(torch_cpu, iris):
    xp, dev = torch_cpu
    X, y = iris
    ours = GDLogisticRegression(max_iter=20, tol=0.0).fit(X, y)
    theirs = GDLogisticRegression(max_iter=20, tol=0.0).fit(*_on(xp, dev, X, y))
    assert isinstance(theirs.coef_, np.ndarray)
    assert_array_equal(theirs.coef_, ours.coef_)
    assert isinstance(theirs.predict(_on(xp, dev, X)), np.ndarray)


def test_bad_input_keeps_its_clear_errors(torch_cpu, iris):
    xp, dev = torch_cpu
    X, y = iris
    Xt, yt = _on(xp, dev, X, y)
    with config_context(array_api_dispatch=True):
        clf = GDLogisticRegression(max_iter=5)
        with pytest.raises(ValueError, match="sample_weight"):
            clf.fit(Xt, yt, sample_weight=-_on(xp, dev, np.ones(len(y))))
        with pytest.raises(ValueError, match="at least 2 classes"):
            clf.fit(Xt, xp.zeros_like(yt))
        with pytest.raises(ValueError, match="Input X contains NaN"):
            clf.fit(Xt * float("nan"), yt)


def test_image_flattener_on_the_device(lib, digits):
    xp, dev = lib
    images = digits[0][:20]
    flattener = ImageFlattener(scale=16.0, dtype=np.float32)
    expected = flattener.fit_transform(images)
    with config_context(array_api_dispatch=True):
        on_device = flattener.fit(_on(xp, dev, images))
        flat = on_device.transform(_on(xp, dev, images))
        back = on_device.inverse_transform(flat)
        with pytest.raises(ValueError, match=r"transform\(\) must use the same"):
            on_device.transform(images)
    _assert_in(xp, dev, flat)
    assert flat.dtype == xp.float32
    assert_allclose(to_numpy(flat), expected)
    assert_allclose(to_numpy(back), images, rtol=1e-6)


def _flattened_as_numpy(xp, dev, images, dtype, scale):
    expected = ImageFlattener(scale=scale, dtype=dtype).fit_transform(images)
    with config_context(array_api_dispatch=True):
        flattener = ImageFlattener(scale=scale, dtype=dtype)
        flat = flattener.fit_transform(_on(xp, dev, images))
    assert_array_equal(to_numpy(flat), expected)


@pytest.mark.parametrize(
    ("images", "dtype", "scale"),
    [  # float32 images were divided in float32, then cast to float64
        (
            np.array([[[0.0, 63.7], [127.4, 191.1]]], dtype=np.float32),
            np.float64,
            255.0,
        ),
        (np.array([[[1e39, 1.0], [2.5, 254.0]]]), np.float32, 1e10),  # 1e39: inf
    ],
)
def test_image_flattener_divides_in_the_wider_dtype(lib, images, dtype, scale):
    """As NumPy's path does: the same numbers, not a refused overflow."""
    _flattened_as_numpy(*lib, images, dtype, scale)


def test_image_flattener_divides_float16_images_in_float32(torch_cpu):
    """torch's float16 (array-api-strict has none): divided in float16,
    60000 / 0.5 overflowed, and the fit was refused."""
    images = np.array([[[60000.0, 1.0], [2.5, 254.0]]], dtype=np.float16)
    _flattened_as_numpy(*torch_cpu, images, np.float32, 0.5)


def test_an_image_scale_beyond_a_devices_float32_is_refused(monkeypatch, lib):
    """A device without float64 gets float32 rows, whatever ``dtype`` says:
    scale=1e39 made every pixel 0 there, unchecked."""
    from sklearn_gd_logreg import _image

    xp, dev = lib
    monkeypatch.setattr(_image, "_max_precision_float_dtype", lambda xp, d: xp.float32)
    images = _on(xp, dev, np.arange(18.0).reshape(2, 3, 3))
    with config_context(array_api_dispatch=True):
        fitted = ImageFlattener(scale=1e39).fit(images)  # float64 holds it
        with pytest.raises(ValueError, match="larger than the largest float32"):
            fitted.transform(images)
        out = ImageFlattener().fit_transform(images)  # the fallback itself
    assert out.dtype == xp.float32


def _read_backs(torch):
    """A context counting a tensor's reads to the host: ``float``, ``bool``,
    ``item``, DLPack export (``to_numpy``) and the like, through torch's
    own function-mode hook."""
    from torch.overrides import TorchFunctionMode

    reads = {"__float__", "__bool__", "__int__", "__index__", "item", "tolist"}
    reads |= {"numpy", "__array__", "__dlpack__", "cpu", "__format__"}

    class Count(TorchFunctionMode):
        n = 0

        def __torch_function__(self, func, types, args=(), kwargs=None):
            Count.n += getattr(func, "__name__", "") in reads
            return func(*args, **(kwargs or {}))

    return Count


def test_gd_reads_the_device_once_every_few_iterations(torch_cpu, cancer):
    """No read-back per iteration: the stopping test and the divergence
    check of "gd" wait for the device once every SETTLE_EVERY iterations;
    the rest (the "auto" step's power iterations, labels, the last
    iterate's test) is per fit."""
    from sklearn_gd_logreg._solvers import SETTLE_EVERY

    xp, dev = torch_cpu
    Xt, yt = _on(xp, dev, *cancer)
    counts = []
    with config_context(array_api_dispatch=True):
        for max_iter in (40, 80):
            with _read_backs(xp)() as count:
                GDLogisticRegression(max_iter=max_iter, tol=0.0).fit(Xt, yt)
            counts.append(count.n)
    assert counts[1] - counts[0] <= 40 // SETTLE_EVERY
    assert counts[0] < 80


@pytest.mark.parametrize(
    "params",
    [
        dict(early_stopping=True, random_state=0),
        dict(solver="nesterov", penalty="elasticnet", alpha=0.01),
        dict(solver="bb", penalty="l1", alpha=0.01),
        dict(solver="sgd", average=True, random_state=0),
        dict(penalty="l1", alpha=0.01, fit_intercept=False),
        dict(class_weight="balanced", warm_start=True),
    ],
    ids=lambda p: "-".join(map(str, p.values())),
)
def test_options_give_numpys_model(torch_cpu, cancer, params):
    xp, dev = torch_cpu
    X, y = cancer
    ours = GDLogisticRegression(max_iter=60, **params).fit(X, y)
    with config_context(array_api_dispatch=True):
        theirs = GDLogisticRegression(max_iter=60, **params)
        theirs.fit(*_on(xp, dev, X, y))
    assert theirs.n_iter_ == ours.n_iter_
    assert_allclose(to_numpy(theirs.coef_), ours.coef_, rtol=1e-9, atol=1e-12)


def test_averaged_partial_fit_continues_on_the_device(torch_cpu, cancer):
    # The averaged "sgd" keeps its last iterate between calls: in coef_'s
    # library and on its device, and the same model as NumPy's.
    xp, dev = torch_cpu
    X, y = cancer
    params = dict(average=True, random_state=0)
    ours, theirs = GDLogisticRegression(**params), GDLogisticRegression(**params)
    for part in (slice(0, 300), slice(300, None)):
        ours.partial_fit(X[part], y[part], classes=np.unique(y))
        with config_context(array_api_dispatch=True):
            Xp, yp = _on(xp, dev, X[part], y[part])
            theirs.partial_fit(Xp, yp, classes=_on(xp, dev, np.unique(y)))
    _assert_in(xp, dev, theirs._iterate[0])
    assert_allclose(to_numpy(theirs.coef_), ours.coef_, rtol=1e-9, atol=1e-12)


def test_divergence_is_reported_at_numpys_iteration(torch_cpu, cancer):
    """Found among the iterations read back together, at the first
    non-finite cost."""
    xp, dev = torch_cpu
    X, y = cancer
    X = 1e150 * X
    params = dict(penalty=None, learning_rate=1e308, max_iter=30)
    with pytest.raises(ValueError, match="diverged at iteration") as ours:
        GDLogisticRegression(**params).fit(X, y)
    with config_context(array_api_dispatch=True):
        with pytest.raises(ValueError, match="diverged at iteration") as theirs:
            GDLogisticRegression(**params).fit(*_on(xp, dev, X, y))
    assert str(theirs.value) == str(ours.value)


def test_partial_fit_continues_only_in_the_models_library(torch_cpu, iris):
    """Another library's X gets predict's error (it was a TypeError from
    validating X in the model's dtype)."""
    xp, dev = torch_cpu
    X, y = iris
    on_numpy = GDLogisticRegression(random_state=0).partial_fit(X, y, np.arange(3))
    with config_context(array_api_dispatch=True):
        with pytest.raises(ValueError, match=r"partial_fit\(\) must use the same"):
            on_numpy.partial_fit(*_on(xp, dev, X, y))
        on_torch = GDLogisticRegression(random_state=0)
        on_torch.partial_fit(*_on(xp, dev, X, y), classes=xp.arange(3, device=dev))
    with pytest.raises(ValueError, match="fitted on arrays of torch"):
        on_torch.partial_fit(X, y)  # dispatch off: X would be NumPy's
    assert on_numpy.n_iter_ == on_torch.n_iter_ == 1  # neither call counted


def test_a_numpy_sgd_model_moves_to_torch(torch_cpu, iris):
    """move_estimator_to took the averaging counters, NumPy float64s from
    the compiled epoch, for arrays (torch refused them)."""
    from sklearn.utils._array_api import get_namespace, move_estimator_to

    xp, dev = torch_cpu
    X, y = iris
    model = GDLogisticRegression(solver="sgd", average=True, max_iter=3).fit(X, y)
    with config_context(array_api_dispatch=True):
        torch_xp, _ = get_namespace(_on(xp, dev, X))
        moved = move_estimator_to(model, torch_xp, dev)
        predicted = moved.predict(_on(xp, dev, X))
    assert_array_equal(to_numpy(predicted), model.predict(X))


def test_core_keeps_float32_with_float64_weights(lib, rng):
    """The weights' sum, a float64 0-d array, made dw float64 (NumPy's
    stayed float32)."""
    from sklearn_gd_logreg import core

    xp, dev = lib
    X = rng.normal(size=(4, 30)).astype(np.float32)
    Y = (rng.random((1, 30)) < 0.5).astype(np.float32)
    w, weight = np.zeros((4, 1), dtype=np.float32), np.ones(30)
    w_d, X_d, Y_d, weight_d = _on(xp, dev, w, X, Y, weight)
    grads, cost = core.propagate(
        w_d, 0.0, X_d, Y_d, sample_weight=weight_d, to_float=False
    )
    assert grads["dw"].dtype == cost.dtype == xp.float32
    reference, _ = core.propagate(w, 0.0, X, Y, sample_weight=weight)
    assert_allclose(to_numpy(grads["dw"]), reference["dw"], rtol=1e-6)


def test_optimize_prints_the_cost_of_a_device(lib, capsys):
    """With to_float=False the cost is a 0-d array, which array-api-strict
    does not format with ":f"."""
    from sklearn_gd_logreg import core

    xp, dev = lib
    X, Y = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]]), np.array([[1.0, 0.0, 1.0]])
    w, X, Y = _on(xp, dev, np.zeros((2, 1)), X, Y)
    core.optimize(w, 0.0, X, Y, 1, 0.009, print_cost=True, to_float=False)
    assert capsys.readouterr().out == "Cost after iteration 0: 0.693147\n"
