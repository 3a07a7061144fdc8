"""Helpers every family of ``nn.functional`` shares: argument coercion and loss reduction."""
from __future__ import annotations

import functools

import warnings

import numpy as np

from ...tensor import Tensor

_REDUCTIONS = ("none", "mean", "sum")


def _tensor(x, name="input") -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return Tensor(x)
    raise TypeError(f"{name} must be a fastnn.Tensor, got {type(x).__name__}")


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def torch_node(name: str):
    """Decorate a loss so that its result's graph node has PyTorch's name (``MseLossBackward0``):
    fastnn builds some losses from several operations where torch has one node, and learners
    print ``loss.grad_fn`` and walk ``next_functions``."""
    def decorate(fn):
        @functools.wraps(fn)
        def named(*args, **kwargs):
            loss = fn(*args, **kwargs)
            if isinstance(loss, Tensor) and loss.grad_fn is not None:
                loss.grad_fn.label = name + "Backward0"
            return loss
        return named
    return decorate


def _legacy_reduction(size_average, reduce, reduction: str) -> str:
    """PyTorch's deprecated ``size_average``/``reduce`` flags, when given, override ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn("size_average and reduce args will be deprecated, please use reduction instead.", stacklevel=3)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"
