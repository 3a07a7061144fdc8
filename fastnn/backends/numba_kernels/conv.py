"""2-D convolution in Numba: im2col / col2im, and the ``direct`` and ``im2col`` rungs of
``conv2d_forward`` / ``conv2d_backward`` (stride, padding, dilation, non-square kernels).

Notation as in the contract: x (N, C, H, W), weight (F, C, KH, KW), K = C*KH*KW, L = OH*OW, and
``xpad[n, c, oh*sh + i*dh, ow*sw + j*dw]`` is the input pixel that kernel tap ``(i, j)`` sees at
output ``(oh, ow)`` (``xpad`` = x with ``ph``/``pw`` zeros around).

Two rungs, both in ``NumbaBackend.conv_variants``:

* ``direct`` -- seven nested loops straight from the formula, ``prange`` over (sample, filter)
  pairs; the innermost loop runs along an output row (unit stride for stride 1, so it
  vectorises). No extra memory, and slow: every input pixel is read ``F * KH * KW`` times and
  every output element is loaded and stored once per tap.
* ``im2col`` (the default) -- convolution as one GEMM per sample, ``W2 (F, K) @ im2col(x[n])
  (K, L)``, on the register-blocked micro-kernel of ``gemm.py``; ``prange`` over samples.
  For stride 1 the im2col matrix is never built: its rows are *shifted views* of the padded
  image (see the section comment below), so the micro-kernel reads the image directly and
  only the weights are packed. Other strides take the textbook road: an explicit im2col into
  a per-thread buffer, then the packed GEMM. The bias is fused (written first, or added
  while the result is copied out).

Backward (both rungs give the same numbers; ``im2col`` is the default):

* ``grad_w = sum_n G[n] @ im2col(x[n]).T``, computed transposed (``im2col(x[n]) @ G[n].T``:
  the small ``G[n]`` is the operand that gets packed) -- samples are grouped into a *fixed*
  number of groups, each group accumulates into its own partial ``grad_w``, and the partials
  are added in a fixed order: the result is bitwise the same for 1, 2 or 16 threads;
* ``grad_x``: for stride 1 it is itself a stride-1 convolution -- of ``G`` padded by
  ``d*(k-1) - p``, with the weights flipped and filters and channels swapped -- and runs on the
  forward kernel; otherwise ``col2im(W2.T @ G[n])`` with a compiled col2im (loops that add each
  column entry back into its pixel; never ``np.add.at``). Skipped when ``needs_input_grad`` is
  False;
* ``grad_b = sum_{n,l} G[n, :, l]``.

A note on Numba's negative-index check: ``a[i]`` with a possibly negative ``i`` means
``a[len(a) + i]`` in Python, so Numba guards every index it cannot prove >= 0 with a
compare-and-select, which stops LLVM from vectorising the loop. The row copies below therefore
take *views that start where the loop starts* (``src = xrow[first:]``) and index them with a
counter from ``range(n)``. (C has no such check; the Cython kernels index directly.)
"""
from __future__ import annotations

import numba
import numpy as np
from numba import prange

from ._common import MR, NR, jit, local_tile, num_threads, workspace
from .gemm import KC, MC, NC, gemm_packed_into, micro_kernel_rows, pack_a, pack_b_panel

# ============================================================================ geometry


@jit()
def valid_range(j, kw, sw, pw, dw, w, ow):
    """Output columns ``[lo, hi)`` whose tap ``j`` lands inside the image (not in the padding):
    ``0 <= t*sw - pw + j*dw < w``. (Stride 1 needs no division; integer division costs ~15
    cycles, which adds up when called for every row of every panel.)"""
    off = j * dw - pw
    if sw == 1:
        lo = max(0, -off)
        hi = w - off
    else:
        lo = 0
        if off < 0:
            lo = (-off + sw - 1) // sw
        hi = 0
        if w - off > 0:
            hi = (w - off + sw - 1) // sw
    lo = min(lo, ow)
    hi = max(lo, min(hi, ow))
    return lo, hi


# ============================================================================ im2col / col2im

@jit()
def im2col_plane(xs, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, cols, row0):
    """Unfold one channel plane ``xs`` (H, W) into rows ``row0 .. row0 + KH*KW - 1`` of ``cols``
    (K, L): row ``(i, j)`` holds, for every output pixel, the input pixel tap ``(i, j)`` sees."""
    h, w = xs.shape
    for i in range(kh):
        for j in range(kw):
            row = cols[row0 + i * kw + j]
            lo, hi = valid_range(j, kw, sw, pw, dw, w, ow)
            for r in range(oh):
                seg = row[r * ow:(r + 1) * ow]
                ih = r * sh - ph + i * dh
                if ih < 0 or ih >= h or hi <= lo:
                    for t in range(ow):
                        seg[t] = 0.0
                    continue
                for t in range(lo):
                    seg[t] = 0.0
                src = xs[ih, lo * sw + j * dw - pw:]
                dst = seg[lo:hi]
                if sw == 1:
                    for t in range(hi - lo):
                        dst[t] = src[t]
                else:
                    for t in range(hi - lo):
                        dst[t] = src[t * sw]
                for t in range(hi, ow):
                    seg[t] = 0.0


@jit()
def im2col_sample(xs, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, cols):
    """im2col of one sample ``xs`` (C, H, W) into ``cols`` (K, L), serially."""
    for ch in range(xs.shape[0]):
        im2col_plane(xs[ch], kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, cols, ch * kh * kw)


@jit()
def col2im_plane(cols, row0, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, xs):
    """The adjoint of :func:`im2col_plane`: add rows ``row0 ..`` of ``cols`` back into the
    plane ``xs`` (H, W), which must be zeroed first. Overlapping windows add up; entries that
    came from the padding are dropped."""
    h, w = xs.shape
    for i in range(kh):
        for j in range(kw):
            row = cols[row0 + i * kw + j]
            lo, hi = valid_range(j, kw, sw, pw, dw, w, ow)
            if hi <= lo:
                continue
            for r in range(oh):
                ih = r * sh - ph + i * dh
                if ih < 0 or ih >= h:
                    continue
                src = row[r * ow + lo:r * ow + hi]
                dst = xs[ih, lo * sw + j * dw - pw:]
                if sw == 1:
                    for t in range(hi - lo):
                        dst[t] += src[t]
                else:
                    for t in range(hi - lo):
                        dst[t * sw] += src[t]


@jit()
def col2im_sample(cols, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, xs):
    """col2im of one sample: ``cols`` (K, L) into ``xs`` (C, H, W), overwriting it."""
    for ch in range(xs.shape[0]):
        plane = xs[ch]
        plane[:, :] = 0.0
        col2im_plane(cols, ch * kh * kw, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, plane)


@jit(parallel=True)
def im2col(x, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, cols):
    """``cols`` (N, K, L) = im2col of ``x`` (N, C, H, W); ``prange`` over the N*C planes (each
    writes its own KH*KW rows, so no two iterations touch the same memory)."""
    n, c = x.shape[0], x.shape[1]
    for task in prange(n * c):
        b = task // c
        ch = task - b * c
        im2col_plane(x[b, ch], kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, cols[b], ch * kh * kw)


@jit(parallel=True)
def col2im(cols, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, x):
    """``x`` (N, C, H, W) = col2im of ``cols`` (N, K, L), overlaps summed; ``prange`` over the
    N*C planes: a plane only receives rows of its own channel, so there are no races."""
    n, c = x.shape[0], x.shape[1]
    for task in prange(n * c):
        b = task // c
        ch = task - b * c
        plane = x[b, ch]
        plane[:, :] = 0.0
        col2im_plane(cols[b], ch * kh * kw, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, plane)


# ============================================================================ direct rung

@jit(parallel=True)
def conv2d_forward_direct(x, weight, bias, has_bias, sh, sw, ph, pw, dh, dw, out):
    """``direct`` rung: ``out[n, f] = bias[f] + sum_{c,i,j} weight[f,c,i,j] * (shifted plane)``.

    ``prange`` over the N*F output planes. For each tap ``(c, i, j)`` the weight is a scalar
    and each output row gets ``weight * (a strided row of x)`` added: the innermost loop runs
    along the output row with unit stride (for stride 1), so LLVM vectorises it. The output
    plane (here 32x32 floats = 4 KB) stays in L1 across all C*KH*KW taps."""
    n, c, h, w = x.shape
    f, _, kh, kw = weight.shape
    oh, ow = out.shape[2], out.shape[3]
    for task in prange(n * f):
        b = task // f
        fi = task - b * f
        o = out[b, fi]
        init = bias[fi] if has_bias else np.float32(0.0)
        o[:, :] = init
        for ch in range(c):
            xs = x[b, ch]
            for i in range(kh):
                for j in range(kw):
                    wv = weight[fi, ch, i, j]
                    lo, hi = valid_range(j, kw, sw, pw, dw, w, ow)
                    if hi <= lo:
                        continue
                    for r in range(oh):
                        ih = r * sh - ph + i * dh
                        if ih < 0 or ih >= h:
                            continue
                        src = xs[ih, lo * sw + j * dw - pw:]
                        dst = o[r, lo:hi]
                        if sw == 1:
                            for t in range(hi - lo):
                                dst[t] += wv * src[t]
                        else:
                            for t in range(hi - lo):
                                dst[t] += wv * src[t * sw]


@jit(parallel=True)
def conv2d_grad_weight_direct(g, x, sh, sw, ph, pw, dh, dw, grad_w):
    """``grad_w[f, c, i, j] = sum_{n, oh, ow} g[n, f, oh, ow] * xpad[n, c, ...]``: ``prange``
    over the F*C (filter, channel) pairs, each summing its KH*KW taps over the whole batch in
    a fixed order (so the result does not depend on the thread count)."""
    n, c, h, w = x.shape
    f, _, kh, kw = grad_w.shape
    oh, ow = g.shape[2], g.shape[3]
    for task in prange(f * c):
        fi = task // c
        ch = task - fi * c
        for i in range(kh):
            for j in range(kw):
                lo, hi = valid_range(j, kw, sw, pw, dw, w, ow)
                s = 0.0
                if hi > lo:
                    for b in range(n):
                        for r in range(oh):
                            ih = r * sh - ph + i * dh
                            if ih < 0 or ih >= h:
                                continue
                            src = x[b, ch, ih, lo * sw + j * dw - pw:]
                            grow = g[b, fi, r, lo:hi]
                            acc = np.float32(0.0)
                            if sw == 1:
                                for t in range(hi - lo):
                                    acc += grow[t] * src[t]
                            else:
                                for t in range(hi - lo):
                                    acc += grow[t] * src[t * sw]
                            s += acc
                grad_w[fi, ch, i, j] = s


@jit(parallel=True)
def conv2d_grad_input_direct(g, weight, sh, sw, ph, pw, dh, dw, grad_x):
    """``grad_x[n, c] = sum_{f,i,j} weight[f,c,i,j] * (g[n, f] scattered back along tap (i, j))``:
    ``prange`` over the N*C input planes, each accumulated by one thread (no races)."""
    n, c, h, w = grad_x.shape
    f, _, kh, kw = weight.shape
    oh, ow = g.shape[2], g.shape[3]
    for task in prange(n * c):
        b = task // c
        ch = task - b * c
        gx = grad_x[b, ch]
        gx[:, :] = 0.0
        for fi in range(f):
            gp = g[b, fi]
            for i in range(kh):
                for j in range(kw):
                    wv = weight[fi, ch, i, j]
                    lo, hi = valid_range(j, kw, sw, pw, dw, w, ow)
                    if hi <= lo:
                        continue
                    for r in range(oh):
                        ih = r * sh - ph + i * dh
                        if ih < 0 or ih >= h:
                            continue
                        dst = gx[ih, lo * sw + j * dw - pw:]
                        src = gp[r, lo:hi]
                        if sw == 1:
                            for t in range(hi - lo):
                                dst[t] += wv * src[t]
                        else:
                            for t in range(hi - lo):
                                dst[t * sw] += wv * src[t]


@jit(parallel=True)
def conv2d_grad_bias(g, grad_b):
    """``grad_b[f] = sum_{n, l} g[n, f, l]`` for ``g`` (N, F, L); ``prange`` over filters."""
    n, f, l = g.shape
    for fi in prange(f):
        s = 0.0
        for b in range(n):
            row = g[b, fi]
            acc = np.float32(0.0)
            for t in range(l):
                acc += row[t]
            s += acc
        grad_b[fi] = s


# ============================================================================ im2col rung
#
# Convolution as a GEMM, ``out[n] (F, L) = W2 (F, K) @ im2col(x[n]) (K, L)``, two ways:
#
# * stride 1 -- the fast path, no im2col matrix at all. Pad the sample once into a flat buffer
#   ``xpad`` (C planes of Hp x Wp). Number the outputs by *virtual pixels* ``v = r*Wp + t`` on
#   the padded width (columns t >= OW are garbage, computed and dropped: ~6 % extra for a
#   32-wide image). Then row ``(c, i, j)`` of the im2col matrix, over consecutive virtual
#   pixels, is simply ``xpad[off(c, i, j) + v]`` with ``off = c*Hp*Wp + i*dh*Wp + j*dw``: a
#   *shifted view* of the padded image. The micro-kernel reads its B rows straight from there
#   (:func:`micro_kernel_shifted`) -- nothing is packed but the weights, once per call.
#   The weight gradient uses the same views as the rows of A (``gemm.micro_kernel_rows``), and
#   the input gradient is itself a stride-1 convolution (see :func:`conv2d_backward_face`).
# * any stride -- the textbook path: an explicit im2col into a per-thread (K, L) buffer, the
#   packed GEMM of ``gemm.py``, and col2im for the input gradient.


@jit()
def pad_into(xs, ph, pw, xpad):
    """Copy ``xs`` (C, H, W) into the flat buffer ``xpad`` as C planes of (H + 2ph, W + 2pw) with
    zero borders; the rest of ``xpad`` (slack read past the last plane) is zeroed too."""
    c, h, w = xs.shape
    hp = h + 2 * ph
    wp = w + 2 * pw
    plane = hp * wp
    for ch in range(c):
        base = ch * plane
        top = xpad[base:base + ph * wp]
        for t in range(ph * wp):
            top[t] = 0.0
        bottom = xpad[base + (ph + h) * wp:base + plane]
        for t in range(ph * wp):
            bottom[t] = 0.0
        src_plane = xs[ch]
        for r in range(h):
            row = xpad[base + (ph + r) * wp:base + (ph + r + 1) * wp]
            src = src_plane[r]
            for t in range(pw):
                row[t] = 0.0
            inner = row[pw:pw + w]
            for t in range(w):
                inner[t] = src[t]
            for t in range(pw + w, wp):
                row[t] = 0.0
    rest = xpad[c * plane:]
    for t in range(rest.shape[0]):
        rest[t] = 0.0


@jit()
def shift_offsets(c, kh, kw, dh, dw, hp, wp, boff):
    """``boff[p]`` = where row ``p = (c, i, j)`` of the im2col matrix starts in the padded image
    (order of ``weight.reshape(F, K)``)."""
    p = 0
    for ch in range(c):
        for i in range(kh):
            for j in range(kw):
                boff[p] = ch * hp * wp + i * dh * wp + j * dw
                p += 1


@jit()
def micro_kernel_shifted(kc, ap, xpad, boff, v0, c, i0, j0, mr, nr):
    """``gemm.micro_kernel`` whose B panel is never packed: B row ``p`` is the NR floats of the
    padded image at ``boff[p] + v0`` (a shifted view). A is the packed weights; the 4 x 32 tile
    is written (not added) at ``c[i0:i0+mr, j0:j0+nr]``. One view is made per ``p`` (a few
    integer instructions) against 8 vector FMAs: cheaper than copying B into a panel first."""
    acc = local_tile()
    for t in range(MR * NR):
        acc[t] = 0.0
    for p in range(kc):
        a0 = ap[p * MR]
        a1 = ap[p * MR + 1]
        a2 = ap[p * MR + 2]
        a3 = ap[p * MR + 3]
        brow = xpad[boff[p] + v0:]
        for j in range(NR):
            bj = brow[j]
            acc[j] += a0 * bj
            acc[NR + j] += a1 * bj
            acc[2 * NR + j] += a2 * bj
            acc[3 * NR + j] += a3 * bj
    for r in range(mr):
        crow = c[i0 + r, j0:j0 + nr]
        for j in range(nr):
            crow[j] = acc[r * NR + j]


@jit()
def conv_sample_shifted(ap, f, xs, kh, kw, ph, pw, dh, dw, oh, ow, bias, has_bias, out, xpad, boff, vout):
    """One sample of the stride-1 fast path: ``out`` (F, L) = bias + W2 @ im2col(xs).

    Pad ``xs`` into ``xpad``; for every NR virtual pixels and every MR filters run
    :func:`micro_kernel_shifted` into ``vout`` (F, virtual pixels); then copy the real columns
    to ``out``, adding the bias on the way (fused: no separate pass)."""
    c, h, w = xs.shape
    wp = w + 2 * pw
    k = c * kh * kw
    pad_into(xs, ph, pw, xpad)
    lv = (oh - 1) * wp + ow
    for v0 in range(0, lv, NR):
        nr = min(NR, lv - v0)
        for t in range((f + MR - 1) // MR):
            micro_kernel_shifted(k, ap[t * k * MR:(t + 1) * k * MR], xpad, boff, v0, vout, t * MR, v0,
                                 min(MR, f - t * MR), nr)
    for fi in range(f):
        shift = bias[fi] if has_bias else np.float32(0.0)
        vrow = vout[fi]
        orow = out[fi]
        for r in range(oh):
            src = vrow[r * wp:r * wp + ow]
            dst = orow[r * ow:(r + 1) * ow]
            for t in range(ow):
                dst[t] = src[t] + shift


@jit(parallel=True)
def conv2d_forward_shifted(x, w2, bias, has_bias, kh, kw, ph, pw, dh, dw, oh, ow, out, ap, boff, xpads, vouts):
    """Forward of the ``im2col`` rung for stride 1 (see the section comment): the weights are
    packed once, the offsets computed once, then ``prange`` over samples, each thread with its
    own padded-image and virtual-output buffers (``numba.get_thread_id()``)."""
    n, c, h, w = x.shape
    f, k = w2.shape
    pack_a(w2, False, 0, f, 0, k, ap)
    shift_offsets(c, kh, kw, dh, dw, h + 2 * ph, w + 2 * pw, boff)
    for b in prange(n):
        tid = numba.get_thread_id()
        conv_sample_shifted(ap, f, x[b], kh, kw, ph, pw, dh, dw, oh, ow, bias, has_bias, out[b], xpads[tid],
                            boff, vouts[tid])


@jit()
def grad_weight_sample_shifted(xs, gn, kh, kw, ph, pw, dh, dw, oh, ow, gwt, accumulate, xpad, boff, gv, bp):
    """One sample's weight gradient for stride 1: ``gwt`` (K, F) (+)= im2col(xs) @ gn.T.

    In virtual pixels both factors are cheap: ``gn`` is spread into ``gv`` (F, virtual
    pixels) with zeros in the garbage columns, so they add nothing; the rows of im2col(xs) are
    shifted views of the padded image, fed to ``gemm.micro_kernel_rows`` unpacked. Only
    ``gv.T`` -- F columns -- is packed, per block of KC virtual pixels."""
    c, h, w = xs.shape
    k, f = gwt.shape
    wp = w + 2 * pw
    pad_into(xs, ph, pw, xpad)
    lv = (oh - 1) * wp + ow
    for fi in range(f):
        grow = gn[fi]
        vrow = gv[fi]
        for r in range(oh):
            dst = vrow[r * wp:r * wp + ow]
            src = grow[r * ow:(r + 1) * ow]
            for t in range(ow):
                dst[t] = src[t]
            if r < oh - 1:
                gap = vrow[r * wp + ow:(r + 1) * wp]
                for t in range(wp - ow):
                    gap[t] = 0.0
    count = (lv + KC - 1) // KC
    block = (lv + count - 1) // count
    npanels = (f + NR - 1) // NR
    for pc in range(0, lv, block):
        kc = min(block, lv - pc)
        overwrite = pc == 0 and not accumulate
        for q in range(npanels):
            pack_b_panel(gv, True, pc, kc, 0, f, q, bp)
        for t in range((k + MR - 1) // MR):
            p0 = t * MR
            rows = min(MR, k - p0)
            o0 = boff[p0] + pc
            o1 = boff[min(p0 + 1, k - 1)] + pc
            o2 = boff[min(p0 + 2, k - 1)] + pc
            o3 = boff[min(p0 + 3, k - 1)] + pc
            for q in range(npanels):
                micro_kernel_rows(kc, xpad[o0:o0 + kc], xpad[o1:o1 + kc], xpad[o2:o2 + kc], xpad[o3:o3 + kc],
                                  bp[q * kc * NR:(q + 1) * kc * NR], gwt, p0, q * NR, rows,
                                  min(NR, f - q * NR), overwrite)


@jit(parallel=True)
def conv2d_grad_weight_shifted(g, x, kh, kw, ph, pw, dh, dw, oh, ow, gw_parts, boff, xpads, gvs, bps):
    """Weight gradient of the ``im2col`` rung for stride 1, ``grad_w.T (K, F) = sum_n
    im2col(x[n]) @ G[n].T`` (:func:`grad_weight_sample_shifted`).

    The samples are split into ``P = len(gw_parts)`` fixed groups, ``prange`` over groups, each
    summing into ``gw_parts[group]``; :func:`sum_parts_transposed` then adds the partials in
    group order, so the thread count never changes the result."""
    n, c, h, w = x.shape
    parts = gw_parts.shape[0]
    shift_offsets(c, kh, kw, dh, dw, h + 2 * ph, w + 2 * pw, boff)
    for part in prange(parts):
        tid = numba.get_thread_id()
        first = True
        for b in range((part * n) // parts, ((part + 1) * n) // parts):
            grad_weight_sample_shifted(x[b], g[b], kh, kw, ph, pw, dh, dw, oh, ow, gw_parts[part], not first,
                                       xpads[tid], boff, gvs[tid], bps[tid])
            first = False


@jit(parallel=True)
def conv2d_forward_im2col(x, w2, bias, has_bias, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, out, cols_ws, ap_ws,
                          bp_ws):
    """Forward of the ``im2col`` rung, any stride: per sample an explicit im2col into the
    thread's (K, L) buffer, then the packed GEMM of ``gemm.py`` accumulating onto the bias."""
    n = x.shape[0]
    f = w2.shape[0]
    for b in prange(n):
        tid = numba.get_thread_id()
        cols = cols_ws[tid]
        im2col_sample(x[b], kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, cols)
        o = out[b]
        if has_bias:
            for fi in range(f):
                o[fi, :] = bias[fi]
        gemm_packed_into(w2, cols, o, False, False, has_bias, ap_ws[tid], bp_ws[tid])


@jit(parallel=True)
def conv2d_grad_weight_im2col(g, x, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, gw_parts, cols_ws, ap_ws, bp_ws):
    """Weight gradient, any stride: ``grad_w.T (K, F) = sum_n cols[n] @ G[n].T`` (packing the
    small ``G[n]`` transposed), in fixed sample groups like :func:`conv2d_grad_weight_shifted`."""
    n = x.shape[0]
    parts = gw_parts.shape[0]
    for part in prange(parts):
        tid = numba.get_thread_id()
        cols = cols_ws[tid]
        first = True
        for b in range((part * n) // parts, ((part + 1) * n) // parts):
            im2col_sample(x[b], kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, cols)
            gemm_packed_into(cols, g[b], gw_parts[part], False, True, not first, ap_ws[tid], bp_ws[tid])
            first = False


@jit(parallel=True)
def conv2d_grad_input_col2im(g, w2, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, grad_x, cols_ws, ap_ws, bp_ws):
    """Input gradient, any stride: ``grad_x[n] = col2im(W2.T @ G[n])``, ``prange`` over samples,
    one column buffer per thread."""
    n = g.shape[0]
    for b in prange(n):
        tid = numba.get_thread_id()
        gcols = cols_ws[tid]
        gemm_packed_into(w2, g[b], gcols, True, False, False, ap_ws[tid], bp_ws[tid])
        col2im_sample(gcols, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, grad_x[b])


@jit(parallel=True)
def sum_parts_transposed(parts, out):
    """``out (F, K) = (parts[0] + parts[1] + ...).T`` in that order, for ``parts`` (P, K, F) --
    ``prange`` over filters, so the order of the additions is fixed."""
    p, k, f = parts.shape
    for fi in prange(f):
        row = out[fi]
        for t in range(k):
            s = parts[0, t, fi]
            for q in range(1, p):
                s += parts[q, t, fi]
            row[t] = s


# ============================================================================ Python faces

#: samples per group of the backward's grad_w partial sums (fixed: thread-count independent)
GW_GROUPS = 8
_EMPTY = np.zeros(1, dtype=np.float32)


def _flat_geometry(k, s, p, d, o):
    return (k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1], o[0], o[1])


def _gemm_buffers(m, n, k, threads, dtype, tag):
    """Per-thread packing buffers for :func:`gemm_packed_into` (A: m x k, B: k x n blocks)."""
    kc = min(KC, k)
    ap = workspace.get(tag + ".ap", (threads, min(MC, -(-m // MR) * MR) * kc), dtype)
    bp = workspace.get(tag + ".bp", (threads, min(NC, -(-n // NR) * NR) * kc), dtype)
    return ap, bp


def _shifted_buffers(c, h, w, p, f, o, threads, dtype, tag):
    """Per-thread padded-image and virtual-output buffers of the stride-1 path."""
    hp, wp = h + 2 * p[0], w + 2 * p[1]
    xpads = workspace.get(tag + ".xpad", (threads, c * hp * wp + NR), dtype)
    vouts = workspace.get(tag + ".vout", (threads, f, (o[0] - 1) * wp + o[1] + NR), dtype)
    return xpads, vouts


def im2col_face(x, k, s, p, d, o):
    n, c = x.shape[:2]
    cols = np.empty((n, c * k[0] * k[1], o[0] * o[1]), dtype=x.dtype)
    im2col(x, *_flat_geometry(k, s, p, d, o), cols)
    return cols


def col2im_face(cols, x_shape, k, s, p, d, o):
    x = np.empty(x_shape, dtype=cols.dtype)
    col2im(cols, *_flat_geometry(k, s, p, d, o), x)
    return x


def _forward_stride1(x, w2, bias, has_bias, kh, kw, p, d, o, out, tag):
    """The stride-1 fast path on ``x`` (N, C, H, W) with the (F, K) matrix ``w2``; ``out`` (N, F, L)."""
    n, c, h, w = x.shape
    f, k = w2.shape
    threads = num_threads()
    ap = workspace.get(tag + ".ap", (-(-f // MR) * MR * k,), x.dtype)
    boff = workspace.get(tag + ".boff", (k,), np.int64)
    xpads, vouts = _shifted_buffers(c, h, w, p, f, o, threads, x.dtype, tag)
    conv2d_forward_shifted(x, w2, bias, has_bias, kh, kw, p[0], p[1], d[0], d[1], o[0], o[1], out, ap, boff,
                           xpads, vouts)


def conv2d_forward_face(x, weight, bias, s, p, d, o, variant):
    n = x.shape[0]
    f, c, kh, kw = weight.shape
    out = np.empty((n, f, o[0], o[1]), dtype=x.dtype)
    has_bias = bias is not None
    b = bias if has_bias else _EMPTY
    if variant == "direct":
        conv2d_forward_direct(x, weight, b, has_bias, s[0], s[1], p[0], p[1], d[0], d[1], out)
        return out
    if variant != "im2col":
        raise ValueError(f"unknown conv variant {variant!r}; choose one of im2col, direct")
    k, l = c * kh * kw, o[0] * o[1]
    out3 = out.reshape(n, f, l)
    if s == (1, 1):
        _forward_stride1(x, weight.reshape(f, k), b, has_bias, kh, kw, p, d, o, out3, "conv.fwd")
        return out
    threads = num_threads()
    cols_ws = workspace.get("conv.cols", (threads, k, l), x.dtype)
    ap, bp = _gemm_buffers(f, l, k, threads, x.dtype, "conv.gemm")
    conv2d_forward_im2col(x, weight.reshape(f, k), b, has_bias, *_flat_geometry((kh, kw), s, p, d, o), out3,
                          cols_ws, ap, bp)
    return out


def conv2d_backward_face(grad_out, x, weight, s, p, d, o, needs_input_grad, needs_bias_grad,
                         variant="im2col"):
    n, c, h, w = x.shape
    f, _, kh, kw = weight.shape
    k, l = c * kh * kw, o[0] * o[1]
    dt = x.dtype
    g3 = grad_out.reshape(n, f, l)
    grad_b = None
    if needs_bias_grad:
        grad_b = np.empty(f, dtype=dt)
        conv2d_grad_bias(g3, grad_b)
    grad_w = np.empty(weight.shape, dtype=dt)
    grad_x = np.empty(x.shape, dtype=dt) if needs_input_grad else None
    if variant == "direct":
        conv2d_grad_weight_direct(grad_out, x, s[0], s[1], p[0], p[1], d[0], d[1], grad_w)
        if needs_input_grad:
            conv2d_grad_input_direct(grad_out, weight, s[0], s[1], p[0], p[1], d[0], d[1], grad_x)
        return grad_x, grad_w, grad_b
    if variant != "im2col":
        raise ValueError(f"unknown conv variant {variant!r}; choose one of im2col, direct")
    threads = num_threads()
    parts = min(GW_GROUPS, n)
    gw_parts = workspace.get("conv.gw", (parts, k, f), dt)
    w2 = weight.reshape(f, k)
    if s == (1, 1):
        xpads, gvs = _shifted_buffers(c, h, w, p, f, o, threads, dt, "conv.bwd")
        wp = w + 2 * p[1]
        lv = (o[0] - 1) * wp + o[1]
        block = -(-lv // -(-lv // KC))
        bps = workspace.get("conv.bwd.bp", (threads, -(-f // NR) * NR * block), dt)
        boff = workspace.get("conv.bwd.boff", (k,), np.int64)
        conv2d_grad_weight_shifted(g3, x, kh, kw, p[0], p[1], d[0], d[1], o[0], o[1], gw_parts, boff, xpads,
                                   gvs, bps)
    else:
        cols_ws = workspace.get("conv.cols", (threads, k, l), dt)
        ap, bp = _gemm_buffers(max(k, f), max(f, l), max(l, f), threads, dt, "conv.gemm")
        conv2d_grad_weight_im2col(g3, x, *_flat_geometry((kh, kw), s, p, d, o), gw_parts, cols_ws, ap, bp)
    sum_parts_transposed(gw_parts, grad_w.reshape(f, k))
    if needs_input_grad:
        # grad_x of a stride-1 convolution is itself a stride-1 convolution: of grad_out, padded
        # by d*(k-1) - p, with the weights flipped and filters and channels swapped
        pad_t = (d[0] * (kh - 1) - p[0], d[1] * (kw - 1) - p[1])
        if s == (1, 1) and min(pad_t) >= 0:
            wt2 = np.ascontiguousarray(weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)).reshape(c, f * kh * kw)
            _forward_stride1(grad_out, wt2, _EMPTY, False, kh, kw, pad_t, d, (h, w), grad_x.reshape(n, c, h * w),
                             "conv.bwd_x")
        else:
            cols_ws = workspace.get("conv.cols", (threads, k, l), dt)
            ap, bp = _gemm_buffers(max(k, f), max(f, l), max(l, f), threads, dt, "conv.gemm")
            conv2d_grad_input_col2im(g3, w2, *_flat_geometry((kh, kw), s, p, d, o), grad_x, cols_ws, ap, bp)
    return grad_x, grad_w, grad_b
