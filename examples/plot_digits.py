"""Handwritten digits: images in, a tuned gradient-descent classifier out.

The 8x8 images of ``sklearn.datasets.load_digits`` (shipped with
scikit-learn) go through ``Pipeline(ImageFlattener(scale=16.0),
GDLogisticRegression())``. ``GridSearchCV`` picks the learning rate by
cross-validation; the held-out accuracy is printed next to scikit-learn's
``LogisticRegression`` on the same split, and the learning curve of the
chosen model is saved as a PNG (needs the ``examples`` extra: matplotlib).

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

from sklearn_gd_logreg import GDLogisticRegression, ImageFlattener

LEARNING_RATES = ["auto", 0.1, 0.5, 1.0, 2.0]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    print(f"best learning_rate: {search.best_params_['clf__learning_rate']}")

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

    clf = best["clf"]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print('matplotlib is not installed: pip install -e ".[examples]" to save plots')
    else:
        fig, (ax_curve, ax_coef) = plt.subplots(
            1, 2, figsize=(9, 3.5), gridspec_kw={"width_ratios": [3, 2]}
        )
        ax_curve.plot(clf.loss_curve_)
        ax_curve.set(
            xlabel="iteration",
            ylabel="cost (mean log-loss + L2)",
            yscale="log",
            title=f"learning_rate={search.best_params_['clf__learning_rate']}",
        )
        # Each class's weights, as an 8x8 image; the digit 3 here.
        weights = best["flatten"].inverse_transform(clf.coef_)
        limit = abs(weights[3]).max()
        ax_coef.imshow(weights[3], cmap="RdBu", vmin=-limit, vmax=limit)
        ax_coef.set(title="weights of class 3", xticks=[], yticks=[])
        fig.tight_layout()
        fig.savefig(args.output, dpi=100)
        print(f"learning curve saved to {args.output}")
    return {"ours": ours_accuracy, "reference": ref_accuracy}


if __name__ == "__main__":
    main()
