"""Transposed convolution: ``conv_transpose2d`` (and ``conv_transpose1d``), on the backend's
conv kernels.

A convolution with weight W maps an image y (C_out channels, big) to x (C_in channels,
small): x = A y. Its *transpose* (adjoint) A^T maps x back to y's shape; that is what a
transposed convolution computes (so ``conv_transpose2d(x, W)`` is the gradient that
``conv2d`` sends to its input, with ``x`` as the output gradient). Each input pixel spreads
a (kh, kw) patch of weights over the output, ``stride`` apart: the "upsampling"
convolution of decoders and GANs. With the backend's kernels:

* forward: ``cols = W^T x`` (one GEMM over every pixel of every image), then ``col2im``
  adds the patches into the full output, of size ``(H-1)*stride + dilation*(k-1) + 1``,
  which is then cropped by ``padding`` (and extended by ``output_padding`` on the far side);
* backward: the gradient is embedded back into the full output's frame; then
  grad_x = conv2d(grad, W) (A applied to it, the kernels' forward) and
  grad_W = the conv kernels' weight gradient with (grad, x) in the roles of (input,
  output gradient). grad_bias sums over N, H, W.

The weight is (C_in, C_out/groups, kh, kw), as PyTorch's.
"""
from __future__ import annotations

import numbers

import numpy as np

from ...autograd import ArrayFunction, Context
from ...backends import get as _backend
from ...backends.contract import pair
from ...tensor import Tensor
from ._common import _tensor

__all__ = ["conv_transpose1d", "conv_transpose2d"]


def _full_size(size, k, s, d):
    """Output size of the transposed convolution before ``padding`` crops it."""
    return (size - 1) * s + d * (k - 1) + 1


class _ConvTranspose2d(ArrayFunction):
    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, output_padding, dilation):
        backend = _backend()
        n, c_in, h, w = x.shape
        c_out, kh, kw = weight.shape[1:]
        (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
        full = (_full_size(h, kh, sh, dh), _full_size(w, kw, sw, dw))
        out_hw = (full[0] - 2 * ph + oph, full[1] - 2 * pw + opw)
        ctx.backend, ctx.geometry = backend, (stride, padding, dilation, full, out_hw)
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        # cols[n] = W^T x[n]: (c_out*kh*kw, h*w) per image, as one GEMM over all images
        x_rows = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).reshape(c_in, n * h * w)
        cols = backend.gemm(weight.reshape(c_in, c_out * kh * kw), x_rows, trans_a=True)
        cols = np.ascontiguousarray(cols.reshape(c_out * kh * kw, n, h * w).transpose(1, 0, 2))
        y_full = backend.col2im(cols, (n, c_out, *full), (kh, kw), stride, 0, dilation)
        y = _crop(y_full, padding, out_hw)
        if bias is not None:
            y += bias.reshape(1, -1, 1, 1)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        stride, padding, dilation, full, out_hw = ctx.geometry
        needs = ctx.needs_input_grad
        g_full = _embed(grad, padding, full)
        backend = ctx.backend
        grad_x = backend.conv2d_forward(g_full, weight, None, stride, 0, dilation) if needs[0] else None
        grad_w = None
        if needs[1]:
            _, grad_w, _ = backend.conv2d_backward(x, g_full, weight, stride, 0, dilation,
                                                   needs_input_grad=False, needs_bias_grad=False)
        grad_b = grad.sum(axis=(0, 2, 3)) if ctx.has_bias and needs[2] else None
        return grad_x, grad_w, grad_b


def _crop(y_full, padding, out_hw):
    """Rows/columns ``padding .. padding + out`` of the full output; zeros past its end
    (``output_padding`` larger than ``padding``)."""
    (ph, pw), (oh, ow) = padding, out_hw
    n, c, fh, fw = y_full.shape
    if ph + oh <= fh and pw + ow <= fw:
        return np.ascontiguousarray(y_full[:, :, ph:ph + oh, pw:pw + ow])
    y = np.zeros((n, c, oh, ow), dtype=y_full.dtype)
    part = y_full[:, :, ph:ph + oh, pw:pw + ow]
    y[:, :, :part.shape[2], :part.shape[3]] = part
    return y


def _embed(grad, padding, full):
    """The adjoint of :func:`_crop`: the gradient placed in the full output's frame."""
    (ph, pw), (fh, fw) = padding, full
    n, c, oh, ow = grad.shape
    g = np.zeros((n, c, fh, fw), dtype=grad.dtype)
    h, w = min(oh, fh - ph), min(ow, fw - pw)
    g[:, :, ph:ph + h, pw:pw + w] = grad[:, :, :h, :w]
    return g


class _GroupedConvTranspose2d(ArrayFunction):
    """``groups`` independent transposed convolutions (channel block g of the input with
    weight block g), joined along the channels, as :class:`~.conv._GroupedConv2d`."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, output_padding, dilation, groups):
        biases = np.split(bias, groups) if bias is not None else [None] * groups
        ctx.parts = [Context(ctx.needs_input_grad) for _ in range(groups)]
        return np.concatenate([_ConvTranspose2d.forward(part, xg, wg, bg, stride, padding, output_padding, dilation)
                               for part, xg, wg, bg in zip(ctx.parts, np.split(x, groups, axis=1),
                                                           np.split(weight, groups), biases)], axis=1)

    @staticmethod
    def backward(ctx, grad):
        grads = [_ConvTranspose2d.backward(part, g)
                 for part, g in zip(ctx.parts, np.split(grad, len(ctx.parts), axis=1))]
        grad_x, grad_w, grad_b = zip(*grads)
        return (None if grad_x[0] is None else np.concatenate(grad_x, axis=1),
                None if grad_w[0] is None else np.concatenate(grad_w),
                None if grad_b[0] is None else np.concatenate(grad_b))


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1) -> Tensor:
    """2-D transposed convolution of (N, C_in, H, W) ``input`` (or unbatched (C_in, H, W))
    with ``weight`` (C_in, C_out/groups, kH, kW). Output size per axis:
    ``(H - 1)*stride - 2*padding + dilation*(kH - 1) + output_padding + 1``.
    (PyTorch's argument order: ``groups`` comes before ``dilation``.)"""
    input, weight = _tensor(input), _tensor(weight, "weight")
    if input.ndim == 3:
        return conv_transpose2d(input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups,
                                dilation).squeeze(0)
    if input.ndim != 4 or weight.ndim != 4:
        raise RuntimeError(f"conv_transpose2d: expected input (N, C_in, H, W) or (C_in, H, W) and weight "
                           f"(C_in, C_out/groups, kH, kW), got input of shape {tuple(input.shape)} and weight of "
                           f"shape {tuple(weight.shape)}")
    stride, padding = pair("stride", stride, 1), pair("padding", padding, 0)
    output_padding, dilation = pair("output_padding", output_padding, 0), pair("dilation", dilation, 1)
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool) or groups < 1:
        raise RuntimeError(f"non-positive groups is not supported, got groups={groups!r}")
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError(f"output padding must be smaller than either stride or dilation, but got "
                           f"output_padding_height: {output_padding[0]} output_padding_width: {output_padding[1]} "
                           f"stride_height: {stride[0]} stride_width: {stride[1]} dilation_height: {dilation[0]} "
                           f"dilation_width: {dilation[1]}")
    if input.shape[1] != weight.shape[0] or input.shape[1] % groups:
        raise RuntimeError(f"conv_transpose2d: weight of shape {tuple(weight.shape)} expects {weight.shape[0]} "
                           f"input channels (divisible by groups={groups}), but the input of shape "
                           f"{tuple(input.shape)} has {input.shape[1]}")
    if bias is not None and tuple(bias.shape) != (weight.shape[1] * groups,):
        raise RuntimeError(f"conv_transpose2d: bias of shape {tuple(bias.shape)} does not fit weight of shape "
                           f"{tuple(weight.shape)} with groups={groups} (expected ({weight.shape[1] * groups},))")
    for axis, size, k, s, p, op, d in zip("HW", input.shape[2:], weight.shape[2:], stride, padding, output_padding,
                                           dilation):
        if (size - 1) * s - 2 * p + d * (k - 1) + op + 1 <= 0:
            raise RuntimeError(f"conv_transpose2d: the output would have no {axis} extent (input {size}, kernel "
                               f"{k}, stride {s}, padding {p}, dilation {d}, output_padding {op})")
    if groups == 1:
        return _ConvTranspose2d.apply(input, weight, bias, stride=stride, padding=padding,
                                      output_padding=output_padding, dilation=dilation)
    return _GroupedConvTranspose2d.apply(input, weight, bias, stride=stride, padding=padding,
                                         output_padding=output_padding, dilation=dilation, groups=int(groups))


def _single(name, value, default):
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{name} must be an int or a 1-tuple, got {value!r}")
        return int(value[0])
    return int(value if value is not None else default)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1) -> Tensor:
    """1-D transposed convolution of (N, C_in, L) (or (C_in, L)) with weight
    (C_in, C_out/groups, k): the 2-D one on a height-1 image."""
    input, weight = _tensor(input), _tensor(weight, "weight")
    if input.ndim not in (2, 3) or weight.ndim != 3:
        raise RuntimeError(f"conv_transpose1d: expected input (N, C_in, L) or (C_in, L) and weight "
                           f"(C_in, C_out/groups, k), got input of shape {tuple(input.shape)} and weight of shape "
                           f"{tuple(weight.shape)}")
    out = conv_transpose2d(input.unsqueeze(-2), weight.unsqueeze(-2), bias, (1, _single("stride", stride, 1)),
                           (0, _single("padding", padding, 0)), (0, _single("output_padding", output_padding, 0)),
                           groups, (1, _single("dilation", dilation, 1)))
    return out.squeeze(-2)
