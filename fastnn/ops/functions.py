"""PyTorch's top-level functions that are not made from a Tensor method (their first
argument is not the tensor, or they take several): ``cat``, ``stack``, ``where``,
``einsum``, ``meshgrid``... ``fastnn`` puts each of :data:`TOP_LEVEL` in its namespace.
(The functions made from methods, ``fastnn.sin(x)`` ..., are listed in
``fastnn._functions.METHOD_FUNCTIONS``.)"""
from __future__ import annotations

from . import linalg, reduction, shape

TOP_LEVEL: dict = {**shape.PLAIN_FUNCTIONS, **reduction.PLAIN_FUNCTIONS, **linalg.PLAIN_FUNCTIONS}

__all__ = ["TOP_LEVEL"]
