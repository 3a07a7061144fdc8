"""Differentiable neural-network operations (``import fastnn.nn.functional as F``).

Each heavy op is a :class:`~fastnn.autograd.ArrayFunction` whose forward and backward call
the *active backend's* kernels (``fastnn.backends.get()``, resolved once per forward
and remembered for the backward). Names, argument orders and defaults are PyTorch's.
Light ops (mse_loss, l1_loss...) are compositions of Tensor operations.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..autograd import Context, ArrayFunction
from ..backends import get as _backend
from ..backends.contract import check_finite, check_smoothing, pair
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

class _Linear(ArrayFunction):
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

class _Conv2d(ArrayFunction):
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


class _GroupedConv2d(ArrayFunction):
    """Grouped convolution: channels and filters are split into ``groups`` equal blocks and
    filter block g sees only channel block g (``groups == C`` is a depthwise convolution).
    That is ``groups`` independent convolutions, so each runs as a :class:`_Conv2d` (the
    backend's kernels, with a context of its own) and the results are joined along the
    channel axes: outputs and grad_x along C, grad_weight and grad_bias along F."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
        biases = np.split(bias, groups) if bias is not None else [None] * groups
        ctx.parts = [Context(ctx.needs_input_grad) for _ in range(groups)]
        return np.concatenate([_Conv2d.forward(part, xg, wg, bg, stride, padding, dilation)
                               for part, xg, wg, bg in zip(ctx.parts, np.split(x, groups, axis=1),
                                                           np.split(weight, groups), biases)], axis=1)

    @staticmethod
    def backward(ctx, grad):
        grads = [_Conv2d.backward(part, g) for part, g in zip(ctx.parts, np.split(grad, len(ctx.parts), axis=1))]
        grad_x, grad_w, grad_b = zip(*grads)
        return (None if grad_x[0] is None else np.concatenate(grad_x, axis=1),
                None if grad_w[0] is None else np.concatenate(grad_w),
                None if grad_b[0] is None else np.concatenate(grad_b))


def _check_groups(input, weight, bias, groups):
    """Check that ``groups`` splits the input channels and the filters evenly and that the
    weight holds ``C / groups`` channels per filter, naming the shapes when it does not."""
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"conv2d: groups must be a positive int, got {groups!r}")
    if input.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"conv2d: expected input (N, C, H, W) and weight (F, C/groups, KH, KW), got input of "
                         f"shape {input.shape} and weight of shape {weight.shape}")
    channels, filters = input.shape[1], weight.shape[0]
    if channels % groups or filters % groups:
        raise ValueError(f"conv2d: groups={groups} must divide both the {channels} input channels (input of shape "
                         f"{input.shape}) and the {filters} filters (weight of shape {weight.shape})")
    if weight.shape[1] * groups != channels:
        raise ValueError(f"conv2d: with groups={groups}, weight of shape {weight.shape} expects "
                         f"{weight.shape[1] * groups} input channels ({weight.shape[1]} per group), but the input "
                         f"of shape {input.shape} has {channels}")
    if bias is not None and tuple(bias.shape) != (filters,):
        raise ValueError(f"conv2d: bias of shape {bias.shape} does not fit weight of shape {weight.shape} "
                         f"(expected ({filters},))")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-D convolution (cross-correlation) of NCHW ``input`` with ``weight`` (F, C/groups, KH, KW)."""
    input, weight = _tensor(input), _tensor(weight, "weight")
    if input.ndim == 3:             # unbatched (C, H, W), as PyTorch allows
        return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    dilation = pair("dilation", dilation, 1)
    if isinstance(padding, str):
        if padding == "same" and pair("stride", stride, 1) != (1, 1):
            raise ValueError("padding='same' is only supported with stride 1")
        padding = _conv_padding(padding, weight.shape[2:], dilation)
    if groups == 1:
        return _Conv2d.apply(input, weight, bias, stride=stride, padding=padding, dilation=dilation)
    _check_groups(input, weight, bias, groups)
    return _GroupedConv2d.apply(input, weight, bias, stride=stride, padding=padding, dilation=dilation,
                                groups=int(groups))


# ------------------------------------------------------------------ pooling

def _check_image(input, fn):
    if input.ndim not in (3, 4):
        raise ValueError(f"{fn}: expected input (N, C, H, W) or unbatched (C, H, W), got shape {input.shape}")


def _unbatched(fn, input, *args):
    """``fn`` on an unbatched (C, H, W) input, as PyTorch allows: add the batch axis, then
    drop it again from the output (from each output, when ``fn`` returns indices too)."""
    out = fn(input.unsqueeze(0), *args)
    return tuple(o.squeeze(0) for o in out) if isinstance(out, tuple) else out.squeeze(0)


def _pool_geometry(kernel_size, stride, padding):
    """(kernel, stride, padding) as pairs; a ``stride`` of None (or empty) is ``kernel_size``."""
    k = pair("kernel_size", kernel_size, 1)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else pair("stride", stride, 1)
    return k, s, pair("padding", padding, 0)


def _ceil_mode_extra(x_shape, k, s, p) -> tuple[int, int]:
    """Rows and columns to append at the bottom and right of the input for ``ceil_mode``.

    The backend kernels size their output by floor, ``(size + 2p - k) // s + 1``. Ceil mode
    keeps one more, partial window where input is left over, unless that window would start
    in the right padding (PyTorch's rule: the last window starts inside the input or the
    left padding). Appending just enough rows/columns for that window to fit makes the
    kernels compute it; what is appended (-inf for max, 0 for avg) never shows in a result."""
    extra = []
    for size, kk, ss, pp, axis in zip(x_shape[-2:], k, s, p, "HW"):
        out = (size + 2 * pp - kk + ss - 1) // ss + 1
        if (out - 1) * ss >= size + pp:
            out -= 1
        if out < 1:
            raise ValueError(f"pooling: kernel_size {kk} along {axis} is larger than the padded input "
                             f"({size} + 2*{pp}) and leaves no output, even with ceil_mode and stride {ss}")
        extra.append(max(0, (out - 1) * ss + kk - (size + 2 * pp)))
    return tuple(extra)


def _extend(x: np.ndarray, extra, value) -> np.ndarray:
    """``x`` (N, C, H, W) with ``extra = (rows, cols)`` of ``value`` appended at the bottom and right."""
    if extra == (0, 0):
        return x
    return np.pad(x, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])), constant_values=value)


class _MaxPool2d(ArrayFunction):
    """Max pooling's graph node, given the maxima ``out`` and where each one is, ``indices``
    (the flat index ``h*W + w`` into its input plane: PyTorch's convention). Both are found
    before ``apply`` (by the backend's kernel, or over adaptive windows) because
    ``return_indices=True`` hands the indices to the caller as well. Backward routes each
    gradient to its window's winner with the backend's kernel, which sums where one pixel
    wins several windows."""

    @staticmethod
    def forward(ctx, x, out, indices, backend):
        ctx.backend, ctx.x_shape = backend, x.shape
        ctx.save_for_backward(indices)
        return out

    @staticmethod
    def backward(ctx, grad):
        (indices,) = ctx.saved_tensors
        return ctx.backend.maxpool2d_backward(grad, indices, ctx.x_shape)


def _max_pool_output(input, out, indices, backend, return_indices):
    output = _MaxPool2d.apply(input, out, indices, backend)
    return (output, Tensor(indices)) if return_indices else output


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over each window (padding never wins); ``stride`` defaults to ``kernel_size``.

    With ``return_indices=True`` returns ``(output, indices)``, ``indices`` int64 holding the
    position of each maximum as a flat index into its (H, W) input plane, as PyTorch."""
    input = _tensor(input)
    _check_image(input, "max_pool2d")
    if pair("dilation", dilation, 1) != (1, 1):
        raise NotImplementedError("max_pool2d: dilation != 1 is not supported yet")
    if input.ndim == 3:
        return _unbatched(max_pool2d, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    k, s, p = _pool_geometry(kernel_size, stride, padding)
    extra = _ceil_mode_extra(input.shape, k, s, p) if ceil_mode else (0, 0)
    backend = _backend()
    out, indices = backend.maxpool2d_forward(_extend(input.data, extra, -np.inf), k, s, p)
    if extra[1]:                # flat indices into the widened plane -> into the input plane
        width, wider = input.shape[3], input.shape[3] + extra[1]
        indices = indices // wider * width + indices % wider
    return _max_pool_output(input, out, indices, backend, return_indices)


class _AvgPool2d(ArrayFunction):
    """Average pooling on the backend's kernels. ``extra`` rows/columns of zeros are appended
    for ceil_mode (see :func:`_ceil_mode_extra`). A ``scale`` (OH, OW) gives each window its own
    divisor: the kernel, then run with ``count_include_pad=True``, divides every sum by KH*KW,
    and ``scale = KH*KW / divisor`` corrects that (see :func:`_avg_pool_scale`)."""

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, count_include_pad, extra=(0, 0), scale=None):
        backend = _backend()
        wide = _extend(x, extra, 0.0)
        ctx.backend, ctx.x_shape, ctx.scale = backend, x.shape, scale
        ctx.args = (wide.shape, kernel_size, stride, padding, count_include_pad)
        out = backend.avgpool2d_forward(wide, kernel_size, stride, padding, count_include_pad)
        return out if scale is None else out * scale

    @staticmethod
    def backward(ctx, grad):
        if ctx.scale is not None:
            grad = grad * ctx.scale
        grad_x = ctx.backend.avgpool2d_backward(grad, *ctx.args)
        h, w = ctx.x_shape[2:]
        return grad_x[:, :, :h, :w]         # the appended zeros get no gradient


def _avg_pool_scale(x_shape, k, s, p, extra, count_include_pad, divisor_override, dtype) -> np.ndarray:
    """``KH*KW / divisor`` for every output position, by PyTorch's divisor rule:
    ``divisor_override`` if given; else the window's area clipped to the padded input (so
    the part of a ceil_mode window hanging past the padding never counts, even with
    ``count_include_pad``); or, with ``count_include_pad=False``, clipped to the input."""
    counts = []
    for size, e, kk, ss, pp in zip(x_shape[2:], extra, k, s, p):
        start = np.arange((size + e + 2 * pp - kk) // ss + 1) * ss - pp
        end = np.minimum(start + kk, size + pp)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, size)
        counts.append(end - start)
    divisor = np.outer(*counts) if divisor_override is None else np.full(
        (len(counts[0]), len(counts[1])), divisor_override)
    return (k[0] * k[1] / divisor).astype(dtype)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None) -> Tensor:
    """Mean over each window (zero padding); ``stride`` defaults to ``kernel_size``. The divisor
    is KH*KW, or the number of input pixels in the window with ``count_include_pad=False``,
    or ``divisor_override`` when given (see :func:`_avg_pool_scale` for ceil_mode)."""
    input = _tensor(input)
    _check_image(input, "avg_pool2d")
    if divisor_override is not None and (not isinstance(divisor_override, numbers.Integral)
                                         or isinstance(divisor_override, bool) or divisor_override == 0):
        raise ValueError(f"avg_pool2d: divisor_override must be a nonzero int, got {divisor_override!r}")
    if input.ndim == 3:
        return _unbatched(avg_pool2d, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                          divisor_override)
    k, s, p = _pool_geometry(kernel_size, stride, padding)
    extra = _ceil_mode_extra(input.shape, k, s, p) if ceil_mode else (0, 0)
    if extra == (0, 0) and divisor_override is None:        # the kernel's own divisor is right
        return _AvgPool2d.apply(input, k, s, p, count_include_pad)
    scale = _avg_pool_scale(input.shape, k, s, p, extra, count_include_pad, divisor_override, input.dtype)
    return _AvgPool2d.apply(input, k, s, p, True, extra, scale)


def _adaptive_output_size(output_size, input) -> tuple[int, int]:
    """PyTorch's ``output_size``: an int, or a pair in which ``None`` keeps that input size."""
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2:
        output_size = tuple(size if want is None else want for want, size in zip(output_size, input.shape[-2:]))
    return pair("output_size", output_size, 1)


def _adaptive_windows(size: int, out: int):
    """Start and (exclusive) end of each adaptive window along one axis, PyTorch's:
    window i is ``[floor(i*size/out), ceil((i+1)*size/out))``, so the windows cover the
    axis, differ in length by at most one, and neighbours may share an element."""
    i = np.arange(out)
    return i * size // out, -(-(i + 1) * size // out)


def _averaging_matrix(size: int, out: int, dtype) -> np.ndarray:
    """The (out, size) matrix whose row i averages adaptive window i of a vector."""
    start, end = _adaptive_windows(size, out)
    j = np.arange(size)
    inside = (j >= start[:, None]) & (j < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def adaptive_avg_pool2d(input, output_size) -> Tensor:
    """Average over PyTorch's adaptive windows (see :func:`_adaptive_windows`) to ``output_size``.

    Equal windows (input a multiple of the output) run on the backend's average-pool kernel.
    Otherwise the windows differ in size, but averaging is linear and separable: the output
    is ``A_h @ x @ A_w.T`` with averaging matrices A, and Tensor matmul differentiates it."""
    input = _tensor(input)
    _check_image(input, "adaptive_avg_pool2d")
    oh, ow = _adaptive_output_size(output_size, input)
    h, w = input.shape[-2:]
    if (oh, ow) == (1, 1):
        return input.mean(axis=(-2, -1), keepdims=True)
    if h % oh == 0 and w % ow == 0:
        return avg_pool2d(input, (h // oh, w // ow))
    rows, cols = _averaging_matrix(h, oh, input.dtype), _averaging_matrix(w, ow, input.dtype)
    return Tensor(rows) @ input @ Tensor(np.ascontiguousarray(cols.T))


def _adaptive_max(x: np.ndarray, oh: int, ow: int):
    """Maxima over the adaptive windows of ``x`` (N, C, H, W) and their flat ``h*W + w``
    positions, the first maximum in row-major order winning ties (as PyTorch's kernel);
    one window at a time, across the whole batch and every channel at once."""
    n, c, h, w = x.shape
    (h0, h1), (w0, w1) = _adaptive_windows(h, oh), _adaptive_windows(w, ow)
    out = np.empty((n, c, oh, ow), dtype=x.dtype)
    indices = np.empty((n, c, oh, ow), dtype=np.int64)
    for i in range(oh):
        for j in range(ow):
            window = x[:, :, h0[i]:h1[i], w0[j]:w1[j]].reshape(n, c, -1)
            best = window.argmax(axis=2)
            out[:, :, i, j] = np.take_along_axis(window, best[..., None], axis=2)[..., 0]
            width = w1[j] - w0[j]
            indices[:, :, i, j] = (h0[i] + best // width) * w + w0[j] + best % width
    return out, indices


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over PyTorch's adaptive windows (see :func:`_adaptive_windows`) to ``output_size``;
    with ``return_indices=True`` also the positions, as :func:`max_pool2d`. Equal windows run
    on the backend's max-pool kernel; the gradient always goes through its backward kernel."""
    input = _tensor(input)
    _check_image(input, "adaptive_max_pool2d")
    if input.ndim == 3:
        return _unbatched(adaptive_max_pool2d, input, output_size, return_indices)
    oh, ow = _adaptive_output_size(output_size, input)
    h, w = input.shape[2:]
    if h % oh == 0 and w % ow == 0:
        return max_pool2d(input, (h // oh, w // ow), return_indices=return_indices)
    out, indices = _adaptive_max(input.data, oh, ow)
    return _max_pool_output(input, out, indices, _backend(), return_indices)


# ------------------------------------------------------------------ activations

class _Activation(ArrayFunction):
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


class _LogSoftmax(ArrayFunction):
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


class _Softmax(ArrayFunction):
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

class _SoftmaxCrossEntropy(ArrayFunction):
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
    """Bring (N, C, d1, ...) inputs to (N*d1*..., C) rows and check the class-index targets."""
    target = _tensor(target, "target")
    if target.dtype.kind not in "iu":
        raise TypeError(f"{fn}: target must hold int64 class indices, got dtype {target.dtype}")
    if input.ndim == 1:
        input, target = input.unsqueeze(0), target.reshape(1)
    if input.ndim > 2:
        c = input.shape[1]
        input = input.permute(0, *range(2, input.ndim), 1).reshape(-1, c)
    expected = input.shape[0]
    if target.ndim == 0 or target.data.size != expected:
        raise ValueError(f"{fn}: target of shape {target.shape} does not match input of shape {input.shape}")
    return input, target.data.reshape(-1).astype(np.int64, copy=False)


def _check_class_range(target: np.ndarray, num_classes: int, ignore_index: int, fn: str) -> None:
    """Class indices must lie in [0, C), except those equal to ignore_index (which may be anything)."""
    bad = ((target < 0) | (target >= num_classes)) & (target != ignore_index)
    if bad.any():
        raise IndexError(f"{fn}: target holds class index {target[bad][0]}, outside [0, {num_classes})")


def _class_weights(weight, num_classes: int, dtype):
    """The class weights as an array of the input's dtype, or None. They are constants, as in
    PyTorch, where no gradient flows to the weight of nll_loss."""
    if weight is None:
        return None
    weight = np.asarray(weight.data if isinstance(weight, Tensor) else weight, dtype=dtype)
    if weight.shape != (num_classes,):
        raise ValueError(f"weight must have shape ({num_classes},), one per class, got {weight.shape}")
    return weight


def _weights_and_mask(target, weight, ignore_index, num_classes, dtype):
    """What class-index losses need: the targets with ignored entries set to class 0 (any valid
    index will do, their loss is multiplied by 0), the mask of valid entries, the class weights
    (or None), and the per-sample factor ``scale``: w[y_i] (0 where ignored) with weights, else
    the 0/1 mask, or None when every sample counts once."""
    valid = target != ignore_index
    safe = np.where(valid, target, 0)
    weight = _class_weights(weight, num_classes, dtype)
    if weight is not None:
        scale = weight[safe] * valid
    else:
        scale = None if valid.all() else valid.astype(dtype)
    return safe, valid, weight, scale


def _reduce_class_losses(losses: Tensor, scale, input: Tensor, reduction: str) -> Tensor:
    """Reduce per-sample losses of class-index targets as PyTorch does. 'mean' is weighted,
    sum(losses) / sum(scale): ignored samples are left out and, with class weights, it divides
    by the sum of the target classes' weights. 'none' has the input's shape without the class
    dimension (a 0-d tensor for an unbatched (C,) input)."""
    if reduction == "mean":
        denominator = scale.sum() if scale is not None else losses.shape[0]
        return losses.sum() / losses.dtype.type(denominator)
    if reduction == "sum":
        return losses.sum()
    return losses.reshape(input.shape[:1] + input.shape[2:] if input.ndim > 1 else ())


def _weighted_smoothed_cross_entropy(logits, target, valid, weight, scale, label_smoothing) -> Tensor:
    """Per-sample losses with both class weights and label smoothing, PyTorch's formula:
    ``(1 - ls) * w[y] * (-log p[y]) + ls / C * sum_c w[c] * (-log p[c])`` (0 where ignored).

    The fused kernel takes one factor per sample, but here the smoothing sum weights every
    class differently, so this case is composed of log_softmax and Tensor ops (autograd
    derives the gradient)."""
    check_finite("input", logits.data)
    logp = log_softmax(logits, 1)
    nll = _PickClass.apply(logp, target, scale)
    smooth = (logp * -weight).sum(1) * valid
    return (1 - label_smoothing) * nll + (label_smoothing / logp.shape[1]) * smooth


def _cross_entropy_probabilities(input, target, weight, ignore_index, reduction, label_smoothing) -> Tensor:
    """Cross-entropy against class probabilities (a float target of the input's shape),
    PyTorch's formula: ``loss = -sum_c w[c] * q[c] * log p[c]`` with the smoothed target
    ``q = (1 - ls) * target + ls / C``. Unlike class-index targets, 'mean' divides by the
    number of samples N*d1*..., whatever the weights. Composed of Tensor ops, so a target
    that requires grad gets its gradient too."""
    if target.dtype.kind != "f":
        raise TypeError(f"cross_entropy: a target of the input's shape {input.shape} holds class probabilities "
                        f"and must be floating point, got dtype {target.dtype}; class indices have the input's "
                        f"shape without the class dimension")
    if ignore_index >= 0:
        raise ValueError(f"cross_entropy: ignore_index is not supported for probability (floating point) "
                         f"targets, got ignore_index={ignore_index}")
    class_dim = 0 if input.ndim == 1 else 1
    num_classes = input.shape[class_dim]
    check_finite("input", input.data)
    logp = log_softmax(input, class_dim)
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / num_classes
    terms = logp * target
    weight = _class_weights(weight, num_classes, logp.dtype)
    if weight is not None:
        terms = terms * weight.reshape(num_classes, *[1] * (input.ndim - class_dim - 1))
    if reduction == "none":
        return -terms.sum(class_dim)
    total = -terms.sum()
    return total if reduction == "sum" else total / (input.data.size // max(num_classes, 1))


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0) -> Tensor:
    """Softmax cross-entropy of logits (N, C), (N, C, d1, ...) or unbatched (C,), against

    * class indices: an int64 target of the input's shape without the class dimension;
      entries equal to ``ignore_index`` contribute nothing and are left out of the mean;
    * class probabilities: a float target of the input's own shape (PyTorch tells the two
      apart the same way, by the shape).

    ``weight`` (C,) weights each class, in every term, the label-smoothing term included;
    ``label_smoothing`` mixes the target with the uniform distribution over the C classes.
    Class indices without weights *and* smoothing together run on the backend's fused
    softmax-cross-entropy kernel; the other cases are composed of log_softmax and Tensor ops.
    """
    input, target = _tensor(input), _tensor(target, "target")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    label_smoothing = check_smoothing(label_smoothing)
    if target.shape == input.shape:
        return _cross_entropy_probabilities(input, target, weight, ignore_index, reduction, label_smoothing)
    if target.dtype.kind == "f":
        index_shape = input.shape[:1] + input.shape[2:] if input.ndim > 1 else ()
        error = TypeError if target.shape == index_shape else ValueError    # wrong dtype, or wrong shape
        raise error(f"cross_entropy: a floating point target holds class probabilities and must have the "
                         f"input's shape {input.shape}, got target shape {target.shape}; class indices must be "
                         f"int64")
    logits, target = _class_targets(input, target, "cross_entropy")
    _check_class_range(target, logits.shape[1], ignore_index, "cross_entropy")
    safe, valid, weight, scale = _weights_and_mask(target, weight, ignore_index, logits.shape[1], logits.dtype)
    if weight is not None and label_smoothing:
        losses = _weighted_smoothed_cross_entropy(logits, safe, valid, weight, scale, label_smoothing)
    else:
        losses = _SoftmaxCrossEntropy.apply(logits, safe, label_smoothing, scale)
    return _reduce_class_losses(losses, scale, input, reduction)


class _PickClass(ArrayFunction):
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
    _check_class_range(target, logp.shape[1], ignore_index, "nll_loss")
    safe, _, _, scale = _weights_and_mask(target, weight, ignore_index, logp.shape[1], logp.dtype)
    return _reduce_class_losses(_PickClass.apply(logp, safe, scale), scale, input, reduction)


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


class _BinaryCrossEntropy(ArrayFunction):
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


class _BCEWithLogits(ArrayFunction):
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


class _BatchNorm(ArrayFunction):
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


__all__ = ["linear", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d",
           "relu", "leaky_relu", "elu",
           "sigmoid", "tanh", "softmax", "log_softmax", "cross_entropy", "nll_loss", "mse_loss", "l1_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "dropout", "batch_norm"]
