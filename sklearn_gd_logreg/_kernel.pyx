# cython: language_level=3, boundscheck=False, wraparound=False
# cython: cdivision=True, initializedcheck=False
"""The compiled twin of :func:`sklearn_gd_logreg.core.propagate`'s sums.

For ``X`` in scikit-learn's layout (one sample per row), the sums over samples that
``propagate`` needs, in one pass over ``X``: per row, its scores ``z = W.T x + b``,
its loss and ``dz = s (a - y)``, then ``G += x dz.T`` while the row is in the level-1
cache (in one loop with the next rows' scores), so that ``X`` comes from memory
once. The rows are split into ``T`` contiguous ranges, one task each (an OpenMP
``prange`` over the tasks), each summed into its own float64 buffers; ``_twin``
adds them in task order, so the result depends on ``T``, never on timing. ``T = 1``
runs in the calling thread without OpenMP.
"""

cimport openmp
from cython cimport floating
from cython.parallel cimport prange
from libc.stdlib cimport calloc, free

ctypedef fused index_t:
    int
    long long

cdef extern from "_kernel.h" nogil:
    enum: TWIN_CHUNK
    enum: TWIN_BLOCK
    void twin_rows_f(const double *a, const float *xa, Py_ssize_t ra, double *g,
                     const float *xd, Py_ssize_t rd, const float *w,
                     Py_ssize_t n, double *z, const char *pf, Py_ssize_t pf_bytes)
    void twin_rows_d(const double *a, const double *xa, Py_ssize_t ra, double *g,
                     const double *xd, Py_ssize_t rd, const double *w,
                     Py_ssize_t n, double *z, const char *pf, Py_ssize_t pf_bytes)
    double twin_loss_f(double *z, Py_ssize_t rows, Py_ssize_t K, const float *y,
                       Py_ssize_t m, const float *s, double *db)
    double twin_loss_d(double *z, Py_ssize_t rows, Py_ssize_t K, const double *y,
                       Py_ssize_t m, const double *s, double *db)


if TWIN_BLOCK != 8:  # the dense loops step by 8 rows, a literal Cython needs
    raise ImportError("_kernel.h's TWIN_BLOCK must be 8, as _kernel.pyx's loops")


def max_threads():
    """OpenMP's thread limit for the calling thread (what threadpoolctl sets)."""
    return openmp.omp_get_max_threads()


cdef inline double _loss(double *z, Py_ssize_t rows, Py_ssize_t K,
                         const floating *Y, Py_ssize_t m, const floating *sw,
                         Py_ssize_t i, double *db) noexcept nogil:
    """Loss of rows ``i:i + rows`` from their scores ``z``, which become dz."""
    if floating is float:
        return twin_loss_f(z, rows, K, Y + i, m, sw if sw == NULL else sw + i, db)
    else:
        return twin_loss_d(z, rows, K, Y + i, m, sw if sw == NULL else sw + i, db)


cdef double _dense_rows(
    const floating *X, Py_ssize_t n, const floating *WT, const double *b,
    Py_ssize_t K, const floating *Y, Py_ssize_t m, const floating *sw,
    Py_ssize_t lo, Py_ssize_t hi, double *GT, double *db,
) noexcept nogil:
    """Rows ``lo:hi`` of dense ``X`` (``m x n``): their loss, summed and returned;
    ``dz x`` added into ``GT`` (``K x n``), ``dz`` into ``db``, once (another task's
    ``db`` may share its line). A chunk of rows at a time, as many blocks of
    TWIN_BLOCK as fill 16 KiB (at least one, at most TWIN_CHUNK rows): their losses
    from their scores (vectorised across the rows), then their updates while they are
    in the level-1 cache, in one loop with the next chunk's scores (``twin_rows``),
    which also asks for the rows about 32 KiB further on (at least 8 rows)."""
    cdef double *z = <double *> calloc(2 * K * TWIN_CHUNK + K, sizeof(double))
    cdef double *nz = z + K * TWIN_CHUNK
    cdef double *dbt = nz + K * TWIN_CHUNK
    cdef double *buffer = z
    cdef double loss = 0.0
    cdef const floating *x
    cdef const floating *xd
    cdef const char *pf
    cdef Py_ssize_t i = lo, k, r, rows = 0, nrows, ra, rd, block = TWIN_BLOCK
    cdef Py_ssize_t row = n * <Py_ssize_t> sizeof(floating), ahead, pf_bytes  # bytes
    cdef Py_ssize_t chunk = 16384 // max(1, row), far = 32768 // max(1, row)
    chunk = max(block, min(<Py_ssize_t> TWIN_CHUNK, chunk - chunk % block))
    far = max(block, far - far % block)  # rows from those read to those asked for
    nrows = min(chunk, hi - i)
    while rows + nrows > 0:  # z: dz of rows i:i + rows; nz: the next rows
        for k in range(K):
            for r in range(nrows):
                nz[k * TWIN_CHUNK + r] = b[k]
            for r in range(0, max(rows, nrows), 8):  # TWIN_BLOCK
                x = X + (i + r) * n
                xd = x + rows * n if r < nrows else x  # never past X's end
                ra, rd = max(0, min(block, rows - r)), max(0, min(block, nrows - r))
                ahead = i + rows + r + far  # asked for once, with the first class
                pf_bytes = 0 if k else max(0, min(block, hi - ahead)) * row
                pf = <const char *> (X + ahead * n if pf_bytes else X)
                if floating is float:
                    twin_rows_f(z + k * TWIN_CHUNK + r, x, ra, GT + k * n, xd, rd,
                                WT + k * n, n, nz + k * TWIN_CHUNK + r, pf, pf_bytes)
                else:
                    twin_rows_d(z + k * TWIN_CHUNK + r, x, ra, GT + k * n, xd, rd,
                                WT + k * n, n, nz + k * TWIN_CHUNK + r, pf, pf_bytes)
        i, rows, nrows = i + rows, nrows, 0
        z, nz = nz, z
        if rows > 0:
            loss += _loss(z, rows, K, Y, m, sw, i, dbt)
            nrows = min(chunk, hi - i - rows)
    for k in range(K):
        db[k] += dbt[k]
    free(buffer)
    return loss


cdef inline bint _sparse_row(
    const floating *data, const index_t *indices, const index_t *indptr,
    Py_ssize_t i, Py_ssize_t nnz, Py_ssize_t n, Py_ssize_t K,
    const floating *W, double *G, double *z,
) noexcept nogil:
    """CSR row ``i`` meets the weights: ``z[k * TWIN_CHUNK] += x . W[:, k]``
    (``G`` NULL), or ``G[:, k] += z[k * TWIN_CHUNK] x``. Returns ``False``,
    having touched nothing out of bounds, if an index or ``indptr`` is out of
    range: each is checked where it is used, as the arrays may change."""
    cdef Py_ssize_t start = indptr[i], stop = indptr[i + 1], j, k, p
    cdef double v, dot = 0.0, dz = z[0]  # in registers, not through z
    if not 0 <= start <= stop <= nnz:
        return False
    for p in range(start, stop):
        j, v = indices[p], data[p]
        if <size_t> j >= <size_t> n:  # j < 0 or j >= n, in one comparison
            return False
        if K == 1:  # the common case, without the loop over classes
            if G == NULL:
                dot += v * W[j]
            else:
                G[j] += v * dz
            continue
        for k in range(K):
            if G == NULL:
                z[k * TWIN_CHUNK] += v * W[j * K + k]
            else:
                G[j * K + k] += v * z[k * TWIN_CHUNK]
    if K == 1 and G == NULL:
        z[0] += dot
    return True


cdef double _sparse_rows(
    const floating *data, const index_t *indices, const index_t *indptr,
    Py_ssize_t nnz, Py_ssize_t n, const floating *W, const double *b,
    Py_ssize_t K, const floating *Y, Py_ssize_t m, const floating *sw,
    Py_ssize_t lo, Py_ssize_t hi, double *G, double *db, int *bad,
) noexcept nogil:
    """As :func:`_dense_rows`, for CSR rows, ``W`` and ``G`` ``n x K`` (a stored value
    meets ``K`` contiguous weights); a row out of range sets ``bad``: its task stops."""
    cdef double *z = <double *> calloc(K * TWIN_CHUNK + K, sizeof(double))
    cdef double *dbt = z + K * TWIN_CHUNK
    cdef double loss = 0.0
    cdef Py_ssize_t i = lo, k, r, rows
    while i < hi and not bad[0]:
        rows = min(<Py_ssize_t> TWIN_CHUNK, hi - i)
        for r in range(rows):
            for k in range(K):
                z[k * TWIN_CHUNK + r] = b[k]
            if not (_sparse_row(data, indices, indptr, i + r, nnz, n, 1, W, NULL, z + r)
                    if K == 1  # a literal, folded into the loop by the compiler
                    else _sparse_row(data, indices, indptr, i + r, nnz, n, K, W, NULL, z + r)):
                bad[0] = 1
        if bad[0]:
            break
        loss += _loss(z, rows, K, Y, m, sw, i, dbt)
        for r in range(rows):
            if not (_sparse_row(data, indices, indptr, i + r, nnz, n, 1, W, G, z + r)
                    if K == 1
                    else _sparse_row(data, indices, indptr, i + r, nnz, n, K, W, G, z + r)):
                bad[0] = 1
        i += rows
    for k in range(K):
        db[k] += dbt[k]
    free(z)
    return loss


def dense(
    const floating[:, ::1] X, const floating[:, ::1] WT, const double[::1] b,
    const floating[:, ::1] Y, const floating[::1] sw,
    double[:, :, ::1] G, double[:, ::1] db, double[::1] loss,
):
    """Sums over the rows of ``X`` (``m x n``), split into ``T = len(loss)`` tasks:
    task ``t`` takes rows ``t m / T`` to ``(t + 1) m / T`` into ``loss[t]``, ``G[t]``
    and ``db[t]`` (``K``), which must be zeros. ``WT`` and ``G[t]`` are ``K x n``,
    ``Y`` is ``K x m``, ``sw`` is ``m`` or None."""
    cdef Py_ssize_t T = loss.shape[0], m = X.shape[0], n = X.shape[1]
    cdef Py_ssize_t K = WT.shape[0], t
    cdef const floating *s = <const floating *> NULL if sw is None else &sw[0]
    if m == 0:
        return
    with nogil:
        if T == 1:
            loss[0] = _dense_rows(&X[0, 0], n, &WT[0, 0], &b[0], K, &Y[0, 0], m,
                                  s, 0, m, &G[0, 0, 0], &db[0, 0])
        else:
            for t in prange(T, schedule="static", chunksize=1, num_threads=T):
                loss[t] = _dense_rows(
                    &X[0, 0], n, &WT[0, 0], &b[0], K, &Y[0, 0], m, s,
                    t * m // T, (t + 1) * m // T, &G[t, 0, 0], &db[t, 0],
                )


def sparse(
    const floating[::1] data, const index_t[::1] indices,
    const index_t[::1] indptr, Py_ssize_t n,
    const floating[:, ::1] W, const double[::1] b,
    const floating[:, ::1] Y, const floating[::1] sw,
    double[:, :, ::1] G, double[:, ::1] db, double[::1] loss,
):
    """:func:`dense` for CSR rows (``n`` columns), with ``W`` and ``G[t]`` ``n x K``;
    returns ``False`` if an index or ``indptr`` was out of range (sums meaningless)."""
    cdef Py_ssize_t T = loss.shape[0], m = indptr.shape[0] - 1
    cdef Py_ssize_t nnz = data.shape[0], K = W.shape[1], t
    cdef const floating *s = <const floating *> NULL if sw is None else &sw[0]
    cdef int bad = 0
    if m <= 0:
        return True
    if indices.shape[0] < nnz or Y.shape[1] != m:
        return False
    with nogil:
        if T == 1:
            loss[0] = _sparse_rows(&data[0], &indices[0], &indptr[0], nnz, n,
                                   &W[0, 0], &b[0], K, &Y[0, 0], m, s, 0, m,
                                   &G[0, 0, 0], &db[0, 0], &bad)
        else:
            for t in prange(T, schedule="static", chunksize=1, num_threads=T):
                loss[t] = _sparse_rows(
                    &data[0], &indices[0], &indptr[0], nnz, n, &W[0, 0], &b[0],
                    K, &Y[0, 0], m, s, t * m // T, (t + 1) * m // T,
                    &G[t, 0, 0], &db[t, 0], &bad,
                )
    return not bad
