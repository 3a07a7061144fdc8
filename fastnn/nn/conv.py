"""``Conv1d`` and ``Conv2d``: convolution (cross-correlation) over NCL / NCHW input."""
from __future__ import annotations

import math

import numpy as np

from . import functional as F
from . import init
from ._utils import factory_dtype
from .module import Module
from .parameter import Parameter

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(value, n: int, name: str) -> tuple:
    """``3`` -> ``(3,) * n``; a sequence of n stays (as a tuple), as PyTorch's ``_single``/``_pair``."""
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise ValueError(f"{name}: expected an int or a sequence of {n}, got {value!r}")
        return tuple(value)
    return (value,) * n


class _ConvNd(Module):
    """What Conv1d and Conv2d share: arguments, parameters, initialisation, padding modes, repr."""

    _dims = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__()
        n = self._dims
        dtype = factory_dtype(device, dtype)
        if not isinstance(groups, int) or isinstance(groups, bool) or groups <= 0:
            raise ValueError(f"groups must be a positive integer, got {groups!r}")
        if in_channels % groups != 0:
            raise ValueError(f"in_channels must be divisible by groups (in_channels={in_channels}, groups={groups})")
        if out_channels % groups != 0:
            raise ValueError(f"out_channels must be divisible by groups (out_channels={out_channels}, "
                             f"groups={groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {list(_PADDING_MODES)}, but got "
                             f"padding_mode='{padding_mode}'")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in _ntuple(stride, n, "stride")):
                raise ValueError("padding='same' is not supported for strided convolutions")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _ntuple(kernel_size, n, "kernel_size"), _ntuple(stride, n, "stride")
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, n, "padding")
        self.dilation = _ntuple(dilation, n, "dilation")
        self.groups, self.padding_mode = groups, padding_mode
        self.output_padding = (0,) * n
        self.transposed = False
        self.weight = Parameter(np.empty((out_channels, in_channels // groups, *self.kernel_size), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty((out_channels,), dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def _padded(self, input):
        """(input, padding for the convolution): with a padding_mode other than 'zeros' the input
        is padded first, by :func:`F.pad` in that mode, and the convolution gets none."""
        if self.padding_mode == "zeros":
            return input, self.padding
        if self.padding == "valid":
            return input, 0
        if self.padding == "same":
            totals = [d * (k - 1) for k, d in zip(self.kernel_size, self.dilation)]
            pads = [(t // 2, t - t // 2) for t in totals]
        else:
            pads = [(p, p) for p in self.padding]
        flat = [side for pair in reversed(pads) for side in pair]
        return F.pad(input, flat, mode=self.padding_mode), 0

    def extra_repr(self) -> str:
        n = self._dims
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """``weight`` (out_channels, in_channels/groups, k), ``bias`` (out_channels,), over (N, C, L)
    or (C, L) input. Output length ``floor((L + 2*padding - dilation*(k-1) - 1) / stride) + 1``.
    Arguments, groups, padding modes and initialisation as :class:`Conv2d`."""

    _dims = 1

    def forward(self, input):
        input, padding = self._padded(input)
        return F.conv1d(input, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class Conv2d(_ConvNd):
    """``weight`` (out_channels, in_channels/groups, kH, kW), ``bias`` (out_channels,).

    Output size per spatial axis: ``floor((H + 2*padding - dilation*(k-1) - 1) / stride) + 1``.
    ``padding`` may also be ``'valid'`` (0) or ``'same'`` (stride 1 only). ``padding_mode``
    'reflect', 'replicate' or 'circular' pads the input with :func:`F.pad` first.

    ``groups`` splits the channels and the filters into that many blocks, filter block g
    seeing only channel block g, so ``weight`` is (out_channels, in_channels/groups, kH, kW)
    (``groups=in_channels``: depthwise convolution). Both channel counts must divide by it.

    Initialisation (PyTorch's): weight ~ kaiming_uniform_(a=sqrt(5)), i.e.
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels/groups*kH*kW (the inputs one
    output really sees, read off the weight's shape); bias the same bound.
    """

    _dims = 2

    def forward(self, input):
        input, padding = self._padded(input)
        return F.conv2d(input, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)
