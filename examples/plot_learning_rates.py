"""
Learning curves for three learning rates
========================================

The course trains the same model with several learning rates and plots the
cost every 100 iterations. Here the task is "is this digit a 1?" on the 8x8
images of ``sklearn.datasets.load_digits``, unregularised (``alpha=0``) as in
the course, for 1500 iterations each. ``CostCurveDisplay.from_estimators``
draws the three curves (the cost at every iteration) in one call; they are
saved as one PNG (needs the ``examples`` extra: matplotlib). A second figure,
``WeightsDisplay.from_estimator``, shows the weights the largest step
learned, one per pixel: red pixels push towards "1", blue ones away.

Run from the repository root::

    python examples/plot_learning_rates.py
"""

from __future__ import annotations

import argparse
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sklearn_gd_logreg import (
    CostCurveDisplay,
    GDLogisticRegression,
    ImageFlattener,
    WeightsDisplay,
)

LEARNING_RATES = [0.5, 0.1, 0.01]
NUM_ITERATIONS = 1500


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description="Learning curves of gradient descent for three learning rates."
    )
    parser.add_argument("--output", default="learning_rates.png")
    args = parser.parse_args(argv)

    digits = load_digits()
    y = digits.target == 1
    X_train, X_test, y_train, y_test = train_test_split(
        digits.images, y, test_size=0.25, stratify=y, random_state=0
    )
    models = []
    for learning_rate in LEARNING_RATES:
        clf = GDLogisticRegression(
            learning_rate=learning_rate, max_iter=NUM_ITERATIONS, tol=0.0, alpha=0.0
        )
        model = make_pipeline(ImageFlattener(scale=16.0), clf)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # tol=0: runs all
            model.fit(X_train, y_train)
        models.append(model)
        print(
            f"learning rate {learning_rate}: cost {clf.loss_curve_[-1]:.4f}, "
            f"train accuracy {model.score(X_train, y_train):.4f}, "
            f"test accuracy {model.score(X_test, y_test):.4f}"
        )

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print('matplotlib is not installed: pip install -e ".[examples]" to save plots')
    else:
        _, ax = plt.subplots(figsize=(6, 4), layout="constrained")
        display = CostCurveDisplay.from_estimators(models, ax=ax)
        display.ax_.set_title("Learning rate")
        display.figure_.savefig(args.output, dpi=100)
        print(f"learning curves saved to {args.output}")

        weights = WeightsDisplay.from_estimator(models[0])
        weights.axes_[0].set_title("towards a 1 (rate 0.5)")
    return {
        rate: model[-1].loss_curve_
        for rate, model in zip(LEARNING_RATES, models, strict=True)
    }


if __name__ == "__main__":
    main()
