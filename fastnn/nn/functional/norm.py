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



# ------------------------------------------------------------------ layer and group norm

class _Standardize(ArrayFunction):
    """(x - mean) / sqrt(var + eps) along the last axis of (rows, features), the biased
    variance, as layer and group norm use it. With y the output and s = 1/sqrt(var + eps),
    backward is ``s * (g - mean(g) - y * mean(g * y))`` (row-wise means)."""

    @staticmethod
    def forward(ctx, x, eps):
        centred = x - x.mean(axis=1, keepdims=True)
        invstd = 1.0 / np.sqrt((centred * centred).mean(axis=1, keepdims=True) + eps)
        y = (centred * invstd).astype(x.dtype, copy=False)
        ctx.save_for_backward(y, invstd)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, invstd = ctx.saved_tensors
        dx = invstd * (grad - grad.mean(axis=1, keepdims=True) - y * (grad * y).mean(axis=1, keepdims=True))
        return dx.astype(grad.dtype, copy=False)


def _standardize(input: Tensor, rows: int, eps) -> Tensor:
    features = int(np.prod(input.shape)) // rows if rows else 0
    return _Standardize.apply(input.reshape(rows, features), float(eps)).reshape(*input.shape)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` axes (which must be
    ``normalized_shape``), each sample on its own, then ``* weight + bias`` (both of
    ``normalized_shape``, elementwise)."""
    input = _tensor(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise ValueError(f"layer_norm: given normalized_shape={list(shape)}, expected input with shape "
                         f"[*, {', '.join(map(str, shape))}], but got input of size {list(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"layer_norm: expected {name} of shape {list(shape)}, got {list(t.shape)}")
    out = _standardize(input, int(np.prod(input.shape[:input.ndim - k])), eps)
    if weight is not None:
        out = out * weight
    return out + bias if bias is not None else out


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5) -> Tensor:
    """Split the C channels of (N, C, *) input into ``num_groups`` groups and normalise each
    group of each sample on its own, then ``* weight + bias`` per channel (both (C,))."""
    input = _tensor(input)
    if input.ndim < 2:
        raise ValueError(f"group_norm: expected at least 2 dimensions for input tensor but received {input.ndim}")
    n, c = input.shape[:2]
    if num_groups <= 0 or c % num_groups:
        raise ValueError(f"group_norm: expected number of channels in input to be divisible by num_groups, but "
                         f"got input of shape {list(input.shape)} and num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"group_norm: expected {name} to be a vector of size {c} (the number of channels), "
                             f"got shape {list(t.shape)}")
    out = _standardize(input, n * num_groups, eps)
    per_channel = (c,) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(*per_channel)
    return out + bias.reshape(*per_channel) if bias is not None else out


# ------------------------------------------------------------------ vector norms

def _vector_norm(x: np.ndarray, p: float, axis: int) -> np.ndarray:
    """The p-norm of ``x`` along ``axis`` (keepdims), p > 0 or inf."""
    a = np.abs(x)
    if p == np.inf:
        return a.max(axis=axis, keepdims=True)
    if p == 2:
        return np.sqrt((a * a).sum(axis=axis, keepdims=True))
    if p == 1:
        return a.sum(axis=axis, keepdims=True)
    return (a ** p).sum(axis=axis, keepdims=True) ** (1.0 / p)


def _vector_norm_grad(x: np.ndarray, norm: np.ndarray, p: float, axis: int) -> np.ndarray:
    """d norm / d x: ``sign(x) |x|^(p-1) / norm^(p-1)``; for inf, the entries of largest
    magnitude share it equally (as PyTorch); 0 where the norm is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if p == np.inf:
            top = np.abs(x) == norm
            d = np.sign(x) * top / top.sum(axis=axis, keepdims=True)
        elif p == 1:
            d = np.sign(x)
        elif p == 2:
            d = x / norm
        else:
            d = np.sign(x) * (np.abs(x) / norm) ** (p - 1)
    return np.where(norm == 0, 0, d)


class _Normalize(ArrayFunction):
    """x / max(||x||_p, eps) along ``dim``. Where the norm is above eps,
    ``grad_x = g / n - x * sum(g * x) / n^2 * dn/dx``; below, the divisor is the constant eps."""

    @staticmethod
    def forward(ctx, x, p, dim, eps):
        norm = _vector_norm(x, p, dim)
        denom = np.maximum(norm, eps)
        ctx.save_for_backward(x, norm, denom)
        ctx.args = p, dim, eps
        return (x / denom).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, norm, denom = ctx.saved_tensors
        p, dim, eps = ctx.args
        dx = grad / denom
        along = (grad * x).sum(axis=dim, keepdims=True) / (denom * denom)
        dx = dx - np.where(norm >= eps, along, 0) * _vector_norm_grad(x, norm, p, dim)
        return dx.astype(grad.dtype, copy=False)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None) -> Tensor:
    """``input / max(||input||_p, eps)`` along ``dim``: unit vectors (p=2 by default)."""
    input = _tensor(input)
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported; use the returned tensor")
    dim = _axis(dim, input, "normalize")
    return _Normalize.apply(input, float(p), dim, eps)


def _axis(dim: int, input: Tensor, fn: str) -> int:
    ndim = max(input.ndim, 1)
    if not -ndim <= dim < ndim:
        raise IndexError(f"{fn}: dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], "
                         f"but got {dim})")
    return dim % ndim
