"""Step-size rules for gradient descent.

``'auto'`` is ``1 / L`` with ``L`` the Lipschitz constant of the gradient of
the objective of :func:`sklearn_gd_logreg.core.propagate`. With
``X1 = [X; 1]`` (the intercept as a feature of ones when it is fitted) and
``S`` the sum of the sample weights ``s``, the Hessian of the mean log-loss is
bounded by::

    c * X1 diag(s) X1.T / S  +  alpha I

with ``c = 1/4`` for the sigmoid (``a (1 - a) <= 1/4``) and ``c = 1/2`` for
the softmax (Böhning's bound ``(I - 11^T/K) / 2``). Its largest eigenvalue is
estimated by power iteration; the estimate approaches ``L`` from below and
gradient descent is stable for any step below ``2 / L``.
"""

from __future__ import annotations

import numpy as np


def lipschitz_constant(
    X,
    *,
    sample_weight=None,
    alpha: float = 0.0,
    fit_intercept: bool = True,
    n_outputs: int = 1,
    n_power_iterations: int = 10,
) -> float:
    """Estimate the Lipschitz constant of the log-loss gradient.

    Parameters
    ----------
    X : ndarray of shape (n_x, m)
        Data, one sample per column (the core's layout).
    sample_weight : ndarray of shape (m,), default=None
        Sample weights; ``None`` weighs each sample by 1.
    alpha : float, default=0.0
        L2 strength, added to the bound.
    fit_intercept : bool, default=True
        Whether the bias is a free parameter (a feature of ones).
    n_outputs : int, default=1
        ``1`` for the sigmoid model, ``K >= 2`` for the softmax.
    n_power_iterations : int, default=10
        Power iterations on ``X1 diag(s) X1.T / S``, each one pass of
        ``X @ v`` and one of ``X.T @ u``.

    Returns
    -------
    L : float
        The estimate, ``> 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gd_logreg._step_size import lipschitz_constant
    >>> X = np.array([[2.0, 0.0], [0.0, 2.0]])  # two samples (columns)
    >>> round(lipschitz_constant(X, fit_intercept=False), 6)  # (1/4) * 4 / 2
    0.5
    """
    n_x, m = X.shape
    s = np.ones(m, dtype=X.dtype) if sample_weight is None else sample_weight
    total = s.sum()
    # A fixed pseudo-random start: never orthogonal to the top eigenvector in
    # practice, and the same for the same data, so that fits are reproducible.
    start = np.random.default_rng(0).standard_normal(n_x + 1)
    v_w = start[:n_x].astype(X.dtype)
    v_b = float(start[n_x]) if fit_intercept else 0.0
    eig = 0.0
    for _ in range(n_power_iterations):
        norm = np.sqrt(v_w @ v_w + v_b * v_b)
        if norm == 0.0:
            break
        v_w, v_b = v_w / norm, v_b / norm
        u = s * (v_w @ X + v_b)  # diag(s) X1.T v
        new_w = X @ u / total
        new_b = u.sum() / total if fit_intercept else 0.0
        eig = float(v_w @ new_w + v_b * new_b)  # Rayleigh quotient of unit v
        v_w, v_b = new_w, new_b
    c = 0.25 if n_outputs == 1 else 0.5
    L = c * eig + alpha
    if not L > 0.0:
        # All features and the intercept are zero: any step is stable.
        L = 1.0
    return float(L)
