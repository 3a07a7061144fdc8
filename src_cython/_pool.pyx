# cython: language_level=3
"""Max and average pooling, forward and backward, one (n, c) image plane at a time.

The Python face (``fastnn/backends/cython_kernels.py``) hands over C-contiguous float32
arrays viewed as ``(N*C, H, W)`` planes, already validated by ``contract.py`` (window fits,
padding at most half the kernel, argmax indices inside the plane), and fresh outputs.

**Parallel over planes.** Pooling never mixes channels or images, so the ``N*C`` planes are
independent jobs: ``prange`` deals them out to the threads. This is also what makes the
backward passes race-free without atomics: when windows overlap (stride < kernel) one input
pixel receives gradient from several windows, but all of those windows lie in the same
plane, so the same thread does every ``+=`` into that pixel. A 32x32 plane is 4 KB: it
stays in the L1 cache while it is being worked on.

Semantics are exactly those of the NumPy reference (``fastnn/backends/numpy_ref.py``):

* max pool: the argmax is the flat index ``h*W + w`` into the *unpadded* plane; padding
  never wins; ties go to the first maximum in row-major window order (a later tap must be
  strictly greater); NaN never wins a comparison, and a window with no winner (all -inf or
  NaN) reports its first real pixel.
* avg pool: zero padding; the sum runs over the window's taps in row-major order and is
  divided by ``KH*KW`` (``count_include_pad``) or by the number of real pixels.

**Max pool: no branches, and vectorised across outputs** (the loops are in
``fastnn_pool.h``, compiled per SIMD width with ``target_clones``):

* ``if v > best: best = v; idx = ...`` is a branch that the CPU mispredicts about half the
  time on real data (which tap wins is random), ~10 ns per output. Written as *selects*
  (``fastnn_select``: bit masks, no branch) the comparisons cost a few cycles.
* Scanning window after window still chains every compare to the previous one. Any window:
  loop over the taps outermost and over the outputs of a row innermost, so the inner loop
  updates independent running maxima -- an array loop the compiler vectorises. Padding is
  made real (a per-thread copy of the plane with a ``-inf`` border) so that no tap needs a
  bounds check.
* The 2x2, stride 2, no padding window (the pooling of almost every CNN) has its own row
  loop, the four taps unrolled: with AVX2 eight outputs at once, ~10x faster than the
  branchy loop.

Average pooling keeps the plain loops (a sum has no data-dependent branch), plus a 2x2 row
loop of its own.
"""
from cython.parallel cimport parallel, prange
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset
from libc.math cimport INFINITY

cdef extern from "fastnn_pool.h" nogil:
    float fastnn_select(bint cond, float a, float b)
    void fastnn_maxpool_2x2_row(const float *r0, const float *r1, float *out, int64_t *argmax,
                                Py_ssize_t OW, int64_t base, int64_t W)
    void fastnn_maxpool_row(const float *xp, Py_ssize_t Wp, Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sw,
                            float *best, int32_t *idx, Py_ssize_t OW, int32_t idx0, int32_t W)
    void fastnn_avgpool_2x2_row(const float *r0, const float *r1, float *out, Py_ssize_t OW)
    void fastnn_avgpool_2x2_grad_row(const float *g, float *q0, float *q1, Py_ssize_t OW)

#: total input elements below which pooling runs on the calling thread only
PARALLEL_MIN = 32768
cdef Py_ssize_t _PARALLEL_MIN = PARALLEL_MIN


# --------------------------------------------------------------------------- max pool, one plane

cdef inline void _maxpool_plane(const float *x, float *out, int64_t *argmax,
                                Py_ssize_t H, Py_ssize_t W, Py_ssize_t OH, Py_ssize_t OW,
                                Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                                Py_ssize_t ph, Py_ssize_t pw, float *padded, int32_t *idx) noexcept nogil:
    """Any window. With padding, the plane is first copied into ``padded`` (a per-thread
    buffer of (H + 2ph) x (W + 2pw) floats) with a -inf border, so that every tap of every
    window is a real load and the row loop needs no bounds checks; ``idx`` holds OW ints."""
    cdef Py_ssize_t oh, ow, h, Wp = W + 2 * pw, hs, ws
    cdef const float *xp = x
    if ph or pw:
        for h in range((H + 2 * ph) * Wp):
            padded[h] = -INFINITY
        for h in range(H):
            for ow in range(W):
                padded[(h + ph) * Wp + pw + ow] = x[h * W + ow]
        xp = padded
    for oh in range(OH):
        fastnn_maxpool_row(xp + oh * sh * Wp, Wp, kh, kw, sw, out + oh * OW, idx, OW,
                           <int32_t>((oh * sh - ph) * W - pw), <int32_t>W)
        for ow in range(OW):
            if idx[ow] < 0:             # nothing beat -inf: report the first real pixel
                hs = oh * sh - ph
                ws = ow * sw - pw
                idx[ow] = (hs if hs > 0 else 0) * W + (ws if ws > 0 else 0)
                out[oh * OW + ow] = x[idx[ow]]
            argmax[oh * OW + ow] = idx[ow]


cdef inline void _maxpool_plane_2x2(const float *x, float *out, int64_t *argmax,
                                    Py_ssize_t W, Py_ssize_t OH, Py_ssize_t OW) noexcept nogil:
    """2x2 window, stride 2, no padding: output row oh reads input rows 2oh and 2oh + 1."""
    cdef Py_ssize_t oh
    for oh in range(OH):
        fastnn_maxpool_2x2_row(x + 2 * oh * W, x + (2 * oh + 1) * W, out + oh * OW, argmax + oh * OW,
                               OW, 2 * oh * W, W)


def maxpool2d_forward(const float[:, :, ::1] x, float[:, :, ::1] out, int64_t[:, :, ::1] argmax,
                      int kh, int kw, int sh, int sw, int ph, int pw, int num_threads):
    """x (P, H, W) planes -> out, argmax (P, OH, OW)."""
    cdef Py_ssize_t planes = x.shape[0], H = x.shape[1], W = x.shape[2]
    cdef Py_ssize_t OH = out.shape[1], OW = out.shape[2], p
    cdef int teams = num_threads if planes * H * W >= _PARALLEL_MIN else 1
    cdef float *padded = NULL
    cdef int32_t *idx = NULL
    cdef int failed = 0
    cdef int *report_failure = &failed       # shared: a plain assignment would make it thread-private
    if kh == 2 and kw == 2 and sh == 2 and sw == 2 and ph == 0 and pw == 0:
        for p in prange(planes, nogil=True, schedule="static", num_threads=teams):
            _maxpool_plane_2x2(&x[p, 0, 0], &out[p, 0, 0], &argmax[p, 0, 0], W, OH, OW)
        return
    if H * W >= 2 ** 31:
        raise ValueError(f"maxpool2d: planes of {H}x{W} pixels are too large for 32-bit indices")
    with nogil, parallel(num_threads=teams):
        # scratch per thread, allocated once for all the planes the thread gets
        padded = <float *>malloc((H + 2 * ph) * (W + 2 * pw) * sizeof(float))
        idx = <int32_t *>malloc(OW * sizeof(int32_t))
        if padded == NULL or idx == NULL:
            report_failure[0] = 1
        for p in prange(planes, schedule="static"):
            if padded != NULL and idx != NULL:
                _maxpool_plane(&x[p, 0, 0], &out[p, 0, 0], &argmax[p, 0, 0], H, W, OH, OW,
                               kh, kw, sh, sw, ph, pw, padded, idx)
        free(padded)
        free(idx)
    if failed:
        raise MemoryError("maxpool2d: no memory for the per-thread scratch buffers")


def maxpool2d_backward(const float[:, :, ::1] grad_out, const int64_t[:, :, ::1] argmax,
                       float[:, :, ::1] grad_x, int num_threads):
    """grad_out, argmax (P, OH, OW) -> grad_x (P, H, W): zero the plane, then add each output's
    gradient at its argmax. The plane is cache-resident, so the zeroing costs one pass."""
    cdef Py_ssize_t planes = grad_x.shape[0], H = grad_x.shape[1], W = grad_x.shape[2]
    cdef Py_ssize_t L = grad_out.shape[1] * grad_out.shape[2], p, j
    cdef float *gx
    cdef const float *g
    cdef const int64_t *am
    for p in prange(planes, nogil=True, schedule="static", num_threads=num_threads,
                    use_threads_if=planes * H * W >= _PARALLEL_MIN):
        gx = &grad_x[p, 0, 0]
        g = &grad_out[p, 0, 0]
        am = &argmax[p, 0, 0]
        memset(gx, 0, H * W * sizeof(float))
        for j in range(L):
            gx[am[j]] += g[j]


# --------------------------------------------------------------------------- average pool, one plane

cdef inline float _avg_divisor(Py_ssize_t h0, Py_ssize_t w0, Py_ssize_t H, Py_ssize_t W,
                               Py_ssize_t kh, Py_ssize_t kw, bint count_include_pad) noexcept nogil:
    """KH*KW, or the number of real pixels in the window at (h0, w0)."""
    cdef Py_ssize_t rows, cols
    if count_include_pad:
        return <float>(kh * kw)
    rows = (h0 + kh if h0 + kh < H else H) - (h0 if h0 > 0 else 0)
    cols = (w0 + kw if w0 + kw < W else W) - (w0 if w0 > 0 else 0)
    return <float>(rows * cols)


cdef inline void _avgpool_plane(const float *x, float *out,
                                Py_ssize_t H, Py_ssize_t W, Py_ssize_t OH, Py_ssize_t OW,
                                Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                                Py_ssize_t ph, Py_ssize_t pw, bint count_include_pad) noexcept nogil:
    cdef Py_ssize_t oh, ow, h, w, h0, w0, hs, he, ws, we
    cdef float s
    for oh in range(OH):
        h0 = oh * sh - ph
        hs = h0 if h0 > 0 else 0
        he = h0 + kh if h0 + kh < H else H
        for ow in range(OW):
            w0 = ow * sw - pw
            ws = w0 if w0 > 0 else 0
            we = w0 + kw if w0 + kw < W else W
            s = 0                       # padding taps would add 0: skip them
            for h in range(hs, he):
                for w in range(ws, we):
                    s = s + x[h * W + w]
            out[oh * OW + ow] = s / _avg_divisor(h0, w0, H, W, kh, kw, count_include_pad)


cdef inline void _avgpool_plane_backward(const float *g, float *gx,
                                         Py_ssize_t H, Py_ssize_t W, Py_ssize_t OH, Py_ssize_t OW,
                                         Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                                         Py_ssize_t ph, Py_ssize_t pw, bint count_include_pad) noexcept nogil:
    """Every pixel of a window gets ``grad / divisor``. Loop over the taps (i, j) outermost,
    as the reference does: for a fixed tap, different outputs touch different pixels, and
    each pixel collects its contributions in tap order (bit-identical sums)."""
    cdef Py_ssize_t i, j, oh, ow, h, w, h0, w0
    memset(gx, 0, H * W * sizeof(float))
    for i in range(kh):
        for j in range(kw):
            for oh in range(OH):
                h0 = oh * sh - ph
                h = h0 + i
                if h < 0 or h >= H:
                    continue
                for ow in range(OW):
                    w0 = ow * sw - pw
                    w = w0 + j
                    if w < 0 or w >= W:
                        continue
                    gx[h * W + w] += g[oh * OW + ow] / _avg_divisor(h0, w0, H, W, kh, kw,
                                                                    count_include_pad)


cdef inline void _avgpool_plane_2x2(const float *x, float *out, Py_ssize_t W, Py_ssize_t OH,
                                    Py_ssize_t OW) noexcept nogil:
    cdef Py_ssize_t oh
    for oh in range(OH):
        fastnn_avgpool_2x2_row(x + 2 * oh * W, x + (2 * oh + 1) * W, out + oh * OW, OW)


cdef inline void _avgpool_plane_2x2_backward(const float *g, float *gx, Py_ssize_t H, Py_ssize_t W,
                                             Py_ssize_t OH, Py_ssize_t OW) noexcept nogil:
    """Every covered pixel is written once; an odd last row or column (no window covers it)
    gets a zero gradient."""
    cdef Py_ssize_t oh, h
    for oh in range(OH):
        fastnn_avgpool_2x2_grad_row(g + oh * OW, gx + 2 * oh * W, gx + (2 * oh + 1) * W, OW)
        if W > 2 * OW:
            gx[2 * oh * W + W - 1] = 0
            gx[(2 * oh + 1) * W + W - 1] = 0
    if H > 2 * OH:
        memset(gx + 2 * OH * W, 0, (H - 2 * OH) * W * sizeof(float))


def avgpool2d_forward(const float[:, :, ::1] x, float[:, :, ::1] out,
                      int kh, int kw, int sh, int sw, int ph, int pw, bint count_include_pad,
                      int num_threads):
    cdef Py_ssize_t planes = x.shape[0], H = x.shape[1], W = x.shape[2]
    cdef Py_ssize_t OH = out.shape[1], OW = out.shape[2], p
    cdef bint fast = kh == 2 and kw == 2 and sh == 2 and sw == 2 and ph == 0 and pw == 0
    for p in prange(planes, nogil=True, schedule="static", num_threads=num_threads,
                    use_threads_if=planes * H * W >= _PARALLEL_MIN):
        if fast:
            _avgpool_plane_2x2(&x[p, 0, 0], &out[p, 0, 0], W, OH, OW)
        else:
            _avgpool_plane(&x[p, 0, 0], &out[p, 0, 0], H, W, OH, OW, kh, kw, sh, sw, ph, pw,
                           count_include_pad)


def avgpool2d_backward(const float[:, :, ::1] grad_out, float[:, :, ::1] grad_x,
                       int kh, int kw, int sh, int sw, int ph, int pw, bint count_include_pad,
                       int num_threads):
    cdef Py_ssize_t planes = grad_x.shape[0], H = grad_x.shape[1], W = grad_x.shape[2]
    cdef Py_ssize_t OH = grad_out.shape[1], OW = grad_out.shape[2], p
    cdef bint fast = kh == 2 and kw == 2 and sh == 2 and sw == 2 and ph == 0 and pw == 0
    for p in prange(planes, nogil=True, schedule="static", num_threads=num_threads,
                    use_threads_if=planes * H * W >= _PARALLEL_MIN):
        if fast:
            _avgpool_plane_2x2_backward(&grad_out[p, 0, 0], &grad_x[p, 0, 0], H, W, OH, OW)
        else:
            _avgpool_plane_backward(&grad_out[p, 0, 0], &grad_x[p, 0, 0], H, W, OH, OW,
                                    kh, kw, sh, sw, ph, pw, count_include_pad)
