# cython: language_level=3, boundscheck=False, wraparound=False
# cython: cdivision=True, initializedcheck=False
"""One epoch of ``"sgd"`` compiled: the twin of ``_sgd_epochs.python_epoch``.

The same update as the Python loop, batch by batch over the rows in the
given ``order``: the scores of a batch's rows at the current ``w``, their
losses and ``dz = s (a - y)`` (the twin's own vectorised loss,
``_kernel.h``), then

    w <- prox_{eta l1}(w - eta (l2 w + c sum_B dz_i x_i)),  b <- b - eta c sum_B dz_i

with ``c = 1 / (|B| mean(s))``, the step ``eta`` of the schedule, and the
Polyak-Ruppert average of the iterates when asked.

Dense rows update every weight at every batch, as the Python loop does. A
sparse batch touches few features, so the other weights are kept lazy, as
scikit-learn's ``_plain_sgd`` keeps them (``sklearn/linear_model/
_sgd_fast.pyx.tp``): ``w = scale * v``, the L2 shrink multiplies ``scale``
only (rescaled into ``v`` when it falls under 1e-9), and the L1 proximal
steps are summed in ``U`` (in units of ``v``), a feature catching up on
what it missed, ``U - mark[j]``, when a batch touches it. Unlike
``_plain_sgd``'s clipped cumulative penalty this is the exact proximal
step: soft-thresholds compose, ``S_a(S_b(v)) = S_{a+b}(v)``. The average
is lazy too without L1: a feature's iterates between two changes are
``scale_t v_j``, whose sum is ``v_j`` times the sum of the scales. With L1
and averaging, sparse batches catch every feature up.
"""

from libc.math cimport fabs, isfinite, pow
from libc.stdlib cimport calloc, free

ctypedef fused floating:
    float
    double

ctypedef fused index_t:
    int
    long long

ctypedef Py_ssize_t intp

cdef extern from "_kernel.h" nogil:
    enum: TWIN_CHUNK
    double twin_loss_d(double *z, Py_ssize_t rows, Py_ssize_t K, const double *y,
                       Py_ssize_t m, const double *s, double *db)

cdef enum:  # state[...]: what an epoch reads, and leaves for the next
    EPOCHS_SEEN = 0  # drives "invscaling"
    TOTAL = 1  # sum over the batches of their weighted losses
    WEIGHT = 2  # sum of the weights of the batches that had any
    ETA = 3  # the last step
    SEEN = 4  # samples seen, which start the average
    N_AVERAGED = 5  # iterates averaged so far
    FAILED = 6  # -1, or the batch whose loss was not finite

cdef enum:  # params[...]: the epoch's constants
    ETA0 = 0  # learning_rate times the "adaptive" shrink
    INVSCALING = 1  # 1.0: the step is eta0 (1 + epochs_seen) ** -power_t
    POWER_T = 2
    PER_BATCH = 3  # 1 / n_batches, added to epochs_seen per batch
    MEAN_WEIGHT = 4
    L1 = 5
    L2 = 6
    INTERCEPT = 7  # 1.0: b is fitted
    AVERAGE = 8  # 0: no average, else the samples seen before it starts


cdef struct Batch:
    double *z     # K x TWIN_CHUNK per chunk of rows: scores, then dz
    double *y     # the rows' labels, in the same layout
    double *s     # their weights, TWIN_CHUNK per chunk
    double *db    # K: sum of dz
    double loss, weight


cdef inline double _soft(double v, double t) noexcept nogil:
    """Soft-thresholding of ``v`` by ``t >= 0``."""
    if v > t:
        return v - t
    if v < -t:
        return v + t
    return 0.0


cdef inline double _eta(double[::1] state, const double[::1] params) noexcept nogil:
    """The step of the next batch, which is then counted in ``epochs_seen``."""
    cdef double eta = params[ETA0]
    if params[INVSCALING] != 0.0:
        eta = eta * pow(1.0 + state[EPOCHS_SEEN], -params[POWER_T])
    state[EPOCHS_SEEN] += params[PER_BATCH]
    state[ETA] = eta
    return eta


cdef inline void _gather(Batch *bt, const floating[:, ::1] Y, const double[::1] sw,
                         intp K, intp r, intp i) noexcept nogil:
    """Row ``i``'s label and weight into slot ``r`` of the batch."""
    cdef intp c = r // TWIN_CHUNK, q = r % TWIN_CHUNK, k
    for k in range(K):
        bt.y[(c * K + k) * TWIN_CHUNK + q] = Y[k, i]
    bt.s[c * TWIN_CHUNK + q] = sw[i]
    bt.weight += sw[i]


cdef inline void _losses(Batch *bt, intp rows, intp K) noexcept nogil:
    """The losses of the batch's ``rows`` from their scores, which become dz."""
    cdef intp c = 0, n
    while c < rows:
        n = min(<intp> TWIN_CHUNK, rows - c)
        bt.loss += twin_loss_d(bt.z + c * K, n, K, bt.y + c * K, TWIN_CHUNK,
                               bt.s + c, bt.db)
        c += TWIN_CHUNK


cdef inline double _dz(Batch *bt, intp K, intp r, intp k) noexcept nogil:
    return bt.z[((r // TWIN_CHUNK) * K + k) * TWIN_CHUNK + r % TWIN_CHUNK]


cdef inline bint _step_b(Batch *bt, double[::1] b, double[::1] state,
                         const double[::1] params, intp rows, intp K,
                         double eta, intp batch, double *c) noexcept nogil:
    """The batch's loss checked and counted, ``b`` stepped; ``c`` is then
    ``scale / S``, which multiplies ``sum dz x``. False if the loss is not
    finite."""
    cdef double scale
    cdef intp k
    c[0] = 0.0
    if bt.weight > 0.0:  # else only the penalty's step
        if not isfinite(bt.loss):
            state[FAILED] = batch
            return False
        state[TOTAL] += bt.loss
        state[WEIGHT] += bt.weight
        scale = bt.weight / (rows * params[MEAN_WEIGHT])
        c[0] = scale / bt.weight
        if params[INTERCEPT] != 0.0:
            for k in range(K):
                b[k] -= eta * (scale * (bt.db[k] / bt.weight))
    return True


cdef inline bint _averaging(double[::1] state, const double[::1] params,
                            intp rows) noexcept nogil:
    """Count the batch's samples; whether its iterate joins the average."""
    state[SEEN] += rows
    if params[AVERAGE] == 0.0 or state[SEEN] < params[AVERAGE]:
        return False
    state[N_AVERAGED] += 1.0
    return True


cdef Batch _batch(intp batch_size, intp K):
    cdef Batch bt
    cdef intp chunks = (batch_size + TWIN_CHUNK - 1) // TWIN_CHUNK
    bt.z = <double *> calloc((2 * K + 1) * chunks * TWIN_CHUNK + K, sizeof(double))
    bt.y = bt.z + K * chunks * TWIN_CHUNK
    bt.s = bt.y + K * chunks * TWIN_CHUNK
    bt.db = bt.s + chunks * TWIN_CHUNK
    return bt


cdef inline void _reset(Batch *bt, intp K) noexcept nogil:
    cdef intp k
    bt.loss = bt.weight = 0.0
    for k in range(K):
        bt.db[k] = 0.0


def dense(
    const floating[:, ::1] X, const floating[:, ::1] Y, const double[::1] sw,
    const intp[::1] order, intp batch_size, double[:, ::1] W, double[::1] b,
    double[:, ::1] AW, double[::1] AB, double[::1] state, const double[::1] params,
):
    """One epoch over the dense rows of ``X`` (``m x n``) in ``order``,
    ``batch_size`` at a time: ``W`` (``n x K``) and ``b`` (``K``) updated in
    place, their average into ``AW`` and ``AB``; ``Y`` is ``K x m``."""
    cdef intp m = X.shape[0], n = X.shape[1], K = W.shape[1]
    cdef intp start, rows, r, i, j, k, batch
    cdef double eta, c, d, w, l1, l2 = params[L2], mu, dot
    cdef double *G
    cdef double *Wp = &W[0, 0]
    cdef const floating *x
    cdef Batch bt = _batch(batch_size, K)
    G = <double *> calloc(n * K, sizeof(double))
    if bt.z == NULL or G == NULL:
        free(bt.z)
        free(G)
        raise MemoryError()
    with nogil:
        for batch in range((m + batch_size - 1) // batch_size):
            start = batch * batch_size
            rows = min(batch_size, m - start)
            _reset(&bt, K)
            for r in range(rows):  # scores at the batch's w
                i = order[start + r]
                _gather(&bt, Y, sw, K, r, i)
                x = &X[i, 0]
                for k in range(K):
                    dot = b[k]
                    for j in range(n):
                        dot = dot + x[j] * W[j, k]
                    bt.z[((r // TWIN_CHUNK) * K + k) * TWIN_CHUNK + r % TWIN_CHUNK] = dot
            _losses(&bt, rows, K)
            eta = _eta(state, params)
            if not _step_b(&bt, b, state, params, rows, K, eta, batch, &c):
                break
            if c != 0.0:  # sum dz x
                for r in range(rows):
                    x = &X[order[start + r], 0]
                    for k in range(K):
                        d = _dz(&bt, K, r, k)
                        for j in range(n):
                            G[j * K + k] += d * x[j]
            l1 = eta * params[L1]
            for j in range(n * K):  # W and G are both n x K, C-ordered
                w = Wp[j]
                w = w - eta * (l2 * w + c * G[j])
                Wp[j] = _soft(w, l1) if l1 != 0.0 else w
                G[j] = 0.0
            if _averaging(state, params, rows):
                mu = 1.0 / state[N_AVERAGED]
                for j in range(n):
                    for k in range(K):
                        AW[j, k] += (W[j, k] - AW[j, k]) * mu
                for k in range(K):
                    AB[k] += (b[k] - AB[k]) * mu
    free(bt.z)
    free(G)


cdef inline void _catch_up(double[:, ::1] V, double *mark, double U, intp j,
                           intp K) noexcept nogil:
    """Feature ``j``'s L1 steps since it was last touched."""
    cdef double t = U - mark[j]
    cdef intp k
    if t > 0.0:
        for k in range(K):
            V[j, k] = _soft(V[j, k], t)
        mark[j] = U


cdef inline void _settle(double[:, ::1] V, double *mark, double *U,
                         double *scale, double factor) noexcept nogil:
    """Every feature caught up, ``V *= scale * factor``, the scale back to 1."""
    cdef intp j, k, n = V.shape[0], K = V.shape[1]
    cdef double f = scale[0] * factor
    for j in range(n):
        _catch_up(V, mark, U[0], j, K)
        for k in range(K):
            V[j, k] *= f
        mark[j] = 0.0
    U[0], scale[0] = 0.0, 1.0


cdef inline void _sum_up(double[:, ::1] V, double[:, ::1] A, double *amark,
                         double S, intp j, intp K) noexcept nogil:
    """Feature ``j``'s averaged iterates since it last changed, added to
    the sums ``A``: it was ``scale_t v_j`` at each, so they sum to ``v_j``
    times the scales' sum since then, ``S - amark[j]``."""
    cdef double t = S - amark[j]
    cdef intp k
    if t != 0.0:
        for k in range(K):
            A[j, k] += t * V[j, k]
        amark[j] = S


cdef void _sum_all(double[:, ::1] V, double[:, ::1] A, double *amark,
                   double *S) noexcept nogil:
    """Every feature's sum up to date; the scales' sum restarts at 0."""
    cdef intp j
    for j in range(V.shape[0]):
        _sum_up(V, A, amark, S[0], j, V.shape[1])
        amark[j] = 0.0
    S[0] = 0.0


def sparse(
    const floating[::1] data, const index_t[::1] indices, const index_t[::1] indptr,
    const floating[:, ::1] Y, const double[::1] sw,
    const intp[::1] order, intp batch_size, double[:, ::1] W, double[::1] b,
    double[:, ::1] AW, double[::1] AB, double[::1] state, const double[::1] params,
):
    """:func:`dense` for CSR rows (``n = len(W)`` columns), the weights kept
    lazy within the epoch (``W`` holds them all at its end). Without L1 the
    average is lazy too (as ``_plain_sgd``'s): ``AW`` holds the iterates'
    sums within the epoch, each feature's brought up to date when it
    changes. False if an index was out of range (the model is then
    meaningless)."""
    cdef intp m = indptr.shape[0] - 1, n = W.shape[0], K = W.shape[1]
    cdef intp nnz = data.shape[0], start, rows, r, i, j, k, p, batch
    cdef double eta, c, d, factor, scale = 1.0, U = 0.0, l2 = params[L2], mu
    cdef double dot, S = 0.0  # the scales' sum over the averaged steps
    cdef bint bad = False
    cdef bint lazy = params[AVERAGE] != 0.0 and params[L1] == 0.0
    cdef Batch bt = _batch(batch_size, K)
    cdef double *mark = <double *> calloc(2 * n + K, sizeof(double))
    cdef double *amark = mark + n  # S when each feature's sum was last added
    cdef double *z = mark + 2 * n  # one row's K scores
    if bt.z == NULL or mark == NULL:
        free(bt.z)
        free(mark)
        raise MemoryError()
    with nogil:
        for i in range(m):  # the structure, checked once
            if not 0 <= indptr[i] <= indptr[i + 1] <= nnz:
                bad = True
        for p in range(0 if bad else indptr[m]):
            if not 0 <= indices[p] < n:
                bad = True
        if lazy:  # the mean so far, as a sum
            for j in range(n):
                for k in range(K):
                    AW[j, k] *= state[N_AVERAGED]
        for batch in range(0 if bad else (m + batch_size - 1) // batch_size):
            start = batch * batch_size
            rows = min(batch_size, m - start)
            _reset(&bt, K)
            for r in range(rows):  # scores at the batch's w
                i = order[start + r]
                _gather(&bt, Y, sw, K, r, i)
                if K == 1 and U == 0.0:  # the common case: no L1 pending
                    dot = 0.0
                    for p in range(indptr[i], indptr[i + 1]):
                        dot = dot + data[p] * W[indices[p], 0]
                    z[0] = dot
                else:
                    for k in range(K):
                        z[k] = 0.0
                    for p in range(indptr[i], indptr[i + 1]):
                        j = indices[p]
                        _catch_up(W, mark, U, j, K)
                        for k in range(K):
                            z[k] += data[p] * W[j, k]
                for k in range(K):
                    bt.z[((r // TWIN_CHUNK) * K + k) * TWIN_CHUNK + r % TWIN_CHUNK] = (
                        b[k] + scale * z[k]
                    )
            _losses(&bt, rows, K)
            eta = _eta(state, params)
            if not _step_b(&bt, b, state, params, rows, K, eta, batch, &c):
                break
            factor = 1.0 - eta * l2
            if fabs(scale * factor) < 1e-9:  # as _plain_sgd: v takes the scale
                if lazy:
                    _sum_all(W, AW, amark, &S)
                _settle(W, mark, &U, &scale, factor)
            else:
                scale *= factor
            if c != 0.0:  # v -= eta c dz x / scale
                c = eta * c / scale
                for r in range(rows):
                    i = order[start + r]
                    for k in range(K):
                        d = c * _dz(&bt, K, r, k)
                        for p in range(indptr[i], indptr[i + 1]):
                            if lazy:  # its sum, before it changes
                                _sum_up(W, AW, amark, S, indices[p], K)
                            W[indices[p], k] -= d * data[p]
            if params[L1] != 0.0:  # this step's threshold, applied to the batch
                U += eta * params[L1] / fabs(scale)
                for r in range(rows):
                    i = order[start + r]
                    for p in range(indptr[i], indptr[i + 1]):
                        _catch_up(W, mark, U, indices[p], K)
            if _averaging(state, params, rows):
                mu = 1.0 / state[N_AVERAGED]
                if lazy:  # every w_j is scale * v_j after this step
                    S += scale
                else:
                    for j in range(n):
                        _catch_up(W, mark, U, j, K)
                        for k in range(K):
                            AW[j, k] += (scale * W[j, k] - AW[j, k]) * mu
                for k in range(K):
                    AB[k] += (b[k] - AB[k]) * mu
        if lazy:  # the sums, then the mean
            _sum_all(W, AW, amark, &S)
            mu = 1.0 / state[N_AVERAGED] if state[N_AVERAGED] else 0.0
            for j in range(n):
                for k in range(K):
                    AW[j, k] *= mu
        _settle(W, mark, &U, &scale, 1.0)
    free(bt.z)
    free(mark)
    return not bad
