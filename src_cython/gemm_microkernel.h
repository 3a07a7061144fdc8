/* The GEMM micro-kernels of fastnn (and the OpenMP helpers the packed driver needs).
 *
 * A micro-kernel computes one MR x NR tile of C from two packed micro-panels:
 *
 *     C[0:MR, 0:NR] (+)= Ap (MR x kc, stored column by column: Ap[p*MR + i] = A[i, p])
 *                      @ Bp (kc x NR, stored row by row:       Bp[p*NR + j] = B[p, j])
 *
 * For each p it takes one column of A (MR numbers) and one row of B (NR numbers) and
 * adds their outer product to the MR x NR accumulator: MR*NR multiply-adds for MR+NR
 * loads. The accumulator never leaves the registers during the kc loop; that is what
 * "register blocking" buys: C is read and written once per kc multiply-adds instead of
 * once per multiply-add.
 *
 * Two implementations with the same signature:
 *
 *   fastnn_ukernel_avx2     6 x 16 with AVX2 + FMA intrinsics: 12 ymm accumulators
 *                           (6 rows x 2 vectors of 8 floats), 2 ymm for the row of B,
 *                           1 for the broadcast element of A = 15 of the 16 ymm registers.
 *                           Per p: 2 loads of B, 6 broadcasts, 12 fused multiply-adds.
 *                           Compiled for AVX2 through a function attribute, so the rest
 *                           of the module stays portable (no -march=native needed).
 *   fastnn_ukernel_generic  the same tile in portable C (GCC/clang vector extensions: SSE2 on
 *                           a portable x86-64 build, NEON on ARM), as two 6 x 8 halves so
 *                           that the accumulators fit 16 registers.
 *
 * Which one runs is decided at run time (fastnn_cpu_has_avx2_fma), never at build time.
 *
 * Edge tiles: packed panels are zero-padded to full MR / NR, so the arithmetic is always a
 * full tile; only the first m rows and n columns of the result are written back to C.
 * accumulate = 0 stores the tile into C, accumulate = 1 adds it to what C holds.
 */
#ifndef FASTNN_GEMM_MICROKERNEL_H
#define FASTNN_GEMM_MICROKERNEL_H

#include <stddef.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#define FASTNN_MR 6
#define FASTNN_NR 16

typedef void (*fastnn_ukernel_t)(ptrdiff_t kc, const float *ap, const float *bp,
                                 float *c, ptrdiff_t ldc, int m, int n, int accumulate);
/* the same with A read in place: element (i, p) of the A micro-panel at arow[i][pos[p]] */
typedef void (*fastnn_ukernel_arows_t)(ptrdiff_t kc, const float *const *arow, const ptrdiff_t *pos,
                                       const float *bp, float *c, ptrdiff_t ldc, int m, int n,
                                       int accumulate);
/* the same with B read in place: row p of the B micro-panel is the 8 floats at base + offs[p]
 * followed by the 8 floats at base + offs[p] + half (half = 8: 16 contiguous floats) */
typedef void (*fastnn_ukernel_rows_t)(ptrdiff_t kc, const float *ap, const float *base,
                                      const ptrdiff_t *offs, ptrdiff_t half, float *c,
                                      ptrdiff_t ldc, int m, int n, int accumulate);

/* Write (or add) the valid m x n corner of a full MR x NR tile into C. */
static inline void fastnn_tile_store(const float *tile, float *c, ptrdiff_t ldc,
                                     int m, int n, int accumulate)
{
    for (int i = 0; i < m; i++) {
        float *ci = c + i * ldc;
        const float *ti = tile + i * FASTNN_NR;
        if (accumulate)
            for (int j = 0; j < n; j++) ci[j] += ti[j];
        else
            for (int j = 0; j < n; j++) ci[j] = ti[j];
    }
}

/* The portable micro-kernel.
 *
 * With GCC or clang it is written with their generic vector extension (a 4-float vector
 * type whose + and * the compiler maps to SSE on x86-64, NEON on ARM, ...). A baseline x86-64
 * CPU has 16 such registers, too few for a 6 x 16 accumulator (24 vectors), so the tile is
 * computed as two 6 x 8 halves, one after the other: 12 accumulators + 2 for B + 1 for A =
 * 15 registers, no spills. (Plain C loops over a local accumulator array are *not* kept in
 * registers by the compiler: they run at a few GFLOP/s, slower than the tiled rung.)
 * Other compilers get the plain loops. */
#if defined(__GNUC__) || defined(__clang__)
typedef float fastnn_v4f __attribute__((vector_size(16)));

static inline fastnn_v4f fastnn_v4f_load(const float *p)
{
    fastnn_v4f v;
    memcpy(&v, p, sizeof v);            /* an unaligned load; compiles to one instruction */
    return v;
}

static void fastnn_ukernel_generic(ptrdiff_t kc, const float *ap, const float *bp,
                                   float *c, ptrdiff_t ldc, int m, int n, int accumulate)
{
    float tile[FASTNN_MR * FASTNN_NR];
    for (int half = 0; half < 2; half++) {
        fastnn_v4f acc[FASTNN_MR][2];
        for (int i = 0; i < FASTNN_MR; i++) {
            acc[i][0] = (fastnn_v4f){0.0f, 0.0f, 0.0f, 0.0f};
            acc[i][1] = acc[i][0];
        }
        const float *b = bp + 8 * half;
        const float *a = ap;
        for (ptrdiff_t p = 0; p < kc; p++) {
            const fastnn_v4f b0 = fastnn_v4f_load(b), b1 = fastnn_v4f_load(b + 4);
            for (int i = 0; i < FASTNN_MR; i++) {
                const fastnn_v4f ai = (fastnn_v4f){a[i], a[i], a[i], a[i]};
                acc[i][0] += ai * b0;
                acc[i][1] += ai * b1;
            }
            a += FASTNN_MR;
            b += FASTNN_NR;
        }
        for (int i = 0; i < FASTNN_MR; i++) {
            memcpy(tile + i * FASTNN_NR + 8 * half, &acc[i][0], sizeof acc[i][0]);
            memcpy(tile + i * FASTNN_NR + 8 * half + 4, &acc[i][1], sizeof acc[i][1]);
        }
    }
    fastnn_tile_store(tile, c, ldc, m, n, accumulate);
}
#else
static void fastnn_ukernel_generic(ptrdiff_t kc, const float *ap, const float *bp,
                                   float *c, ptrdiff_t ldc, int m, int n, int accumulate)
{
    float acc[FASTNN_MR * FASTNN_NR];
    for (int t = 0; t < FASTNN_MR * FASTNN_NR; t++) acc[t] = 0.0f;
    for (ptrdiff_t p = 0; p < kc; p++) {
        const float *a = ap + p * FASTNN_MR;
        const float *b = bp + p * FASTNN_NR;
        for (int i = 0; i < FASTNN_MR; i++)
            for (int j = 0; j < FASTNN_NR; j++)
                acc[i * FASTNN_NR + j] += a[i] * b[j];
    }
    fastnn_tile_store(acc, c, ldc, m, n, accumulate);
}
#endif

/* The portable kernel with B read in place (see fastnn_ukernel_avx2_rows): gathers the
 * kc rows into a packed panel on the stack, in chunks, and runs the portable kernel on it. */
static void fastnn_ukernel_generic_rows(ptrdiff_t kc, const float *ap, const float *base,
                                        const ptrdiff_t *offs, ptrdiff_t half, float *c,
                                        ptrdiff_t ldc, int m, int n, int accumulate)
{
    enum { CHUNK = 64 };
    float panel[CHUNK * FASTNN_NR];
    for (ptrdiff_t p0 = 0; p0 < kc; p0 += CHUNK) {
        ptrdiff_t len = kc - p0 < CHUNK ? kc - p0 : CHUNK;
        for (ptrdiff_t p = 0; p < len; p++) {
            memcpy(panel + p * FASTNN_NR, base + offs[p0 + p], 8 * sizeof(float));
            memcpy(panel + p * FASTNN_NR + 8, base + offs[p0 + p] + half, 8 * sizeof(float));
        }
        fastnn_ukernel_generic(len, ap + p0 * FASTNN_MR, panel, c, ldc, m, n, accumulate || p0 > 0);
    }
}

/* The portable kernel with A read in place (see fastnn_ukernel_avx2_arows): gathers the A
 * micro-panel on the stack, in chunks, and runs the portable kernel on it. */
static void fastnn_ukernel_generic_arows(ptrdiff_t kc, const float *const *arow, const ptrdiff_t *pos,
                                         const float *bp, float *c, ptrdiff_t ldc, int m, int n,
                                         int accumulate)
{
    enum { CHUNK = 64 };
    float panel[CHUNK * FASTNN_MR];
    for (ptrdiff_t p0 = 0; p0 < kc; p0 += CHUNK) {
        ptrdiff_t len = kc - p0 < CHUNK ? kc - p0 : CHUNK;
        for (ptrdiff_t p = 0; p < len; p++)
            for (int i = 0; i < FASTNN_MR; i++)
                panel[p * FASTNN_MR + i] = arow[i][pos[p0 + p]];
        fastnn_ukernel_generic(len, panel, bp + p0 * FASTNN_NR, c, ldc, m, n, accumulate || p0 > 0);
    }
}

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define FASTNN_HAVE_AVX2_KERNEL 1
#include <immintrin.h>

/* The pieces of the AVX2 kernels, as macros over the 12 accumulator variables c00..c51. */
#define FASTNN_AVX2_ZERO                                                       \
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();              \
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();              \
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();              \
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();              \
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();              \
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();              \
    __m256 b0, b1, a;

/* one step p: a row of B (2 vectors: 8 floats at B, 8 at B + HALF) times a column of A
 * (6 broadcasts); HALF = 8 for a contiguous row of 16 */
#define FASTNN_AVX2_STEP_SPLIT(A, B, HALF)                                     \
    b0 = _mm256_loadu_ps(B);                                                   \
    b1 = _mm256_loadu_ps((B) + (HALF));                                        \
    a = _mm256_broadcast_ss((A) + 0);                                          \
    c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);     \
    a = _mm256_broadcast_ss((A) + 1);                                          \
    c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);     \
    a = _mm256_broadcast_ss((A) + 2);                                          \
    c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);     \
    a = _mm256_broadcast_ss((A) + 3);                                          \
    c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);     \
    a = _mm256_broadcast_ss((A) + 4);                                          \
    c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);     \
    a = _mm256_broadcast_ss((A) + 5);                                          \
    c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51);

#define FASTNN_AVX2_STEP(A, B) FASTNN_AVX2_STEP_SPLIT(A, B, 8)

/* write (or add) the accumulators into C: directly for a full tile, else through a buffer */
#define FASTNN_AVX2_STORE                                                      \
    if (m == FASTNN_MR && n == FASTNN_NR) {                                    \
        FASTNN_AVX2_ROW(0, c00, c01) FASTNN_AVX2_ROW(1, c10, c11)              \
        FASTNN_AVX2_ROW(2, c20, c21) FASTNN_AVX2_ROW(3, c30, c31)              \
        FASTNN_AVX2_ROW(4, c40, c41) FASTNN_AVX2_ROW(5, c50, c51)              \
    } else {                                                                   \
        float tile[FASTNN_MR * FASTNN_NR];                                     \
        _mm256_storeu_ps(tile + 0, c00);  _mm256_storeu_ps(tile + 8, c01);     \
        _mm256_storeu_ps(tile + 16, c10); _mm256_storeu_ps(tile + 24, c11);    \
        _mm256_storeu_ps(tile + 32, c20); _mm256_storeu_ps(tile + 40, c21);    \
        _mm256_storeu_ps(tile + 48, c30); _mm256_storeu_ps(tile + 56, c31);    \
        _mm256_storeu_ps(tile + 64, c40); _mm256_storeu_ps(tile + 72, c41);    \
        _mm256_storeu_ps(tile + 80, c50); _mm256_storeu_ps(tile + 88, c51);    \
        fastnn_tile_store(tile, c, ldc, m, n, accumulate);                     \
    }
#define FASTNN_AVX2_ROW(I, R0, R1)                                             \
    if (accumulate) {                                                          \
        R0 = _mm256_add_ps(R0, _mm256_loadu_ps(c + (I) * ldc));                \
        R1 = _mm256_add_ps(R1, _mm256_loadu_ps(c + (I) * ldc + 8));            \
    }                                                                          \
    _mm256_storeu_ps(c + (I) * ldc, R0);                                       \
    _mm256_storeu_ps(c + (I) * ldc + 8, R1);

/* ask for the C tile early: its cache lines arrive while the kc loop runs */
#define FASTNN_PREFETCH_C                                                      \
    for (int i_ = 0; i_ < m; i_++) {                                           \
        _mm_prefetch((const char *)(c + i_ * ldc), _MM_HINT_T0);               \
        _mm_prefetch((const char *)(c + i_ * ldc + FASTNN_NR - 1), _MM_HINT_T0); \
    }

/* 6 x 16 with AVX2 + FMA. The target attribute lets the compiler emit AVX2 instructions in
 * this one function only; callers must check fastnn_cpu_has_avx2_fma() first. */
__attribute__((target("avx2,fma")))
static void fastnn_ukernel_avx2(ptrdiff_t kc, const float *ap, const float *bp,
                                float *c, ptrdiff_t ldc, int m, int n, int accumulate)
{
    FASTNN_AVX2_ZERO
    FASTNN_PREFETCH_C
    ptrdiff_t p = 0;
    for (; p + 4 <= kc; p += 4) {           /* unrolled by 4: less loop overhead per FMA */
        FASTNN_AVX2_STEP(ap, bp)
        FASTNN_AVX2_STEP(ap + 6, bp + 16)
        FASTNN_AVX2_STEP(ap + 12, bp + 32)
        FASTNN_AVX2_STEP(ap + 18, bp + 48)
        ap += 24;
        bp += 64;
    }
    for (; p < kc; p++) {
        FASTNN_AVX2_STEP(ap, bp)
        ap += 6;
        bp += 16;
    }
    FASTNN_AVX2_STORE
}

/* The same tile with B read in place ("implicit GEMM"): row p of the B micro-panel is the
 * 16 floats at base + offs[p] (half = 8). The convolution uses it on a zero-padded image, where
 * row p = (c, i, j) of the column matrix, for 16 neighbouring outputs of one output row, *is* a
 * contiguous run of 16 input pixels: no im2col copy and no packing of B at all. An image whose
 * output rows are 8 wide (CIFAR's last stage) fills the 16 columns with two output rows: the
 * second 8 floats then start one padded input row further on (half = sh * Wp), and the tile
 * still lands contiguously in the NCHW output. */
__attribute__((target("avx2,fma")))
static void fastnn_ukernel_avx2_rows(ptrdiff_t kc, const float *ap, const float *base,
                                     const ptrdiff_t *offs, ptrdiff_t half, float *c, ptrdiff_t ldc,
                                     int m, int n, int accumulate)
{
    FASTNN_AVX2_ZERO
    ptrdiff_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        FASTNN_AVX2_STEP_SPLIT(ap, base + offs[p], half)
        FASTNN_AVX2_STEP_SPLIT(ap + 6, base + offs[p + 1], half)
        FASTNN_AVX2_STEP_SPLIT(ap + 12, base + offs[p + 2], half)
        FASTNN_AVX2_STEP_SPLIT(ap + 18, base + offs[p + 3], half)
        ap += 24;
    }
    for (; p < kc; p++) {
        FASTNN_AVX2_STEP_SPLIT(ap, base + offs[p], half)
        ap += 6;
    }
    FASTNN_AVX2_STORE
}

/* The same tile with A read in place: element (i, p) of the A micro-panel is
 * arow[i][pos[p]]. The convolution's weight gradient uses it: grad_w^T (K, F) = cols (K, L)
 * @ G^T (L, F), where row k = (c, i, j) of cols is the padded image seen from offset k, and
 * column l = (oh, ow) is position pos[l] = oh*sh*Wp + ow*sw in it -- any stride, any
 * dilation. Each A element is broadcast on its own anyway, so nothing needs to be contiguous:
 * no im2col copy and no packing of A. */
__attribute__((target("avx2,fma")))
static void fastnn_ukernel_avx2_arows(ptrdiff_t kc, const float *const *arow, const ptrdiff_t *pos,
                                      const float *bp, float *c, ptrdiff_t ldc, int m, int n,
                                      int accumulate)
{
    FASTNN_AVX2_ZERO
    FASTNN_PREFETCH_C
    const float *a0 = arow[0], *a1 = arow[1], *a2 = arow[2];
    const float *a3 = arow[3], *a4 = arow[4], *a5 = arow[5];
    for (ptrdiff_t p = 0; p < kc; p++) {
        const ptrdiff_t o = pos[p];
        b0 = _mm256_loadu_ps(bp);
        b1 = _mm256_loadu_ps(bp + 8);
        a = _mm256_broadcast_ss(a0 + o);
        c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
        a = _mm256_broadcast_ss(a1 + o);
        c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);
        a = _mm256_broadcast_ss(a2 + o);
        c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);
        a = _mm256_broadcast_ss(a3 + o);
        c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);
        a = _mm256_broadcast_ss(a4 + o);
        c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);
        a = _mm256_broadcast_ss(a5 + o);
        c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51);
        bp += 16;
    }
    FASTNN_AVX2_STORE
}

/* The CPU this process runs on (not the one that built it) supports AVX2 and FMA. */
static int fastnn_cpu_has_avx2_fma(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#else   /* not x86 or not GCC/clang: only the portable kernel */
#define FASTNN_HAVE_AVX2_KERNEL 0
#define fastnn_ukernel_avx2 fastnn_ukernel_generic
#define fastnn_ukernel_avx2_rows fastnn_ukernel_generic_rows
#define fastnn_ukernel_avx2_arows fastnn_ukernel_generic_arows
static int fastnn_cpu_has_avx2_fma(void) { return 0; }
#endif

/* ------------------------------------------------------------------ OpenMP helpers
 * The parallel rung runs one function on every thread of a team; each thread asks who it is,
 * and the threads that share a packed block of B meet at barriers. Outside a parallel region
 * (or without OpenMP) these mean "a team of one". */

static inline void fastnn_gemm_barrier(void)
{
#ifdef _OPENMP
#pragma omp barrier
#endif
}

static inline int fastnn_gemm_team_size(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

static inline int fastnn_gemm_thread_num(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

#endif /* FASTNN_GEMM_MICROKERNEL_H */
