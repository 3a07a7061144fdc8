"""Arithmetic with NumPy broadcasting: a gradient flowing back to a broadcast input is summed
over the broadcast axes (:func:`unbroadcast`)."""
from __future__ import annotations

import numpy as np

from ..autograd import ArrayFunction
from ._broadcast import unbroadcast


class Add(ArrayFunction):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = np.shape(a), np.shape(b)
        return np.add(a, b)

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        return unbroadcast(grad, sa), unbroadcast(grad, sb)


class Sub(ArrayFunction):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = np.shape(a), np.shape(b)
        return np.subtract(a, b)

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        return unbroadcast(grad, sa), unbroadcast(-grad, sb)


class Mul(ArrayFunction):
    """a * b. Each factor is kept only when the other one needs a gradient (as PyTorch does),
    so changing the other in place later is allowed and costs no memory."""

    @staticmethod
    def forward(ctx, a, b):
        need_a, need_b = ctx.needs_input_grad
        ctx.save_for_backward(b if need_a else None, a if need_b else None)
        ctx.shapes = np.shape(a), np.shape(b)
        return np.multiply(a, b)

    @staticmethod
    def backward(ctx, grad):
        b, a = ctx.saved_tensors
        sa, sb = ctx.shapes
        ga = unbroadcast(grad * b, sa) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(grad * a, sb) if ctx.needs_input_grad[1] else None
        return ga, gb


class Div(ArrayFunction):
    """a / b: the divisor is always needed; the dividend only for the divisor's gradient."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        ctx.shapes = np.shape(a), np.shape(b)
        return np.divide(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        sa, sb = ctx.shapes
        ga = unbroadcast(grad / b, sa) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(-grad * a / (b * b), sb) if ctx.needs_input_grad[1] else None
        return ga, gb


class Pow(ArrayFunction):
    """a ** b for a tensor base and/or a tensor exponent."""

    @staticmethod
    def forward(ctx, a, b):
        out = np.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = unbroadcast(grad * b * np.power(a, b - 1), np.shape(a))
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                log_a = np.where(a > 0, np.log(np.where(a > 0, a, 1)), 0)
            gb = unbroadcast(grad * out * log_a, np.shape(b))
        return ga, gb


class Neg(ArrayFunction):
    @staticmethod
    def forward(ctx, a):
        return np.negative(a)

    @staticmethod
    def backward(ctx, grad):
        return -grad


class MatMul(ArrayFunction):
    """``a @ b`` with NumPy's rules (1-D vectors, batched stacks). Two 2-D float32
    matrices go through the active backend's GEMM kernel."""

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("matmul: both operands must have at least one dimension (use * for scalars)")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align "
                             f"({a.shape[-1]} != {b.shape[-2 if b.ndim > 1 else 0]})")
        ctx.save_for_backward(a, b)
        return _matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        a2 = a[None, :] if a.ndim == 1 else a          # treat vectors as 1xK / Kx1 matrices
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = grad
        if b.ndim == 1:                                 # first the trailing axis: a 1-D @ 1-D grad is 0-D
            g2 = np.expand_dims(g2, -1)
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = unbroadcast(_matmul(g2, np.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            gb = unbroadcast(_matmul(np.swapaxes(a2, -1, -2), g2), b2.shape).reshape(b.shape)
        return ga, gb


def _matmul(a, b):
    if a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype == np.float32:
        from ..backends import get
        return get().gemm(a, b)
    return np.matmul(a, b)


