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

__all__ = ["device", "is_numpy", "namespace", "sum_of_squares"]


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
    def astype(a, dtype):
        return a.astype(dtype)

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


def is_numpy(xp) -> bool:
    """Whether ``xp`` is NumPy's namespace."""
    return xp is _NUMPY or getattr(xp, "__name__", "") == "numpy"


def device(array):
    """The device ``array`` lives on (``"cpu"`` for NumPy arrays and SciPy
    sparse matrices)."""
    if isinstance(array, np.ndarray | np.generic) or sp.issparse(array):
        return "cpu"
    return array_api_compat.device(array)


def sum_of_squares(w) -> float:
    """``||w||^2``, in ``w``'s library; for NumPy without BLAS, whose threads
    a dot product of 10 000 entries would start (and without a temporary)."""
    if type(w) is np.ndarray:
        v = w.ravel()
        return float(np.einsum("i,i->", v, v))
    xp = namespace(w)
    if is_numpy(xp):
        return float(np.einsum("i,i->", np.ravel(w), np.ravel(w)))
    return float(xp.sum(w * w))
