"""scikit-learn's callbacks (``sklearn.callback``, scikit-learn >= 1.9) in the
estimators' terms.

A fit opens one root context (``fit`` or ``partial_fit``) on the estimator
the user called, whose callbacks were set up there; the solvers see only a
plain :class:`FitHooks` object, ``monitor``, with ``begin(name, w, b,
n_subtasks)`` and ``end(w, b, cost, step, grads, data) -> bool`` around each
iteration (each epoch, then each batch, of ``"sgd"``): one subcontext per
call of ``begin``. Without callbacks the solvers get ``None`` and pay
nothing; on scikit-learn < 1.9 the estimators have no ``set_callbacks`` and
fit as before.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.utils import check_random_state

from sklearn_gd_logreg._xp import continued_curve, fitted_arrays, sum_of_squares

try:
    from sklearn.callback import CallbackSupportMixin, with_callbacks

    HAS_CALLBACKS = True
except ImportError:  # scikit-learn < 1.9: no callback API, no set_callbacks
    HAS_CALLBACKS = False

    class CallbackSupportMixin:  # type: ignore[no-redef]
        """Nothing: scikit-learn < 1.9 has no callbacks."""

    def with_callbacks(method):  # type: ignore[no-redef]
        """The method itself: scikit-learn < 1.9 has no callbacks."""
        return method


__all__ = [
    "HAS_CALLBACKS",
    "CallbackSupportMixin",
    "FitHooks",
    "fresh_state",
    "with_callbacks",
]


def fresh_state(estimator, epochs: float, step: float, sgd: bool) -> dict:
    """What ``partial_fit`` and warm starts read beyond the public attributes,
    for a model that carries none of its own: a pickle of 0.1, or a callback's
    model of one iteration (which must not carry those of an earlier fit of
    the estimator it copies). ``epochs`` seen, ``step`` as the first fit's
    (where ``learning_rate="auto"``), the stream of shuffles that
    ``random_state`` starts, no samples seen, no average, no running mean
    weight; its ``loss_curve_`` counts epochs if ``sgd``."""
    fixed = estimator.learning_rate != "auto"
    return {
        "_base_learning_rate": float(estimator.learning_rate) if fixed else step,
        "t_": float(epochs),
        "_shuffler": check_random_state(estimator.random_state),
        "_samples_seen": 0.0,
        "_n_averaged": 0.0,
        "_iterate": None,
        "_step_weight": math.inf,  # keeps its first chunk's step
        "_weight_rows": 0.0,
        "_curve_in_epochs": sgd,
    }


def open_root(estimator, task_name: str, max_subtasks: int | None):
    """The root callback context of a fit of ``estimator`` (its callbacks'
    ``setup`` runs here), or ``None`` where it has no callbacks (nothing is
    then set on it: fits without callbacks are as before scikit-learn 1.9).
    Call it on the estimator the user called, before any copy of it is
    made, so that ``teardown`` finds it even when the fit raises."""
    if not HAS_CALLBACKS or not getattr(estimator, "_skl_callbacks", None):
        return None
    return estimator._init_callback_context(
        task_name=task_name, max_subtasks=max_subtasks
    )


class FitHooks:
    """The callback hooks of one fit of ``GDLogisticRegression``.

    Parameters
    ----------
    estimator : GDLogisticRegression
        The estimator whose ``fit`` or ``partial_fit`` the user called (the
        callbacks were set up with it; the fit itself works on a copy).
    task_name : {"fit", "partial_fit"}
        The root task.
    max_subtasks : int
        Iterations (epochs of ``"sgd"``) the root task may have.

    Examples
    --------
    >>> from sklearn_gd_logreg import GDLogisticRegression
    >>> from sklearn_gd_logreg._callbacks import FitHooks
    >>> FitHooks(GDLogisticRegression(), "fit", 10).monitor is None  # none set
    True
    """

    def __init__(self, estimator, task_name: str, max_subtasks: int) -> None:
        self.estimator = estimator
        self.incremental = task_name == "partial_fit"
        self.root = open_root(estimator, task_name, max_subtasks)

    def begin_fit(self, work, X, y, classes, sample_weight) -> None:
        """Call the root's begin hooks, once ``X`` and ``y`` are validated;
        ``work`` is the copy being fitted."""
        if self.root is None:
            return
        self._X, self._y, self._classes = X, y, classes
        self._metadata = (
            None if sample_weight is None else {"sample_weight": sample_weight}
        )
        self._static = {
            "classes_": classes,
            "n_features_in_": work.n_features_in_,
            # None: the hooks get the validated array X, without names (and
            # the estimator called may hold those of an earlier fit)
            "feature_names_in_": None,
        }
        self._dtype = X.dtype
        # fit_path sets the first step and the epochs seen before this fit
        self.learning_rate = self._step = self.epochs_before = math.nan
        # partial_fit: n_iter_ and loss_curve_ go on from the calls before
        self._previous = continued_curve(work, self.incremental)
        self._curve: list[float] = []
        self._stack = [self.root]
        self.root.call_on_fit_task_begin(
            estimator=self.estimator, X=X, y=y, metadata=self._metadata
        )

    def end_fit(self, work) -> None:
        """Call the root's end hooks with the fitted copy ``work``."""
        if self.root is None:
            return
        self.root.call_on_fit_task_end(
            estimator=self.estimator,
            X=self._X,
            y=self._y,
            metadata=self._metadata,
            reconstruction_attributes=lambda: {  # all that fit leaves on it
                **{
                    name: value
                    for name, value in vars(work).items()
                    if not name.startswith(("_skl_", "_callback"))
                },
                **self._static,
            },
        )

    @property
    def monitor(self) -> FitHooks | None:
        """What the solvers get: these hooks where callbacks are set, else
        ``None`` (no call at all in the loops)."""
        return None if self.root is None else self

    # The solvers' side: plain arguments in the core's layout.

    def begin(self, name: str, w, b, n_subtasks: int = 0) -> None:
        """Open a subtask ``name`` of the innermost open task, at ``w, b``."""
        context = self._stack[-1].subcontext(task_name=name, max_subtasks=n_subtasks)
        self._stack.append(context)
        context.call_on_fit_task_begin(
            estimator=self.estimator,
            X=self._X,
            y=self._y,
            metadata=self._metadata,
            reconstruction_attributes=lambda: self._attributes(w, b),
        )

    def end(self, w, b, cost: float, step: float, grads=None, data=None) -> bool:
        """Close the innermost open task at ``w, b``: its ``cost``, the
        ``step`` it took along ``grads`` (``{"dw", "db"}``, or ``None``), on
        ``data`` (a mini-batch's problem; ``None``: the fit's data). Whether
        a callback asks to stop there."""
        context = self._stack.pop()
        depth, self._step = len(self._stack), step
        if depth == 1:
            self._curve.append(cost)
        info = {"depth": depth, "cost": cost, "step": step, "grads": grads}
        X, y, metadata = self._X, self._y, self._metadata
        if data is not None:  # the rows of a mini-batch, as the user gave them
            X, metadata = (lambda: data.X.T), None
            y = lambda: self._classes[_label_index(data.Y)]  # noqa: E731
        return context.call_on_fit_task_end(
            estimator=self.estimator,
            X=X,
            y=y,
            metadata=metadata,
            reconstruction_attributes=lambda: self._attributes(w, b, info),
        )

    def _attributes(self, w, b, info=None) -> dict:
        """A fitted estimator's attributes at ``w, b`` (``info``: the
        iteration just ended, for :class:`~sklearn_gd_logreg.callbacks.
        IterationRecorder`), with the state that continuing from it needs
        as a model without any (:func:`fresh_state`): one that can be
        copied, pickled and fitted on."""
        n_iter = len(self._previous) + len(self._curve)
        sgd = self.incremental or self.estimator.solver == "sgd"
        # learning_rate_: sgd's base step; a full-batch solver's last one
        base = sgd or math.isnan(self._step)  # or before any step
        step = self.learning_rate if base else self._step
        epochs = self.epochs_before + (len(self._curve) if sgd else 0)
        attributes = {
            **self._static,
            # in X's library and on its device, as the fitted estimator's
            **fitted_arrays(w, b, self._dtype, self._y, self._classes),
            "n_iter_": n_iter,
            "loss_curve_": np.asarray(self._previous + self._curve),
            "learning_rate_": step,
            "validation_scores_": None,
            **fresh_state(self.estimator, epochs, self.learning_rate, sgd),
        }
        if info is not None:
            grads = info["grads"]
            attributes["_callback_iteration"] = {
                "depth": info["depth"],
                "cost": info["cost"],
                "step": info["step"],
                "grad_norm": math.nan if grads is None else _norm(grads),
            }
        return attributes


def _label_index(Y) -> np.ndarray:
    """Each column's class index, from the course's ``Y``."""
    return Y[0].astype(np.intp) if Y.shape[0] == 1 else np.argmax(Y, axis=0)


def _norm(grads) -> float:
    """The Euclidean norm of the gradient ``(dw, db)``."""
    return math.sqrt(sum_of_squares(grads["dw"]) + sum_of_squares(grads["db"]))


def fit_root(estimator, X, y, attributes: dict) -> None:
    """The whole callback protocol of a fit without iterations (that of
    ``ImageFlattener``): the root task's begin and end hooks, ``attributes``
    making the fitted estimator."""
    context = open_root(estimator, "fit", 0)
    if context is None:
        return
    context.call_on_fit_task_begin(estimator=estimator, X=X, y=y)
    context.call_on_fit_task_end(
        estimator=estimator, X=X, y=y, reconstruction_attributes=attributes
    )
