"""Writing into tensors: the out-of-place records of ``clone()``, ``x[index] = v`` and
``x.copy_(src)``. When a write needs a gradient, ``Tensor._inplace`` / ``__setitem__`` record
one of these and give the tensor the result (see ``fastnn.tensor``); without a graph they
write straight into the tensor's memory."""
from __future__ import annotations

import numpy as np

from ..autograd import ArrayFunction
from ._broadcast import unbroadcast


class Clone(ArrayFunction):
    """A copy in new memory; its gradient passes through unchanged."""

    @staticmethod
    def forward(ctx, a):
        return np.array(a, copy=True)

    @staticmethod
    def backward(ctx, grad):
        return grad


class SetItem(ArrayFunction):
    """``a`` with ``a[index] = value``: the written places pass no gradient back to ``a``; the
    value gets the gradient of the places it was written to (summed where it was broadcast)."""

    @staticmethod
    def forward(ctx, a, value, index):
        out = np.array(a, copy=True)
        try:
            out[index] = value
        except ValueError as exc:
            raise RuntimeError(f"cannot assign a value of shape {list(np.shape(value))} to the indexed part of a "
                               f"tensor of shape {list(a.shape)}: {exc}") from None
        ctx.index, ctx.value_shape = index, np.shape(value)
        return out

    @staticmethod
    def backward(ctx, grad):
        ga = np.array(grad, copy=True)
        ga[ctx.index] = 0
        part = grad[ctx.index]
        gv = unbroadcast(np.asarray(part), ctx.value_shape) if ctx.needs_input_grad[1] else None
        return ga, gv


class CopyInto(ArrayFunction):
    """``src`` broadcast to ``a``'s shape and cast to its dtype (``a.copy_(src)``): the old
    values of ``a`` get no gradient."""
    torch_name = "Copy"

    @staticmethod
    def forward(ctx, a, src):
        ctx.src_shape = np.shape(src)
        return np.array(np.broadcast_to(src, a.shape), dtype=a.dtype, copy=True)

    @staticmethod
    def backward(ctx, grad):
        return None, unbroadcast(grad, ctx.src_shape)
