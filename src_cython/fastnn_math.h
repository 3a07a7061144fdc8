/* Vectorisable float32 math for the Cython kernels (activations, losses, batch norm).
 *
 * Why this file exists
 * --------------------
 * A loop such as ``for i: y[i] = tanhf(x[i])`` calls the C library once per element. glibc's
 * ``tanhf``/``expf`` are accurate but *scalar* functions with branches inside, so the
 * compiler cannot turn the loop into SIMD code: every element costs a function call
 * (~10-40 ns for tanhf), while NumPy ships hand-vectorised exp/tanh loops. The functions
 * below compute the same values with nothing but +, *, /, comparisons that become blends,
 * and integer bit operations on the float's representation. Such a function, inlined into
 * a loop, is vectorised by GCC/Clang at -O3 like any arithmetic: 4 floats at a time with the
 * SSE2 of every x86-64 CPU, 8 with AVX2 when built with FASTNN_NATIVE=1.
 *
 * The exp trick (range reduction + polynomial)
 * --------------------------------------------
 * exp(x) = 2^k * exp(r)   with k = round(x / ln 2) and r = x - k ln 2, |r| <= ln2/2 = 0.347.
 *
 *  1. k by the "magic number" trick: adding 1.5 * 2^23 to a float whose magnitude is below
 *     2^22 pushes its fraction bits out of the mantissa, so the FPU rounds it to an integer
 *     (round-to-nearest), and the low bits of the sum's *bit pattern* hold that integer.
 *     No float->int conversion, no rintf() call.
 *  2. r = x - k*ln2 in two steps (Cody-Waite): ln2 = C1 + C2 where C1 has few mantissa
 *     bits, so k*C1 is exact and the subtraction loses nothing.
 *  3. exp(r) - 1 ~= r + r^2 * P(r), P a degree-4 polynomial fitted for the smallest
 *     relative error on [-ln2/2, ln2/2] (see fastnn_expm1_reduced); evaluated by Horner's
 *     rule, error below 1 ulp.
 *  4. 2^k is built directly as a bit pattern: exponent field k + 127, mantissa 0. It is
 *     applied in two halves (2^k1 * 2^k2) so that results that underflow into the
 *     subnormal range or overflow to +inf come out right instead of wrapping around.
 *
 * Inputs are clamped to [-105, 89] first (exp is 0 below and +inf above in float32); a
 * NaN passes through every step (all comparisons with NaN are false, so the clamps keep
 * it, and NaN * anything is NaN). Measured against a float64 reference the results are
 * within 2 ulp over the whole float range (tests/test_cython_activations.py).
 *
 * All integer work on bit patterns is done in uint32_t: wrap-around is defined there,
 * and memcpy is the portable way to reinterpret the bits (it compiles to nothing).
 */
#ifndef FASTNN_MATH_H
#define FASTNN_MATH_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint32_t fastnn_f2u(float f) { uint32_t u; memcpy(&u, &f, sizeof u); return u; }
static inline float fastnn_u2f(uint32_t u) { float f; memcpy(&f, &u, sizeof f); return f; }

/* cond ? a : b, as bit masks: (a & m) | (b & ~m) with m all ones or all zeros.
 *
 * Why not write "cond ? a : b"? Both are fine C, but GCC keeps a *branch* for it whenever
 * an arithmetic operation ends up inside one of the arms (it likes to move computations
 * next to their only use), and it may not turn such a branch back into a select because a
 * floating-point operation executed for an element that did not need it could raise an
 * exception flag (-ftrapping-math, the default). A loop with a branch inside is not
 * vectorised. The integer form has no branch to keep: it becomes a SIMD compare and a
 * blend (and/andnot/or), for every element at once. Both a and b are always computed. */
static inline float fastnn_select(int cond, float a, float b)
{
    uint32_t m = (uint32_t)0 - (uint32_t)(cond != 0);
    return fastnn_u2f((fastnn_f2u(a) & m) | (fastnn_f2u(b) & ~m));
}

/* the same for int32 (e.g. the position of a running maximum) */
static inline int32_t fastnn_selecti(int cond, int32_t a, int32_t b)
{
    int32_t m = -(int32_t)(cond != 0);
    return (a & m) | (b & ~m);
}

#define FASTNN_LOG2E 1.44269504088896341f
#define FASTNN_LN2_HI 0.693359375f            /* 0x1.63p-1: 9 significant bits, k*C1 is exact */
#define FASTNN_LN2_LO -2.12194440e-4f         /* ln 2 - LN2_HI */
#define FASTNN_MAGIC 12582912.0f              /* 1.5 * 2^23 */
#define FASTNN_MAGIC_BITS 0x4B400000u         /* its bit pattern */

/* exp(r) - 1 for |r| <= ln2/2: r + r^2 * P(r). Accurate also for tiny r, where computing
 * exp(r) - 1 would cancel.
 *
 * P (degree 4) approximates (exp(r) - 1 - r) / r^2 = 1/2 + r/6 + r^2/24 + ... Its
 * coefficients are not the Taylor ones but a *minimax* fit: chosen so that the largest
 * relative error of r + r^2 P(r) over the whole interval is as small as possible (fitted in
 * float64 by iteratively reweighted least squares -- Lawson's algorithm -- on 4000
 * Chebyshev points, then rounded to float32): 1.7e-8, a seventh of a float32 ulp. The
 * Taylor polynomial of the same degree is off by 3.9e-7 (3 ulp) at the interval's ends;
 * matching the minimax accuracy with Taylor terms would cost another multiply-add per
 * element. */
static inline float fastnn_expm1_reduced(float r)
{
    float p = 1.3882522471e-3f;
    p = p * r + 8.3665139973e-3f;
    p = p * r + 4.1667200625e-2f;
    p = p * r + 1.6666543484e-1f;
    p = p * r + 4.9999997020e-1f;
    return r + r * r * p;
}

/* k = round(x / ln 2) as float (kf) and as integer bits (returned), for |x| < 2^21. */
static inline uint32_t fastnn_exp_reduce(float x, float *kf, float *r)
{
    float t = x * FASTNN_LOG2E + FASTNN_MAGIC;     /* rounds x/ln2 to an integer */
    uint32_t k = fastnn_f2u(t) - FASTNN_MAGIC_BITS; /* that integer, two's complement */
    *kf = t - FASTNN_MAGIC;
    *r = (x - *kf * FASTNN_LN2_HI) - *kf * FASTNN_LN2_LO;
    return k;
}

/* exp(x) in float32, vectorisable (see the top of this file). */
static inline float fastnn_expf(float x)
{
    float kf, r;
    uint32_t k, k1, k2;
    x = fastnn_select(x < -105.0f, -105.0f, x);  /* a NaN compares false: it stays NaN */
    x = fastnn_select(x > 89.0f, 89.0f, x);
    k = fastnn_exp_reduce(x, &kf, &r);
    /* 2^k = 2^k1 * 2^k2 with k1 = floor(k/2), so that each half is a normal float */
    k1 = (uint32_t)((int32_t)k >> 1);
    k2 = k - k1;
    return ((1.0f + fastnn_expm1_reduced(r)) * fastnn_u2f((k1 + 127u) << 23)) * fastnn_u2f((k2 + 127u) << 23);
}

/* exp(x) - 1 for x <= 0 (what ELU needs), accurate near 0 where exp(x) - 1 cancels.
 * With s = 2^k: exp(x) - 1 = s * expm1(r) + (s - 1); s - 1 is exact for the k that matter,
 * and for k = 0 the result is the polynomial itself. Below -87 the float32 result is -1. */
static inline float fastnn_expm1f_nonpos(float x)
{
    float kf, r, s;
    uint32_t k;
    x = fastnn_select(x < -87.0f, -87.0f, x);    /* keeps 2^k a normal float */
    k = fastnn_exp_reduce(x, &kf, &r);
    s = fastnn_u2f((k + 127u) << 23);
    return s * fastnn_expm1_reduced(r) + (s - 1.0f);
}

/* tanh(x) in float32, vectorisable, from one exp - 1.
 *
 * The textbook tanh|x| = 1 - 2 / (exp(2|x|) + 1) cancels near 0: for x = 1e-7 it returns
 * 1 - 0.99999990, one significant bit. Written with q = exp(-2|x|) - 1 instead,
 *
 *     tanh|x| = (1 - exp(-2|x|)) / (1 + exp(-2|x|)) = -q / (2 + q),
 *
 * and since exp - 1 is computed accurately near 0 (fastnn_expm1f_nonpos), so is tanh:
 * one formula for every x, no second polynomial for small |x| and no select between them
 * (computing both would double the work: in SIMD code both sides of an "if" run).
 * For large |x|, q = -1 exactly and the result is exactly +-1. The sign is copied back
 * at the end (tanh is odd), which also keeps tanh(-0) = -0 and NaN a NaN. Within 3 ulp. */
static inline float fastnn_tanhf(float x)
{
    float q = fastnn_expm1f_nonpos(-2.0f * fabsf(x));
    return copysignf(-q / (2.0f + q), x);
}

/* sigmoid(x) = 1 / (1 + exp(-x)) without overflow: with e = exp(-|x|) in (0, 1],
 * sigmoid = 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0 -- one division either way. */
static inline float fastnn_sigmoidf(float x)
{
    float e = fastnn_expf(-fabsf(x));
    float num = fastnn_select(x >= 0.0f, 1.0f, e);
    return num / (1.0f + e);
}

/* ---------------------------------------------------------------- whole loops, one per SIMD width
 * The functions above vectorise at whatever SIMD width the build targets. A portable build
 * (no -march=native) may only assume SSE2: 4 floats per instruction, no fused multiply-add,
 * although the CPU running it most likely has AVX2 (8 floats, FMA) or AVX-512 (16).
 * For exp-heavy loops that is a 2-5x difference. GCC's target_clones attribute compiles
 * a function several times, for the listed instruction sets plus a "default" one, and adds
 * a resolver that the dynamic loader runs once (an "ifunc"): it asks the CPU what it
 * supports and binds the function name to the best clone. Portable *and* fast, with no
 * dispatch code of our own. Where the attribute is not available (other compilers, non-x86,
 * non-ELF platforms) the loops are compiled once, for the build's target. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11 && defined(__x86_64__) && defined(__ELF__) \
    && !defined(FASTNN_NO_CLONES)
#define FASTNN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define FASTNN_HAVE_CLONES 1
#else
#define FASTNN_CLONES
#define FASTNN_HAVE_CLONES 0
#endif
/* every module includes this header but uses only some of the loops */
#if defined(__GNUC__)
#define FASTNN_UNUSED __attribute__((unused))
#else
#define FASTNN_UNUSED
#endif

/* ---------------------------------------------------------------- reductions
 * Sums over float32 data accumulated in double (no loss of precision over 10^6 terms).
 * Without -ffast-math a compiler may not reorder a floating-point sum, so a plain loop
 * stays scalar; "#pragma omp simd reduction(+:s)" gives it explicit permission to keep
 * one partial sum per SIMD lane. The pragma only exists with OpenMP >= 4.0 (GCC, Clang);
 * elsewhere the loops are correct and merely scalar.
 */
#if defined(_OPENMP) && _OPENMP >= 201307
#define FASTNN_PRAGMA(x) _Pragma(#x)
#define FASTNN_SIMD_SUM(v) FASTNN_PRAGMA(omp simd reduction(+:v))
#define FASTNN_SIMD_SUM2(v, w) FASTNN_PRAGMA(omp simd reduction(+:v, w))
#define FASTNN_SIMD_MAX(v) FASTNN_PRAGMA(omp simd reduction(max:v))
#else
#define FASTNN_SIMD_SUM(v)
#define FASTNN_SIMD_SUM2(v, w)
#define FASTNN_SIMD_MAX(v)
#endif

/* sum x[i] */
static inline double fastnn_sum(const float *x, ptrdiff_t n)
{
    double s = 0.0;
    ptrdiff_t i;
    FASTNN_SIMD_SUM(s)
    for (i = 0; i < n; i++) s += (double)x[i];
    return s;
}

/* Batch-norm statistics in one pass: *s1 += sum (x[i] - K), *s2 += sum (x[i] - K)^2.
 *
 * Then mean = K + s1/M and var = (s2 - s1^2/M) / M. The textbook one-pass formula
 * E[x^2] - E[x]^2 (K = 0) cancels catastrophically when the mean is large compared with the
 * spread: a channel of values 1000 +- 0.01 would have to subtract two numbers that agree
 * in 10 digits. Shifting by any K close to the mean (a value of the channel itself) removes
 * that, and the double accumulators keep ~29 more bits than the float32 data has, so one
 * pass is as accurate as the two-pass "mean first, then squared deviations" method and
 * reads the data once instead of twice. */
FASTNN_CLONES FASTNN_UNUSED static void
fastnn_shifted_sums(const float *restrict x, ptrdiff_t n, double K, double *s1, double *s2)
{
    double a = 0.0, b = 0.0;
    ptrdiff_t i;
    FASTNN_SIMD_SUM2(a, b)
    for (i = 0; i < n; i++) {
        double d = (double)x[i] - K;
        a += d;
        b += d * d;
    }
    *s1 += a;
    *s2 += b;
}

/* *sg += sum g[i];  *sgx += sum g[i] * (x[i] - mean)  (batch norm backward) */
FASTNN_CLONES FASTNN_UNUSED static void
fastnn_sum_g_gxc(const float *restrict g, const float *restrict x, ptrdiff_t n, float mean, double *sg, double *sgx)
{
    double a = 0.0, b = 0.0;
    ptrdiff_t i;
    FASTNN_SIMD_SUM2(a, b)
    for (i = 0; i < n; i++) {
        a += (double)g[i];
        b += (double)g[i] * (double)(x[i] - mean);
    }
    *sg += a;
    *sgx += b;
}

/* Batch norm backward in eval mode, one pass: gx[i] = g[i] * scale, and the same sums as
 * fastnn_sum_g_gxc for grad_bias and grad_weight (the statistics are constants in eval, so
 * grad_x does not wait for the sums and the data is read once). */
FASTNN_CLONES FASTNN_UNUSED static void
fastnn_bn_eval_grad(const float *restrict g, const float *restrict x, float *restrict gx, ptrdiff_t n,
                    float mean, float scale, double *sg, double *sgx)
{
    double a = 0.0, b = 0.0;
    ptrdiff_t i;
    FASTNN_SIMD_SUM2(a, b)
    for (i = 0; i < n; i++) {
        gx[i] = g[i] * scale;
        a += (double)g[i];
        b += (double)g[i] * (double)(x[i] - mean);
    }
    *sg += a;
    *sgx += b;
}

/* ---------------------------------------------------------------- softmax rows (losses) */

/* e[i] = exp(x[i] - m) for a row whose maximum is m; returns sum e[i] (in double).
 * Shifting by the maximum makes every exponent <= 0: exp cannot overflow, and the largest
 * term is exactly 1 so the sum is at least 1 (its log is safe). */
FASTNN_CLONES FASTNN_UNUSED static double
fastnn_exp_shift_sum(const float *restrict x, float *restrict e, ptrdiff_t n, float m)
{
    double s = 0.0;
    ptrdiff_t i;
    FASTNN_SIMD_SUM(s)
    for (i = 0; i < n; i++) {
        float v = fastnn_expf(x[i] - m);
        e[i] = v;
        s += (double)v;
    }
    return s;
}

/* log_softmax backward from the saved output y = log p: gx = gy - exp(y) * total,
 * total = sum of the row of gy. */
FASTNN_CLONES FASTNN_UNUSED static void
fastnn_log_softmax_grad(const float *restrict gy, const float *restrict y, float *restrict gx, ptrdiff_t n, float total)
{
    ptrdiff_t i;
    for (i = 0; i < n; i++) gx[i] = gy[i] - fastnn_expf(y[i]) * total;
}

/* max x[i]. A NaN never wins the compare (so it is skipped unless it is x[0]); a row holding
 * a NaN comes out all NaN from the softmax anyway, as in the reference. */
static inline float fastnn_max(const float *x, ptrdiff_t n)
{
    float m = x[0];
    ptrdiff_t i;
    FASTNN_SIMD_MAX(m)
    for (i = 1; i < n; i++) m = fastnn_select(x[i] > m, x[i], m);
    return m;
}

#endif /* FASTNN_MATH_H */
