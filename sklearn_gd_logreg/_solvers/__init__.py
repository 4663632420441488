"""Solvers: variants of the course's ``optimize`` loop, swapped by name.

Each minimises a :class:`~sklearn_gd_logreg._problem.Problem`, ``F(w, b) =
f(w, b) + penalty.nonsmooth(w)``, from ``w, b``, and returns a
:class:`Result`. They only combine the problem's ``loss_and_grad`` and
``optimality`` with the penalty's ``prox``; one loop each:

- ``"gd"``: the course's gradient descent, :func:`sklearn_gd_logreg.core.optimize`
  itself, with the proximal step for L1. Unit of ``n_iter``: one gradient.
- ``"nesterov"``: accelerated proximal gradient (FISTA) with a backtracking
  line search and adaptive restart. Unit: one accepted step.
- ``"bb"``: proximal gradient descent with Barzilai-Borwein steps and a
  nonmonotone line search (SpaRSA). Unit: one accepted step.
- ``"sgd"``: proximal mini-batch stochastic gradient descent over shuffled
  batches, with a decaying step and optional averaging; its epochs
  (:mod:`._sgd_epochs`) run compiled. Unit: one epoch (one pass over the
  data).

A ``monitor`` (``None``: no call) has ``begin(name, w, b, n_subtasks=0)`` and
``end(w, b, cost, step, grads=None, data=None) -> bool``, called around each
iteration (each epoch, and in it each batch, of ``"sgd"``) with the iterate
reached, its cost, step and gradient; ``True`` stops there (``stopped``).

On another library's arrays (a GPU's), with no ``monitor``, no ``verbose``
and no validation set, no solver waits for the device at each iteration:
``"gd"`` reads its stopping test back once every ``SETTLE_EVERY``
iterations, and ``"nesterov"`` and ``"bb"`` decide their line searches on
the device (:mod:`._line_search_device`: the same arithmetic as their host
loops, so the same iterates), reading back once every ``SETTLE_EVERY``
iterations or so.
"""

from sklearn_gd_logreg._solvers._base import MEMORY, SETTLE_EVERY, Result
from sklearn_gd_logreg._solvers._gd import gd
from sklearn_gd_logreg._solvers._line_search import bb, nesterov
from sklearn_gd_logreg._solvers._sgd import sgd

__all__ = [
    "LINE_SEARCH",
    "MEMORY",
    "SETTLE_EVERY",
    "SOLVERS",
    "Result",
    "bb",
    "gd",
    "nesterov",
    "sgd",
]

SOLVERS = {"gd": gd, "nesterov": nesterov, "bb": bb, "sgd": sgd}
LINE_SEARCH = ("nesterov", "bb")  # the solvers whose step adapts: no divergence
