"""Tests for ImageFlattener: shapes, values, dtypes, errors and feature names."""

import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_gd_logreg import ImageFlattener


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def gray_images(rng):
    """Five 4x6 grayscale uint8 images."""
    return rng.integers(0, 256, size=(5, 4, 6), dtype=np.uint8)


@pytest.fixture
def color_images(rng):
    """Five 4x6 RGB uint8 images."""
    return rng.integers(0, 256, size=(5, 4, 6, 3), dtype=np.uint8)


@pytest.mark.parametrize("images", ["gray_images", "color_images"])
def test_transform_flattens_and_scales_images(images, request):
    X = request.getfixturevalue(images)
    flattener = ImageFlattener().fit(X)
    out = flattener.transform(X)

    assert flattener.image_shape_ == X.shape[1:]
    assert flattener.n_features_in_ == np.prod(X.shape[1:])
    assert out.shape == (5, np.prod(X.shape[1:]))
    assert out.dtype == np.float64
    # Independent reference: row-major flattening, then divide by 255.
    expected = np.stack([image.ravel() for image in X]).astype(np.float64) / 255
    assert_allclose(out, expected, rtol=1e-15, atol=0)


def test_flat_input_is_only_scaled(rng):
    X = rng.uniform(0, 10, size=(7, 4))
    flattener = ImageFlattener(scale=2.0).fit(X)

    assert flattener.image_shape_ == (4,)
    assert flattener.n_features_in_ == 4
    assert_allclose(flattener.transform(X), X / 2.0, rtol=1e-15, atol=0)


def test_list_input_is_accepted():
    X = [[0, 255], [51, 102]]
    assert_allclose(
        ImageFlattener().fit_transform(X), [[0.0, 1.0], [0.2, 0.4]], rtol=1e-15
    )


def test_uint8_to_float32(color_images):
    out = ImageFlattener(dtype=np.float32).fit(color_images).transform(color_images)

    assert out.dtype == np.float32
    expected = (color_images.reshape(5, -1) / 255).astype(np.float32)
    # float64 division rounded to float32 is the exactly rounded quotient.
    assert_array_equal(out, expected)


@pytest.mark.parametrize(
    "dtype", ["float32", "float64", np.dtype("float32"), np.dtype("float64")]
)
def test_dtype_accepts_string_names_and_dtypes(dtype, gray_images):
    """An np.dtype (e.g. another array's X.dtype) was refused as invalid."""
    out = ImageFlattener(dtype=dtype).fit_transform(gray_images)
    assert out.dtype == np.dtype(dtype)
    with pytest.raises(ValueError, match="dtype"):
        ImageFlattener(dtype=np.dtype("float16")).fit(gray_images)


def test_scale_none_keeps_values(gray_images):
    out = ImageFlattener(scale=None).fit_transform(gray_images)
    assert_array_equal(out, gray_images.reshape(5, -1).astype(np.float64))


def test_transform_does_not_modify_input(gray_images):
    before = gray_images.copy()
    ImageFlattener().fit_transform(gray_images)
    assert_array_equal(gray_images, before)


@pytest.mark.parametrize(("dtype", "rtol"), [(np.float64, 1e-15), (np.float32, 1e-6)])
def test_inverse_transform_round_trip(color_images, dtype, rtol):
    flattener = ImageFlattener(dtype=dtype).fit(color_images)
    back = flattener.inverse_transform(flattener.transform(color_images))

    assert back.shape == color_images.shape
    assert back.dtype == dtype
    assert_allclose(back, color_images, rtol=rtol, atol=0)


def test_inverse_transform_shows_a_coef_row_as_image(gray_images):
    flattener = ImageFlattener(scale=None).fit(gray_images)
    coef = np.arange(24.0).reshape(1, 24)
    image = flattener.inverse_transform(coef)[0]
    assert image.shape == (4, 6)
    assert image[1, 2] == 8.0  # row 1, column 2 is feature 1 * 6 + 2


def test_inverse_transform_wrong_width_raises(gray_images):
    flattener = ImageFlattener().fit(gray_images)
    msg = "X has 23 features, but ImageFlattener is expecting 24 features as input"
    with pytest.raises(ValueError, match=msg):
        flattener.inverse_transform(np.zeros((2, 23)))


def test_image_shape_mismatch_names_both_shapes(color_images):
    flattener = ImageFlattener().fit(color_images)
    msg = r"samples of shape \(6, 4, 3\).*fitted on samples of shape \(4, 6, 3\)"
    with pytest.raises(ValueError, match=msg):
        flattener.transform(np.zeros((2, 6, 4, 3), dtype=np.uint8))


def test_flat_width_mismatch_uses_sklearn_phrase(rng):
    flattener = ImageFlattener().fit(rng.uniform(size=(3, 4)))
    msg = (
        r"X has 5 features, but ImageFlattener is expecting 4 features as input"
        r".*shape \(5,\).*shape \(4,\)"
    )
    with pytest.raises(ValueError, match=msg):
        flattener.transform(rng.uniform(size=(3, 5)))


@pytest.mark.parametrize("method", ["fit", "transform"])
def test_1d_input_raises(method, gray_images):
    flattener = ImageFlattener().fit(gray_images)
    with pytest.raises(ValueError, match=r"got an array of shape \(6,\)"):
        getattr(flattener, method)(np.arange(6))


def test_ragged_list_raises():
    with pytest.raises(ValueError, match="inhomogeneous shape"):
        ImageFlattener().fit([[[0, 1], [2, 3]], [[0, 1]]])


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_input_raises(value):
    X = np.ones((2, 3, 3))
    X[1, 2, 0] = value
    with pytest.raises(ValueError, match=r"Input X contains (NaN|infinity)"):
        ImageFlattener().fit(X)


def test_complex_input_raises():
    with pytest.raises(ValueError, match="Complex data not supported"):
        ImageFlattener().fit(np.ones((2, 3, 3), dtype=complex))


def test_empty_input_raises():
    with pytest.raises(ValueError, match="0 sample"):
        ImageFlattener().fit(np.zeros((0, 4, 4)))
    with pytest.raises(ValueError, match=r"at least one value.*\(2, 0, 3\)"):
        ImageFlattener().fit(np.zeros((2, 0, 3)))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"scale": -255.0}, "'scale' parameter"),
        ({"scale": 0}, "'scale' parameter"),
        ({"dtype": np.int8}, "'dtype' parameter"),
        ({"dtype": "uint8"}, "'dtype' parameter"),
    ],
)
def test_invalid_parameters_raise(params, match, gray_images):
    with pytest.raises(InvalidParameterError, match=match):
        ImageFlattener(**params).fit(gray_images)


def test_not_fitted_raises(gray_images):
    with pytest.raises(NotFittedError):
        ImageFlattener().transform(gray_images)


def test_feature_names_for_color_images(color_images):
    names = ImageFlattener().fit(color_images).get_feature_names_out()
    assert len(names) == 4 * 6 * 3
    assert names[0] == "pixel_0_0_c0"
    assert names[1] == "pixel_0_0_c1"
    assert names[3] == "pixel_0_1_c0"
    assert names[3 * 6 * 3 + 5 * 3 + 2] == "pixel_3_5_c2"
    assert names[-1] == "pixel_3_5_c2"


def test_feature_names_for_gray_images(gray_images):
    names = ImageFlattener().fit(gray_images).get_feature_names_out()
    assert len(names) == 24
    assert names[1 * 6 + 2] == "pixel_1_2"


def test_feature_names_for_flat_input(rng):
    names = ImageFlattener().fit(rng.uniform(size=(3, 4))).get_feature_names_out()
    assert_array_equal(names, ["x0", "x1", "x2", "x3"])


def test_dataframe_feature_names_pass_through():
    import pandas as pd

    X = pd.DataFrame({"red": [0, 255], "green": [51, 0]})
    flattener = ImageFlattener().set_output(transform="pandas").fit(X)

    assert_array_equal(flattener.feature_names_in_, ["red", "green"])
    assert_array_equal(flattener.get_feature_names_out(), ["red", "green"])
    out = flattener.transform(X)
    assert list(out.columns) == ["red", "green"]
    assert_allclose(out.to_numpy(), [[0.0, 0.2], [1.0, 0.0]], rtol=1e-15)


def test_tags_follow_dtype():
    tags = ImageFlattener(dtype=np.float32).__sklearn_tags__()
    assert tags.transformer_tags.preserves_dtype == ["float32"]
    assert tags.input_tags.three_d_array
    assert not tags.input_tags.allow_nan


def test_uint8_to_float32_makes_no_float64_copy(rng):
    X = rng.integers(0, 256, size=(200, 64, 64, 3), dtype=np.uint8)
    flattener = ImageFlattener(dtype=np.float32).fit(X)

    tracemalloc.start()
    try:
        out = flattener.transform(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # A float64 intermediate would alone take 2 x out.nbytes.
    assert out.dtype == np.float32
    assert peak < 1.5 * out.nbytes


def test_inverse_transform_overflow_names_the_scale(gray_images):
    """float32 rows of 1e30 times a scale of 1e10: all inf, with only
    NumPy's RuntimeWarning (transform says so in its own words)."""
    flattener = ImageFlattener(scale=1e10, dtype=np.float32).fit(gray_images)
    rows = np.full((1, flattener.n_features_in_), 1e30, dtype=np.float32)
    with pytest.raises(ValueError, match=r"scale=10000000000.0\): X \* scale overf"):
        flattener.inverse_transform(rows)
    images = flattener.inverse_transform(rows.astype(np.float64))  # fits there
    assert np.isfinite(images).all()
