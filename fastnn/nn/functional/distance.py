"""Distances between vectors: ``pairwise_distance`` and ``cosine_similarity``, on the p-norm
of :mod:`.norm` (whose gradient is 0, not NaN, where a norm is 0)."""
from __future__ import annotations

import numpy as np

from ...autograd import ArrayFunction
from ...tensor import Tensor
from ._common import _tensor
from .norm import _axis, _vector_norm, _vector_norm_grad, normalize


class _VectorNorm(ArrayFunction):
    """||x||_p along ``dim`` (kept as size 1); backward ``g * dn/dx``."""

    @staticmethod
    def forward(ctx, x, p, dim):
        norm = _vector_norm(x, p, dim)
        ctx.save_for_backward(x, norm)
        ctx.args = p, dim
        return norm.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, norm = ctx.saved_tensors
        p, dim = ctx.args
        return (grad * _vector_norm_grad(x, norm, p, dim)).astype(grad.dtype, copy=False)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False) -> Tensor:
    """``||x1 - x2 + eps||_p`` along the last axis, x1 and x2 broadcast together (PyTorch adds
    ``eps`` to the difference so that the gradient at x1 == x2 is finite)."""
    x1, x2 = _tensor(x1, "x1"), _tensor(x2, "x2")
    diff = x1 - x2 + eps
    if diff.ndim == 0:
        diff = diff.reshape(1)
    norm = _VectorNorm.apply(diff, float(p), diff.ndim - 1)
    return norm if keepdim else norm.squeeze(-1)


def cosine_similarity(x1, x2, dim=1, eps=1e-8) -> Tensor:
    """``x1 . x2 / (max(||x1||, eps) * max(||x2||, eps))`` along ``dim``, x1 and x2 broadcast
    together; each vector is divided by its own norm first (as PyTorch, for precision)."""
    x1, x2 = _tensor(x1, "x1"), _tensor(x2, "x2")
    ndim = max(x1.ndim, x2.ndim)
    x1 = x1.reshape(*(1,) * (ndim - x1.ndim), *x1.shape)
    x2 = x2.reshape(*(1,) * (ndim - x2.ndim), *x2.shape)
    shape = np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    dim = _axis(dim, x1, "cosine_similarity")
    if x1.shape[dim] != shape[dim]:
        x1 = x1 * Tensor(np.ones((shape[dim],) + (1,) * (ndim - dim - 1), dtype=x1.dtype))
    if x2.shape[dim] != shape[dim]:
        x2 = x2 * Tensor(np.ones((shape[dim],) + (1,) * (ndim - dim - 1), dtype=x2.dtype))
    return (normalize(x1, 2.0, dim, eps) * normalize(x2, 2.0, dim, eps)).sum(dim)
