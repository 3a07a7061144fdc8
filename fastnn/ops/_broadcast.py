"""Helpers every op family shares: the adjoint of broadcasting, dimension checking with
PyTorch's messages, and PyTorch's type-promotion rules (which differ from NumPy's)."""
from __future__ import annotations

import numbers

import numpy as np

FLOAT32 = np.dtype(np.float32)
INT64 = np.dtype(np.int64)
BOOL = np.dtype(np.bool_)


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` down to ``shape``: the adjoint of NumPy broadcasting."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


# ------------------------------------------------------------------ dimensions

def wrap_dim(dim, ndim: int) -> int:
    """``dim`` in [0, ndim) with PyTorch's error (a 0-d tensor accepts 0 and -1)."""
    if isinstance(dim, bool) or not isinstance(dim, (numbers.Integral,)):
        raise TypeError(f"dim must be an int, got {type(dim).__name__} {dim!r}")
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return int(dim) % n if ndim else 0


def wrap_dims(dim, ndim: int) -> tuple:
    """``dim`` (None = all, an int, or a tuple/list of ints) as a sorted tuple of axes in
    [0, ndim); a repeated dim is an error, as in PyTorch."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (numbers.Integral,)) and not isinstance(dim, bool):
        return (wrap_dim(dim, ndim),) if ndim else ()
    dims = [wrap_dim(d, ndim) for d in dim]
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dim {tuple(dim)} appears multiple times in the list of dims")
    return tuple(sorted(dims)) if ndim else ()


def _norm_axis(axis, ndim):
    """(Kept for older callers) :func:`wrap_dims`."""
    return wrap_dims(axis, ndim)


def _expand_back(grad, shape, axes, keepdims):
    """Reshape a reduced gradient so that it broadcasts against the input ``shape``."""
    if not keepdims and axes and len(shape):
        grad = np.expand_dims(grad, axes)
    return np.broadcast_to(grad, shape)


def broadcast_shapes(*shapes) -> tuple:
    """The broadcast of ``shapes`` with PyTorch's error message."""
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for s in shapes:
        for i, size in enumerate(s):
            j = ndim - len(s) + i
            if size != 1 and out[j] != 1 and out[j] != size:
                raise RuntimeError(f"shape mismatch: objects cannot be broadcast to a single shape "
                                   f"({' vs '.join(str(tuple(x)) for x in shapes)}); the size {out[j]} must match "
                                   f"the size {size} at non-singleton dimension {j}")
            if size != 1:
                out[j] = size
            elif out[j] == 1:
                out[j] = size
    return tuple(out)


# ------------------------------------------------------------------ type promotion (PyTorch's rules)

def category(dtype) -> int:
    """0 bool, 1 integer, 2 floating point."""
    kind = np.dtype(dtype).kind
    return 0 if kind == "b" else 1 if kind in "iu" else 2


def promote_types(a, b) -> np.dtype:
    """``torch.promote_types``: like NumPy's except that an integer meets a float in that float
    (int64 with float32 is float32, NumPy says float64)."""
    a, b = np.dtype(a), np.dtype(b)
    ca, cb = category(a), category(b)
    if ca != cb and 2 in (ca, cb):
        return a if ca == 2 else b
    return np.promote_types(a, b)


def _is_number(x) -> bool:
    return isinstance(x, (numbers.Number, np.generic)) and not isinstance(x, np.ndarray)


def result_type(*operands) -> np.dtype:
    """``torch.result_type`` of Tensors, arrays and Python numbers: tensors with dimensions
    decide; a 0-d tensor or a number only raises the *category* (bool < int < float), a
    float number then giving the default float32."""
    from ..tensor import Tensor
    dim_t = zero_t = wrapped = None

    def combine(prev, dt):
        return dt if prev is None else promote_types(prev, dt)

    for x in operands:
        if x is None:
            continue
        if isinstance(x, Tensor) or isinstance(x, np.ndarray):
            dt = np.dtype(x.dtype)
            if x.ndim:
                dim_t = combine(dim_t, dt)
            else:
                zero_t = combine(zero_t, dt)
        elif isinstance(x, (bool, np.bool_)):
            wrapped = combine(wrapped, BOOL)
        elif isinstance(x, (numbers.Integral,)):
            wrapped = combine(wrapped, INT64)
        elif isinstance(x, numbers.Real):
            wrapped = combine(wrapped, FLOAT32)
        else:
            raise TypeError(f"expected a Tensor or a number, got {type(x).__name__}")

    def combine_categories(higher, lower):
        if higher is None:
            return lower
        if lower is None:
            return higher
        if category(higher) == 2:
            return higher
        if category(higher) == 0 or category(lower) == 2:
            return promote_types(higher, lower)
        return higher

    out = combine_categories(dim_t, combine_categories(zero_t, wrapped))
    return FLOAT32 if out is None else out


def float_dtype(dtype) -> np.dtype:
    """The dtype a floating-point function computes in: a float stays, an integer or bool
    input becomes the default float32 (``torch.sin(int64) -> float32``)."""
    dtype = np.dtype(dtype)
    return dtype if dtype.kind == "f" else FLOAT32


def as_tensor(x, dtype=None, name="input"):
    """``x`` as a Tensor of ``dtype`` (a differentiable cast when it is one already)."""
    from ..tensor import Tensor
    if isinstance(x, Tensor):
        return x if dtype is None or x.dtype == np.dtype(dtype) else x.to(dtype)
    if _is_number(x) or isinstance(x, (np.ndarray, list, tuple)):
        arr = np.asarray(x) if dtype is None else np.asarray(x, dtype=dtype)
        if dtype is None and arr.dtype == np.float64 and not isinstance(x, np.ndarray):
            arr = arr.astype(np.float32)
        return Tensor._wrap(arr)
    raise TypeError(f"{name} must be a Tensor, got {type(x).__name__}")


def promoted(*operands, floating=False):
    """Tensors of ``operands`` cast to their common PyTorch result type (``floating``: to at
    least float32). Numbers become 0-d tensors of that type."""
    dtype = result_type(*operands)
    if floating:
        dtype = float_dtype(dtype)
    return [None if x is None else as_tensor(x, dtype) for x in operands], dtype
