"""Saving and loading fitted models: pickle, joblib and skops."""

import pickle
import re
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
import sklearn
import sklearn.base
import skops.io as sio
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning, InconsistentVersionWarning
from sklearn.pipeline import Pipeline

from sklearn_gd_logreg import GDLogisticRegression, ImageFlattener

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def pipeline(digits):
    images, y = digits
    pipe = Pipeline(
        [
            ("flatten", ImageFlattener(scale=16.0, dtype=np.float32)),
            ("clf", GDLogisticRegression(max_iter=50, class_weight="balanced")),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return pipe.fit(images, y)


def assert_same_predictions(loaded, original, images):
    assert_array_equal(loaded.predict(images), original.predict(images))
    assert_array_equal(loaded.predict_proba(images), original.predict_proba(images))
    assert_array_equal(
        loaded.decision_function(images), original.decision_function(images)
    )


def test_pickle_round_trip(pipeline, digits):
    loaded = pickle.loads(pickle.dumps(pipeline))
    assert_same_predictions(loaded, pipeline, digits[0])
    assert_array_equal(loaded["clf"].coef_, pipeline["clf"].coef_)
    assert loaded["flatten"].image_shape_ == (8, 8)


def test_joblib_round_trip(pipeline, digits, tmp_path):
    path = tmp_path / "model.joblib"
    joblib.dump(pipeline, path, compress=3)
    assert_same_predictions(joblib.load(path), pipeline, digits[0])


def test_loading_under_another_scikit_learn_version_warns(
    pipeline, digits, monkeypatch
):
    # Pickles record scikit-learn's version (ours too, by SklearnVersionMixin);
    # pretend that the model was saved by scikit-learn 0.0.1.
    with monkeypatch.context() as patch:
        patch.setattr(sklearn.base, "__version__", "0.0.1")
        patch.setattr(sklearn, "__version__", "0.0.1")
        data = pickle.dumps(pipeline)
    with pytest.warns(InconsistentVersionWarning) as record:
        loaded = pickle.loads(data)
    messages = [str(w.message) for w in record]
    for name in ["GDLogisticRegression", "ImageFlattener", "Pipeline"]:
        assert any(
            name in m and "0.0.1" in m and sklearn.__version__ in m for m in messages
        ), messages
    assert_same_predictions(loaded, pipeline, digits[0])


def test_same_version_loads_without_warning(pipeline):
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        pickle.loads(pickle.dumps(pipeline))


def test_skops_round_trip_trusts_only_known_types(pipeline, digits, tmp_path):
    path = tmp_path / "model.skops"
    sio.dump(pipeline, path)
    untrusted = sio.get_untrusted_types(file=path)
    # Nothing beyond NumPy, scikit-learn and this package: nothing that can
    # run code of its own when the file is loaded.
    allowed = re.compile(r"^(numpy|sklearn|sklearn_gd_logreg)\.")
    assert all(allowed.match(t) for t in untrusted), untrusted
    # Only this package's estimators need the user's trust; the README lists
    # them for `trusted=`.
    assert set(untrusted) <= {
        "sklearn_gd_logreg._classifier.GDLogisticRegression",
        "sklearn_gd_logreg._image.ImageFlattener",
    }, untrusted
    loaded = sio.load(path, trusted=untrusted)
    assert_same_predictions(loaded, pipeline, digits[0])
    assert loaded["flatten"].dtype is np.float32


def test_skops_refuses_untrusted_types(pipeline, tmp_path):
    path = tmp_path / "model.skops"
    sio.dump(pipeline, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert untrusted  # so that the check below means something
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.load(path)


def test_readme_skops_recipe_runs(pipeline, digits, tmp_path, monkeypatch):
    # The README's "Saving and loading" recipe, in its own ```py block, run
    # against a model saved here.
    blocks = [
        block
        for block in re.findall(r"```py\n(.*?)```", README.read_text(), flags=re.S)
        if "get_untrusted_types" in block
    ]
    assert len(blocks) == 1, "the README has one ```py block with the skops recipe"
    monkeypatch.chdir(tmp_path)
    sio.dump(pipeline, "model.skops")
    namespace: dict = {}
    exec(compile(blocks[0], str(README), "exec"), namespace)
    assert_same_predictions(namespace["model"], pipeline, digits[0])
