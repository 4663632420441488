"""Rules for every test pytest collects here, the doctests of
``sklearn_gd_logreg/`` included (``tests/conftest.py`` holds the fixtures):
figures are drawn off screen (Agg)."""

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")  # figures drawn off screen


def pytest_collection_modifyitems(config, items):
    """Skip the examples of ``sklearn_gd_logreg.callbacks`` where scikit-learn
    has no callbacks (< 1.9): they call ``set_callbacks``. (Imported here, after
    collection: ``tests/conftest.py`` must run before SciPy is imported.)"""
    from sklearn_gd_logreg._callbacks import HAS_CALLBACKS

    if HAS_CALLBACKS:
        return
    skip = pytest.mark.skip(reason="callbacks need scikit-learn >= 1.9")
    for item in items:
        if item.nodeid.startswith("sklearn_gd_logreg/callbacks.py"):
            item.add_marker(skip)
