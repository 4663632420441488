"""The install without a C compiler stops and says what is missing."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # a pip build (fetches Cython): its own CI step


def test_install_without_a_compiler_says_what_is_missing(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source)
    shutil.copytree(
        ROOT / "sklearn_gd_logreg",
        source / "sklearn_gd_logreg",
        ignore=shutil.ignore_patterns("*.so", "*.c", "__pycache__"),
    )
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", tmp_path, source],
        env={**os.environ, "CC": str(tmp_path / "no-such-compiler")},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "needs a C compiler with OpenMP" in output, output[-3000:]
    assert "no-such-compiler" in output
    assert not list(tmp_path.glob("*.whl"))
