"""
Handwritten digits: a tuned gradient-descent classifier
=======================================================

The 8x8 images of ``sklearn.datasets.load_digits`` (shipped with
scikit-learn) go through ``Pipeline(ImageFlattener(scale=16.0),
GDLogisticRegression(solver="nesterov"))``. ``GridSearchCV`` picks the learning rate by
cross-validation; the held-out accuracy is printed next to scikit-learn's
``LogisticRegression`` on the same split.

The figure, saved as ``digits_learning_curve.png`` (needs the ``examples``
extra: matplotlib), is drawn by the package's Displays: on the left
``CostCurveDisplay.from_estimators(search, X_train, y_train)``, the cost at
every iteration of each candidate learning rate (each candidate fitted again
on the training set, since a search keeps no candidate's model); on the
right ``WeightsDisplay.from_estimator(best)``, the chosen model's weights
for each digit as 8x8 images, on one colour scale centred on 0.

Run from the repository root::

    python examples/plot_digits.py
"""

from __future__ import annotations

import argparse
import time

from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline

from sklearn_gd_logreg import (
    CostCurveDisplay,
    GDLogisticRegression,
    ImageFlattener,
    WeightsDisplay,
)

LEARNING_RATES = ["auto", 0.1, 0.5, 1.0, 2.0]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description="Handwritten digits: a tuned gradient-descent classifier."
    )
    parser.add_argument("--output", default="digits_learning_curve.png")
    args = parser.parse_args(argv)

    digits = load_digits()
    images, y = digits.images, digits.target  # (1797, 8, 8), pixels in 0..16
    X_train, X_test, y_train, y_test = train_test_split(
        images, y, test_size=0.25, stratify=y, random_state=0
    )

    pipe = Pipeline(
        [
            ("flatten", ImageFlattener(scale=16.0)),
            ("clf", GDLogisticRegression(solver="nesterov")),  # meets tol
        ]
    )
    search = GridSearchCV(pipe, {"clf__learning_rate": LEARNING_RATES}, cv=3)
    start = time.perf_counter()
    search.fit(X_train, y_train)
    ours_seconds = time.perf_counter() - start

    print("learning_rate  mean CV accuracy")
    for params, score in zip(
        search.cv_results_["params"],
        search.cv_results_["mean_test_score"],
        strict=True,
    ):
        print(f"{params['clf__learning_rate']!s:>13}  {score:.4f}")
    best = search.best_estimator_
    best_rate = search.best_params_["clf__learning_rate"]
    print(f"best learning_rate: {best_rate}")

    flat_train = best["flatten"].transform(X_train)
    flat_test = best["flatten"].transform(X_test)
    start = time.perf_counter()
    reference = LogisticRegression(max_iter=5000).fit(flat_train, y_train)
    ref_seconds = time.perf_counter() - start

    ours_accuracy = best.score(X_test, y_test)
    ref_accuracy = reference.score(flat_test, y_test)
    print(f"held-out accuracy  GDLogisticRegression: {ours_accuracy:.4f}")
    print(f"held-out accuracy  LogisticRegression:   {ref_accuracy:.4f}")
    print(
        f"time: grid search of {len(LEARNING_RATES)} learning rates x 3 folds "
        f"{ours_seconds:.1f} s; one LogisticRegression fit {ref_seconds:.2f} s"
    )

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print('matplotlib is not installed: pip install -e ".[examples]" to save plots')
    else:
        fig = plt.figure(figsize=(13, 4.5), layout="constrained")
        left, right = fig.subfigures(1, 2, width_ratios=[1, 1.25])
        curves = CostCurveDisplay.from_estimators(
            search, X_train, y_train, ax=left.subplots(), yscale="log"
        )
        curves.ax_.set_title("Cost of each candidate, refit on the training set")
        WeightsDisplay.from_estimator(best, ax=right.subplots(2, 5))
        right.suptitle(f"Weights of each digit (learning_rate={best_rate})")
        fig.savefig(args.output, dpi=100)
        print(f"learning curve saved to {args.output}")
    return {"ours": ours_accuracy, "reference": ref_accuracy}


if __name__ == "__main__":
    main()
