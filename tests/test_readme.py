"""The README's Python code runs as written, without a warning."""

import importlib.util
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklearn_gd_logreg import _xp

README = Path(__file__).resolve().parents[1] / "README.md"
HAS_CALLBACKS = importlib.util.find_spec("sklearn.callback") is not None


BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
TORCH = [block for block in BLOCKS if "import torch" in block]


@pytest.mark.slow  # 3.5-4.5 s end to end (a Dask cluster among them): CI's slow step
def test_readme_python_blocks_run(capsys):
    """Every block in turn, as a user's session: the grid search, the L1 fit
    and the stream, the callbacks, the displays, the Dask cluster. Run in the
    slow step with the examples, for the main suite's 45 s budget."""
    assert BLOCKS, "the README has no Python example"
    namespace: dict = {}  # the blocks build on each other, as in a session
    for block in BLOCKS:
        if block in TORCH:  # the next test's
            continue
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


def _copies():
    """The docs pages that copy a README section: (page, title)."""
    docs = README.parent / "docs"
    for page in sorted(docs.rglob("*.md")):
        text = page.read_text()
        if text.startswith("<!-- The same text as the README section"):
            yield page, re.search(r"(?m)^# (.+)$", text).group(1)


@pytest.mark.parametrize(
    ("page", "title"), list(_copies()), ids=[page.name for page, _ in _copies()]
)
def test_docs_pages_copy_their_readme_section_word_for_word(page, title):
    """The Dask page kept last week's numbers after the README's changed."""
    sections = re.split(r"(?m)^(?=## )", README.read_text())
    (section,) = [s for s in sections if s.startswith(f"## {title}\n")]
    body = page.read_text().split("\n", 2)[2]  # after the comment, a blank line
    assert body == "# " + section[3:].rstrip("\n") + "\n"
