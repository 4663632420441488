"""Seconds per iteration from whole fits, robust to a busy machine.

A fit of ``I`` iterations costs ``T(I) = setup + I * t``; the difference of
two fits cancels the setup (validation, the first evaluation, the final
test): ``t = (T(I_long) - T(I_short)) / (I_long - I_short)``. Each ``T`` is
the best of ``repeats`` (noise only ever adds time), and ``I_long`` is doubled
until the difference is at least half the short fit (at most ``2 **
(MAX_DOUBLINGS + 1)`` times, 128 I, past which the difference is used as it
is, if positive), so the setup's jitter cannot swamp it (``timeit``'s
autorange, applied to a difference).
"""

from __future__ import annotations

from collections.abc import Callable

MAX_DOUBLINGS = 6


def per_iteration(
    fit_seconds: Callable[[int], float], iterations: int, repeats: int
) -> tuple[float, int]:
    """``(t, I_long)``: seconds per iteration, and the longer fit's length.

    ``fit_seconds(n)`` times one fit of ``n`` iterations. The shorter fit has
    ``iterations`` iterations, the longer one ``2 * iterations`` or more.
    """
    if iterations < 1 or repeats < 1:
        raise ValueError(
            f"iterations and repeats must be >= 1, got {iterations} and {repeats}"
        )
    short = min(fit_seconds(iterations) for _ in range(repeats))
    long_iterations = 2 * iterations
    long = min(fit_seconds(long_iterations) for _ in range(repeats))
    for _ in range(MAX_DOUBLINGS):  # the longest fit: 2 ** (1 + MAX_DOUBLINGS) I
        if long - short >= 0.5 * short:
            break
        long_iterations *= 2
        long = min(fit_seconds(long_iterations) for _ in range(repeats))
    if long <= short:
        raise RuntimeError(
            f"a fit of {long_iterations} iterations took no longer than one of "
            f"{iterations} ({long:.4f} s against {short:.4f} s): the machine is "
            "too busy to measure; rerun it idle or with more --repeats"
        )
    return (long - short) / (long_iterations - iterations), long_iterations
