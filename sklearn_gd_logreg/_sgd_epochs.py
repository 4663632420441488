"""An epoch of ``"sgd"``, two ways that give the same model.

- :func:`python_epoch`: the reference, a Python loop over the batches of
  ``problem.batches`` that takes each batch's gradient from the problem (so
  from :func:`~sklearn_gd_logreg.core.propagate`). It runs where a
  ``monitor`` wants a call around each batch, and for data the compiled
  epoch does not read (Dask chunks, other array libraries).
- :func:`compiled_epoch`: the same update in one call of the compiled
  ``_sgd_kernel``, on the rows that the twin reads in place (NumPy rows or
  CSR, float32 or float64). The batches' order is drawn in Python by the
  same call of the random state, ``permutation(n_samples)``, so both see
  the same batches; its weights are float64 within the epoch (float32 data
  get them rounded back at its end).

Both update an :class:`Iterate`: the weights, the epochs seen (which drive
``"invscaling"``) and the Polyak-Ruppert average of the iterates, which
starts once ``average`` samples have been seen (``0``: never).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from sklearn_gd_logreg import _sgd_kernel, _twin
from sklearn_gd_logreg._divergence import check_finite
from sklearn_gd_logreg._problem import Problem
from sklearn_gd_logreg._xp import device, is_array, is_numpy, namespace, widest_float

_STATE = ("epochs_seen", "total", "weight", "eta", "samples_seen", "n_averaged")


@dataclass
class Iterate:
    """Where ``"sgd"`` is: ``w, b``, the epochs and samples seen, and the
    average of the ``n_averaged`` iterates since ``average`` samples."""

    w: np.ndarray
    b: float | np.ndarray
    epochs_seen: float = 0.0
    average: int = 0
    samples_seen: float = 0.0
    n_averaged: float = 0.0
    average_w: np.ndarray | None = None
    average_b: float | np.ndarray = 0.0

    def params(self):
        """The model: the average once it has started, else ``w, b``."""
        if self.n_averaged:
            return self.average_w, self.average_b
        return self.w, self.b

    def restart_average(self) -> None:
        """A new stage of the step (``"adaptive"`` divided it): the iterates
        go on from the average, and a new average starts. Averaging over
        the stages together would keep the early, long steps' iterates, and
        a constant step's average has a bias of the order of the step: each
        stage's average is the best point of that stage."""
        if self.n_averaged:
            self.w, self.b = self.average_w, self.average_b
            self.n_averaged = 0.0

    def step_done(self, rows: int) -> None:
        """Count a batch of ``rows`` and average its iterate when due."""
        self.samples_seen += rows
        if not self.average or self.samples_seen < self.average:
            return
        self.n_averaged += 1.0
        mu = 1.0 / self.n_averaged
        if self.average_w is None:
            self.average_w = self.w * 0.0  # zeros in w's library, on its device
        self.average_w = self.average_w + (self.w - self.average_w) * mu
        self.average_b = self.average_b + (self.b - self.average_b) * mu


@dataclass
class Epoch:
    """What an epoch reports: its batches' weighted losses and weights
    (summed), its last step, and whether the monitor stopped it."""

    total: float
    weight: float
    eta: float
    stopped: bool = False


def compiles(problem, w, monitor) -> bool:
    """Whether :func:`compiled_epoch` runs: no monitor, and rows it reads."""
    return monitor is None and type(problem) is Problem and _twin.reads(w, problem.X)


def python_epoch(problem, it: Iterate, random_state, *, batch_size, eta0,
                 invscaling, power_t, n_batches, mean_weight, learning_rate,
                 epoch, monitor) -> Epoch:  # fmt: skip
    """The reference: one epoch of ``problem.batches``, each step taken
    with the problem's gradient and the penalty's ``prox``.

    On another library's arrays, unless a monitor watches each batch, no
    batch waits for the device (:func:`_device_step`): the epoch's loss and
    weight come back as 0-d arrays, read once by the solver."""
    penalty = problem.penalty
    w, b, eta, total, weight, stopped = it.w, it.b, eta0, 0.0, 0.0, False
    on_device = monitor is None and not is_numpy(namespace(w))
    for batch in problem.batches(batch_size, random_state):
        if monitor is not None:  # the model: the average, once it has started
            monitor.begin("batch", *it.params())
        eta = eta0
        if invscaling:  # a power that underflows, never overflows
            eta = eta * (1.0 + it.epochs_seen) ** -power_t
        it.epochs_seen += 1.0 / n_batches
        if on_device:  # the epoch's sums stay there
            w, b, f, batch_weight = _device_step(batch, penalty, w, b, eta, mean_weight)
            total, weight = total + f * batch_weight, weight + batch_weight
        else:
            batch_weight = batch.weight()  # one read-back from a device
            dw, f = penalty.l2 * w, math.nan
            if batch_weight > 0.0:  # else only the penalty's step
                f, grads = batch.loss_and_grad(w, b)
                check_finite(f, learning_rate, epoch)
                total += f * batch_weight
                weight += batch_weight
                scale = batch_weight / (batch.n_samples * mean_weight)
                dw = dw + scale * grads["dw"]
                b = b - eta * scale * grads["db"]
            w = penalty.prox(w - eta * dw, eta)
        it.w, it.b = w, b
        it.step_done(batch.n_samples)
        if monitor is not None:  # db: the direction b stepped along
            db = scale * grads["db"] if batch_weight > 0.0 else 0.0
            if monitor.end(*it.params(), f, eta, {"dw": dw, "db": db}, batch):
                stopped = True  # the epoch ends with the batches done
                break
    if on_device:  # read back once per epoch
        total, weight = float(total), float(weight)
    return Epoch(total, weight, eta, stopped)


def _device_step(batch, penalty, w, b, eta, mean_weight):
    """:func:`python_epoch`'s step on a device, without a read-back: a batch
    of weight 0 (whose mean loss is 0 / 0) takes only the penalty's step,
    chosen by ``where``. Returns ``w, b`` and the batch's loss (0 for weight
    0) and weight, 0-d arrays in the widest float, as the host loop's Python
    floats (the batch is unpenalised: ``penalty`` is the problem's). A loss
    that stops being finite is reported at the epoch's end."""
    xp = namespace(w)
    wide = widest_float(xp, device(w))
    batch_weight = xp.astype(batch.weight(to_float=False), wide)
    keep = batch_weight > 0.0
    f, grads = batch.loss_and_grad(w, b, to_float=False)
    scale = batch_weight / (batch.n_samples * mean_weight)
    dw = xp.where(keep, grads["dw"], xp.zeros_like(w))
    dw = penalty.l2 * w + xp.astype(scale, w.dtype) * dw  # as a float scales it
    db = grads["db"]
    if is_array(db):  # (NaN where the weight is 0: no 0 * db)
        db = xp.where(keep, db, xp.zeros_like(db))
        b = b - xp.astype(eta * scale, db.dtype) * db
    w = penalty.prox(w - eta * dw, eta)
    f = xp.astype(f, wide)
    return w, b, xp.where(keep, f, xp.zeros_like(f)), batch_weight


def compiled_epoch(problem: Problem, it: Iterate, random_state, *, batch_size,
                   eta0, invscaling, power_t, n_batches, mean_weight,
                   learning_rate, epoch, monitor=None) -> Epoch:  # fmt: skip
    """:func:`python_epoch` in ``_sgd_kernel`` (for :func:`compiles`)."""
    X, penalty = problem.X, problem.penalty
    order = random_state.permutation(problem.n_samples).astype(np.intp, copy=False)
    W = np.array(it.w, dtype=np.float64, order="C")  # a new array: the last
    K = W.shape[1]  # epoch's may be kept as the best by a validation stall
    b = np.array(np.reshape(it.b, -1), dtype=np.float64)
    if it.average:
        AW = np.zeros_like(W) if it.average_w is None else it.average_w
        AW = np.array(AW, dtype=np.float64, order="C")
        AB = np.array(np.broadcast_to(np.reshape(it.average_b, -1), K), np.float64)
    else:
        AW, AB = np.zeros((1, 1)), np.zeros(1)
    state = np.array([getattr(it, name, 0.0) for name in _STATE] + [-1.0])
    state[3] = eta0
    params = np.array(
        [
            eta0,
            float(invscaling),
            power_t,
            1.0 / n_batches,
            mean_weight,
            penalty.l1,
            penalty.l2,
            float(problem.fit_intercept),
            float(it.average),
        ]
    )
    Y = np.require(problem.Y, X.dtype, "C")
    sw = np.require(problem.sample_weight, np.float64, "C")
    args = (Y, sw, order, batch_size, W, b, AW, AB, state, params)
    if sp.issparse(X):
        data, indices, indptr = (
            np.require(a, requirements="C") for a in (X.data, X.indices, X.indptr)
        )
        if len(indptr) != problem.n_samples + 1 or not _sgd_kernel.sparse(
            data, indices, indptr, *args
        ):
            raise ValueError(
                "X: the sparse matrix's indices or indptr are out of range for "
                f"its shape {X.shape}; its structure is corrupted."
            )
    else:
        _sgd_kernel.dense(X.T, *args)
    if state[6] >= 0:  # a batch's loss was not finite
        check_finite(math.nan, learning_rate, epoch)
    it.epochs_seen, it.samples_seen, it.n_averaged = state[0], state[4], state[5]
    dtype = it.w.dtype
    it.w = W.astype(dtype, copy=False)
    it.b = float(b[0]) if np.ndim(it.b) == 0 else b.reshape(K, 1).astype(dtype)
    if it.n_averaged:
        it.average_w = AW.astype(dtype, copy=False)
        it.average_b = (
            float(AB[0]) if np.ndim(it.b) == 0 else AB.reshape(K, 1).astype(dtype)
        )
    return Epoch(float(state[1]), float(state[2]), float(state[3]))
