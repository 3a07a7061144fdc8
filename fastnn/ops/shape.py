"""Shape, indexing and joining."""
from __future__ import annotations

import numpy as np

from ..autograd import ArrayFunction
from ._broadcast import unbroadcast


class Reshape(ArrayFunction):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ValueError(f"cannot reshape a tensor of shape {a.shape} ({a.size} elements) "
                             f"into shape {tuple(shape)}") from None

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape)


class Permute(ArrayFunction):
    @staticmethod
    def forward(ctx, a, dims):
        dims = tuple(d % a.ndim for d in dims) if a.ndim else ()
        if sorted(dims) != list(range(a.ndim)):
            raise ValueError(f"permute: {dims} is not a permutation of the {a.ndim} dimensions of shape {a.shape}")
        ctx.inverse = tuple(np.argsort(dims))
        return np.transpose(a, dims)

    @staticmethod
    def backward(ctx, grad):
        return np.transpose(grad, ctx.inverse)


class GetItem(ArrayFunction):
    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.dtype, ctx.index = a.shape, a.dtype, index
        return np.asarray(a[index])

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        if _is_basic_index(ctx.index):
            out[ctx.index] = grad           # a view: no index repeats, plain assignment
        else:
            np.add.at(out, ctx.index, grad)  # integer arrays may repeat an index: accumulate
        return out


def _is_basic_index(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


class Cat(ArrayFunction):
    @staticmethod
    def forward(ctx, *arrays, dim=0):
        ctx.sizes = [a.shape[dim] for a in arrays]
        ctx.dim = dim
        return np.concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.split(grad, np.cumsum(ctx.sizes)[:-1], axis=ctx.dim))


class Stack(ArrayFunction):
    @staticmethod
    def forward(ctx, *arrays, dim=0):
        ctx.dim = dim
        ctx.count = len(arrays)
        return np.stack(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.take(grad, i, axis=ctx.dim) for i in range(ctx.count))


class Where(ArrayFunction):
    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.save_for_backward(condition)
        ctx.shapes = np.shape(a), np.shape(b)
        return np.where(condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        (condition,) = ctx.saved_tensors
        sa, sb = ctx.shapes
        return None, unbroadcast(np.where(condition, grad, 0), sa), unbroadcast(np.where(condition, 0, grad), sb)

class ShapeMethods:
    """The shape and indexing methods of ``Tensor`` (mixed into it)."""

    def reshape(self, *shape):
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return Reshape.apply(self, shape=shape)

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        if self.ndim == 0:
            return self.reshape(1)
        start, end = start_dim % self.ndim, end_dim % self.ndim
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        return self.reshape(*self.shape[:start], -1, *self.shape[end + 1:])

    def permute(self, *dims):
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        return Permute.apply(self, dims=dims)

    def transpose(self, dim0: int, dim1: int):
        dims = list(range(self.ndim))
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return self.permute(*dims)

    @property
    def T(self):
        return self.permute(*reversed(range(self.ndim)))

    def unsqueeze(self, dim: int):
        dim = dim % (self.ndim + 1)
        return self.reshape(*self.shape[:dim], 1, *self.shape[dim:])

    def squeeze(self, dim=None):
        if dim is None:
            return self.reshape(*[s for s in self.shape if s != 1])
        if self.ndim == 0:              # as PyTorch: squeezing a scalar (dim 0 or -1) is a no-op
            return self
        dim = dim % self.ndim
        return self if self.shape[dim] != 1 else self.reshape(*self.shape[:dim], *self.shape[dim + 1:])

    def __getitem__(self, index):
        from ..tensor import Tensor
        if isinstance(index, Tensor):
            index = index.data
        elif isinstance(index, tuple):
            index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
        elif isinstance(index, list):
            index = np.asarray(index)
        return GetItem.apply(self, index=index)

