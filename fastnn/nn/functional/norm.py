"""Normalisation: ``batch_norm`` on the backend's kernels."""
from __future__ import annotations

import numpy as np

from ...autograd import ArrayFunction
from ...backends import get as _backend
from ...tensor import Tensor
from ._common import _tensor


class _BatchNorm(ArrayFunction):
    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        backend = _backend()
        # L spelled out, not -1: an empty batch must reach the contract's "x is empty" check
        x3 = x.reshape(x.shape[0], x.shape[1], int(np.prod(x.shape[2:])))
        y, mean, invstd = backend.batchnorm_forward(x3, weight, bias, running_mean, running_var,
                                                    training, momentum, eps)
        ctx.backend, ctx.training = backend, training
        ctx.save_for_backward(x3, weight, mean, invstd)
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad):
        x3, weight, mean, invstd = ctx.saved_tensors
        grad_x, grad_w, grad_b = ctx.backend.batchnorm_backward(grad.reshape(x3.shape), x3, weight, mean,
                                                                invstd, ctx.training)
        needs = ctx.needs_input_grad
        return (grad_x.reshape(grad.shape) if needs[0] else None, grad_w if needs[1] else None,
                grad_b if needs[2] else None)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5) -> Tensor:
    """Batch normalisation over every axis but the channel axis (1) of (N, C, ...) input.
    In training the running statistics (Tensors or None) are updated in place."""
    input = _tensor(input)
    if input.ndim < 2:
        raise ValueError(f"batch_norm: input must be (N, C, ...), got shape {input.shape}")
    rm = running_mean.data if isinstance(running_mean, Tensor) else running_mean
    rv = running_var.data if isinstance(running_var, Tensor) else running_var
    return _BatchNorm.apply(input, weight, bias, rm, rv, training=bool(training), momentum=float(momentum),
                            eps=eps)

