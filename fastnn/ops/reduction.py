"""Reductions over dimensions (``dim`` / ``keepdim``)."""
from __future__ import annotations

import numpy as np

from ..autograd import ArrayFunction
from ._broadcast import _expand_back, _norm_axis

class Sum(ArrayFunction):
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        ctx.shape, ctx.axes, ctx.keepdims = a.shape, _norm_axis(axis, a.ndim), keepdims
        return np.asarray(np.sum(a, axis=ctx.axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx, grad):
        return _expand_back(grad, ctx.shape, ctx.axes, ctx.keepdims).copy()   # (ascontiguousarray makes 0-d 1-d)


class Mean(ArrayFunction):
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        ctx.shape, ctx.axes, ctx.keepdims = a.shape, _norm_axis(axis, a.ndim), keepdims
        ctx.count = int(np.prod([a.shape[i] for i in ctx.axes])) if a.ndim else 1
        return np.asarray(np.mean(a, axis=ctx.axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx, grad):
        return _expand_back(grad / ctx.count, ctx.shape, ctx.axes, ctx.keepdims).copy()


class MaxMin(ArrayFunction):
    """max or min over axes; the gradient is shared equally by tied extremes."""

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False, largest=True):
        axes = _norm_axis(axis, a.ndim)
        out = (np.max if largest else np.min)(a, axis=axes, keepdims=True)
        mask = a == out
        ctx.save_for_backward(mask)
        ctx.shape, ctx.axes, ctx.keepdims = a.shape, axes, keepdims
        return np.asarray(out if keepdims else np.squeeze(out, axis=axes))

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        g = grad if ctx.keepdims else np.expand_dims(grad, ctx.axes)
        count = mask.sum(axis=ctx.axes, keepdims=True)
        return (mask * (g / count)).astype(grad.dtype, copy=False)


class Var(ArrayFunction):
    """Variance with Bessel's ``correction`` (1 = unbiased, PyTorch's default)."""

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False, correction=1):
        axes = _norm_axis(axis, a.ndim)
        n = int(np.prod([a.shape[i] for i in axes])) if a.ndim else 1
        centred = a - a.mean(axis=axes, keepdims=True)
        ctx.save_for_backward(centred)
        ctx.axes, ctx.keepdims, ctx.divisor = axes, keepdims, max(n - correction, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = (centred * centred).sum(axis=axes, keepdims=keepdims) / a.dtype.type(ctx.divisor)
        return np.asarray(out)

    @staticmethod
    def backward(ctx, grad):
        (centred,) = ctx.saved_tensors
        g = grad if ctx.keepdims else np.expand_dims(grad, ctx.axes)
        return (2 * centred * g / centred.dtype.type(ctx.divisor)).astype(centred.dtype, copy=False)


