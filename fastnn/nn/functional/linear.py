"""Fully connected layers: ``linear`` on the backend's GEMM."""
from __future__ import annotations

from ...autograd import ArrayFunction
from ...backends import get as _backend
from ...tensor import Tensor
from ._common import _tensor


class _Linear(ArrayFunction):
    """y = x W^T + b, on the backend's GEMM (x is (N, in), W is (out, in))."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        backend = _backend()
        ctx.backend = backend
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        y = backend.gemm(x, weight, trans_b=True)
        if bias is not None:
            y += bias
        return y

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        gemm = ctx.backend.gemm
        grad_x = gemm(grad, weight) if ctx.needs_input_grad[0] else None
        grad_w = gemm(grad, x, trans_a=True) if ctx.needs_input_grad[1] else None
        grad_b = grad.sum(axis=0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b


def linear(input, weight, bias=None) -> Tensor:
    """``input @ weight.T + bias`` for input (..., in_features)."""
    input, weight = _tensor(input), _tensor(weight, "weight")
    if weight.ndim != 2 or input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {input.shape} does not fit weight of shape {weight.shape} "
                         f"(expected input (..., {weight.shape[1] if weight.ndim == 2 else '?'}))")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"linear: bias of shape {bias.shape} does not fit weight of shape {weight.shape}")
    lead = input.shape[:-1]
    x2 = input if input.ndim == 2 else input.reshape(-1, input.shape[-1])
    y = _Linear.apply(x2, weight, bias)
    return y if input.ndim == 2 else y.reshape(*lead, weight.shape[0])
