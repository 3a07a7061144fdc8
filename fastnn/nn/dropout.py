"""Dropout layers: randomly zero activations while training (identity in eval mode).
``Dropout`` zeroes elements; ``Dropout1d/2d/3d`` zero whole channels."""
from __future__ import annotations

from . import functional as F
from .module import Module


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """In training, zero each element with probability ``p`` and scale the survivors by
    1/(1-p) so the expected value is unchanged; in eval mode, the identity."""

    def forward(self, input):
        return F.dropout(input, self.p, self.training)


class Dropout1d(_DropoutNd):
    """In training, zero each channel of (N, C, L) or (C, L) input with probability ``p``."""

    def forward(self, input):
        return F.dropout1d(input, self.p, self.training)


class Dropout2d(_DropoutNd):
    """In training, zero each channel of (N, C, H, W) input with probability ``p`` (see
    :func:`fastnn.nn.functional.dropout2d` for 3-D input)."""

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training)


class Dropout3d(_DropoutNd):
    """In training, zero each channel of (N, C, D, H, W) or (C, D, H, W) input with probability ``p``."""

    def forward(self, input):
        return F.dropout3d(input, self.p, self.training)
