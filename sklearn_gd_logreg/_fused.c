/* The log-loss and its gradient in one pass over X, on all the cores.
 *
 * The compiled half of sklearn_gd_logreg._gradient (which says when it is
 * used and holds the NumPy version of the same sums). For every sample i,
 * with x_i its features, K score vectors wt (K x n) and biases b:
 *
 *   loss_sum = sum_i s_i loss_i,   g = sum_i dz_i x_i  (K x n),
 *   dz_sum = sum_i dz_i,           dz_i = s_i (a_i - y_i)
 *
 * where a_i is the sigmoid (K = 1) or softmax of z_i = wt x_i + b. Each row
 * is read from memory once: its score, activation and update are done while
 * it is in the level-1 cache (_fused_kernel.h). The samples are split into
 * one contiguous range per thread (equal rows, or equal stored values if
 * sparse), each summed into its own float64 buffers, which are then added
 * in thread order: a given thread count gives the same result every run.
 * The GIL is released meanwhile.
 *
 * Only the CPython API and the buffer protocol are used (no NumPy headers):
 * the caller (Python) checks the dtypes and layouts and passes C-contiguous
 * buffers; this file checks their sizes again, so that a mistake raises
 * instead of reading out of bounds. */

#define _GNU_SOURCE /* sched_getcpu, CPU_SET, pthread_attr_setaffinity_np */
#define PY_SSIZE_T_CLEAN
#if defined(__GNUC__) && !defined(__clang__)
/* The 64-byte vector helpers are static and always inlined: no ABI to keep. */
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
#include <Python.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Compile each kernel for AVX-512, AVX2 + FMA and baseline x86-64; the
 * loader picks the best one the CPU has (GCC function multiversioning). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__linux__)
#define TARGET_CLONES \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TARGET_CLONES
#endif
/* The kernels' helpers must be inlined into each clone to be compiled for
 * its instruction set. */
#if defined(__GNUC__)
#define INLINE inline __attribute__((always_inline))
#else
#define INLINE inline
#endif

#define CHUNK_MIN 4         /* rows whose scores are computed together: */
#define CHUNK_MAX 64        /* ... between these, as many as fill 2/3 of */
#define L1_BYTES 32768      /* ... the level-1 data cache (when unknown) */
#define VBYTES 64          /* bytes per explicit vector (_fused_kernel.h) */
#define AHEAD_BYTES 12288   /* prefetch distance: at least 4 rows, or this */
#define MAX_THREADS 64      /* each thread has its own K x n sums */
#define FLUSH 256           /* rows summed in REAL before adding to float64 */

typedef struct Task {
    void (*run)(struct Task *);
    const void *X, *indices, *indptr, *wt, *b, *Y, *s;
    const void *W;   /* dense, K >= 2: the weights as n x KP (_fused_kernel.h) */
    size_t real;     /* sizeof(REAL) */
    Py_ssize_t m, n, K, KP, lo, hi, chunk;
    Py_ssize_t ahead;    /* dense: rows between a row's prefetch and its read */
    void *z, *block; /* scratch: chunk x KP, and n x KP (dense) REALs */
    double *g;       /* K x n */
    double *dz_sum;  /* K */
    int64_t first, last; /* sparse: the stored values are [first, last) */
    int bad;             /* sparse: set when an index is out of range */
#if defined(__linux__)
    int unpin;           /* started pinned: widen to `allowed` once running */
    cpu_set_t allowed;
#endif
    double loss;
} Task;

#define CHUNK t->chunk

#define REAL double
#define IREAL int64_t
#define EXP_MIN -708.0 /* exp(-708) > DBL_MIN */
#define SHIFTER 6755399441055744.0 /* 1.5 * 2^52: adding it rounds to integer */
#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10
#define EXP_DEGREE 13 /* (ln 2 / 2)^14 / 14! < 2^-56 */
#define LOG1P_TERMS 17 /* 9^-17 / 35 < 2^-58 */
#define BIAS 1023
#define MANT_BITS 52
#define INDEX int32_t
#define SUFFIX(name) name##_f64_i32
#define WITH_DENSE 1
#include "_fused_kernel.h"
#undef INDEX
#undef SUFFIX
#undef WITH_DENSE
#define INDEX int64_t
#define SUFFIX(name) name##_f64_i64
#define WITH_DENSE 0
#include "_fused_kernel.h"
#undef REAL
#undef IREAL
#undef EXP_MIN
#undef SHIFTER
#undef LN2_HI
#undef LN2_LO
#undef EXP_DEGREE
#undef LOG1P_TERMS
#undef BIAS
#undef MANT_BITS
#undef INDEX
#undef SUFFIX
#undef WITH_DENSE

#define REAL float
#define IREAL int32_t
#define EXP_MIN -87.0f /* exp(-87) > FLT_MIN */
#define SHIFTER 12582912.0f /* 1.5 * 2^23 */
#define LN2_HI 6.9314575195e-01f
#define LN2_LO 1.4286067653e-06f
#define EXP_DEGREE 7 /* (ln 2 / 2)^8 / 8! < 2^-27 */
#define LOG1P_TERMS 8 /* 9^-8 / 17 < 2^-29 */
#define BIAS 127
#define MANT_BITS 23
#define INDEX int32_t
#define SUFFIX(name) name##_f32_i32
#define WITH_DENSE 1
#include "_fused_kernel.h"
#undef INDEX
#undef SUFFIX
#undef WITH_DENSE
#define INDEX int64_t
#define SUFFIX(name) name##_f32_i64
#define WITH_DENSE 0
#include "_fused_kernel.h"
#undef REAL
#undef INDEX
#undef SUFFIX
#undef WITH_DENSE

static void *run_task(void *arg) {
    Task *t = (Task *)arg;
#if defined(__linux__)
    /* Started on a CPU of its own (start_thread); from now on free to move,
     * like any thread, should that CPU get busy. */
    if (t->unpin) pthread_setaffinity_np(pthread_self(), sizeof t->allowed, &t->allowed);
#endif
    t->run(t);
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* Buffers */

typedef struct {
    Py_buffer view;
    int held;
} Buf;

static void release(Buf *bufs, int count) {
    for (int i = 0; i < count; i++)
        if (bufs[i].held) {
            PyBuffer_Release(&bufs[i].view);
            bufs[i].held = 0;
        }
}

/* The format's type letter ('d', 'f', 'i', 'l', 'q'), without byte order. */
static char kind_of(const Py_buffer *v) {
    const char *f = v->format ? v->format : "B";
    if (*f == '@' || *f == '=' || *f == '<') f++;
    return f[1] == '\0' ? f[0] : '?';
}

static int get(Buf *buf, PyObject *obj, const char *name, int writable) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, &buf->view, flags) < 0) {
        PyErr_Format(PyExc_TypeError, "%s: expected a C-contiguous%s buffer", name,
                     writable ? " writable" : "");
        return -1;
    }
    buf->held = 1;
    return 0;
}

#define ANY_COUNT (-1) /* check(): any number of items */
#define INDEX_KIND 'I'  /* check(): a signed integer of 4 or 8 bytes */

/* The buffer's items are of `kind` ('d', 'f' or INDEX_KIND), aligned for
 * their type, and `count` of them (unless ANY_COUNT). */
static int check(const Buf *buf, const char *name, char kind, Py_ssize_t count) {
    const char k = kind_of(&buf->view);
    const Py_ssize_t size = buf->view.itemsize;
    const int ok = kind == INDEX_KIND
                       ? (k == 'i' || k == 'l' || k == 'q') && (size == 4 || size == 8)
                       : k == kind;
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "%s: expected items of type '%c', got '%s'",
                     name, kind == INDEX_KIND ? 'i' : kind,
                     buf->view.format ? buf->view.format : "B");
        return -1;
    }
    if ((uintptr_t)buf->view.buf % (uintptr_t)size != 0) {
        PyErr_Format(PyExc_ValueError, "%s: expected a buffer aligned for its items",
                     name);
        return -1;
    }
    if (count != ANY_COUNT && buf->view.len / size != count) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd items, got %zd", name, count,
                     buf->view.len / size);
        return -1;
    }
    return 0;
}

/* a * b, or -1 (and an exception set) if it overflows */
static Py_ssize_t product(Py_ssize_t a, Py_ssize_t b) {
    Py_ssize_t out;
    if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &out)) {
        PyErr_SetString(PyExc_OverflowError, "buffer sizes too large");
        return -1;
    }
    return out;
}

/* ---------------------------------------------------------------------- */
/* Running the tasks */

static int64_t indptr_at(const Buf *indptr, Py_ssize_t i) {
    return indptr->view.itemsize == 8 ? ((const int64_t *)indptr->view.buf)[i]
                                      : ((const int32_t *)indptr->view.buf)[i];
}

/* Smallest i in [0, m] with indptr[i] >= target, if indptr does not
 * decrease (the tasks check each sample's range, so a broken indptr raises
 * after all). */
static Py_ssize_t first_row_at(const Buf *indptr, Py_ssize_t m, int64_t target) {
    Py_ssize_t lo = 0, hi = m;
    while (lo < hi) {
        const Py_ssize_t mid = lo + (hi - lo) / 2;
        if (indptr_at(indptr, mid) < target)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Start task `rank` in a new thread, on the rank-th of this process's CPUs
 * counted from the one the caller runs on. Left to the scheduler, the new
 * thread often started on the caller's CPU and the two shared it for the
 * whole pass (measured: half the calls here took twice as long); the thread
 * widens its affinity back to all of the process's CPUs as it starts. */
static int start_thread(pthread_t *id, Task *task, int rank) {
#if defined(__linux__)
    const int here = sched_getcpu();
    if (here >= 0 && sched_getaffinity(0, sizeof task->allowed, &task->allowed) == 0) {
        const int count = CPU_COUNT(&task->allowed);
        int steps = rank % (count > 0 ? count : 1), cpu = here;
        while (steps > 0) {
            cpu = (cpu + 1) % CPU_SETSIZE;
            if (CPU_ISSET(cpu, &task->allowed)) steps--;
        }
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        pthread_attr_t attr;
        if (pthread_attr_init(&attr) == 0) {
            task->unpin = 1;
            int rc = pthread_attr_setaffinity_np(&attr, sizeof(one), &one) == 0
                         ? pthread_create(id, &attr, run_task, task)
                         : -1;
            pthread_attr_destroy(&attr);
            if (rc == 0) return 0;
            task->unpin = 0;
        }
    }
#endif
    return pthread_create(id, NULL, run_task, task);
}

/* Split [0, m) between n_threads tasks, run them, and add their sums into
 * g_out (K x n), dz_out (K), returning the loss; -1 and an exception set if
 * memory runs out. */
static int run_all(Task *proto, int n_threads, const Buf *indptr, double *g_out,
                   double *dz_out, double *loss_out) {
    const Py_ssize_t m = proto->m, n = proto->n, K = proto->K;
    const int dense = indptr == NULL, single = proto->real == sizeof(float);
    /* Dense, K >= 2: the weights as n x KP, KP = K rounded up to vectors */
    const Py_ssize_t lanes = VBYTES / (Py_ssize_t)proto->real;
    proto->KP = dense && K > 1 ? (K + lanes - 1) / lanes * lanes : K;
    const Py_ssize_t KP = proto->KP;
    void *W = NULL;
    Task *tasks = calloc((size_t)n_threads, sizeof(Task));
    pthread_t *ids = calloc((size_t)n_threads, sizeof(pthread_t));
    int *started = calloc((size_t)n_threads, sizeof(int));
    int bad = 0;
    int failed = tasks == NULL || ids == NULL || started == NULL;
    if (!failed && dense && K > 1) {
        W = malloc((size_t)(n * KP + 1) * proto->real);
        failed = W == NULL;
        if (W && single)
            pad_weights_f32_i32((const float *)proto->wt, K, n, KP, (float *)W);
        else if (W)
            pad_weights_f64_i32((const double *)proto->wt, K, n, KP, (double *)W);
        proto->W = W;
    }
    for (int k = 0; k < n_threads && !failed; k++) {
        Task *t = &tasks[k];
        *t = *proto;
        /* Each task starts where the previous one stopped, so that every
         * sample is summed (and its stored values checked) exactly once. */
        t->lo = k == 0 ? 0 : tasks[k - 1].hi;
        if (k == n_threads - 1) {
            t->hi = m;
        } else if (dense) {
            t->hi = (Py_ssize_t)((long double)m * (k + 1) / n_threads);
        } else { /* equal shares of the stored values */
            const int64_t first = proto->first, last = proto->last;
            const int64_t target =
                first + (int64_t)((long double)(last - first) * (k + 1) / n_threads);
            t->hi = first_row_at(indptr, m, target);
        }
        if (t->hi < t->lo) t->hi = t->lo;
        t->g = calloc((size_t)(n * K) + 1, sizeof(double));
        t->dz_sum = calloc((size_t)K, sizeof(double));
        t->z = malloc((size_t)(CHUNK_MAX * KP) * proto->real);
        t->block = dense ? calloc((size_t)(n * KP) + 1, proto->real) : NULL;
        failed = !t->g || !t->dz_sum || !t->z || (dense && !t->block);
    }
    if (!failed) {
        Py_BEGIN_ALLOW_THREADS;
        for (int k = 1; k < n_threads; k++)
            started[k] = start_thread(&ids[k], &tasks[k], k) == 0;
        run_task(&tasks[0]);
        for (int k = 1; k < n_threads; k++) {
            if (started[k])
                pthread_join(ids[k], NULL);
            else
                run_task(&tasks[k]); /* no thread to be had: do it here */
        }
        Py_END_ALLOW_THREADS;
        double loss = 0;
        memset(g_out, 0, (size_t)(n * K) * sizeof(double));
        memset(dz_out, 0, (size_t)K * sizeof(double));
        for (int k = 0; k < n_threads; k++) {
            loss += tasks[k].loss;
            for (Py_ssize_t j = 0; j < n * K; j++) g_out[j] += tasks[k].g[j];
            for (Py_ssize_t j = 0; j < K; j++) dz_out[j] += tasks[k].dz_sum[j];
        }
        *loss_out = loss;
        for (int k = 0; k < n_threads; k++) bad |= tasks[k].bad;
    }
    for (int k = 0; tasks && k < n_threads; k++) {
        free(tasks[k].g);
        free(tasks[k].dz_sum);
        free(tasks[k].z);
        free(tasks[k].block);
    }
    free(W);
    free(tasks);
    free(ids);
    free(started);
    if (failed) {
        PyErr_NoMemory();
        return -1;
    }
    if (bad) {
        PyErr_SetString(PyExc_ValueError,
                        "indices, indptr: a sample's stored values are out of range");
        return -1;
    }
    return 0;
}

/* Two thirds of one core's level-1 data cache, as the operating system
 * reports it (48 KiB on the development machine: 32 KiB): the chunk's rows
 * are read a second time from there, beside w, the sums and the scores. */
static Py_ssize_t chunk_bytes(void) {
    static Py_ssize_t bytes = 0;
    if (bytes == 0) {
        long l1 = -1;
#if defined(_SC_LEVEL1_DCACHE_SIZE)
        l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE);
#endif
        bytes = l1 > 0 ? (Py_ssize_t)l1 * 2 / 3 : L1_BYTES;
    }
    return bytes;
}

/* ---------------------------------------------------------------------- */
/* Python functions */

PyDoc_STRVAR(loss_and_gradient_doc,
             "loss_and_gradient(X, indices, indptr, wt, b, Y, s, g, dz, n_threads)\n"
             "--\n\n"
             "Fused log-loss and gradient sums over the samples (rows) of X.\n\n"
             "Dense: X is (m, n) float64 or float32 and indices, indptr are None.\n"
             "Sparse: X is the stored values, indices their features and indptr\n"
             "(m + 1 entries, int32 or int64) where each sample's values start.\n"
             "wt (K, n), b (K,), Y (K, m) and s (m,) or None have X's dtype; g\n"
             "(K, n) and dz (K,) are float64 and receive sum_i dz_i x_i and\n"
             "sum_i dz_i. Returns the summed loss.");

static PyObject *loss_and_gradient(PyObject *self, PyObject *args) {
    PyObject *oX, *oind, *optr, *owt, *ob, *oY, *os, *og, *odz;
    int n_threads;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOi", &oX, &oind, &optr, &owt, &ob, &oY, &os,
                          &og, &odz, &n_threads))
        return NULL;
    enum { X, IND, PTR, WT, B, Y, S, G, DZ, N };
    Buf bufs[N];
    memset(bufs, 0, sizeof(bufs));
    const int sparse = oind != Py_None;
    double loss = 0;
    if (get(&bufs[X], oX, "X", 0) < 0 || get(&bufs[WT], owt, "wt", 0) < 0 ||
        get(&bufs[B], ob, "b", 0) < 0 || get(&bufs[Y], oY, "Y", 0) < 0 ||
        get(&bufs[G], og, "g", 1) < 0 || get(&bufs[DZ], odz, "dz", 1) < 0 ||
        (os != Py_None && get(&bufs[S], os, "s", 0) < 0) ||
        (sparse && (get(&bufs[IND], oind, "indices", 0) < 0 ||
                    get(&bufs[PTR], optr, "indptr", 0) < 0)))
        goto fail;
    const char real = kind_of(&bufs[X].view);
    if (real != 'd' && real != 'f') {
        PyErr_SetString(PyExc_TypeError, "X: expected float64 or float32 items");
        goto fail;
    }
    if (bufs[WT].view.ndim != 2 || bufs[Y].view.ndim != 2) {
        PyErr_SetString(PyExc_ValueError, "wt and Y: expected 2-d buffers");
        goto fail;
    }
    const Py_ssize_t K = bufs[WT].view.shape[0], n = bufs[WT].view.shape[1];
    const Py_ssize_t m = bufs[Y].view.shape[1];
    if (K < 1 || bufs[Y].view.shape[0] != K) {
        PyErr_SetString(PyExc_ValueError, "wt, Y: expected K >= 1 rows each");
        goto fail;
    }
    const Py_ssize_t mn = product(m, n), Kn = product(K, n), Km = product(K, m);
    if (mn < 0 || Kn < 0 || Km < 0 || m == PY_SSIZE_T_MAX) goto fail;
    if (check(&bufs[X], "X", real, sparse ? ANY_COUNT : mn) < 0 ||
        check(&bufs[WT], "wt", real, Kn) < 0 || check(&bufs[B], "b", real, K) < 0 ||
        check(&bufs[Y], "Y", real, Km) < 0 ||
        (os != Py_None && check(&bufs[S], "s", real, m) < 0) ||
        check(&bufs[G], "g", 'd', Kn) < 0 || check(&bufs[DZ], "dz", 'd', K) < 0)
        goto fail;
    int wide = 0;
    int64_t first = 0, last = 0; /* sparse: read once, checked, then used */
    if (sparse) {
        if (check(&bufs[PTR], "indptr", INDEX_KIND, m + 1) < 0 ||
            check(&bufs[IND], "indices", INDEX_KIND, ANY_COUNT) < 0)
            goto fail;
        wide = bufs[IND].view.itemsize == 8;
        if (bufs[PTR].view.itemsize != bufs[IND].view.itemsize) {
            PyErr_SetString(PyExc_TypeError, "indices, indptr: expected one type");
            goto fail;
        }
        first = indptr_at(&bufs[PTR], 0);
        last = indptr_at(&bufs[PTR], m);
        const Py_ssize_t stored = bufs[X].view.len / bufs[X].view.itemsize;
        if (first < 0 || last < first ||
            last > bufs[IND].view.len / bufs[IND].view.itemsize || last > stored) {
            PyErr_SetString(PyExc_ValueError, "indptr: out of the stored values");
            goto fail;
        }
    }
    /* One thread per task, at most MAX_THREADS, and no more than samples */
    if (n_threads < 1) n_threads = 1;
    if (n_threads > MAX_THREADS) n_threads = MAX_THREADS;
    if (m > 0 && n_threads > m) n_threads = (int)m;
    if (m == 0) n_threads = 1;

    Task proto;
    memset(&proto, 0, sizeof(proto));
    proto.X = bufs[X].view.buf;
    proto.indices = sparse ? bufs[IND].view.buf : NULL;
    proto.indptr = sparse ? bufs[PTR].view.buf : NULL;
    proto.wt = bufs[WT].view.buf;
    proto.b = bufs[B].view.buf;
    proto.Y = bufs[Y].view.buf;
    proto.s = os != Py_None ? bufs[S].view.buf : NULL;
    proto.m = m;
    proto.n = n;
    proto.K = K;
    proto.real = (size_t)bufs[X].view.itemsize;
    proto.first = first;
    proto.last = last;
    {
        const Py_ssize_t row_bytes = (n > 0 ? n : 1) * bufs[X].view.itemsize;
        Py_ssize_t chunk = chunk_bytes() / row_bytes;
        proto.ahead = AHEAD_BYTES / row_bytes < 4 ? 4 : AHEAD_BYTES / row_bytes;
        proto.chunk = sparse              ? CHUNK_MAX
                      : chunk < CHUNK_MIN ? CHUNK_MIN
                      : chunk > CHUNK_MAX ? CHUNK_MAX
                                          : chunk;
    }
    if (real == 'd')
        proto.run = !sparse ? dense_range_f64_i32
                    : wide  ? sparse_range_f64_i64
                            : sparse_range_f64_i32;
    else
        proto.run = !sparse ? dense_range_f32_i32
                    : wide  ? sparse_range_f32_i64
                            : sparse_range_f32_i32;
    if (run_all(&proto, n_threads, sparse ? &bufs[PTR] : NULL,
                (double *)bufs[G].view.buf, (double *)bufs[DZ].view.buf, &loss) < 0)
        goto fail;
    release(bufs, N);
    return PyFloat_FromDouble(loss);
fail:
    release(bufs, N);
    return NULL;
}

PyDoc_STRVAR(simd_doc, "simd()\n--\n\n"
                       "The instruction set whose kernels run on this CPU.");

static PyObject *simd(PyObject *self, PyObject *unused) {
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__linux__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4")) return PyUnicode_FromString("x86-64-v4");
    if (__builtin_cpu_supports("x86-64-v3")) return PyUnicode_FromString("x86-64-v3");
    return PyUnicode_FromString("x86-64");
#else
    return PyUnicode_FromString("compiler default");
#endif
}

static PyMethodDef methods[] = {
    {"loss_and_gradient", loss_and_gradient, METH_VARARGS, loss_and_gradient_doc},
    {"simd", simd, METH_NOARGS, simd_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fused",
    "Fused log-loss and gradient sums (see sklearn_gd_logreg._gradient).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__fused(void) { return PyModule_Create(&module); }
