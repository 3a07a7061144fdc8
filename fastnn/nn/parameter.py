"""``Parameter``: a Tensor that a :class:`~fastnn.nn.Module` registers as learnable.

Assigning a Parameter to a module attribute (``self.weight = Parameter(...)``) is what
makes it show up in ``parameters()``, ``state_dict()`` and the optimizer.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor with ``requires_grad=True`` (unless told otherwise), float32 by default.

    ``Parameter(tensor)`` shares ``tensor``'s array, as in PyTorch.
    """

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = np.empty((0,), dtype=np.float32)
        if isinstance(data, Tensor):
            data = data.data
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.data.copy(), self.requires_grad)
        if self.grad is not None:
            result.grad = Tensor(self.grad.data.copy())
        memo[id(self)] = result
        return result


class Buffer(Tensor):
    """Marks a Tensor as a buffer when assigned to a module attribute
    (``self.running_mean = Buffer(zeros(3))``); ``persistent=False`` keeps it out of
    ``state_dict()``. The module stores a plain Tensor sharing the array."""

    def __init__(self, data, persistent: bool = True):
        super().__init__(data.data if isinstance(data, Tensor) else data)
        self.persistent = persistent
