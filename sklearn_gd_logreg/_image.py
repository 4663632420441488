"""``ImageFlattener``: image arrays in, feature rows out."""

from __future__ import annotations

from math import prod
from numbers import Real
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._array_api import _max_precision_float_dtype
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_array,
    check_is_fitted,
    validate_data,
)

from sklearn_gd_logreg._callbacks import CallbackSupportMixin, fit_root, with_callbacks
from sklearn_gd_logreg._dask_predict import dask_images, is_dask, lazy_transform
from sklearn_gd_logreg._versioning import SklearnVersionMixin
from sklearn_gd_logreg._xp import check_same_namespace, dispatched

__all__ = ["ImageFlattener"]


class ImageFlattener(
    CallbackSupportMixin, SklearnVersionMixin, TransformerMixin, BaseEstimator
):
    """Flatten images into feature rows and scale their pixel values.

    Turns ``(n_samples, height, width)`` or ``(n_samples, height, width,
    channels)`` images into ``(n_samples, height * width * channels)`` rows
    divided by ``scale``, as the course does with ``X.reshape(m, -1).T / 255``
    (here samples stay rows, the scikit-learn layout). Already flat
    ``(n_samples, n_features)`` input is only scaled.

    Parameters
    ----------
    scale : float or None, default=255.0
        Pixel values are divided by ``scale`` (255 maps 8-bit pixels to
        ``[0, 1]``). ``None`` leaves them unscaled. Must be positive.

    dtype : {np.float64, np.float32, "float64", "float32"}, default=np.float64
        Data type of the output (also as an ``np.dtype``, e.g. ``X.dtype``).
        ``np.float32`` halves its memory; a uint8 input is then cast and
        divided in one pass into a single float32 array, without a float64
        copy.

    Attributes
    ----------
    image_shape_ : tuple of int
        Shape of one sample seen in ``fit``: ``(height, width)``,
        ``(height, width, channels)``, or ``(n_features,)`` for flat input.

    n_features_in_ : int
        Number of values per sample, ``prod(image_shape_)``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of a DataFrame passed to ``fit``. Defined only when
        those names are all strings.

    See Also
    --------
    GDLogisticRegression : The classifier these rows are made for.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gd_logreg import ImageFlattener
    >>> images = np.array([[[0, 51], [102, 255]], [[255, 0], [0, 255]]], dtype=np.uint8)
    >>> flattener = ImageFlattener(dtype=np.float32).fit(images)
    >>> flattener.image_shape_
    (2, 2)
    >>> X = flattener.transform(images)
    >>> X
    array([[0. , 0.2, 0.4, 1. ],
           [1. , 0. , 0. , 1. ]], dtype=float32)
    >>> flattener.get_feature_names_out()
    array(['pixel_0_0', 'pixel_0_1', 'pixel_1_0', 'pixel_1_1'], dtype=object)
    >>> flattener.inverse_transform(X)[0]
    array([[  0.,  51.],
           [102., 255.]], dtype=float32)
    """

    _parameter_constraints: ClassVar[dict] = {
        "scale": [Interval(Real, 0, None, closed="neither"), None],
        "dtype": [
            Options(type, {np.float64, np.float32}),
            Options(np.dtype, {np.dtype(np.float64), np.dtype(np.float32)}),
            StrOptions({"float64", "float32"}),
        ],
    }

    def __init__(self, scale: float | None = 255.0, dtype=np.float64) -> None:
        self.scale = scale
        self.dtype = dtype

    @with_callbacks
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: ArrayLike, y: None = None) -> ImageFlattener:
        """Record the shape of one image.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width), \
                (n_samples, height, width, channels) or (n_samples, n_features)
            Training images (any real dtype, e.g. uint8), or flat rows.

        y : None
            Ignored.

        Returns
        -------
        self : ImageFlattener
            The fitted transformer.
        """
        self._check_scale()
        if not is_dask(X):  # a Dask array's shape is all fit needs from it
            X = self._validate_images(X, reset=True)
            xp, dev, _ = dispatched(X)
            # An empty array where X lies, so that under Array API dispatch
            # transform refuses another library's or device's X, as
            # scikit-learn's estimators do.
            dtype = _max_precision_float_dtype(xp, dev)
            self._fitted_on = xp.zeros(0, dtype=dtype, device=dev)
        else:  # its shape is all fit reads: nothing is computed
            X, self._fitted_on = dask_images(self, X, reset=True), None
        self.image_shape_ = tuple(X.shape[1:])
        self.n_features_in_ = prod(self.image_shape_)
        fit_root(self, X, y, {})  # callbacks: one task, no iterations
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Flatten each image to a row and divide it by ``scale``.

        Parameters
        ----------
        X : array-like of shape (n_samples, `*image_shape_`)
            Images of the shape seen in ``fit``.

        Returns
        -------
        X_flat : ndarray of shape (n_samples, `n_features_in_`)
            One row per image, in ``dtype``. For a Dask ``X`` (an array, or a
            DataFrame of flat rows, its column names checked and its
            partitions counted first), a lazy Dask array chunked like it
            along the samples, each chunk flattened on a worker. Under Array
            API dispatch, an array of ``X``'s library on its device (float32
            where the device has no float64).
        """
        if is_dask(X):  # lazily, chunk by chunk on the workers
            self._check_scale()
            return lazy_transform(self, X)
        check_is_fitted(self)
        self._check_scale()
        self._check_namespace(X, "transform")
        X = self._validate_images(X, reset=False)
        if X.shape[1:] != self.image_shape_:
            n_features = prod(X.shape[1:])
            message = (
                f"X has samples of shape {X.shape[1:]}, but ImageFlattener was "
                f"fitted on samples of shape {self.image_shape_}."
            )
            if n_features != self.n_features_in_:
                message = (
                    f"X has {n_features} features, but ImageFlattener is expecting "
                    f"{self.n_features_in_} features as input. {message}"
                )
            raise ValueError(message)
        xp, dev, other = dispatched(X)
        if other:  # in X's library, on its device
            return self._transform_on_device(xp, dev, X)
        flat = X.reshape(len(X), -1)
        out = np.empty(flat.shape, dtype=self.dtype)
        # Cast and divide in one buffered pass: no full-size intermediate copy.
        # dtype= makes the division run in the wider of the input's and the
        # output's dtypes (not in float16 for float16 images; not in float32
        # for float64 values beyond float32's range, which scale brings in).
        wide = np.result_type(flat.dtype, out.dtype)
        with np.errstate(all="ignore"):  # checked below, where it can happen
            np.divide(flat, self._scale, out=out, dtype=wide, casting="unsafe")
        if _may_overflow(flat.dtype, out.dtype, self._scale) and not np.all(
            np.isfinite(out)
        ):
            raise ValueError(
                f"ImageFlattener(scale={self.scale!r}, dtype="
                f"{np.dtype(self.dtype).name}): X / scale overflows "
                f"{out.dtype.name} (largest |X| = {_largest(flat):.3g}). "
                + (
                    "Use a larger scale."
                    if out.dtype == np.float64
                    else "Use a larger scale, or dtype=np.float64."
                )
            )
        return out

    def inverse_transform(self, X: ArrayLike) -> np.ndarray:
        """Turn rows back into images, multiplied back by ``scale``.

        Useful to show a row of a linear model's ``coef_`` as an image.

        Parameters
        ----------
        X : array-like of shape (n_samples, `n_features_in_`)
            Rows as returned by ``transform``.

        Returns
        -------
        images : ndarray of shape (n_samples, `*image_shape_`)
            Floating-point images.
        """
        check_is_fitted(self)
        self._check_namespace(X, "inverse_transform")
        xp = dispatched(X)[0]
        X = check_array(X, dtype=[xp.float64, xp.float32])
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but ImageFlattener is expecting "
                f"{self.n_features_in_} features as input."
            )
        with np.errstate(over="ignore"):  # checked below, where it can happen
            images = xp.reshape(X, (X.shape[0], *self.image_shape_)) * self._scale
        overflowed = self._scale > 1 and not bool(xp.all(xp.isfinite(images)))
        if overflowed and bool(xp.all(xp.isfinite(X))):  # not from the rows
            raise ValueError(
                f"ImageFlattener(scale={self.scale!r}): X * scale overflows "
                f"{_numpy_dtype(X.dtype).name} (largest |X| = "
                f"{float(xp.max(xp.abs(X))):.3g}); pass float64 rows."
            )
        return images

    def _check_namespace(self, X, method: str) -> None:
        """scikit-learn's error for an ``X`` of another library or device
        than ``fit``'s, under Array API dispatch."""
        if getattr(self, "_fitted_on", None) is not None:  # not on Dask
            check_same_namespace(X, self, attribute="_fitted_on", method=method)

    def _transform_on_device(self, xp, dev, X):
        """``transform``'s cast and division, in ``X``'s library on its
        device; float32 where the device has no float64."""
        dtype = getattr(xp, np.dtype(self.dtype).name)
        if _max_precision_float_dtype(xp, dev) == xp.float32:
            dtype = xp.float32
            self._check_scale(np.float32)
        flat = xp.reshape(X, (X.shape[0], -1))
        if xp.isdtype(X.dtype, "real floating"):  # divided in the wider dtype
            wide = xp.astype(flat, xp.result_type(X.dtype, dtype), copy=False)
            out = xp.astype(wide / self._scale, dtype, copy=False)
        else:  # integers, booleans: cast first
            out = xp.astype(flat, dtype) / self._scale
        may = X.dtype == xp.bool or _may_overflow(
            _numpy_dtype(X.dtype), np.dtype(_numpy_dtype(dtype)), self._scale
        )
        if may and not bool(xp.all(xp.isfinite(out))):
            raise ValueError(
                f"ImageFlattener(scale={self.scale!r}, dtype="
                f"{np.dtype(self.dtype).name}): X / scale overflows "
                f"{_numpy_dtype(dtype)} (largest |X| = "
                f"{float(xp.max(xp.abs(xp.astype(X, xp.float32)))):.3g}). "
                "Use a larger scale."
            )
        return out

    def get_feature_names_out(self, input_features: ArrayLike | None = None):
        """Name each output column after its pixel.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Names of the input columns (``n_features_in_`` of them), which
            then pass through. By default ``feature_names_in_`` if defined,
            else ``x0, x1, ...`` for flat input and the pixels' names below
            for images.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``pixel_{row}_{col}`` for ``(height, width)`` images,
            ``pixel_{row}_{col}_c{channel}`` for ``(height, width, channels)``.
        """
        check_is_fitted(self)
        flat = len(self.image_shape_) == 1
        names = _check_feature_names_in(self, input_features, generate_names=flat)
        if names is not None:
            return names
        return np.asarray(
            [
                f"pixel_{row}_{col}" + "".join(f"_c{c}" for c in channel)
                for row, col, *channel in np.ndindex(self.image_shape_)
            ],
            dtype=object,
        )

    @property
    def _scale(self) -> float:
        return 1.0 if self.scale is None else float(self.scale)  # np.float32's

    def _check_scale(self, dtype=None) -> None:
        """Refuse a ``scale`` that ``dtype`` (the output's: ``self.dtype``, or
        the float32 a device falls back to) rounds to infinity (every pixel
        would become 0)."""
        dtype = np.dtype(self.dtype if dtype is None else dtype)
        if self._scale > float(np.finfo(dtype).max):
            raise ValueError(
                f"ImageFlattener(scale={self.scale!r}, dtype={dtype.name}): scale "
                f"is larger than the largest {dtype.name} "
                f"({float(np.finfo(dtype).max):.3g}), so X / scale would be 0 "
                "for every pixel. Use a smaller scale, or dtype=np.float64."
            )

    def _validate_images(self, X, reset: bool) -> np.ndarray:
        # ensure_2d=False lets validate_data accept images and skip its own
        # n_features check, which counts only X.shape[1]; it still checks
        # DataFrame feature names, dtype, finiteness and empty input.
        X = validate_data(
            self, X, reset=reset, ensure_2d=False, allow_nd=True, dtype="numeric"
        )
        if X.ndim not in (2, 3, 4) or prod(X.shape) == 0:
            raise ValueError(
                "X must be a 2-D (n_samples, n_features), 3-D (n_samples, height, "
                "width) or 4-D (n_samples, height, width, channels) array with at "
                f"least one value per sample; got an array of shape {X.shape}. "
                "Reshape your data, e.g. X.reshape(-1, 1) if it holds a single "
                "feature or X.reshape(1, -1) if it is a single sample."
            )
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = [np.dtype(self.dtype).name]
        tags.array_api_support = True
        return tags


def _largest(flat) -> float:
    """``max |x|``, exact for the most negative integers (``np.abs`` of an
    int8's -128 is -128) and for values beyond float64 (a longdouble's)."""
    return np.max(np.abs(flat.astype(np.result_type(flat.dtype, np.float64))))


def _may_overflow(in_dtype, out_dtype, scale: float) -> bool:
    """Whether ``X / scale`` may exceed the largest value of ``out_dtype``:
    only when ``scale < 1`` or when ``X``'s type holds larger values."""
    info = np.finfo if in_dtype.kind == "f" else np.iinfo
    largest = float(info(in_dtype).max) if in_dtype.kind in "fiu" else np.inf
    return scale < 1 or largest > float(np.finfo(out_dtype).max)


def _numpy_dtype(dtype) -> np.dtype:
    """NumPy's dtype of the same name as another library's ``dtype``."""
    return np.dtype(getattr(dtype, "name", str(dtype).rsplit(".", 1)[-1]))
