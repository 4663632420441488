"""Speed and memory of one gradient-descent iteration, against the course's loop.

For each problem (deterministic data, fixed seed, nothing downloaded) it
prints the median seconds per iteration of

- ``course``: the course's loop, written plainly in NumPy below
  (``A = sigmoid(w.T X + b)``, cost, ``dw = X (A - Y).T / m``, step);
- ``ours``: ``GDLogisticRegression(solver="gd")``'s iteration, i.e.
  ``sklearn_gd_logreg.core.optimize`` on the view ``X.T`` (what ``fit`` runs);
- ``floor``: one read of ``X`` (``X @ v``; for sparse ``X``, one pass over its
  values and indices, split over the cores);

the ratios ``ours / course`` and ``ours / floor``, the peak memory that
``fit`` allocates beyond ``X`` (tracemalloc, in a child process) as a
fraction of ``X.nbytes``, and how the time per iteration grows with the
number of rows (25k to 200k). All times are taken side by side, interleaved,
in one run: on a shared machine only the ratios mean something.

Run ``python benchmarks/bench_speed.py`` (a few minutes), or ``--quick``
(small sizes, seconds; run by the tests so that this file cannot rot).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import subprocess
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

from sklearn_gd_logreg import GDLogisticRegression, _twin, core


def n_cores() -> int:
    return len(os.sched_getaffinity(0))


SEED = 0


# --------------------------------------------------------------------------
# Problems


def make_problem(name: str, quick: bool):
    """``(X, y)`` in the scikit-learn layout (samples as rows)."""
    rng = np.random.default_rng(SEED)
    if name.startswith("dense"):
        n = 20_000 if quick else 200_000
        n = int(name.split(":")[1]) if ":" in name else n
        X = rng.standard_normal((n, 200))
        if "f32" in name:
            X = X.astype(np.float32)
        return X, _labels(rng, X)
    if name == "images":  # the course's 209 cat / non-cat 64x64x3 images
        images = rng.integers(0, 256, size=(209, 64, 64, 3), dtype=np.uint8)
        X = images.reshape(209, -1) / 255.0
        return X, _labels(rng, X - 0.5)
    if name == "digits":
        from sklearn.datasets import load_digits  # ships with scikit-learn

        X, y = load_digits(return_X_y=True)
        return X / 16.0, y
    if name == "wide-sparse":
        # 1e6 features, 20 classes, 2e5 stored values: each thread's sums are
        # K x n_features, far more than its share of the work
        n, d, per_row = (2_000 if quick else 20_000), 10**6, 10
        X = _random_csr(rng, n, d, per_row)
        return X, rng.integers(0, 20, size=n)
    if name == "sparse":  # 20 random columns per row: density 0.001
        X = _random_csr(rng, 10_000 if quick else 100_000, 20_000, 20)
        return X, _labels(rng, X)
    raise ValueError(name)


def _random_csr(rng, n, d, per_row):
    """``per_row`` random columns per row, duplicates summed (sp.random would
    draw from all n * d positions, too slowly)."""
    rows = np.repeat(np.arange(n), per_row)
    cols = rng.integers(0, d, size=n * per_row)
    X = sp.csr_matrix((rng.random(n * per_row), (rows, cols)), shape=(n, d))
    X.sum_duplicates()
    return X


def _labels(rng, X):
    w = rng.standard_normal(X.shape[1]) / np.sqrt(X.shape[1])
    z = np.asarray(X @ w).ravel()
    return (rng.random(len(z)) < 1 / (1 + np.exp(-4 * z))).astype(int)


def core_layout(X, y):
    """``X.T`` (a view), one-hot or 0/1 ``Y`` and zero ``w, b``, as ``fit`` does."""
    classes, index = np.unique(y, return_inverse=True)
    K = 1 if len(classes) == 2 else len(classes)
    Y = np.zeros((K, len(y)), dtype=X.dtype)
    if K == 1:
        Y[0] = index
    else:
        Y[index, np.arange(len(y))] = 1
    w = np.zeros((X.shape[1], K), dtype=X.dtype)
    b = 0.0 if K == 1 else np.zeros((K, 1), dtype=X.dtype)
    return X.T, Y, w, b


# --------------------------------------------------------------------------
# The three timed things


def course_loop(w, b, X, Y, learning_rate, iterations):
    """``iterations`` of the course's loop (samples as columns)."""
    for _ in range(iterations):
        w, b, _ = course_iteration(w, b, X, Y, learning_rate)
    return w, b


def course_iteration(w, b, X, Y, learning_rate):
    """One iteration of the course's loop, written plainly (samples as columns)."""
    m = X.shape[1]
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        Z = w.T @ X + b if not sp.issparse(X) else (X.T @ w).T + b
        if Y.shape[0] == 1:
            A = 1 / (1 + np.exp(-Z))
            cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
        else:
            E = np.exp(Z - Z.max(axis=0))
            A = E / E.sum(axis=0)
            cost = -np.sum(Y * np.log(A)) / m
        dw = X @ (A - Y).T / m
        db = np.sum(A - Y, axis=1, keepdims=True) / m
    w = w - learning_rate * dw
    b = b - learning_rate * (db if np.ndim(b) else float(db[0, 0]))
    return w, b, cost


def ours_loop(w, b, X, Y, learning_rate, iterations):
    """``iterations`` of ``fit(solver="gd")``'s loop: the core's ``optimize``."""
    params, _, _ = core.optimize(w, b, X, Y, iterations, learning_rate)
    return params["w"], params["b"]


def on_threads(n: int, f, *args):
    """``f(*args)`` with the twin's threads capped at ``n`` (OMP_NUM_THREADS
    is read at each call; the twin's own rule may still choose fewer), and
    BLAS's, for samples the core leaves to NumPy (``_twin.blas_is_faster``),
    by a controller made once (finding the libraries takes milliseconds)."""
    before = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = str(n)
    try:
        with _blas().limit(limits=n, user_api="blas"):
            return f(*args)
    finally:
        if before is None:
            del os.environ["OMP_NUM_THREADS"]
        else:
            os.environ["OMP_NUM_THREADS"] = before


@functools.cache
def _blas():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def floor_read(X):
    """The least one gradient must do: read ``X`` once, on all the cores."""
    if not sp.issparse(X):
        v = np.ones(X.shape[1], dtype=X.dtype)
        return lambda k: [X @ v for _ in range(k)]  # BLAS reads X, its threads
    pool = ThreadPoolExecutor(n_cores())
    nnz, k = X.nnz, n_cores()
    parts = [slice(nnz * i // k, nnz * (i + 1) // k) for i in range(k)]

    def one(part):  # NumPy's reductions release the GIL
        return X.data[part].sum() + X.indices[part].sum()

    return lambda k: [list(pool.map(one, parts)) for _ in range(k)]


def numpy_pass(X):
    """The sparse floor as the issue states it: ``X.data.sum() +
    X.indices.sum()``, one NumPy pass (one core)."""
    return lambda k: [X.data.sum() + X.indices.sum() for _ in range(k)]


def time_side_by_side(
    functions: dict, repeats: int, iterations: int, pause: float = 0.0
) -> dict:
    """Median wall seconds per iteration of each function, interleaved round
    by round; each round runs ``iterations`` iterations of each. ``pause``
    seconds before each run let the BLAS threads of the previous one stop
    spinning (OpenBLAS's threads busy-wait ~0.1 s after a call), so that no
    run pays for the one before it; then at least 20 ms of untimed
    iterations wake the run's own threads: on this VM a second CPU idle for
    about half a second or more takes milliseconds to come back (measured on
    the images, the first gradients after a 0.2-1 s pause: 7.2, 4.1, then
    0.3-0.4 ms), so that each run measures the steady cost of an
    iteration, not the hypervisor's."""
    for f in functions.values():  # warm up
        f(1)
    times = {name: [] for name in functions}
    cpu = {name: [] for name in functions}
    for _ in range(repeats):
        for name, f in functions.items():
            time.sleep(pause)
            awake = time.perf_counter() + 0.02
            while time.perf_counter() < awake:
                f(1)
            t0, c0 = time.perf_counter(), time.process_time()
            f(iterations)
            times[name].append((time.perf_counter() - t0) / iterations)
            cpu[name].append((time.process_time() - c0) / iterations)
    return {
        name: {
            "seconds": float(np.median(times[name])),
            "best": float(np.min(times[name])),
            "cores_busy": float(np.sum(cpu[name]) / np.sum(times[name])),
        }
        for name in functions
    }


def on_the_twin(f, *args):
    """``f(*args)`` with the core's sums on the twin even where the core
    leaves them to NumPy's BLAS (``_twin.blas_is_faster``): both paths timed
    side by side."""
    before = _twin.blas_is_faster
    _twin.blas_is_faster = lambda X: False
    try:
        return f(*args)
    finally:
        _twin.blas_is_faster = before


def bench_problem(name: str, quick: bool, repeats: int, iterations: int) -> dict:
    X, y = make_problem(name, quick)
    XT, Y, w, b = core_layout(X, y)
    lr = 0.1
    blas = _twin.reads(w, XT) and _twin.blas_is_faster(XT)
    timed = time_side_by_side(
        {
            "course": lambda k: course_loop(w, b, XT, Y, lr, k),
            "ours": lambda k: ours_loop(w, b, XT, Y, lr, k),
            "ours_1": lambda k: on_threads(1, ours_loop, w, b, XT, Y, lr, k),
            "ours_2": lambda k: on_threads(2, ours_loop, w, b, XT, Y, lr, k),
            "floor": floor_read(X),
            **({"floor_numpy": numpy_pass(X)} if sp.issparse(X) else {}),
            **(
                {"twin": lambda k: on_the_twin(ours_loop, w, b, XT, Y, lr, k)}
                if blas
                else {}
            ),
        },
        repeats,
        iterations,
        pause=0.0 if quick else 0.2,
    )
    return {
        "problem": name,
        "shape": f"{X.shape[0]}x{X.shape[1]}",
        "dtype": X.dtype.name,
        "sparse": sp.issparse(X),
        "X_MB": _nbytes(X) / 1e6,
        "pass": "compiled" if _twin.reads(w, XT) and not blas else "numpy",
        "threads": "BLAS's"
        if blas
        else _twin.n_threads(
            (X.nnz if sp.issparse(X) else X.size) * w.shape[1], w.size
        ),
        **{f"{k}_s": v["seconds"] for k, v in timed.items()},
        **{f"{k}_best_s": v["best"] for k, v in timed.items()},
        "ours_cores_busy": timed["ours"]["cores_busy"],
        "memory": peak_memory_in_child(name, quick),
    }


def _nbytes(X):
    if sp.issparse(X):
        return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    return X.nbytes


# --------------------------------------------------------------------------
# Memory, in a child process so that nothing else is counted


def fit_memory(name: str, quick: bool) -> dict:
    """Peak bytes that ``fit`` allocates beyond ``X`` (run in the child)."""
    import warnings

    X, y = make_problem(name, quick)
    result = {}
    # With a fixed step, fit is the gradient loop; "auto" adds the power
    # iterations of the step-size estimate (on a subsample of X).
    for key, learning_rate in [("fixed_step", 0.1), ("auto_step", "auto")]:
        clf = GDLogisticRegression(max_iter=3, tol=0.0, learning_rate=learning_rate)
        rss_before = _reset_peak_rss()
        tracemalloc.start()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: 3 iterations
            clf.fit(X, y)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rss_peak = _status_bytes("VmHWM")
        growth = None if rss_before is None else max(0, rss_peak - rss_before)
        result[key] = {
            "peak_extra_fraction": peak / _nbytes(X),
            "rss_growth_fraction": None if growth is None else growth / _nbytes(X),
        }
    return {
        **result["auto_step"],
        "fixed_step": result["fixed_step"],
        "coef_dtype": clf.coef_.dtype.name,
    }


def _status_bytes(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def _reset_peak_rss():
    """Reset the peak resident size (Linux); the current size, or None."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _status_bytes("VmRSS")
    except (OSError, KeyError):
        return None


def peak_memory_in_child(name: str, quick: bool) -> dict:
    cmd = [sys.executable, __file__, "--child-memory", name]
    if quick:
        cmd.append("--quick")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# --------------------------------------------------------------------------
# Scaling with the number of rows


def bench_scaling(quick: bool, repeats: int, iterations: int) -> dict:
    rows = (
        [2_500, 5_000, 10_000, 20_000] if quick else [25_000, 50_000, 100_000, 200_000]
    )
    functions = {}
    for n in rows:
        X, y = make_problem(f"dense:{n}", quick)
        XT, Y, w, b = core_layout(X, y)
        functions[n] = lambda k, XT=XT, Y=Y, w=w, b=b: ours_loop(w, b, XT, Y, 0.1, k)
    timed = time_side_by_side(
        functions, repeats, iterations, pause=0.0 if quick else 0.2
    )
    seconds = np.array([timed[n]["seconds"] for n in rows])
    slope, intercept = np.polyfit(rows, seconds, 1)
    fitted = slope * np.array(rows) + intercept
    r2 = 1 - np.sum((seconds - fitted) ** 2) / np.sum((seconds - seconds.mean()) ** 2)
    return {
        "rows": rows,
        "seconds": seconds.tolist(),
        "slope_s_per_100k_rows": float(slope * 100_000),
        "intercept_s": float(intercept),
        "r2": float(r2),
        "largest_over_smallest": float(seconds[-1] / seconds[0]),
        "rows_ratio": rows[-1] / rows[0],
    }


# --------------------------------------------------------------------------
# Report


def machine() -> dict:
    from threadpoolctl import threadpool_info

    blas = [
        f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads)"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cores": n_cores(),
        "blas": sorted(set(blas)),
    }


def print_report(results, scaling, info, out=sys.stdout) -> None:
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p(
        f"machine: {info['cores']} cores, "
        f"BLAS: {'; '.join(info['blas'])}, numpy {info['numpy']}"
    )
    p()
    p(
        "| problem | X | MB | pass | course s/it | ours s/it | floor s/it "
        "| ours/course | ours/floor | ours/floor, best of runs | threads "
        "| ours / best of 1, 2 threads | cores busy "
        "| fit peak extra / X: fixed step, auto step | fit RSS growth / X |"
    )
    p("| --- | --- | ---: | --- |" + " ---: |" * 11)
    for r in results:
        p(
            f"| {r['problem']} | {r['shape']} {r['dtype']}"
            f"{' CSR' if r['sparse'] else ''} | {r['X_MB']:.1f} | {r['pass']} "
            f"| {r['course_s']:.2e} | {r['ours_s']:.2e} | {r['floor_s']:.2e} "
            f"| {r['ours_s'] / r['course_s']:.2f} | {r['ours_s'] / r['floor_s']:.2f} "
            f"| {r['ours_best_s'] / r['floor_best_s']:.2f} "
            f"| {r['threads']} "
            f"| {r['ours_s'] / min(r['ours_1_s'], r['ours_2_s']):.2f} "
            f"| {r['ours_cores_busy']:.2f} "
            f"| {100 * r['memory']['fixed_step']['peak_extra_fraction']:.2f}%, "
            f"{100 * r['memory']['peak_extra_fraction']:.2f}% "
            f"| {_percent(r['memory']['rss_growth_fraction'])} |"
        )
    by_name = {r["problem"]: r for r in results}
    for r in results:
        if "floor_numpy_s" in r:
            p()
            p(
                f"{r['problem']}: ours / (X.data.sum() + X.indices.sum(), one "
                f"NumPy pass, {r['floor_numpy_s']:.2e} s): "
                f"{r['ours_s'] / r['floor_numpy_s']:.2f} (best of runs: "
                f"{r['ours_best_s'] / r['floor_numpy_best_s']:.2f})"
            )
    for r in results:
        if "twin_s" in r:
            p()
            p(
                f"{r['problem']}: ours (NumPy's BLAS) / the twin on the same X, "
                f"this run ({r['twin_s']:.2e} s): {r['ours_s'] / r['twin_s']:.2f} "
                f"(best of runs: {r['ours_best_s'] / r['twin_best_s']:.2f})"
            )
    if "dense-f64" in by_name and "dense-f32" in by_name:
        f32, f64 = by_name["dense-f32"], by_name["dense-f64"]
        p()
        p(
            f"float32 / float64 (ours, dense): {f32['ours_s'] / f64['ours_s']:.2f} "
            f"(best of runs: {f32['ours_best_s'] / f64['ours_best_s']:.2f})"
        )
    p()
    p(
        f"scaling (ours, dense x200 float64): rows {scaling['rows']}, s/it "
        + ", ".join(f"{s:.2e}" for s in scaling["seconds"])
    )
    p(
        f"  slope {scaling['slope_s_per_100k_rows']:.2e} s per 100k rows, "
        f"intercept {scaling['intercept_s']:.1e} s, R^2 {scaling['r2']:.4f}, "
        f"time x{scaling['largest_over_smallest']:.1f} for rows "
        f"x{scaling['rows_ratio']:.0f}"
    )


def _percent(x):
    return "n/a" if x is None else f"{100 * x:.1f}%"


PROBLEMS = ["dense-f64", "dense-f32", "images", "digits", "sparse", "wide-sparse"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, seconds")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument(
        "--iterations", type=int, default=None, help="iterations per timed run"
    )
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child-memory", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_memory:
        print(json.dumps(fit_memory(args.child_memory, args.quick)))
        return 0
    repeats = args.repeats or (3 if args.quick else 11)
    iterations = args.iterations or (1 if args.quick else 5)
    info = machine()
    results = [
        bench_problem(name, args.quick, repeats, iterations) for name in PROBLEMS
    ]
    scaling = bench_scaling(args.quick, repeats, iterations)
    print_report(results, scaling, info)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "results": results, "scaling": scaling}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
