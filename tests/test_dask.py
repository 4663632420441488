"""Fit and predict on Dask collections, on a real ``distributed.LocalCluster``.

Two clusters per module, each started once: worker threads in this process
(``processes=False``) and 2 worker processes of 1 thread. The equality tests
run on both; the rest on the threads. The runs on the worker processes are
marked slow (CI's slow step runs them, with the worker-loss tests): starting
and warming the processes (each imports NumPy, SciPy, scikit-learn and this
package) and their runs took 5-9 s of the main suite. Every fit is compared
with the in-memory fit on the same data: full-batch solvers give the same
model up to the order of the sums (``rtol=1e-8``).
"""

import math
import os
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import BatchRecorder, fit_quietly, run_in_forked_child
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from sklearn_gd_logreg import GDLogisticRegression, ImageFlattener
from sklearn_gd_logreg._dask_fit import DaskProblem, dask_problem
from sklearn_gd_logreg._penalties import Penalty
from sklearn_gd_logreg._problem import NO_PENALTY

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
RTOL = 1e-8  # only the order of the sums differs


@pytest.fixture(scope="module", autouse=True)
def _dask_config_restored():
    """Clients and the joblib backend set Dask's default scheduler, and
    distributed's nannies set OMP_NUM_THREADS=1 (and MKL's, OpenBLAS's) in
    this process too; the tests after this module (and the doctests) get the
    config and the environment back, so that the twin's threads are theirs."""
    import copy

    import dask

    saved, environ = copy.deepcopy(dask.config.config), dict(os.environ)
    yield
    dask.config.config.clear()
    dask.config.config.update(saved)
    os.environ.clear()
    os.environ.update(environ)


def _cluster(processes: bool):
    return distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=processes,
        dashboard_address=":0",
    )


@pytest.fixture(scope="module")
def threads_client():
    with (
        _cluster(False) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def processes_client():
    with (
        _cluster(True) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        yield client


@pytest.fixture(params=["threads", pytest.param("processes", marks=pytest.mark.slow)])
def client(request):
    """Each cluster in turn, as the client ``compute`` uses (the worker
    processes in the slow step: see the module's docstring)."""
    client = request.getfixturevalue(f"{request.param}_client")
    with client.as_current():
        yield client


@pytest.fixture
def threads(threads_client):
    with threads_client.as_current():
        yield threads_client


def chunked(*arrays, chunks=100):
    return [da.from_array(a, chunks=(chunks, *a.shape[1:])) for a in arrays]


def first_fit_problem(X, y, estimator=None, penalty=NO_PENALTY):
    """``(X, classes, problem)`` as a first fit of ``estimator`` makes them
    of the Dask arrays ``X``, ``y``: persisted, unweighted, float32 or
    float64 kept."""
    return dask_problem(
        estimator or GDLogisticRegression(),
        X,
        y,
        None,
        penalty,
        classes=None,
        first=True,
        incremental=False,
        dtype=[np.float64, np.float32],
    )


def assert_same_model(ours, reference, rtol=RTOL):
    assert_array_equal(ours.classes_, reference.classes_)
    assert ours.n_iter_ == reference.n_iter_
    scale = np.max(np.abs(reference.coef_))
    assert_allclose(ours.coef_, reference.coef_, rtol=rtol, atol=rtol * scale)
    assert_allclose(ours.intercept_, reference.intercept_, rtol=rtol, atol=rtol)
    assert_allclose(ours.loss_curve_, reference.loss_curve_, rtol=rtol)
    assert_allclose(ours.learning_rate_, reference.learning_rate_, rtol=rtol)


@pytest.mark.parametrize(
    ("data", "solver"), [("cancer", "gd"), ("iris", "nesterov"), ("cancer", "bb")]
)
def test_full_batch_fit_equals_in_memory(client, solver, data, request):
    """Binary and softmax, sample and balanced class weights, an elastic-net
    penalty, learning_rate="auto" (its power iteration on the workers)."""
    X, y = request.getfixturevalue(data)
    weight = np.random.default_rng(0).uniform(0.0, 3.0, len(y))
    params = dict(
        solver=solver,
        max_iter=8,
        tol=0.0,
        penalty="elasticnet",
        alpha=1e-2,
        class_weight="balanced",
    )
    reference = GDLogisticRegression(**params).fit(X, y, sample_weight=weight)
    ours = GDLogisticRegression(**params).fit(*chunked(X, y, weight))
    assert_same_model(ours, reference)
    assert isinstance(ours.coef_, np.ndarray) and ours.n_features_in_ == X.shape[1]


def test_the_sums_do_not_depend_on_where_the_chunks_lie(client, cancer):
    """Each chunk goes to the worker that holds it (a real one, once the
    chunks are computed), and their sums are added in the chunks' order:
    the same bits when the chunks are grouped otherwise."""
    from sklearn_gd_logreg import _dask

    X, y = cancer
    _, _, problem = first_fit_problem(*chunked(X, y, chunks=50))
    columns = (problem.X, problem.Y, problem.sample_weight)
    placed = _dask._placement(*columns)
    workers = client.scheduler_info()["workers"]
    assert all(address in workers for address, _ in placed[1])
    indices = [i for _, (index, _) in placed[1] for i in index]
    futures = [f for _, (_, chunks) in placed[1] for f in chunks]
    assert sorted(indices) == list(range(12))
    reordered = (placed[0], [(None, (indices[::-1], futures[::-1]))])
    w = np.random.default_rng(0).normal(size=(X.shape[1], 1))
    kwargs = {"w": w, "b": 0.5, "n_classes": 2}
    width = 1 + X.shape[1] + 1
    sums = [
        _dask._by_worker(where, _dask._chunk_sums, _dask._added, kwargs, width)
        for where in (placed, reordered)
    ]
    assert_array_equal(sums[0], sums[1])


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
def test_without_a_cluster_the_sums_are_a_graph(scheduler, cancer, monkeypatch):
    """Dask's own schedulers (no distributed client): each evaluation is a
    graph of a task per chunk and a tree of additions; the same model."""
    import dask

    X, y = cancer
    weight = np.random.default_rng(0).uniform(0.0, 3.0, len(y))
    params = dict(solver="nesterov", max_iter=8, tol=0.0, alpha=1e-2)
    reference = GDLogisticRegression(**params).fit(X, y, sample_weight=weight)
    from sklearn_gd_logreg import _dask

    calls = []
    by_graph = _dask._by_graph
    monkeypatch.setattr(
        _dask, "_by_graph", lambda *args: calls.append(1) or by_graph(*args)
    )
    with dask.config.set(scheduler=scheduler):
        ours = GDLogisticRegression(**params).fit(*chunked(X, y, weight))
    assert_same_model(ours, reference)
    assert len(calls) >= ours.n_iter_  # each gradient a graph


def test_sparse_chunks_and_float32(client, cancer):
    X, y = cancer
    X = sp.csr_matrix(np.where(np.abs(X) > 1.0, X, 0.0))
    params = dict(max_iter=5, tol=0.0, fit_intercept=False)
    reference = GDLogisticRegression(**params).fit(X, y)
    ours = GDLogisticRegression(**params).fit(
        da.from_array(X, chunks=(100, X.shape[1])), da.from_array(y, chunks=100)
    )
    assert_same_model(ours, reference)
    assert np.all(ours.intercept_ == 0)
    X32 = X.toarray().astype(np.float32)
    reference = GDLogisticRegression(**params).fit(X32, y)
    ours = GDLogisticRegression(**params).fit(*chunked(X32, y))
    assert ours.coef_.dtype == np.float32
    assert_allclose(ours.coef_, reference.coef_, rtol=1e-4, atol=1e-5)


def _twin_reads(x):
    """Whether the twin reads a chunk as the chunk tasks hand it over."""
    from sklearn_gd_logreg import _twin
    from sklearn_gd_logreg._dask import in_place

    w = np.zeros((x.shape[1], 1), dtype=x.dtype)
    return np.array([[_twin.reads(w, in_place(x).T)]])


def test_the_compiled_twin_reads_each_chunk_on_its_worker(client, cancer):
    """The chunks fit persists, as the chunk tasks hand them to core.sums
    (X.T: a view of dense rows, or the CSC transpose of CSR rows), are read
    by the twin, even those that crossed processes (views into a message,
    which may be unaligned: fit copies them once when it persists them, and
    a chunk task copies one that moved since)."""
    X, y = cancer
    dense = da.from_array(X, chunks=(100, X.shape[1]))
    sparse = da.from_array(sp.csr_matrix(X), chunks=(100, X.shape[1]))
    (yd,) = chunked(y)
    for rows in (dense, sparse):
        kept, _, _ = first_fit_problem(rows, yd)
        reads = kept.map_blocks(_twin_reads, chunks=(1, 1), dtype=bool)
        assert reads.compute().all()


def test_one_task_per_worker_per_gradient(client, cancer, monkeypatch):
    """On a distributed cluster each gradient is one task per worker that
    holds chunks (summing them there), not a graph of a task per chunk and
    a tree: the model is the same."""
    from distributed import get_task_stream

    from sklearn_gd_logreg import _dask

    X, y = cancer
    Xd, yd = chunked(X, y, chunks=50)  # 12 chunks
    calls = []  # (what each chunk computes, tasks) per pass over the data
    by_worker = _dask._by_worker

    def counted(placed, per_chunk, *args):
        calls.append((per_chunk, len(placed[1])))
        return by_worker(placed, per_chunk, *args)

    monkeypatch.setattr(_dask, "_by_worker", counted)
    params = dict(learning_rate=0.1, max_iter=5, tol=0.0)
    with get_task_stream(client=client) as stream:
        model = GDLogisticRegression(**params).fit(Xd, yd)
    keys = [str(task["key"]) for task in stream.data]
    gradients = [tasks for per_chunk, tasks in calls if per_chunk is _dask._chunk_sums]
    assert len(gradients) == 5 + 1  # each iteration's, then the last iterate's
    assert sum("_group" in key for key in keys) == sum(t for _, t in calls)
    assert 1 <= max(gradients) <= len(client.scheduler_info()["workers"])
    assert not any("_chunk_sums" in key for key in keys)
    assert_same_model(model, GDLogisticRegression(**params).fit(X, y))
    # Wide data: each worker adds its chunks' sums first (less traffic).
    monkeypatch.setattr(_dask, "ORDERED", 0)
    wide = GDLogisticRegression(**params).fit(Xd, yd)
    assert_same_model(wide, model)


def test_predictions_are_lazy_and_chunked_like_X(client, iris):
    X, y = iris
    model = GDLogisticRegression(max_iter=20).fit(X, y)
    Xd, yd = chunked(X, y, chunks=40)
    for method in ["predict_proba", "predict_log_proba", "decision_function"]:
        lazy = getattr(model, method)(Xd)
        assert isinstance(lazy, da.Array) and lazy.chunks[0] == Xd.chunks[0]
        assert_allclose(lazy.compute(), getattr(model, method)(X), rtol=1e-12)
    labels = model.predict(Xd)
    assert isinstance(labels, da.Array) and labels.chunks == Xd.chunks[:1]
    assert_array_equal(labels.compute(), model.predict(X))
    weight = np.arange(len(y)) % 3
    score = model.score(Xd, yd, sample_weight=da.from_array(weight, chunks=40))
    assert isinstance(score, float)
    assert score == pytest.approx(model.score(X, y, sample_weight=weight), abs=1e-12)


@pytest.mark.filterwarnings("ignore:Dask currently has limited support:UserWarning")
def test_dataframe_and_string_labels(threads, cancer):
    X, y = cancer
    names = [f"f{i}" for i in range(X.shape[1])]
    labels = np.array(["benign", "malignant"], dtype=object)[y]
    df = dd.from_pandas(pd.DataFrame(X, columns=names), npartitions=4)
    series = dd.from_pandas(pd.Series(labels), npartitions=4)
    params = dict(max_iter=4, tol=0.0, solver="nesterov")
    reference = GDLogisticRegression(**params).fit(
        pd.DataFrame(X, columns=names), labels
    )
    ours = GDLogisticRegression(**params).fit(df, series)
    assert_same_model(ours, reference)
    assert_array_equal(ours.feature_names_in_, names)
    frame = pd.DataFrame(X, columns=names)
    assert_array_equal(ours.predict(df).compute(), reference.predict(frame))
    assert ours.score(df, series) == pytest.approx(reference.score(frame, labels))
    with pytest.raises(ValueError, match="feature names"):
        ours.predict(df.rename(columns={"f0": "other"}))


def test_an_array_with_series_labels_fits_without_a_warning(threads, iris):
    """A Dask array with a Dask Series of labels (what a Pipeline of
    ImageFlattener and the classifier makes of a DataFrame): Dask warned
    "Computing mixed collections" at each fit."""
    X, y = iris
    series = dd.from_pandas(pd.Series(y), npartitions=3)
    Xd = da.from_array(X, chunks=(series.to_dask_array(lengths=True).chunks[0], 4))
    params = dict(max_iter=4, tol=0.0, solver="bb")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)  # 4 iterations
        ours = GDLogisticRegression(**params).fit(Xd, series)
    assert_same_model(ours, fit_quietly(GDLogisticRegression(**params), X, y))


def test_warm_start_continues_as_in_memory(threads, iris):
    X, y = iris
    params = dict(max_iter=5, tol=0.0, warm_start=True, learning_rate=0.3)
    reference = GDLogisticRegression(**params).fit(X, y).fit(X, y)
    ours = GDLogisticRegression(**params).fit(*chunked(X, y)).fit(*chunked(X, y))
    assert_same_model(ours, reference)


def test_labels_and_weights_in_memory_are_cut_as_X(threads, iris):
    X, y = iris
    weight = np.arange(len(y)) % 4
    params = dict(max_iter=4, tol=0.0)
    reference = GDLogisticRegression(**params).fit(X, y, sample_weight=weight)
    (Xd,) = chunked(X, chunks=64)
    ours = GDLogisticRegression(**params).fit(Xd, list(y), sample_weight=weight)
    assert_same_model(ours, reference)
    with pytest.raises(ValueError, match="y has 149 samples, X has 150"):
        GDLogisticRegression().fit(Xd, y[1:])


def test_sgd_streams_the_chunks(threads, iris):
    X, y = iris
    Xd, yd = chunked(X, y, chunks=32)
    model = GDLogisticRegression(solver="sgd", max_iter=10, random_state=0).fit(Xd, yd)
    reference = GDLogisticRegression(solver="sgd", max_iter=10, random_state=0).fit(
        X, y
    )
    assert model.score(X, y) > 0.9
    assert abs(model.score(X, y) - reference.score(X, y)) < 0.05
    # partial_fit over a Dask array: test_sgd_average_of_streamed_batches


def test_partial_fit_weighs_each_call_against_the_calls_before(threads):
    """As in memory: a chunk of weight 1e-6 after one of weight 1 barely
    moves the model (each call's weights were scaled to their own)."""
    from sklearn.datasets import make_classification

    X, y = make_classification(400, 5, random_state=0)
    A, yA = chunked(X[:200], y[:200])
    B, yB = chunked(X[200:], 1 - y[200:])  # flipped labels
    weights = [da.full(200, w, chunks=100) for w in (1.0, 1e-6)]
    est = GDLogisticRegression(random_state=0)
    est.partial_fit(A, yA, classes=[0, 1], sample_weight=weights[0])
    alone = clone(est).partial_fit(A, yA, classes=[0, 1], sample_weight=weights[0])
    est.partial_fit(B, yB, sample_weight=weights[1])
    assert_allclose(est.coef_, alone.coef_, rtol=1e-2)


def test_sgd_epoch_visits_each_sample_once(threads, iris):
    """Mini-batches of the streamed epoch: every sample once, as many batches
    as in memory (a batch may span two chunks), one chunk on the client."""
    _, y = iris
    Xd, yd = chunked(np.arange(len(y), dtype=float)[:, None], y, chunks=32)
    _, _, problem = first_fit_problem(Xd, yd, GDLogisticRegression(solver="sgd"))
    assert isinstance(problem, DaskProblem)
    batches = list(problem.batches(20, np.random.RandomState(0)))
    assert len(batches) == math.ceil(len(y) / 20)
    seen = np.concatenate([batch.X.ravel() for batch in batches])
    assert_array_equal(np.sort(seen), np.arange(len(y)))


def test_sgd_average_of_streamed_batches(threads, iris):
    """average=1 on a Dask array: the model returned is the mean of the
    iterates after each streamed batch, to 1e-12, as in memory; the last
    iterate is kept to continue from, and partial_fit continues both."""
    from sklearn_gd_logreg import _solvers

    X, y = iris
    Xd, yd = chunked(X, y, chunks=32)
    _, _, problem = first_fit_problem(
        Xd,
        yd,
        GDLogisticRegression(solver="sgd", average=True),
        Penalty(l1=0.0, l2=1e-3),
    )
    monitor = BatchRecorder()

    def fit(average, monitor=None):
        return _solvers.sgd(
            problem,
            np.zeros((4, 3)),
            np.zeros((3, 1)),
            learning_rate=0.05,
            max_iter=2,
            tol=None,
            verbose=0,
            batch_size=10,
            schedule="constant",
            power_t=0.5,
            random_state=np.random.RandomState(0),
            n_iter_no_change=1,
            average=average,
            monitor=monitor,
        )

    # the iterates do not depend on averaging: those of the plain fit
    plain, result = fit(0, monitor), fit(1)
    assert_allclose(result.iterate.w, plain.w, rtol=0)
    iterates = monitor.iterates
    assert len(iterates) == 2 * 15 == result.iterate.n_averaged  # 150 rows / 10
    mean_w = np.mean([w for w, _ in iterates], axis=0)
    atol = 1e-15 * np.abs(mean_w).max()  # for entries near 0
    assert_allclose(result.w, mean_w, rtol=1e-12, atol=atol)
    mean_b = np.mean([b for _, b in iterates], axis=0)
    assert_allclose(result.b, mean_b, rtol=1e-12, atol=atol)
    assert_allclose(result.iterate.w, iterates[-1][0])
    assert not np.allclose(result.w, iterates[-1][0])  # the average, not the last
    # partial_fit over a Dask array: one streamed epoch per call, averaged.
    online = GDLogisticRegression(average=True, random_state=0)
    in_memory = GDLogisticRegression(average=True, random_state=0)
    for _ in range(3):
        online.partial_fit(Xd, yd, classes=np.unique(y))
        in_memory.partial_fit(X, y, classes=np.unique(y))
    assert online.t_ == pytest.approx(3.0)
    assert online._n_averaged == in_memory._n_averaged == 3 * 5  # 5 batches of 32
    assert online.score(X, y) > 0.8
    assert abs(online.score(X, y) - in_memory.score(X, y)) < 0.05


def test_early_stopping_stops_as_in_memory(threads, cancer):
    """Rows held out on the workers (see the next test); the fit
    stops as in memory, ``n_iter_no_change`` iterations after the best
    held-out loss, keeping that iterate; the same random_state, the same
    split."""
    X, y = cancer
    params = dict(  # "bb": one gradient an iteration, 10 iterations
        solver="bb",
        early_stopping=True,
        n_iter_no_change=2,
        alpha=0.05,
        random_state=0,
    )
    model = GDLogisticRegression(**params).fit(*chunked(X, y, chunks=200))
    again = GDLogisticRegression(**params).fit(*chunked(X, y, chunks=200))
    assert_array_equal(model.coef_, again.coef_)
    scores = model.validation_scores_
    assert len(scores) == model.n_iter_
    assert np.argmin(scores) == len(scores) - 1 - params["n_iter_no_change"]
    assert model.score(X, y) > 0.97


@pytest.mark.parametrize("where", ["synchronous", "cluster"])
def test_early_stopping_holds_out_as_many_samples_as_in_memory(where, iris, request):
    """Chunks of 4 rows: each class's share was rounded up in each chunk,
    holding out 39 of iris's 150 samples for validation_fraction=0.1; now
    the in-memory counts (15 samples, 5 of each class), spread over the
    chunks, and the chunks left empty dropped (an empty chunk broke the sums
    on the synchronous scheduler). The split is the same code under every
    scheduler; the fits sum over the kept chunks on each."""
    import dask

    from sklearn_gd_logreg._inputs import validation_split

    X, y = iris
    estimator = GDLogisticRegression(
        solver="bb", early_stopping=True, random_state=0, max_iter=3
    )
    if where == "cluster":  # the sums one task per worker
        context = request.getfixturevalue("threads_client").as_current()
    else:  # the sums as a graph
        context = dask.config.set(scheduler="synchronous")
    with context:
        if where == "synchronous":  # many chunks: empty validation chunks
            _, val_rows = validation_split(y, 0.1, np.random.RandomState(0))
            Xd, yd = chunked(X, y, chunks=4)
            _, _, problem = first_fit_problem(Xd, yd, estimator)
            train, val = problem.split(estimator, np.random.RandomState(0))
            held, kept = val.Y.rows.compute(), train.Y.rows.compute()
            assert len(held) == len(val_rows) == 15
            assert_array_equal(np.bincount(held), np.bincount(y[val_rows]))
            assert len(kept) == 135 and 0 not in val.Y.rows.chunks[0]
            model = fit_quietly(estimator, Xd, yd)
            assert len(model.validation_scores_) == model.n_iter_ == 3
        # A last chunk of one sample, held out (its class's largest share):
        # the training set drops the chunk left empty.
        Xd, yd = chunked(X, y, chunks=149)
        estimator.set_params(validation_fraction=0.9)
        _, _, problem = first_fit_problem(Xd, yd, estimator)
        train, val = problem.split(estimator, np.random.RandomState(0))
        assert train.Y.rows.chunks[0] == (15,) and val.Y.rows.chunks[0] == (134, 1)
        model = fit_quietly(estimator, Xd, yd)
        assert len(model.validation_scores_) == model.n_iter_ == 3
        assert np.isfinite(model.validation_scores_).all()
        # Fewer than one sample per class left to train on: refused as in memory.
        estimator.set_params(validation_fraction=0.99)
        for data in ((X, y), (Xd, yd)):
            with pytest.raises(ValueError, match="early_stopping=True needs more"):
                clone(estimator).fit(*data)


def test_hold_out_counts_are_exact_integers():
    """Largest remainders, in Python's integers: 5e9 * 5e9 wrapped in int64."""
    from sklearn_gd_logreg._dask_holdout import quotas, spread

    rng = np.random.default_rng(0)
    assert spread(5_000_000_000, [5 * 10**9] * 2, rng).tolist() == [2_500_000_000] * 2
    assert spread(7, [0, 0], rng).tolist() == [0, 0]
    counts = np.array([[3, 0, 1], [2, 5, 0], [0, 4, 35]])  # chunks x classes
    held = quotas(counts, 0.2, rng)
    assert held.sum() == 10 and (held <= counts).all()
    assert held.sum(axis=0).tolist() == [1, 2, 7]  # 5, 9 and 36 samples


@pytest.mark.parametrize("where", ["synchronous", "cluster"])
def test_the_auto_step_read_on_the_client_or_on_the_workers(
    where, cancer, monkeypatch, request
):
    """The "auto" step's subsample, up to FETCH_BYTES, comes to the client
    in one round trip and is read there as in memory (its 10 power
    iterations were 20 round trips); a larger one is read on the workers.
    Both give the in-memory step."""
    import dask

    from sklearn_gd_logreg import _dask

    X, y = cancer
    reference = fit_quietly(GDLogisticRegression(max_iter=1), X, y).learning_rate_
    calls = []
    products = _dask.power_products
    monkeypatch.setattr(
        _dask, "power_products", lambda *args: calls.append(1) or products(*args)
    )
    if where == "cluster":  # one task per worker
        context = request.getfixturevalue("threads_client").as_current()
    else:  # a graph
        context = dask.config.set(scheduler="synchronous")
    with context:
        fetched = fit_quietly(GDLogisticRegression(max_iter=1), *chunked(X, y))
        assert not calls
        monkeypatch.setattr(_dask, "FETCH_BYTES", 0)
        on_workers = fit_quietly(GDLogisticRegression(max_iter=1), *chunked(X, y))
        assert len(calls) == 10
    assert fetched.learning_rate_ == pytest.approx(reference, rel=1e-12)
    assert on_workers.learning_rate_ == pytest.approx(reference, rel=1e-10)


def test_image_flattener_transform_is_lazy(threads, digits):
    images, _ = digits
    flattener = ImageFlattener(scale=16.0).fit(images)
    lazy = ImageFlattener(scale=16.0).fit(da.from_array(images, chunks=(100, 8, 8)))
    out = lazy.transform(da.from_array(images, chunks=(100, 4, 8)))
    assert isinstance(out, da.Array) and out.chunks == ((100, 100, 100, 60), (64,))
    assert_array_equal(out.compute(), flattener.transform(images))


def test_image_flattener_takes_a_dask_dataframe_as_pandas_in_memory(threads):
    """transform of a Dask DataFrame raised AttributeError ('numblocks'), so
    a Pipeline of ImageFlattener and GDLogisticRegression could not fit on
    one; fit forgot its column names."""
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (40, 3)).astype(float)
    frame = pd.DataFrame(X, columns=["r", "g", "b"])
    df = dd.from_pandas(frame, npartitions=3)
    in_memory = ImageFlattener().fit(frame)
    flattener = ImageFlattener().fit(df)
    assert_array_equal(flattener.get_feature_names_out(), ["r", "g", "b"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "fitted with feature names"
        out = flattener.transform(df)
        assert isinstance(out, da.Array) and out.shape == (40, 3)
        assert_array_equal(out.compute(), in_memory.transform(frame))
    with pytest.raises(ValueError, match="feature names"):
        flattener.transform(df.rename(columns={"b": "x"}))


@pytest.mark.parametrize("shape", [(5,), (5, 2, 2, 2, 2), (5, 0), (0, 3)])
def test_image_flattener_refuses_a_dask_array_it_refuses_in_memory(threads, shape):
    """fit took any Dask array; the error came later, or never. Both errors
    name the shape."""
    with pytest.raises(ValueError, match=re.escape(str(shape))):
        ImageFlattener().fit(np.zeros(shape))
    flattener = ImageFlattener()
    with pytest.raises(ValueError, match=re.escape(str(shape))):
        flattener.fit(da.zeros(shape, chunks=2))
    assert not hasattr(flattener, "image_shape_")


def test_image_flattener_refuses_a_dask_x_of_strings_or_complex_numbers(threads):
    """Refused in memory; on Dask, fit took them (the error came at compute)."""
    frame = pd.DataFrame({"a": [1.0, 2.0], "s": ["x", "y"]})
    with pytest.raises(ValueError, match="could not convert"):
        ImageFlattener().fit(frame)
    with pytest.raises(ValueError, match=r"numbers.*dtype object"):
        ImageFlattener().fit(dd.from_pandas(frame, npartitions=1))
    with pytest.raises(ValueError, match="Complex data not supported"):
        ImageFlattener().fit(da.ones((4, 2), dtype=complex, chunks=2))


def test_bad_input_names_the_argument_and_stores_nothing(threads, iris):
    X, y = iris
    model = GDLogisticRegression(max_iter=5).fit(X, y)
    before = model.coef_.copy()
    Xd, yd = chunked(X, y, chunks=50)
    unknown = Xd[Xd[:, 0] > -10]
    with pytest.raises(
        ValueError, match=r"X has chunks of unknown size.*compute_chunk_sizes"
    ):
        model.fit(unknown, yd)
    with pytest.raises(ValueError, match="y and X must be chunked alike"):
        model.fit(Xd, yd.rechunk(30))
    bad = X.copy()
    bad[120, 2] = np.nan
    with pytest.raises(
        ValueError, match=r"X contains NaN or infinity \(in chunk\(s\) \[2\]\)"
    ):
        model.fit(da.from_array(bad, chunks=50), yd)
    with pytest.raises(ValueError, match=r"y contains labels \[2\]"):
        GDLogisticRegression().partial_fit(Xd, yd, classes=[0, 1])
    with pytest.raises(
        ValueError, match="Negative values in data passed to sample_weight"
    ):
        model.fit(Xd, yd, sample_weight=da.from_array(-np.ones(len(y)), chunks=50))
    with pytest.raises(ValueError, match="but y contains no samples"):
        model.fit(Xd[:0], yd[:0])  # was an IndexError
    with pytest.raises(ValueError, match="Complex data not supported"):
        model.fit(Xd * 1j, yd)  # astype would drop the imaginary parts
    assert_array_equal(model.coef_, before)  # never half-fitted


def test_grid_search_on_the_dask_joblib_backend(threads, cancer):
    joblib = pytest.importorskip("joblib")
    X, y = cancer
    search = GridSearchCV(
        GDLogisticRegression(max_iter=30),
        {"learning_rate": [0.01, 0.1, "auto"]},
        cv=3,
    )
    reference = clone(search).fit(X, y)
    with joblib.parallel_backend("dask"):
        ours = clone(search).fit(X, y)
    for key in ["mean_test_score", "std_test_score", "rank_test_score"]:
        assert_array_equal(ours.cv_results_[key], reference.cv_results_[key])
    for i in range(3):
        assert_array_equal(
            ours.cv_results_[f"split{i}_test_score"],
            reference.cv_results_[f"split{i}_test_score"],
        )


@pytest.mark.slow  # kills a worker and waits for its restart: CI's slow step
def test_a_worker_lost_mid_fit_is_recomputed(processes_client, cancer):
    """Killing a worker process mid-fit: the scheduler recomputes its chunks
    from their graph on the other worker (the nanny restarts it) and the fit
    ends with the in-memory model."""
    import threading

    X, y = cancer
    params = dict(max_iter=40, tol=0.0, solver="gd")
    reference = GDLogisticRegression(**params).fit(X, y)
    model = GDLogisticRegression(**params)
    Xd, yd = chunked(X, y)
    worker = sorted(processes_client.scheduler_info()["workers"])[0]

    def kill():
        try:  # the worker dies before it can answer
            processes_client.run(os._exit, 1, workers=[worker])
        except Exception:
            pass

    killer = threading.Timer(0.5, kill)
    with processes_client.as_current():
        killer.start()
        try:
            model.fit(Xd, yd)
        finally:
            killer.cancel()
    assert worker not in processes_client.scheduler_info()["workers"]  # it died
    assert_same_model(model, reference)


@pytest.mark.slow  # kills a worker and waits for its restart: CI's slow step
def test_a_worker_lost_with_data_that_cannot_be_recomputed(processes_client, cancer):
    """Chunks scattered from the client have no graph to recompute them:
    losing their worker makes fit raise, saying so, and store nothing."""
    import threading

    X, y = cancer
    worker = sorted(processes_client.scheduler_info()["workers"])[0]

    def scatter(part):  # all onto the worker that will die
        return processes_client.scatter(part, workers=[worker])

    with processes_client.as_current():

        def scattered(a):  # chunks of 100 rows, each held by one worker only
            parts = [a[i : i + 100] for i in range(0, len(a), 100)]
            return da.concatenate(
                [
                    da.from_delayed(scatter(p), shape=p.shape, dtype=a.dtype)
                    for p in parts
                ]
            )

        Xd, yd = scattered(X), scattered(y)
        model = GDLogisticRegression(max_iter=2).fit(Xd, yd)
        before = model.coef_.copy()

        def kill():
            try:
                processes_client.run(os._exit, 1, workers=[worker])
            except Exception:
                pass

        killer = threading.Timer(0.3, kill)
        killer.start()
        try:
            with pytest.raises(RuntimeError, match="Dask workers were lost"):
                model.set_params(max_iter=300, tol=0.0).fit(Xd, yd)
        finally:
            killer.cancel()
    assert_array_equal(model.coef_, before)  # the estimator is unchanged


def test_convergence_warning_and_tol_as_in_memory(threads, cancer):
    X, y = cancer
    with pytest.warns(ConvergenceWarning):
        GDLogisticRegression(max_iter=2).fit(*chunked(X, y))
    reference = GDLogisticRegression(tol=1e-2, solver="bb").fit(X, y)
    ours = GDLogisticRegression(tol=1e-2, solver="bb").fit(*chunked(X, y))
    assert 1 < ours.n_iter_ < 100
    assert_same_model(ours, reference, rtol=1e-7)


def _refuses_corrupted_chunks(index):
    def check():
        import dask

        def corrupted(x):
            x = sp.csr_matrix(x)
            x.indices[5] = index  # SciPy's constructors do not check this
            return x

        X, y = load_iris(return_X_y=True)
        X = da.from_array(X, chunks=(50, 4)).map_blocks(
            corrupted, dtype=X.dtype, meta=sp.csr_matrix((0, 0))
        )
        chunks = X, da.from_array(y, chunks=50)
        with dask.config.set(scheduler="synchronous"):
            with pytest.raises(ValueError, match="structure is corrupted"):
                GDLogisticRegression(max_iter=5).fit(*chunks)
        return True

    return check


@pytest.mark.parametrize("index", [2**31 - 1, -1])
def test_a_corrupted_sparse_chunk_is_refused_before_any_product(index):
    """The "auto" step's power iteration multiplied the chunks with SciPy
    before the twin, which checks each index it reads, saw them: an index of
    2**31 - 1 read 16 GiB out of bounds there (a crash, hence the forked
    child)."""
    run_in_forked_child(_refuses_corrupted_chunks(index), timeout=60)


def test_an_empty_partition_is_fitted_and_predicted_as_in_memory(threads, cancer):
    """A chunk of no rows (as a filtered DataFrame's partitions may be)
    crashed the ConvergenceWarning's diagnosis of a fit (a max over no rows)
    and every prediction (the in-memory methods refuse 0 samples)."""
    X, y = cancer
    chunks = (300, 0, 269)
    Xd, yd = da.from_array(X, chunks=(chunks, 30)), da.from_array(y, chunks=chunks)
    with pytest.warns(ConvergenceWarning, match="largest gradient entry"):
        ours = GDLogisticRegression(max_iter=5).fit(Xd, yd)
    with pytest.warns(ConvergenceWarning):
        reference = GDLogisticRegression(max_iter=5).fit(X, y)
    assert_same_model(ours, reference)
    proba = ours.predict_proba(Xd)
    assert proba.chunks == (chunks, (2,))
    assert_allclose(proba.compute(), reference.predict_proba(X), rtol=1e-10)
    assert_array_equal(ours.predict(Xd).compute(), reference.predict(X))


def test_predictions_declare_the_dtype_they_compute(threads, iris):
    """A float32 model on float64 (or integer) X computes float64, as in
    memory; the lazy array said float32."""
    X, y = iris
    model = fit_quietly(GDLogisticRegression(max_iter=5), X.astype(np.float32), y)
    for data in (X, (X * 10).astype(int)):
        for method in ("predict_proba", "decision_function", "predict_log_proba"):
            lazy = getattr(model, method)(da.from_array(data, chunks=(50, 4)))
            assert lazy.dtype == lazy.compute().dtype == np.float64
            assert getattr(model, method)(data).dtype == np.float64


def test_score_of_a_dataframe_with_labels_in_memory(threads, iris):
    """A DataFrame's partitions have unknown lengths: labels in memory were
    broadcast against them (an error); another partitioning of y gave
    Dask's error, not one naming y."""
    X, y = iris
    frame = pd.DataFrame(X, columns=list("abcd"))
    parts = dd.from_pandas(frame, npartitions=3)
    model = fit_quietly(GDLogisticRegression(max_iter=5), parts, y)
    expected = model.score(frame, y)
    assert model.score(parts, y) == expected
    assert model.score(parts, y, sample_weight=np.ones(len(y))) == expected
    assert model.score(parts, dd.from_pandas(pd.Series(y), npartitions=3)) == expected
    with pytest.raises(ValueError, match="y and X must be partitioned alike"):
        model.score(parts, dd.from_pandas(pd.Series(y), npartitions=5))
    Xd = da.from_array(X, chunks=(50, 4))  # a scalar: refused, as in memory
    for data in (X, Xd):
        with pytest.raises(ValueError, match="'sample_weight' parameter"):
            model.score(data, y, sample_weight=2.0)
    negative = da.from_array(np.where(np.arange(len(y)) == 7, -1.0, 1.0), chunks=50)
    for data in (parts, da.from_array(X, chunks=(50, 4))):  # 0.99 before
        with pytest.raises(ValueError, match="finite, non-negative weights"):
            model.score(
                data, y if data is parts else chunked(y, chunks=50)[0], negative
            )
    huge = da.full(len(y), 1e307, chunks=50)  # finite, their sum overflows
    Xd, yd = chunked(X, y, chunks=50)
    assert model.score(Xd, yd, sample_weight=huge) == pytest.approx(expected, 1e-15)
    zeros = da.zeros(len(y), chunks=50)  # NaN before, with a RuntimeWarning
    with pytest.raises(ValueError, match="at least one non-zero"):
        model.score(da.from_array(X, chunks=(50, 4)), y, sample_weight=zeros)


def test_a_dataframe_is_read_once(cancer):
    """X and y from one DataFrame: each partition's loader ran 16 times for
    4 partitions (the lengths of X and of y, then their arrays persisted
    apart, sharing no keys). On the synchronous scheduler: older
    distributed pickles the loader, whose calls would count elsewhere."""
    import dask

    X, y = cancer
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(30)]).assign(target=y)
    reads = []

    def load(part):
        reads.append(len(part))
        return part

    data = dd.from_pandas(frame, npartitions=4)
    data = data.map_partitions(load, meta=frame.iloc[:0])  # no call for it
    with dask.config.set(scheduler="synchronous"):
        ours = fit_quietly(
            GDLogisticRegression(max_iter=20), data.drop(columns="target"), data.target
        )
    assert sorted(reads) == sorted(len(p) for p in np.array_split(frame, 4))
    reference = fit_quietly(GDLogisticRegression(max_iter=20), frame.iloc[:, :30], y)
    assert_same_model(ours, reference)


def test_a_scalar_sample_weight_fits_as_in_memory(iris):
    """One weight for every sample, as validate_data takes it (it was
    refused as a weight for 1 sample)."""
    import dask

    X, y = iris
    with dask.config.set(scheduler="synchronous"):
        ours = fit_quietly(
            GDLogisticRegression(max_iter=5),
            *chunked(X, y, chunks=50),
            sample_weight=2.0,
        )
    reference = fit_quietly(GDLogisticRegression(max_iter=5), X, y, sample_weight=2.0)
    assert_same_model(ours, reference)
