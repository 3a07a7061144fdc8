"""The kernel-backed non-linearities, shared by ``Tensor`` methods (``x.relu()``,
``x.softmax(dim)``...) and ``fastnn.nn.functional``.

Each is an :class:`~fastnn.autograd.ArrayFunction` whose forward and backward call the
*active backend's* kernels (``fastnn.backends.get()``, resolved once per forward and
remembered for the backward). Class names follow PyTorch's graph nodes (``ReluBackward0``
there, ``ReluBackward`` here). This module is part of the core: it knows Tensors and the
backends, never ``fastnn.nn``; ``nn.functional`` adds PyTorch's argument checking on top.
"""
from __future__ import annotations

import numpy as np

from ..autograd import ArrayFunction
from ..backends import get as _backend


class _Activation(ArrayFunction):
    """Elementwise activation on the backend: ``<name>_forward(x, *params)`` and
    ``<name>_backward(grad, saved, *params)``. Backward works from the saved output where
    the math allows (relu, elu, sigmoid, tanh), from the saved input for leaky_relu."""

    name = ""
    saves_input = False

    @classmethod
    def forward(cls, ctx, x, *params):
        backend = _backend()
        y = getattr(backend, cls.name + "_forward")(x, *params)
        ctx.backend, ctx.params = backend, params
        ctx.save_for_backward(x if cls.saves_input else y)
        return y.reshape(x.shape)

    @classmethod
    def backward(cls, ctx, grad):
        (saved,) = ctx.saved_tensors
        return getattr(ctx.backend, cls.name + "_backward")(grad, saved, *ctx.params)


class Relu(_Activation):
    """max(0, x)."""
    name = "relu"


class LeakyRelu(_Activation):
    """x for x >= 0, ``negative_slope * x`` otherwise (param: negative_slope)."""
    name, saves_input = "leaky_relu", True


class Elu(_Activation):
    """x for x > 0, ``alpha * (exp(x) - 1)`` otherwise (param: alpha)."""
    name = "elu"


class Sigmoid(_Activation):
    """1 / (1 + exp(-x))."""
    name = "sigmoid"


class Tanh(_Activation):
    name = "tanh"


def _rows(x: np.ndarray, dim: int):
    """Move ``dim`` last and flatten the rest: the (rows, classes) view the kernels take."""
    moved = np.moveaxis(x, dim, -1)
    return np.ascontiguousarray(moved).reshape(-1, moved.shape[-1]), moved.shape


def _unrows(y2: np.ndarray, moved_shape, dim: int):
    return np.moveaxis(y2.reshape(moved_shape), -1, dim)


class LogSoftmax(ArrayFunction):
    """log(softmax(x)) along ``dim`` (a keyword, already in [0, ndim)), on the backend's kernel."""

    @staticmethod
    def forward(ctx, x, dim):
        backend = _backend()
        x2, moved = _rows(x, dim)
        y2 = backend.log_softmax_forward(x2)
        ctx.backend, ctx.dim, ctx.moved = backend, dim, moved
        ctx.save_for_backward(y2)
        return _unrows(y2, moved, dim)

    @staticmethod
    def backward(ctx, grad):
        (y2,) = ctx.saved_tensors
        g2, _ = _rows(grad, ctx.dim)
        return _unrows(ctx.backend.log_softmax_backward(g2, y2), ctx.moved, ctx.dim)


class Softmax(ArrayFunction):
    """exp(x) / sum(exp(x)) along ``dim``: exp of the backend's log_softmax; backward
    ``p * (g - sum(g * p))`` from the saved probabilities."""

    @staticmethod
    def forward(ctx, x, dim):
        x2, moved = _rows(x, dim)
        p2 = np.exp(_backend().log_softmax_forward(x2))
        ctx.dim, ctx.moved = dim, moved
        ctx.save_for_backward(p2)
        return _unrows(p2, moved, dim)

    @staticmethod
    def backward(ctx, grad):
        (p2,) = ctx.saved_tensors
        g2, _ = _rows(grad, ctx.dim)
        return _unrows(p2 * (g2 - (g2 * p2).sum(axis=1, keepdims=True)), ctx.moved, ctx.dim)


def check_dim(x, dim, fn: str) -> int:
    """``dim`` for a softmax-like op on ``x``, in [0, ndim), with PyTorch's errors (a 0-d
    tensor takes dim 0 or -1)."""
    if dim is None:
        raise TypeError(f"{fn}() needs dim= (the axis that sums to one), as in PyTorch")
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise IndexError(f"{fn}: dim {dim} out of range for input of shape {x.shape}")
    return dim % x.ndim if x.ndim else 0


# ------------------------------------------------------------------ plain functions (Tensors in and out)

def relu(x):
    return Relu.apply(x)


def leaky_relu(x, negative_slope=0.01):
    return LeakyRelu.apply(x, negative_slope)


def elu(x, alpha=1.0):
    return Elu.apply(x, alpha)


def sigmoid(x):
    return Sigmoid.apply(x)


def tanh(x):
    return Tanh.apply(x)


def softmax(x, dim):
    dim = check_dim(x, dim, "softmax")
    if x.ndim == 0:                 # as PyTorch: a scalar is a distribution of one
        return Softmax.apply(x.reshape(1), dim=0).reshape(())
    return Softmax.apply(x, dim=dim)


def log_softmax(x, dim):
    dim = check_dim(x, dim, "log_softmax")
    if x.ndim == 0:
        return LogSoftmax.apply(x.reshape(1), dim=0).reshape(())
    return LogSoftmax.apply(x, dim=dim)


__all__ = ["Relu", "LeakyRelu", "Elu", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "relu", "leaky_relu", "elu",
           "sigmoid", "tanh", "softmax", "log_softmax", "check_dim"]
