# cython: language_level=3
"""Machine ceilings for ``fastnn bench``: peak float32 FLOP/s and memory bandwidth.

Two tiny C kernels, the two roofs of the roofline plot:

``fma_peak(iters, isa, num_threads)``
    Every thread runs ``iters`` iterations of 12 *independent* fused multiply-add chains
    ``acc_j = acc_j * m + c`` on whole SIMD registers. Independent, because an FMA has a
    latency of 4-5 cycles but a core can start one or two every cycle: only with at least
    (latency x FMA units) chains in flight is the FMA pipeline never waiting for a result.
    12 chains cover every current x86 core (Haswell: 5 x 2 = 10; Skylake/Zen: 4 x 2 = 8).
    Nothing is loaded or stored inside the loop, so this is the arithmetic ceiling no
    kernel can beat: ``2 * 12 * lanes * iters`` FLOP per thread.

    ``isa`` picks the code path: ``"avx512f"`` (16 floats per register), ``"avx2+fma"``
    (8 floats), or ``"generic"`` (portable C vector extensions, 4 floats, multiply and add
    as the compiler sees fit). The x86 paths are compiled through function attributes
    (``__attribute__((target("avx2,fma")))``), so the module itself stays portable (no
    ``-march=native``); :func:`isas` lists the paths this CPU can run, checked at run time
    with ``__builtin_cpu_supports``.

``triad(a, b, c, scalar, reps, num_threads)``
    The STREAM triad ``a[i] = b[i] + scalar * c[i]`` over float32 arrays much larger than
    the caches, parallel with a static schedule (each thread owns one block, the same
    block it first touched in :func:`first_touch`, so on a multi-socket machine its pages
    sit in its own memory). Returns the best time of ``reps`` passes; the bandwidth is
    ``3 * 4 * n / time`` bytes per second (STREAM's convention: the write-allocate read of
    ``a`` is not counted).

As every compiled kernel of fastnn, both take ``num_threads`` as their last argument.
Time is measured by the caller around the call (``time.perf_counter``).
"""
import numpy as np

cdef extern from "fastnn_omp.h" nogil:
    int FASTNN_OPENMP

cdef extern from * nogil:
    """
    #include <stddef.h>
    #ifdef _OPENMP
    #include <omp.h>
    #endif

    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    #define FASTNN_PROBE_X86 1
    #include <immintrin.h>
    #else
    #define FASTNN_PROBE_X86 0
    #endif

    #define FASTNN_PROBE_CHAINS 12

    /* ---- AVX-512F: 12 chains x 16 floats ------------------------------------ */
    #if FASTNN_PROBE_X86
    __attribute__((target("avx512f")))
    static float fastnn_probe_avx512(long iters) {
        const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f);
        /* distinct starting values: identical chains would be merged into one by the compiler */
        __m512 a0 = _mm512_set1_ps(1.00f), a1 = _mm512_set1_ps(1.01f), a2 = _mm512_set1_ps(1.02f),
               a3 = _mm512_set1_ps(1.03f), a4 = _mm512_set1_ps(1.04f), a5 = _mm512_set1_ps(1.05f),
               a6 = _mm512_set1_ps(1.06f), a7 = _mm512_set1_ps(1.07f), a8 = _mm512_set1_ps(1.08f),
               a9 = _mm512_set1_ps(1.09f), a10 = _mm512_set1_ps(1.10f), a11 = _mm512_set1_ps(1.11f);
        for (long i = 0; i < iters; i++) {
            a0 = _mm512_fmadd_ps(a0, m, c);  a1 = _mm512_fmadd_ps(a1, m, c);
            a2 = _mm512_fmadd_ps(a2, m, c);  a3 = _mm512_fmadd_ps(a3, m, c);
            a4 = _mm512_fmadd_ps(a4, m, c);  a5 = _mm512_fmadd_ps(a5, m, c);
            a6 = _mm512_fmadd_ps(a6, m, c);  a7 = _mm512_fmadd_ps(a7, m, c);
            a8 = _mm512_fmadd_ps(a8, m, c);  a9 = _mm512_fmadd_ps(a9, m, c);
            a10 = _mm512_fmadd_ps(a10, m, c); a11 = _mm512_fmadd_ps(a11, m, c);
        }
        __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                                 _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
        s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
        return _mm512_reduce_add_ps(s);   /* the result is used: the loop cannot be dropped */
    }

    /* ---- AVX2 + FMA: 12 chains x 8 floats ----------------------------------- */
    __attribute__((target("avx2,fma")))
    static float fastnn_probe_avx2(long iters) {
        const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
        __m256 a0 = _mm256_set1_ps(1.00f), a1 = _mm256_set1_ps(1.01f), a2 = _mm256_set1_ps(1.02f),
               a3 = _mm256_set1_ps(1.03f), a4 = _mm256_set1_ps(1.04f), a5 = _mm256_set1_ps(1.05f),
               a6 = _mm256_set1_ps(1.06f), a7 = _mm256_set1_ps(1.07f), a8 = _mm256_set1_ps(1.08f),
               a9 = _mm256_set1_ps(1.09f), a10 = _mm256_set1_ps(1.10f), a11 = _mm256_set1_ps(1.11f);
        for (long i = 0; i < iters; i++) {
            a0 = _mm256_fmadd_ps(a0, m, c);  a1 = _mm256_fmadd_ps(a1, m, c);
            a2 = _mm256_fmadd_ps(a2, m, c);  a3 = _mm256_fmadd_ps(a3, m, c);
            a4 = _mm256_fmadd_ps(a4, m, c);  a5 = _mm256_fmadd_ps(a5, m, c);
            a6 = _mm256_fmadd_ps(a6, m, c);  a7 = _mm256_fmadd_ps(a7, m, c);
            a8 = _mm256_fmadd_ps(a8, m, c);  a9 = _mm256_fmadd_ps(a9, m, c);
            a10 = _mm256_fmadd_ps(a10, m, c); a11 = _mm256_fmadd_ps(a11, m, c);
        }
        __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                                 _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
        s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
        float lanes[8];
        _mm256_storeu_ps(lanes, s);
        return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
    }
    #endif

    /* ---- portable: GCC/Clang vector extensions (SSE2 / NEON), else scalar ---- */
    #if defined(__GNUC__)
    typedef float fastnn_v4sf __attribute__((vector_size(16)));
    #define FASTNN_GENERIC_LANES 4
    #else
    typedef float fastnn_v4sf;
    #define FASTNN_GENERIC_LANES 1
    #endif

    static float fastnn_probe_generic(long iters) {
        const fastnn_v4sf m = (fastnn_v4sf){0} + 0.999999f, c = (fastnn_v4sf){0} + 1e-6f;
        fastnn_v4sf acc[FASTNN_PROBE_CHAINS];
        for (int j = 0; j < FASTNN_PROBE_CHAINS; j++) acc[j] = (fastnn_v4sf){0} + (1.0f + 0.01f * j);
        for (long i = 0; i < iters; i++) {
            for (int j = 0; j < FASTNN_PROBE_CHAINS; j++) acc[j] = acc[j] * m + c;
        }
        fastnn_v4sf s = acc[0];
        for (int j = 1; j < FASTNN_PROBE_CHAINS; j++) s = s + acc[j];
        float out = 0.0f;
        for (int l = 0; l < FASTNN_GENERIC_LANES; l++) out += ((float *)&s)[l];
        return out;
    }

    /* isa: 0 generic, 1 avx2+fma, 2 avx512f. Returns the lanes per register. */
    static int fastnn_probe_lanes(int isa) {
        return isa == 2 ? 16 : isa == 1 ? 8 : FASTNN_GENERIC_LANES;
    }

    static int fastnn_probe_supported(int isa) {
        if (isa == 0) return 1;
    #if FASTNN_PROBE_X86
        __builtin_cpu_init();
        if (isa == 1) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        if (isa == 2) return __builtin_cpu_supports("avx512f");
    #endif
        return 0;
    }

    static float fastnn_probe_one(int isa, long iters) {
    #if FASTNN_PROBE_X86
        if (isa == 2) return fastnn_probe_avx512(iters);
        if (isa == 1) return fastnn_probe_avx2(iters);
    #endif
        return fastnn_probe_generic(iters);
    }

    /* Every thread runs the chains; returns the number of threads that ran. */
    static int fastnn_probe_run(int isa, long iters, int num_threads, float *sink) {
        int team = 1;
        float total = 0.0f;
    #ifdef _OPENMP
        #pragma omp parallel num_threads(num_threads) reduction(+:total)
        {
            #pragma omp single
            team = omp_get_num_threads();
            total += fastnn_probe_one(isa, iters);
        }
    #else
        (void)num_threads;
        total = fastnn_probe_one(isa, iters);
    #endif
        *sink = total;
        return team;
    }

    static void fastnn_first_touch(float *a, float *b, float *c, ptrdiff_t n, int num_threads) {
    #ifdef _OPENMP
        #pragma omp parallel for schedule(static) num_threads(num_threads)
    #endif
        for (ptrdiff_t i = 0; i < n; i++) { a[i] = 0.0f; b[i] = 1.0f; c[i] = 2.0f; }
        (void)num_threads;
    }

    static void fastnn_triad(float *a, const float *b, const float *c, float s, ptrdiff_t n,
                             int num_threads) {
    #ifdef _OPENMP
        #pragma omp parallel for schedule(static) num_threads(num_threads)
    #endif
        for (ptrdiff_t i = 0; i < n; i++) a[i] = b[i] + s * c[i];
        (void)num_threads;
    }
    """
    int fastnn_probe_lanes(int isa)
    int fastnn_probe_supported(int isa)
    int fastnn_probe_run(int isa, long iters, int num_threads, float *sink)
    void fastnn_first_touch(float *a, float *b, float *c, Py_ssize_t n, int num_threads)
    void fastnn_triad(float *a, const float *b, const float *c, float s, Py_ssize_t n, int num_threads)
    int FASTNN_PROBE_CHAINS

#: the code paths, widest last; ``isas()`` filters them by what this CPU supports
ISA_NAMES = ("generic", "avx2+fma", "avx512f")

import time as _time


def openmp_enabled():
    """True when this module was compiled with OpenMP (else every call runs on one thread)."""
    return bool(FASTNN_OPENMP)


def isas():
    """The FMA probe paths this CPU can run, narrowest first."""
    return [name for i, name in enumerate(ISA_NAMES) if fastnn_probe_supported(i)]


def _isa_index(isa):
    try:
        index = ISA_NAMES.index(isa)
    except ValueError:
        raise ValueError(f"unknown isa {isa!r}; choose one of {', '.join(ISA_NAMES)}") from None
    if not fastnn_probe_supported(index):
        raise ValueError(f"this CPU cannot run the {isa!r} probe (supported: {', '.join(isas())})")
    return index


def flops_per_iteration(isa):
    """FLOP one thread does per loop iteration: 12 chains x lanes x 2 (multiply and add)."""
    return 2 * FASTNN_PROBE_CHAINS * fastnn_probe_lanes(_isa_index(isa))


def fma_peak(long iters, isa, int num_threads):
    """Run the FMA chains ``iters`` times on ``num_threads`` threads.

    Returns ``(flop, seconds, threads)``: the FLOP done by all threads together, the wall
    time of the parallel region (including starting the team: keep ``iters`` large enough
    for that to vanish, ~50 ms) and the threads that really ran."""
    if iters < 1 or num_threads < 1:
        raise ValueError(f"iters and num_threads must be >= 1, got {iters} and {num_threads}")
    cdef int index = _isa_index(isa)
    cdef float sink = 0.0
    cdef int team
    start = _time.perf_counter()
    with nogil:
        team = fastnn_probe_run(index, iters, num_threads, &sink)
    seconds = _time.perf_counter() - start
    if sink != sink:            # NaN would mean the chains diverged (they converge to 1.0)
        raise RuntimeError("the FMA probe produced NaN")
    return float(team) * iters * flops_per_iteration(isa), seconds, team


def first_touch(float[::1] a, float[::1] b, float[::1] c, int num_threads):
    """Initialise the triad's arrays with the same static schedule the triad uses."""
    if not (a.shape[0] == b.shape[0] == c.shape[0]):
        raise ValueError("a, b and c must have the same length")
    with nogil:
        fastnn_first_touch(&a[0], &b[0], &c[0], a.shape[0], num_threads)


def triad(float[::1] a, float[::1] b, float[::1] c, float scalar, int reps, int num_threads):
    """``a = b + scalar * c`` ``reps`` times; returns the best (shortest) time of one pass in seconds."""
    if not (a.shape[0] == b.shape[0] == c.shape[0]):
        raise ValueError("a, b and c must have the same length")
    if reps < 1 or num_threads < 1:
        raise ValueError(f"reps and num_threads must be >= 1, got {reps} and {num_threads}")
    cdef Py_ssize_t n = a.shape[0]
    best = float("inf")
    for _ in range(reps):
        start = _time.perf_counter()
        with nogil:
            fastnn_triad(&a[0], &b[0], &c[0], scalar, n, num_threads)
        best = min(best, _time.perf_counter() - start)
    return best
