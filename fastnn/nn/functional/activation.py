"""Activations. The kernel-backed ones (relu, leaky_relu, elu, sigmoid, tanh, softmax,
log_softmax) are core operations in :mod:`fastnn.ops.activation`, shared with the Tensor
methods; this module adds PyTorch's argument handling on top."""
from __future__ import annotations

import math

import numpy as np

from ...autograd import ArrayFunction
from ...ops import activation as _ops
from ...ops.activation import Elu, LeakyRelu, Relu, Sigmoid, Tanh
from ...tensor import Tensor
from ._common import _tensor


def relu(input, inplace=False) -> Tensor:
    return Relu.apply(_tensor(input))


def leaky_relu(input, negative_slope=0.01, inplace=False) -> Tensor:
    return LeakyRelu.apply(_tensor(input), negative_slope)


def elu(input, alpha=1.0, inplace=False) -> Tensor:
    if alpha < 0:
        raise ValueError(f"elu: alpha must be >= 0, got {alpha}")
    return Elu.apply(_tensor(input), alpha)


def sigmoid(input) -> Tensor:
    return Sigmoid.apply(_tensor(input))


def tanh(input) -> Tensor:
    return Tanh.apply(_tensor(input))


def softmax(input, dim=None, _stacklevel=3, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (required: PyTorch's implicit dim is deprecated);
    ``dtype`` casts the input first."""
    return _ops.softmax(_cast(_tensor(input), dtype), dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None) -> Tensor:
    """log(softmax(x)) along ``dim``, computed stably; ``dtype`` casts the input first."""
    return _ops.log_softmax(_cast(_tensor(input), dtype), dim)


def softmin(input, dim=None, _stacklevel=3, dtype=None) -> Tensor:
    """softmax(-input) along ``dim``: the smallest entries get the most weight."""
    input = _cast(_tensor(input), dtype)
    return _ops.softmax(-input, dim)


# ------------------------------------------------------------------ element-wise, on NumPy
#
# Activations outside the kernel contract are computed with NumPy: each is a row of two
# functions, f(x) and its derivative f'(x), and backward is ``grad * f'(x)`` from the saved
# input. Class names are PyTorch's graph nodes' (``GeluBackward0`` there, ``GeluBackward`` here).

class _Pointwise(ArrayFunction):
    @staticmethod
    def f(x, *params):
        raise NotImplementedError

    @staticmethod
    def df(x, *params):
        raise NotImplementedError

    @classmethod
    def forward(cls, ctx, x, *params):
        ctx.save_for_backward(x)
        ctx.params = params
        return np.asarray(cls.f(x, *params), dtype=x.dtype)

    @classmethod
    def backward(cls, ctx, grad):
        (x,) = ctx.saved_tensors
        return (grad * cls.df(x, *ctx.params)).astype(grad.dtype, copy=False)


def _sigmoid(x):
    """1 / (1 + exp(-x)), without overflow for any x."""
    return np.exp(-np.logaddexp(0, -x))


def _erf(x):
    try:
        from scipy.special import erf
    except ImportError:         # the standard library's, element by element
        return np.vectorize(math.erf, otypes=[x.dtype])(x)
    return erf(x)


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


class Gelu(_Pointwise):
    """x * Phi(x) (Phi the standard normal CDF), or with approximate='tanh'
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""

    @staticmethod
    def f(x, approximate):
        if approximate == "tanh":
            return 0.5 * x * (1 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)))
        return 0.5 * x * (1 + _erf(x / math.sqrt(2)))

    @staticmethod
    def df(x, approximate):
        if approximate == "tanh":
            t = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x ** 3))
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        return 0.5 * (1 + _erf(x / math.sqrt(2))) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


class Silu(_Pointwise):
    """x * sigmoid(x) (also called swish)."""
    f = staticmethod(lambda x: x * _sigmoid(x))

    @staticmethod
    def df(x):
        s = _sigmoid(x)
        return s * (1 + x * (1 - s))


class Softplus(_Pointwise):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold."""

    @staticmethod
    def f(x, beta, threshold):
        return np.where(x * beta > threshold, x, np.logaddexp(0, x * beta) / beta)

    @staticmethod
    def df(x, beta, threshold):
        return np.where(x * beta > threshold, 1, _sigmoid(x * beta))


class Mish(_Pointwise):
    """x * tanh(softplus(x))."""
    f = staticmethod(lambda x: x * np.tanh(np.logaddexp(0, x)))

    @staticmethod
    def df(x):
        t = np.tanh(np.logaddexp(0, x))
        return t + x * (1 - t * t) * _sigmoid(x)


class Hardtanh(_Pointwise):
    """x clipped to [min_val, max_val]; gradient 1 strictly inside, else 0."""
    f = staticmethod(lambda x, lo, hi: np.clip(x, lo, hi))
    df = staticmethod(lambda x, lo, hi: (x > lo) & (x < hi))


class ScaledElu(_Pointwise):
    """scale * (x if x > 0 else alpha * (exp(x / input_scale) - 1)): PyTorch's one node for
    selu (alpha, scale fixed) and celu (input_scale = 1/alpha)."""

    @staticmethod
    def f(x, alpha, scale, input_scale):
        return scale * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0) * input_scale))

    @staticmethod
    def df(x, alpha, scale, input_scale):
        return scale * np.where(x > 0, 1, alpha * input_scale * np.exp(np.minimum(x, 0) * input_scale))


class Softsign(_Pointwise):
    """x / (1 + |x|)."""
    f = staticmethod(lambda x: x / (1 + np.abs(x)))
    df = staticmethod(lambda x: 1 / (1 + np.abs(x)) ** 2)


class Hardswish(_Pointwise):
    """x * relu6(x + 3) / 6."""
    f = staticmethod(lambda x: x * np.clip(x + 3, 0, 6) / 6)
    df = staticmethod(lambda x: np.where(x < -3, 0, np.where(x <= 3, x / 3 + 0.5, 1)))


class Hardsigmoid(_Pointwise):
    """relu6(x + 3) / 6."""
    f = staticmethod(lambda x: np.clip(x + 3, 0, 6) / 6)
    df = staticmethod(lambda x: ((x > -3) & (x < 3)) / 6)


class LogSigmoid(_Pointwise):
    """log(sigmoid(x)) = -softplus(-x), computed stably."""
    f = staticmethod(lambda x: -np.logaddexp(0, -x))
    df = staticmethod(lambda x: _sigmoid(-x))


class Hardshrink(_Pointwise):
    """x where |x| > lambd, else 0."""
    f = staticmethod(lambda x, lambd: np.where((x >= -lambd) & (x <= lambd), 0, x))
    df = staticmethod(lambda x, lambd: ~((x >= -lambd) & (x <= lambd)))


class Softshrink(_Pointwise):
    """x - lambd where x > lambd, x + lambd where x < -lambd, else 0."""
    f = staticmethod(lambda x, lambd: np.where(x > lambd, x - lambd, np.where(x < -lambd, x + lambd, 0)))
    df = staticmethod(lambda x, lambd: (x > lambd) | (x < -lambd))


class Tanhshrink(_Pointwise):
    """x - tanh(x)."""
    f = staticmethod(lambda x: x - np.tanh(x))
    df = staticmethod(lambda x: np.tanh(x) ** 2)


class Threshold(_Pointwise):
    """x where x > threshold, else value."""
    f = staticmethod(lambda x, threshold, value: np.where(x > threshold, x, value))
    df = staticmethod(lambda x, threshold, value: x > threshold)


def gelu(input, approximate="none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate argument must be either none or tanh, got {approximate!r}")
    return Gelu.apply(_tensor(input), approximate)


def silu(input, inplace=False) -> Tensor:
    return Silu.apply(_tensor(input))


def softplus(input, beta=1.0, threshold=20.0) -> Tensor:
    return Softplus.apply(_tensor(input), beta, threshold)


def mish(input, inplace=False) -> Tensor:
    return Mish.apply(_tensor(input))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False) -> Tensor:
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, got min_val={min_val}, "
                         f"max_val={max_val}")
    return Hardtanh.apply(_tensor(input), min_val, max_val)


def relu6(input, inplace=False) -> Tensor:
    """min(max(0, x), 6)."""
    return hardtanh(input, 0.0, 6.0)


def selu(input, inplace=False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants alpha ~ 1.6733, scale ~ 1.0507."""
    return ScaledElu.apply(_tensor(input), _SELU_ALPHA, _SELU_SCALE, 1.0)


def celu(input, alpha=1.0, inplace=False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    if alpha == 0:
        raise ValueError("celu: alpha cannot be 0")
    return ScaledElu.apply(_tensor(input), alpha, 1.0, 1.0 / alpha)


def softsign(input) -> Tensor:
    return Softsign.apply(_tensor(input))


def hardswish(input, inplace=False) -> Tensor:
    return Hardswish.apply(_tensor(input))


def hardsigmoid(input, inplace=False) -> Tensor:
    return Hardsigmoid.apply(_tensor(input))


def logsigmoid(input) -> Tensor:
    return LogSigmoid.apply(_tensor(input))


def hardshrink(input, lambd=0.5) -> Tensor:
    return Hardshrink.apply(_tensor(input), lambd)


def softshrink(input, lambd=0.5) -> Tensor:
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be >= 0, got {lambd}")
    return Softshrink.apply(_tensor(input), lambd)


def tanhshrink(input) -> Tensor:
    return Tanhshrink.apply(_tensor(input))


def threshold(input, threshold, value, inplace=False) -> Tensor:
    return Threshold.apply(_tensor(input), threshold, value)


# ------------------------------------------------------------------ with more than one input

class Glu(ArrayFunction):
    """a * sigmoid(b), a and b the two halves of the input along ``dim``."""

    @staticmethod
    def forward(ctx, x, dim):
        a, b = np.split(x, 2, axis=dim)
        s = _sigmoid(b)
        ctx.save_for_backward(a, s)
        ctx.dim = dim
        return (a * s).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        a, s = ctx.saved_tensors
        return np.concatenate([grad * s, grad * a * s * (1 - s)], axis=ctx.dim).astype(grad.dtype, copy=False)


def glu(input, dim=-1) -> Tensor:
    input = _tensor(input)
    if input.ndim == 0:
        raise ValueError("glu does not support scalars because halving size must be even")
    if not -input.ndim <= dim < input.ndim:
        raise IndexError(f"glu: dim {dim} out of range for input of shape {tuple(input.shape)}")
    dim %= input.ndim
    if input.shape[dim] % 2:
        raise ValueError(f"glu: halving dimension must be even, but dimension {dim} is size {input.shape[dim]}")
    return Glu.apply(input, dim)


class Prelu(ArrayFunction):
    """x where x > 0, else weight * x, with one learnt slope per channel (axis 1) or one in all;
    the slope's gradient sums x * grad over every position where x <= 0."""

    @staticmethod
    def forward(ctx, x, weight, shape):
        w = weight.reshape(shape)
        ctx.save_for_backward(x, w)
        ctx.weight_shape = weight.shape
        return np.where(x > 0, x, w * x)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        positive = x > 0
        grad_x = np.where(positive, grad, w * grad) if ctx.needs_input_grad[0] else None
        grad_w = None
        if ctx.needs_input_grad[1]:
            terms = np.where(positive, 0, x * grad)
            grad_w = terms.sum(axis=tuple(i for i, n in enumerate(w.shape) if n == 1)).reshape(ctx.weight_shape)
        return grad_x, grad_w


def prelu(input, weight) -> Tensor:
    """x where x > 0, else ``weight * x``: ``weight`` holds one slope, or one per channel
    (``input.shape[1]``; an input of fewer than 2 dimensions has one channel)."""
    input, weight = _tensor(input), _tensor(weight, "weight")
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.data.size not in (1, channels) or weight.ndim > 1:
        raise ValueError(f"prelu: mismatch of parameter numbers and input channel size. Found parameter "
                         f"numbers = {weight.data.size} and channel size = {channels}.")
    if weight.data.size == 1:
        shape = (1,) * input.ndim
    else:
        shape = (1, channels) + (1,) * (input.ndim - 2)
    return Prelu.apply(input, weight, shape)


def _cast(input: Tensor, dtype) -> Tensor:
    """PyTorch's ``dtype=`` of softmax-like functions: the input is cast before the operation."""
    return input if dtype is None or np.dtype(dtype) == input.dtype else input.to(np.dtype(dtype))
