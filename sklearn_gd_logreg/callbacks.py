"""Callbacks for watching gradient descent learn (scikit-learn >= 1.9).

They follow scikit-learn's callback protocol (:mod:`sklearn.callback`): set
them with ``GDLogisticRegression(...).set_callbacks(...)``, next to
scikit-learn's own ``ProgressBar`` and ``ScoringMonitor``.
"""

from __future__ import annotations

import numpy as np

from sklearn_gd_logreg._xp import to_numpy

__all__ = ["IterationRecorder"]

FIELDS = ("iteration", "cost", "step", "grad_norm")


class IterationRecorder:
    """Record the cost, the step and the gradient at every iteration.

    A callback for :class:`~sklearn_gd_logreg.GDLogisticRegression` (set it
    with ``set_callbacks``; scikit-learn >= 1.9), to look at what gradient
    descent does: the cost falling, the size of each step, the gradient
    vanishing, and with ``params=True`` the weights themselves, to answer
    questions such as "what happens to ``w`` when the learning rate is too
    large?". An iteration is one of ``"gd"`` or ``"nesterov"``, an epoch of
    ``"sgd"`` and ``partial_fit``.

    Parameters
    ----------
    params : bool, default=False
        Also record ``coef_`` and ``intercept_`` after each iteration (a copy
        of ``n_iter_ * (n_features + 1)`` numbers per class row).

    Attributes
    ----------
    history_ : dict of ndarray
        The most recent fit, one entry per iteration: ``"iteration"`` (from
        0), ``"cost"`` (the objective, as in ``loss_curve_``: for ``"gd"`` at
        the point where the gradient is taken, before the step), ``"step"``
        (the learning rate used; for ``"sgd"`` that of the epoch's last
        batch), ``"grad_norm"`` (the Euclidean norm of the gradient the step
        followed, ``(dw, db)`` including the L2 part; NaN for an epoch of
        ``"sgd"``, whose batches each follow their own), and with
        ``params=True`` ``"coef"`` of shape ``(n_iter_, *coef_.shape)`` and
        ``"intercept"``: the weights the iteration reached.
    histories_ : list of dict
        One ``history_`` per fit seen, oldest first (in a grid search, one
        per candidate and fold, with ``n_jobs=None``: worker processes record
        in their own copies).

    See Also
    --------
    sklearn.callback.ProgressBar : A live progress bar.
    sklearn.callback.ScoringMonitor : A score per iteration.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_gd_logreg import GDLogisticRegression
    >>> from sklearn_gd_logreg.callbacks import IterationRecorder
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> def watch(learning_rate):
    ...     recorder = IterationRecorder(params=True)
    ...     clf = GDLogisticRegression(learning_rate=learning_rate, tol=1e-2)
    ...     clf.set_callbacks(recorder).fit(X, y)
    ...     assert len(recorder.history_["cost"]) == clf.n_iter_
    ...     return recorder.history_
    >>> good, large = watch(0.5), watch(50.0)  # the learning rate too large?
    >>> good["cost"][:3].round(3)  # the cost falls at every step
    array([0.693, 0.234, 0.2  ])
    >>> large["cost"][:3].round(3)  # it jumps up first: steps overshoot
    array([0.693, 4.185, 2.107])
    >>> good["coef"].shape  # w after each of the 46 iterations, one row
    (46, 1, 30)
    >>> # the largest |w| after the first step: 100 x larger with 100 x the step
    >>> [round(float(np.abs(h["coef"][0]).max()), 2) for h in (good, large)]
    [0.19, 19.18]
    >>> large["grad_norm"][[0, -1]].round(3)  # yet the gradient vanishes
    array([1.418, 0.023])
    """

    def __init__(self, *, params: bool = False) -> None:
        self.params = params
        self.histories_: list[dict] = []
        self._open: dict[int, dict] = {}

    @property
    def history_(self) -> dict:
        if not self.histories_:
            raise AttributeError(
                "IterationRecorder has recorded no fit yet: pass it to "
                "GDLogisticRegression(...).set_callbacks and fit."
            )
        return self.histories_[-1]

    def setup(self, estimator, context) -> None:
        """Start the history of a fit of ``estimator``."""
        fields = FIELDS + (("coef", "intercept") if self.params else ())
        self._open[id(estimator)] = {name: [] for name in fields}

    def on_fit_task_begin(self, estimator, context) -> None:
        """Nothing: an iteration is recorded where it ends."""

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None) -> bool:
        """Record an iteration that ended (not the whole fit, nor a batch).

        Returns
        -------
        stop : bool
            ``False``: never stops the fit.
        """
        info = getattr(fitted_estimator, "_callback_iteration", None)
        history = self._open.get(id(estimator))
        if info is None or info["depth"] != 1 or history is None:
            return False
        history["iteration"].append(len(history["iteration"]))
        for name in ("cost", "step", "grad_norm"):
            history[name].append(info[name])
        if self.params:
            # NumPy copies, from another library's device too
            history["coef"].append(np.array(to_numpy(fitted_estimator.coef_)))
            history["intercept"].append(np.array(to_numpy(fitted_estimator.intercept_)))
        return False

    def teardown(self, estimator, context) -> None:
        """Close the history of the fit, as arrays."""
        history = self._open.pop(id(estimator), None)
        if history is not None:
            self.histories_.append(
                {name: np.asarray(values) for name, values in history.items()}
            )
