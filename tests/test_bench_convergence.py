"""benchmarks/bench_convergence.py runs (--quick), so it cannot rot."""

import runpy
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_convergence.py"


pytestmark = pytest.mark.slow  # its own CI step: python -m pytest -m slow


def test_bench_convergence_quick(capsys):
    rows = runpy.run_path(str(BENCH))["main"](["--quick"])
    out = capsys.readouterr().out
    assert "nesterov at most lbfgs's time on" in out
    assert "bb at most lbfgs's time on" in out
    # lbfgs is timed with BLAS's default threads and with one, per problem
    section = out.split("lbfgs s, BLAS threads:")[1].splitlines()[1:]
    timed = {line[:26].strip() for line in section if len(line.split()) >= 4}
    assert {row[0] for row in rows} <= timed
    problems = {row[0] for row in rows}
    assert len(problems) == 8 and len(rows) == 32
    assert {row[2] for row in rows} == {"gd", "nesterov", "bb", "sgd"}
    # Iterations are counted, not timed, in --quick: these are deterministic.
    reached = {(row[0], row[2]): row[3] for row in rows if row[3] is not None}
    assert ("breast cancer (std.)", "nesterov") in reached
    assert ("digits, is it a 1", "nesterov") in reached
    assert ("breast cancer (std.)", "bb") in reached
    assert ("digits, is it a 1", "bb") in reached
