"""Convolution: ``conv2d`` on the backend's conv kernels (im2col or direct, by backend)."""
from __future__ import annotations

import numbers

import numpy as np

from ...autograd import ArrayFunction, Context
from ...backends import get as _backend
from ...backends.contract import pair
from ...tensor import Tensor
from ._common import _tensor


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


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-D convolution (cross-correlation) of NCHW ``input`` with ``weight`` (F, C/groups, KH, KW)."""
    input, weight = _tensor(input), _tensor(weight, "weight")
    if input.ndim == 3:             # unbatched (C, H, W), as PyTorch allows
        return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    dilation = pair("dilation", dilation, 1)
    if isinstance(padding, str):
        if padding == "same" and pair("stride", stride, 1) != (1, 1):
            raise ValueError("padding='same' is only supported with stride 1")
        padding, extra = _conv_padding(padding, weight.shape[2:], dilation)
        if extra != (0, 0):         # an even effective kernel: the odd cell of padding goes right/bottom
            from .vision import pad
            input = pad(input, (0, extra[1], 0, extra[0]))
    if groups == 1:
        return _Conv2d.apply(input, weight, bias, stride=stride, padding=padding, dilation=dilation)
    _check_groups(input, weight, bias, groups)
    return _GroupedConv2d.apply(input, weight, bias, stride=stride, padding=padding, dilation=dilation,
                                groups=int(groups))


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """1-D convolution of (N, C, L) or (C, L) ``input`` with ``weight`` (F, C/groups, K): the 2-D
    convolution of a unit-height image with a unit-height kernel."""
    input, weight = _tensor(input), _tensor(weight, "weight")
    if input.ndim not in (2, 3) or weight.ndim != 3:
        raise ValueError(f"conv1d: expected input (N, C, L) or (C, L) and weight (F, C/groups, K), got input of "
                         f"shape {list(input.shape)} and weight of shape {list(weight.shape)}")
    if not isinstance(padding, str):
        padding = (0, _single("padding", padding))
    out = conv2d(input.unsqueeze(-2), weight.unsqueeze(2), bias, (1, _single("stride", stride)), padding,
                 (1, _single("dilation", dilation)), groups)
    return out.squeeze(-2)


def _single(name, value):
    """An int or a 1-tuple as an int."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"conv1d: {name} must be an int or a 1-tuple, got {value!r}")
        value = value[0]
    return value


# ------------------------------------------------------------------ PyTorch's argument handling

def _conv_padding(padding, kernel, dilation):
    """``padding`` 'valid' or 'same' as ((pad_h, pad_w), (extra_h, extra_w)): 'same' pads
    ``d * (k - 1)`` in all per axis, half on each side; when that is odd, the one cell over
    is ``extra``, padded at the bottom/right only (as PyTorch)."""
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple(t // 2 for t in total), tuple(t % 2 for t in total)
    raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")


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
