"""``WeightsDisplay``: each class's weights drawn as an image."""

from __future__ import annotations

from collections.abc import Sequence
from math import ceil, prod
from numbers import Integral
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from sklearn_gd_logreg._image import ImageFlattener
from sklearn_gd_logreg._plotting._base import fitted_classifier, import_pyplot
from sklearn_gd_logreg._xp import to_numpy

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["WeightsDisplay"]


class WeightsDisplay:
    """The weights of a linear classifier drawn as images, one per class.

    Each row of ``coef_`` holds one weight per pixel; drawn in the images'
    shape, it shows which pixels push a sample towards that class (positive,
    red by default) or away from it (negative, blue). All panels share one
    diverging colour scale, symmetric about 0 so that white is a zero
    weight, with a colour bar. Create it with :meth:`from_estimator`; all
    parameters are stored as attributes.

    Parameters
    ----------
    weights : array-like of shape (n_panels, height, width) or \
            (n_panels, height, width, channels)
        One image of weights per panel. The channels of a colour image are
        drawn side by side, each as a ``(height, width)`` block.
    display_labels : sequence of str or None, default=None
        Title of each panel; ``None``: ``"0"``, ``"1"``, ...

    Attributes
    ----------
    images_ : list of matplotlib AxesImage
        One image per panel.
    axes_ : ndarray of matplotlib Axes of shape (n_panels,)
        The panels.
    colorbar_ : matplotlib Colorbar or None
        The colour bar, shared by the panels; ``None`` with ``colorbar=False``.
    figure_ : matplotlib Figure
        Figure containing the panels.

    See Also
    --------
    CostCurveDisplay : The cost at every iteration.
    ImageFlattener.inverse_transform : Rows back into images.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_gd_logreg import (
    ...     GDLogisticRegression, ImageFlattener, WeightsDisplay
    ... )
    >>> digits = load_digits()
    >>> model = make_pipeline(
    ...     ImageFlattener(scale=16.0), GDLogisticRegression(solver="nesterov")
    ... ).fit(digits.images, digits.target)
    >>> display = WeightsDisplay.from_estimator(model)
    >>> len(display.images_), display.images_[0].get_array().shape
    (10, (8, 8))
    >>> [ax.get_title() for ax in display.axes_[:3]]
    ['0', '1', '2']
    >>> low, high = display.images_[0].get_clim()
    >>> low == -high
    True
    >>> import matplotlib.pyplot as plt
    >>> plt.close(display.figure_)
    """

    def __init__(
        self, weights: Any, *, display_labels: Sequence[str] | None = None
    ) -> None:
        self.weights = weights
        self.display_labels = display_labels

    def plot(
        self,
        *,
        ax: Axes | Sequence[Axes] | np.ndarray | None = None,
        cmap: Any = "RdBu_r",
        colorbar: bool = True,
        ncols: int | None = None,
        im_kw: dict | None = None,
    ) -> WeightsDisplay:
        """Draw one panel per image of weights.

        Parameters
        ----------
        ax : matplotlib Axes, array-like of Axes, or None, default=None
            One Axes per panel (any array shape, read in row-major order),
            or a single Axes for a single panel; ``None`` makes a new figure
            with a grid of ``ncols`` columns.
        cmap : str or matplotlib Colormap, default="RdBu_r"
            A diverging colour map: its middle colour is a zero weight.
        colorbar : bool, default=True
            Whether to add a colour bar, shared by the panels.
        ncols : int or None, default=None
            Columns of the new figure's grid; ``None``: up to 5. Ignored when
            ``ax`` is given.
        im_kw : dict or None, default=None
            Keyword arguments passed to ``Axes.imshow``.

        Returns
        -------
        display : WeightsDisplay
            This object, with ``images_``, ``axes_``, ``colorbar_`` and
            ``figure_`` set.
        """
        plt = import_pyplot("WeightsDisplay.plot")
        weights = np.asarray(self.weights, dtype=float)
        if weights.ndim not in (3, 4) or weights.size == 0:
            raise ValueError(
                "weights must have shape (n_panels, height, width) or (n_panels, "
                f"height, width, channels); got {weights.shape}."
            )
        n_panels = len(weights)
        labels = self.display_labels
        if labels is None:
            labels = [str(i) for i in range(n_panels)]
        if len(labels) != n_panels:
            raise ValueError(
                f"display_labels has {len(labels)} entries for {n_panels} panels."
            )
        if ax is None:
            if ncols is None:
                ncols = min(n_panels, 5)
            if not isinstance(ncols, Integral) or ncols < 1:
                raise ValueError(f"ncols must be a positive int; got {ncols!r}.")
            nrows = ceil(n_panels / ncols)
            _, grid = plt.subplots(
                nrows,
                ncols,
                figsize=(2.0 * ncols + 1.2, 2.2 * nrows),
                squeeze=False,
                layout="constrained",
            )
            for extra in grid.ravel()[n_panels:]:
                extra.remove()
            axes = grid.ravel()[:n_panels]
        else:
            axes = np.ravel(np.asarray(ax, dtype=object))
            if len(axes) != n_panels:
                raise ValueError(
                    f"ax must hold one Axes per panel ({n_panels}); got {len(axes)}."
                )
        limit = float(np.abs(weights).max())
        if not np.isfinite(limit) or limit == 0:
            limit = 1.0  # all zero: any symmetric scale draws them white
        style = {"cmap": cmap, "vmin": -limit, "vmax": limit}
        style.update({"interpolation": "nearest"}, **(im_kw or {}))
        self.images_ = []
        for panel, image, label in zip(axes, weights, labels, strict=True):
            self.images_.append(panel.imshow(_side_by_side(image), **style))
            panel.set(title=str(label), xticks=[], yticks=[])
        self.axes_ = axes
        self.figure_ = axes[0].figure
        self.colorbar_ = None
        if colorbar:
            self.colorbar_ = self.figure_.colorbar(
                self.images_[0], ax=list(axes), label="weight (coef_)"
            )
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        *,
        image_shape: Sequence[int] | None = None,
        ax: Axes | Sequence[Axes] | np.ndarray | None = None,
        cmap: Any = "RdBu_r",
        colorbar: bool = True,
        ncols: int | None = None,
        im_kw: dict | None = None,
    ) -> WeightsDisplay:
        """Draw the weights of a fitted linear classifier as images.

        Parameters
        ----------
        estimator : GDLogisticRegression or Pipeline
            A fitted classifier with ``coef_``, or a ``Pipeline`` ending in
            one. If the ``Pipeline`` has an ``ImageFlattener`` step, its
            ``inverse_transform`` gives each row of ``coef_`` its image shape
            (the colours show the values of ``coef_``, the weights of the
            scaled pixels the classifier saw).
        image_shape : tuple of int or None, default=None
            ``(height, width)`` or ``(height, width, channels)`` of one
            image; its size must equal the number of features. Required
            without an ``ImageFlattener`` in ``estimator`` (or when it was
            fitted on flat rows); overrides it otherwise.
        ax : matplotlib Axes, array-like of Axes, or None, default=None
            One Axes per panel; ``None`` makes a new figure.
        cmap : str or matplotlib Colormap, default="RdBu_r"
            A diverging colour map.
        colorbar : bool, default=True
            Whether to add a colour bar.
        ncols : int or None, default=None
            Columns of the new figure's grid; ``None``: up to 5.
        im_kw : dict or None, default=None
            Keyword arguments passed to ``Axes.imshow``.

        Returns
        -------
        display : WeightsDisplay
            The display, drawn: one panel per class, titled with its label,
            or a single panel ``"<positive> vs <negative>"`` for two classes
            (``coef_`` then has one row, the weights towards ``classes_[1]``).
        """
        import_pyplot("WeightsDisplay.from_estimator")
        clf = fitted_classifier(estimator)
        coef = getattr(clf, "coef_", None)
        if coef is None:
            raise TypeError(
                f"estimator ({type(clf).__name__}) has no coef_; pass a fitted "
                "linear classifier such as GDLogisticRegression, or a Pipeline "
                "ending in one."
            )
        coef = np.atleast_2d(np.asarray(to_numpy(coef), dtype=float))  # a device's
        n_features = coef.shape[1]
        flattener = _image_flattener(estimator)
        if image_shape is not None:
            shape = _checked_shape(image_shape, n_features)
            weights = coef.reshape(len(coef), *shape)
        elif flattener is None:
            raise ValueError(
                "image_shape is required: estimator has no ImageFlattener step "
                "to give the shape of an image; pass e.g. image_shape=(8, 8)."
            )
        elif len(flattener.image_shape_) == 1:
            raise ValueError(
                "image_shape is required: the ImageFlattener was fitted on flat "
                f"rows (image_shape_={flattener.image_shape_}), so it does not "
                "know the shape of an image; pass e.g. image_shape=(8, 8)."
            )
        elif flattener.n_features_in_ != n_features:
            raise ValueError(
                f"estimator's coef_ has {n_features} features, but its "
                f"ImageFlattener makes {flattener.n_features_in_}: a step between "
                "them changes the features, so they are not pixels."
            )
        else:  # the flattener's inverse, without its scale: a pixel's weight
            weights = coef.reshape(len(coef), *flattener.image_shape_)
        classes = to_numpy(getattr(clf, "classes_", None))  # a device's: str
        if classes is None:
            labels = [str(i) for i in range(len(coef))]
        elif len(coef) == 1 and len(classes) == 2:
            labels = [f"{classes[1]} vs {classes[0]}"]
        else:
            labels = [str(label) for label in classes]
        display = cls(weights, display_labels=labels)
        return display.plot(
            ax=ax, cmap=cmap, colorbar=colorbar, ncols=ncols, im_kw=im_kw
        )


def _image_flattener(estimator: Any) -> ImageFlattener | None:
    """The last fitted ``ImageFlattener`` step of a ``Pipeline``, if any."""
    if not isinstance(estimator, Pipeline):
        return None
    for _, step in reversed(estimator.steps[:-1]):
        if isinstance(step, ImageFlattener):
            check_is_fitted(step)
            return step
    return None


def _checked_shape(image_shape: Any, n_features: int) -> tuple[int, ...]:
    try:
        shape = tuple(image_shape)
    except TypeError:
        shape = None
    if (
        shape is None
        or len(shape) not in (2, 3)
        or not all(isinstance(n, Integral) and n > 0 for n in shape)
    ):
        raise ValueError(
            "image_shape must be (height, width) or (height, width, channels), "
            f"positive ints; got {image_shape!r}."
        )
    if prod(shape) != n_features:
        raise ValueError(
            f"image_shape={shape} holds {prod(shape)} values, but coef_ has "
            f"{n_features} features per class."
        )
    return tuple(int(n) for n in shape)


def _side_by_side(image: np.ndarray) -> np.ndarray:
    """``(h, w)`` as is; ``(h, w, c)`` as its channels side by side, ``(h, c*w)``."""
    if image.ndim == 2:
        return image
    return np.concatenate([image[..., c] for c in range(image.shape[-1])], axis=1)
