"""Making tensors: PyTorch's factory functions with its names, argument order and defaults.

Every factory takes ``dtype=`` (a fastnn, NumPy or Python type), ``device=`` (the CPU: any
other device is refused by name) and ``requires_grad=``. Shapes are given as PyTorch does,
``zeros(2, 3)`` or ``zeros((2, 3))``. Floats default to float32, integers to int64;
``from_numpy`` and ``as_tensor`` share the array's memory, ``tensor`` always copies.
"""
from __future__ import annotations

import numbers

import numpy as np

from .random import resolve
from .tensor import Tensor, _as_array, _sizes, as_tensor_arg
from .types import check_device, to_dtype


def _make(array: np.ndarray, device, requires_grad, out=None) -> Tensor:
    check_device(device)
    if out is not None:
        return _into(out, array)
    return Tensor._wrap(array).requires_grad_(requires_grad) if requires_grad else Tensor._wrap(array)


def _into(out, array: np.ndarray) -> Tensor:
    """``out=``: the values go into ``out`` (resized to the result's shape, as torch does) and
    ``out`` is returned."""
    if not isinstance(out, Tensor):
        raise TypeError(f"out must be a Tensor, got {type(out).__name__}")
    if out.shape == array.shape:
        out.data[...] = array
    else:
        out.data = array.astype(out.data.dtype)
    out._version_counter.value += 1
    return out


def _float(dtype) -> np.dtype:
    return np.dtype(np.float32) if dtype is None else to_dtype(dtype).dtype


def _random_float(dtype, name: str) -> np.dtype:
    """The dtype of ``rand``/``randn``: a floating one, as PyTorch insists."""
    np_dtype = _float(dtype)
    if np_dtype.kind != "f":
        raise NotImplementedError(f"{name}: random floats can't be made in dtype {to_dtype(np_dtype)}; "
                                  f"use a floating point dtype (or randint for integers)")
    return np_dtype


def _size(size: tuple, name: str) -> tuple:
    """The shape of ``zeros(2, 3)`` / ``zeros((2, 3))``; a missing one is an error, as in PyTorch."""
    if not size:
        raise TypeError(f'{name}() missing 1 required positional arguments: "size"')
    return _sizes(size)


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """A new tensor holding a copy of ``data`` (float32 for floats, int64 for ints)."""
    if isinstance(data, Tensor):
        data = data.data
    elif isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in data):
        data = [x.data if isinstance(x, Tensor) else x for x in data]
    return _make(np.array(_as_array(data, dtype), copy=True), device, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, sharing memory with it when it is already an array (or tensor)
    of the right dtype."""
    check_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    return Tensor._wrap(_as_array(data, dtype))


def from_numpy(ndarray) -> Tensor:
    """A tensor sharing ``ndarray``'s memory and keeping its dtype (float64 stays float64)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    if ndarray.dtype.kind not in "biufc":
        raise TypeError(f"can't convert np.ndarray of type {ndarray.dtype}. The only supported types are: "
                        f"float64, float32, float16, complex64, complex128, int64, int32, int16, int8, uint8, and "
                        f"bool.")
    return Tensor._wrap(ndarray)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(input) -> int:
    return as_tensor_arg(input, "input").numel()


# ------------------------------------------------------------------ filled

def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False) -> Tensor:
    return _make(np.zeros(_size(size, "zeros"), _float(dtype)), device, requires_grad, out)


def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False) -> Tensor:
    return _make(np.ones(_size(size, "ones"), _float(dtype)), device, requires_grad, out)


def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False,
          memory_format=None) -> Tensor:
    return _make(np.empty(_size(size, "empty"), _float(dtype)), device, requires_grad, out)


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None, requires_grad=False) -> Tensor:
    """Like PyTorch, the dtype follows ``fill_value`` when not given: bool, int64 or float32."""
    size = _sizes((size,) if isinstance(size, numbers.Integral) else (size,))
    np_dtype = _as_array(fill_value).dtype if dtype is None else to_dtype(dtype).dtype
    return _make(np.full(size, fill_value, np_dtype), device, requires_grad, out)


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False) -> Tensor:
    for name, v in (("n", n), ("m", m)):
        if v is not None and v < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {v}")
    return _make(np.eye(n, m, dtype=_float(dtype)), device, requires_grad, out)


def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False) -> Tensor:
    """Integers give int64 (as PyTorch), any float argument gives float32."""
    start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"upper bound and lower bound inconsistent with step sign "
                           f"(arange(start={start}, end={end}, step={step}))")
    if dtype is None:
        ints = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = np.int64 if ints else np.float32
    return _make(np.arange(start, end, step).astype(to_dtype(dtype).dtype), device, requires_grad, out)


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None, requires_grad=False) -> Tensor:
    if steps < 0:
        raise RuntimeError(f"number of steps must be non-negative (got {steps})")
    return _make(np.linspace(start, end, steps).astype(_float(dtype)), device, requires_grad, out)


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False) -> Tensor:
    if steps < 0:
        raise RuntimeError(f"number of steps must be non-negative (got {steps})")
    return _make(np.logspace(start, end, steps, base=base).astype(_float(dtype)), device, requires_grad, out)


# ------------------------------------------------------------------ random

def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False) -> Tensor:
    """Uniform on [0, 1)."""
    np_dtype = _random_float(dtype, "rand")
    return _make(resolve(generator).random(_size(size, "rand")).astype(np_dtype), device, requires_grad, out)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal."""
    np_dtype = _random_float(dtype, "randn")
    return _make(resolve(generator).standard_normal(_size(size, "randn")).astype(np_dtype), device, requires_grad, out)


def randint(low=0, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
            requires_grad=False) -> Tensor:
    """Integers in [low, high); ``randint(high, size)`` as in PyTorch."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint() missing the required argument 'size' (a tuple of ints)")
        low, high, size = 0, low, high
    if high is None:
        raise TypeError("randint() missing the required argument 'high'")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    values = resolve(generator).integers(low, high, size=_sizes((size,)))
    return _make(values.astype(np.int64 if dtype is None else to_dtype(dtype).dtype), device, requires_grad, out)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False) -> Tensor:
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    values = resolve(generator).permutation(n)
    return _make(values.astype(np.int64 if dtype is None else to_dtype(dtype).dtype), device, requires_grad, out)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, device=None,
           requires_grad=False) -> Tensor:
    """Samples of N(mean, std²): ``mean`` and ``std`` may be tensors (element-wise) or numbers
    with a ``size``."""
    m = mean.data if isinstance(mean, Tensor) else mean
    s = std.data if isinstance(std, Tensor) else std
    shape = _sizes((size,)) if size is not None else np.broadcast_shapes(np.shape(m), np.shape(s))
    like = mean if isinstance(mean, Tensor) else std if isinstance(std, Tensor) else None
    np_dtype = like.data.dtype if like is not None and dtype is None else _float(dtype)
    values = m + s * resolve(generator).standard_normal(shape)
    return _make(np.asarray(values, np_dtype), device, requires_grad, out)


def bernoulli(input, p=None, *, generator=None, out=None) -> Tensor:
    """1 with probability ``input`` (or ``p``), else 0, in ``input``'s dtype."""
    input = as_tensor_arg(input, "input")
    prob = input.data if p is None else p
    values = (resolve(generator).random(input.data.shape) < prob).astype(input.data.dtype)
    return Tensor._wrap(values) if out is None else _into(out, values)


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None) -> Tensor:
    """Indices drawn with probabilities proportional to the rows of ``input`` (1-D or 2-D)."""
    input = as_tensor_arg(input, "input")
    probs = np.atleast_2d(input.data.astype(np.float64))
    if np.any(probs < 0) or not np.all(np.isfinite(probs)):
        raise RuntimeError("multinomial: probability tensor contains either inf, nan or element < 0")
    if not replacement and num_samples > probs.shape[1]:
        raise RuntimeError(f"multinomial: cannot sample n_sample > prob_dist.size(-1) samples without replacement "
                           f"({num_samples} > {probs.shape[1]})")
    rng = resolve(generator)
    rows = [rng.choice(probs.shape[1], size=num_samples, replace=replacement, p=row / row.sum()) for row in probs]
    out_rows = np.asarray(rows, dtype=np.int64)
    values = out_rows if input.ndim == 2 else out_rows[0]
    return Tensor._wrap(values) if out is None else _into(out, values)


# ------------------------------------------------------------------ *_like

def _like_dtype(input, dtype) -> np.dtype:
    return np.asarray(input).dtype if dtype is None else to_dtype(dtype).dtype


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None) -> Tensor:
    return _make(np.zeros(np.shape(input), _like_dtype(input, dtype)), device, requires_grad)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None) -> Tensor:
    return _make(np.ones(np.shape(input), _like_dtype(input, dtype)), device, requires_grad)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None) -> Tensor:
    return _make(np.empty(np.shape(input), _like_dtype(input, dtype)), device, requires_grad)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    return _make(np.full(np.shape(input), fill_value, _like_dtype(input, dtype)), device, requires_grad)


def rand_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None) -> Tensor:
    return rand(*np.shape(input), dtype=_like_dtype(input, dtype), device=device, requires_grad=requires_grad)


def randn_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None) -> Tensor:
    return randn(*np.shape(input), dtype=_like_dtype(input, dtype), device=device, requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, layout=None, device=None, requires_grad=False,
                 memory_format=None) -> Tensor:
    if high is None:
        low, high = 0, low
    return randint(low, high, np.shape(input), dtype=_like_dtype(input, dtype), device=device)
