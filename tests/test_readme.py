"""The README's Python code runs as written."""

import re
import warnings
from pathlib import Path

import pytest
from sklearn.exceptions import ConvergenceWarning

from sklearn_gd_logreg import _xp

README = Path(__file__).resolve().parents[1] / "README.md"


BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
TORCH = [block for block in BLOCKS if "import torch" in block]


def test_readme_python_blocks_run(capsys):
    assert BLOCKS, "the README has no Python example"
    namespace: dict = {}  # the blocks build on each other, as in a session
    for block in BLOCKS:
        if block in TORCH:  # the next test's
            continue
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


def test_readme_torch_blocks_run_and_print_what_they_say(capsys):
    """The core on a torch tensor (torch: installed by .ci/run)."""
    pytest.importorskip("torch")
    if _xp.array_api_compat is None:
        pytest.skip("needs array-api-compat (scikit-learn >= 1.7 ships it)")
    assert TORCH
    for block in TORCH:
        exec(compile(block, str(README), "exec"), {})
        printed = capsys.readouterr().out.strip()
        for line in printed.splitlines():  # each line is the block's comment
            assert f"# {line}" in block
