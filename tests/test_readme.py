"""The README's Python code runs as written."""

import re
import warnings
from pathlib import Path

from sklearn.exceptions import ConvergenceWarning

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no Python example"
    namespace: dict = {}  # the blocks build on each other, as in a session
    for block in blocks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            exec(compile(block, str(README), "exec"), namespace)
    assert namespace["search"].score(namespace["X_test"], namespace["y_test"]) > 0.93
    assert "clf__learning_rate" in capsys.readouterr().out
    assert (namespace["fast"].coef_ == 0).any()
    assert (
        namespace["stream"].score(
            namespace["X_test"].reshape(-1, 64) / 16, namespace["y_test"]
        )
        > 0.9
    )
