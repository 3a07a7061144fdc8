"""Dropout: inverted dropout, a composition of Tensor operations (no kernel needed)."""
from __future__ import annotations

import numpy as np

from ...random import generator
from ...tensor import Tensor
from ._common import _tensor


def dropout(input, p=0.5, training=True, inplace=False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (inverted dropout),
    so evaluation needs no rescaling."""
    input = _tensor(input)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    keep = generator().random(input.shape, dtype=np.float32) >= p
    return input * (keep * input.dtype.type(1.0 / (1.0 - p)))
