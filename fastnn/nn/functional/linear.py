"""Fully connected layers: ``linear`` on the backend's GEMM."""
from __future__ import annotations

import numpy as np

from ...autograd import ArrayFunction
from ...backends import get as _backend
from ...tensor import Tensor
from ._common import _tensor


class _Linear(ArrayFunction):
    """y = x W^T + b, on the backend's GEMM (x is (N, in), W is (out, in))."""

    @staticmethod
    def forward(ctx, bias, x, weight):      # torch's addmm order: next_functions[0] is the bias
        backend = _backend()
        ctx.backend = backend
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        ctx.backward_name = "AddmmBackward0" if bias is not None else "MmBackward0"    # torch's nodes
        y = backend.gemm(x, weight, trans_b=True)
        if bias is not None:
            y += bias
        return y

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        gemm = ctx.backend.gemm
        need_b, need_x, need_w = ctx.needs_input_grad
        grad_x = gemm(grad, weight) if need_x else None
        grad_w = gemm(grad, x, trans_a=True) if need_w else None
        grad_b = grad.sum(axis=0) if ctx.has_bias and need_b else None
        return grad_b, grad_x, grad_w


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
    y = _Linear.apply(bias, x2, weight)
    return y if input.ndim == 2 else y.reshape(*lead, weight.shape[0])


class _Bilinear(ArrayFunction):
    """y[b, o] = x1[b, i] W[o, i, j] x2[b, j] + bias[o], on (B, I) and (B, J) rows; each
    gradient is the same contraction with its own operand left out."""

    @staticmethod
    def forward(ctx, x1, x2, weight, bias):
        ctx.save_for_backward(x1, x2, weight)
        ctx.has_bias = bias is not None
        y = np.einsum("bi,oij,bj->bo", x1, weight, x2, optimize=True)
        return y + bias if bias is not None else y

    @staticmethod
    def backward(ctx, grad):
        x1, x2, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        g1 = np.einsum("bo,oij,bj->bi", grad, weight, x2, optimize=True) if needs[0] else None
        g2 = np.einsum("bo,oij,bi->bj", grad, weight, x1, optimize=True) if needs[1] else None
        gw = np.einsum("bo,bi,bj->oij", grad, x1, x2, optimize=True) if needs[2] else None
        gb = grad.sum(axis=0) if ctx.has_bias and needs[3] else None
        return g1, g2, gw, gb


def bilinear(input1, input2, weight, bias=None) -> Tensor:
    """``y = x1^T W x2 + b`` for every output feature: input1 (..., in1), input2 (..., in2) with
    the same leading shape, weight (out, in1, in2), bias (out,)."""
    input1, input2, weight = _tensor(input1, "input1"), _tensor(input2, "input2"), _tensor(weight, "weight")
    if (weight.ndim != 3 or input1.ndim == 0 or input1.shape[:-1] != input2.shape[:-1]
            or input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]):
        raise ValueError(f"bilinear: input1 of shape {list(input1.shape)} and input2 of shape {list(input2.shape)} "
                         f"do not fit weight of shape {list(weight.shape)} (expected input1 (..., in1), input2 "
                         f"(..., in2) with the same leading shape and weight (out, in1, in2))")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"bilinear: bias of shape {list(bias.shape)} does not fit weight of shape "
                         f"{list(weight.shape)}")
    lead = tuple(input1.shape[:-1])
    y = _Bilinear.apply(input1.reshape(-1, input1.shape[-1]), input2.reshape(-1, input2.shape[-1]), weight, bias)
    return y.reshape(*lead, weight.shape[0])
