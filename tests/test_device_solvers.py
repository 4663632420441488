"""``"nesterov"`` and ``"bb"`` with their line searches decided on the
device (``_solvers/_line_search_device.py``), where nothing watches each
iteration: the same fit as NumPy's and as the host loop's, a read-back
once every few iterations, divergence reported as on NumPy, and the host
loop back where a callback or ``verbose`` must see every iteration.

torch (a CPU build, installed by ``.ci/run``) and array-api-strict stand in
for a GPU's library; where either is missing, or array-api-compat is
(scikit-learn < 1.7 without the package), their cases are skipped.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn import config_context
from sklearn.exceptions import ConvergenceWarning

from sklearn_gd_logreg import GDLogisticRegression, _xp, core
from sklearn_gd_logreg._solvers import SETTLE_EVERY, _line_search
from sklearn_gd_logreg._xp import to_numpy

# Most fits here stop at max_iter on purpose, to compare iterates.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

if _xp.array_api_compat is None:
    pytest.skip(
        "needs array-api-compat (scikit-learn >= 1.7 ships it)",
        allow_module_level=True,
    )

SOLVERS = ["nesterov", "bb"]
FITTED = ("coef_", "intercept_", "loss_curve_")


@pytest.fixture
def device_loops(monkeypatch):
    """Counts the fits whose line search ran on the device."""
    calls = {"nesterov": 0, "bb": 0}

    def counted(name, loop):
        def run(*args, **kwargs):
            calls[name] += 1
            return loop(*args, **kwargs)

        return run

    for name in SOLVERS:
        attribute = f"{name}_on_device"
        monkeypatch.setattr(
            _line_search, attribute, counted(name, getattr(_line_search, attribute))
        )
    return calls


def _fit_on(xp, dev, X, y, host_loop=False, **params):
    """A fit under dispatch on ``xp``'s ``dev``; ``host_loop``: with the
    line search decided on the host, as before."""
    on_device = _line_search._on_device
    if host_loop:
        _line_search._on_device = lambda *args: False
    try:
        with config_context(array_api_dispatch=True):
            Xd, yd = xp.asarray(X, device=dev), xp.asarray(y, device=dev)
            return GDLogisticRegression(**params).fit(Xd, yd)
    finally:
        _line_search._on_device = on_device


def _warned(fit):
    """``fit()`` and the categories of the warnings it gave."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        fitted = fit()
    return fitted, {w.category for w in record}


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])  # l2 in elasticnet
@pytest.mark.parametrize(  # binary, 3 classes; with and without the intercept
    ("data", "fit_intercept"), [("cancer", True), ("iris", False)]
)
def test_the_same_fit_as_numpys(
    lib, device_loops, solver, penalty, data, fit_intercept, request
):
    """float64: NumPy's fit to 1e-10, with as many accepted steps."""
    X, y = request.getfixturevalue(data)
    xp, dev = lib
    params = dict(solver=solver, penalty=penalty, alpha=0.01, max_iter=30, tol=0.0)
    params["fit_intercept"] = fit_intercept
    ours = GDLogisticRegression(**params).fit(X, y)
    theirs = _fit_on(xp, dev, X, y, **params)
    assert device_loops[solver] == 1
    assert theirs.n_iter_ == ours.n_iter_ == 30
    assert_allclose(to_numpy(theirs.coef_), ours.coef_, rtol=1e-10, atol=1e-10)
    assert_allclose(to_numpy(theirs.intercept_), ours.intercept_, atol=1e-10)
    assert_allclose(to_numpy(theirs.loss_curve_), ours.loss_curve_, rtol=1e-10)
    assert theirs.learning_rate_ == pytest.approx(ours.learning_rate_, rel=1e-6)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize(
    ("data", "penalty"), [("cancer", "elasticnet"), ("iris", "l2")]
)  # fmt: skip
def test_the_same_iterates_as_the_host_loop(lib, solver, penalty, data, request):
    """Only the timing of the read-backs differs: on array-api-strict
    (NumPy's arithmetic) every number is the host loop's, bit for bit; on
    torch to 1e-12, as its CPU sqrt (FISTA's momentum) may differ from
    math.sqrt in the last bit."""
    X, y = request.getfixturevalue(data)
    xp, dev = lib
    params = dict(solver=solver, penalty=penalty, alpha=0.01, max_iter=30, tol=0.0)
    host = _fit_on(xp, dev, X, y, host_loop=True, **params)
    device = _fit_on(xp, dev, X, y, **params)
    assert device.n_iter_ == host.n_iter_
    rtol = 0.0 if xp.__name__ == "array_api_strict" else 1e-12
    for name in FITTED:
        expected = to_numpy(getattr(host, name))
        assert_allclose(to_numpy(getattr(device, name)), expected, rtol=rtol)
    assert device.learning_rate_ == pytest.approx(host.learning_rate_, rel=rtol)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("tol", [3e-2, 1e-3])  # met at 10 and at 36-38 iterations
def test_stops_where_the_host_loop_meets_tol(lib, solver, tol, iris):
    """tol met between two read-backs: the fit ends at the iterate where
    the host loop's does (and NumPy's, after as many steps), not at the
    read-back."""
    X, y = iris
    xp, dev = lib
    params = dict(solver=solver, max_iter=500, tol=tol)
    ours, ours_warned = _warned(lambda: GDLogisticRegression(**params).fit(X, y))
    theirs, theirs_warned = _warned(lambda: _fit_on(xp, dev, X, y, **params))
    host = _fit_on(xp, dev, X, y, host_loop=True, **params)
    assert ConvergenceWarning not in ours_warned | theirs_warned
    assert theirs.n_iter_ == host.n_iter_ == ours.n_iter_ < 500
    rtol = 0.0 if xp.__name__ == "array_api_strict" else 1e-12
    for name in FITTED:
        expected = to_numpy(getattr(host, name))
        assert_allclose(to_numpy(getattr(theirs, name)), expected, rtol=rtol)


def _counting(torch):
    """A torch function mode counting reads to the host (``float``,
    ``bool``, ``item``, DLPack export for ``to_numpy``, ...) and host numbers
    put on the device (a GPU waits for each, as for a read)."""
    from torch.overrides import TorchFunctionMode

    reads = {"__float__", "__bool__", "__int__", "__index__", "item", "tolist"}
    reads |= {"numpy", "__array__", "__dlpack__", "cpu", "__format__"}
    factories = {"asarray", "tensor", "as_tensor", "full", "scalar_tensor"}

    class Count(TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.reads = self.writes = 0

        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", "")
            self.reads += name in reads
            host = not (args and isinstance(args[0], torch.Tensor))
            self.writes += name in factories and host
            return func(*args, **(kwargs or {}))

    return Count


@pytest.mark.parametrize("solver", SOLVERS)
def test_reads_the_device_once_every_few_iterations(torch_cpu, cancer, solver):
    """40 more iterations cost at most 40 // SETTLE_EVERY read-backs (and
    a few more where max_iter is near), and put no host number on the
    device; the host loop read back several times per iteration."""
    xp, dev = torch_cpu
    counts = {}
    for max_iter in (40, 80):
        for host_loop in (False, True):
            with _counting(xp)() as count:
                params = dict(solver=solver, max_iter=max_iter, tol=0.0)
                _fit_on(xp, dev, *cancer, host_loop=host_loop, **params)
            counts[max_iter, host_loop] = count.reads, count.writes
    reads = counts[80, False][0] - counts[40, False][0]
    assert reads <= 40 // SETTLE_EVERY + 2
    assert counts[80, False][1] == counts[40, False][1]
    assert counts[80, True][0] - counts[40, True][0] >= 2 * 40  # as before


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize(
    "scale, params",
    [
        (1e150, dict(penalty=None, learning_rate=1e308, max_iter=30)),
        # "auto" is 1 / L = 1.6e308 on these features of ~1e-154: the line
        # search of "nesterov" underflows at iteration 42
        (6.5e-155, dict(alpha=0.0, fit_intercept=False, tol=0.0, max_iter=200)),
    ],
    ids=["huge-step-on-huge-X", "auto-on-tiny-X"],
)
def test_divergence_is_reported_as_on_numpy(torch_cpu, iris, solver, scale, params):
    """Found among the rounds read back together: the same error, at the
    same iteration, or the same fit where there is none."""
    xp, dev = torch_cpu
    X, y = iris
    X = scale * X
    params = dict(solver=solver, **params)
    try:
        ours = GDLogisticRegression(**params).fit(X, y)
    except core.DivergenceError as error:
        with pytest.raises(core.DivergenceError) as theirs:
            _fit_on(xp, dev, X, y, **params)
        assert str(theirs.value) == str(error)
        assert "the line search found no step" in str(error)
        return
    theirs = _fit_on(xp, dev, X, y, **params)
    assert theirs.n_iter_ == ours.n_iter_
    assert_allclose(to_numpy(theirs.coef_), ours.coef_, rtol=1e-9)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("learning_rate", [1.5e308, 1e-320])
def test_hostile_first_steps_give_numpys_fit_and_warning(
    torch_cpu, iris, solver, learning_rate
):
    """A first step of 1.5e308 is cut down in a few dozen trials on the
    device too; one of 1e-320 grows for max_iter iterations without
    converging, with NumPy's ConvergenceWarning."""
    xp, dev = torch_cpu
    X, y = iris
    params = dict(solver=solver, learning_rate=learning_rate, max_iter=200)
    ours, ours_warned = _warned(lambda: GDLogisticRegression(**params).fit(X, y))
    theirs, theirs_warned = _warned(lambda: _fit_on(xp, dev, X, y, **params))
    assert theirs_warned == ours_warned
    assert (ConvergenceWarning in ours_warned) == (learning_rate < 1)
    assert theirs.n_iter_ == ours.n_iter_
    assert_allclose(to_numpy(theirs.coef_), ours.coef_, rtol=1e-9, atol=1e-300)


class _Recorder:
    """A solver's ``monitor`` that records each iteration's cost."""

    def __init__(self):
        self.begun, self.costs = 0, []

    def begin(self, name, w, b, n_subtasks=0):
        self.begun += 1

    def end(self, w, b, cost, step, grads=None, data=None):
        self.costs.append(cost)
        return False


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_monitor_or_verbose_sees_every_iteration(
    torch_cpu, cancer, device_loops, solver, capsys
):
    """They take the host loop, which stops at each iteration for them."""
    from sklearn_gd_logreg._penalties import Penalty
    from sklearn_gd_logreg._problem import Problem

    xp, dev = torch_cpu
    X, y = cancer
    params = dict(solver=solver, max_iter=30, tol=0.0)
    ours = GDLogisticRegression(**params).fit(X, y)
    verbose = _fit_on(xp, dev, X, y, verbose=1, **params)
    assert "Cost after iteration 0" in capsys.readouterr().out
    Xt = xp.asarray(X, device=dev)
    Y = xp.asarray(y[np.newaxis, :], dtype=xp.float64, device=dev)
    weights = xp.ones(len(y), dtype=xp.float64, device=dev)
    problem = Problem(Xt.T, Y, weights, Penalty(0.0, 1e-4), True)
    w, b = xp.zeros((X.shape[1], 1), dtype=xp.float64, device=dev), 0.0
    recorder = _Recorder()
    loop = getattr(_line_search, solver)
    options = dict(learning_rate=0.25, max_iter=30, tol=0.0, verbose=0)
    watched = loop(problem, w, b, monitor=recorder, **options)
    assert device_loops[solver] == 0
    assert recorder.begun == len(recorder.costs) == 30
    assert recorder.costs == watched.loss_curve
    assert verbose.n_iter_ == 30
    assert_allclose(to_numpy(verbose.coef_), ours.coef_, rtol=1e-10, atol=1e-10)
    unwatched = loop(problem, w, b, **options)
    assert device_loops[solver] == 1
    assert_allclose(unwatched.loss_curve, watched.loss_curve, rtol=1e-12)
    assert_allclose(to_numpy(unwatched.w), to_numpy(watched.w), rtol=1e-12)


def test_sgd_reads_the_device_once_per_epoch_not_per_batch(torch_cpu, cancer):
    """ "sgd" on a device: an epoch of 18 batches adds a few read-backs (its
    loss and weight, the epoch's tests), none per batch, and puts no host
    number on the device per batch."""
    xp, dev = torch_cpu
    counts = {}
    for epochs in (2, 6):
        with _counting(xp)() as count:
            params = dict(solver="sgd", max_iter=epochs, tol=0.0, random_state=0)
            _fit_on(xp, dev, *cancer, **params)  # 569 rows: 18 batches of 32
        counts[epochs] = count.reads, count.writes
    assert counts[6][0] - counts[2][0] <= 4 * 5  # at most 5 per epoch
    assert counts[6][1] - counts[2][1] <= 4 * 1


@pytest.mark.parametrize("average", [False, True])
def test_sgd_batches_of_weight_zero_on_a_device(lib, iris, average):
    """Batches whose rows all weigh 0 take only the penalty's step, chosen
    on the device: the model of the NumPy fit (whose epochs are compiled)."""
    xp, dev = lib
    X, y = iris
    weight = np.zeros(len(y))
    weight[::10] = 1.0  # 15 rows of 150 weigh: most batches of 2 weigh 0
    params = dict(
        solver="sgd", batch_size=2, max_iter=3, tol=0.0, alpha=0.01,
        learning_rate=0.05, random_state=0, average=average,
    )  # fmt: skip
    ours = GDLogisticRegression(**params).fit(X, y, sample_weight=weight)
    with config_context(array_api_dispatch=True):
        Xd, yd = xp.asarray(X, device=dev), xp.asarray(y, device=dev)
        wd = xp.asarray(weight, device=dev)
        theirs = GDLogisticRegression(**params).fit(Xd, yd, sample_weight=wd)
    for name in ("coef_", "intercept_", "loss_curve_"):
        expected = getattr(ours, name)
        assert_allclose(to_numpy(getattr(theirs, name)), expected, rtol=1e-10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sgd_on_a_device_takes_the_host_loops_steps(torch_cpu, iris, dtype):
    """The device's batches (sums in float64, as the host loop's Python
    floats) give the host loop's model, which a callback watching each
    batch makes run, in float32 too: the same epochs, to rounding."""
    # a callback (scikit-learn >= 1.9) makes the host loop run
    pytest.importorskip("sklearn.callback", reason="needs scikit-learn >= 1.9")
    from sklearn_gd_logreg.callbacks import IterationRecorder

    xp, dev = torch_cpu
    X, y = iris
    weight = np.random.default_rng(0).uniform(0.0, 2.0, len(y))
    params = dict(solver="sgd", batch_size=8, max_iter=4, tol=0.0, random_state=0)
    with config_context(array_api_dispatch=True):
        Xd = xp.asarray(X, dtype=getattr(xp, dtype), device=dev)
        yd, wd = xp.asarray(y, device=dev), xp.asarray(weight, device=dev)
        device = GDLogisticRegression(**params).fit(Xd, yd, sample_weight=wd)
        host = GDLogisticRegression(**params).set_callbacks(IterationRecorder())
        host.fit(Xd, yd, sample_weight=wd)
    rtol = 1e-6 if dtype == "float32" else 1e-12
    for name in FITTED:
        expected = to_numpy(getattr(host, name))
        assert_allclose(to_numpy(getattr(device, name)), expected, rtol=rtol)
