"""
Fit on a Dask array, next to memory
===================================

The gradient summed on the workers, and the same fit in memory: this
starts a ``distributed.LocalCluster`` (2 worker processes of 1 thread),
generates a dense data set on the workers from a fixed seed (the client
never holds it), fits ``GDLogisticRegression`` there, each gradient step a
sum of per-chunk sums computed where the chunks lie, and then the same fit
in memory on the same data, pulled to this process for the comparison. It
prints the time per iteration of both and how far apart their weights are,
and saves both learning curves as one PNG (needs the ``examples`` extra:
matplotlib; the Dask part needs the ``dask`` extra).

Run from the repository root::

    python examples/plot_dask.py            # 100 000 x 50, under 30 s
    python examples/plot_dask.py --samples 2000000 --chunks 16
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sklearn_gd_logreg import GDLogisticRegression


def make_data(n_samples: int, n_features: int, n_chunks: int, seed: int = 0):
    """A linearly separable-ish problem, generated chunk by chunk on the
    workers: ``X`` standard normal, ``y = [X @ w + noise > 0]``."""
    import dask.array as da

    rng = da.random.default_rng(seed)
    chunk = -(-n_samples // n_chunks)
    X = rng.standard_normal((n_samples, n_features), chunks=(chunk, n_features))
    w = np.linspace(-1.0, 1.0, n_features)  # the true weights: small, known
    noise = rng.standard_normal(n_samples, chunks=chunk)
    y = (X @ w + noise > 0).astype(np.int8)
    return X, y


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="Fit on a Dask array, next to memory.")
    parser.add_argument("--output", default="dask.png")
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    from dask import persist
    from distributed import Client, LocalCluster

    params = dict(solver="gd", max_iter=args.iterations, tol=0.0)
    # distributed sets OMP_NUM_THREADS=1 in this process too (meant for its
    # workers) and leaves it: put it back for the in-memory fit's threads.
    threads = os.environ.get("OMP_NUM_THREADS")
    with (
        LocalCluster(
            n_workers=args.workers, threads_per_worker=1, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        X, y = persist(*make_data(args.samples, args.features, args.chunks))
        print(
            f"{args.samples} x {args.features} float64 "
            f"({X.nbytes / 1e6:.0f} MB) in {X.numblocks[0]} chunks on "
            f"{len(client.scheduler_info()['workers'])} workers"
        )
        on_workers = GDLogisticRegression(**params)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # tol=0: all
            on_workers.fit(X, y)
        dask_s = (time.perf_counter() - start) / args.iterations
        accuracy = on_workers.score(X, y)  # computed on the workers too
        X_here, y_here = X.compute(), y.compute()  # only for the comparison

    if threads is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = threads
    in_memory = GDLogisticRegression(**params)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        in_memory.fit(X_here, y_here)
    memory_s = (time.perf_counter() - start) / args.iterations
    gap = float(
        np.max(np.abs(on_workers.coef_ - in_memory.coef_))
        / np.max(np.abs(in_memory.coef_))
    )
    print(f"time per iteration, Dask ({args.workers} workers): {dask_s * 1e3:.1f} ms")
    print(f"time per iteration, in memory (one process): {memory_s * 1e3:.1f} ms")
    print(f"largest relative difference in coef_: {gap:.1e}; accuracy {accuracy:.4f}")

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print('matplotlib is not installed: pip install -e ".[examples]" to save plots')
    else:
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(in_memory.loss_curve_, label="in memory", linewidth=4, alpha=0.5)
        ax.plot(on_workers.loss_curve_, "--", label="Dask (on the workers)")
        ax.set(xlabel="iterations", ylabel="cost", title="The same fit, two places")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.output, dpi=100)
        print(f"learning curves saved to {args.output}")
    return {
        "dask_s_per_iteration": dask_s,
        "memory_s_per_iteration": memory_s,
        "coef_gap": gap,
        "accuracy": accuracy,
    }


if __name__ == "__main__":
    main()
