"""The examples run end to end, so they cannot rot."""

import runpy
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


pytestmark = pytest.mark.slow  # its own CI step: python -m pytest -m slow


def run_example(name, tmp_path):
    module = runpy.run_path(str(EXAMPLES / name))
    output = tmp_path / "plot.png"
    try:
        result = module["main"](["--output", str(output)])
    finally:
        import matplotlib.pyplot as plt

        plt.close("all")  # the examples leave their figures open for the gallery
    assert output.stat().st_size > 10_000
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return result


def test_plot_digits(tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # every fit meets tol
        accuracy = run_example("plot_digits.py", tmp_path)
    assert accuracy["ours"] > 0.95
    assert abs(accuracy["ours"] - accuracy["reference"]) < 0.03
    assert "best learning_rate" in capsys.readouterr().out


def test_plot_learning_rates(tmp_path):
    curves = run_example("plot_learning_rates.py", tmp_path)
    assert list(curves) == [0.5, 0.1, 0.01]
    final = [curve[-1] for curve in curves.values()]
    # The course's lesson: on this problem, the larger step gets further.
    assert final == sorted(final)
    assert all(np.all(np.diff(curve) <= 1e-12) for curve in curves.values())


def test_plot_dask(tmp_path, capsys):
    pytest.importorskip("distributed")
    result = run_example("plot_dask.py", tmp_path)
    assert result["coef_gap"] < 1e-8  # the same model as in memory
    assert result["accuracy"] > 0.85
    assert result["dask_s_per_iteration"] > 0 and result["memory_s_per_iteration"] > 0
    out = capsys.readouterr().out
    assert "time per iteration, Dask" in out and "in memory" in out
