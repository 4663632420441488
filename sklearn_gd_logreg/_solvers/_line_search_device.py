"""``"nesterov"`` and ``"bb"`` on another library's arrays (a GPU's), when
nothing watches each iteration: their line searches decided on the device.

The host loops (:mod:`._line_search`) read a handful of scalars back per
trial step, to accept or refuse it in Python. Here each round of the loop
computes one gradient (a trial step, or for ``"nesterov"`` the gradient at
its extrapolated point), and every decision is a 0-d array combined with
``xp.where``: the acceptance test, the refused-step rule
(:func:`~._base.shorter_on_device`), the momentum and its restart, the BB
step and the nonmonotone reference. The iterate moves only in a round that
accepts its trial. Each round's scalars wait in a :class:`~._base.Pending`
and are read back together, once every ``SETTLE_EVERY`` iterations' worth
of rounds (sooner where ``max_iter`` may be reached: no round is computed
past the host loop's end); the host then runs the host loop's tests on
them, in its order (the line search's divergence, ``max_iter`` in accepted
steps, ``optimality <= tol``), and returns the iterate where the host loop
stops. The arithmetic is the host loop's, written line for line (its
floats are 0-d float64 arrays, cast to the data's dtype where they scale
an array, as NumPy casts a Python float), so the iterates are the same:
only the timing of the read-backs differs (and, on torch's CPU, whose
``sqrt`` may differ from ``math.sqrt`` in the last bit, FISTA's momentum).
No host number is put on the device in the loop: a GPU waits for those too.
"""

from __future__ import annotations

import math

from sklearn_gd_logreg._divergence import check_finite, diverged
from sklearn_gd_logreg._problem import Problem
from sklearn_gd_logreg._solvers._base import (
    GROWTH,
    MEMORY,
    SETTLE_EVERY,
    SIGMA,
    TRIALS,
    Pending,
    Result,
    finish,
    shorter_on_device,
)
from sklearn_gd_logreg._xp import device, is_array, namespace, widest_float


class _Rounds:
    """The rounds of a line search on a device, and the host loop's tests
    run on them once read back.

    Each round adds a row of 0-d arrays: ``accepted`` (its trial was),
    ``ready`` (the next iteration's start is known: its stopping test is in
    the row), ``F_new`` (the accepted trial's objective), ``optimality``
    and ``F`` (the stopping test's measure and objective at that start),
    ``step`` (the next trial step, 0 after an underflow), ``accepted_step``
    and ``refusals`` (trials refused in this line search so far).
    """

    def __init__(self, w, learning_rate, max_iter, tol, rounds_per_iteration=1):
        self.xp, self.device = namespace(w), device(w)
        self.dtype = w.dtype
        self.scalar_dtype = widest_float(self.xp, self.device)
        self.max_step = float(self.xp.finfo(self.scalar_dtype).max) / GROWTH
        self.learning_rate, self.max_iter, self.tol = learning_rate, max_iter, tol
        self.settle_every = SETTLE_EVERY * rounds_per_iteration  # rounds
        self.pending = Pending(self.xp, self.device)
        self.k = 0  # accepted steps read back
        self.curve: list[float] = []

    def scalar(self, v):
        """``v`` (a float, or a 0-d array of any dtype) as a scalar array."""
        xp = self.xp
        if is_array(v):
            return xp.astype(v, self.scalar_dtype)
        return xp.asarray(v, dtype=self.scalar_dtype, device=self.device)

    def objective(self, f, penalty, w):
        """``F = f + penalty.nonsmooth(w)``, a scalar array (without L1, the
        0.0 is added as a Python float: a host number put on the device
        would wait for it)."""
        nonsmooth = penalty.nonsmooth(w, to_float=False)
        return self.scalar(f) + (self.scalar(nonsmooth) if is_array(nonsmooth) else 0.0)

    def cast(self, s):
        """A scalar array in the data's dtype, to scale an array as NumPy
        scales it by a Python float."""
        return self.xp.astype(s, self.dtype)

    def dot(self, *pairs):
        """The host loops' ``dots``: the sum of the pairs' inner products,
        each summed in the data's dtype and added as floats."""
        xp = self.xp
        total = None
        for a, b in pairs:
            part = self.scalar(xp.sum(xp.asarray(a * b, device=self.device)))
            total = part if total is None else total + part
        return total

    def add(self, iterate, **row) -> bool:
        """Keep a round; ``True`` when its scalars are due to be read."""
        names = ("accepted", "ready", "F_new", "optimality", "F", "step")
        names += ("accepted_step", "refusals")
        self.pending.add(tuple(self.scalar(row[name]) for name in names), iterate)
        due = self.max_iter - self.k  # a round accepts at most one step
        return len(self.pending.iterates) >= min(self.settle_every, due)

    def settle(self):
        """Read the pending rounds back and run the host loop's tests in
        order: ``None`` to go on, else ``(converged, row, iterate)`` of the
        round where the host loop stops (``converged``: by ``tol`` at its
        start, else ``max_iter`` ended at its accepted step)."""
        iterates = self.pending.iterates
        self.pending.iterates = []
        for row, iterate in zip(self.pending.read(), iterates, strict=True):
            accepted, ready, F_new, optimality, F, step, _, refusals = row
            if accepted:
                self.k += 1
                self.curve.append(F_new)
                if self.k == self.max_iter:
                    return False, row, iterate
            elif not ready and (step == 0.0 or refusals >= TRIALS):
                diverged(self.learning_rate, self.k, "the line search found no step")
            if ready and optimality <= self.tol:
                self.curve.append(F)  # an iteration that takes no step
                return True, row, iterate
        return None


def _as_array(b, rounds):
    """The intercept as an array (a binary fit starts from the float 0.0)."""
    if is_array(b):
        return b
    return rounds.xp.asarray(b, dtype=rounds.dtype, device=rounds.device)


def nesterov_on_device(
    problem: Problem, w, b, *, learning_rate, max_iter, tol, growth=GROWTH
) -> Result:
    """:func:`~._line_search.nesterov` with its line search decided on the
    device. A round evaluates the gradient at a trial step from ``y``, or,
    after a step accepted with momentum, at the new extrapolated ``y``."""
    # An iteration takes up to two rounds: a trial, and the gradient at y.
    rounds = _Rounds(w, learning_rate, max_iter, tol, rounds_per_iteration=2)
    xp, scalar, cast, dot = rounds.xp, rounds.scalar, rounds.cast, rounds.dot
    penalty, where = problem.penalty, xp.where
    lr, max_step = scalar(learning_rate), scalar(rounds.max_step)
    b = _as_array(b, rounds)
    x_w, x_b = y_w, y_b = w, b
    f_y, g_y = problem.loss_and_grad(y_w, y_b, to_float=False)
    check_finite(f_y, learning_rate, 0)  # one read-back per fit
    f_y = scalar(f_y)
    F_x = F_y = rounds.objective(f_y, penalty, y_w)
    zero, one = scalar(0.0), scalar(1.0)
    accepted_step, t, refusals = lr, one, zero
    previous_step, step = accepted_step, xp.minimum(accepted_step * growth, max_step)
    need_y = zero > 0  # False: the next round is a trial
    optimality = problem.optimality(
        y_w, g_y, cast(xp.minimum(accepted_step, lr)), to_float=False
    )
    due = rounds.add(
        (x_w, x_b, g_y, y_w, y_b),
        accepted=need_y,
        ready=~need_y,
        F_new=F_y,
        optimality=optimality,
        F=F_y,
        step=step,
        accepted_step=accepted_step,
        refusals=refusals,
    )
    while True:
        if due and (stop := rounds.settle()) is not None:
            break
        s = cast(step)
        trial_w = penalty.prox(y_w - s * g_y["dw"], s)
        trial_b = y_b - s * g_y["db"]  # db is 0 without an intercept
        new_w, new_b = where(need_y, y_w, trial_w), where(need_y, y_b, trial_b)
        f_new, g_new = problem.loss_and_grad(new_w, new_b, to_float=False)
        f_new = scalar(f_new)
        d_w, d_b = new_w - y_w, new_b - y_b
        curvature = dot((g_new["dw"] - g_y["dw"], d_w), (g_new["db"] - g_y["db"], d_b))
        squared = dot((d_w, d_w), (d_b, d_b))
        finite = xp.isfinite(f_new + squared + curvature)
        passed = finite & (curvature <= squared / (2 * step))
        accepted, refused = ~need_y & passed, ~need_y & ~passed
        # What the host loop does after an accepted step: its momentum.
        F_new = rounds.objective(f_new, penalty, new_w)
        disagree = dot((y_w - new_w, new_w - x_w), (y_b - new_b, new_b - x_b))
        t_next = (1.0 + xp.sqrt(1.0 + 4.0 * t * t * previous_step / step)) / 2
        restart = (F_new > F_x) | (disagree > 0) | (t_next == math.inf)
        beta = (t - 1.0) / t_next
        momentum = accepted & ~restart
        t = where(accepted, where(restart, one, t_next), t)
        y_w = where(
            accepted, where(restart, new_w, new_w + cast(beta) * (new_w - x_w)), y_w
        )
        y_b = where(
            accepted, where(restart, new_b, new_b + cast(beta) * (new_b - x_b)), y_b
        )
        x_w, x_b = where(accepted, new_w, x_w), where(accepted, new_b, x_b)
        F_x = where(accepted, F_new, F_x)
        # y's gradient is new's, unless momentum moved y (beta != 0): then
        # the next round computes it, and the next trial follows.
        ready = need_y | (accepted & ~(momentum & (beta != 0.0)))
        need_y = momentum & (beta != 0.0)
        f_y = where(ready, f_new, f_y)
        g_y = {key: where(ready, g_new[key], g_y[key]) for key in ("dw", "db")}
        accepted_step = where(accepted, step, accepted_step)
        refusals = where(refused, refusals + 1.0, where(accepted, zero, refusals))
        step = where(
            ready,
            xp.minimum(accepted_step * growth, max_step),
            where(
                refused, shorter_on_device(xp, step, finite, squared, curvature), step
            ),
        )
        previous_step = where(ready, accepted_step, previous_step)
        F_y = rounds.objective(f_y, penalty, y_w)
        optimality = problem.optimality(
            y_w, g_y, cast(xp.minimum(accepted_step, lr)), to_float=False
        )
        due = rounds.add(
            (x_w, x_b, g_new, y_w, y_b),
            accepted=accepted,
            ready=ready,
            F_new=F_new,
            optimality=optimality,
            F=F_y,
            step=step,
            accepted_step=accepted_step,
            refusals=refusals,
        )
    converged, row, (x_w, x_b, g_new, y_w, y_b) = stop
    accepted_step = row[6]
    if converged:  # at y, the start of an iteration
        return finish(y_w, y_b, rounds.curve, True, accepted_step, None, False)
    # max_iter ended it: is the last iterate, whose gradient we have, done?
    optimality = problem.optimality(x_w, g_new, min(accepted_step, learning_rate))
    converged = optimality <= tol
    return finish(
        x_w, x_b, rounds.curve, converged, accepted_step, None, False, optimality
    )


def bb_on_device(problem: Problem, w, b, *, learning_rate, max_iter, tol) -> Result:
    """:func:`~._line_search.bb` with its line search decided on the device:
    a round evaluates one trial step; the last ``MEMORY`` objectives are an
    array, ``-inf`` where none was recorded yet."""
    rounds = _Rounds(w, learning_rate, max_iter, tol)
    xp, scalar, cast, dot = rounds.xp, rounds.scalar, rounds.cast, rounds.dot
    penalty, where = problem.penalty, xp.where
    lr, max_step = scalar(learning_rate), scalar(rounds.max_step)
    b = _as_array(b, rounds)
    f, g = problem.loss_and_grad(w, b, to_float=False)
    check_finite(f, learning_rate, 0)  # one read-back per fit
    F = rounds.objective(f, penalty, w)
    recent = xp.concat(
        [
            xp.full((MEMORY - 1,), -math.inf, dtype=F.dtype, device=rounds.device),
            xp.reshape(F, (1,)),
        ]
    )
    step = accepted_step = lr
    zero = scalar(0.0)
    refusals, odd = zero, zero > 0  # odd: k % 2, of the step being tried
    optimality = problem.optimality(w, g, cast(xp.minimum(step, lr)), to_float=False)
    due = rounds.add(
        (w, b),
        accepted=odd,
        ready=~odd,
        F_new=F,
        optimality=optimality,
        F=F,
        step=step,
        accepted_step=accepted_step,
        refusals=refusals,
    )
    while True:
        if due and (stop := rounds.settle()) is not None:
            break
        highest = xp.max(recent)
        s = cast(step)
        new_w = penalty.prox(w - s * g["dw"], s)
        new_b = b - s * g["db"]  # db is 0 without an intercept
        f_new, g_new = problem.loss_and_grad(new_w, new_b, to_float=False)
        F_new = rounds.objective(f_new, penalty, new_w)
        d_w, d_b = new_w - w, new_b - b
        r_w, r_b = g_new["dw"] - g["dw"], g_new["db"] - g["db"]
        curvature = dot((r_w, d_w), (r_b, d_b))
        squared = dot((d_w, d_w), (d_b, d_b))
        gradient_change = dot((r_w, r_w), (r_b, r_b))
        finite = xp.isfinite(F_new + squared + curvature)
        accepted = finite & (
            (F_new <= highest - SIGMA * squared / (2 * step))
            | (curvature <= squared / (2 * step))
        )
        # The next step: BB1, BB2 in turn where curvature was seen, else a
        # longer one; or, if refused, a shorter one.
        bb_step = where(odd, squared / curvature, curvature / gradient_change)
        seen = (curvature > 0.0) & (squared > 0.0)
        usable = seen & (bb_step > 0.0) & (bb_step < math.inf)
        next_step = where(
            usable, xp.minimum(bb_step, max_step), xp.minimum(step * GROWTH, max_step)
        )
        shorter = shorter_on_device(xp, step, finite, squared, curvature)
        accepted_step = where(accepted, step, accepted_step)
        step = where(accepted, next_step, shorter)
        refusals = where(accepted, zero, refusals + 1.0)
        odd = odd ^ accepted
        recent = where(
            accepted, xp.concat([recent[1:], xp.reshape(F_new, (1,))]), recent
        )
        w, b = where(accepted, new_w, w), where(accepted, new_b, b)
        g = {key: where(accepted, g_new[key], g[key]) for key in ("dw", "db")}
        optimality = problem.optimality(
            w, g, cast(xp.minimum(step, lr)), to_float=False
        )
        due = rounds.add(
            (w, b),
            accepted=accepted,
            ready=accepted,
            F_new=F_new,
            optimality=optimality,
            F=F_new,
            step=step,
            accepted_step=accepted_step,
            refusals=refusals,
        )
    converged, row, (w, b) = stop
    optimality, accepted_step = row[3], row[6]
    converged = converged or optimality <= tol  # max_iter: is the last one done?
    return finish(w, b, rounds.curve, converged, accepted_step, None, False, optimality)
