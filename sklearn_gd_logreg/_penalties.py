"""Penalties by name, as the strengths the core understands.

Every penalty here is ``l1 * ||w||_1 + (l2 / 2) * ||w||^2`` on the weights
(never the intercept): the smooth ``l2`` part goes into the gradient
(``alpha`` of :func:`sklearn_gd_logreg.core.propagate`), the ``l1`` part is
applied by its proximal step, :func:`sklearn_gd_logreg.core.soft_threshold`.
The names and scaling follow scikit-learn's ``LogisticRegression`` with
``C = 1 / (alpha * n_samples)`` and ``SGDClassifier``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Penalty(NamedTuple):
    """Strengths of the L1 and L2 parts of a penalty."""

    l1: float
    l2: float

    def l1_value(self, w) -> float:
        """The non-smooth part, ``l1 ||w||_1`` (the prox step's)."""
        return self.l1 * float(np.abs(w).sum()) if self.l1 else 0.0

    def value(self, w) -> float:
        """The whole penalty, ``l1 ||w||_1 + (l2 / 2) ||w||^2``."""
        return self.l1_value(w) + 0.5 * self.l2 * float(np.vdot(w, w))


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
