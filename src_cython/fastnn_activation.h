/* The activation loops of _activation.pyx, forward and backward, as whole C functions.
 *
 * Each loop is compiled once per SIMD width and picked when the module is loaded
 * (FASTNN_CLONES, see fastnn_math.h): the CPU's widest vectors (AVX2: 8 floats, AVX-512: 16)
 * even in a portable build. Cython cuts the array into one contiguous block per thread and
 * calls the loop on each block.
 *
 * Every loop body is branch-free: selects instead of "if" (fastnn_select, see
 * fastnn_math.h for why "c ? a : b" is not enough), both sides always computed. The
 * semantics are those of the NumPy reference, NaN included:
 *   relu(NaN) = NaN (select on "not x <= 0"), leaky_relu/elu(NaN) = NaN (the "x > 0" select
 *   falls through to the negative side, which propagates the NaN).
 *
 * All loops share two signatures so that Cython can pass them around as function pointers:
 *   forward  (x, y, n, param)           y = f(x)
 *   backward (grad_y, saved, grad_x, n, param)  grad_x = grad_y * f'(...)
 * (param is the slope or alpha where there is one, ignored otherwise.)
 */
#ifndef FASTNN_ACTIVATION_H
#define FASTNN_ACTIVATION_H

#include "fastnn_math.h"

#define FASTNN_FORWARD(name) \
    FASTNN_CLONES FASTNN_UNUSED static void name(const float *restrict x, float *restrict y, ptrdiff_t n, float param)
#define FASTNN_BACKWARD(name) \
    FASTNN_CLONES FASTNN_UNUSED static void name(const float *restrict gy, const float *restrict s, \
                                                 float *restrict gx, ptrdiff_t n, float param)

/* ---------------------------------------------------------------- forward */

FASTNN_FORWARD(fastnn_relu_loop)
{
    ptrdiff_t i;
    (void)param;
    for (i = 0; i < n; i++) y[i] = fastnn_select(!(x[i] <= 0.0f), x[i], 0.0f);
}

FASTNN_FORWARD(fastnn_leaky_relu_loop)
{
    ptrdiff_t i;
    for (i = 0; i < n; i++) y[i] = fastnn_select(x[i] > 0.0f, x[i], x[i] * param);
}

/* ELU: x for x > 0, alpha * (exp(x) - 1) otherwise; exp - 1 is evaluated on min(x, 0) so
 * that the discarded side cannot overflow. */
FASTNN_FORWARD(fastnn_elu_loop)
{
    ptrdiff_t i;
    for (i = 0; i < n; i++) {
        float v = x[i];
        float neg = fastnn_select(v > 0.0f, 0.0f, v);
        y[i] = fastnn_select(v > 0.0f, v, param * fastnn_expm1f_nonpos(neg));
    }
}

FASTNN_FORWARD(fastnn_sigmoid_loop)
{
    ptrdiff_t i;
    (void)param;
    for (i = 0; i < n; i++) y[i] = fastnn_sigmoidf(x[i]);
}

FASTNN_FORWARD(fastnn_tanh_loop)
{
    ptrdiff_t i;
    (void)param;
    for (i = 0; i < n; i++) y[i] = fastnn_tanhf(x[i]);
}

/* ---------------------------------------------------------------- backward
 * From the saved output y (relu, elu, sigmoid, tanh) or the saved input x (leaky_relu). */

/* y > 0 exactly where x > 0 */
FASTNN_BACKWARD(fastnn_relu_grad_loop)
{
    ptrdiff_t i;
    (void)param;
    for (i = 0; i < n; i++) gx[i] = fastnn_select(s[i] > 0.0f, gy[i], 0.0f);
}

/* from the input: with a negative (or zero) slope the output's sign does not tell */
FASTNN_BACKWARD(fastnn_leaky_relu_grad_loop)
{
    ptrdiff_t i;
    for (i = 0; i < n; i++) gx[i] = fastnn_select(s[i] > 0.0f, gy[i], gy[i] * param);
}

/* for x <= 0, dy/dx = alpha * exp(x) = y + alpha */
FASTNN_BACKWARD(fastnn_elu_grad_loop)
{
    ptrdiff_t i;
    for (i = 0; i < n; i++) gx[i] = fastnn_select(s[i] > 0.0f, gy[i], gy[i] * (s[i] + param));
}

/* dy/dx = y (1 - y) */
FASTNN_BACKWARD(fastnn_sigmoid_grad_loop)
{
    ptrdiff_t i;
    (void)param;
    for (i = 0; i < n; i++) gx[i] = gy[i] * (s[i] * (1.0f - s[i]));
}

/* dy/dx = 1 - y^2 */
FASTNN_BACKWARD(fastnn_tanh_grad_loop)
{
    ptrdiff_t i;
    (void)param;
    for (i = 0; i < n; i++) gx[i] = gy[i] * (1.0f - s[i] * s[i]);
}

#endif /* FASTNN_ACTIVATION_H */
