"""benchmarks/bench_speed.py runs (in --quick mode), so that it cannot rot.

Only that it runs and reports every problem is checked, never its times: the
test machine is shared and its timings are noise.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_speed.py"


pytestmark = pytest.mark.slow  # its own CI step: python -m pytest -m slow


def test_bench_speed_quick_runs_and_reports_everything(tmp_path):
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--repeats", "2", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    for problem in ["dense-f64", "dense-f32", "images", "digits", "sparse"]:
        assert f"| {problem} |" in run.stdout
    assert "float32 / float64" in run.stdout
    assert "slope" in run.stdout and "cores" in run.stdout
    report = json.loads(out.read_text())
    for result in report["results"]:
        for key in ("course_s", "ours_s", "floor_s"):
            assert np.isfinite(result[key]) and result[key] > 0
        assert result["memory"]["peak_extra_fraction"] >= 0
    dtypes = {r["problem"]: r["memory"]["coef_dtype"] for r in report["results"]}
    assert dtypes["dense-f32"] == "float32" and dtypes["dense-f64"] == "float64"
    assert len(report["scaling"]["seconds"]) == 4


def test_bench_dask_tiny_runs_and_reports_everything(tmp_path):
    pytest.importorskip("distributed")
    bench = BENCH.parent / "bench_dask.py"
    out = tmp_path / "dask.json"
    run = subprocess.run(
        [
            sys.executable,
            str(bench),
            "--size",
            "tiny",
            "--iterations",
            "4",
            "--repeats",
            "1",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    for row in [
        "in memory",
        "Dask, 2 workers",
        "Dask, 1 worker",
        "overhead",
        "scaling",
        "client peak RSS",
        "bytes per iteration",
        "bytes per fit outside the iterations",
    ]:
        assert row in run.stdout
    report = json.loads(out.read_text())
    for key in ("memory_s", "dask_2_workers_s", "dask_1_worker_s"):
        assert np.isfinite(report[key]) and report[key] > 0
    # Only w, b and the sums travel: O(chunks x features), not O(X).
    assert report["bytes_per_iteration_from_tasks"] < report["x_bytes"] / 100
    # Measured per extra iteration (the setup cancels), the median of three.
    assert report["worker_transfer_bytes_per_iteration"] < report["x_bytes"] / 100
    assert 0 <= report["worker_transfer_bytes_per_fit_setup"] < report["x_bytes"]


def test_bench_gpu_tiny_runs_on_the_cpu_and_reports_everything(tmp_path):
    pytest.importorskip("torch")
    bench = BENCH.parent / "bench_gpu.py"
    out = tmp_path / "gpu.json"
    run = subprocess.run(
        [
            sys.executable,
            str(bench),
            "--device",
            "cpu",
            "--size",
            "tiny",
            "--repeats",
            "1",
            "--threads",
            "1",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        # this checkout's package, even where another one is installed
        env={**os.environ, "PYTHONPATH": str(BENCH.parents[1])},
    )
    assert run.returncode == 0, run.stderr
    for row in ["one read of X", "gd s/iter", "nesterov to f*", "sklearn lbfgs"]:
        assert row in run.stdout
    assert "numpy compiled" in run.stdout and "read-backs" in run.stdout
    report = json.loads(out.read_text())
    for key in ("one_read_s", "nesterov_to_target_s", "lbfgs_s", "gd_s_per_iteration"):
        assert np.isfinite(report[key]) and report[key] > 0
    assert report["device"] == "cpu" and report["dtype"] == "float32"
    assert report["nesterov_gap"] <= 1e-4  # it reached f*(1 + 1e-4)
    # The stopping test and divergence check (and the line searches'
    # decisions): one read-back per 10 iterations or so, not per iteration.
    for solver in ("gd", "nesterov", "bb"):
        assert report["read_backs_per_iteration"][solver] <= 0.2, solver


def test_bench_sgd_tiny_runs_and_reports_everything(tmp_path):
    bench = BENCH.parent / "bench_sgd.py"
    out = tmp_path / "sgd.json"
    command = [sys.executable, str(bench), "--size", "tiny", "--repeats", "1"]
    run = subprocess.run(
        [*command, "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        # this checkout's package, whatever an editable install points to
        env={**os.environ, "PYTHONPATH": str(BENCH.parents[1])},
    )
    assert run.returncode == 0, run.stderr
    for row in ["2 classes", "7 classes", "text-like", "average=True", "fit (", "f*"]:
        assert row in run.stdout
    report = json.loads(out.read_text())
    assert len(report["epoch"]) == 5
    for result in report["epoch"]:
        for key in ("ours_s", "python_loop_s", "sgdclassifier_s", "ratio"):
            assert np.isfinite(result[key]) and result[key] > 0
    assert all(len(scores) == 5 for name, scores in report["streaming"].items()
               if name != "fit")  # fmt: skip
    assert {row["problem"] for row in report["averaging"]} and all(
        set(row) == {"problem", "plain", "averaged"} for row in report["averaging"]
    )
