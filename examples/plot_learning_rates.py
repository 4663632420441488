"""Learning curves for three learning rates, as the course compares them.

The course trains the same model with several learning rates and plots the
cost every 100 iterations. Here the task is "is this digit a 1?" on the 8x8
images of ``sklearn.datasets.load_digits``, unregularised (``alpha=0``) as in
the course, for 1500 iterations each; the curves (the cost at every
iteration) are saved as one PNG (needs
the ``examples`` extra: matplotlib).

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

from sklearn_gd_logreg import GDLogisticRegression, ImageFlattener

LEARNING_RATES = [0.5, 0.1, 0.01]
NUM_ITERATIONS = 1500


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="learning_rates.png")
    args = parser.parse_args(argv)

    digits = load_digits()
    y = digits.target == 1
    X_train, X_test, y_train, y_test = train_test_split(
        digits.images, y, test_size=0.25, stratify=y, random_state=0
    )
    curves = {}
    for learning_rate in LEARNING_RATES:
        clf = GDLogisticRegression(
            learning_rate=learning_rate, max_iter=NUM_ITERATIONS, tol=0.0, alpha=0.0
        )
        model = make_pipeline(ImageFlattener(scale=16.0), clf)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # tol=0: runs all
            model.fit(X_train, y_train)
        curves[learning_rate] = clf.loss_curve_
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
        fig, ax = plt.subplots(figsize=(6, 4))
        for learning_rate, curve in curves.items():
            ax.plot(curve, label=str(learning_rate))
        ax.set(xlabel="iterations", ylabel="cost", title="Learning rate")
        ax.legend(title="learning rate")
        fig.tight_layout()
        fig.savefig(args.output, dpi=100)
        print(f"learning curves saved to {args.output}")
    return curves


if __name__ == "__main__":
    main()
