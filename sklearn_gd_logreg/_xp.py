"""The array library an array belongs to, for code written once against the
Array API standard (https://data-apis.org/array-api/).

NumPy arrays, Python numbers and SciPy sparse matrices give NumPy's
namespace; torch tensors, CuPy arrays, array-api-strict arrays and other
libraries give theirs, through array-api-compat (the copy scikit-learn >=
1.7 ships, so that it adds no dependency; with an older scikit-learn, the
package if installed, else NumPy arrays only). :mod:`sklearn_gd_logreg.core` is written
against the namespace, so the course's algorithm runs where its arrays live,
a GPU included.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp

try:  # scikit-learn >= 1.7 ships array-api-compat
    from sklearn.externals import array_api_compat
except ImportError:  # older: the package itself, if installed
    try:
        import array_api_compat
    except ImportError:
        array_api_compat = None

__all__ = [
    "check_shapes",
    "device",
    "floats",
    "is_numpy",
    "namespace",
    "real_dtype",
    "sum_of_squares",
]


class _NumPy:
    """NumPy's namespace where array-api-compat is missing (scikit-learn <
    1.7 without the package): NumPy itself, plus the few Array API functions
    the core uses that NumPy < 2 lacks."""

    __name__ = "numpy"

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def isdtype(dtype, kind: str) -> bool:
        if kind != "real floating":
            raise NotImplementedError(kind)
        return np.issubdtype(dtype, np.floating)

    @staticmethod
    def astype(a, dtype, copy=True):
        return a.astype(dtype, copy=copy)

    @staticmethod
    def asarray(a, dtype=None, device=None):
        return np.asarray(a, dtype=dtype)

    @staticmethod
    def arange(*args, device=None, **kwargs):
        return np.arange(*args, **kwargs)


if array_api_compat is None:
    _NUMPY = _NumPy()
else:
    _NUMPY = array_api_compat.array_namespace(array_api_compat.numpy.asarray(0.0))


# Types that are NumPy's without a look further (a solver's iteration asks
# a dozen times: the general test below costs ~3 us each).
_PLAIN = frozenset({np.ndarray, np.float64, np.float32, float, int, bool, type(None)})


def namespace(*arrays):
    """The namespace shared by ``arrays`` (``None``, numbers and sparse
    matrices are left out; NumPy's when nothing is left).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gd_logreg._xp import namespace
    >>> namespace(np.ones(2), 1.0, None).__name__.endswith("numpy")
    True
    """
    if all(type(a) in _PLAIN for a in arrays):  # the common case, fast
        return _NUMPY
    kept = [
        a
        for a in arrays
        if a is not None and not isinstance(a, numbers.Number) and not sp.issparse(a)
    ]
    if all(isinstance(a, np.ndarray | np.generic) for a in kept):
        return _NUMPY
    if array_api_compat is None:
        kinds = sorted({type(a).__module__.split(".")[0] for a in kept})
        raise TypeError(
            f"Arrays of {', '.join(kinds)} need array-api-compat: install "
            "scikit-learn >= 1.7, which ships it, or `pip install "
            "array-api-compat`."
        )
    return array_api_compat.array_namespace(*kept)


def is_array(a) -> bool:
    """Whether ``a`` is an array of a library array-api-compat knows."""
    return array_api_compat is not None and array_api_compat.is_array_api_obj(a)


def is_numpy(xp) -> bool:
    """Whether ``xp`` is NumPy's namespace."""
    return xp is _NUMPY or getattr(xp, "__name__", "") == "numpy"


def device(array):
    """The device ``array`` lives on (``"cpu"`` for NumPy arrays and SciPy
    sparse matrices)."""
    if isinstance(array, np.ndarray | np.generic) or sp.issparse(array):
        return "cpu"
    return array_api_compat.device(array)


def floats(xp, a, like=None):
    """``a`` as real floating values (of ``like``'s dtype, if given and ``a``
    is not already floating): labels of 0 and 1 may come as integers."""
    if xp.isdtype(a.dtype, "real floating"):
        return a
    return xp.astype(a, real_dtype(xp, a) if like is None else like.dtype)


def real_dtype(xp, a):
    """The real floating dtype for ``a``: its own, or the default one."""
    if xp.isdtype(a.dtype, "real floating"):
        return a.dtype
    return xp.asarray(0.0, device=device(a)).dtype


def total(xp, a, like):
    """The sum of ``a``, to divide ``like``'s sums by without promoting
    float32 to float64: for NumPy a Python float; another library's a 0-d
    array in ``like``'s floating dtype, on its device, read by nobody."""
    if type(a) is np.ndarray:  # each iteration: no wrappers
        return float(a.sum())
    s = xp.sum(a)
    return float(s) if is_numpy(xp) else xp.astype(s, real_dtype(xp, like))


def flat_dot(a, b) -> float:
    """The inner product of two NumPy arrays of the same size, flattened, by
    ``einsum``: without a temporary; without BLAS, whose threads (OpenBLAS
    starts them from 10 000 entries) then spin against the twin's (300
    iterations of "nesterov" on the 209 x 12 288 images: 4.4 s with np.vdot,
    0.3 s without); and, unlike ``np.dot``, without a RuntimeWarning where it
    overflows to inf (as the objective it is part of then does)."""
    return float(np.einsum("i,i->", np.ravel(a), np.ravel(b)))


def sum_of_squares(w, *, to_float: bool = True) -> float:
    """``||w||^2``, in ``w``'s library; for NumPy by :func:`flat_dot`.
    ``to_float=False`` leaves another library's a 0-d array on its device."""
    if type(w) is np.ndarray or is_numpy(xp := namespace(w)):  # the first: fast
        return flat_dot(w, w)
    total = xp.sum(w * w)
    return float(total) if to_float else total


# The estimator layer follows scikit-learn's Array API dispatch
# (``sklearn.set_config(array_api_dispatch=True)``) through its own helpers;
# the fallbacks serve scikit-learn versions that lack one (they only run
# where dispatch is on, which needs array-api-compat).
try:
    from sklearn.utils._array_api import move_to
except ImportError:  # scikit-learn < 1.8

    def move_to(*arrays, xp, device):
        """``arrays`` in namespace ``xp`` on ``device`` (``None`` as is)."""
        from sklearn.utils._array_api import _convert_to_numpy

        moved = [
            None
            if a is None
            else xp.asarray(_convert_to_numpy(a, namespace(a)), device=device)
            for a in arrays
        ]
        return moved[0] if len(moved) == 1 else tuple(moved)


try:
    from sklearn.utils._array_api import check_same_namespace
except ImportError:  # scikit-learn < 1.9: no check

    def check_same_namespace(X, estimator, *, attribute, method):
        """scikit-learn >= 1.9 refuses arrays of another namespace or device
        than fit's; older versions do not check."""


def dispatched(*arrays):
    """The namespace and device of ``arrays`` under scikit-learn's Array API
    dispatch, and whether they are another library's than NumPy's.

    With dispatch off (scikit-learn's default) or for NumPy arrays, SciPy
    sparse matrices and array-likes: NumPy's namespace, and ``False``: the
    estimators then convert their input to NumPy and take the compiled twin.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gd_logreg._xp import dispatched
    >>> xp, device, other = dispatched(np.ones(2))
    >>> is_numpy(xp), other
    (True, False)
    """
    from sklearn.utils._array_api import get_namespace_and_device

    xp, _, dev = get_namespace_and_device(*arrays)
    return xp, dev, not is_numpy(xp)


def widest_float(xp, dev):
    """float64, the host's floats, where the device has it (else float32)."""
    try:
        floats = xp.__array_namespace_info__().dtypes(kind="real floating", device=dev)
    except AttributeError:  # a namespace older than the 2023.12 standard
        return xp.float64
    return floats.get("float64", xp.float32)


def fitted_arrays(w, b, dtype, y, classes) -> dict:
    """``coef_``, ``intercept_`` and ``classes_`` at the core's ``w, b``:
    in ``w``'s library and on its device, in ``dtype``; ``classes_`` in
    ``y``'s library and on its device (NumPy for labels of another kind,
    such as strings), as scikit-learn's Array API estimators hold them."""
    xp = namespace(w)
    if is_numpy(xp):
        return {
            "coef_": np.ascontiguousarray(np.asarray(w).T, dtype=dtype),
            "intercept_": np.asarray(b, dtype=dtype).reshape(-1),
            "classes_": classes,
        }
    dev = device(w)
    intercept = xp.asarray(b, dtype=dtype, device=dev)
    xp_y, device_y, other_y = dispatched(y)
    return {
        "coef_": xp.asarray(w.T, dtype=dtype, device=dev, copy=True),
        "intercept_": xp.reshape(intercept, (-1,)),
        "classes_": move_to(classes, xp=xp_y, device=device_y) if other_y else classes,
    }


def continued_curve(estimator, incremental: bool) -> list[float]:
    """The ``loss_curve_`` a ``partial_fit`` continues (``incremental``):
    the earlier calls', one epoch each (or a ``"sgd"`` fit's epochs); none
    after a full-batch fit, whose curve counts iterations, and none for
    ``fit``."""
    if not (incremental and getattr(estimator, "_curve_in_epochs", False)):
        return []
    return to_numpy(estimator.loss_curve_).tolist()


_NUMPY_2 = np.lib.NumpyVersion(np.__version__) >= "2.0.0"


def to_numpy(a):
    """``a`` as a NumPy array on the host (one transfer for a device's
    array); NumPy arrays, sparse matrices, ``None`` and array-likes as they
    are."""
    if a is None or isinstance(a, np.ndarray) or sp.issparse(a):
        return a
    if array_api_compat is None or not array_api_compat.is_array_api_obj(a):
        return a
    if array_api_compat.is_numpy_array(a):
        return np.asarray(a)
    if _NUMPY_2:
        return move_to(a, xp=np, device="cpu")
    from sklearn.utils._array_api import _convert_to_numpy

    return _convert_to_numpy(a, namespace(a))  # NumPy < 2 takes no device=


def check_shapes(w, b, X, Y, sample_weight=None) -> None:
    """Refuse shapes that would broadcast into a wrong answer: for ``X`` of
    shape ``(n_x, m)``, ``w`` ``(n_x, K)``, ``b`` a number or ``(K, 1)``
    (``(1,)`` too when ``K = 1``), ``Y`` ``(K, m)`` and ``sample_weight``
    ``(m,)``."""
    (n_x, m), w_shape = X.shape, tuple(w.shape)
    K = w_shape[1] if len(w_shape) == 2 else None
    b_shape = tuple(getattr(b, "shape", ()))
    if (
        K is None
        or w_shape[0] != n_x
        or tuple(Y.shape) != (K, m)
        or b_shape not in ((), (K, 1), (1,) if K == 1 else ())
    ):
        raise ValueError(
            f"w, b and Y must have shapes ({n_x}, K), () or (K, 1), and (K, {m}) "
            f"for X of shape {tuple(X.shape)}; got {w_shape}, {b_shape} and "
            f"{tuple(Y.shape)}."
        )
    s_shape = None if sample_weight is None else tuple(np.shape(sample_weight))
    if s_shape not in (None, (m,)):
        raise ValueError(f"sample_weight must have shape ({m},); got {s_shape}.")
