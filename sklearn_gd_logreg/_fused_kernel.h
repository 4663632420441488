/* One fused pass over a range of samples, for one real type and one index
 * type; included by _fused.c once per (REAL, INDEX) pair, which defines
 *
 *   REAL, INDEX          the data's and the sparse indices' C types
 *   SUFFIX(name)         name with a suffix naming the pair
 *   IREAL                the integer type of REAL's size
 *   EXP_MIN, SHIFTER, LN2_HI, LN2_LO, EXP_DEGREE, LOG1P_TERMS, BIAS,
 *   MANT_BITS            REAL's constants for vexp and vlog1p
 *   WITH_DENSE           1 in one inclusion per REAL (dense needs no INDEX)
 *
 * Per sample i (a row of the scikit-learn layout, a column of the course's):
 *
 *   z_k  = x_i . w_k + b_k                         (k < K)
 *   loss = log(1 + exp(z)) - y z                   (K = 1)
 *        = log(sum_k exp(z_k)) - y . z             (K > 1)
 *   dz_k = s_i (a_k - y_k),   a = sigmoid(z) or softmax(z)
 *   g_k += dz_k x_i,  dz_sum_k += dz_k,  loss_sum += s_i loss
 *
 * Rows are taken CHUNK at a time: the chunk's scores, then its activations,
 * then its updates, so that a row is read from memory once and a second time
 * from the level-1 cache. Dense g is summed in REAL over at most FLUSH rows,
 * then added to the task's float64 sums, so float32 data loses no more than
 * FLUSH rows' worth of rounding. */

/* Explicit vectors of VBYTES bytes (GCC/Clang vector extensions): the
 * compiler maps them to the widest registers of each clone (two AVX2 or
 * four SSE2 registers per vector where AVX-512 is not compiled in). */
typedef REAL SUFFIX(vec) __attribute__((vector_size(VBYTES)));
typedef IREAL SUFFIX(ivec) __attribute__((vector_size(VBYTES)));
#define VEC SUFFIX(vec)
#define IVEC SUFFIX(ivec)
#define VLEN ((Py_ssize_t)(VBYTES / sizeof(REAL)))

#define SPLAT(c) ((VEC){0} + (REAL)(c)) /* every lane c */
/* mask ? a : b, lanewise, for a mask from a comparison (all bits 0 or 1) */
#define SELECT(mask, a, b) ((VEC)(((IVEC)(a) & (mask)) | ((IVEC)(b) & ~(mask))))

static INLINE VEC SUFFIX(load)(const REAL *p) {
    VEC v;
    memcpy(&v, p, sizeof v); /* an unaligned load */
    return v;
}

/* The first `lanes` values at p (the rest 0), and their store back. */
static INLINE VEC SUFFIX(load_part)(const REAL *p, Py_ssize_t lanes) {
    if (lanes == VLEN) return SUFFIX(load)(p);
    VEC v = {0};
    for (Py_ssize_t l = 0; l < lanes; l++) v[l] = p[l];
    return v;
}

static INLINE void SUFFIX(store_part)(REAL *p, const VEC *v, Py_ssize_t lanes) {
    if (lanes == VLEN)
        memcpy(p, v, sizeof *v);
    else
        for (Py_ssize_t l = 0; l < lanes; l++) p[l] = (*v)[l];
}

static INLINE REAL SUFFIX(hsum)(const VEC *v) {
    REAL total = 0;
    for (Py_ssize_t l = 0; l < VLEN; l++) total += (*v)[l];
    return total;
}

#if WITH_DENSE
/* K = 1. Scores of `rows` consecutive dense rows (row-major, n wide) for
 * the weights w: four rows at a time, so that four independent sums keep
 * the vector units busy (one sum would wait on each addition) and share the
 * loads of w. The rows `ahead_rows` further on are prefetched meanwhile: four
 * interleaved short rows are a pattern the hardware prefetcher follows late
 * (measured on 200 000 x 200: 8 % faster in float64, 35 % in float32). A
 * prefetch past the end of X is harmless (it never faults). */
static INLINE void SUFFIX(dense_scores)(const REAL *restrict X, Py_ssize_t rows,
                                        Py_ssize_t n, const REAL *restrict w, REAL b,
                                        Py_ssize_t ahead_rows, REAL *restrict z) {
    const Py_ssize_t nv = n - n % VLEN;
    Py_ssize_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const REAL *x0 = X + r * n, *x1 = x0 + n, *x2 = x1 + n, *x3 = x2 + n;
        VEC a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        const REAL *ahead = x0 + ahead_rows * n; /* the rows read next */
        for (Py_ssize_t j = 0; j < nv; j += VLEN) {
            const VEC v = SUFFIX(load)(w + j);
            __builtin_prefetch(ahead + j);
            __builtin_prefetch(ahead + n + j);
            __builtin_prefetch(ahead + 2 * n + j);
            __builtin_prefetch(ahead + 3 * n + j);
            a0 += SUFFIX(load)(x0 + j) * v;
            a1 += SUFFIX(load)(x1 + j) * v;
            a2 += SUFFIX(load)(x2 + j) * v;
            a3 += SUFFIX(load)(x3 + j) * v;
        }
        REAL s0 = SUFFIX(hsum)(&a0), s1 = SUFFIX(hsum)(&a1);
        REAL s2 = SUFFIX(hsum)(&a2), s3 = SUFFIX(hsum)(&a3);
        for (Py_ssize_t j = nv; j < n; j++) {
            s0 += x0[j] * w[j];
            s1 += x1[j] * w[j];
            s2 += x2[j] * w[j];
            s3 += x3[j] * w[j];
        }
        z[r] = s0 + b;
        z[r + 1] = s1 + b;
        z[r + 2] = s2 + b;
        z[r + 3] = s3 + b;
    }
    for (; r < rows; r++) {
        const REAL *x = X + r * n;
        VEC a0 = {0}, a1 = {0};
        Py_ssize_t j = 0;
        for (; j + 2 * VLEN <= nv; j += 2 * VLEN) {
            a0 += SUFFIX(load)(x + j) * SUFFIX(load)(w + j);
            a1 += SUFFIX(load)(x + j + VLEN) * SUFFIX(load)(w + j + VLEN);
        }
        for (; j < nv; j += VLEN) a0 += SUFFIX(load)(x + j) * SUFFIX(load)(w + j);
        a0 += a1;
        REAL acc = SUFFIX(hsum)(&a0);
        for (j = nv; j < n; j++) acc += x[j] * w[j];
        z[r] = acc + b;
    }
}

/* K = 1. g += sum_r dz_r x_r over the chunk's rows (still in cache), four
 * rows per pass over g (a quarter of the loads and stores of g). */
static INLINE void SUFFIX(dense_update)(const REAL *restrict X, Py_ssize_t rows,
                                        Py_ssize_t n, const REAL *restrict dz,
                                        REAL *restrict g) {
    const Py_ssize_t nv = n - n % VLEN;
    Py_ssize_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const REAL *x0 = X + r * n, *x1 = x0 + n, *x2 = x1 + n, *x3 = x2 + n;
        const REAL d0 = dz[r], d1 = dz[r + 1], d2 = dz[r + 2], d3 = dz[r + 3];
        for (Py_ssize_t j = 0; j < nv; j += VLEN) {
            VEC v = SUFFIX(load)(g + j);
            v += (d0 * SUFFIX(load)(x0 + j) + d1 * SUFFIX(load)(x1 + j)) +
                 (d2 * SUFFIX(load)(x2 + j) + d3 * SUFFIX(load)(x3 + j));
            memcpy(g + j, &v, sizeof v);
        }
        for (Py_ssize_t j = nv; j < n; j++)
            g[j] += (d0 * x0[j] + d1 * x1[j]) + (d2 * x2[j] + d3 * x3[j]);
    }
    for (; r < rows; r++) {
        const REAL *x0 = X + r * n;
        const REAL d0 = dz[r];
        for (Py_ssize_t j = 0; j < nv; j += VLEN) {
            VEC v = SUFFIX(load)(g + j);
            v += d0 * SUFFIX(load)(x0 + j);
            memcpy(g + j, &v, sizeof v);
        }
        for (Py_ssize_t j = nv; j < n; j++) g[j] += d0 * x0[j];
    }
}

/* K >= 2: vectors run over the classes instead, the weights being laid out
 * as W (n x KP, row-major, KP = K rounded up to whole vectors, zeros past
 * K): z_r = sum_j x_rj W_j, one multiply-add per feature and vector of
 * classes, with no sum across a vector's lanes (which, per class and row,
 * would cost more than the products themselves at small n). Four rows at a
 * time share each load of W. z is rows x KP; its lanes past K stay 0. */
static INLINE void SUFFIX(dense_scores_classes)(const REAL *restrict X,
                                                Py_ssize_t rows, Py_ssize_t n,
                                                const REAL *restrict W,
                                                Py_ssize_t KP, REAL *restrict z) {
    for (Py_ssize_t kb = 0; kb < KP; kb += VLEN) {
        Py_ssize_t r = 0;
        for (; r + 4 <= rows; r += 4) {
            const REAL *x0 = X + r * n, *x1 = x0 + n, *x2 = x1 + n, *x3 = x2 + n;
            VEC a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
            for (Py_ssize_t j = 0; j < n; j++) {
                const VEC v = SUFFIX(load)(W + j * KP + kb);
                a0 += x0[j] * v;
                a1 += x1[j] * v;
                a2 += x2[j] * v;
                a3 += x3[j] * v;
            }
            memcpy(z + r * KP + kb, &a0, sizeof a0);
            memcpy(z + (r + 1) * KP + kb, &a1, sizeof a1);
            memcpy(z + (r + 2) * KP + kb, &a2, sizeof a2);
            memcpy(z + (r + 3) * KP + kb, &a3, sizeof a3);
        }
        for (; r < rows; r++) {
            const REAL *x = X + r * n;
            VEC a0 = {0};
            for (Py_ssize_t j = 0; j < n; j++) a0 += x[j] * SUFFIX(load)(W + j * KP + kb);
            memcpy(z + r * KP + kb, &a0, sizeof a0);
        }
    }
}

/* K >= 2: G_j += sum_r x_rj dz_r (G is n x KP, like W), four rows per pass. */
static INLINE void SUFFIX(dense_update_classes)(const REAL *restrict X,
                                                Py_ssize_t rows, Py_ssize_t n,
                                                Py_ssize_t KP, const REAL *restrict dz,
                                                REAL *restrict G) {
    for (Py_ssize_t kb = 0; kb < KP; kb += VLEN) {
        Py_ssize_t r = 0;
        for (; r + 4 <= rows; r += 4) {
            const REAL *x0 = X + r * n, *x1 = x0 + n, *x2 = x1 + n, *x3 = x2 + n;
            const VEC d0 = SUFFIX(load)(dz + r * KP + kb);
            const VEC d1 = SUFFIX(load)(dz + (r + 1) * KP + kb);
            const VEC d2 = SUFFIX(load)(dz + (r + 2) * KP + kb);
            const VEC d3 = SUFFIX(load)(dz + (r + 3) * KP + kb);
            for (Py_ssize_t j = 0; j < n; j++) {
                VEC v = SUFFIX(load)(G + j * KP + kb);
                v += (x0[j] * d0 + x1[j] * d1) + (x2[j] * d2 + x3[j] * d3);
                memcpy(G + j * KP + kb, &v, sizeof v);
            }
        }
        for (; r < rows; r++) {
            const REAL *x = X + r * n;
            const VEC d0 = SUFFIX(load)(dz + r * KP + kb);
            for (Py_ssize_t j = 0; j < n; j++) {
                VEC v = SUFFIX(load)(G + j * KP + kb);
                v += x[j] * d0;
                memcpy(G + j * KP + kb, &v, sizeof v);
            }
        }
    }
}
#endif /* WITH_DENSE */

/* exp(x) for x <= 0, lanewise: 2^k exp(r) with k = round(x / ln 2) and
 * |r| <= ln(2) / 2 (ln 2 in two parts, so that r is exact), exp(r) by its
 * Taylor polynomial to degree EXP_DEGREE (truncation below REAL's
 * precision), 2^k built in the exponent bits. Below EXP_MIN (where 2^k
 * would not be a normal number) the result is 0. */
static INLINE VEC SUFFIX(vexp)(const VEC *px) {
    VEC x = *px;
    const IVEC tiny = x < (REAL)EXP_MIN;
    x = SELECT(tiny, SPLAT(EXP_MIN), x);
    const VEC shifted = x * (REAL)1.44269504088896340736 + (REAL)SHIFTER;
    const VEC k = shifted - (REAL)SHIFTER; /* round(x / ln 2), as REAL */
    const VEC r = (x - k * (REAL)LN2_HI) - k * (REAL)LN2_LO;
    /* Horner's rule on the coefficients 1/d! (one multiply-add a degree) */
    REAL coef[EXP_DEGREE + 1];
    coef[0] = 1;
    for (int d = 1; d <= EXP_DEGREE; d++) coef[d] = coef[d - 1] / (REAL)d;
    VEC p = SPLAT(coef[EXP_DEGREE]);
    for (int d = EXP_DEGREE - 1; d >= 0; d--) p = p * r + coef[d];
    const IVEC bits = (__builtin_convertvector(k, IVEC) + BIAS) << MANT_BITS;
    return (VEC)((IVEC)(p * (VEC)bits) & ~tiny);
}

/* log1p(e) for e in [0, 1], lanewise: 2 atanh(t) with t = e / (2 + e) in
 * [0, 1/3], by the series 2 (t + t^3/3 + t^5/5 + ...) to the term
 * t^(2 LOG1P_TERMS - 1) (truncation below REAL's precision, as t^2 <= 1/9);
 * relative accuracy holds for tiny e too. */
static INLINE VEC SUFFIX(vlog1p)(const VEC *pe) {
    const VEC e = *pe;
    const VEC t = e / (e + (REAL)2), t2 = t * t;
    VEC p = SPLAT((REAL)1 / (REAL)(2 * LOG1P_TERMS - 1));
    for (int d = LOG1P_TERMS - 2; d >= 0; d--) p = p * t2 + (REAL)1 / (REAL)(2 * d + 1);
    return (REAL)2 * t * p;
}

/* Loss and dz of `rows` binary samples (K = 1) from their scores z
 * (overwritten by dz), VLEN samples at a time; lanes past `rows` have zero
 * weight. y and s are the chunk's labels and weights (s may be NULL). */
static INLINE void SUFFIX(activate_binary)(REAL *restrict z, Py_ssize_t rows,
                                           const REAL *restrict y,
                                           const REAL *restrict s,
                                           double *restrict loss,
                                           double *restrict dz_sum) {
    VEC loss_sum = SPLAT(0), dz_total = SPLAT(0);
    for (Py_ssize_t r0 = 0; r0 < rows; r0 += VLEN) {
        const Py_ssize_t lanes = rows - r0 < VLEN ? rows - r0 : VLEN;
        const VEC v = SUFFIX(load_part)(z + r0, lanes);
        const VEC yv = SUFFIX(load_part)(y + r0, lanes);
        /* lanes past `rows` get weight 0, so add nothing */
        VEC sv = SPLAT(1);
        if (s)
            sv = SUFFIX(load_part)(s + r0, lanes);
        else
            for (Py_ssize_t l = lanes; l < VLEN; l++) sv[l] = 0;
        const IVEC negative = v < 0, positive = v > 0;
        const VEC minus_abs = SELECT(negative, v, -v);
        const VEC e = SUFFIX(vexp)(&minus_abs); /* exp(-|z|) in [0, 1] */
        /* sigmoid(z) = 1 / (1 + e) if z >= 0, e / (1 + e) if z < 0 */
        const VEC num = SELECT(negative, e, SPLAT(1));
        const VEC dz = sv * (num / (e + (REAL)1) - yv);
        /* log(1 + exp(z)) - y z = max(z, 0) - y z + log1p(exp(-|z|)), with
         * max(z, 0) - y z as (1 - y) z where z > 0: a well-classified
         * sample's loss is then log1p(...) itself, not z + tiny - z. */
        const VEC linear = SELECT(positive, ((REAL)1 - yv) * v, -yv * v);
        loss_sum += sv * (linear + SUFFIX(vlog1p)(&e));
        dz_total += dz;
        SUFFIX(store_part)(z + r0, &dz, lanes);
    }
    /* at most CHUNK_MAX / VLEN terms per lane in REAL, then float64 */
    for (Py_ssize_t l = 0; l < VLEN; l++) {
        *loss += (double)loss_sum[l];
        dz_sum[0] += (double)dz_total[l];
    }
}

/* Loss and dz of `rows` samples from their scores z (rows x stride, the
 * first K of each row; overwritten by dz); Y is K x m (row-major), s has
 * one weight per sample or is NULL. Adds to *loss and dz_sum. */
static INLINE void SUFFIX(activate)(REAL *restrict z, Py_ssize_t rows, Py_ssize_t K,
                                    Py_ssize_t stride, const REAL *restrict Y,
                                    Py_ssize_t m, Py_ssize_t first,
                                    const REAL *restrict s, double *restrict loss,
                                    double *restrict dz_sum) {
    if (K == 1) {
        SUFFIX(activate_binary)(z, rows, Y + first, s ? s + first : NULL, loss, dz_sum);
        return;
    }
    /* log(sum_k exp(z_k)) - y . z = (top - y . z) + log1p(rest), where
     * top = z_t is the largest score and rest = sum_{k != t} exp(z_k - top):
     * for a well-classified sample (y_t = 1) the first term is 0 and the
     * loss is log1p(rest) itself, not top + log(1 + rest) - top. */
    double linear[CHUNK_MAX];
    Py_ssize_t at[CHUNK_MAX];
    for (Py_ssize_t r = 0; r < rows; r++) {
        REAL *restrict zr = z + r * stride;
        Py_ssize_t t = 0;
        for (Py_ssize_t k = 1; k < K; k++) t = zr[k] > zr[t] ? k : t;
        const REAL top = zr[t];
        double yz = 0;
        for (Py_ssize_t k = 0; k < K; k++) {
            yz += (double)Y[k * m + first + r] * (double)zr[k];
            zr[k] -= top;
        }
        linear[r] = (double)top - yz;
        at[r] = t;
    }
    /* exp(z_k - top) <= 1 for the whole chunk, a vector at a time (the
     * vectors are independent, so their polynomials overlap in the CPU).
     * The lanes past K (stride > K) hold 0 and become exp(0) = 1 here; they
     * are zeroed again below, so that their dz, which the update reads, is 0. */
    const Py_ssize_t total = rows * stride;
    for (Py_ssize_t j = 0; j < total; j += VLEN) {
        const Py_ssize_t lanes = total - j < VLEN ? total - j : VLEN;
        VEC v = SUFFIX(load_part)(z + j, lanes);
        v = SUFFIX(vexp)(&v);
        SUFFIX(store_part)(z + j, &v, lanes);
    }
    for (Py_ssize_t r = 0; r < rows; r++)
        for (Py_ssize_t k = K; k < stride; k++) z[r * stride + k] = 0;
    for (Py_ssize_t r = 0; r < rows; r++) {
        const Py_ssize_t i = first + r;
        const REAL weight = s ? s[i] : (REAL)1;
        REAL *restrict zr = z + r * stride;
        double rest = 0;
        for (Py_ssize_t k = 0; k < K; k++)
            if (k != at[r]) rest += (double)zr[k];
        *loss += (double)weight * (linear[r] + log1p(rest));
        const REAL scale = (REAL)(1 / (1 + rest)); /* softmax = exp(...) * scale */
        for (Py_ssize_t k = 0; k < K; k++) {
            zr[k] = weight * (zr[k] * scale - Y[k * m + i]);
            dz_sum[k] += (double)zr[k];
        }
    }
}

#if WITH_DENSE
/* Adds the REAL sums G (n x KP, or n when KP = 1) into the float64 g
 * (K x n) and zeroes G. */
static void SUFFIX(flush)(REAL *restrict G, double *restrict g, Py_ssize_t n,
                          Py_ssize_t K, Py_ssize_t KP) {
    for (Py_ssize_t j = 0; j < n; j++)
        for (Py_ssize_t k = 0; k < K; k++) {
            g[k * n + j] += (double)G[j * KP + k];
            G[j * KP + k] = 0;
        }
}

TARGET_CLONES
static void SUFFIX(dense_range)(Task *t) {
    const REAL *X = (const REAL *)t->X;
    const Py_ssize_t n = t->n, K = t->K, KP = t->KP;
    REAL *z = (REAL *)t->z, *G = (REAL *)t->block;
    Py_ssize_t since_flush = 0;
    for (Py_ssize_t i = t->lo; i < t->hi; i += CHUNK) {
        const Py_ssize_t rows = t->hi - i < CHUNK ? t->hi - i : CHUNK;
        const REAL *Xc = X + i * n;
        if (K == 1) {
            SUFFIX(dense_scores)(Xc, rows, n, (const REAL *)t->wt,
                                 ((const REAL *)t->b)[0], t->ahead, z);
        } else {
            SUFFIX(dense_scores_classes)(Xc, rows, n, (const REAL *)t->W, KP, z);
            for (Py_ssize_t r = 0; r < rows; r++)
                for (Py_ssize_t k = 0; k < K; k++) z[r * KP + k] += ((const REAL *)t->b)[k];
        }
        SUFFIX(activate)(z, rows, K, KP, (const REAL *)t->Y, t->m, i,
                         (const REAL *)t->s, &t->loss, t->dz_sum);
        if (K == 1)
            SUFFIX(dense_update)(Xc, rows, n, z, G);
        else
            SUFFIX(dense_update_classes)(Xc, rows, n, KP, z, G);
        since_flush += rows;
        if (since_flush >= FLUSH) {
            SUFFIX(flush)(G, t->g, n, K, KP);
            since_flush = 0;
        }
    }
    SUFFIX(flush)(G, t->g, n, K, KP);
}

/* W (n x KP, zeros past K) from wt (K x n). */
static void SUFFIX(pad_weights)(const REAL *restrict wt, Py_ssize_t K, Py_ssize_t n,
                                Py_ssize_t KP, REAL *restrict W) {
    for (Py_ssize_t j = 0; j < n; j++)
        for (Py_ssize_t k = 0; k < KP; k++) W[j * KP + k] = k < K ? wt[k * n + j] : 0;
}
#endif /* WITH_DENSE */

/* Sparse rows: compressed by sample (indptr has m + 1 entries), feature
 * indices and values of sample i at indptr[i]:indptr[i + 1]. The updates
 * scatter into the task's float64 sums directly: a REAL block would have to
 * be flushed whole (n x K) for a few values per row. */
TARGET_CLONES
static void SUFFIX(sparse_range)(Task *t) {
    const REAL *data = (const REAL *)t->X, *wt = (const REAL *)t->wt;
    const REAL *b = (const REAL *)t->b;
    const INDEX *indices = (const INDEX *)t->indices, *indptr = (const INDEX *)t->indptr;
    const Py_ssize_t n = t->n, K = t->K;
    REAL *z = (REAL *)t->z;
    int64_t beg[CHUNK_MAX], end[CHUNK_MAX];
#define LOAD_ONCE(p) __atomic_load_n((p), __ATOMIC_RELAXED)
    for (Py_ssize_t i = t->lo; i < t->hi; i += CHUNK) {
        const Py_ssize_t rows = t->hi - i < CHUNK ? t->hi - i : CHUNK;
        for (Py_ssize_t r = 0; r < rows; r++) {
            /* Every value used is the value checked: read once, checked,
             * kept (indptr), or checked where it is used (indices). */
            const int64_t p0 = LOAD_ONCE(&indptr[i + r]), p1 = LOAD_ONCE(&indptr[i + r + 1]);
            if (p0 < t->first || p1 > t->last || p1 < p0) {
                t->bad = 1;
                return;
            }
            beg[r] = p0;
            end[r] = p1;
            for (Py_ssize_t k = 0; k < K; k++) {
                const REAL *wk = wt + k * n;
                REAL acc = 0;
                for (int64_t p = p0; p < p1; p++) {
                    const INDEX j = LOAD_ONCE(&indices[p]);
                    if ((uint64_t)j >= (uint64_t)n) {
                        t->bad = 1;
                        return;
                    }
                    acc += data[p] * wk[j];
                }
                z[r * K + k] = acc + b[k];
            }
        }
        SUFFIX(activate)(z, rows, K, K, (const REAL *)t->Y, t->m, i,
                         (const REAL *)t->s, &t->loss, t->dz_sum);
        for (Py_ssize_t r = 0; r < rows; r++) {
            for (Py_ssize_t k = 0; k < K; k++) {
                double *gk = t->g + k * n;
                const double d = (double)z[r * K + k];
                for (int64_t p = beg[r]; p < end[r]; p++) {
                    const INDEX j = LOAD_ONCE(&indices[p]);
                    if ((uint64_t)j >= (uint64_t)n) {
                        t->bad = 1;
                        return;
                    }
                    gk[j] += d * (double)data[p];
                }
            }
        }
    }
#undef LOAD_ONCE
}
#undef VEC
#undef IVEC
#undef VLEN
#undef SPLAT
#undef SELECT
