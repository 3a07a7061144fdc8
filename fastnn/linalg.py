"""``fastnn.linalg``: PyTorch's ``torch.linalg`` names (norm, vector_norm, matrix_norm, svd, svdvals, solve,
inv, det, slogdet, multi_dot, vecdot, cross, diagonal, matrix_power, matmul), made from the
core's operations in :mod:`fastnn.ops.linalg`, every one differentiable."""
from __future__ import annotations

from .ops.linalg import TORCH_LINALG as _TORCH_LINALG

globals().update(_TORCH_LINALG)

__all__ = sorted(_TORCH_LINALG)
