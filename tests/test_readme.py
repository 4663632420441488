"""The README's Python code runs as written, without a warning."""

import importlib.util
import re
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

README = Path(__file__).resolve().parents[1] / "README.md"
HAS_CALLBACKS = importlib.util.find_spec("sklearn.callback") is not None


def test_readme_python_blocks_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no Python example"
    namespace: dict = {}  # the blocks build on each other, as in a session
    for block in blocks:
        if "sklearn.callback" in block and not HAS_CALLBACKS:
            continue  # the README says callbacks need scikit-learn >= 1.9
        with warnings.catch_warnings():
            # every fit of the quick start meets tol
            warnings.simplefilter("error", ConvergenceWarning)
            exec(compile(block, str(README), "exec"), namespace)
    assert namespace["search"].score(namespace["X_test"], namespace["y_test"]) > 0.93
    out = capsys.readouterr().out
    assert "clf__alpha" in out
    assert (namespace["fast"].coef_ == 0).any()
    assert (
        namespace["stream"].score(
            namespace["X_test"].reshape(-1, 64) / 16, namespace["y_test"]
        )
        > 0.9
    )
    if HAS_CALLBACKS:
        watched, history = namespace["watched"], namespace["recorder"].history_
        assert "GDLogisticRegression - fit" in out and "100%" in out
        assert len(history["cost"]) == watched.n_iter_ < watched.max_iter
        assert np.array_equal(history["cost"], watched.loss_curve_)
