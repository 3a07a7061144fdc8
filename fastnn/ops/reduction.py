"""Reductions over dimensions (``dim`` / ``keepdim``)."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd import ArrayFunction
from ._broadcast import _expand_back, _norm_axis

# what max/min/sort/topk/mode ... with a dim return: (values, indices), named as in torch.return_types
MaxResult = namedtuple("max", "values indices")
MinResult = namedtuple("min", "values indices")

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

def _dim_arg(dim, axis):
    """Accept PyTorch's ``dim`` or NumPy's ``axis``."""
    if dim is not None and axis is not None:
        raise TypeError("give dim or axis, not both")
    return dim if dim is not None else axis


class ReductionMethods:
    """The reductions of ``Tensor`` (mixed into it)."""

    def sum(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return Sum.apply(self, axis=_dim_arg(dim, axis), keepdims=keepdim if keepdims is None else keepdims)

    def mean(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return Mean.apply(self, axis=_dim_arg(dim, axis), keepdims=keepdim if keepdims is None else keepdims)

    def var(self, dim=None, keepdim=False, *, axis=None, keepdims=None, correction=None, unbiased=None):
        """Variance; unbiased (correction=1) by default, as in PyTorch."""
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        return Var.apply(self, axis=_dim_arg(dim, axis), keepdims=keepdim if keepdims is None else keepdims,
                             correction=correction)

    def std(self, dim=None, keepdim=False, *, axis=None, keepdims=None, correction=None, unbiased=None):
        return self.var(dim, keepdim, axis=axis, keepdims=keepdims, correction=correction, unbiased=unbiased).sqrt()

    def _extreme(self, largest, dim, keepdim, axis, keepdims):
        keep = keepdim if keepdims is None else keepdims
        values = MaxMin.apply(self, axis=_dim_arg(dim, axis), keepdims=keep, largest=largest)
        if dim is None:             # x.max() or NumPy style x.max(axis=1): the values
            return values
        arg = (np.argmax if largest else np.argmin)(self.data, axis=dim, keepdims=keep)
        return (MaxResult if largest else MinResult)(values, self._wrap(arg.astype(np.int64)))   # PyTorch style x.max(1)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """``x.max()`` and ``x.max(axis=1)`` give values; ``x.max(1)`` gives (values, indices) as in PyTorch."""
        return self._extreme(True, dim, keepdim, axis, keepdims)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return self._extreme(False, dim, keepdim, axis, keepdims)

    def argmax(self, dim=None, keepdim=False):
        return self._wrap(np.argmax(self.data, axis=dim, keepdims=keepdim).astype(np.int64))

    def argmin(self, dim=None, keepdim=False):
        return self._wrap(np.argmin(self.data, axis=dim, keepdims=keepdim).astype(np.int64))

