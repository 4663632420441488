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

import functools
import math

import numpy as np
from threadpoolctl import ThreadpoolController

from sklearn_gd_logreg import _dask
from sklearn_gd_logreg._xp import device, namespace


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
    X : ndarray or scipy.sparse matrix or array of shape (n_x, m)
        Data, one sample per column (the core's layout). Sparse ``X`` is
        only multiplied (``v @ X``, ``X @ u``), never densified.
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
    distributed = _dask.holds(X)  # in chunks on Dask workers: NumPy vectors here
    xp = namespace() if distributed else namespace(X, sample_weight)
    s = 1.0 if sample_weight is None else sample_weight
    total = m if sample_weight is None else _total(sample_weight)
    if not total > 0.0:
        raise ValueError(
            f"sample_weight must have a positive sum to estimate L; got {total!r}."
        )
    # A fixed pseudo-random start: never orthogonal to the top eigenvector in
    # practice, and the same for the same data, so that fits are reproducible.
    start = np.random.default_rng(0).standard_normal(n_x + 1)
    v_w = xp.asarray(
        start[:n_x], dtype=X.dtype, device="cpu" if distributed else device(X)
    )
    v_b = float(start[n_x]) if fit_intercept else 0.0
    eig = 0.0
    # Vectors are divided by a power of two near their largest entry before
    # each product, and the factor is multiplied back into the float ``eig``:
    # the same bits as without it, but no overflow for features up to ~1e150
    # (~1e19 in float32); beyond, ``L`` itself overflows and we say so.
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(n_power_iterations):
            big = _power_of_two(max(float(xp.max(xp.abs(v_w))), abs(v_b)))
            v_w, v_b = v_w / big, v_b / big
            norm = math.sqrt(float(v_w @ v_w) + v_b * v_b)
            if norm == 0.0 or not math.isfinite(norm):
                break
            v_w, v_b = v_w / norm, v_b / norm
            if distributed:  # the same products, chunk by chunk on the workers
                Xu, u_sum, scale = _dask.power_products(X, s, v_w, v_b)
            else:
                u = s * (v_w @ X + v_b)  # diag(s) X1.T v
                scale = _power_of_two(float(xp.max(xp.abs(u))))
                u = u / scale
                Xu, u_sum = X @ u, float(xp.sum(u))
            new_w = Xu / total
            new_b = u_sum / total if fit_intercept else 0.0
            # Rayleigh quotient of unit v
            eig = scale * (float(v_w @ new_w) + v_b * new_b)
            v_w, v_b = new_w, new_b
    c = 0.25 if n_outputs == 1 else 0.5
    L = float(c * eig + alpha)
    finfo = xp.finfo(X.dtype)
    if 0.0 <= L <= 1.0 / float(finfo.max):  # 1 / L overflows
        # All features and the intercept are (nearly) zero: any step is stable.
        L = 1.0
    if not L < 1.0 / float(finfo.smallest_normal):  # inf, nan too
        raise ValueError(
            f"The features in X are too large for gradient descent in "
            f"{_name(X.dtype)} (largest |X| = {float(abs(X).max()):.3g}): the "
            f"Lipschitz constant of the gradient, which grows as their square, "
            f"is {L:.3g}, and the step learning_rate='auto' = 1/L would "
            "underflow. Scale the features, e.g. with "
            "sklearn.preprocessing.StandardScaler or MaxAbsScaler"
            + (", or pass float64 data." if finfo.bits == 32 else ".")
        )
    return float(L)


def _total(sample_weight) -> float:
    """The sum of the weights, as a float (from the Dask workers, or the device)."""
    if _dask.holds(sample_weight):
        return float(sample_weight.sum())
    return float(namespace(sample_weight).sum(sample_weight))


def _name(dtype) -> str:
    """``float32``, for NumPy's dtype and other libraries' alike."""
    return getattr(dtype, "name", str(dtype).rsplit(".", 1)[-1])


def _power_of_two(x: float) -> float:
    """A power of two within a factor 2 of ``x > 0`` (1 for 0, inf or nan)."""
    if not 0.0 < x < np.inf:
        return 1.0
    return math.ldexp(1.0, math.frexp(x)[1] - 1)


def auto_learning_rate(
    X,
    *,
    sample_weight,
    alpha: float,
    fit_intercept: bool,
    n_outputs: int,
    n_power_iterations: int = 10,
    min_samples: int = 1000,
) -> float:
    """The ``"auto"`` step ``1 / L``, for about the cost of one gradient.

    ``L`` is estimated by ``n_power_iterations`` power iterations, each
    reading the data twice, on every ``stride``-th of the ``m`` samples,
    about ``max(min_samples, m / n_power_iterations)`` of them: on large data
    that is two reads of ``X``, the cost of one gradient, however large
    ``m``; on dense ``X`` the subsample is a view, not a copy. The subsample's
    curvature estimates the whole data's; gradient descent is stable for any
    step below ``2 / L``, and the line search of ``solver="nesterov"``
    corrects a step that is too long.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gd_logreg._step_size import auto_learning_rate
    >>> X = np.array([[2.0, 0.0], [0.0, 2.0]])
    >>> auto_learning_rate(X, sample_weight=np.ones(2), alpha=0.0,
    ...                    fit_intercept=False, n_outputs=1)
    2.0
    """
    # Every stride-th sample: a view of dense X, not a copy; all of them if
    # those weigh 0 (e.g. every 10th row held out by a weight of 0). On Dask,
    # a subsample of up to FETCH_BYTES comes to the client in one round trip
    # and is read there, as in memory, instead of twice per power iteration
    # on the workers.
    stride = max(1, X.shape[1] // max(min_samples, X.shape[1] // n_power_iterations))
    sub_X, sub_weight = _dask.fetch_small(X[:, ::stride], sample_weight[::stride])
    if stride > 1 and not _total(sub_weight) > 0.0:
        sub_X, sub_weight = _dask.fetch_small(X, sample_weight)
    X, sample_weight = sub_X, sub_weight
    L = lipschitz_constant(
        X,
        sample_weight=sample_weight,
        alpha=alpha,
        fit_intercept=fit_intercept,
        n_outputs=n_outputs,
        n_power_iterations=n_power_iterations,
    )
    return 1.0 / L


def problem_step(problem) -> float:
    """:func:`auto_learning_rate` for a ``Problem`` (its data, weights, L2
    strength, intercept and classes), with BLAS on one thread."""
    with one_blas_thread():  # for the power iterations only
        return auto_learning_rate(
            problem.X,
            sample_weight=problem.sample_weight,
            alpha=problem.penalty.l2,
            fit_intercept=problem.fit_intercept,
            n_outputs=problem.Y.shape[0],
        )


def one_blas_thread():
    """A context in which BLAS runs on one thread, restoring the limits it
    found, for the power iterations: OpenBLAS's threads spin for a while
    after a call and would take the cores from the twin's first iterations
    (measured on the 209 x 12 288 images, 300 iterations of "gd": 160 ms
    without, 108 ms with).

    The libraries are looked up once per process (``threadpool_limits``
    does it on every call, reading ``/proc/self/maps``: 2.7 ms, most of a
    small fit's fixed cost), as scikit-learn's own helpers do.
    """
    return _controller().limit(limits=1, user_api="blas")


@functools.cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()
