"""Pooling: max and average pooling on the backend's kernels, and PyTorch's adaptive pools."""
from __future__ import annotations

import numbers

import numpy as np

from ...autograd import ArrayFunction
from ...backends import get as _backend
from ...backends.contract import pair
from ...tensor import Tensor
from ._common import _tensor


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


# ------------------------------------------------------------------ 1-D pooling: 2-D pooling on a unit height

def _as_2d(input, fn):
    """(N, C, L) or (C, L) input as (N, C, 1, L) or (C, 1, L)."""
    input = _tensor(input)
    if input.ndim not in (2, 3):
        raise ValueError(f"{fn}: expected 2D or 3D input (C, L) or (N, C, L), got shape {list(input.shape)}")
    return input.unsqueeze(-2)


def _from_2d(out):
    return tuple(o.squeeze(-2) for o in out) if isinstance(out, tuple) else out.squeeze(-2)


def _one(name, value, minimum):
    """An int or a 1-tuple, as the second member of a (1, value) pair."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{name} must be an int or a 1-tuple for 1-D pooling, got {value!r}")
        value = value[0]
    return pair(name, value, minimum)[1]


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over windows along the last axis of (N, C, L) or (C, L) input (see :func:`max_pool2d`);
    indices are positions along L."""
    x = _as_2d(input, "max_pool1d")
    k = _one("kernel_size", kernel_size, 1)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else _one("stride", stride, 1)
    return _from_2d(max_pool2d(x, (1, k), (1, s), (0, _one("padding", padding, 0)),
                               (1, _one("dilation", dilation, 1)), ceil_mode, return_indices))


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True) -> Tensor:
    """Mean over windows along the last axis of (N, C, L) or (C, L) input (see :func:`avg_pool2d`)."""
    x = _as_2d(input, "avg_pool1d")
    k = _one("kernel_size", kernel_size, 1)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else _one("stride", stride, 1)
    return _from_2d(avg_pool2d(x, (1, k), (1, s), (0, _one("padding", padding, 0)), ceil_mode, count_include_pad))


def adaptive_avg_pool1d(input, output_size) -> Tensor:
    """Average (N, C, L) or (C, L) input over PyTorch's adaptive windows to length ``output_size``."""
    x = _as_2d(input, "adaptive_avg_pool1d")
    return _from_2d(adaptive_avg_pool2d(x, (1, _one("output_size", output_size, 1))))


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max of (N, C, L) or (C, L) input over PyTorch's adaptive windows to length ``output_size``."""
    x = _as_2d(input, "adaptive_max_pool1d")
    return _from_2d(adaptive_max_pool2d(x, (1, _one("output_size", output_size, 1)), return_indices))


# ------------------------------------------------------------------ PyTorch's argument handling

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
