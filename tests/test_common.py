"""scikit-learn's estimator checks, with no expected failures."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_gd_logreg import GDLogisticRegression, ImageFlattener


@parametrize_with_checks(
    [
        GDLogisticRegression(),
        GDLogisticRegression(solver="nesterov"),
        GDLogisticRegression(solver="bb"),
        GDLogisticRegression(solver="sgd"),
        ImageFlattener(),
    ]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
