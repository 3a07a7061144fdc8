"""Gradient clipping (``torch.nn.utils``' names): rescale the gradients of a model when their
norm is too large (``clip_grad_norm_``), or clamp each entry (``clip_grad_value_``).

Both work on ``param.grad.data`` in place, after ``backward()`` and before
``optimizer.step()``. The total norm is, as in PyTorch, the norm of the vector of the
per-parameter norms, which is the norm of all the gradients concatenated into one vector
(for every p-norm, the infinity norm included), without building that vector.
"""
from __future__ import annotations

import types
import warnings

import numpy as np

from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]


def _as_list(tensors) -> list:
    """A single Tensor or an iterable of them (a generator is consumed once, here)."""
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _vector_norm(x: np.ndarray, norm_type: float) -> np.ndarray:
    """``torch.linalg.vector_norm(x, norm_type)`` of the flattened array, in ``x``'s dtype:
    max |x| for inf, min |x| for -inf, the count of non-zeros for 0, (Σ|x|^p)^(1/p) otherwise."""
    if x.size == 0:
        return x.dtype.type(0)
    return np.linalg.norm(x.ravel(), ord=norm_type)


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """The ``norm_type``-norm of ``tensors`` (gradient arrays' Tensors) viewed as one vector,
    as a 0-d Tensor; 0.0 for no tensors. ``foreach`` is accepted for PyTorch's signature (it
    picks an implementation there; fastnn has one)."""
    arrays = [t.data for t in _as_list(tensors)]
    norm_type = float(norm_type)
    if not arrays:
        return Tensor(np.float32(0.0))
    norms = np.array([_vector_norm(a, norm_type) for a in arrays], dtype=np.result_type(*arrays))
    total = _vector_norm(norms, norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so "
                           "it cannot be clipped. To disable this error and scale the gradients by the non-finite "
                           "norm anyway, set `error_if_nonfinite=False`")
    return Tensor(np.asarray(total))


def clip_grads_with_norm_(parameters, max_norm: float, total_norm, foreach=None) -> None:
    """Scale every gradient by ``min(max_norm / (total_norm + 1e-6), 1)``, in place. The
    1e-6 keeps the division finite for zero gradients; the scale is applied even when it is 1
    (as PyTorch does), so a NaN norm makes the gradients NaN rather than passing silently."""
    grads = [p.grad.data for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    total = np.asarray(total_norm.data if isinstance(total_norm, Tensor) else total_norm)
    coef = np.minimum(float(max_norm) / (total + total.dtype.type(1e-6)), total.dtype.type(1.0))
    with np.errstate(invalid="ignore"):       # inf * 0 -> NaN is the documented outcome, not news
        for grad in grads:
            grad *= coef.astype(grad.dtype)


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> Tensor:
    """Rescale the gradients of ``parameters`` (a Tensor or an iterable) so that their total
    ``norm_type``-norm is at most ``max_norm``; returns the total norm *before* clipping (a
    0-d Tensor), which is worth logging: a norm that keeps hitting the limit means the
    learning rate or the limit is too small. ``error_if_nonfinite=True`` raises instead of
    scaling by an inf/NaN norm. Parameters without a gradient are skipped."""
    is_generator = isinstance(parameters, types.GeneratorType)
    parameters = _as_list(parameters)
    if is_generator and not parameters:
        warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=2)
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_norm(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach=None) -> Tensor:
    """Deprecated spelling of :func:`clip_grad_norm_` (kept, with PyTorch's warning)."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of `torch.nn.utils.clip_grad_norm_`.",
                  FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient entry into ``[-clip_value, clip_value]``, in place. Unlike norm
    clipping this changes the gradient's direction; it guards against single huge entries."""
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            np.clip(p.grad.data, -clip_value, clip_value, out=p.grad.data)
