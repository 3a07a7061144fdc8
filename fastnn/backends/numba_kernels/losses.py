"""Fused softmax-cross-entropy and log-softmax in Numba, row by row.

Fusing means one pass over each row computes its maximum, the shifted exponentials, their sum,
the log-probabilities, the loss and the probabilities the backward needs -- NumPy makes a
temporary array for each of those steps. Rows are independent: ``prange`` over rows when the
batch is large (``ROWS_PARALLEL_MIN`` elements), one thread otherwise. Row sums accumulate in
float64 (a few more correct digits than float32 for wide rows; the result is stored as float32).

The exponentials are ``_vmath.exp_f32`` (range reduction + polynomial, within 2 ulp), not
``math.exp``: a call into the C library keeps a loop scalar, the polynomial vectorises. The row
functions use ``error_model="numpy"``: Python's model tests every divisor for zero, and that
branch alone stops ``probs = e / total`` from vectorising. The row maximum is an integer max over
the floats' ordered bit patterns (``_vmath.max_f32``): a float max reduction does not vectorise.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from ._common import jit
from ._vmath import exp_f32, max_f32

#: below this many elements (N*C) the rows run on the calling thread
ROWS_PARALLEL_MIN = 1 << 14


@jit(error_model="numpy")
def _log_softmax_row(x, logp, e):
    """``logp = x - logsumexp(x)`` for one row, stably (shifted by the maximum first, so no
    ``exp`` overflows); leaves ``exp(x - max)`` in ``e`` and returns its sum."""
    c = x.shape[0]
    m = max_f32(x)                      # vectorised, see _vmath.max_f32
    total = 0.0
    for j in range(c):
        v = exp_f32(x[j] - m)
        e[j] = v
        total += v
    log_total = np.float32(math.log(total))
    for j in range(c):
        logp[j] = (x[j] - m) - log_total
    return total


@jit(error_model="numpy")
def _softmax_ce_rows(logits, target, label_smoothing, losses, probs, r0, r1):
    c = logits.shape[1]
    keep = np.float32(1.0 - label_smoothing)
    spread = np.float32(label_smoothing / c)
    logp = np.empty(c, dtype=logits.dtype)
    for i in range(r0, r1):
        e = probs[i]
        total = _log_softmax_row(logits[i], logp, e)
        t32 = np.float32(total)
        for j in range(c):
            e[j] = e[j] / t32
        loss = -logp[target[i]]
        if label_smoothing != 0.0:
            s = 0.0
            for j in range(c):
                s += logp[j]
            loss = keep * loss - spread * np.float32(s)
        losses[i] = loss


@jit(parallel=True)
def softmax_cross_entropy_forward(logits, target, label_smoothing, losses, probs):
    """``losses[n] = (1 - ls) * (-log p[n, t_n]) + ls/C * sum_c (-log p[n, c])`` and ``probs``.

    (PyTorch's label smoothing: the target distribution is ``(1 - ls) * onehot + ls / C``.)"""
    n, c = logits.shape
    if n * c < ROWS_PARALLEL_MIN:
        _softmax_ce_rows(logits, target, label_smoothing, losses, probs, 0, n)
        return
    blocks = min(n, 64)
    for b in prange(blocks):
        _softmax_ce_rows(logits, target, label_smoothing, losses, probs, (b * n) // blocks,
                         ((b + 1) * n) // blocks)


@jit()
def _softmax_ce_backward_rows(grad_losses, probs, target, label_smoothing, grad, r0, r1):
    c = probs.shape[1]
    spread = np.float32(label_smoothing / c)
    keep = np.float32(1.0 - label_smoothing)
    for i in range(r0, r1):
        p = probs[i]
        gr = grad[i]
        gl = grad_losses[i]
        for j in range(c):
            gr[j] = p[j] - spread
        gr[target[i]] -= keep
        for j in range(c):
            gr[j] *= gl


@jit(parallel=True)
def softmax_cross_entropy_backward(grad_losses, probs, target, label_smoothing, grad):
    """``grad[n] = grad_losses[n] * (probs[n] - (1 - ls) * onehot(t_n) - ls / C)``."""
    n, c = probs.shape
    if n * c < ROWS_PARALLEL_MIN:
        _softmax_ce_backward_rows(grad_losses, probs, target, label_smoothing, grad, 0, n)
        return
    blocks = min(n, 64)
    for b in prange(blocks):
        _softmax_ce_backward_rows(grad_losses, probs, target, label_smoothing, grad, (b * n) // blocks,
                                  ((b + 1) * n) // blocks)


@jit(error_model="numpy")
def _log_softmax_rows(x, y, r0, r1):
    e = np.empty(x.shape[1], dtype=x.dtype)
    for i in range(r0, r1):
        _log_softmax_row(x[i], y[i], e)


@jit(parallel=True)
def log_softmax_forward(x, y):
    """``y = x - logsumexp(x)`` along each row."""
    n, c = x.shape
    if n * c < ROWS_PARALLEL_MIN:
        _log_softmax_rows(x, y, 0, n)
        return
    blocks = min(n, 64)
    for b in prange(blocks):
        _log_softmax_rows(x, y, (b * n) // blocks, ((b + 1) * n) // blocks)


@jit(error_model="numpy")
def _log_softmax_backward_rows(g, y, gx, r0, r1):
    c = g.shape[1]
    for i in range(r0, r1):
        gi = g[i]
        yi = y[i]
        s = 0.0
        for j in range(c):
            s += gi[j]
        s32 = np.float32(s)
        out = gx[i]
        for j in range(c):
            out[j] = gi[j] - exp_f32(yi[j]) * s32


@jit(parallel=True)
def log_softmax_backward(g, y, gx):
    """``gx = g - softmax * sum(g)`` per row, with ``softmax = exp(y)`` from the saved output."""
    n, c = g.shape
    if n * c < ROWS_PARALLEL_MIN:
        _log_softmax_backward_rows(g, y, gx, 0, n)
        return
    blocks = min(n, 64)
    for b in prange(blocks):
        _log_softmax_backward_rows(g, y, gx, (b * n) // blocks, ((b + 1) * n) // blocks)


# ---------------------------------------------------------------------------- Python faces

def softmax_cross_entropy_forward_face(logits, target, label_smoothing):
    n, c = logits.shape
    losses = np.empty(n, dtype=logits.dtype)
    probs = np.empty((n, c), dtype=logits.dtype)
    softmax_cross_entropy_forward(logits, target, float(label_smoothing), losses, probs)
    return losses, probs


def softmax_cross_entropy_backward_face(grad_losses, probs, target, label_smoothing):
    grad = np.empty_like(probs)
    softmax_cross_entropy_backward(grad_losses, probs, target, float(label_smoothing), grad)
    return grad


def log_softmax_forward_face(x):
    y = np.empty_like(x)
    log_softmax_forward(x, y)
    return y


def log_softmax_backward_face(grad_y, y):
    gx = np.empty_like(grad_y)
    log_softmax_backward(grad_y, y, gx)
    return gx
