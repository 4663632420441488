"""One epoch of ``"sgd"`` next to ``SGDClassifier``'s, streaming, averaging.

Three tables, on data made from fixed seeds (nothing downloaded):

1. **epoch**: the median seconds of one epoch from zeros, with a fixed
   ``learning_rate`` and the ``"constant"`` schedule, input validation
   included: ``GDLogisticRegression().partial_fit`` on all the rows
   (compiled epoch, batches of 32; ``fit(max_iter=1)`` would add the
   ``ConvergenceWarning``'s diagnosis, a few full gradients), the same with
   the Python loop over batches (the reference, timed once), and
   ``SGDClassifier(loss="log_loss", max_iter=1, tol=None,
   learning_rate="constant", eta0=...).fit``, interleaved,
   on dense rows (covtype-like, 320 000 x 54, two and seven classes) and
   sparse text-like rows (50 000 x 50 000, Zipf word frequencies, rows
   L2-normalised), the first and last also with ``average=True`` (both);
   with the ratios ``ours / SGDClassifier``.
2. **streaming**: ``load_digits`` (raw pixels, a stratified quarter held
   out), fed to ``partial_fit`` in chunks of 100 rows for 5 epochs; the
   held-out accuracy after each epoch, next to ``fit`` on all the
   training rows.
3. **averaging**: epochs of ``fit(solver="sgd")`` (default parameters, with
   and without ``average=True``) to reach ``f* (1 + 1e-3)``, ``f*`` from
   ``LogisticRegression(tol=1e-10)``; epochs searched by doubling, then
   bisection, a fresh fit for each count.

Run from the repository root::

    python benchmarks/bench_sgd.py               # the full tables, minutes
    python benchmarks/bench_sgd.py --size tiny   # a smoke run, seconds
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from unittest import mock

import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_convergence import (  # the same problems
    objective,
    planted_logistic,
    planted_multinomial,
    text_like,
)

from sklearn_gd_logreg import GDLogisticRegression
from sklearn_gd_logreg._solvers import _sgd

ALPHA = 1e-4
SIZES = {  # dense rows, sparse rows = columns, averaging's dense rows
    "tiny": (4_000, 2_000, 2_000),
    "full": (320_000, 50_000, 50_000),
}


def quiet_fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def one_epoch(estimator, X, y):
    """One epoch of ``partial_fit`` from zeros."""
    return clone(estimator).partial_fit(X, y, classes=np.unique(y))


def seconds(fit, *args):
    start = time.perf_counter()
    fit(*args)
    return time.perf_counter() - start


def epoch_table(size, repeats):
    n_dense, n_text, _ = SIZES[size]
    cases = [
        (f"dense {n_dense} x 54, 2 classes", *planted_logistic(n_dense, 54), 0.01),
        (
            f"dense {n_dense} x 54, 7 classes",
            *planted_multinomial(n_dense, 54, 7),
            0.01,
        ),
        (f"sparse {n_text} x {n_text}, text-like", *text_like(n_text, n_text), 0.5),
    ]
    # and the first and last averaged (average=True for both)
    cases += [(f"{name}, average=True", *rest) for name, *rest in cases[::2]]
    rows = []
    for name, X, y, eta in cases:
        average = name.endswith("average=True")
        ours = GDLogisticRegression(
            learning_rate=eta,
            learning_rate_schedule="constant",
            alpha=ALPHA,
            average=average,
            random_state=0,
        )
        theirs = SGDClassifier(
            loss="log_loss",
            alpha=ALPHA,
            max_iter=1,
            tol=None,
            learning_rate="constant",
            eta0=eta,
            random_state=0,
            average=average,
        )
        times = {"ours": [], "sgdclassifier": []}
        for _ in range(repeats):  # interleaved: the same machine state
            times["ours"].append(seconds(one_epoch, ours, X, y))
            times["sgdclassifier"].append(seconds(quiet_fit, theirs, X, y))
        with mock.patch.object(_sgd, "compiles", lambda *args: False):
            python_s = seconds(one_epoch, ours, X, y)
        ours_s = float(np.median(times["ours"]))
        theirs_s = float(np.median(times["sgdclassifier"]))
        row = {
            "problem": name,
            "ours_s": ours_s,
            "ours_range_s": [min(times["ours"]), max(times["ours"])],
            "python_loop_s": python_s,
            "sgdclassifier_s": theirs_s,
            "sgdclassifier_range_s": [
                min(times["sgdclassifier"]),
                max(times["sgdclassifier"]),
            ],
            "ratio": ours_s / theirs_s,
        }
        rows.append(row)
        print(
            f"| {name} | {ours_s:.3f} ({row['ours_range_s'][0]:.3f}-"
            f"{row['ours_range_s'][1]:.3f}) | {python_s:.3f} | {theirs_s:.3f} "
            f"({row['sgdclassifier_range_s'][0]:.3f}-"
            f"{row['sgdclassifier_range_s'][1]:.3f}) | {row['ratio']:.2f} |",
            flush=True,
        )
    return rows


def digits_split():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def streaming_accuracy(params, epochs=5, chunk=100):
    """Held-out accuracy after each epoch of ``partial_fit`` over chunks."""
    X_train, X_test, y_train, y_test = digits_split()
    estimator = GDLogisticRegression(random_state=0, **params)
    scores = []
    for _ in range(epochs):
        for start in range(0, len(X_train), chunk):
            end = start + chunk
            estimator.partial_fit(
                X_train[start:end], y_train[start:end], classes=np.arange(10)
            )
        scores.append(estimator.score(X_test, y_test))
    return scores


def streaming_table():
    X_train, X_test, y_train, y_test = digits_split()
    full = quiet_fit(GDLogisticRegression(), X_train, y_train).score(X_test, y_test)
    rows = {}
    for label, params in [
        ("defaults", {}),
        ("average=True", {"average": True}),
        ("batch_size=1", {"batch_size": 1}),
        ("batch_size=1, average=True", {"batch_size": 1, "average": True}),
    ]:
        rows[label] = streaming_accuracy(params)
    for label, scores in rows.items():
        print(f"| {label} | " + " | ".join(f"{s:.3f}" for s in scores) + " |")
    print(f"\nfit (solver='gd', defaults) on all the training rows: {full:.3f}")
    rows["fit"] = [full]
    return rows


def epochs_to(X, y, target, average, budget):
    """The fewest epochs of ``fit`` whose objective is ``<= target``."""

    def reaches(epochs):
        estimator = GDLogisticRegression(
            solver="sgd", alpha=ALPHA, max_iter=epochs, random_state=0, average=average
        )
        quiet_fit(estimator, X, y)
        value = objective(
            X, y, estimator.coef_, estimator.intercept_, estimator.classes_
        )
        return value <= target

    high = 1
    while not reaches(high):
        if high >= budget:
            return None
        high = min(2 * high, budget)
    low = high // 2  # does not reach (or 0)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if reaches(middle) else (middle, high)
    return high


def averaging_table(size):
    _, _, n_dense = SIZES[size]
    budget = 8 if size == "tiny" else 256
    digits = load_digits()
    cancer_X, cancer_y = load_breast_cancer(return_X_y=True)
    cases = [
        ("digits / 16, 10 classes", digits.data / 16.0, digits.target),
        ("breast cancer (std.)", StandardScaler().fit_transform(cancer_X), cancer_y),
        (f"dense {n_dense} x 50", *planted_logistic(n_dense, 50)),
        (
            f"20 classes {n_dense // 2} x 100",
            *planted_multinomial(n_dense // 2, 100, 20),
        ),
    ]
    rows = []
    for name, X, y in cases:
        reference = LogisticRegression(
            tol=1e-10, C=1 / (ALPHA * len(y)), max_iter=10_000
        )
        quiet_fit(reference, X, y)
        f_star = objective(
            X, y, reference.coef_, reference.intercept_, reference.classes_
        )
        target = f_star * (1 + 1e-3)
        plain = epochs_to(X, y, target, False, budget)
        averaged = epochs_to(X, y, target, True, budget)
        rows.append({"problem": name, "plain": plain, "averaged": averaged})

        def shown(epochs):
            return f">{budget}" if epochs is None else str(epochs)

        print(f"| {name} | {shown(plain)} | {shown(averaged)} |", flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(SIZES), default="full")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    print(
        f"{platform.processor() or platform.machine()}, "
        f"{len(os.sched_getaffinity(0))} cores, load {os.getloadavg()[0]:.2f}"
    )
    print("\n| one epoch | ours s (range) | Python loop s | SGDClassifier s (range) "
          "| ours / SGDClassifier |")  # fmt: skip
    print("|---|---|---|---|---|")
    report = {"epoch": epoch_table(args.size, args.repeats)}
    print("\n| load_digits, chunks of 100 | epoch 1 | 2 | 3 | 4 | 5 |")
    print("|---|---|---|---|---|---|")
    report["streaming"] = streaming_table()
    print("\n| epochs to f* (1 + 1e-3) | sgd | sgd, average=True |")
    print("|---|---|---|")
    report["averaging"] = averaging_table(args.size)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)
    return report


if __name__ == "__main__":
    main()
