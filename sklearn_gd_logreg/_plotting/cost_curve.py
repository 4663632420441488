"""``CostCurveDisplay``: the cost at every iteration, one line per fit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import clone
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils.validation import check_is_fitted

from sklearn_gd_logreg._plotting._base import (
    fitted_classifier,
    import_pyplot,
    short_name,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["CostCurveDisplay"]

YSCALES = ("linear", "log")


class CostCurveDisplay:
    """Cost per iteration (``loss_curve_``) of one or several fits.

    The course's plot: the cost against the iterations of gradient descent,
    one line per fit, to compare learning rates or solvers. Create it with
    :meth:`from_estimator` or :meth:`from_estimators`; all parameters are
    stored as attributes.

    Parameters
    ----------
    loss_curves : sequence of array-like of shape (n_iter,)
        The cost at each iteration of each fit (``loss_curve_``: the
        objective, mean log-loss plus penalty; for ``solver="sgd"`` and
        ``partial_fit`` the mean over each epoch's batches). For ``"gd"``,
        iteration 0 is the cost at the start; for epochs, the first epoch's.
    labels : sequence of str or None, default=None
        One legend entry per curve; ``None`` draws no legend.
    xlabel : str, default="iteration"
        Label of the x axis (``"epoch"`` suits ``solver="sgd"`` and
        ``partial_fit``; ``from_estimator`` chooses).

    Attributes
    ----------
    lines_ : list of matplotlib Line2D
        One line per curve, in the order of ``loss_curves``.
    ax_ : matplotlib Axes
        Axes with the curves.
    figure_ : matplotlib Figure
        Figure containing the curves.

    See Also
    --------
    WeightsDisplay : The learned weights drawn as images.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_gd_logreg import CostCurveDisplay, GDLogisticRegression
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> fits = [
    ...     GDLogisticRegression(learning_rate=rate, alpha=1e-2).fit(X, y)
    ...     for rate in (2.0, 1.0, 0.5)
    ... ]
    >>> display = CostCurveDisplay.from_estimators(fits, yscale="log")
    >>> [line.get_label() for line in display.lines_]
    ['gd, learning_rate=2.0', 'gd, learning_rate=1.0', 'gd, learning_rate=0.5']
    >>> [len(line.get_xdata()) for line in display.lines_]  # iterations run
    [119, 232, 461]
    >>> display.ax_.get_yscale()
    'log'
    >>> import matplotlib.pyplot as plt
    >>> plt.close(display.figure_)
    """

    def __init__(
        self,
        loss_curves: Sequence[Any],
        *,
        labels: Sequence[str] | None = None,
        xlabel: str = "iteration",
    ) -> None:
        self.loss_curves = loss_curves
        self.labels = labels
        self.xlabel = xlabel

    def plot(
        self,
        ax: Axes | None = None,
        *,
        yscale: str = "linear",
        line_kw: dict | None = None,
    ) -> CostCurveDisplay:
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Axes to draw on; ``None`` makes a new figure.
        yscale : {"linear", "log"}, default="linear"
            Scale of the cost axis. ``"log"`` shows the late, slow part of
            gradient descent.
        line_kw : dict or None, default=None
            Keyword arguments passed to ``Axes.plot`` for every curve.

        Returns
        -------
        display : CostCurveDisplay
            This object, with ``lines_``, ``ax_`` and ``figure_`` set.
        """
        plt = import_pyplot("CostCurveDisplay.plot")
        if yscale not in YSCALES:
            raise ValueError(f"yscale must be 'linear' or 'log'; got {yscale!r}.")
        curves = [np.asarray(curve, dtype=float) for curve in self.loss_curves]
        for i, curve in enumerate(curves):
            if curve.ndim != 1 or curve.size == 0:
                raise ValueError(
                    "loss_curves must hold one non-empty 1-D sequence of costs "
                    f"per fit; loss_curves[{i}] has shape {curve.shape}."
                )
        labels = self.labels
        if labels is not None and len(labels) != len(curves):
            raise ValueError(
                f"labels has {len(labels)} entries for {len(curves)} loss_curves."
            )
        if ax is None:
            _, ax = plt.subplots()
        self.lines_ = []
        for i, curve in enumerate(curves):
            label = None if labels is None else str(labels[i])
            (line,) = ax.plot(
                np.arange(curve.size), curve, label=label, **(line_kw or {})
            )
            self.lines_.append(line)
        ax.set(xlabel=self.xlabel, ylabel="cost", yscale=yscale)
        if labels is not None:
            ax.legend()
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        *,
        label: str | None = None,
        ax: Axes | None = None,
        yscale: str = "linear",
        line_kw: dict | None = None,
    ) -> CostCurveDisplay:
        """Draw the cost curve of one fitted estimator.

        Parameters
        ----------
        estimator : GDLogisticRegression or Pipeline
            A fitted estimator with a ``loss_curve_``, or a ``Pipeline``
            ending in one.
        label : str or None, default=None
            Legend entry; ``None`` gives the solver and the learning rate,
            e.g. ``"gd, learning_rate=0.1"`` (``"auto"`` followed by
            ``learning_rate_``, the step it used).
        ax : matplotlib Axes or None, default=None
            Axes to draw on; ``None`` makes a new figure.
        yscale : {"linear", "log"}, default="linear"
            Scale of the cost axis.
        line_kw : dict or None, default=None
            Keyword arguments passed to ``Axes.plot``.

        Returns
        -------
        display : CostCurveDisplay
            The display, drawn.
        """
        return cls.from_estimators(
            [estimator],
            labels=None if label is None else [label],
            ax=ax,
            yscale=yscale,
            line_kw=line_kw,
        )

    @classmethod
    def from_estimators(
        cls,
        estimators: Sequence[Any] | BaseSearchCV,
        X: Any = None,
        y: Any = None,
        *,
        labels: Sequence[str] | None = None,
        ax: Axes | None = None,
        yscale: str = "linear",
        line_kw: dict | None = None,
    ) -> CostCurveDisplay:
        """Draw the cost curves of several fits, such as several learning rates.

        Parameters
        ----------
        estimators : sequence of estimators, or a fitted search
            Fitted estimators with a ``loss_curve_`` (or ``Pipeline`` objects
            ending in one), one curve each. Or a fitted ``GridSearchCV`` (or
            ``RandomizedSearchCV``) whose candidates set ``learning_rate``:
            a search keeps no candidate's model, so each candidate is fitted
            again, on all of ``X`` and ``y`` (as ``refit=True`` fits the
            best one), and drawn; its ``refit`` and ``return_train_score``
            do not matter.
        X : array-like or None, default=None
            With a search only (required then): the data to fit each
            candidate on, usually those passed to the search's ``fit``.
        y : array-like or None, default=None
            With a search only (required then): the labels of ``X``.
        labels : sequence of str or None, default=None
            One legend entry per curve. ``None``: the solver and learning
            rate of each estimator; for a search, each candidate's parameters
            and its mean cross-validated score.
        ax : matplotlib Axes or None, default=None
            Axes to draw on; ``None`` makes a new figure.
        yscale : {"linear", "log"}, default="linear"
            Scale of the cost axis.
        line_kw : dict or None, default=None
            Keyword arguments passed to ``Axes.plot`` for every curve.

        Returns
        -------
        display : CostCurveDisplay
            The display, drawn.
        """
        import_pyplot("CostCurveDisplay.from_estimators")
        if isinstance(estimators, BaseSearchCV):
            classifiers, default_labels = _refit_candidates(estimators, X, y)
        else:
            if X is not None or y is not None:
                raise ValueError(
                    "X and y are only used with a GridSearchCV, whose candidates "
                    "are fitted on them; fitted estimators are drawn as they are, "
                    "so pass X=None and y=None."
                )
            if isinstance(estimators, (str, bytes)) or not isinstance(
                estimators, Sequence
            ):
                raise TypeError(
                    "estimators must be a list of fitted estimators or a fitted "
                    f"GridSearchCV; got {type(estimators).__name__}. For one "
                    "estimator, use CostCurveDisplay.from_estimator."
                )
            if len(estimators) == 0:
                raise ValueError("estimators is empty: pass at least one.")
            classifiers = [
                fitted_classifier(estimator, f"estimators[{i}]")
                for i, estimator in enumerate(estimators)
            ]
            default_labels = [_default_label(clf) for clf in classifiers]
        for i, clf in enumerate(classifiers):
            if not hasattr(clf, "loss_curve_"):
                raise TypeError(
                    f"estimators[{i}] ({type(clf).__name__}) has no loss_curve_; "
                    "pass fitted GDLogisticRegression estimators (or Pipelines "
                    "ending in one)."
                )
        display = cls(
            [clf.loss_curve_ for clf in classifiers],
            labels=default_labels if labels is None else labels,
            xlabel="epoch" if all(map(_in_epochs, classifiers)) else "iteration",
        )
        return display.plot(ax=ax, yscale=yscale, line_kw=line_kw)


def _in_epochs(clf: Any) -> bool:
    """Whether ``clf.loss_curve_`` counts epochs: as its last fit recorded
    (``"sgd"``, or ``partial_fit`` whatever the ``solver``); for another
    estimator (``MLPClassifier``), whether its solver is stochastic."""
    recorded = getattr(clf, "_curve_in_epochs", None)
    if recorded is not None:
        return bool(recorded)
    return clf.get_params().get("solver") in ("sgd", "adam")


def _default_label(clf: Any) -> str:
    """``"nesterov, learning_rate=0.1"``; ``"auto (0.23)"`` for the chosen step;
    ``"partial_fit (sgd)"`` for the epochs of ``partial_fit``."""
    params = clf.get_params()
    rate = params.get("learning_rate")
    if isinstance(rate, str) and hasattr(clf, "learning_rate_"):
        rate = f"{rate} ({clf.learning_rate_:.3g})"
    parts = [str(params["solver"])] if "solver" in params else []
    if parts and parts[0] != "sgd" and getattr(clf, "_curve_in_epochs", False):
        parts = ["partial_fit (sgd)"]
    if rate is not None:
        parts.append(f"learning_rate={rate}")
    return ", ".join(parts) or type(clf).__name__


def _refit_candidates(search: BaseSearchCV, X: Any, y: Any):
    """Fit each candidate of ``search`` on ``X``, ``y``; their labels."""
    check_is_fitted(search, "cv_results_")
    candidates = search.cv_results_["params"]
    for params in candidates:
        if not any(short_name(name) == "learning_rate" for name in params):
            raise ValueError(
                "estimators is a search whose candidates do not set learning_rate "
                f"(one sets {params}); search over learning_rate (or, in a "
                "Pipeline, step__learning_rate) to compare learning rates."
            )
    if X is None or y is None:
        raise ValueError(
            "X and y are required with a GridSearchCV: a search keeps no "
            "candidate's model, so each candidate is fitted again on X and y "
            "to draw its cost curve (pass the data given to the search's fit)."
        )
    scores = search.cv_results_.get("mean_test_score")
    classifiers, labels = [], []
    for i, params in enumerate(candidates):
        model = clone(search.estimator).set_params(**params).fit(X, y)
        classifiers.append(fitted_classifier(model, "estimators"))
        label = ", ".join(f"{short_name(k)}={v}" for k, v in params.items())
        if scores is not None:
            label += f" (CV score {scores[i]:.3f})"
        labels.append(label)
    return classifiers, labels
