"""Penalties: each owns its value, its proximal step and its optimality measure.

Every penalty here is ``l1 ||w||_1 + (l2 / 2) ||w||^2`` on the weights (never
the intercept). The smooth ``l2`` part is differentiated with the loss
(``alpha`` of :func:`sklearn_gd_logreg.core.propagate`); the ``l1`` part is
applied by its proximal step, :meth:`Penalty.prox`, so that solvers only
call ``penalty.prox(w, step)`` and ``penalty.optimality(w, dw, step)``, as in
skglm. The names and scaling follow scikit-learn's ``LogisticRegression``
with ``C = 1 / (alpha * n_samples)`` and ``SGDClassifier``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sklearn_gd_logreg._xp import is_numpy, namespace, sum_of_squares


class Penalty(NamedTuple):
    """``l1 ||w||_1 + (l2 / 2) ||w||^2``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gd_logreg._penalties import Penalty
    >>> p = Penalty(l1=1.0, l2=0.0)
    >>> p.prox(np.array([-2.0, 0.5, 3.0]), 1.0)  # soft-thresholding
    array([-1.,  0.,  2.])
    >>> p.value(np.array([-2.0, 0.5]))
    2.5
    """

    l1: float
    l2: float

    def value(self, w) -> float:
        """The whole penalty at ``w``."""
        return self.nonsmooth(w) + 0.5 * self.l2 * sum_of_squares(w)

    def nonsmooth(self, w, *, to_float: bool = True) -> float:
        """The part left to the proximal step, ``l1 ||w||_1`` (with
        ``to_float=False``, another library's stays a 0-d array on its
        device)."""
        if not self.l1:
            return 0.0
        if type(w) is np.ndarray:  # each iteration: no wrappers
            return self.l1 * float(np.abs(w).sum())
        xp = namespace(w)
        total = self.l1 * xp.sum(xp.abs(w))
        return float(total) if to_float or is_numpy(xp) else total

    def prox(self, w, step: float):
        """Proximal step of ``step * l1 ||w||_1``: each entry shrunk towards 0
        by ``step * l1``, ``sign(w) max(|w| - step l1, 0)`` (``w`` itself
        without L1)."""
        if not self.l1:
            return w
        xp = np if type(w) is np.ndarray else namespace(w)  # NumPy: no wrappers
        shrunk = xp.abs(w) - step * self.l1
        return xp.sign(w) * xp.where(shrunk > 0, shrunk, 0.0)

    def optimality(self, w, dw, step: float, *, to_float: bool = True) -> float:
        """How far ``w`` is from a minimum, 0 exactly there: the largest entry
        of the gradient mapping ``(w - prox(w - step dw, step)) / step``, which
        is ``|dw|`` without L1 (where ``dw`` itself does not vanish); with
        ``to_float=False``, another library's stays a 0-d array on its
        device."""
        if self.l1:
            dw = (w - self.prox(w - step * dw, step)) / step
        if type(dw) is np.ndarray:  # NumPy's, every iteration: 1 us, not 9
            return float(np.abs(dw).max()) if dw.size else 0.0
        xp = namespace(dw)
        dw = xp.asarray(dw)
        if not all(dw.shape):
            return 0.0
        largest = xp.max(xp.abs(dw))
        return float(largest) if to_float or is_numpy(xp) else largest


def make_penalty(name: str | None, alpha: float, l1_ratio: float) -> Penalty:
    """The penalty called ``name``, scaled by ``alpha``.

    Parameters
    ----------
    name : {"l2", "l1", "elasticnet"} or None
        ``"l2"``: ``alpha/2 ||w||^2``; ``"l1"``: ``alpha ||w||_1``;
        ``"elasticnet"``: ``alpha * (l1_ratio ||w||_1 + (1 - l1_ratio)/2
        ||w||^2)``; ``None``: no penalty (``alpha`` is ignored).
    alpha : float
        Overall strength.
    l1_ratio : float
        Share of L1 in ``"elasticnet"``, in ``[0, 1]``.

    Returns
    -------
    penalty : Penalty

    Examples
    --------
    >>> from sklearn_gd_logreg._penalties import make_penalty
    >>> make_penalty("elasticnet", 0.1, 0.25)
    Penalty(l1=0.025, l2=0.07500000000000001)
    """
    if name is None:
        return Penalty(0.0, 0.0)
    if name == "l2":
        return Penalty(0.0, alpha)
    if name == "l1":
        return Penalty(alpha, 0.0)
    if name == "elasticnet":
        return Penalty(alpha * l1_ratio, alpha * (1.0 - l1_ratio))
    raise ValueError(f"Unknown penalty {name!r}.")
