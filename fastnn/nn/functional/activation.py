"""Activations. The kernel-backed ones (relu, leaky_relu, elu, sigmoid, tanh, softmax,
log_softmax) are core operations in :mod:`fastnn.ops.activation`, shared with the Tensor
methods; this module adds PyTorch's argument handling on top."""
from __future__ import annotations

from ...ops import activation as _ops
from ...ops.activation import Elu, LeakyRelu, Relu, Sigmoid, Tanh
from ...tensor import Tensor
from ._common import _tensor


def relu(input, inplace=False) -> Tensor:
    return Relu.apply(_tensor(input))


def leaky_relu(input, negative_slope=0.01, inplace=False) -> Tensor:
    return LeakyRelu.apply(_tensor(input), negative_slope)


def elu(input, alpha=1.0, inplace=False) -> Tensor:
    if alpha < 0:
        raise ValueError(f"elu: alpha must be >= 0, got {alpha}")
    return Elu.apply(_tensor(input), alpha)


def sigmoid(input) -> Tensor:
    return Sigmoid.apply(_tensor(input))


def tanh(input) -> Tensor:
    return Tanh.apply(_tensor(input))


def softmax(input, dim=None) -> Tensor:
    return _ops.softmax(_tensor(input), dim)


def log_softmax(input, dim=None) -> Tensor:
    return _ops.log_softmax(_tensor(input), dim)
