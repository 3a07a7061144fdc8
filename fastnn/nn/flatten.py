"""``Flatten``: merge a range of dimensions into one; ``Unflatten``: split one into several."""
from __future__ import annotations

import numpy as np

from .module import Module


class Flatten(Module):
    """(N, C, H, W) -> (N, C*H*W) with the defaults ``start_dim=1, end_dim=-1``."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size`` (one entry may be -1), e.g.
    (N, 12) -> (N, 3, 4) with ``Unflatten(1, (3, 4))``: the inverse of :class:`Flatten`."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(f"unflattened_size must be a tuple of ints, but found type "
                            f"{type(unflattened_size).__name__}")
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input):
        dim = self.dim % input.ndim if input.ndim else 0
        sizes = list(self.unflattened_size)
        if sizes.count(-1) > 1:
            raise ValueError(f"Unflatten: only one dimension can be inferred, got {self.unflattened_size}")
        if -1 in sizes:
            known = int(np.prod([s for s in sizes if s != -1]))
            sizes[sizes.index(-1)] = input.shape[dim] // known if known else 0
        if int(np.prod(sizes)) != input.shape[dim]:
            raise ValueError(f"Unflatten: unflattened_size {self.unflattened_size} does not multiply to the size "
                             f"{input.shape[dim]} of dimension {self.dim} of input of shape {list(input.shape)}")
        return input.reshape(*input.shape[:dim], *sizes, *input.shape[dim + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
