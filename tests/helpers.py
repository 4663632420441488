"""Helpers shared by the test modules (pytest puts this folder on sys.path)."""

import os
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning


def fit_quietly(est, X, y, **fit_params):
    """``est.fit``, for tests that stop short of convergence on purpose."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **fit_params)


def gradient_problem(rng, n_x, m, K, dtype=np.float64):
    """``w, b, X, Y`` for the gradient: ``X`` ``(n_x, m)`` F-ordered, as
    ``fit`` passes it (the view ``X.T`` of C-ordered data); 0/1 or one-hot
    ``Y`` of ``X``'s dtype."""
    X = rng.normal(size=(m, n_x)).astype(dtype).T
    index = rng.integers(0, max(K, 2), size=m)
    Y = (index[np.newaxis, :] == 1) if K == 1 else np.eye(K)[index].T
    w = (rng.normal(size=(n_x, K)) / np.sqrt(n_x)).astype(dtype)
    b = 0.3 if K == 1 else rng.normal(size=(K, 1)).astype(dtype)
    return w, b, X, Y.astype(dtype)


def run_in_forked_child(check, timeout=30.0):
    """Run ``check()`` in a forked child; assert that it returned True there,
    without hanging. Returns without checking where there is no ``fork``."""
    if not hasattr(os, "fork"):
        return  # no fork on this platform: nothing to check
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if the check passes, never return
        passed = False
        try:
            passed = bool(check())
        finally:
            os._exit(0 if passed else 1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0, "the check failed"
            return
        time.sleep(0.01)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    raise AssertionError("the forked child hung")


class BatchRecorder:
    """A solver monitor that only watches: it records the model after each
    mini-batch of "sgd", the iterate (or, with averaging, the average once
    it has started), and, being a monitor, makes the epochs run the Python
    loop."""

    def __init__(self):
        self.iterates = []

    def begin(self, name, w, b, n_subtasks=0):
        pass

    def end(self, w, b, cost, step, grads=None, data=None):
        if data is not None:  # a batch, not an epoch
            self.iterates.append((np.array(w), np.array(b)))
