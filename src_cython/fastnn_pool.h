/* The 2x2, stride 2 pooling row loops (see _pool.pyx).
 *
 * Max pool: branch-free and vectorisable.
 *
 * One output row reads two input rows r0, r1; output ow compares the four taps
 * a = r0[2ow], b = r0[2ow+1], c = r1[2ow], d = r1[2ow+1] exactly as the general loop does:
 * start from -inf, and a tap replaces the running maximum only if it is *strictly* greater
 * (ties keep the first tap, NaN never wins); when nothing beat -inf the window reports its
 * first pixel. Written with "if"s, each compare is a branch the CPU mispredicts half the
 * time on real data (~10 ns per output); written with selects (fastnn_select /
 * fastnn_selecti) there is no branch, and with AVX2 the compiler processes 8 outputs at
 * once (the taps are de-interleaved from the rows by shuffles).
 *
 * k in 0..3 is the winning tap; its flat index in the plane is
 * base + 2ow + (k & 1) + (k >> 1) * W, the multiply written as a mask (no 64-bit
 * vector multiply needed).
 */
#ifndef FASTNN_POOL_H
#define FASTNN_POOL_H

#include "fastnn_math.h"

FASTNN_CLONES FASTNN_UNUSED static void
fastnn_maxpool_2x2_row(const float *restrict r0, const float *restrict r1, float *restrict out,
                       int64_t *restrict argmax, ptrdiff_t OW, int64_t base, int64_t W)
{
    ptrdiff_t ow;
    for (ow = 0; ow < OW; ow++) {
        float a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];
        float best = -INFINITY;
        int32_t k = -1;
        int t;
        t = a > best; best = fastnn_select(t, a, best); k = fastnn_selecti(t, 0, k);
        t = b > best; best = fastnn_select(t, b, best); k = fastnn_selecti(t, 1, k);
        t = c > best; best = fastnn_select(t, c, best); k = fastnn_selecti(t, 2, k);
        t = d > best; best = fastnn_select(t, d, best); k = fastnn_selecti(t, 3, k);
        t = k < 0;    best = fastnn_select(t, a, best); k = fastnn_selecti(t, 0, k);
        out[ow] = best;
        argmax[ow] = base + 2 * ow + (int64_t)(k & 1) + ((-(int64_t)(k >> 1)) & W);
    }
}

/* Any window, one output row, vectorised across the outputs.
 *
 * Scanning one window after the other makes every compare wait for the previous one (the
 * running maximum is a dependency chain: ~6 cycles per tap). Turned inside out -- for
 * each tap (i, j), update the running maxima of *all* outputs of the row -- the inner loop
 * runs over independent outputs, which the compiler vectorises like any array loop.
 *
 * xp is the (padded, -inf border) input row of the window's top edge, Wp its row length;
 * best/idx receive the row's maxima and their flat indices into the *unpadded* plane;
 * idx0 is the unpadded index of tap (0, 0) of output 0 (negative inside the padding: padding
 * is -inf and never wins, so such indices are never reported). idx stays -1 where nothing
 * beat -inf, for the caller to fix up. */
FASTNN_CLONES FASTNN_UNUSED static void
fastnn_maxpool_row(const float *restrict xp, ptrdiff_t Wp, ptrdiff_t kh, ptrdiff_t kw, ptrdiff_t sw,
                   float *restrict best, int32_t *restrict idx, ptrdiff_t OW, int32_t idx0, int32_t W)
{
    ptrdiff_t i, j, ow;
    for (ow = 0; ow < OW; ow++) {
        best[ow] = -INFINITY;
        idx[ow] = -1;
    }
    for (i = 0; i < kh; i++) {
        for (j = 0; j < kw; j++) {
            const float *r = xp + i * Wp + j;
            int32_t tap = idx0 + (int32_t)(i * W + j);
            for (ow = 0; ow < OW; ow++) {
                float v = r[ow * sw];
                int t = v > best[ow];                   /* strictly greater: first max wins ties */
                best[ow] = fastnn_select(t, v, best[ow]);
                idx[ow] = fastnn_selecti(t, tap + (int32_t)(ow * sw), idx[ow]);
            }
        }
    }
}

/* 2x2, stride 2 average pool, one output row: the taps summed in the reference's order
 * (row-major, starting from 0) and divided by 4, so the result is bit-identical. */
FASTNN_CLONES FASTNN_UNUSED static void
fastnn_avgpool_2x2_row(const float *restrict r0, const float *restrict r1, float *restrict out, ptrdiff_t OW)
{
    ptrdiff_t ow;
    for (ow = 0; ow < OW; ow++)
        out[ow] = (((r0[2 * ow] + r0[2 * ow + 1]) + r1[2 * ow]) + r1[2 * ow + 1]) / 4.0f;
}

/* Its backward: each of the four pixels under output ow receives g[ow] / 4 (windows do not
 * overlap, so every pixel is written exactly once and nothing needs zeroing first). */
FASTNN_CLONES FASTNN_UNUSED static void
fastnn_avgpool_2x2_grad_row(const float *restrict g, float *restrict q0, float *restrict q1, ptrdiff_t OW)
{
    ptrdiff_t ow;
    for (ow = 0; ow < OW; ow++) {
        float v = g[ow] / 4.0f;
        q0[2 * ow] = v;
        q0[2 * ow + 1] = v;
        q1[2 * ow] = v;
        q1[2 * ow + 1] = v;
    }
}

#endif /* FASTNN_POOL_H */
