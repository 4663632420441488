"""benchmarks/_timing.py's seconds per iteration, on fake clocks: the setup
cancels, the longer fit grows until it dominates, and what it reports is
what it measured."""

import runpy
from pathlib import Path

import pytest

TIMING = runpy.run_path(
    str(Path(__file__).resolve().parents[1] / "benchmarks" / "_timing.py")
)
per_iteration = TIMING["per_iteration"]


def recording(setup, per_iter, noise=()):
    """``fit_seconds`` of ``setup + n * per_iter`` (plus ``noise``, in turn),
    and the list of the ``n`` it was called with."""
    calls, noise = [], list(noise)

    def fit_seconds(n):
        calls.append(n)
        return setup + n * per_iter + (noise.pop(0) if noise else 0.0)

    return fit_seconds, calls


@pytest.mark.parametrize("setup", [0.0, 0.01, 1.0, 30.0])
def test_the_setup_cancels_and_the_longest_fit_is_the_one_reported(setup):
    fit_seconds, calls = recording(setup, 1e-4)
    t, longest = per_iteration(fit_seconds, 10, 2)
    assert t == pytest.approx(1e-4, rel=1e-9)
    assert longest == max(calls) and longest >= 20 and longest % 20 == 0
    if longest < 20 * 2**6:  # it stopped doubling once the iterations dominated
        assert longest * 1e-4 - 10e-4 >= 0.5 * (setup + 10e-4)


def test_the_best_of_the_repeats_is_taken():
    # noise only adds time: the first repeat of each length is slower
    fit_seconds, _ = recording(0.0, 1e-3, noise=[0.5, 0.0, 0.5, 0.0])
    t, longest = per_iteration(fit_seconds, 10, 2)
    assert longest == 20 and t == pytest.approx(1e-3, rel=1e-9)


def test_no_time_for_the_iterations_raises_instead_of_reporting_zero():
    with pytest.raises(RuntimeError, match="too busy to measure"):
        per_iteration(lambda n: 1.0, 4, 1)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="iterations and repeats must be >= 1"):
        per_iteration(lambda n: 1.0, 0, 1)
