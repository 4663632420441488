/* The twin's loops that the compiler cannot vectorise from Cython alone, for float
 * and double data (all arithmetic past the dot products in double), with an exp and
 * a log written as polynomials so that they vectorise (libm's do not: they cost about
 * as much as reading the row). OpenMP's simd directive lets the compiler reorder the
 * sums (it never does so for floats on its own); target_clones compiles each function
 * for AVX-512, AVX2 and the x86-64 baseline, chosen when the module is loaded. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define TWIN_CLONES /* unused: each module calls some of them */              \
    __attribute__((unused, target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#elif defined(__GNUC__)
#define TWIN_CLONES __attribute__((unused))
#else
#define TWIN_CLONES
#endif
#define TWIN_CHUNK 64 /* rows per chunk, at most */

static inline double twin_bits_to_double(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }
static inline uint64_t twin_double_to_bits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }

/* exp(x) for x <= 0, to about 1 ulp; 0 below -708 (where exp is subnormal).
 * x = k ln2 + r, |r| <= ln2 / 2, exp(r) by its Taylor series to r^13, times 2^k
 * made from k's bits in t's mantissa. */
static inline double twin_exp(double x) {
    const double shifter = 6755399441055744.0; /* 1.5 * 2^52: rounds to integer */
    double t = x * 1.4426950408889634 + shifter, k = t - shifter;
    double r = (x - k * 6.93147180369123816490e-01) - k * 1.90821492927058770002e-10;
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600;
    p = p * r + 1.0 / 39916800;
    p = p * r + 1.0 / 3628800;
    p = p * r + 1.0 / 362880;
    p = p * r + 1.0 / 40320;
    p = p * r + 1.0 / 5040;
    p = p * r + 1.0 / 720;
    p = p * r + 1.0 / 120;
    p = p * r + 1.0 / 24;
    p = p * r + 1.0 / 6;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    uint64_t two_k = (twin_double_to_bits(t) - twin_double_to_bits(shifter) + 1023) << 52;
    double y = p * twin_bits_to_double(two_k);
    return x < -708.0 ? 0.0 : y; /* keeps NaN */
}

/* log(t) for t >= 1 (NaN stays NaN): t = 2^e f, f in [sqrt(1/2), sqrt(2)),
 * log f = 2 atanh(s), s = (f - 1) / (f + 1), |s| < 0.172, series to s^21. */
static inline double twin_log(double t) {
    const double shifter = 6755399441055744.0;
    uint64_t bits = twin_double_to_bits(t);
    uint64_t e = (bits >> 52) + twin_double_to_bits(shifter) - 1023;
    double f = twin_bits_to_double((bits & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull);
    double big = f > 1.4142135623730951 ? 1.0 : 0.0;
    f = big > 0 ? 0.5 * f : f;
    double ed = twin_bits_to_double(e) - shifter + big;
    double s = (f - 1.0) / (f + 1.0), s2 = s * s, q = 1.0 / 21;
    q = q * s2 + 1.0 / 19;
    q = q * s2 + 1.0 / 17;
    q = q * s2 + 1.0 / 15;
    q = q * s2 + 1.0 / 13;
    q = q * s2 + 1.0 / 11;
    q = q * s2 + 1.0 / 9;
    q = q * s2 + 1.0 / 7;
    q = q * s2 + 1.0 / 5;
    q = q * s2 + 1.0 / 3;
    double y = ed * 6.93147180369123816490e-01 +
               (2.0 * s + 2.0 * s * s2 * q + ed * 1.90821492927058770002e-10);
    return t == t ? y : t;
}

/* log(1 + u) for u >= 0, exact for tiny u (the rounding of 1 + u corrected). */
static inline double twin_log1p(double u) {
    double t = 1.0 + u;
    return twin_log(t) + (u - (t - 1.0)) / t;
}

/* One sample of the sigmoid model: its loss log(1 + exp(z)) - y z times s, exact
 * when well classified (no z - z rounds it away); *z becomes s (sigmoid(z) - y). */
static inline double twin_sigmoid(double *z, double y, double s) {
    double zr = *z, e = twin_exp(-fabs(zr)), inv = 1.0 / (1.0 + e);
    *z = s * ((zr > 0 ? inv : e * inv) - y);
    return s * (twin_log1p(e) + (zr > 0 ? (1.0 - y) * zr : -y * zr));
}

#define TWIN_BLOCK 8 /* rows that meet w at once: eight sums in flight */

/* Column j of twin_rows: g[j] += sum_r c[r] add[r][j]; s[r][q] += dot[r][j] w[j] */
#define TWIN_STEP(REAL, j, q)                                                   \
    {                                                                           \
        REAL wj = w[j], u = 0;                                                  \
        for (int r = 0; r < TWIN_BLOCK; r++) u += c[r] * add[r][j];             \
        for (int r = 0; r < TWIN_BLOCK; r++) s[r][q] += dot[r][j] * wj;         \
        g[j] += u;                                                              \
    }

#define TWIN_LOOPS(REAL, SUFFIX)                                                \
    /* One loop over the features for two blocks of up to 8 rows, `n` apart:    \
     * g += sum_r a[r] x_r over the `ra` rows at xa (a chunk whose dz is known, \
     * in the level-1 cache) and z[r] += x_r . w over the `rd` rows at xd (the  \
     * next chunk, read from memory meanwhile; missing rows repeat a present    \
     * one, with a = 0, not stored), asking for 8 lines of the pf_bytes at pf   \
     * per 64 bytes of a row, into level 2 (200 000 x 200 float64, two threads: \
     * 11.0-11.6 ms a pass; 13.4 all before the loop; 14.0-14.6 before, with    \
     * the chunk after next asked for at once, into level 1). */                \
    TWIN_CLONES static void twin_rows_##SUFFIX(                                 \
        const double *a, const REAL *xa, ptrdiff_t ra, double *g,               \
        const REAL *xd, ptrdiff_t rd, const REAL *w, ptrdiff_t n, double *z,    \
        const char *pf, ptrdiff_t pf_bytes) {                                   \
        const REAL *add[TWIN_BLOCK], *dot[TWIN_BLOCK]; REAL c[TWIN_BLOCK];      \
        xa = ra > 0 ? xa : xd, xd = rd > 0 ? xd : xa;                           \
        for (ptrdiff_t r = 0; r < TWIN_BLOCK; r++) {                            \
            add[r] = xa + (r < ra ? r : 0) * n;                                 \
            dot[r] = xd + (r < rd ? r : 0) * n;                                 \
            c[r] = r < ra ? (REAL)a[r] : 0;                                     \
        }                                                                       \
        enum { V = 64 / sizeof(REAL) }; /* 64 bytes' values */                  \
        REAL s[TWIN_BLOCK][V] = {{0}}; /* lane sums, added up at the end */     \
        ptrdiff_t full = n - n % V, off = 0, lanes = full ? V : n;              \
        for (ptrdiff_t j0 = 0; j0 < full; j0 += V) {                            \
            for (ptrdiff_t e = off + 512; off < e && off < pf_bytes; off += 64) \
                __builtin_prefetch(pf + off, 0, 2);                             \
            _Pragma("omp simd")                                                 \
            for (ptrdiff_t q = 0; q < V; q++) TWIN_STEP(REAL, j0 + q, q)        \
        }                                                                       \
        for (; off < pf_bytes; off += 64) __builtin_prefetch(pf + off, 0, 2);   \
        for (ptrdiff_t q = 0; q < n - full; q++) TWIN_STEP(REAL, full + q, q)   \
        for (ptrdiff_t r = 0; r < rd; r++)                                      \
            for (ptrdiff_t q = 0; q < lanes; q++) z[r] += s[r][q];              \
    }                                                                           \
    /* The losses of `rows` rows, times their weights s (NULL: 1), summed; z    \
     * (row r of class k at z[k * TWIN_CHUNK + r]) becomes dz, added into db;   \
     * y[k * m + r] is the label of row r. As core's log_loss: the sigmoid's    \
     * (K = 1) or log-sum-exp(z) - y . z (K >= 2), exact when well classified.  \
     * Rows are padded to whole blocks of TWIN_BLOCK with weight 0 (loss and    \
     * dz 0), labels and weights copied to doubles, so that every loop runs in  \
     * whole vectors: a remainder row costs a scalar exp and log (float32 rows  \
     * of 8: 15 ns a row, against 3 ns vectorised). */                          \
    TWIN_CLONES static double twin_loss_##SUFFIX(                               \
        double *z, ptrdiff_t rows, ptrdiff_t K, const REAL *y, ptrdiff_t m,     \
        const REAL *s, double *db) {                                            \
        double loss = 0, sum = 0, top[TWIN_CHUNK], rest[TWIN_CHUNK];            \
        double yz[TWIN_CHUNK], w[TWIN_CHUNK], arg[TWIN_CHUNK], yk[TWIN_CHUNK];  \
        ptrdiff_t padded = (rows + TWIN_BLOCK - 1) / TWIN_BLOCK * TWIN_BLOCK;   \
        for (ptrdiff_t r = 0; r < rows; r++) {                                  \
            w[r] = s ? (double)s[r] : 1.0;                                      \
            yk[r] = (double)y[r];                                               \
        }                                                                       \
        for (ptrdiff_t r = rows; r < padded; r++) {                             \
            w[r] = yk[r] = 0.0;                                                 \
            for (ptrdiff_t k = 0; k < K; k++) z[k * TWIN_CHUNK + r] = 0.0;      \
        }                                                                       \
        if (K == 1) {                                                           \
            _Pragma("omp simd reduction(+ : loss, sum)")                        \
            for (ptrdiff_t r = 0; r < padded; r++) {                            \
                loss += twin_sigmoid(z + r, yk[r], w[r]);                       \
                sum += z[r];                                                    \
            }                                                                   \
            db[0] += sum;                                                       \
            return loss;                                                        \
        }                                                                       \
        for (ptrdiff_t r = 0; r < padded; r++) {                                \
            top[r] = z[r];                                                      \
            arg[r] = rest[r] = yz[r] = 0;                                       \
        }                                                                       \
        for (ptrdiff_t k = 1; k < K; k++)                                       \
            _Pragma("omp simd")                                                 \
            for (ptrdiff_t r = 0; r < padded; r++) {                            \
                double zk = z[k * TWIN_CHUNK + r];                              \
                arg[r] = zk > top[r] ? (double)k : arg[r];                      \
                top[r] = zk > top[r] ? zk : top[r];                             \
            }                                                                   \
        /* log-sum-exp(z) = top + log1p(sum of the others' exp(z_k - top)) */   \
        for (ptrdiff_t k = 0; k < K; k++) {                                     \
            for (ptrdiff_t r = 0; r < padded; r++)                              \
                yk[r] = r < rows ? (double)y[k * m + r] : 0.0;                  \
            _Pragma("omp simd")                                                 \
            for (ptrdiff_t r = 0; r < padded; r++) {                            \
                double zk = z[k * TWIN_CHUNK + r], e = twin_exp(zk - top[r]);   \
                yz[r] += yk[r] * zk;                                            \
                z[k * TWIN_CHUNK + r] = e;                                      \
                rest[r] += arg[r] == (double)k ? 0.0 : e;                       \
            }                                                                   \
        }                                                                       \
        _Pragma("omp simd reduction(+ : loss)")                                 \
        for (ptrdiff_t r = 0; r < padded; r++)                                  \
            loss += w[r] * (twin_log1p(rest[r]) + (top[r] - yz[r]));            \
        for (ptrdiff_t k = 0; k < K; k++) {                                     \
            for (ptrdiff_t r = 0; r < padded; r++)                              \
                yk[r] = r < rows ? (double)y[k * m + r] : 0.0;                  \
            sum = 0;                                                            \
            _Pragma("omp simd reduction(+ : sum)")                              \
            for (ptrdiff_t r = 0; r < padded; r++) {                            \
                double *zk = z + k * TWIN_CHUNK + r;                            \
                *zk = w[r] * (*zk / (1.0 + rest[r]) - yk[r]);                   \
                sum += *zk;                                                     \
            }                                                                   \
            db[k] += sum;                                                       \
        }                                                                       \
        return loss;                                                            \
    }

TWIN_LOOPS(float, f)
TWIN_LOOPS(double, d)
