"""Max and average pooling in Numba, forward and backward.

Every kernel runs ``prange`` over the N*C planes: a plane's windows only read that plane and
its gradient only goes to that plane, so threads never write the same memory, and each
output is computed by one thread in a fixed order (same result for any thread count).

Semantics are the reference's (``numpy_ref``) exactly:

* max pool: padding never wins (it is skipped, like ``-inf``); ties go to the *first* maximum in
  row-major window order (a later value replaces the running maximum only if strictly
  greater); NaN never wins a comparison; a window whose real values are all ``-inf``/NaN
  takes its first real pixel. ``argmax`` holds the flat index ``h*W + w`` into the unpadded
  input plane (PyTorch's convention), int64.
* average pool: padding counts as zeros; the sum is divided by ``KH*KW``
  (``count_include_pad``) or by the number of real pixels in the window.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ._common import jit


@jit()
def _window_max_exact(xs, hs, he, ws, we):
    """The reference rule for one window, tap by tap: start below everything (``-inf``, no
    winner), a tap wins only if strictly greater (so ties keep the first and NaN never wins);
    no winner at all (every value -inf or NaN) -> the first pixel. Returns (value, flat index)."""
    w = xs.shape[1]
    best = np.float32(-np.inf)
    idx = -1
    for ih in range(hs, he):
        for iw in range(ws, we):
            v = xs[ih, iw]
            if v > best:
                best = v
                idx = ih * w + iw
    if idx < 0:
        idx = hs * w + ws
        best = xs[hs, ws]
    return best, idx


@jit(parallel=True)
def maxpool2d_forward(x, kh, kw, sh, sw, ph, pw, out, argmax):
    """``out``/``argmax`` (N*C, OH, OW) from ``x`` (N*C, H, W), any window geometry.

    The window bounds are clipped to the image once per window, so the inner loops never test
    for padding; each window then follows the reference rule of :func:`_window_max_exact`."""
    planes, h, w = x.shape
    oh, ow = out.shape[1], out.shape[2]
    for pl in prange(planes):
        xs = x[pl]
        o = out[pl]
        am = argmax[pl]
        for r in range(oh):
            h0 = r * sh - ph
            hs = max(h0, 0)
            he = min(h0 + kh, h)
            for t in range(ow):
                w0 = t * sw - pw
                ws = max(w0, 0)
                we = min(w0 + kw, w)
                best, idx = _window_max_exact(xs, hs, he, ws, we)
                o[r, t] = best
                am[r, t] = idx


@jit(parallel=True)
def maxpool2d_forward_2x2(x, out, argmax):
    """The common case, 2x2 windows with stride 2 and no padding, written out: four loads and
    three compares per output, without the general kernel's loop bookkeeping (its inner loops
    run only twice).

    The trick: the running maximum starts at the window's *first pixel* instead of ``-inf``.
    That gives the same result whenever the first pixel is not NaN (a value never beats
    itself), and LLVM then turns the compares into selects and vectorises the row -- measured
    3x faster than the ``-inf`` start, whose first compare made it keep branches. A NaN first
    pixel, the one case where the shortcut differs (and the only way the result can be NaN),
    is found by a cheap scan of each output row and redone by :func:`_window_max_exact`."""
    planes, h, w = x.shape
    oh, ow = out.shape[1], out.shape[2]
    for pl in prange(planes):
        xs = x[pl]
        o = out[pl]
        am = argmax[pl]
        for r in range(oh):
            top = xs[2 * r]
            bottom = xs[2 * r + 1]
            orow = o[r]
            arow = am[r]
            base = 2 * r * w
            for t in range(ow):
                a = top[t + t]
                b = top[t + t + 1]
                c = bottom[t + t]
                d = bottom[t + t + 1]
                best = a
                k = 0
                if b > best:
                    best = b
                    k = 1
                if c > best:
                    best = c
                    k = w
                if d > best:
                    best = d
                    k = w + 1
                orow[t] = best
                arow[t] = base + t + t + k
            nan = False
            for t in range(ow):
                nan |= orow[t] != orow[t]
            if nan:                                 # a NaN first pixel: redo those by the rule
                for t in range(ow):
                    if orow[t] != orow[t]:
                        best, idx = _window_max_exact(xs, 2 * r, 2 * r + 2, 2 * t, 2 * t + 2)
                        orow[t] = best
                        arow[t] = idx


@jit(parallel=True)
def maxpool2d_backward_2x2(grad_out, argmax, grad_x):
    """Backward of the 2x2 / stride-2 / no-padding case: the windows tile the image, so each
    pixel is written exactly once -- the gradient where it won, 0 elsewhere -- instead of
    zeroing the whole image and scattering into it (one pass over grad_x instead of two).

    Returns the number of windows whose argmax is *not* inside its own 2x2 window (an argmax
    from another pooling geometry with the same output size): the caller then falls back to
    the general scatter, so a wrong guess costs time, never correctness."""
    planes, h, w = grad_x.shape
    oh, ow = grad_out.shape[1], grad_out.shape[2]
    zero = np.float32(0.0)
    bad = 0
    for pl in prange(planes):
        gx = grad_x[pl]
        g = grad_out[pl]
        am = argmax[pl]
        for r in range(oh):
            top = gx[2 * r]
            bottom = gx[2 * r + 1]
            grow = g[r]
            arow = am[r]
            base = 2 * r * w
            for t in range(ow):
                k = arow[t] - base - 2 * t          # 0, 1 (top row) or w, w + 1 (bottom row)
                v = grow[t]
                top[2 * t] = v if k == 0 else zero
                top[2 * t + 1] = v if k == 1 else zero
                bottom[2 * t] = v if k == w else zero
                bottom[2 * t + 1] = v if k == w + 1 else zero
                if k != 0 and k != 1 and k != w and k != w + 1:
                    bad += 1
            for c in range(2 * ow, w):              # odd width: the last column is in no window
                top[c] = zero
                bottom[c] = zero
        for rr in range(2 * oh, h):                 # odd height: the last row is in no window
            row = gx[rr]
            for c in range(w):
                row[c] = zero
    return bad


@jit(parallel=True)
def maxpool2d_backward(grad_out, argmax, grad_x):
    """``grad_x`` (N*C, H*W) = each output gradient added at its window's winner.

    Overlapping windows can share a winner, so this is ``+=`` (in plain loops: Numba needs no
    ``np.add.at``/``bincount`` trick, a loop *is* the fast way)."""
    planes, hw = grad_x.shape
    l = grad_out.shape[1]
    for pl in prange(planes):
        gx = grad_x[pl]
        for t in range(hw):
            gx[t] = 0.0
        g = grad_out[pl]
        am = argmax[pl]
        for t in range(l):
            gx[am[t]] += g[t]


@jit(parallel=True)
def avgpool2d_forward(x, kh, kw, sh, sw, ph, pw, count_include_pad, out):
    """``out`` (N*C, OH, OW) = window sums of ``x`` (N*C, H, W) / divisor."""
    planes, h, w = x.shape
    oh, ow = out.shape[1], out.shape[2]
    for pl in prange(planes):
        xs = x[pl]
        o = out[pl]
        for r in range(oh):
            h0 = r * sh - ph
            hs = max(h0, 0)
            he = min(h0 + kh, h)
            for t in range(ow):
                w0 = t * sw - pw
                ws = max(w0, 0)
                we = min(w0 + kw, w)
                s = np.float32(0.0)
                for ih in range(hs, he):
                    row = xs[ih]
                    for iw in range(ws, we):
                        s += row[iw]
                if count_include_pad:
                    div = np.float32(kh * kw)
                else:
                    div = np.float32((he - hs) * (we - ws))
                o[r, t] = s / div


@jit(parallel=True)
def avgpool2d_backward(grad_out, kh, kw, sh, sw, ph, pw, count_include_pad, grad_x):
    """Each real pixel of a window receives ``grad / divisor``; overlaps add up."""
    planes, h, w = grad_x.shape
    oh, ow = grad_out.shape[1], grad_out.shape[2]
    for pl in prange(planes):
        gx = grad_x[pl]
        gx[:, :] = 0.0
        g = grad_out[pl]
        for r in range(oh):
            h0 = r * sh - ph
            hs = max(h0, 0)
            he = min(h0 + kh, h)
            for t in range(ow):
                w0 = t * sw - pw
                ws = max(w0, 0)
                we = min(w0 + kw, w)
                if count_include_pad:
                    div = np.float32(kh * kw)
                else:
                    div = np.float32((he - hs) * (we - ws))
                v = g[r, t] / div
                for ih in range(hs, he):
                    row = gx[ih]
                    for iw in range(ws, we):
                        row[iw] += v


# ============================================================================ Python faces

def maxpool2d_forward_face(x, k, s, p, o):
    n, c, h, w = x.shape
    out = np.empty((n, c, o[0], o[1]), dtype=x.dtype)
    argmax = np.empty((n, c, o[0], o[1]), dtype=np.int64)
    planes = (x.reshape(n * c, h, w), out.reshape(n * c, o[0], o[1]), argmax.reshape(n * c, o[0], o[1]))
    if k == (2, 2) and s == (2, 2) and p == (0, 0):
        maxpool2d_forward_2x2(*planes)
    else:
        maxpool2d_forward(planes[0], k[0], k[1], s[0], s[1], p[0], p[1], planes[1], planes[2])
    return out, argmax


def maxpool2d_backward_face(grad_out, argmax, x_shape):
    """The contract gives the backward no geometry: a 2x2/stride-2/unpadded forward is guessed
    from the shapes (OH = H // 2, OW = W // 2) and the fast kernel reports any argmax outside
    its 2x2 window, in which case the general scatter redoes the work."""
    n, c, h, w = x_shape
    oh, ow = grad_out.shape[2], grad_out.shape[3]
    grad_x = np.empty(x_shape, dtype=grad_out.dtype)
    if oh == h // 2 and ow == w // 2 and oh > 0 and ow > 0:
        bad = maxpool2d_backward_2x2(grad_out.reshape(n * c, oh, ow), argmax.reshape(n * c, oh, ow),
                                     grad_x.reshape(n * c, h, w))
        if bad == 0:
            return grad_x
    l = oh * ow
    maxpool2d_backward(grad_out.reshape(n * c, l), argmax.reshape(n * c, l), grad_x.reshape(n * c, h * w))
    return grad_x


def avgpool2d_forward_face(x, k, s, p, o, count_include_pad):
    n, c, h, w = x.shape
    out = np.empty((n, c, o[0], o[1]), dtype=x.dtype)
    avgpool2d_forward(x.reshape(n * c, h, w), k[0], k[1], s[0], s[1], p[0], p[1], count_include_pad,
                      out.reshape(n * c, o[0], o[1]))
    return out


def avgpool2d_backward_face(grad_out, x_shape, k, s, p, o, count_include_pad):
    n, c, h, w = x_shape
    grad_x = np.empty(x_shape, dtype=grad_out.dtype)
    avgpool2d_backward(grad_out.reshape(n * c, o[0], o[1]), k[0], k[1], s[0], s[1], p[0], p[1],
                       count_include_pad, grad_x.reshape(n * c, h, w))
    return grad_x
