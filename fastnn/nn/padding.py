"""Padding layers, PyTorch's names: ``ZeroPad1d/2d/3d``, ``ConstantPad1d/2d/3d``,
``ReflectionPad1d/2d/3d``, ``ReplicationPad1d/2d/3d``, ``CircularPad1d/2d/3d``, all thin modules
around :func:`fastnn.nn.functional.pad`. ``padding`` is an int (every side) or a tuple
(left, right[, top, bottom[, front, back]])."""
from __future__ import annotations

from . import functional as F
from .module import Module


class _PadNd(Module):
    _dims = 1
    _mode = "constant"

    def __init__(self, padding, value: float = 0.0):
        super().__init__()
        n = 2 * self._dims
        padding = tuple(padding) if isinstance(padding, (tuple, list)) else (padding,) * n
        if len(padding) != n:
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple of {n} ints, got {padding}")
        self.padding = padding
        if self._mode == "constant":
            self.value = value

    def forward(self, input):
        if self._mode == "constant":
            return F.pad(input, self.padding, "constant", self.value)
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float):
        super().__init__(padding, value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _ZeroPadNd(_PadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)


class ZeroPad1d(_ZeroPadNd):
    """Pad the last axis with zeros."""
    _dims, _mode = 1, "constant"


class ZeroPad2d(_ZeroPadNd):
    """Pad the last 2 axes with zeros."""
    _dims, _mode = 2, "constant"


class ZeroPad3d(_ZeroPadNd):
    """Pad the last 3 axes with zeros."""
    _dims, _mode = 3, "constant"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last axis with ``value``."""
    _dims, _mode = 1, "constant"


class ConstantPad2d(_ConstantPadNd):
    """Pad the last 2 axes with ``value``."""
    _dims, _mode = 2, "constant"


class ConstantPad3d(_ConstantPadNd):
    """Pad the last 3 axes with ``value``."""
    _dims, _mode = 3, "constant"


class ReflectionPad1d(_PadNd):
    """Pad the last axis with their reflection (the edge not repeated)."""
    _dims, _mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    """Pad the last 2 axes with their reflection (the edge not repeated)."""
    _dims, _mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    """Pad the last 3 axes with their reflection (the edge not repeated)."""
    _dims, _mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    """Pad the last axis by repeating the edge."""
    _dims, _mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    """Pad the last 2 axes by repeating the edge."""
    _dims, _mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    """Pad the last 3 axes by repeating the edge."""
    _dims, _mode = 3, "replicate"


class CircularPad1d(_PadNd):
    """Pad the last axis by wrapping around."""
    _dims, _mode = 1, "circular"


class CircularPad2d(_PadNd):
    """Pad the last 2 axes by wrapping around."""
    _dims, _mode = 2, "circular"


class CircularPad3d(_PadNd):
    """Pad the last 3 axes by wrapping around."""
    _dims, _mode = 3, "circular"
