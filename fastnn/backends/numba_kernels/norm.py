"""Batch normalisation in Numba, forward (train and eval) and backward, on x (N, C, L).

``prange`` over channels: a channel's statistics, normalisation and gradients only involve that
channel's ``N*L`` values, so each thread owns whole channels and every sum is taken in one
fixed order (same result for any thread count). Sums accumulate in float64; the two-pass
variance (mean first, then the mean of squared deviations) avoids the cancellation of
``E[x^2] - E[x]^2``. Running statistics are updated *in place* with the unbiased variance,
as PyTorch and ``numpy_ref`` do.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from ._common import jit


@jit(parallel=True)
def batchnorm_forward(x, weight, has_weight, bias, has_bias, running_mean, running_var, has_running,
                      training, momentum, eps, y, mean_out, invstd_out):
    """``y = (x - mean) * invstd * weight + bias`` per channel; fills ``mean_out``, ``invstd_out``.

    Training: batch statistics (biased variance), and when ``has_running`` the running
    statistics become ``(1 - momentum) * running + momentum * batch`` (unbiased variance).
    Eval: the running statistics are used as they are."""
    n, c, l = x.shape
    m = n * l
    keep = np.float32(1.0 - momentum)
    mom = np.float32(momentum)
    unbias = np.float32(momentum * m / (m - 1)) if m > 1 else np.float32(0.0)
    eps32 = np.float32(eps)
    for ch in prange(c):
        if training:
            s = 0.0
            for b in range(n):
                row = x[b, ch]
                acc = np.float32(0.0)
                for t in range(l):
                    acc += row[t]
                s += acc
            mu = np.float32(s / m)
            s2 = 0.0
            for b in range(n):
                row = x[b, ch]
                acc = np.float32(0.0)
                for t in range(l):
                    d = row[t] - mu
                    acc += d * d
                s2 += acc
            var = np.float32(s2 / m)
            if has_running:
                running_mean[ch] = running_mean[ch] * keep + mom * mu
                running_var[ch] = running_var[ch] * keep + unbias * var
        else:
            mu = running_mean[ch]
            var = running_var[ch]
        inv = np.float32(1.0) / np.float32(math.sqrt(var + eps32))
        scale = inv * weight[ch] if has_weight else inv
        shift = bias[ch] if has_bias else np.float32(0.0)
        for b in range(n):
            src = x[b, ch]
            dst = y[b, ch]
            for t in range(l):
                dst[t] = (src[t] - mu) * scale + shift
        mean_out[ch] = mu
        invstd_out[ch] = inv


@jit(parallel=True)
def batchnorm_backward(g, x, weight, has_weight, mean, invstd, training, grad_x, grad_w, grad_b):
    """Per channel, with ``xhat = (x - mean) * invstd`` and ``M = N*L``:
    ``grad_b = sum(g)``, ``grad_w = sum(g * xhat)``; training:
    ``grad_x = weight * invstd * (g - grad_b / M - xhat * grad_w / M)``; eval:
    ``grad_x = g * weight * invstd`` (the statistics are constants)."""
    n, c, l = x.shape
    m = n * l
    for ch in prange(c):
        mu = mean[ch]
        inv = invstd[ch]
        sb = 0.0
        sw = 0.0
        for b in range(n):
            gr = g[b, ch]
            xr = x[b, ch]
            ab = np.float32(0.0)
            aw = np.float32(0.0)
            for t in range(l):
                gv = gr[t]
                ab += gv
                aw += gv * ((xr[t] - mu) * inv)
            sb += ab
            sw += aw
        gb = np.float32(sb)
        gw = np.float32(sw)
        grad_b[ch] = gb
        grad_w[ch] = gw
        scale = inv * weight[ch] if has_weight else inv
        if training:
            mb = np.float32(sb / m)
            mw = np.float32(sw / m)
            for b in range(n):
                gr = g[b, ch]
                xr = x[b, ch]
                out = grad_x[b, ch]
                for t in range(l):
                    xhat = (xr[t] - mu) * inv
                    out[t] = (gr[t] - mb - xhat * mw) * scale
        else:
            for b in range(n):
                gr = g[b, ch]
                out = grad_x[b, ch]
                for t in range(l):
                    out[t] = gr[t] * scale


# ---------------------------------------------------------------------------- Python faces

_DUMMY = np.zeros(1, dtype=np.float32)


def batchnorm_forward_face(x, weight, bias, running_mean, running_var, training, momentum, eps):
    n, c, l = x.shape
    y = np.empty_like(x)
    mean = np.empty(c, dtype=x.dtype)
    invstd = np.empty(c, dtype=x.dtype)
    has_running = running_mean is not None
    batchnorm_forward(x, weight if weight is not None else _DUMMY, weight is not None,
                      bias if bias is not None else _DUMMY, bias is not None,
                      running_mean if has_running else _DUMMY, running_var if has_running else _DUMMY,
                      has_running, bool(training), 0.0 if momentum is None else float(momentum), float(eps),
                      y, mean, invstd)
    return y, mean, invstd


def batchnorm_backward_face(grad_y, x, weight, mean, invstd, training):
    n, c, l = x.shape
    grad_x = np.empty_like(x)
    grad_w = np.empty(c, dtype=x.dtype)
    grad_b = np.empty(c, dtype=x.dtype)
    batchnorm_backward(grad_y, x, weight if weight is not None else _DUMMY, weight is not None, mean, invstd,
                       bool(training), grad_x, grad_w, grad_b)
    return grad_x, grad_w, grad_b
