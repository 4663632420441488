"""``GDLogisticRegression``: the course's gradient descent as a classifier."""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from sklearn_gd_logreg._callbacks import CallbackSupportMixin
from sklearn_gd_logreg._fit_path import fit_path
from sklearn_gd_logreg._fitting import (
    fill_older_layout,
    fit_method,
    fitting,
)
from sklearn_gd_logreg._prediction import LinearPredictionMixin
from sklearn_gd_logreg._solvers import SOLVERS
from sklearn_gd_logreg._versioning import SklearnVersionMixin


class GDLogisticRegression(
    CallbackSupportMixin,
    SklearnVersionMixin,
    LinearPredictionMixin,
    ClassifierMixin,
    BaseEstimator,
):
    """Logistic regression trained by gradient descent.

    The course's algorithm (:mod:`sklearn_gd_logreg.core`) behind the
    scikit-learn classifier API: a sigmoid for two classes, a softmax
    (multinomial) for three or more, labels of any type, sample and class
    weights, and L2, L1 or elastic-net penalties. It minimises the weighted
    mean log-loss plus the penalty, the same objective as
    ``LogisticRegression(C=1 / (alpha * S))``, with ``S`` the sum of the
    sample weights (times ``class_weight``; ``n_samples`` without weights).

    Parameters
    ----------
    learning_rate : float or "auto", default="auto"
        Step size. ``"auto"`` uses ``1 / L``, with ``L`` the Lipschitz
        constant of the gradient estimated by 10 power iterations on a
        subsample (about the cost of one gradient); with it ``"gd"`` does not
        diverge. A fixed float is the course's ``learning_rate``. For
        ``"nesterov"`` and ``"bb"`` it is the first step of the line search;
        for ``"sgd"``
        the initial step of the schedule. A step that makes the weights
        grow without bound (``step * alpha > 2``, the L2 part then multiplies
        them by ``|1 - step * alpha| > 1`` at every step: for ``"gd"`` and a
        constant ``"sgd"`` step; for a decaying one, if the weights would
        grow over 1e10 times before it falls below ``2 / alpha``) raises a
        ``ValueError`` naming it and ``alpha`` before the first step, as do
        weights or a cost that stop being finite.
    max_iter : int, default=2000
        Maximum number of iterations: gradient steps (``"gd"``), accepted
        steps (``"nesterov"``, ``"bb"``) or epochs (``"sgd"``).
    tol : float, default=1e-4
        ``"gd"``, ``"nesterov"`` and ``"bb"`` stop when the largest absolute
        entry of
        the gradient (the gradient mapping with an L1 penalty) is
        ``<= tol``. ``"sgd"`` stops when the epoch's loss has not improved
        by ``tol`` for ``n_iter_no_change`` epochs (see also
        ``early_stopping``).
    alpha : float, default=1e-4
        Penalty strength, on the mean loss. ``0`` is the course's
        unregularised algorithm.
    penalty : {"l2", "l1", "elasticnet"} or None, default="l2"
        ``"l2"``: ``alpha/2 ||w||^2``; ``"l1"``: ``alpha ||w||_1``;
        ``"elasticnet"``: ``alpha (l1_ratio ||w||_1 + (1 - l1_ratio)/2
        ||w||^2)``; ``None``: no penalty. L1 parts are applied by a proximal
        step (soft-thresholding), so ``coef_`` has exact zeros. The intercept
        is never penalised.
    l1_ratio : float, default=0.15
        Share of L1 in ``penalty="elasticnet"``, in ``[0, 1]``.
    solver : {"gd", "nesterov", "bb", "sgd"}, default="gd"
        ``"gd"``: the course's full-batch gradient descent.
        ``"nesterov"``: accelerated gradient (FISTA) with a backtracking line
        search and adaptive restart; never diverges, usually many times
        fewer iterations. ``"bb"``: gradient descent whose step is the
        inverse of the curvature measured along the last step
        (Barzilai-Borwein), with a nonmonotone line search: never diverges,
        about one gradient per iteration, and on the benchmark problems
        (``benchmarks/README.md``) fewer gradients than ``"nesterov"``; its
        objective may rise for a few iterations. ``"sgd"``: mini-batch
        stochastic gradient descent over shuffled batches.
    batch_size : int, default=32
        Samples per mini-batch of ``"sgd"`` and ``partial_fit``, whose
        gradient is their weighted mean. The epoch runs compiled, at a cost
        per row that hardly depends on the batch size: smaller batches make
        more, noisier steps per epoch (``1`` is ``SGDClassifier``'s, and
        with ``average=True`` the fastest to stream; see ``average``).
    learning_rate_schedule : {"adaptive", "invscaling", "constant"}, \
            default="adaptive"
        Step of ``"sgd"`` and ``partial_fit``. ``"adaptive"``: constant while
        the loss improves, divided by 5 each time it has not improved by
        ``tol`` for ``n_iter_no_change`` epochs (as ``MLPClassifier``);
        ``"invscaling"``: ``learning_rate / (1 + e) ** power_t`` after ``e``
        epochs; ``"constant"``.
    power_t : float, default=0.5
        Exponent of the ``"invscaling"`` schedule.
    average : bool or int, default=False
        ``"sgd"`` and ``partial_fit`` (the other solvers ignore it):
        ``coef_`` and ``intercept_`` are the mean of the iterates after each
        mini-batch (Polyak-Ruppert averaging), much less noisy than the last
        iterate. ``True`` averages every iterate; an int ``a > 1`` starts
        once ``a`` samples have been seen (as ``SGDClassifier``), counting
        across ``partial_fit`` calls. With the ``"adaptive"`` schedule, each
        new step starts from the average and averages anew. The training
        loss in ``loss_curve_`` is that of the iterates; ``early_stopping``
        validates the average, and callbacks see it.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified), measure
        its log-loss at every iteration, keep the weights where it was
        lowest, and stop when it stops improving: ``"sgd"`` when it has not
        improved by ``tol`` for ``n_iter_no_change`` epochs; ``"gd"``,
        ``"nesterov"`` and ``"bb"``, whose steps improve it by small amounts,
        when it has reached no new minimum for ``n_iter_no_change``
        iterations (the held-out rows are then read once per iteration).
    validation_fraction : float, default=0.1
        Share of the data held out by ``early_stopping``.
    n_iter_no_change : int, default=5
        Iterations (epochs of ``"sgd"``) without improvement before the
        loss is said to stall (see ``tol`` and ``early_stopping``).
    fit_intercept : bool, default=True
        Whether to learn the bias ``b``; if ``False`` it stays 0.
    class_weight : dict, "balanced" or None, default=None
        Weights by class, multiplied into ``sample_weight``. ``"balanced"``
        weighs class ``k`` by ``S / (n_classes * S_k)``, ``S_k`` the sum of
        its samples' ``sample_weight`` (their number without weights) and
        ``S`` that of all, as ``LogisticRegression`` does.
    warm_start : bool, default=False
        Start ``fit`` from the previous ``coef_`` and ``intercept_`` instead of
        zeros.
    random_state : int, RandomState instance or None, default=None
        Shuffling of ``"sgd"`` and ``partial_fit``, and the split of
        ``early_stopping``. Full-batch solvers are deterministic.
    verbose : int, default=0
        If ``> 0``, print ``Cost after iteration i: c`` every 100 iterations,
        as the course's ``print_cost`` (every epoch for ``"sgd"``).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights (``w.T`` in the course's notation); one row for two classes.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Bias ``b``.
    n_iter_ : int
        Iterations run, in the solver's unit (see ``max_iter``); for
        ``"gd"`` each is one evaluation of the cost and gradient, the last of
        which takes no step when ``tol`` is met.
    loss_curve_ : ndarray of shape (`n_iter_`,)
        The objective at every iteration (for ``"sgd"``, the mean over each
        epoch's mini-batches). ``partial_fit`` adds one entry per call (an
        epoch of its rows); after a full-batch fit, it starts a new curve.
    learning_rate_ : float
        The step used: the value ``"auto"`` chose, or for ``"nesterov"`` and
        ``"bb"`` the last step of the line search.
    t_ : float
        Epochs of ``"sgd"`` or ``partial_fit`` seen, which drive the
        ``"invscaling"`` schedule.
    validation_scores_ : ndarray of shape (`n_iter_`,) or None
        Validation log-loss per iteration, with ``early_stopping``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.

    See Also
    --------
    sklearn.linear_model.LogisticRegression : The same model, solved by
        second-order and coordinate methods.
    sklearn_gd_logreg.ImageFlattener : Turns image arrays into rows for it.

    Notes
    -----
    ``fit`` and ``partial_fit`` are atomic: they work on a copy of the
    estimator and replace its fitted state in one step at the end. If they
    raise (bad input, or a ``learning_rate`` that makes the iterates
    diverge), the estimator keeps the state it had before the call. Calls on
    one instance from several threads run one at a time: fits leave the
    whole model of the last, and every ``partial_fit`` counts. Parameters
    given as NumPy scalars
    (``np.float64(1e-4)``, as ``np.logspace`` makes) act exactly as Python
    numbers, and the caller's ``np.errstate`` does not change the result.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_gd_logreg import GDLogisticRegression
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(), GDLogisticRegression(alpha=1e-2))
    >>> clf = clf.fit(X, y)
    >>> round(clf.score(X, y), 3)
    0.986
    >>> clf[-1].n_iter_  # iterations until the largest gradient entry <= tol
    768
    >>> fast = make_pipeline(
    ...     StandardScaler(), GDLogisticRegression(alpha=1e-2, solver="nesterov")
    ... ).fit(X, y)
    >>> fast[-1].n_iter_ < 200
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "learning_rate": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
        ],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "solver": [StrOptions(set(SOLVERS))],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate_schedule": [StrOptions({"adaptive", "invscaling", "constant"})],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "average": ["boolean", Interval(Integral, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "fit_intercept": ["boolean"],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        learning_rate: float | str = "auto",
        max_iter: int = 2000,
        tol: float = 1e-4,
        alpha: float = 1e-4,
        penalty: str | None = "l2",
        l1_ratio: float = 0.15,
        solver: str = "gd",
        batch_size: int = 32,
        learning_rate_schedule: str = "adaptive",
        power_t: float = 0.5,
        average: bool | int = False,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 5,
        fit_intercept: bool = True,
        class_weight: dict | str | None = None,
        warm_start: bool = False,
        random_state=None,
        verbose: int = 0,
    ):
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.alpha = alpha
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.solver = solver
        self.batch_size = batch_size
        self.learning_rate_schedule = learning_rate_schedule
        self.power_t = power_t
        self.average = average
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    @fit_method
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None) -> GDLogisticRegression:
        """Fit the model with the chosen solver.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data. A Dask array (dense or CSR chunks) or DataFrame
            stays on its workers: each gradient is summed there, chunk by
            chunk (README, "When the data outgrow one machine"). Under
            ``sklearn.set_config(array_api_dispatch=True)``, an array of
            another Array API library (a torch tensor on a GPU) is fitted in
            that library, on its device (README, "On a GPU").
        y : array-like of shape (n_samples,)
            Class labels, of any type; at least two classes. For a Dask
            ``X``, a Dask array or Series chunked like it.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight per sample; a weight of 2 counts a row twice.

        Returns
        -------
        self : GDLogisticRegression
            The fitted estimator.
        """
        with fitting(self, "fit", self.max_iter) as (work, hooks):
            fit_path(work, X, y, sample_weight, hooks)
        return self

    @fit_method
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self, X, y, classes=None, sample_weight=None
    ) -> GDLogisticRegression:
        """One epoch of mini-batch SGD over ``X``, updating the model in place.

        For data that arrive in chunks or do not fit in memory. The step
        follows ``learning_rate_schedule`` across calls (``t_`` counts the
        epochs seen); ``"auto"`` is ``1 / L`` for the mean of the chunks'
        ``L`` so far (each estimated as for ``fit``), weighted by their
        numbers of rows, so that no one chunk sets it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A chunk of training data (a Dask array or DataFrame is streamed
            to the client one of its chunks at a time).
        y : array-like of shape (n_samples,)
            Its labels, all in ``classes``.
        classes : array-like of shape (n_classes,), default=None
            Every label of the whole stream. Required on the first call; on
            later calls it must equal ``classes_`` if given.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight per sample (times ``class_weight``). A chunk
            whose mean weight is below that of the samples of the calls
            before (since the last ``fit``) makes steps smaller in
            proportion; a heavier one keeps its own scale, so that its steps
            stay within the step size. Scaling every call's weights by one
            constant changes nothing (up to rounding).

        Returns
        -------
        self : GDLogisticRegression
            The updated estimator.
        """
        with fitting(self, "partial_fit", 1) as (work, hooks):  # one epoch
            fit_path(
                work, X, y, sample_weight, hooks, classes=classes, incremental=True
            )
        return self

    def __setstate__(self, state):
        super().__setstate__(state)
        if hasattr(self, "coef_"):
            fill_older_layout(self)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # CSR and CSC, never densified
        tags.array_api_support = True  # under dispatch, on X's device
        return tags
