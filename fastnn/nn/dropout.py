"""``Dropout``: randomly zero activations while training."""
from __future__ import annotations

from . import functional as F
from .module import Module


class Dropout(Module):
    """In training, zero each element with probability ``p`` and scale the survivors by
    1/(1-p) so the expected value is unchanged; in eval mode, the identity."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
