"""Weight initialisation (``fastnn.nn.init``), with PyTorch's names and formulas.

Every function fills ``tensor.data`` *in place* and returns the tensor. Random draws come
from fastnn's global generator (``fastnn.manual_seed`` makes them reproducible) unless a
NumPy ``generator`` is passed.

Why these formulas: a layer with ``fan_in`` inputs of unit variance and weights of
variance ``v`` produces outputs of variance ``fan_in * v``. Keeping signals from
exploding or vanishing through depth asks for ``v = gain**2 / fan`` (He/Kaiming) or
``v = 2 * gain**2 / (fan_in + fan_out)`` (Glorot/Xavier), where ``gain`` compensates for
what the nonlinearity does to the variance (sqrt(2) for ReLU, which zeroes half).
A uniform distribution on [-b, b] has variance b**2 / 3, hence the ``sqrt(3)`` below.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..random import generator as _global_generator
from ..tensor import Tensor

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for a nonlinearity (linear/conv/sigmoid 1, tanh 5/3, relu sqrt(2),
    leaky_relu sqrt(2 / (1 + slope**2)) with slope ``param`` (default 0.01), selu 3/4)."""
    if nonlinearity in _LINEAR or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _array(tensor) -> np.ndarray:
    if isinstance(tensor, Tensor):
        return tensor.data
    if isinstance(tensor, np.ndarray):
        return tensor
    raise TypeError(f"init functions take a fastnn Tensor (or numpy array), got {type(tensor).__name__}")


def _fill(tensor, values):
    arr = _array(tensor)
    arr[...] = values
    return tensor


def _rng(generator):
    """A NumPy generator: the one given (a ``fastnn.Generator`` gives its ``.rng``), or the global one."""
    if generator is None:
        return _global_generator()
    return getattr(generator, "rng", generator)


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight: (in_features, out_features) for Linear's (out, in);
    times the kernel area for a conv weight (out, in, kh, kw)."""
    shape = _array(tensor).shape
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive_field = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive_field, shape[0] * receptive_field


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    """Fill with U(a, b)."""
    arr = _array(tensor)
    return _fill(tensor, _rng(generator).uniform(a, b, arr.shape))


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    """Fill with N(mean, std**2)."""
    arr = _array(tensor)
    return _fill(tensor, _rng(generator).normal(mean, std, arr.shape))


def trunc_normal_(tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0, generator=None):
    """Fill with N(mean, std**2) truncated to [a, b] (redrawing values outside)."""
    arr = _array(tensor)
    rng = _rng(generator)
    out = rng.normal(mean, std, arr.shape)
    bad = (out < a) | (out > b)
    while bad.any():
        out[bad] = rng.normal(mean, std, int(bad.sum()))
        bad = (out < a) | (out > b)
    return _fill(tensor, out)


def constant_(tensor, val: float):
    return _fill(tensor, val)


def zeros_(tensor):
    return _fill(tensor, 0)


def ones_(tensor):
    return _fill(tensor, 1)


def _no_elements(tensor) -> bool:
    if _array(tensor).size == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    """Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    """Glorot normal: N(0, std**2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None):
    """He uniform: U(-bound, bound) with bound = gain * sqrt(3 / fan), gain =
    calculate_gain(nonlinearity, a). Linear and Conv2d use a=sqrt(5), which gives
    bound = 1 / sqrt(fan_in)."""
    if _no_elements(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None):
    """He normal: N(0, std**2) with std = gain / sqrt(fan)."""
    if _no_elements(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)


def eye_(tensor):
    """Fill a 2-D tensor with the identity (ones on the diagonal, as many as fit): a Linear
    layer that starts by passing its inputs through."""
    arr = _array(tensor)
    if arr.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, np.eye(*arr.shape))


def dirac_(tensor, groups: int = 1):
    """Fill a 3/4/5-D conv weight (out, in, *kernel) with the Dirac delta: output channel i
    copies input channel i through the kernel's centre (per group with ``groups``), so the
    convolution starts as the identity on the channels it can keep."""
    arr = _array(tensor)
    if arr.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    if arr.shape[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    per_group = arr.shape[0] // groups
    out = np.zeros(arr.shape)
    centre = tuple(k // 2 for k in arr.shape[2:])
    for g in range(groups):
        for d in range(min(per_group, arr.shape[1])):
            out[(g * per_group + d, d, *centre)] = 1
    return _fill(tensor, out)


def _orthogonalize(flat: np.ndarray) -> np.ndarray:
    """Q of the QR decomposition of ``flat`` (rows x cols), made unique by the signs of R's
    diagonal (PyTorch's recipe); rows < cols is done on the transpose."""
    rows, cols = flat.shape
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    return q.T if rows < cols else q


def orthogonal_(tensor, gain: float = 1.0, generator=None):
    """Fill with a (semi-)orthogonal matrix times ``gain``: the tensor seen as
    (size(0), rest) has orthonormal rows or columns, whichever are fewer (Saxe et al. 2013).
    Orthogonal weights keep the norm of a signal through many layers (RNNs especially)."""
    arr = _array(tensor)
    if arr.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if arr.size == 0:
        return tensor
    rows = arr.shape[0]
    flat = _rng(generator).normal(0.0, 1.0, (rows, arr.size // rows))
    return _fill(tensor, (_orthogonalize(flat) * gain).reshape(arr.shape))


def sparse_(tensor, sparsity: float, std: float = 0.01, generator=None):
    """Fill a 2-D tensor with N(0, std**2) and zero a ``sparsity`` fraction of each column
    (ceil(sparsity * rows) entries, at random rows; Martens 2010)."""
    arr = _array(tensor)
    if arr.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = arr.shape
    num_zeros = int(math.ceil(sparsity * rows))
    rng = _rng(generator)
    out = rng.normal(0.0, std, arr.shape)
    for col in range(cols):
        out[rng.permutation(rows)[:num_zeros], col] = 0
    return _fill(tensor, out)


__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "zeros_", "ones_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "eye_", "dirac_",
           "orthogonal_", "sparse_"]


def _make_deprecate(meth):
    """PyTorch's old names without the underscore (``nn.init.uniform``...): they warn and
    call the in-place function."""
    new_name = meth.__name__
    old_name = new_name[:-1]

    def deprecated_init(*args, **kwargs):
        warnings.warn(f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.", FutureWarning,
                      stacklevel=2)
        return meth(*args, **kwargs)

    deprecated_init.__doc__ = f"{old_name}(...): deprecated, use :func:`{new_name}`."
    deprecated_init.__name__ = deprecated_init.__qualname__ = old_name
    return deprecated_init


uniform = _make_deprecate(uniform_)
normal = _make_deprecate(normal_)
constant = _make_deprecate(constant_)
eye = _make_deprecate(eye_)
dirac = _make_deprecate(dirac_)
xavier_uniform = _make_deprecate(xavier_uniform_)
xavier_normal = _make_deprecate(xavier_normal_)
kaiming_uniform = _make_deprecate(kaiming_uniform_)
kaiming_normal = _make_deprecate(kaiming_normal_)
orthogonal = _make_deprecate(orthogonal_)
sparse = _make_deprecate(sparse_)
