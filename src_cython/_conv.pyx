# cython: language_level=3
"""Convolution kernels: im2col, col2im, conv2d forward (three rungs) and backward, float32 NCHW.

The Python face (``fastnn/backends/cython_kernels.py``) calls these after ``contract.py``
validated the arguments and computed the output size; every array is C-contiguous float32.
Geometry arrives as plain ints: kernel (kh, kw), stride (sh, sw), padding (ph, pw),
dilation (dh, dw), output (oh, ow). ``K = C*KH*KW`` and ``L = OH*OW``.

The forward rungs, slowest first (``CythonBackend.conv_variants`` lists the fastest first):

* ``direct`` -- the definition as loops, parallel over (n, f) output planes. Each input
  value is reused only along a short output row, so it is memory bound.
* ``im2col`` -- ``im2col`` unrolls every receptive field of one image into a column of a
  (K, L) matrix (rows in (c, i, j) order, the order of ``weight.reshape(F, K)``), and the
  convolution of the image is one matrix product, ``out[n] (F, L) = W (F, K) @ cols (K, L)``,
  done by the packed GEMM of ``_gemm`` (the same micro-kernel, included from gemm_core.pxi),
  written straight into ``out[n]`` in NCHW order, starting from the bias (bias fused). The
  column buffer is per thread and per image (1.2 MB for a 32-channel 32x32 3x3 layer, in L2),
  not one (K, N*L) matrix for the whole batch (75 MB), and is cached across calls. A 1x1
  convolution with stride 1 and no padding needs no im2col at all: x[n] as a (C, H*W)
  matrix already *is* its column matrix.
* ``implicit`` -- im2col + GEMM *without the im2col copy*: with stride 1 along W, a row of
  the column matrix restricted to 16 neighbouring outputs is a run of 16 contiguous pixels
  of the zero-padded image, so the micro-kernel reads its B panel from the image through a
  table of row offsets (``fastnn_ukernel_avx2_rows``). No column matrix is written or read
  back, B is never packed.

Parallelism: with at least as many images as threads, whole images go to whichever thread
is free (one parallel loop, no other synchronisation); with fewer images (inference, batch 1)
the images run one after the other with the work inside each (GEMM tiles, channels, output
rows) split across the threads.

``col2im`` is the adjoint of im2col: every entry of a column is added back to the pixel it
came from, overlapping windows summing. It runs over (n, c) image planes in parallel: every
plane is written by one thread only, so there are no write races and no atomics.

``conv2d_backward``, per image (G = grad_out[n] as (F, L)):

* ``grad_w^T (K, F) += cols (K, L) @ G^T (L, F)`` as an implicit GEMM too: the micro-kernel
  broadcasts each element of the column matrix straight from the padded image
  (``fastnn_ukernel_avx2_arows``, any stride and dilation); one partial sum per chunk of the
  batch, the partials added in a fixed order at the end, so the result does not depend on
  timing or the thread count;
* ``grad_b += G.sum(1)``;
* ``grad_x``: for stride 1, itself a stride-1 convolution -- of G, padded by d*(k-1) - p,
  with the weights flipped in space and transposed -- run by the implicit rung; otherwise
  ``grad_cols = W^T (K, F) @ G (F, L)`` by the packed GEMM (the transpose read by the
  packing) and col2im into ``grad_x[n]``.
"""
from cython.parallel cimport parallel, prange, threadid
from libc.string cimport memcpy, memset

include "gemm_core.pxi"

#: work (multiply-adds) below which the kernels stay on the calling thread
PARALLEL_MIN_WORK = 1 << 18
cdef Py_ssize_t _PARALLEL_MIN_WORK = PARALLEL_MIN_WORK


def set_parallel_min_work(Py_ssize_t n):
    """Set the work (multiply-adds, or copied floats for im2col/col2im) below which the
    kernels stay on one thread; returns the previous value. Tests set 0 so that tiny
    shapes take every parallel path."""
    global _PARALLEL_MIN_WORK
    old, _PARALLEL_MIN_WORK = _PARALLEL_MIN_WORK, n
    return old


cdef struct Geom:
    Py_ssize_t C, H, W
    Py_ssize_t KH, KW, SH, SW, PH, PW, DH, DW, OH, OW
    Py_ssize_t K, L


cdef Geom _geom(Py_ssize_t c, Py_ssize_t h, Py_ssize_t w, tuple k, tuple s, tuple p, tuple d, tuple o) except *:
    cdef Geom g
    g.C, g.H, g.W = c, h, w
    g.KH, g.KW = k
    g.SH, g.SW = s
    g.PH, g.PW = p
    g.DH, g.DW = d
    g.OH, g.OW = o
    g.K = c * g.KH * g.KW
    g.L = g.OH * g.OW
    return g


cdef inline bint _is_pointwise(const Geom *g) noexcept nogil:
    """1x1 kernel, stride 1, no padding: x[n] as a (C, H*W) matrix is already the column matrix."""
    return (g.KH == 1 and g.KW == 1 and g.SH == 1 and g.SW == 1 and g.PH == 0 and g.PW == 0)


cdef inline void _valid_ow(const Geom *g, Py_ssize_t off_w, Py_ssize_t *lo, Py_ssize_t *hi) noexcept nogil:
    """Output columns ow whose input column ow*SW + off_w lies inside [0, W): [lo, hi)."""
    cdef Py_ssize_t a, b
    a = 0 if off_w >= 0 else _cdiv(-off_w, g.SW)
    b = (g.W - 1 - off_w) // g.SW + 1 if g.W - 1 - off_w >= 0 else 0
    a = _min(a, g.OW)
    b = _min(b, g.OW)
    lo[0] = a
    hi[0] = b if b > a else a


# --------------------------------------------------------------------------- im2col / col2im

cdef void _im2col_plane(const float *x, float *cols, const Geom *g) noexcept nogil:
    """One input plane x (H, W) -> its KH*KW rows of the column matrix (each L long)."""
    cdef Py_ssize_t i, j, oh, ow, ih, off_w, lo, hi, OW = g.OW
    cdef float *row
    cdef float *dst
    cdef const float *src
    for i in range(g.KH):
        for j in range(g.KW):
            row = cols + (i * g.KW + j) * g.L
            off_w = j * g.DW - g.PW
            _valid_ow(g, off_w, &lo, &hi)
            for oh in range(g.OH):
                ih = oh * g.SH + i * g.DH - g.PH
                dst = row + oh * OW
                if ih < 0 or ih >= g.H:                       # the whole row is padding
                    memset(dst, 0, OW * sizeof(float))
                    continue
                src = x + ih * g.W
                for ow in range(lo):
                    dst[ow] = 0
                if g.SW == 1:
                    memcpy(dst + lo, src + lo + off_w, (hi - lo) * sizeof(float))
                else:
                    for ow in range(lo, hi):
                        dst[ow] = src[ow * g.SW + off_w]
                for ow in range(hi, OW):
                    dst[ow] = 0


cdef void _col2im_plane(const float *cols, float *x, const Geom *g) noexcept nogil:
    """Add the KH*KW rows of one channel back into the (zeroed) input plane x (H, W)."""
    cdef Py_ssize_t i, j, oh, ow, ih, off_w, lo, hi, OW = g.OW
    cdef const float *row
    cdef const float *src
    cdef float *dst
    for i in range(g.KH):
        for j in range(g.KW):
            row = cols + (i * g.KW + j) * g.L
            off_w = j * g.DW - g.PW
            _valid_ow(g, off_w, &lo, &hi)
            for oh in range(g.OH):
                ih = oh * g.SH + i * g.DH - g.PH
                if ih < 0 or ih >= g.H:
                    continue
                src = row + oh * OW
                dst = x + ih * g.W
                if g.SW == 1:
                    for ow in range(lo, hi):
                        dst[ow + off_w] += src[ow]
                else:
                    for ow in range(lo, hi):
                        dst[ow * g.SW + off_w] += src[ow]


cdef void _im2col_image(const float *x, float *cols, const Geom *g, int num_threads) noexcept nogil:
    """All C planes of one image; parallel over channels when num_threads > 1."""
    cdef Py_ssize_t c, plane = g.H * g.W, rows = g.KH * g.KW * g.L
    if num_threads > 1:
        for c in prange(g.C, num_threads=num_threads, schedule="static"):
            _im2col_plane(x + c * plane, cols + c * rows, g)
    else:
        for c in range(g.C):
            _im2col_plane(x + c * plane, cols + c * rows, g)


cdef void _col2im_image(const float *cols, float *x, const Geom *g, int num_threads) noexcept nogil:
    """All C planes of one image, zeroed then accumulated; parallel over channels."""
    cdef Py_ssize_t c, plane = g.H * g.W, rows = g.KH * g.KW * g.L
    if num_threads > 1:
        for c in prange(g.C, num_threads=num_threads, schedule="static"):
            memset(x + c * plane, 0, plane * sizeof(float))
            _col2im_plane(cols + c * rows, x + c * plane, g)
    else:
        for c in range(g.C):
            memset(x + c * plane, 0, plane * sizeof(float))
            _col2im_plane(cols + c * rows, x + c * plane, g)


def im2col(const float[:, :, :, ::1] x, float[:, :, ::1] cols, tuple k, tuple s, tuple p, tuple d,
           tuple o, int num_threads):
    """cols (N, C*KH*KW, OH*OW) <- x (N, C, H, W); parallel over the N*C image planes."""
    cdef Geom g = _geom(x.shape[1], x.shape[2], x.shape[3], k, s, p, d, o)
    cdef Py_ssize_t nc, planes = x.shape[0] * g.C, plane = g.H * g.W, rows = g.KH * g.KW * g.L
    cdef const float *xp = &x[0, 0, 0, 0]
    cdef float *cp = &cols[0, 0, 0]
    with nogil:
        for nc in prange(planes, num_threads=num_threads, schedule="static",
                         use_threads_if=planes * rows >= _PARALLEL_MIN_WORK and num_threads > 1):
            _im2col_plane(xp + nc * plane, cp + nc * rows, &g)


def col2im(const float[:, :, ::1] cols, float[:, :, :, ::1] x, tuple k, tuple s, tuple p, tuple d,
           tuple o, int num_threads):
    """x (N, C, H, W) <- the sum of cols (N, C*KH*KW, OH*OW) over overlapping windows.

    Parallel over the N*C image planes: each plane is zeroed and accumulated by one thread,
    so overlapping windows never race."""
    cdef Geom g = _geom(x.shape[1], x.shape[2], x.shape[3], k, s, p, d, o)
    cdef Py_ssize_t nc, planes = x.shape[0] * g.C, plane = g.H * g.W, rows = g.KH * g.KW * g.L
    cdef const float *cp = &cols[0, 0, 0]
    cdef float *xp = &x[0, 0, 0, 0]
    with nogil:
        for nc in prange(planes, num_threads=num_threads, schedule="static",
                         use_threads_if=planes * rows >= _PARALLEL_MIN_WORK and num_threads > 1):
            memset(xp + nc * plane, 0, plane * sizeof(float))
            _col2im_plane(cp + nc * rows, xp + nc * plane, &g)


# --------------------------------------------------------------------------- forward, im2col + GEMM

cdef void _forward_image(const float *x, const float *w2, const float *bias, float *out,
                         const Geom *g, Py_ssize_t F, const GemmPlan *plan, float *cols,
                         float *gemm_ws, int num_threads) noexcept nogil:
    """out (F, L) = W (F, K) @ im2col(x) (K, L) + bias, for one image."""
    cdef Py_ssize_t f, l
    cdef const float *colmat = x
    if not _is_pointwise(g):
        _im2col_image(x, cols, g, num_threads)
        colmat = cols
    if bias != NULL:                     # bias fused: C starts as the bias, the GEMM adds to it
        for f in range(F):
            for l in range(g.L):
                out[f * g.L + l] = bias[f]
    _gemm_packed_run(plan, _operand(w2, g.K, False), _operand(colmat, g.L, False),
                     out, g.L, bias != NULL, gemm_ws, num_threads)


def conv2d_forward_im2col(const float[:, :, :, ::1] x, const float[:, ::1] w2, bias,
                          float[:, :, ::1] out, tuple k, tuple s, tuple p, tuple d, tuple o,
                          int num_threads):
    """out (N, F, L) = W (F, K) @ im2col(x[n]) + bias for every image n (see the module doc)."""
    cdef Py_ssize_t N = x.shape[0], F = w2.shape[0], n, tid
    cdef Geom g = _geom(x.shape[1], x.shape[2], x.shape[3], k, s, p, d, o)
    cdef const float[::1] bias_view
    cdef const float *bp = NULL
    if bias is not None:
        bias_view = bias
        bp = &bias_view[0]
    cdef GemmPlan plan = _plan(F, g.L, g.K)
    cdef bint pointwise = _is_pointwise(&g)
    if N * F * g.K * g.L < _PARALLEL_MIN_WORK:
        num_threads = 1
    cdef bint by_image = N >= num_threads
    cdef int gemm_threads = 1 if by_image else num_threads
    cdef Py_ssize_t cols_size = 0 if pointwise else _round_up(g.K * g.L, 16)
    cdef Py_ssize_t per_thread = cols_size + _gemm_workspace_size(&plan, gemm_threads)
    cdef const float *xp = &x[0, 0, 0, 0]
    cdef const float *wp = &w2[0, 0]
    cdef float *op = &out[0, 0, 0]
    cdef float *ws
    cdef float *mine
    with _workspace_lock:
        ws = _workspace(per_thread * (num_threads if by_image else 1))
        with nogil:
            if by_image:                   # whole images per thread, handed out as threads become free
                for n in prange(N, num_threads=num_threads, schedule="dynamic", chunksize=1,
                                use_threads_if=num_threads > 1):
                    tid = threadid()
                    mine = ws + tid * per_thread
                    _forward_image(xp + n * g.C * g.H * g.W, wp, bp, op + n * F * g.L, &g, F, &plan,
                                   mine, mine + cols_size, 1)
            else:                          # images in turn, each one's im2col and GEMM in parallel
                for n in range(N):
                    _forward_image(xp + n * g.C * g.H * g.W, wp, bp, op + n * F * g.L, &g, F, &plan,
                                   ws, ws + cols_size, num_threads)


# --------------------------------------------------------------------------- forward, implicit GEMM

#: the implicit rung needs output rows at least this wide (narrower rows waste most of each
#: 16-wide tile) and stride 1 along W; other shapes run the im2col rung
IMPLICIT_MIN_OW = 8
cdef Py_ssize_t _IMPLICIT_MIN_OW = IMPLICIT_MIN_OW


def set_implicit_min_ow(Py_ssize_t n):
    """Set the narrowest output row the implicit rung takes; returns the previous value.
    Tests set 1 so that tiny images run through it too."""
    global _IMPLICIT_MIN_OW
    old, _IMPLICIT_MIN_OW = _IMPLICIT_MIN_OW, n
    return old


cdef inline bint _implicit_fits(const Geom *g) noexcept nogil:
    """Stride 1 along W and rows wide enough; a 1x1 stride-1 unpadded convolution needs no
    im2col in the first place, so the im2col rung (plain packed GEMM) is better there."""
    return g.SW == 1 and g.OW >= _IMPLICIT_MIN_OW and not _is_pointwise(g)


cdef void _pad_image(const float *x, float *xpad, const Geom *g, Py_ssize_t size) noexcept nogil:
    """x (C, H, W) into the middle of a zeroed (C, H + 2ph, W + 2pw) buffer of ``size`` floats
    (the extra floats at the end are the slack the last tile of the last row reads past)."""
    cdef Py_ssize_t c, h, Hp = g.H + 2 * g.PH, Wp = g.W + 2 * g.PW
    memset(xpad, 0, size * sizeof(float))
    for c in range(g.C):
        for h in range(g.H):
            memcpy(xpad + (c * Hp + h + g.PH) * Wp + g.PW, x + (c * g.H + h) * g.W, g.W * sizeof(float))


cdef void _implicit_rows(const float *xpad, const float *wpack, float *out, const Geom *g,
                         Py_ssize_t F, const Py_ssize_t *offs, Py_ssize_t oh0, Py_ssize_t oh1,
                         bint accumulate, ukernel_rows_t uk) noexcept nogil:
    """Output rows [oh0, oh1) of one image: for every 16 neighbouring outputs of a row and every
    6 filters, one micro-kernel call whose B rows are read in place from the padded image.

    Rows exactly 8 outputs wide (CIFAR's 8x8 last stage) would leave half of every tile
    empty; there one tile covers two output rows instead (the kernel's second 8 B floats
    start one stride of padded rows further on), which doubles the useful work per call."""
    cdef Py_ssize_t Wp = g.W + 2 * g.PW, K = g.K, L = g.L, OW = g.OW
    cdef Py_ssize_t kc_step = _cdiv(K, _cdiv(K, _KC))
    cdef Py_ssize_t oh, tb, ow0, nr, pb, pc, kc, t, half = 8, rows_per_tile = 1
    cdef const float *base
    if OW == 8 and NR == 16:
        half, rows_per_tile = g.SH * Wp, 2
    oh = oh0
    while oh < oh1:
        for tb in range(_cdiv(OW, NR)):
            ow0 = tb * NR
            nr = _min(NR, OW - ow0) if rows_per_tile == 1 else 8 * _min(2, oh1 - oh)
            base = xpad + oh * g.SH * Wp + ow0
            for pb in range(_cdiv(K, kc_step)):           # K in blocks: the A panels stay in L1/L2
                pc = pb * kc_step
                kc = _min(kc_step, K - pc)
                for t in range(_cdiv(F, MR)):             # the same 16 input runs for all filters
                    uk(kc, wpack + t * K * MR + pc * MR, base, offs + pc, half if nr == 16 else 8,
                       out + t * MR * L + oh * OW + ow0, L, <int>_min(MR, F - t * MR), <int>nr,
                       accumulate or pc > 0)
        oh += rows_per_tile


cdef tuple _tables(const Geom *g):
    """The implicit rungs' index tables, for the zero-padded image (C, H + 2ph, W + 2pw):
    ``offsets[k]`` of row k = (c, i, j) of the column matrix, ``positions[l]`` of column
    l = (oh, ow); element (k, l) of the column matrix is ``xpad[offsets[k] + positions[l]]``."""
    cdef Py_ssize_t Hp = g.H + 2 * g.PH, Wp = g.W + 2 * g.PW, c, i, j, oh, ow
    offsets = _np.empty(g.K, dtype=_np.intp)
    positions = _np.empty(g.L, dtype=_np.intp)
    cdef Py_ssize_t[::1] offs = offsets
    cdef Py_ssize_t[::1] pos = positions
    for c in range(g.C):
        for i in range(g.KH):
            for j in range(g.KW):
                offs[(c * g.KH + i) * g.KW + j] = (c * Hp + i * g.DH) * Wp + j * g.DW
    for oh in range(g.OH):
        for ow in range(g.OW):
            pos[oh * g.OW + ow] = oh * g.SH * Wp + ow * g.SW
    return offsets, positions


def conv2d_forward_implicit(const float[:, :, :, ::1] x, const float[:, ::1] w2, bias,
                            float[:, :, ::1] out, tuple k, tuple s, tuple p, tuple d, tuple o,
                            int num_threads):
    """The convolution as an *implicit* GEMM: im2col + GEMM without the im2col copy.

    With stride 1 along W, row (c, i, j) of an image's column matrix, restricted to 16
    neighbouring outputs ow0..ow0+15 of output row oh, is a contiguous run of 16 pixels of the
    zero-padded input: ``xpad[c, oh*sh + i*dh, ow0 + j*dw : ... + 16]``. So the micro-kernel
    can read its B micro-panel straight from the image, through a table of K row offsets,
    instead of from a packed copy of the column matrix: no im2col buffer (K*L floats per
    image, 9x the image for a 3x3 kernel) is written and read back, no B packing. What is
    left per image is one padded copy of the input (which stays in L2), the weights packed
    once per call into 6-filter panels, and the micro-kernels, each storing a 6 x 16 tile
    straight into NCHW ``out``. Bias fused as in the im2col rung.

    Strided (along W) or narrow (OW < IMPLICIT_MIN_OW) outputs, and 1x1 convolutions that need
    no im2col anyway, run the im2col rung."""
    cdef Py_ssize_t N = x.shape[0], F = w2.shape[0], n, tid, oh, kk, c, i, j
    cdef Geom g = _geom(x.shape[1], x.shape[2], x.shape[3], k, s, p, d, o)
    if not _implicit_fits(&g):
        conv2d_forward_im2col(x, w2, bias, out, k, s, p, d, o, num_threads)
        return
    cdef const float[::1] bias_view
    cdef const float *bp = NULL
    if bias is not None:
        bias_view = bias
        bp = &bias_view[0]
    cdef Py_ssize_t Hp = g.H + 2 * g.PH, Wp = g.W + 2 * g.PW
    offsets, _ = _tables(&g)
    cdef Py_ssize_t[::1] offs = offsets
    if N * F * g.K * g.L < _PARALLEL_MIN_WORK:
        num_threads = 1
    cdef bint by_image = N >= num_threads
    cdef Py_ssize_t pad_size = _round_up(g.C * Hp * Wp + NR, 16)
    cdef Py_ssize_t wpack_size = _round_up(_round_up(F, MR) * g.K, 16)
    cdef const float *xp = &x[0, 0, 0, 0]
    cdef float *op = &out[0, 0, 0]
    cdef const Py_ssize_t *offp = &offs[0]
    cdef ukernel_rows_t uk = _ukernel_rows
    cdef float *ws
    cdef float *wpack
    cdef float *xpad
    cdef float *outn
    cdef Py_ssize_t f, l
    with _workspace_lock:
        ws = _workspace(wpack_size + pad_size * (num_threads if by_image else 1))
        wpack = ws
        with nogil:
            _pack_a(_operand(&w2[0, 0], g.K, False), 0, F, 0, g.K, wpack)     # once per call
            if by_image:
                for n in prange(N, num_threads=num_threads, schedule="dynamic", chunksize=1,
                                use_threads_if=num_threads > 1):
                    tid = threadid()
                    xpad = ws + wpack_size + tid * pad_size
                    outn = op + n * F * g.L
                    if bp != NULL:
                        for f in range(F):
                            for l in range(g.L):
                                outn[f * g.L + l] = bp[f]
                    _pad_image(xp + n * g.C * g.H * g.W, xpad, &g, pad_size)
                    _implicit_rows(xpad, wpack, outn, &g, F, offp, 0, g.OH, bp != NULL, uk)
            else:                                  # a small batch: the rows of each image in parallel
                xpad = ws + wpack_size
                for n in range(N):
                    outn = op + n * F * g.L
                    if bp != NULL:
                        for f in range(F):
                            for l in range(g.L):
                                outn[f * g.L + l] = bp[f]
                    _pad_image(xp + n * g.C * g.H * g.W, xpad, &g, pad_size)
                    for oh in prange(g.OH, num_threads=num_threads, schedule="static"):
                        _implicit_rows(xpad, wpack, outn, &g, F, offp, oh, oh + 1, bp != NULL, uk)


# --------------------------------------------------------------------------- forward, direct

cdef void _direct_plane(const float *x, const float *w, float bias, float *out, const Geom *g) noexcept nogil:
    """One output plane out (OH, OW) of one image x (C, H, W) and one filter w (C, KH, KW)."""
    cdef Py_ssize_t c, i, j, oh, ow, ih, off_w, lo, hi, l
    cdef const float *xc
    cdef const float *xrow
    cdef float *row
    cdef float wv
    for l in range(g.L):
        out[l] = bias
    for c in range(g.C):
        xc = x + c * g.H * g.W
        for i in range(g.KH):
            for j in range(g.KW):
                wv = w[(c * g.KH + i) * g.KW + j]
                off_w = j * g.DW - g.PW
                _valid_ow(g, off_w, &lo, &hi)
                for oh in range(g.OH):
                    ih = oh * g.SH + i * g.DH - g.PH
                    if ih < 0 or ih >= g.H:
                        continue
                    row = out + oh * g.OW
                    xrow = xc + ih * g.W
                    for ow in range(lo, hi):
                        row[ow] += wv * xrow[ow * g.SW + off_w]


def conv2d_forward_direct(const float[:, :, :, ::1] x, const float[:, :, :, ::1] weight, bias,
                          float[:, :, ::1] out, tuple k, tuple s, tuple p, tuple d, tuple o,
                          int num_threads):
    """The convolution as its definition, parallel over the N*F output planes:

    ``out[n, f, oh, ow] = bias[f] + sum_{c,i,j} w[f, c, i, j] * x[n, c, oh*sh + i*dh - ph, ow*sw + j*dw - pw]``

    Loop order (c, i, j, oh, ow): for one weight the inner loop runs along an output row
    and an input row (unit stride when sw = 1, so it vectorises). Each input row is
    re-read for every filter and every kernel offset: memory bound, and the reason
    im2col + a blocked GEMM (which reuses every loaded value many times) is faster."""
    cdef Py_ssize_t N = x.shape[0], F = weight.shape[0], nf, n, f
    cdef Geom g = _geom(x.shape[1], x.shape[2], x.shape[3], k, s, p, d, o)
    cdef const float[::1] bias_view
    cdef const float *bp = NULL
    if bias is not None:
        bias_view = bias
        bp = &bias_view[0]
    cdef const float *xp = &x[0, 0, 0, 0]
    cdef const float *wp = &weight[0, 0, 0, 0]
    cdef float *op = &out[0, 0, 0]
    with nogil:
        for nf in prange(N * F, num_threads=num_threads, schedule="static",
                         use_threads_if=N * F * g.K * g.L >= _PARALLEL_MIN_WORK and num_threads > 1):
            n = nf // F
            f = nf % F
            _direct_plane(xp + n * g.C * g.H * g.W, wp + f * g.K, bp[f] if bp != NULL else 0,
                          op + nf * g.L, &g)


# --------------------------------------------------------------------------- backward

cdef void _grad_w_panel(Py_ssize_t t, const float *xpad, const Py_ssize_t *offs, const Py_ssize_t *pos,
                        const float *bpack, Py_ssize_t kc, float *gwT, const Geom *g, Py_ssize_t F,
                        ukernel_arows_t uk) noexcept nogil:
    """Rows [6t, 6t+6) of gwT (K, F) += cols[6t:6t+6, block] @ G^T[block, :], cols read in place."""
    cdef const float *arow[FASTNN_MR]
    cdef Py_ssize_t i, q, k0 = t * MR, mr = _min(MR, g.K - t * MR)
    for i in range(MR):                      # rows past K repeat row k0 (computed, never stored)
        arow[i] = xpad + offs[k0 + i if i < mr else k0]
    for q in range(_cdiv(F, NR)):
        uk(kc, arow, pos, bpack + q * kc * NR, gwT + k0 * F + q * NR, F, <int>mr,
           <int>_min(NR, F - q * NR), True)


cdef void _grad_w_image(const float *xpad, const Py_ssize_t *offs, const Py_ssize_t *pos,
                        const float *G, float *gwT, const Geom *g, Py_ssize_t F, Py_ssize_t kc_step,
                        float *bpack, ukernel_arows_t uk, int num_threads) noexcept nogil:
    """gwT (K, F) += cols (K, L) @ G^T (L, F) for one image, the column matrix read in place
    from the padded image (no im2col): the micro-kernel broadcasts cols[k, l] straight from
    ``xpad + offs[k] + pos[l]``. G^T is packed in blocks of kc_step output positions."""
    cdef Py_ssize_t pb, pc, kc, t
    for pb in range(_cdiv(g.L, kc_step)):
        pc = pb * kc_step
        kc = _min(kc_step, g.L - pc)
        _pack_b(_operand(G, g.L, True), pc, kc, 0, F, bpack)      # op(B)[l, f] = G[f, l]
        if num_threads > 1:
            for t in prange(_cdiv(g.K, MR), num_threads=num_threads, schedule="static"):
                _grad_w_panel(t, xpad, offs, pos + pc, bpack, kc, gwT, g, F, uk)
        else:
            for t in range(_cdiv(g.K, MR)):
                _grad_w_panel(t, xpad, offs, pos + pc, bpack, kc, gwT, g, F, uk)


cdef void _backward_image(const float *x, const float *G, const float *w2, float *grad_x,
                          float *gwT, float *gb, const Geom *g, Py_ssize_t F,
                          const Py_ssize_t *offs, const Py_ssize_t *pos, Py_ssize_t kc_step,
                          const GemmPlan *plan_w, const GemmPlan *plan_x, const Geom *gT,
                          const float *wflip, const Py_ssize_t *offsT, Py_ssize_t gpad_size,
                          float *xpad, Py_ssize_t pad_size, float *cols, float *gemm_ws,
                          int num_threads) noexcept nogil:
    """One image's share: gwT (K, F) += (G (F, L) @ cols^T)^T; gb += row sums of G; and, when
    grad_x is not NULL, grad_x = col2im(W^T (K, F) @ G) -- or, when ``wflip`` is not NULL,
    the same as an implicit stride-1 convolution of G (geometry ``gT``) with the flipped,
    transposed weights ``wflip`` (packed), through a padded copy of G in ``cols``."""
    cdef Py_ssize_t f, l, h
    cdef float s
    if _is_pointwise(g):                 # x[n] as (C, L) is the column matrix
        _gemm_packed_run(plan_w, _operand(x, g.L, False), _operand(G, g.L, True),
                         gwT, F, True, gemm_ws, num_threads)
    else:
        _pad_image(x, xpad, g, pad_size)
        _grad_w_image(xpad, offs, pos, G, gwT, g, F, kc_step, gemm_ws, _ukernel_arows, num_threads)
    if gb != NULL:
        for f in range(F):
            s = 0
            for l in range(g.L):
                s = s + G[f * g.L + l]
            gb[f] += s
    if grad_x != NULL:
        if _is_pointwise(g):             # the GEMM's output already is grad_x[n] as (C, H*W)
            _gemm_packed_run(plan_x, _operand(w2, g.K, True), _operand(G, g.L, False),
                             grad_x, g.L, False, gemm_ws, num_threads)
        elif wflip != NULL:              # the transposed convolution, implicit (stride 1)
            _pad_image(G, cols, gT, gpad_size)
            if num_threads > 1:
                for h in prange(gT.OH, num_threads=num_threads, schedule="static"):
                    _implicit_rows(cols, wflip, grad_x, gT, g.C, offsT, h, h + 1, False, _ukernel_rows)
            else:
                _implicit_rows(cols, wflip, grad_x, gT, g.C, offsT, 0, gT.OH, False, _ukernel_rows)
        else:                            # grad_cols = W^T @ G, then fold back (col2im)
            _gemm_packed_run(plan_x, _operand(w2, g.K, True), _operand(G, g.L, False),
                             cols, g.L, False, gemm_ws, num_threads)
            _col2im_image(cols, grad_x, g, num_threads)


#: the batch is cut into this many chunks (at most, and at least one per thread), each with
#: its own grad_w / grad_b partial sum; the partials are added in chunk order, so the result
#: does not depend on which thread ran which chunk, nor on the thread count (up to 8 threads)
GRAD_CHUNKS = 8


def conv2d_backward(const float[:, :, ::1] grad_out, const float[:, :, :, ::1] x,
                    const float[:, ::1] w2, grad_x, float[:, ::1] grad_w, grad_b,
                    tuple k, tuple s, tuple p, tuple d, tuple o, int num_threads):
    """grad_w (F, K), grad_b (F,) or None, grad_x (N, C, H, W) or None, all written (not added to).

    ``grad_out`` is (N, F, L). Per image:

    * ``grad_w^T (K, F) += cols (K, L) @ G^T (L, F)``, computed as an implicit GEMM: the
      micro-kernel reads each element of the column matrix straight from a zero-padded copy
      of the image (any stride, any dilation), so no im2col copy is made at all; G^T is
      packed. (The transposed orientation puts K = C*KH*KW, often 288, on the 6-row side and
      F, often 32 = 2 x 16, on the 16-column side: no padded tiles.) A 1x1 unpadded stride-1
      convolution multiplies the image itself.
    * ``grad_b += G.sum(1)``;
    * when asked for, ``grad_cols = W^T (K, F) @ G (F, L)`` by the packed GEMM and col2im into
      ``grad_x[n]``.

    When the batch has at least as many images as threads, the batch is cut into GRAD_CHUNKS
    contiguous chunks handed out to the threads as they become free (a thread slowed down by
    the OS does not hold the others up); each chunk accumulates grad_w^T and grad_b into its
    own buffer, and the buffers are summed (and transposed) in chunk order, so the gradients
    are the same bits whatever the timing and thread count. Smaller batches run image after
    image with the GEMMs, the weight-gradient panels and col2im of each image parallel."""
    cdef Py_ssize_t N = x.shape[0], F = w2.shape[0], n, tid, ch, e, kk, f
    cdef Geom g = _geom(x.shape[1], x.shape[2], x.shape[3], k, s, p, d, o)
    cdef float[:, :, :, ::1] gx_view
    cdef float[::1] gb_view
    cdef float *gxp = NULL
    cdef float *gbp = NULL
    if grad_x is not None:
        gx_view = grad_x
        gxp = &gx_view[0, 0, 0, 0]
    if grad_b is not None:
        gb_view = grad_b
        gbp = &gb_view[0]
    cdef bint pointwise = _is_pointwise(&g)
    offsets, positions = _tables(&g)
    cdef Py_ssize_t[::1] offs_view = offsets
    cdef Py_ssize_t[::1] pos_view = positions
    cdef const Py_ssize_t *offs = &offs_view[0]
    cdef const Py_ssize_t *pos = &pos_view[0]
    cdef Py_ssize_t kc_step = _cdiv(g.L, _cdiv(g.L, _KC))
    cdef GemmPlan plan_w = _plan(g.K, F, g.L)        # pointwise only: x (C, L) @ G^T
    cdef GemmPlan plan_x = _plan(g.K, g.L, F)
    if N * F * g.K * g.L < _PARALLEL_MIN_WORK:
        num_threads = 1
    cdef bint by_image = N >= num_threads
    cdef int gemm_threads = 1 if by_image else num_threads
    cdef Py_ssize_t gemm_size = _round_up(kc_step * _round_up(F, NR), 16)    # packed G^T block
    if pointwise:
        gemm_size = max(gemm_size, _gemm_workspace_size(&plan_w, gemm_threads))
    if gxp != NULL:
        gemm_size = max(gemm_size, _gemm_workspace_size(&plan_x, gemm_threads))
    cdef Py_ssize_t Hp = g.H + 2 * g.PH, Wp = g.W + 2 * g.PW
    cdef Py_ssize_t pad_size = 0 if pointwise else _round_up(g.C * Hp * Wp + NR, 16)
    cdef Py_ssize_t cols_size = 0 if (pointwise or gxp == NULL) else _round_up(g.K * g.L, 16)
    # grad_x of a stride-1 convolution is itself a stride-1 convolution: of G, padded by
    # d*(k-1) - p, with the weights flipped in space and transposed (C <-> F) -- run by the
    # implicit rung instead of GEMM + col2im when that padding is >= 0 and the rows are wide
    cdef Geom gT
    cdef bint implicit_x = (gxp != NULL and not pointwise and g.SH == 1 and g.SW == 1
                            and g.DH * (g.KH - 1) >= g.PH and g.DW * (g.KW - 1) >= g.PW
                            and g.W >= _IMPLICIT_MIN_OW)
    cdef Py_ssize_t gpad_size = 0, wflip_size = 0
    cdef float *wflip = NULL
    cdef const Py_ssize_t *offsT = NULL
    cdef Py_ssize_t[::1] offsT_view
    cdef const float[:, ::1] wT_view
    if implicit_x:
        gT = _geom(F, g.OH, g.OW, k, (1, 1), (g.DH * (g.KH - 1) - g.PH, g.DW * (g.KW - 1) - g.PW),
                   d, (g.H, g.W))
        wT = _np.ascontiguousarray(_np.asarray(w2).reshape(F, g.C, g.KH, g.KW)[:, :, ::-1, ::-1]
                                   .transpose(1, 0, 2, 3)).reshape(g.C, F * g.KH * g.KW)
        wT_view = wT
        offsetsT, _ = _tables(&gT)
        offsT_view = offsetsT
        offsT = &offsT_view[0]
        gpad_size = _round_up(F * (gT.H + 2 * gT.PH) * (gT.W + 2 * gT.PW) + NR, 16)
        cols_size = gpad_size                    # the padded G lives where grad_cols would
        wflip_size = _round_up(_round_up(g.C, MR) * gT.K, 16)
    cdef Py_ssize_t KF = g.K * F
    cdef Py_ssize_t part_size = _round_up(KF + F, 16)          # grad_w^T then grad_b of one chunk
    cdef Py_ssize_t n_chunks = _min(N, max(GRAD_CHUNKS, num_threads)) if by_image else 1
    cdef Py_ssize_t per_thread = pad_size + cols_size + gemm_size
    cdef const float *xp = &x[0, 0, 0, 0]
    cdef const float *gp = &grad_out[0, 0, 0]
    cdef const float *wp = &w2[0, 0]
    cdef float *gwp = &grad_w[0, 0]
    cdef float *ws
    cdef float *mine
    cdef float *part
    cdef float *parts
    cdef Py_ssize_t image = g.C * g.H * g.W
    with _workspace_lock:
        ws = _workspace(per_thread * (num_threads if by_image else 1) + part_size * n_chunks
                        + wflip_size)
        parts = ws + per_thread * (num_threads if by_image else 1)
        if implicit_x:
            wflip = parts + part_size * n_chunks
        with nogil:
            if implicit_x:                 # the flipped weights, packed once per call
                _pack_a(_operand(&wT_view[0, 0], gT.K, False), 0, g.C, 0, gT.K, wflip)
            if by_image:
                for ch in prange(n_chunks, num_threads=num_threads, schedule="dynamic", chunksize=1,
                                 use_threads_if=num_threads > 1):
                    tid = threadid()
                    mine = ws + tid * per_thread
                    part = parts + ch * part_size
                    memset(part, 0, part_size * sizeof(float))
                    for n in range(ch * N // n_chunks, (ch + 1) * N // n_chunks):
                        _backward_image(xp + n * image, gp + n * F * g.L, wp,
                                        gxp + n * image if gxp != NULL else NULL,
                                        part, part + KF if gbp != NULL else NULL, &g, F, offs, pos,
                                        kc_step, &plan_w, &plan_x, &gT, wflip, offsT, gpad_size,
                                        mine, pad_size, mine + pad_size, mine + pad_size + cols_size, 1)
            else:
                memset(parts, 0, part_size * sizeof(float))
                for n in range(N):
                    _backward_image(xp + n * image, gp + n * F * g.L, wp,
                                    gxp + n * image if gxp != NULL else NULL,
                                    parts, parts + KF if gbp != NULL else NULL, &g, F, offs, pos,
                                    kc_step, &plan_w, &plan_x, &gT, wflip, offsT, gpad_size,
                                    ws, pad_size, ws + pad_size, ws + pad_size + cols_size, num_threads)
            # add the chunks' partial sums in chunk order, transposing grad_w^T (K, F) to (F, K)
            for f in range(F):
                for kk in range(g.K):
                    gwp[f * g.K + kk] = parts[kk * F + f]
            if gbp != NULL:
                memcpy(gbp, parts + KF, F * sizeof(float))
            for ch in range(1, n_chunks):
                part = parts + ch * part_size
                for f in range(F):
                    for kk in range(g.K):
                        gwp[f * g.K + kk] += part[kk * F + f]
                if gbp != NULL:
                    for e in range(F):
                        gbp[e] += part[KF + e]
