"""Fitting on a Dask array: overhead, scaling, client memory and traffic.

On data generated on the workers from fixed seeds (``X`` standard normal,
``y = [X @ w + noise > 0]``), in one run:

- ``overhead``: seconds per ``"gd"`` iteration on a Dask array in ``chunks``
  chunks on a 2-worker cluster (worker processes of 1 thread), next to the
  in-memory compiled pass on the same data in this one process (the twin on
  every core, measured before any cluster starts: distributed sets
  ``OMP_NUM_THREADS=1`` in the client process too), and their ratio (goal
  <= 1.5);
- ``scaling``: the same on 1 worker and on 2, and the ratio (goal >= 1.6
  on 2 cores);
- ``client memory``: the peak growth of this process's resident memory
  during the Dask ``fit``, as a share of ``X``'s size (goal <= 5%);
- ``bytes per iteration``: what a gradient evaluation moves, from the task
  sizes (``w`` and ``b`` into each chunk's task, its ``K x n_features``
  partial sums out, the reduction tree's partials) and, measured, the bytes
  the workers sent each other (their transfer logs) per extra iteration:
  ``(B(3 I) - B(I)) / 2 I`` for a fit's bytes ``B``, the median of three,
  and apart from it what a fit moves outside its iterations.

A time per iteration is ``(T(max_iter=I') - T(max_iter=I)) / (I' - I)`` for
a fixed ``learning_rate``, each ``T`` the best of ``--repeats``, ``I'``
doubled from ``2 I`` until ``T(I') - T(I) >= T(I) / 2`` (``_timing.py``): the
persist, the first pass over the data and the last check are not counted. The sizes:

- ``--size full``: 2 000 000 x 100 float64 (1.6 GB) in 16 chunks (minutes;
  needs ~5 GB of memory: the data in this process, then on the workers);
- ``--size small``: 200 000 x 100 in 16 chunks (about a minute);
- ``--size tiny``: 20 000 x 20 in 4 chunks (seconds; run by the tests).

Run ``python benchmarks/bench_dask.py --size full --json dask.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import threading
import time
import warnings

import numpy as np
import psutil
from _timing import per_iteration as _per_iteration
from sklearn.exceptions import ConvergenceWarning

from sklearn_gd_logreg import GDLogisticRegression

SIZES = {
    "full": (2_000_000, 100, 16),
    "small": (200_000, 100, 16),
    "tiny": (20_000, 20, 4),
}
SEED = 0
LEARNING_RATE = 0.5  # fixed: no power iteration in the timings


def make_data(n_samples: int, n_features: int, n_chunks: int):
    """``X, y`` drawn on the workers, chunk by chunk, from fixed seeds."""
    import dask.array as da

    rng = da.random.default_rng(SEED)
    chunk = -(-n_samples // n_chunks)
    X = rng.standard_normal((n_samples, n_features), chunks=(chunk, n_features))
    noise = rng.standard_normal(n_samples, chunks=chunk)
    y = (X @ np.linspace(-1.0, 1.0, n_features) + noise > 0).astype(np.int8)
    return X, y


def fit_seconds(X, y, iterations: int) -> float:
    """Seconds of one ``"gd"`` fit of ``iterations`` iterations."""
    model = GDLogisticRegression(
        solver="gd", max_iter=iterations, tol=0.0, learning_rate=LEARNING_RATE
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return time.perf_counter() - start


def per_iteration(X, y, iterations: int, repeats: int) -> float:
    """Seconds per iteration, from fits of ``iterations`` and more."""
    return _per_iteration(lambda n: fit_seconds(X, y, n), iterations, repeats)[0]


class PeakRSS:
    """The peak resident memory of this process while the block runs,
    sampled every 5 ms, above what it was at the start."""

    def __enter__(self):
        self._process = psutil.Process()
        self.start = self.peak = self._process.memory_info().rss
        self._running = True
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while self._running:
            self.peak = max(self.peak, self._process.memory_info().rss)
            time.sleep(0.005)

    def __exit__(self, *exc):
        self._running = False
        self._thread.join()
        self.growth = self.peak - self.start


def _sent_bytes(dask_worker) -> int:
    """Bytes this worker has sent to other workers (its transfer log)."""
    log = getattr(dask_worker, "transfer_outgoing_log", None)
    if log is None:  # older distributed
        log = getattr(dask_worker, "outgoing_transfer_log", [])
    return int(sum(entry.get("total", 0) for entry in log))


def on_cluster(n_workers: int, n_samples, n_features, n_chunks, iterations, repeats):
    """Seconds per iteration on ``n_workers`` workers; with 2 workers also
    the client's memory growth and the bytes moved."""
    from dask import persist
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=n_workers, threads_per_worker=1, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        X, y = persist(*make_data(n_samples, n_features, n_chunks))
        client.wait_for_workers(n_workers)
        fit_seconds(X, y, 2)  # warm the workers (imports, the kernel)
        seconds = per_iteration(X, y, iterations, repeats)
        with PeakRSS() as rss:
            fit_seconds(X, y, iterations)
        traffic = [fit_traffic(client, X, y, iterations) for _ in range(3)]
    # A fit's traffic is B(I) = setup + I * per_iteration: the marginal
    # bytes of 2 I more iterations, from fits of I and 3 I iterations,
    # cancel the setup (class counts, weights, the persist), which on tiny
    # data would otherwise dominate and make the figure noisy.
    marginal = [max(long - short, 0) / (2 * iterations) for short, long in traffic]
    setup = [
        max(short - iterations * m, 0)
        for (short, _), m in zip(traffic, marginal, strict=True)
    ]
    return seconds, rss.growth, sorted(marginal)[1], sorted(setup)[1]


def fit_traffic(client, X, y, iterations: int) -> tuple[int, int]:
    """Bytes the workers sent each other during a fit of ``iterations``
    iterations, and during one of ``3 * iterations``."""
    out = []
    for n_iter in (iterations, 3 * iterations):
        before = sum(client.run(_sent_bytes).values())
        fit_seconds(X, y, n_iter)
        out.append(sum(client.run(_sent_bytes).values()) - before)
    return out[0], out[1]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    n_samples, n_features, n_chunks = SIZES[args.size]
    x_bytes = n_samples * n_features * 8
    common = (n_samples, n_features, n_chunks, args.iterations, args.repeats)

    # In memory first, on the same data drawn here (the same seeds give the
    # same chunks): distributed's LocalCluster sets OMP_NUM_THREADS=1 in this
    # process too (for its workers) and leaves it, which would hold the
    # in-memory twin to one thread afterwards.
    import dask

    with dask.config.set(scheduler="synchronous"):
        X, y = dask.compute(*make_data(n_samples, n_features, n_chunks))
    fit_seconds(X, y, 2)  # warm
    memory = per_iteration(X, y, args.iterations, args.repeats)
    del X, y
    one, _, _, _ = on_cluster(1, *common)
    two, growth, sent, setup = on_cluster(2, *common)

    K = 1  # two classes
    partial = (1 + n_features * K + K) * 8  # [loss, X dZ.T, sum dZ] per chunk
    into_tasks = n_chunks * (n_features * K + K) * 8  # w and b into each task
    tree = partial * (n_chunks + -(-n_chunks // 8) + 1)  # partials up the tree
    report = {
        "size": args.size,
        "n_samples": n_samples,
        "n_features": n_features,
        "n_chunks": n_chunks,
        "x_bytes": x_bytes,
        "machine": platform.processor() or platform.machine(),
        "cores": psutil.cpu_count(logical=False),
        "memory_s": memory,
        "dask_2_workers_s": two,
        "dask_1_worker_s": one,
        "overhead": two / memory,
        "scaling": one / two,
        "client_peak_growth_bytes": growth,
        "client_peak_growth_fraction": growth / x_bytes,
        "bytes_per_iteration_from_tasks": into_tasks + tree,
        "worker_transfer_bytes_per_iteration": sent,
        "worker_transfer_bytes_per_fit_setup": setup,
    }
    print(
        f"| data | {n_samples} x {n_features} float64 ({x_bytes / 1e6:.0f} MB), "
        f"{n_chunks} chunks |"
    )
    print("|---|---|")
    print(f"| in memory, one process (s / iteration) | {memory:.4f} |")
    print(f"| Dask, 2 workers (s / iteration) | {two:.4f} |")
    print(f"| Dask, 1 worker (s / iteration) | {one:.4f} |")
    print(f"| overhead: Dask 2 workers / in memory | {report['overhead']:.2f} x |")
    print(f"| scaling: 1 worker / 2 workers | {report['scaling']:.2f} x |")
    print(
        f"| client peak RSS growth during fit | {growth / 1e6:.1f} MB "
        f"({100 * growth / x_bytes:.2f} % of X) |"
    )
    print(
        f"| bytes per iteration, from the task sizes | "
        f"{report['bytes_per_iteration_from_tasks']} |"
    )
    print(f"| bytes per iteration, worker transfer logs | {sent:.0f} |")
    print(f"| bytes per fit outside the iterations, transfer logs | {setup:.0f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return report


if __name__ == "__main__":
    main()
