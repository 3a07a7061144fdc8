"""Normalisation layers: ``BatchNorm1d`` ((N, C) or (N, C, L)), ``BatchNorm2d`` ((N, C, H, W)),
``LayerNorm`` and ``GroupNorm``.

Batch norm: in training each channel is normalised with the statistics of the batch, and the running
estimates are updated (``running = (1 - momentum) * running + momentum * batch``; the
running variance uses the unbiased batch variance). ``momentum=None`` gives a cumulative
average instead (momentum = 1 / num_batches_tracked). In eval mode the running estimates
are used, so the output no longer depends on the rest of the batch.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from . import functional as F
from . import init
from ._utils import factory_dtype
from .module import Module
from .parameter import Parameter


class _BatchNorm(Module):
    _expected_dims: tuple = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *, bias: bool = True):
        super().__init__()
        dtype = factory_dtype(device, dtype)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.empty(num_features, dtype=dtype))
            if bias:
                self.bias = Parameter(np.empty(num_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _check_input_dim(self, input):
        if input.ndim not in self._expected_dims:
            wanted = " or ".join(f"{d}D" for d in self._expected_dims)
            raise ValueError(f"expected {wanted} input (got {input.ndim}D input)")

    def forward(self, input):
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.data += 1
            factor = 1.0 / float(self.num_batches_tracked.data) if self.momentum is None else self.momentum
        # batch statistics in training, and in eval when there are no running statistics
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        update_running = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if update_running else None,
                            self.running_var if update_running else None, self.weight, self.bias,
                            use_batch_stats, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) input, one mean/variance per channel C."""
    _expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) input, one mean/variance per channel C."""
    _expected_dims = (4,)


class LayerNorm(Module):
    """Normalise each sample over its last ``len(normalized_shape)`` axes, then scale and shift
    elementwise by ``weight`` and ``bias`` (of ``normalized_shape``; ones and zeros at first)."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        dtype = factory_dtype(device, dtype)
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        _affine_parameters(self, elementwise_affine, bias, shape, dtype)

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """Split the channels of (N, C, *) input into ``num_groups`` groups, normalise each group of
    each sample, then scale and shift per channel (``weight``, ``bias`` of shape (C,))."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True, device=None,
                 dtype=None, *, bias: bool = True):
        super().__init__()
        dtype = factory_dtype(device, dtype)
        if num_channels % num_groups != 0:
            raise ValueError("num_channels must be divisible by num_groups")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        _affine_parameters(self, affine, bias, (num_channels,), dtype)

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


def _affine_parameters(module: Module, affine: bool, bias: bool, shape, dtype) -> None:
    """``weight`` (ones) and ``bias`` (zeros) of ``shape``, or None, as LayerNorm and GroupNorm
    register them."""
    module.register_parameter("weight", Parameter(np.ones(shape, dtype=dtype)) if affine else None)
    module.register_parameter("bias", Parameter(np.zeros(shape, dtype=dtype)) if affine and bias else None)


def _reset_affine(module: Module) -> None:
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)
