"""The core on other array libraries: the course's algorithm on a torch
tensor or an array-api-strict array gives NumPy's numbers, computed in that
library and on that array's device.

array-api-strict is in the test extra; torch is installed by ``.ci/run`` (a
CPU build), so in CI every case here runs. Where torch is absent (a plain
``pip install -e ".[test]"``), its cases are skipped. Other libraries need
array-api-compat, which scikit-learn ships from 1.7 on: on the oldest
versions ``.ci/run`` tests (scikit-learn 1.6.1, without the package) they
get a clear error instead, which the last test checks.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sklearn_gd_logreg import _xp, core
from sklearn_gd_logreg._penalties import Penalty
from sklearn_gd_logreg._problem import Problem
from sklearn_gd_logreg._step_size import auto_learning_rate
from sklearn_gd_logreg._xp import device, namespace

NO_COMPAT = _xp.array_api_compat is None


def _libraries():
    """(library, device, dtype) triples: array-api-strict's two devices (the
    second has no float64, as a GPU may not), torch on the CPU and, where
    there is one, on CUDA."""
    cases = [
        ("array_api_strict", "CPU_DEVICE", "float64"),
        ("array_api_strict", "device1", "float32"),
        ("torch", "cpu", "float64"),
        ("torch", "cpu", "float32"),
    ]
    try:
        import torch

        if torch.cuda.is_available():
            cases += [("torch", "cuda", "float64"), ("torch", "cuda", "float32")]
    except ImportError:
        pass
    return cases


@pytest.fixture(params=_libraries(), ids=lambda c: "-".join(c))
def lib(request):
    """A function moving a NumPy array to the case's library, device and
    dtype, and the dtype's tolerance."""
    name, device_name, dtype = request.param
    if NO_COMPAT:
        pytest.skip("needs array-api-compat (scikit-learn >= 1.7 ships it)")
    xp = pytest.importorskip(name)
    if name == "array_api_strict":
        dev = xp.Device(device_name)
    else:
        dev = xp.device(device_name)
    real = getattr(xp, dtype)

    def to(a, dtype=real):
        return xp.asarray(np.asarray(a), dtype=dtype, device=dev)

    to.xp, to.device, to.dtype = namespace(to(np.zeros(1))), dev, real
    to.rtol = 1e-12 if dtype == "float64" else 2e-5
    return to


def _numpy(a):
    """``a`` as a NumPy array on the host."""
    if hasattr(a, "cpu"):  # a torch tensor, maybe on a GPU
        return a.cpu().numpy()
    import array_api_strict as xs

    return np.asarray(a.to_device(xs.Device("CPU_DEVICE")))


def _problem(rng, K, n_x=6, m=40):
    X = rng.standard_normal((n_x, m))
    labels = rng.integers(0, max(K, 2), size=m)
    Y = labels[None, :] * 1.0 if K == 1 else np.eye(K)[:, labels]
    w = 0.3 * rng.standard_normal((n_x, K))
    b = 0.1 if K == 1 else 0.1 * rng.standard_normal((K, 1))
    return w, b, X, Y


def _assert_on(lib, a):
    """``a`` is an array of the case's library, on its device."""
    assert namespace(a) is lib.xp
    assert device(a) == lib.device


@pytest.mark.parametrize("K", [1, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_propagate_gives_numpys_numbers_in_the_arrays_library(lib, rng, K, weighted):
    w, b, X, Y = _problem(rng, K)
    s = rng.uniform(0.5, 2.0, size=X.shape[1]) if weighted else None
    grads, cost = core.propagate(w, b, X, Y, sample_weight=s, alpha=0.01)
    their_b = b if K == 1 else lib(b)
    their_s = None if s is None else lib(s)
    their_grads, their_cost = core.propagate(
        lib(w), their_b, lib(X), lib(Y), sample_weight=their_s, alpha=0.01
    )
    _assert_on(lib, their_grads["dw"])
    assert their_grads["dw"].dtype == lib.dtype
    assert isinstance(their_cost, float)
    assert_allclose(their_cost, cost, rtol=lib.rtol)
    assert_allclose(_numpy(their_grads["dw"]), grads["dw"], rtol=lib.rtol, atol=1e-7)
    assert_allclose(
        np.ravel(_numpy(lib.xp.asarray(their_grads["db"]))),
        np.ravel(grads["db"]),
        rtol=lib.rtol,
        atol=1e-7,
    )


def test_the_courses_numbers_on_another_library(lib):
    """The course's optimize example (w = [1, 2], b = 2, 100 steps of 0.009)."""
    w, b = lib([[1.0], [2.0]]), 2.0
    X, Y = lib([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]]), lib([[1, 0, 1]], dtype=None)
    params, _, costs = core.optimize(
        w, b, X, Y, num_iterations=100, learning_rate=0.009
    )
    _assert_on(lib, params["w"])
    rtol = max(lib.rtol, 1e-7)  # the course prints 8 decimals
    assert_allclose(_numpy(params["w"]).ravel(), [0.19033591, 0.12259159], rtol=rtol)
    assert_allclose(float(params["b"]), 1.92535983, rtol=rtol)
    assert_allclose(costs, [5.80154532], rtol=rtol)
    w, b = lib([[0.1124579], [0.23106775]]), -0.3  # the course's predict example
    prediction = core.predict(w, b, lib([[1.0, -1.1, -3.2], [1.2, 2.0, 0.1]]))
    _assert_on(lib, prediction)
    assert_allclose(_numpy(prediction), [[1.0, 1.0, 0.0]])


def test_sigmoid_softmax_and_log_loss_stay_finite_at_extreme_scores(lib):
    xp = lib.xp
    z = lib([[-1000.0, -30.0, 0.0, 30.0, 1000.0]])
    a = core.sigmoid(z)
    _assert_on(lib, a)
    assert_allclose(_numpy(a), [[0.0, 9.357623e-14, 0.5, 1.0, 1.0]], rtol=1e-6)
    p = core.softmax(lib([[1000.0, 0.0], [0.0, 0.0], [-1000.0, 0.0]]))
    assert_allclose(_numpy(p), [[1.0, 1 / 3], [0.0, 1 / 3], [0.0, 1 / 3]])
    loss = core.log_loss(z, lib([[1.0, 0.0, 1.0, 1.0, 0.0]]))
    assert bool(xp.all(xp.isfinite(loss)))
    assert_allclose(
        _numpy(loss),
        [1000.0, 9.357623e-14, np.log(2), 9.357623e-14, 1000.0],
        rtol=1e-5,
    )
    multi = core.log_loss(lib([[1000.0, 0.0], [0.0, 40.0]]), lib([[0, 1], [1, 0]]))
    assert_allclose(_numpy(multi), [1000.0, 40.0], rtol=1e-6)


@pytest.mark.parametrize("K", [1, 3])
def test_predict_and_decide_agree_with_numpy(lib, rng, K):
    w, b, X, _ = _problem(rng, K)
    their_b = b if K == 1 else lib(b)
    ours = core.predict(lib(w), their_b, lib(X))
    _assert_on(lib, ours)
    assert_allclose(_numpy(ours), core.predict(w, b, X))


def test_divergence_is_detected_on_the_arrays_device(lib, rng):
    w, b, X, Y = _problem(rng, 1)
    with pytest.raises(core.DivergenceError, match="learning_rate"):
        core.optimize(lib(w), b, lib(1e10 * X), lib(Y), learning_rate=1e308)


def test_without_array_api_compat_other_libraries_get_a_clear_error(rng, monkeypatch):
    """scikit-learn < 1.7 without array-api-compat (the oldest versions
    .ci/run tests): NumPy only, and a clear error for the others."""
    import array_api_strict as xs

    monkeypatch.setattr(_xp, "array_api_compat", None)
    w, b, X, Y = _problem(rng, 1)
    with pytest.raises(TypeError, match="array-api-compat"):
        core.propagate(xs.asarray(w), b, xs.asarray(X), xs.asarray(Y))


@pytest.mark.parametrize("K", [1, 3])
def test_numpy_without_array_api_compat_gives_the_same_numbers(rng, monkeypatch, K):
    """The stand-in namespace for NumPy < 2 without array-api-compat."""
    w, b, X, Y = _problem(rng, K)
    X = np.asfortranarray(X)  # a layout the twin does not read: core's code
    s = rng.uniform(0.5, 2.0, size=X.shape[1])
    expected = core.propagate(w, b, X, Y, sample_weight=s, alpha=0.1)
    prediction = core.predict(w, b, X)
    monkeypatch.setattr(_xp, "_NUMPY", _xp._NumPy())
    grads, cost = core.propagate(w, b, X, Y, sample_weight=s, alpha=0.1)
    assert_allclose(cost, expected[1], rtol=1e-14)
    assert_allclose(grads["dw"], expected[0]["dw"], rtol=1e-14)
    assert_allclose(core.predict(w, b, X), prediction)
    assert_allclose(core.sigmoid(np.array([0, 2])), [0.5, 0.88079708], rtol=1e-8)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("K", [1, 3])
def test_the_problem_and_its_penalty_give_numpys_numbers(lib, rng, K, fit_intercept):
    """Layer 2 on another library: the objective, its gradient, the L1
    proximal step and the optimality measure."""
    w, b, X, Y = _problem(rng, K)
    s = rng.uniform(0.5, 2.0, size=X.shape[1])
    penalty = Penalty(l1=0.05, l2=0.01)
    ours = Problem(X, Y, s, penalty, fit_intercept)
    theirs = Problem(lib(X), lib(Y), lib(s), penalty, fit_intercept)
    their_b = b if K == 1 else lib(b)
    f, grads = ours.loss_and_grad(w, b)
    their_f, their_grads = theirs.loss_and_grad(lib(w), their_b)
    _assert_on(lib, their_grads["dw"])
    assert_allclose(their_f, f, rtol=lib.rtol)
    assert_allclose(_numpy(their_grads["dw"]), grads["dw"], rtol=lib.rtol, atol=1e-7)
    assert_allclose(theirs.value(lib(w), their_b), ours.value(w, b), rtol=lib.rtol)
    shrunk = penalty.prox(lib(w), 2.0)
    _assert_on(lib, shrunk)
    assert_allclose(_numpy(shrunk), penalty.prox(w, 2.0), rtol=lib.rtol)
    assert (_numpy(shrunk) == 0).any()  # the L1 step makes weights exactly 0
    assert_allclose(
        theirs.optimality(lib(w), their_grads, 0.5),
        ours.optimality(w, grads, 0.5),
        rtol=lib.rtol,
        atol=1e-7,
    )


@pytest.mark.parametrize("K", [1, 3])
def test_the_auto_step_is_numpys(lib, rng, K):
    """learning_rate="auto": the power iterations run on the array's device
    and give NumPy's 1 / L."""
    _, _, X, _ = _problem(rng, K, n_x=5, m=3000)
    s = rng.uniform(0.5, 2.0, size=X.shape[1])
    args = dict(alpha=0.01, fit_intercept=True, n_outputs=K)
    ours = auto_learning_rate(X, sample_weight=s, **args)
    theirs = auto_learning_rate(lib(X), sample_weight=lib(s), **args)
    assert_allclose(theirs, ours, rtol=lib.rtol)
