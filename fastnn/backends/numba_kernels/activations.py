"""Elementwise activations in Numba, forward and backward, on flat 1-D views.

Each kernel is two functions: a serial loop over a range (``_relu_forward`` ...), which LLVM
vectorises (unit stride, no dependence between iterations, a ``select`` instead of a branch),
and a driver that cuts a large array into chunks of ``CHUNK`` elements and runs them on all
threads with ``prange``. Arrays below ``CHUNK`` elements stay on the calling thread: waking the
thread pool costs more than the work. The chunking never changes a result (no reductions).

Semantics match ``numpy_ref`` including NaN: ``relu(NaN) = NaN`` (``np.maximum`` propagates it),
and every scalar parameter is converted to float32 first, as NumPy 2 does for a Python float
combined with a float32 array.

elu, sigmoid and tanh call the vectorisable float32 ``exp``/``expm1``/``tanh`` of ``_vmath.py``
instead of ``math.exp``/``math.tanh``, which are calls into the C library that LLVM cannot
vectorise (see that module); their loops then vectorise like relu's.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ._common import jit
from ._vmath import expm1_nonpos_f32, sigmoid_f32, tanh_f32

#: elements per parallel chunk (128 KB of float32: fits L2 with its output)
CHUNK = 1 << 15


# ---------------------------------------------------------------------------- serial bodies

@jit()
def _relu_forward(x, y):
    for i in range(x.shape[0]):
        v = x[i]
        y[i] = np.float32(0.0) if v <= 0 else v          # NaN is not <= 0: passes through


@jit()
def _relu_backward(g, y, gx):
    for i in range(g.shape[0]):
        gx[i] = g[i] if y[i] > 0 else np.float32(0.0)


@jit()
def _leaky_relu_forward(x, slope, y):
    for i in range(x.shape[0]):
        v = x[i]
        y[i] = v if v > 0 else v * slope


@jit()
def _leaky_relu_backward(g, x, slope, gx):
    for i in range(g.shape[0]):
        gx[i] = g[i] if x[i] > 0 else g[i] * slope


@jit()
def _elu_forward(x, alpha, y):
    zero = np.float32(0.0)
    for i in range(x.shape[0]):
        v = x[i]
        u = zero if v > zero else v                      # min(v, 0), keeping a NaN
        y[i] = v if v > zero else alpha * expm1_nonpos_f32(u)


@jit()
def _elu_backward(g, y, alpha, gx):
    for i in range(g.shape[0]):
        v = y[i]
        gx[i] = g[i] if v > 0 else g[i] * (v + alpha)


@jit()
def _sigmoid_forward(x, y):
    for i in range(x.shape[0]):
        y[i] = sigmoid_f32(x[i])


@jit()
def _sigmoid_backward(g, y, gx):
    one = np.float32(1.0)
    for i in range(g.shape[0]):
        v = y[i]
        gx[i] = g[i] * (v * (one - v))


@jit()
def _tanh_forward(x, y):
    for i in range(x.shape[0]):
        y[i] = tanh_f32(x[i])


@jit()
def _tanh_backward(g, y, gx):
    one = np.float32(1.0)
    for i in range(g.shape[0]):
        v = y[i]
        gx[i] = g[i] * (one - v * v)


# ---------------------------------------------------------------------------- parallel drivers
# (one per kernel: a compiled function cannot take another one as a cacheable argument)

@jit(parallel=True)
def relu_forward(x, y):
    """``y = max(x, 0)``."""
    n = x.shape[0]
    chunks = (n + CHUNK - 1) // CHUNK
    if chunks <= 1:
        _relu_forward(x, y)
        return
    for c in prange(chunks):
        lo, hi = c * CHUNK, min((c + 1) * CHUNK, n)
        _relu_forward(x[lo:hi], y[lo:hi])


@jit(parallel=True)
def relu_backward(g, y, gx):
    """``gx = g * (y > 0)`` from the saved output."""
    n = g.shape[0]
    chunks = (n + CHUNK - 1) // CHUNK
    if chunks <= 1:
        _relu_backward(g, y, gx)
        return
    for c in prange(chunks):
        lo, hi = c * CHUNK, min((c + 1) * CHUNK, n)
        _relu_backward(g[lo:hi], y[lo:hi], gx[lo:hi])


@jit(parallel=True)
def leaky_relu_forward(x, negative_slope, y):
    """``y = x if x > 0 else negative_slope * x``."""
    n = x.shape[0]
    s = np.float32(negative_slope)
    chunks = (n + CHUNK - 1) // CHUNK
    if chunks <= 1:
        _leaky_relu_forward(x, s, y)
        return
    for c in prange(chunks):
        lo, hi = c * CHUNK, min((c + 1) * CHUNK, n)
        _leaky_relu_forward(x[lo:hi], s, y[lo:hi])


@jit(parallel=True)
def leaky_relu_backward(g, x, negative_slope, gx):
    """From the saved *input*: ``gx = g if x > 0 else negative_slope * g``."""
    n = g.shape[0]
    s = np.float32(negative_slope)
    chunks = (n + CHUNK - 1) // CHUNK
    if chunks <= 1:
        _leaky_relu_backward(g, x, s, gx)
        return
    for c in prange(chunks):
        lo, hi = c * CHUNK, min((c + 1) * CHUNK, n)
        _leaky_relu_backward(g[lo:hi], x[lo:hi], s, gx[lo:hi])


@jit(parallel=True)
def elu_forward(x, alpha, y):
    """``y = x if x > 0 else alpha * expm1(x)`` (``expm1`` is accurate near 0)."""
    n = x.shape[0]
    a = np.float32(alpha)
    chunks = (n + CHUNK - 1) // CHUNK
    if chunks <= 1:
        _elu_forward(x, a, y)
        return
    for c in prange(chunks):
        lo, hi = c * CHUNK, min((c + 1) * CHUNK, n)
        _elu_forward(x[lo:hi], a, y[lo:hi])


@jit(parallel=True)
def elu_backward(g, y, alpha, gx):
    """From the saved output: slope 1 where ``y > 0``, else ``alpha * exp(x) = y + alpha``."""
    n = g.shape[0]
    a = np.float32(alpha)
    chunks = (n + CHUNK - 1) // CHUNK
    if chunks <= 1:
        _elu_backward(g, y, a, gx)
        return
    for c in prange(chunks):
        lo, hi = c * CHUNK, min((c + 1) * CHUNK, n)
        _elu_backward(g[lo:hi], y[lo:hi], a, gx[lo:hi])


@jit(parallel=True)
def sigmoid_forward(x, y):
    """``1 / (1 + exp(-x))`` computed from ``e = exp(-|x|)`` so it never overflows."""
    n = x.shape[0]
    chunks = (n + CHUNK - 1) // CHUNK
    if chunks <= 1:
        _sigmoid_forward(x, y)
        return
    for c in prange(chunks):
        lo, hi = c * CHUNK, min((c + 1) * CHUNK, n)
        _sigmoid_forward(x[lo:hi], y[lo:hi])


@jit(parallel=True)
def sigmoid_backward(g, y, gx):
    """``gx = g * y * (1 - y)`` from the saved output."""
    n = g.shape[0]
    chunks = (n + CHUNK - 1) // CHUNK
    if chunks <= 1:
        _sigmoid_backward(g, y, gx)
        return
    for c in prange(chunks):
        lo, hi = c * CHUNK, min((c + 1) * CHUNK, n)
        _sigmoid_backward(g[lo:hi], y[lo:hi], gx[lo:hi])


@jit(parallel=True)
def tanh_forward(x, y):
    """``y = tanh(x)``, from one ``expm1(-2|x|)`` (``_vmath.tanh_f32``)."""
    n = x.shape[0]
    chunks = (n + CHUNK - 1) // CHUNK
    if chunks <= 1:
        _tanh_forward(x, y)
        return
    for c in prange(chunks):
        lo, hi = c * CHUNK, min((c + 1) * CHUNK, n)
        _tanh_forward(x[lo:hi], y[lo:hi])


@jit(parallel=True)
def tanh_backward(g, y, gx):
    """``gx = g * (1 - y^2)`` from the saved output."""
    n = g.shape[0]
    chunks = (n + CHUNK - 1) // CHUNK
    if chunks <= 1:
        _tanh_backward(g, y, gx)
        return
    for c in prange(chunks):
        lo, hi = c * CHUNK, min((c + 1) * CHUNK, n)
        _tanh_backward(g[lo:hi], y[lo:hi], gx[lo:hi])


# ---------------------------------------------------------------------------- Python faces

def unary(kernel, x, *params):
    """Run ``kernel(x_flat, *params, y_flat)``; returns ``y`` shaped like ``x``."""
    y = np.empty_like(x)
    kernel(x.reshape(-1), *params, y.reshape(-1))
    return y


def unary_backward(kernel, grad_y, saved, *params):
    """Run ``kernel(g_flat, saved_flat, *params, gx_flat)``; returns ``gx`` shaped like ``grad_y``."""
    gx = np.empty_like(grad_y)
    kernel(grad_y.reshape(-1), saved.reshape(-1), *params, gx.reshape(-1))
    return gx
