"""Index lookups: ``embedding`` (rows of a weight matrix picked by integer indices, the
gradient scattered back with ``np.add.at``) and ``one_hot``."""
from __future__ import annotations

import numpy as np

from ...autograd import ArrayFunction, no_grad
from ...tensor import Tensor
from ._common import _tensor


class _Embedding(ArrayFunction):
    """out[...] = weight[indices[...]]; backward adds each output row's gradient into the row
    of ``weight`` it came from (a row used k times gets k contributions; divided by k with
    ``scale_grad_by_freq``); the ``padding_idx`` row gets none."""

    @staticmethod
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq):
        ctx.args = weight.shape, indices, padding_idx, scale_grad_by_freq
        return weight[indices]

    @staticmethod
    def backward(ctx, grad):
        shape, indices, padding_idx, scale_grad_by_freq = ctx.args
        flat, rows = indices.reshape(-1), grad.reshape(-1, shape[1])
        if scale_grad_by_freq:
            rows = rows / np.bincount(flat, minlength=shape[0])[flat, None].astype(grad.dtype)
        grad_weight = np.zeros(shape, dtype=grad.dtype)
        np.add.at(grad_weight, flat, rows)
        if padding_idx is not None:
            grad_weight[padding_idx] = 0
        return grad_weight, None


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False) -> Tensor:
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by the int64 ``input`` of any
    shape: the output is ``input.shape + (embedding_dim,)``.

    ``padding_idx``: that row gets no gradient. ``max_norm``: rows about to be looked up whose
    ``norm_type``-norm exceeds it are rescaled to it *in place* (as PyTorch).
    ``sparse=True`` is accepted, but the gradient is dense (fastnn has no sparse tensors)."""
    input, weight = _tensor(input), _tensor(weight, "weight")
    if input.dtype.kind not in "iu":
        raise TypeError(f"embedding: expected input of integer dtype (int64 indices), got {input.dtype}")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape "
                         f"{list(weight.shape)}")
    num = weight.shape[0]
    indices = input.data.astype(np.int64, copy=False)
    if indices.size and (indices.min() < 0 or indices.max() >= num):
        bad = indices[(indices < 0) | (indices >= num)][0]
        raise IndexError(f"embedding: index {bad} is out of range for {num} embeddings")
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"embedding: padding_idx must be within num_embeddings ({num}), got {padding_idx}")
        padding_idx %= num
    if max_norm is not None:
        _renorm_rows(weight, np.unique(indices), max_norm, norm_type)
    return _Embedding.apply(weight, indices, padding_idx, bool(scale_grad_by_freq))


def _renorm_rows(weight: Tensor, rows: np.ndarray, max_norm, norm_type) -> None:
    """PyTorch's ``embedding_renorm_``: rows whose norm exceeds ``max_norm`` are scaled by
    ``max_norm / (norm + 1e-7)``, in place and outside the graph."""
    with no_grad():
        w = weight.data
        norms = np.linalg.norm(w[rows].astype(np.float64), ord=norm_type, axis=1)
        big = norms > max_norm
        w[rows[big]] *= (max_norm / (norms[big] + 1e-7))[:, None].astype(w.dtype)


def one_hot(tensor, num_classes=-1) -> Tensor:
    """int64 class indices of any shape -> int64 ``shape + (num_classes,)`` with a 1 at each
    index; ``num_classes=-1`` means ``max + 1``."""
    tensor = _tensor(tensor, "tensor")
    if tensor.dtype != np.int64:
        raise TypeError("one_hot is only applicable to index tensor of type int64 (LongTensor), got "
                        f"{tensor.dtype}")
    values = tensor.data
    if num_classes == -1:
        if values.size == 0:
            raise ValueError("one_hot: can not infer total number of classes from empty tensor")
        num_classes = int(values.max()) + 1
    if values.size and values.min() < 0:
        raise ValueError("one_hot: class values must be non-negative")
    if values.size and values.max() >= num_classes:
        raise ValueError(f"one_hot: class values must be smaller than num_classes ({num_classes}), "
                         f"got {int(values.max())}")
    return Tensor((values[..., None] == np.arange(num_classes)).astype(np.int64))
