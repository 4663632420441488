"""Fitting on a device through the Array API: a torch tensor in, the fit on
its device.

On a dense float32 problem generated on the device from a fixed seed (``X``
standard normal, ``y = [X @ w + noise > 0]``), with
``sklearn.set_config(array_api_dispatch=True)``:

- ``gd s/iter``: seconds per ``"gd"`` iteration of ``GDLogisticRegression``
  on the tensor, ``(T(I') - T(I)) / (I' - I)`` for fits of ``I`` and ``I'``
  iterations at a fixed ``learning_rate`` (the setup cancels), each ``T``
  the best of ``--repeats``, ``I'`` doubled from ``2 I`` until the difference
  is at least half of ``T(I)`` (``_timing.py``);
- ``one read of X``: ``X @ v`` on the device, the floor of one iteration
  (which reads ``X`` twice: ``X w`` and ``X.T dZ``);
- ``nesterov to f*(1 + 1e-4)``: the seconds of a ``solver="nesterov"`` fit
  whose ``max_iter`` is the first iteration at which its objective is within
  ``1e-4`` (relative) of ``f*``, the objective that a long ``"nesterov"``
  fit reaches (``tol=1e-6``);
- ``sklearn lbfgs``: scikit-learn's ``LogisticRegression(solver="lbfgs")``
  with Array API dispatch on the same tensor, ``C = 1 / (alpha n)`` (the
  same objective), its seconds and its objective's gap to ``f*``;
- ``numpy compiled``: our ``"gd"`` iteration on the CPU, the compiled twin
  on a NumPy copy of ``X`` (measured the same way);
- ``read-backs``: the device-to-host transfers (``float``, ``bool``,
  ``item``, DLPack exports of a tensor, counted by a
  ``torch.overrides.TorchFunctionMode``) of one ``"gd"``, ``"nesterov"``
  and ``"bb"`` fit of ``I`` and of ``3 I`` iterations from the fixed step
  (where the line searches start).

Timings on CUDA synchronise the device before reading the clock. Sizes:
``--size full`` 4 000 000 x 256 (4 GB of float32), ``small`` 400 000 x 256,
``tiny`` 20 000 x 32 (seconds on a CPU; run by the tests). ``--device``:
``cpu`` anywhere, ``cuda`` where a GPU is present; ``--threads``: torch's
CPU threads (on a busy machine, fewer than its cores).

Run ``python benchmarks/bench_gpu.py --device cuda --size full --json gpu.json``.
"""

from __future__ import annotations

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")  # before SciPy's first import

import argparse
import json
import platform
import time
import warnings

import numpy as np
import sklearn
import torch
from _timing import per_iteration as _per_iteration
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from sklearn_gd_logreg import GDLogisticRegression, core

SIZES = {"full": (4_000_000, 256), "small": (400_000, 256), "tiny": (20_000, 32)}
ALPHA = 1e-4  # GDLogisticRegression's default
LEARNING_RATE = 1.0  # fixed for the "gd" timings: no power iteration in them
READS = {"__float__", "__bool__", "__int__", "__index__", "item", "tolist"}
READS |= {"numpy", "__array__", "__dlpack__", "cpu", "__format__"}


class ReadBacks(torch.overrides.TorchFunctionMode):
    """Counts the tensor methods that copy a value to the host."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.count += getattr(func, "__name__", "") in READS
        return func(*args, **(kwargs or {}))


def make_data(n_samples: int, n_features: int, device):
    """``X, y`` drawn on ``device`` from a fixed seed."""
    gen = torch.Generator(device=device).manual_seed(0)
    X = torch.randn(n_samples, n_features, generator=gen, device=device)
    w = torch.randn(n_features, generator=gen, device=device) / n_features**0.5
    noise = torch.randn(n_samples, generator=gen, device=device)
    return X, (X @ w + noise > 0).to(torch.int64)


def clock(device, run):
    """Seconds of ``run()``, the device synchronised before each reading."""
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else None
    if sync:
        sync()
    start = time.perf_counter()
    out = run()
    if sync:
        sync()
    return time.perf_counter() - start, out


def gd_fit(X, y, max_iter, solver="gd"):
    return GDLogisticRegression(
        solver=solver, learning_rate=LEARNING_RATE, max_iter=max_iter, tol=0.0
    ).fit(X, y)


def per_iteration(device, X, y, iterations, repeats):
    """Seconds per ``"gd"`` iteration, from fits of ``iterations`` and more."""

    def fit_seconds(n):
        return clock(device, lambda: gd_fit(X, y, n))[0]

    return _per_iteration(fit_seconds, iterations, repeats)[0]


def objective(X, y, coef, intercept) -> float:
    """The objective both estimators minimise, by the core on ``X``'s device."""
    w = torch.as_tensor(coef, device=X.device, dtype=X.dtype).T
    b = torch.as_tensor(intercept, device=X.device, dtype=X.dtype)[:, None]
    Y = y.to(X.dtype)[None, :]
    return core.propagate(w, b, X.T, Y, alpha=ALPHA)[1]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--iterations", type=int, default=10, help="I")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument(
        "--threads", type=int, help="torch's CPU threads (default: torch's own)"
    )
    args = parser.parse_args(argv)
    if args.threads:  # on a busy CPU, torch's pool may wait for a core per op
        torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore", ConvergenceWarning)  # fixed max_iter
    sklearn.set_config(array_api_dispatch=True)
    n_samples, n_features = SIZES[args.size]
    X, y = make_data(n_samples, n_features, args.device)
    I = args.iterations  # noqa: E741

    v = torch.ones(n_features, device=args.device)
    read = float(np.median([clock(args.device, lambda: X @ v)[0] for _ in range(5)]))
    gd_s = per_iteration(args.device, X, y, I, args.repeats)
    read_backs = {}  # per solver: those of fits of I and of 3 I iterations
    for solver in ("gd", "nesterov", "bb"):
        counts = read_backs[solver] = []
        for max_iter in (I, 3 * I):
            with ReadBacks() as reads:
                gd_fit(X, y, max_iter, solver)
            counts.append(reads.count)

    best = GDLogisticRegression(solver="nesterov", tol=1e-6, max_iter=2000).fit(X, y)
    f_star = float(best.loss_curve_.min())
    curve = best.loss_curve_.cpu().numpy()
    first = int(np.argmax(curve <= f_star * (1 + 1e-4))) + 1
    nesterov_s, fit = clock(
        args.device,
        lambda: GDLogisticRegression(solver="nesterov", max_iter=first, tol=0.0).fit(
            X, y
        ),
    )
    nesterov_gap = objective(X, y, fit.coef_, fit.intercept_) / f_star - 1

    lbfgs = LogisticRegression(C=1.0 / (ALPHA * n_samples), max_iter=1000)
    lbfgs_s, lbfgs = clock(args.device, lambda: lbfgs.fit(X, y))
    lbfgs_gap = objective(X, y, lbfgs.coef_, lbfgs.intercept_) / f_star - 1

    sklearn.set_config(array_api_dispatch=False)
    X_np, y_np = X.cpu().numpy(), y.cpu().numpy()
    numpy_s = per_iteration("cpu", X_np, y_np, I, args.repeats)

    report = {
        "device": str(X.device),
        "device_name": (
            torch.cuda.get_device_name(X.device)
            if X.device.type == "cuda"
            else platform.processor() or platform.machine()
        ),
        "shape": [n_samples, n_features],
        "dtype": "float32",
        "one_read_s": read,
        "gd_s_per_iteration": gd_s,
        "nesterov_to_target_s": nesterov_s,
        "nesterov_iterations": first,
        "nesterov_gap": nesterov_gap,
        "lbfgs_s": lbfgs_s,
        "lbfgs_iterations": int(np.max(torch.as_tensor(lbfgs.n_iter_).cpu().numpy())),
        "lbfgs_gap": lbfgs_gap,
        "numpy_compiled_s_per_iteration": numpy_s,
        "read_backs": {
            solver: {str(I): counts[0], str(3 * I): counts[1]}
            for solver, counts in read_backs.items()
        },
        "read_backs_per_iteration": {
            solver: (counts[1] - counts[0]) / (2 * I)
            for solver, counts in read_backs.items()
        },
        "cpu_threads": torch.get_num_threads(),
    }
    print(f"{n_samples} x {n_features} float32 on {report['device']}")
    print("| measure | seconds | note |")
    print("| --- | --- | --- |")
    print(f"| one read of X (X @ v) | {read:.4g} | floor of a pass |")
    print(f"| gd s/iter | {gd_s:.4g} | {gd_s / read:.2f} reads of X |")
    print(
        f"| nesterov to f*(1 + 1e-4) | {nesterov_s:.4g} | {first} iterations, "
        f"gap {nesterov_gap:.2g} |"
    )
    print(
        f"| sklearn lbfgs | {lbfgs_s:.4g} | {report['lbfgs_iterations']} "
        f"iterations, gap {lbfgs_gap:.2g} |"
    )
    print(f"| numpy compiled s/iter (CPU) | {numpy_s:.4g} | the twin |")
    for solver, counts in read_backs.items():
        print(
            f"read-backs per {solver} fit: {counts[0]} ({I} iterations), "
            f"{counts[1]} ({3 * I}); "
            f"{report['read_backs_per_iteration'][solver]:.2f} per iteration"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return report


if __name__ == "__main__":
    main()
