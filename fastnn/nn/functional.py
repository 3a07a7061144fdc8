"""Differentiable neural-network operations (``import fastnn.nn.functional as F``).

Each heavy op is a :class:`~fastnn.autograd.Function` whose forward and backward call
the *active backend's* kernels (``fastnn.backends.get()``, resolved once per forward
and remembered for the backward). Names, argument orders and defaults are PyTorch's.
Light ops (mse_loss, l1_loss...) are compositions of Tensor operations.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..backends import get as _backend
from ..backends.contract import check_finite, pair
from ..random import generator
from ..tensor import Tensor

_REDUCTIONS = ("none", "mean", "sum")


def _tensor(x, name="input") -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return Tensor(x)
    raise TypeError(f"{name} must be a fastnn.Tensor, got {type(x).__name__}")


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


# ------------------------------------------------------------------ linear

class _Linear(Function):
    """y = x W^T + b, on the backend's GEMM (x is (N, in), W is (out, in))."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        backend = _backend()
        ctx.backend = backend
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        y = backend.gemm(x, weight, trans_b=True)
        if bias is not None:
            y += bias
        return y

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        gemm = ctx.backend.gemm
        grad_x = gemm(grad, weight) if ctx.needs_input_grad[0] else None
        grad_w = gemm(grad, x, trans_a=True) if ctx.needs_input_grad[1] else None
        grad_b = grad.sum(axis=0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b


def linear(input, weight, bias=None) -> Tensor:
    """``input @ weight.T + bias`` for input (..., in_features)."""
    input, weight = _tensor(input), _tensor(weight, "weight")
    if weight.ndim != 2 or input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {input.shape} does not fit weight of shape {weight.shape} "
                         f"(expected input (..., {weight.shape[1] if weight.ndim == 2 else '?'}))")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"linear: bias of shape {bias.shape} does not fit weight of shape {weight.shape}")
    lead = input.shape[:-1]
    x2 = input if input.ndim == 2 else input.reshape(-1, input.shape[-1])
    y = _Linear.apply(x2, weight, bias)
    return y if input.ndim == 2 else y.reshape(*lead, weight.shape[0])


# ------------------------------------------------------------------ convolution

class _Conv2d(Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation):
        backend = _backend()
        ctx.backend, ctx.geometry = backend, (stride, padding, dilation)
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return backend.conv2d_forward(x, weight, bias, stride, padding, dilation)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grad_x, grad_w, grad_b = ctx.backend.conv2d_backward(
            grad, x, weight, *ctx.geometry, needs_input_grad=needs[0], needs_bias_grad=ctx.has_bias and needs[2])
        return grad_x, grad_w if needs[1] else None, grad_b


def _conv_padding(padding, kernel, dilation):
    if padding == "valid":
        return (0, 0)
    if padding == "same":
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        if any(t % 2 for t in total):
            raise ValueError(f"padding='same' needs an odd effective kernel size, got kernel {kernel} "
                             f"with dilation {dilation}")
        return tuple(t // 2 for t in total)
    return padding


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-D convolution (cross-correlation) of NCHW ``input`` with ``weight`` (F, C, KH, KW)."""
    input, weight = _tensor(input), _tensor(weight, "weight")
    if groups != 1:
        raise NotImplementedError("conv2d: groups != 1 is not supported yet")
    if input.ndim == 3:             # unbatched (C, H, W), as PyTorch allows
        return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation).squeeze(0)
    dilation = pair("dilation", dilation, 1)
    if isinstance(padding, str):
        if padding == "same" and pair("stride", stride, 1) != (1, 1):
            raise ValueError("padding='same' is only supported with stride 1")
        padding = _conv_padding(padding, weight.shape[2:], dilation)
    return _Conv2d.apply(input, weight, bias, stride=stride, padding=padding, dilation=dilation)


# ------------------------------------------------------------------ pooling

class _MaxPool2d(Function):
    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding):
        backend = _backend()
        out, argmax = backend.maxpool2d_forward(x, kernel_size, stride, padding)
        ctx.backend, ctx.x_shape = backend, x.shape
        ctx.save_for_backward(argmax)
        return out

    @staticmethod
    def backward(ctx, grad):
        (argmax,) = ctx.saved_tensors
        return ctx.backend.maxpool2d_backward(grad, argmax, ctx.x_shape)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False) -> Tensor:
    """Max over each window; ``stride`` defaults to ``kernel_size``."""
    input = _tensor(input)
    if pair("dilation", dilation, 1) != (1, 1) or ceil_mode or return_indices:
        raise NotImplementedError("max_pool2d: dilation, ceil_mode and return_indices are not supported yet")
    if input.ndim == 3:
        return max_pool2d(input.unsqueeze(0), kernel_size, stride, padding).squeeze(0)
    return _MaxPool2d.apply(input, kernel_size=kernel_size, stride=stride, padding=padding)


class _AvgPool2d(Function):
    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, count_include_pad):
        backend = _backend()
        ctx.backend, ctx.args = backend, (x.shape, kernel_size, stride, padding, count_include_pad)
        return backend.avgpool2d_forward(x, kernel_size, stride, padding, count_include_pad)

    @staticmethod
    def backward(ctx, grad):
        return ctx.backend.avgpool2d_backward(grad, *ctx.args)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None) -> Tensor:
    input = _tensor(input)
    if ceil_mode or divisor_override is not None:
        raise NotImplementedError("avg_pool2d: ceil_mode and divisor_override are not supported yet")
    if input.ndim == 3:
        return avg_pool2d(input.unsqueeze(0), kernel_size, stride, padding, count_include_pad=count_include_pad).squeeze(0)
    return _AvgPool2d.apply(input, kernel_size=kernel_size, stride=stride, padding=padding,
                            count_include_pad=count_include_pad)


def adaptive_avg_pool2d(input, output_size) -> Tensor:
    """Average to ``output_size``; supported when the input divides evenly (always for 1x1)."""
    input = _tensor(input)
    oh, ow = pair("output_size", output_size, 1)
    h, w = input.shape[-2:]
    if (oh, ow) == (1, 1):
        return input.mean(axis=(-2, -1), keepdims=True)
    if h % oh or w % ow:
        raise NotImplementedError(f"adaptive_avg_pool2d: input {h}x{w} is not a multiple of output {oh}x{ow}")
    return avg_pool2d(input, (h // oh, w // ow))


# ------------------------------------------------------------------ activations

class _Activation(Function):
    """Elementwise activation on the backend; backward from the saved output where the
    math allows (relu, elu, sigmoid, tanh), from the saved input for leaky_relu."""

    name = ""
    saves_input = False

    @classmethod
    def forward(cls, ctx, x, *params):
        backend = _backend()
        y = getattr(backend, cls.name + "_forward")(x, *params)
        ctx.backend, ctx.params = backend, params
        ctx.save_for_backward(x if cls.saves_input else y)
        return y.reshape(x.shape)

    @classmethod
    def backward(cls, ctx, grad):
        (saved,) = ctx.saved_tensors
        return getattr(ctx.backend, cls.name + "_backward")(grad, saved, *ctx.params)


class _ReLU(_Activation):
    name = "relu"


class _LeakyReLU(_Activation):
    name, saves_input = "leaky_relu", True


class _ELU(_Activation):
    name = "elu"


class _Sigmoid(_Activation):
    name = "sigmoid"


class _Tanh(_Activation):
    name = "tanh"


def relu(input, inplace=False) -> Tensor:
    return _ReLU.apply(_tensor(input))


def leaky_relu(input, negative_slope=0.01, inplace=False) -> Tensor:
    return _LeakyReLU.apply(_tensor(input), negative_slope)


def elu(input, alpha=1.0, inplace=False) -> Tensor:
    if alpha < 0:
        raise ValueError(f"elu: alpha must be >= 0, got {alpha}")
    return _ELU.apply(_tensor(input), alpha)


def sigmoid(input) -> Tensor:
    return _Sigmoid.apply(_tensor(input))


def tanh(input) -> Tensor:
    return _Tanh.apply(_tensor(input))


def _rows(x: np.ndarray, dim: int):
    """Move ``dim`` last and flatten the rest: the (rows, classes) view the kernels take."""
    moved = np.moveaxis(x, dim, -1)
    return np.ascontiguousarray(moved).reshape(-1, moved.shape[-1]), moved.shape


def _unrows(y2: np.ndarray, moved_shape, dim: int):
    return np.moveaxis(y2.reshape(moved_shape), -1, dim)


class _LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        backend = _backend()
        x2, moved = _rows(x, dim)
        y2 = backend.log_softmax_forward(x2)
        ctx.backend, ctx.dim, ctx.moved = backend, dim, moved
        ctx.save_for_backward(y2)
        return _unrows(y2, moved, dim)

    @staticmethod
    def backward(ctx, grad):
        (y2,) = ctx.saved_tensors
        g2, _ = _rows(grad, ctx.dim)
        return _unrows(ctx.backend.log_softmax_backward(g2, y2), ctx.moved, ctx.dim)


class _Softmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        x2, moved = _rows(x, dim)
        p2 = np.exp(_backend().log_softmax_forward(x2))
        ctx.dim = dim
        ctx.save_for_backward(p2)
        ctx.moved = moved
        return _unrows(p2, moved, dim)

    @staticmethod
    def backward(ctx, grad):
        (p2,) = ctx.saved_tensors
        g2, _ = _rows(grad, ctx.dim)
        return _unrows(p2 * (g2 - (g2 * p2).sum(axis=1, keepdims=True)), ctx.moved, ctx.dim)


def _check_dim(input, dim, fn):
    if dim is None:
        raise TypeError(f"{fn}() needs dim= (the axis that sums to one), as in PyTorch")
    if not -input.ndim <= dim < max(input.ndim, 1):
        raise IndexError(f"{fn}: dim {dim} out of range for input of shape {input.shape}")
    return dim % input.ndim


def softmax(input, dim=None) -> Tensor:
    input = _tensor(input)
    return _Softmax.apply(input, dim=_check_dim(input, dim, "softmax"))


def log_softmax(input, dim=None) -> Tensor:
    input = _tensor(input)
    return _LogSoftmax.apply(input, dim=_check_dim(input, dim, "log_softmax"))


# ------------------------------------------------------------------ losses

class _SoftmaxCrossEntropy(Function):
    """Fused log-softmax + negative log-likelihood, per sample; rows whose target is
    ``ignore_index`` get zero loss and zero gradient."""

    @staticmethod
    def forward(ctx, logits, target, label_smoothing, valid):
        backend = _backend()
        losses, probs = backend.softmax_cross_entropy_forward(logits, target, label_smoothing)
        if valid is not None:
            losses *= valid
        ctx.backend, ctx.args = backend, (target, label_smoothing, valid)
        ctx.save_for_backward(probs)
        return losses

    @staticmethod
    def backward(ctx, grad):
        (probs,) = ctx.saved_tensors
        target, smoothing, valid = ctx.args
        if valid is not None:
            grad = grad * valid
        return ctx.backend.softmax_cross_entropy_backward(grad, probs, target, smoothing)


def _class_targets(input: Tensor, target, fn: str):
    """Bring (N, C, d1, ...) inputs to (N*d1*..., C) rows and check the targets."""
    target = _tensor(target, "target") if not isinstance(target, np.ndarray) else Tensor(target)
    if target.dtype.kind not in "iu":
        raise TypeError(f"{fn}: target must hold int64 class indices, got dtype {target.dtype} "
                        f"(probability targets are not supported)")
    if input.ndim == 1:
        input, target = input.unsqueeze(0), target.reshape(1)
    if input.ndim > 2:
        c = input.shape[1]
        input = input.permute(0, *range(2, input.ndim), 1).reshape(-1, c)
    expected = input.shape[0]
    if target.ndim == 0 or target.data.size != expected:
        raise ValueError(f"{fn}: target of shape {target.shape} does not match input of shape {input.shape}")
    return input, target.data.reshape(-1).astype(np.int64, copy=False)


def _weights_and_mask(target, weight, ignore_index, num_classes, dtype):
    valid = target != ignore_index
    safe = np.where(valid, target, 0)
    w = None
    if weight is not None:
        weight = np.asarray(weight.data if isinstance(weight, Tensor) else weight, dtype=dtype)
        if weight.shape != (num_classes,):
            raise ValueError(f"weight must have shape ({num_classes},), got {weight.shape}")
        w = weight[safe] * valid
    return safe, valid, w


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0) -> Tensor:
    """Softmax cross-entropy of logits (N, C) against int64 class indices (N,)."""
    input = _tensor(input)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    logits, target = _class_targets(input, target, "cross_entropy")
    if weight is not None and label_smoothing:
        raise NotImplementedError("cross_entropy: weight together with label_smoothing is not supported yet")
    safe, valid, w = _weights_and_mask(target, weight, ignore_index, logits.shape[1], logits.dtype)
    scale = w if w is not None else (None if valid.all() else valid.astype(logits.dtype))
    losses = _SoftmaxCrossEntropy.apply(logits, safe, label_smoothing, scale)
    if reduction == "mean":
        denominator = scale.sum() if scale is not None else losses.shape[0]
        return losses.sum() / logits.dtype.type(denominator)
    if reduction == "none" and input.ndim > 2:
        losses = losses.reshape(input.shape[0], *input.shape[2:])
    return _reduce(losses, reduction)


class _PickClass(Function):
    """out[i] = -x[i, target[i]] * scale[i]: the negative log-likelihood of log-probabilities."""

    @staticmethod
    def forward(ctx, x, target, scale):
        ctx.shape, ctx.args = x.shape, (target, scale)
        picked = -x[np.arange(x.shape[0]), target]
        return picked * scale if scale is not None else picked

    @staticmethod
    def backward(ctx, grad):
        target, scale = ctx.args
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        out[np.arange(ctx.shape[0]), target] = -(grad * scale if scale is not None else grad)
        return out


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean") -> Tensor:
    """Negative log-likelihood of log-probabilities (N, C) (e.g. the output of log_softmax)."""
    input = _tensor(input)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    logp, target = _class_targets(input, target, "nll_loss")
    check_finite("input", logp.data)
    if target.size and (((target < 0) | (target >= logp.shape[1])) & (target != ignore_index)).any():
        bad = target[((target < 0) | (target >= logp.shape[1])) & (target != ignore_index)][0]
        raise IndexError(f"nll_loss: target holds class index {bad}, outside [0, {logp.shape[1]})")
    safe, valid, w = _weights_and_mask(target, weight, ignore_index, logp.shape[1], logp.dtype)
    scale = w if w is not None else (None if valid.all() else valid.astype(logp.dtype))
    losses = _PickClass.apply(logp, safe, scale)
    if reduction == "mean":
        denominator = scale.sum() if scale is not None else losses.shape[0]
        return losses.sum() / logp.dtype.type(denominator)
    if reduction == "none" and input.ndim > 2:
        losses = losses.reshape(input.shape[0], *input.shape[2:])
    return _reduce(losses, reduction)


def _pair_of_same_shape(input, target, fn):
    input = _tensor(input)
    target = target if isinstance(target, Tensor) else Tensor(np.asarray(target, dtype=input.dtype))
    if input.shape != target.shape:
        raise ValueError(f"{fn}: input has shape {input.shape} but target has shape {target.shape}; they must match")
    check_finite("input", input.data)
    check_finite("target", target.data)
    return input, target


def mse_loss(input, target, reduction="mean") -> Tensor:
    input, target = _pair_of_same_shape(input, target, "mse_loss")
    diff = input - target
    return _reduce(diff * diff, reduction)


def l1_loss(input, target, reduction="mean") -> Tensor:
    input, target = _pair_of_same_shape(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction)


class _BinaryCrossEntropy(Function):
    """-(t log p + (1-t) log(1-p)), logs clamped at -100 as in PyTorch."""

    @staticmethod
    def forward(ctx, p, t):
        ctx.save_for_backward(p, t)
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), -100)
            log_1mp = np.maximum(np.log1p(-p), -100)
        return -(t * log_p + (1 - t) * log_1mp)

    @staticmethod
    def backward(ctx, grad):
        p, t = ctx.saved_tensors
        eps = p.dtype.type(1e-12)
        grad_p = grad * (p - t) / np.maximum(p * (1 - p), eps)
        grad_t = grad * (np.log1p(-p) - np.log(np.maximum(p, eps))) if ctx.needs_input_grad[1] else None
        return grad_p, grad_t


def binary_cross_entropy(input, target, weight=None, reduction="mean") -> Tensor:
    """BCE of probabilities in [0, 1]."""
    input, target = _pair_of_same_shape(input, target, "binary_cross_entropy")
    if (input.data < 0).any() or (input.data > 1).any():
        raise ValueError("binary_cross_entropy: input must hold probabilities in [0, 1] "
                         "(use binary_cross_entropy_with_logits for logits)")
    losses = _BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        losses = losses * weight
    return _reduce(losses, reduction)


class _BCEWithLogits(Function):
    """Stable BCE on logits: (1-t) x + lw * softplus(-x), lw = 1 + (pos_weight-1) t."""

    @staticmethod
    def forward(ctx, x, t, pos_weight):
        pw_minus_1 = 0 if pos_weight is None else pos_weight - 1
        softplus_neg = np.logaddexp(0, -x).astype(x.dtype, copy=False)      # log(1 + exp(-x)), stable
        ctx.save_for_backward(x, t, softplus_neg)
        ctx.pw_minus_1 = pw_minus_1
        return (1 - t) * x + (1 + pw_minus_1 * t) * softplus_neg

    @staticmethod
    def backward(ctx, grad):
        x, t, softplus_neg = ctx.saved_tensors
        sigmoid_neg = np.exp(-np.logaddexp(0, x)).astype(x.dtype, copy=False)
        grad_x = grad * ((1 - t) - (1 + ctx.pw_minus_1 * t) * sigmoid_neg)
        grad_t = grad * (ctx.pw_minus_1 * softplus_neg - x) if ctx.needs_input_grad[1] else None
        return grad_x, grad_t, None


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None) -> Tensor:
    """BCE of logits, computed stably (never exp of a large number)."""
    input, target = _pair_of_same_shape(input, target, "binary_cross_entropy_with_logits")
    pw = None
    if pos_weight is not None:
        pw = np.asarray(pos_weight.data if isinstance(pos_weight, Tensor) else pos_weight, dtype=input.dtype)
    losses = _BCEWithLogits.apply(input, target, pw)
    if weight is not None:
        losses = losses * weight
    return _reduce(losses, reduction)


# ------------------------------------------------------------------ regularisation and normalisation

def dropout(input, p=0.5, training=True, inplace=False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (inverted dropout),
    so evaluation needs no rescaling."""
    input = _tensor(input)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    keep = generator().random(input.shape, dtype=np.float32) >= p
    return input * (keep * input.dtype.type(1.0 / (1.0 - p)))


class _BatchNorm(Function):
    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        backend = _backend()
        # L spelled out, not -1: an empty batch must reach the contract's "x is empty" check
        x3 = x.reshape(x.shape[0], x.shape[1], int(np.prod(x.shape[2:])))
        y, mean, invstd = backend.batchnorm_forward(x3, weight, bias, running_mean, running_var,
                                                    training, momentum, eps)
        ctx.backend, ctx.training = backend, training
        ctx.save_for_backward(x3, weight, mean, invstd)
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad):
        x3, weight, mean, invstd = ctx.saved_tensors
        grad_x, grad_w, grad_b = ctx.backend.batchnorm_backward(grad.reshape(x3.shape), x3, weight, mean,
                                                                invstd, ctx.training)
        needs = ctx.needs_input_grad
        return (grad_x.reshape(grad.shape) if needs[0] else None, grad_w if needs[1] else None,
                grad_b if needs[2] else None)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5) -> Tensor:
    """Batch normalisation over every axis but the channel axis (1) of (N, C, ...) input.
    In training the running statistics (Tensors or None) are updated in place."""
    input = _tensor(input)
    if input.ndim < 2:
        raise ValueError(f"batch_norm: input must be (N, C, ...), got shape {input.shape}")
    rm = running_mean.data if isinstance(running_mean, Tensor) else running_mean
    rv = running_var.data if isinstance(running_var, Tensor) else running_var
    return _BatchNorm.apply(input, weight, bias, rm, rv, training=bool(training), momentum=float(momentum),
                            eps=eps)


__all__ = ["linear", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "relu", "leaky_relu", "elu",
           "sigmoid", "tanh", "softmax", "log_softmax", "cross_entropy", "nll_loss", "mse_loss", "l1_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "dropout", "batch_norm"]
