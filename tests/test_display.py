"""The Displays: what they draw (artists, labels, shapes, colour limits), not pixels."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from helpers import fit_quietly
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline

from sklearn_gd_logreg import (
    CostCurveDisplay,
    GDLogisticRegression,
    ImageFlattener,
    WeightsDisplay,
)

matplotlib = pytest.importorskip("matplotlib")  # the test extra installs it
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def binary(cancer):
    """Standardised breast cancer, three learning rates fitted (they converge)."""
    X, y = cancer
    fits = [
        GDLogisticRegression(learning_rate=rate, alpha=1e-2).fit(X, y)
        for rate in (2.0, 1.0, 0.5)
    ]
    return X, y, fits


@pytest.fixture(scope="module")
def digit_model(digits):
    images, y = digits
    return make_pipeline(
        ImageFlattener(scale=16.0), GDLogisticRegression(solver="nesterov")
    ).fit(images, y)


def labels_of(display):
    return [line.get_label() for line in display.lines_]


# --- CostCurveDisplay ------------------------------------------------------


@pytest.mark.slow  # a fresh interpreter: 1.1 s, most of it importing scikit-learn
def test_importing_the_package_does_not_import_matplotlib():
    code = "import sys, sklearn_gd_logreg; print('matplotlib' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_cost_curve_of_one_estimator(binary):
    clf = binary[2][1]
    display = CostCurveDisplay.from_estimator(clf)
    assert len(display.lines_) == 1
    (line,) = display.lines_
    assert_array_equal(line.get_xdata(), np.arange(clf.n_iter_))
    assert_array_equal(line.get_ydata(), clf.loss_curve_)
    assert line.get_label() == "gd, learning_rate=1.0"
    assert display.ax_.get_yscale() == "linear"
    assert display.ax_.get_xlabel() == "iteration"
    assert display.ax_.get_ylabel() == "cost"
    assert display.figure_ is display.ax_.figure
    assert [t.get_text() for t in display.ax_.get_legend().get_texts()] == [
        "gd, learning_rate=1.0"
    ]


def test_cost_curves_compare_learning_rates_in_one_call(binary):
    _, _, fits = binary
    display = CostCurveDisplay.from_estimators(fits, yscale="log")
    assert len(display.lines_) == 3
    assert labels_of(display) == [
        "gd, learning_rate=2.0",
        "gd, learning_rate=1.0",
        "gd, learning_rate=0.5",
    ]
    assert display.ax_.get_yscale() == "log"
    for line, clf in zip(display.lines_, fits, strict=True):
        assert len(line.get_xdata()) == clf.n_iter_
    assert len(display.ax_.get_legend().get_texts()) == 3


def test_cost_curve_labels_the_auto_step_and_the_solver(cancer):
    X, y = cancer
    auto = GDLogisticRegression(alpha=1e-2).fit(X, y)
    fast = GDLogisticRegression(solver="nesterov", alpha=1e-2).fit(X, y)
    display = CostCurveDisplay.from_estimators([auto, make_pipeline(fast)])
    assert labels_of(display) == [
        f"gd, learning_rate=auto ({auto.learning_rate_:.3g})",
        f"nesterov, learning_rate=auto ({fast.learning_rate_:.3g})",
    ]


def test_cost_curve_given_labels_axes_and_line_style(binary):
    _, _, fits = binary
    fig, ax = plt.subplots()
    display = CostCurveDisplay.from_estimators(
        fits, labels=["a", "b", "c"], ax=ax, line_kw={"linewidth": 3}
    )
    assert display.ax_ is ax and display.figure_ is fig
    assert labels_of(display) == ["a", "b", "c"]
    assert all(line.get_linewidth() == 3 for line in display.lines_)
    assert len(ax.get_lines()) == 3


def test_cost_curve_of_sgd_counts_epochs(cancer):
    X, y = cancer
    clf = GDLogisticRegression(
        solver="sgd", max_iter=5, tol=0, n_iter_no_change=10, random_state=0
    )
    with pytest.warns(ConvergenceWarning):  # stops at max_iter
        clf.fit(X, y)
    display = CostCurveDisplay.from_estimator(clf, label="sgd")
    assert display.ax_.get_xlabel() == "epoch"
    assert len(display.lines_[0].get_xdata()) == 5


def test_cost_curve_of_partial_fit_counts_its_epochs(cancer):
    """partial_fit runs epochs of sgd whatever the solver: the curve was
    labelled "gd" against "iteration"."""
    X, y = cancer
    clf = GDLogisticRegression(random_state=0)
    for _ in range(3):
        clf.partial_fit(X, y, classes=[0, 1])
    display = CostCurveDisplay.from_estimator(clf)
    assert display.ax_.get_xlabel() == "epoch"
    assert labels_of(display)[0].startswith("partial_fit (sgd), learning_rate=auto")
    assert len(display.lines_[0].get_xdata()) == 3
    full = fit_quietly(GDLogisticRegression(max_iter=5), X, y)  # with both
    both = CostCurveDisplay.from_estimators([clf, full])
    assert both.ax_.get_xlabel() == "iteration"


def test_the_curve_counts_what_the_last_call_ran(cancer):
    """A full-batch warm start after partial_fit keeps t_ (the epochs seen):
    its curve of iterations was labelled "partial_fit (sgd)" against
    "epoch", and a partial_fit after it continued that curve with epochs."""
    X, y = cancer
    clf = GDLogisticRegression(solver="nesterov", warm_start=True, random_state=0)
    clf.partial_fit(X, y, classes=[0, 1])
    fit_quietly(clf.set_params(max_iter=4), X, y)
    assert clf.t_ == 1.0 and clf.n_iter_ == 4
    display = CostCurveDisplay.from_estimator(clf)
    assert display.ax_.get_xlabel() == "iteration"
    assert labels_of(display)[0].startswith("nesterov, learning_rate=auto")
    clf.partial_fit(X, y)  # epochs again: a curve of its own, not continued
    assert clf.n_iter_ == 1 and clf.loss_curve_.shape == (1,)
    display = CostCurveDisplay.from_estimator(clf)
    assert display.ax_.get_xlabel() == "epoch"
    assert labels_of(display)[0].startswith("partial_fit (sgd)")


def test_an_mlp_curve_is_labelled_by_its_solver(cancer):
    """MLPClassifier has t_ (samples seen) after any fit: its curve of adam's
    epochs was labelled "partial_fit (sgd)"."""
    from sklearn.neural_network import MLPClassifier

    X, y = cancer
    for solver in ("adam", "sgd"):
        mlp = MLPClassifier(solver=solver, max_iter=5, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp.fit(X, y)
        display = CostCurveDisplay.from_estimator(mlp)
        assert display.ax_.get_xlabel() == "epoch"
        assert labels_of(display)[0].startswith(solver)


def test_a_display_draws_again_on_other_axes(binary):
    display = CostCurveDisplay.from_estimator(binary[2][0])
    first = display.ax_
    _, other = plt.subplots()
    assert display.plot(ax=other, yscale="log") is display
    assert display.ax_ is other and other.get_yscale() == "log"
    assert len(other.get_lines()) == 1 and len(first.get_lines()) == 1


def test_cost_curve_from_constructor_and_plot():
    display = CostCurveDisplay([[3.0, 2.0, 1.5], [3.0, 1.0]]).plot(yscale="log")
    assert [len(line.get_xdata()) for line in display.lines_] == [3, 2]
    assert display.ax_.get_legend() is None  # no labels, no legend


@pytest.mark.parametrize("refit", [True, False])
def test_cost_curves_of_a_grid_search_over_learning_rate(digits, refit):
    images, y = digits
    pipe = Pipeline(
        [
            ("flatten", ImageFlattener(scale=16.0)),
            ("clf", GDLogisticRegression(max_iter=60, tol=0)),
        ]
    )
    rates = [0.1, 1.0, "auto"]
    search = GridSearchCV(pipe, {"clf__learning_rate": rates}, cv=2, refit=refit)
    with pytest.warns(ConvergenceWarning):  # ConvergenceWarning: tol=0 runs max_iter
        search.fit(images, y)
        display = CostCurveDisplay.from_estimators(search, images, y)
    assert len(display.lines_) == 3
    labels = labels_of(display)
    for label, rate, score in zip(
        labels, rates, search.cv_results_["mean_test_score"], strict=True
    ):
        assert label == f"learning_rate={rate} (CV score {score:.3f})"
    assert all(len(line.get_xdata()) == 60 for line in display.lines_)
    if refit:  # the best candidate, fitted on the same data, draws the same curve
        best = display.lines_[search.best_index_].get_ydata()
        assert_allclose(best, search.best_estimator_["clf"].loss_curve_, rtol=1e-12)


def test_cost_curves_of_a_search_need_learning_rate_and_data(digits):
    images, y = digits
    pipe = make_pipeline(
        ImageFlattener(scale=16.0), GDLogisticRegression(solver="nesterov")
    )
    search = GridSearchCV(pipe, {"gdlogisticregression__alpha": [1e-3, 1e-2]}, cv=2)
    search.fit(images, y)
    with pytest.raises(ValueError, match="do not set learning_rate"):
        CostCurveDisplay.from_estimators(search, images, y)

    search.set_params(param_grid={"gdlogisticregression__learning_rate": [1.0]})
    search.fit(images, y)
    with pytest.raises(ValueError, match="X and y are required"):
        CostCurveDisplay.from_estimators(search)
    with pytest.raises(NotFittedError):
        CostCurveDisplay.from_estimators(GridSearchCV(pipe, {}), images, y)


def test_cost_curve_errors_name_the_argument(binary):
    X, y, fits = binary
    with pytest.raises(NotFittedError):
        CostCurveDisplay.from_estimator(GDLogisticRegression())
    with pytest.raises(NotFittedError):
        CostCurveDisplay.from_estimators(
            [fits[0], make_pipeline(GDLogisticRegression())]
        )
    with pytest.raises(TypeError, match=r"estimators\[0\].*loss_curve_"):
        CostCurveDisplay.from_estimator(LogisticRegression().fit(X, y))
    with pytest.raises(TypeError, match="estimator"):
        CostCurveDisplay.from_estimator("not an estimator")
    with pytest.raises(TypeError, match="from_estimator"):
        CostCurveDisplay.from_estimators(fits[0])
    with pytest.raises(ValueError, match="empty"):
        CostCurveDisplay.from_estimators([])
    with pytest.raises(ValueError, match="X and y are only used"):
        CostCurveDisplay.from_estimators(fits, X, y)
    with pytest.raises(ValueError, match="yscale"):
        CostCurveDisplay.from_estimators(fits, yscale="symlog")
    with pytest.raises(ValueError, match="labels has 2 entries"):
        CostCurveDisplay.from_estimators(fits, labels=["a", "b"])
    with pytest.raises(ValueError, match=r"loss_curves\[1\]"):
        CostCurveDisplay([[1.0], []]).plot()


def test_a_missing_matplotlib_is_named_with_the_extra(binary, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"matplotlib.*\.\[plots\]"):
        CostCurveDisplay.from_estimator(binary[2][0])
    with pytest.raises(ImportError, match=r"WeightsDisplay.*matplotlib"):
        WeightsDisplay(np.zeros((1, 2, 2))).plot()


# --- WeightsDisplay --------------------------------------------------------


def test_weights_of_each_class_as_images(digit_model):
    clf = digit_model[-1]
    display = WeightsDisplay.from_estimator(digit_model)
    assert len(display.images_) == len(display.axes_) == 10
    assert [ax.get_title() for ax in display.axes_] == [str(c) for c in clf.classes_]
    limit = np.abs(clf.coef_).max()
    for image, row in zip(display.images_, clf.coef_, strict=True):
        assert image.get_array().shape == (8, 8)
        # the values of coef_ (weights of the scaled pixels), not times scale
        assert_allclose(image.get_array(), row.reshape(8, 8), rtol=1e-12)
        assert image.get_clim() == pytest.approx((-limit, limit))  # symmetric, shared
    assert display.colorbar_ is not None
    assert display.colorbar_.mappable is display.images_[0]
    assert display.colorbar_.ax.get_ylabel() == "weight (coef_)"
    assert display.figure_ is display.axes_[0].figure
    assert len(display.figure_.axes) == 10 + 1  # the panels and the colour bar


def test_weights_of_two_classes_are_one_panel(digits):
    images, y = digits
    labels = np.where(y == 1, "one", "other")
    model = make_pipeline(
        ImageFlattener(scale=16.0), GDLogisticRegression(solver="nesterov")
    ).fit(images, labels)
    display = WeightsDisplay.from_estimator(model)
    assert len(display.images_) == 1
    assert display.axes_[0].get_title() == "other vs one"
    low, high = display.images_[0].get_clim()
    assert low == -high == -np.abs(model[-1].coef_).max()

    fig, ax = plt.subplots()  # one panel: a single Axes will do
    display = WeightsDisplay.from_estimator(model, ax=ax)
    assert list(display.axes_) == [ax] and display.figure_ is fig
    assert display.images_[0].get_array().shape == (8, 8)


def test_weights_with_an_image_shape_and_given_axes(digits):
    images, y = digits
    clf = GDLogisticRegression(solver="nesterov").fit(images.reshape(-1, 64), y)
    fig, axes = plt.subplots(2, 5)
    display = WeightsDisplay.from_estimator(
        clf, image_shape=(4, 16), ax=axes, colorbar=False, cmap="PuOr"
    )
    assert display.figure_ is fig
    assert list(display.axes_) == list(axes.ravel())
    assert display.colorbar_ is None
    assert len(fig.axes) == 10
    assert display.images_[0].get_array().shape == (4, 16)
    assert display.images_[0].get_cmap().name == "PuOr"


def test_weights_of_colour_images_side_by_side(rng):
    images = rng.integers(0, 256, size=(40, 3, 4, 3), dtype=np.uint8)
    y = np.arange(40) % 2
    model = make_pipeline(ImageFlattener(), GDLogisticRegression(max_iter=20))
    with pytest.warns(ConvergenceWarning):  # stops at max_iter
        model.fit(images, y)
    display = WeightsDisplay.from_estimator(model, ncols=1)
    image = display.images_[0].get_array()
    assert image.shape == (3, 4 * 3)
    weights = model[-1].coef_.reshape(3, 4, 3)
    assert_allclose(image[:, 4:8], weights[..., 1], rtol=1e-12)


def test_weights_grid_has_no_empty_panels(digit_model):
    display = WeightsDisplay.from_estimator(digit_model, ncols=4)  # 3 rows of 4
    assert len(display.figure_.axes) == 10 + 1


def test_all_zero_weights_get_a_symmetric_scale():
    display = WeightsDisplay(np.zeros((2, 3, 3)), display_labels=["a", "b"]).plot()
    assert display.images_[1].get_clim() == (-1.0, 1.0)
    assert [ax.get_title() for ax in display.axes_] == ["a", "b"]


def test_weights_errors_name_the_argument(digits, digit_model):
    images, y = digits
    flat = images.reshape(-1, 64)
    clf = GDLogisticRegression(solver="nesterov").fit(flat, y)
    with pytest.raises(NotFittedError):
        WeightsDisplay.from_estimator(GDLogisticRegression())
    with pytest.raises(NotFittedError):
        WeightsDisplay.from_estimator(
            make_pipeline(ImageFlattener(), GDLogisticRegression())
        )
    with pytest.raises(ValueError, match="image_shape is required"):
        WeightsDisplay.from_estimator(clf)
    with pytest.raises(ValueError, match=r"image_shape=\(8, 7\) holds 56 values"):
        WeightsDisplay.from_estimator(clf, image_shape=(8, 7))
    with pytest.raises(ValueError, match="image_shape must be"):
        WeightsDisplay.from_estimator(clf, image_shape=64)
    with pytest.raises(ValueError, match="image_shape must be"):
        WeightsDisplay.from_estimator(clf, image_shape=(8, 8.0))
    flat_model = make_pipeline(ImageFlattener(scale=16.0), clf).fit(flat, y)
    with pytest.raises(ValueError, match="fitted on flat rows"):
        WeightsDisplay.from_estimator(flat_model)
    assert len(WeightsDisplay.from_estimator(flat_model, image_shape=(8, 8)).images_)
    reduced = make_pipeline(
        ImageFlattener(scale=16.0), PCA(10), GDLogisticRegression(solver="nesterov")
    ).fit(images, y)
    with pytest.raises(ValueError, match=r"has 10 features.*makes 64"):
        WeightsDisplay.from_estimator(reduced)
    with pytest.raises(TypeError, match="no coef_"):
        WeightsDisplay.from_estimator(PCA(2).fit(flat), image_shape=(8, 8))
    _, axes = plt.subplots(1, 3)
    with pytest.raises(ValueError, match=r"ax must hold one Axes per panel \(10\)"):
        WeightsDisplay.from_estimator(digit_model, ax=axes)
    with pytest.raises(ValueError, match="ncols"):
        WeightsDisplay.from_estimator(digit_model, ncols=0)
    with pytest.raises(ValueError, match="display_labels has 1"):
        WeightsDisplay(np.ones((2, 2, 2)), display_labels=["a"]).plot()
    with pytest.raises(ValueError, match="weights must have shape"):
        WeightsDisplay(np.ones((2, 4))).plot()


def test_weights_of_a_model_fitted_on_torch_under_dispatch(digits, torch_cpu):
    """Fitted on torch tensors with Array API dispatch, a pipeline's weights
    are drawn (the flattener refused the NumPy coef_) with the labels' values
    as titles ("tensor(0)" before)."""
    import sklearn

    torch, device = torch_cpu
    images, y = digits
    model = make_pipeline(ImageFlattener(scale=16.0), GDLogisticRegression(max_iter=20))
    with sklearn.config_context(array_api_dispatch=True):
        model = fit_quietly(
            model,
            torch.asarray(images, device=device),
            torch.asarray(y, device=device),
        )
        display = WeightsDisplay.from_estimator(model)
    assert [ax.get_title() for ax in display.axes_] == [str(k) for k in range(10)]
    coef = model[-1].coef_.cpu().numpy()
    assert_allclose(display.images_[3].get_array(), coef[3].reshape(8, 8), rtol=1e-12)
