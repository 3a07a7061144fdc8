"""Vision functions: ``pad``, ``interpolate`` (``upsample``), ``unfold`` and ``fold``.

``unfold``/``fold`` are the backend's ``im2col``/``col2im`` kernels, each the other's backward.
``pad`` maps each output position to an input position, axis by axis, so its backward adds the
gradient back along the same map. ``interpolate`` is linear in its input and separable: along
each spatial axis it is a matrix (out, in) of interpolation weights, applied with matmul, which
differentiates it."""
from __future__ import annotations

import math

import numpy as np

from ...autograd import ArrayFunction
from ...backends import get as _backend
from ...backends.contract import pair
from ...tensor import Tensor
from ._common import _tensor
from .pool import _averaging_matrix


class _Unfold(ArrayFunction):
    """(N, C, H, W) -> (N, C*KH*KW, L): every sliding block as a column (the backend's im2col)."""

    @staticmethod
    def forward(ctx, x, kernel_size, dilation, padding, stride):
        backend = _backend()
        ctx.backend, ctx.args = backend, (x.shape, kernel_size, stride, padding, dilation)
        return backend.im2col(x, kernel_size, stride, padding, dilation)

    @staticmethod
    def backward(ctx, grad):
        return ctx.backend.col2im(np.ascontiguousarray(grad), *ctx.args)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Extract sliding blocks: (N, C, H, W) (or unbatched (C, H, W)) -> (N, C*KH*KW, L), L the
    number of block positions; column l holds block l, channel-major as in PyTorch."""
    input = _tensor(input)
    if input.ndim == 3:
        return unfold(input.unsqueeze(0), kernel_size, dilation, padding, stride).squeeze(0)
    if input.ndim != 4:
        raise ValueError(f"unfold: expected 3D or 4D (batch mode) input, got shape {list(input.shape)}")
    return _Unfold.apply(input, pair("kernel_size", kernel_size, 1), pair("dilation", dilation, 1),
                         pair("padding", padding, 0), pair("stride", stride, 1))


class _Fold(ArrayFunction):
    """(N, C*KH*KW, L) -> (N, C, H, W): blocks summed back into place (the backend's col2im)."""

    @staticmethod
    def forward(ctx, cols, x_shape, kernel_size, dilation, padding, stride):
        backend = _backend()
        ctx.backend, ctx.args = backend, (kernel_size, stride, padding, dilation)
        return backend.col2im(cols, x_shape, kernel_size, stride, padding, dilation)

    @staticmethod
    def backward(ctx, grad):
        return ctx.backend.im2col(np.ascontiguousarray(grad), *ctx.args)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """The inverse arrangement of :func:`unfold`: (N, C*KH*KW, L) (or unbatched (C*KH*KW, L))
    -> (N, C, H, W) with ``(H, W) = output_size``; overlapping blocks are summed."""
    input = _tensor(input)
    if input.ndim == 2:
        return fold(input.unsqueeze(0), output_size, kernel_size, dilation, padding, stride).squeeze(0)
    if input.ndim != 3:
        raise ValueError(f"fold: expected 2D or 3D (batch mode) input, got shape {list(input.shape)}")
    k = pair("kernel_size", kernel_size, 1)
    size, d, p, s = (pair("output_size", output_size, 1), pair("dilation", dilation, 1),
                     pair("padding", padding, 0), pair("stride", stride, 1))
    if input.shape[1] % (k[0] * k[1]):
        raise ValueError(f"fold: expected size of input's dimension 1 to be divisible by the product of "
                         f"kernel_size, but got input.size(1)={input.shape[1]} and kernel_size={k}")
    blocks = [(size[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in (0, 1)]
    if blocks[0] * blocks[1] != input.shape[2]:
        raise ValueError(f"fold: given output_size={size}, kernel_size={k}, dilation={d}, padding={p}, "
                         f"stride={s}, expected size of input's dimension 2 to match the calculated number of "
                         f"sliding blocks {blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]}, but got "
                         f"input.size(2)={input.shape[2]}")
    x_shape = (input.shape[0], input.shape[1] // (k[0] * k[1])) + size
    return _Fold.apply(input, x_shape, k, d, p, s)


# ------------------------------------------------------------------ pad

class _ConstantPad(ArrayFunction):
    """Constant padding (negative amounts crop): the input lands in a slice of a filled array."""

    @staticmethod
    def forward(ctx, x, pads, value):
        out_shape = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, pads))
        src = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(x.shape, pads))
        dst = tuple(slice(max(lo, 0), m - max(hi, 0)) for m, (lo, hi) in zip(out_shape, pads))
        ctx.args = x.shape, src, dst
        out = np.full(out_shape, value, dtype=x.dtype)
        out[dst] = x[src]
        return out

    @staticmethod
    def backward(ctx, grad):
        shape, src, dst = ctx.args
        grad_x = np.zeros(shape, dtype=grad.dtype)
        grad_x[src] = grad[dst]
        return grad_x


class _IndexPad(ArrayFunction):
    """reflect / replicate / circular padding: along each padded axis, output position j reads
    input position ``index[j]``; backward adds each gradient back to where it was read."""

    @staticmethod
    def forward(ctx, x, maps):
        ctx.args = x.shape, maps
        for axis, index in maps:
            x = np.take(x, index, axis=axis)
        return x

    @staticmethod
    def backward(ctx, grad):
        shape, maps = ctx.args
        sizes = list(shape)
        for axis, _ in maps:
            sizes[axis] = grad.shape[axis]
        for axis, index in reversed(maps):
            moved = np.moveaxis(grad, axis, 0)
            acc = np.zeros((shape[axis],) + moved.shape[1:], dtype=grad.dtype)
            np.add.at(acc, index, moved)
            grad = np.moveaxis(acc, 0, axis)
        return grad


def _pad_index(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    j = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    if mode == "circular":
        return j % n
    j = np.abs(j)                       # reflect, the edge not repeated
    return np.where(j > n - 1, 2 * (n - 1) - j, j)


def pad(input, pad, mode="constant", value=None) -> Tensor:
    """Pad the last ``len(pad) // 2`` axes: ``pad = (left, right)`` for the last axis, then
    ``(top, bottom)`` for the one before, and so on. ``mode``: 'constant' (``value``, default 0;
    any number of axes; negative amounts crop), 'reflect' (mirror, the edge not repeated),
    'replicate' (repeat the edge) or 'circular' (wrap around); those three pad the last 1, 2 or 3
    axes of a batched or unbatched input, as PyTorch."""
    input = _tensor(input)
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise ValueError("pad: padding length must be divisible by 2")
    k = len(pad) // 2
    if k > input.ndim:
        raise ValueError(f"pad: padding length should be less than or equal to two times the input dimension but "
                         f"got padding length {len(pad)} and input of dimension {input.ndim}")
    pairs = [(0, 0)] * (input.ndim - k) + [(pad[2 * i], pad[2 * i + 1]) for i in reversed(range(k))]
    if mode == "constant":
        for n, (lo, hi) in zip(input.shape, pairs):
            if n + lo + hi < 0:
                raise ValueError(f"pad: the padding {(lo, hi)} crops more than the size {n} of an axis of the input "
                                 f"of shape {list(input.shape)}")
        return _ConstantPad.apply(input, tuple(pairs), 0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise ValueError(f'pad: padding mode "{mode}" doesn\'t take in value argument')
    if k not in (1, 2, 3) or input.ndim not in (k + 1, k + 2):
        raise NotImplementedError(f"pad: padding size {len(pad)} is not supported for {input.ndim}D input tensor; "
                                  f"non-constant padding of the last 1, 2 or 3 axes takes a (2D or 3D), (3D or 4D) "
                                  f"or (4D or 5D) input")
    maps = []
    for axis in range(input.ndim - k, input.ndim):
        n, (lo, hi) = input.shape[axis], pairs[axis]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise ValueError(f"pad: padding size should be less than the corresponding input dimension, but got: "
                             f"padding ({lo}, {hi}) at dimension {axis} of input {list(input.shape)}")
        if mode == "circular" and (lo > n or hi > n):
            raise ValueError("pad: padding value causes wrapping around more than once")
        if n == 0:
            raise ValueError(f"pad: cannot pad an empty axis ({axis}) of input {list(input.shape)} in mode {mode}")
        if lo or hi:
            maps.append((axis, _pad_index(n, lo, hi, mode)))
    return _IndexPad.apply(input, tuple(maps))


# ------------------------------------------------------------------ interpolate

_LINEAR = {"linear": 3, "bilinear": 4, "trilinear": 5}


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False) -> Tensor:
    """Resize the spatial axes of (N, C, L), (N, C, H, W) or (N, C, D, H, W) input to ``size``
    or by ``scale_factor``. Modes: 'nearest' (PyTorch's: source index floor(dst * in / out)),
    'nearest-exact', 'linear'/'bilinear'/'trilinear' (with ``align_corners``), 'area'
    (adaptive average pooling). 'bicubic' and ``antialias`` are not supported."""
    input = _tensor(input)
    modes = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear", "area")
    if input.ndim not in (3, 4, 5) or mode not in modes + ("bicubic",):
        raise NotImplementedError(f"interpolate: only 3D, 4D and 5D input tensors are supported (got "
                                  f"{input.ndim}D) for the modes: {' | '.join(modes)} (got {mode})")
    if mode == "bicubic" or antialias:
        raise NotImplementedError("interpolate: mode='bicubic' and antialias=True are not supported")
    if mode in _LINEAR and input.ndim != _LINEAR[mode]:
        raise NotImplementedError(f"interpolate: got {input.ndim}D input, but {mode} mode needs "
                                  f"{_LINEAR[mode]}D input")
    if mode not in _LINEAR and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    spatial = tuple(input.shape[2:])
    out_size, scales = _output_size(spatial, size, scale_factor, recompute_scale_factor)
    out = input
    for i, (n, m, scale) in enumerate(zip(spatial, out_size, scales)):
        if mode == "area":
            matrix = _averaging_matrix(n, m, input.dtype)
        else:
            matrix = _interpolation_matrix(n, m, scale, mode, bool(align_corners), input.dtype)
        out = _along_axis(out, Tensor(matrix), 2 + i)
    return out


def _output_size(spatial, size, scale_factor, recompute_scale_factor):
    """Output sizes and, per axis, the scale that maps output to input coordinates
    (1/scale_factor when a scale factor is given and not recomputed; else in/out)."""
    k = len(spatial)
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined" if size is not None
                         else "either size or scale_factor should be defined")
    if size is not None:
        sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,) * k
        if len(sizes) != k:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input "
                             f"with spatial dimensions of {list(spatial)} and output size of {size}.")
        return tuple(int(s) for s in sizes), tuple(n / s if s else 0.0 for n, s in zip(spatial, sizes))
    factors = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * k
    if len(factors) != k:
        raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got input "
                         f"with spatial dimensions of {list(spatial)} and scale_factor of shape {scale_factor}.")
    sizes = tuple(int(math.floor(n * f)) for n, f in zip(spatial, factors))
    if recompute_scale_factor:
        return sizes, tuple(n / s if s else 0.0 for n, s in zip(spatial, sizes))
    return sizes, tuple(1.0 / f for f in factors)


def _interpolation_matrix(n: int, m: int, scale: float, mode: str, align_corners: bool, dtype) -> np.ndarray:
    """The (m, n) matrix taking n samples to m: row j holds the weights of output j."""
    j = np.arange(m, dtype=np.float64)
    matrix = np.zeros((m, n), dtype=np.float64)
    if mode in ("nearest", "nearest-exact"):
        src = np.floor((j + 0.5) * scale if mode == "nearest-exact" else j * scale).astype(np.int64)
        matrix[np.arange(m), np.minimum(src, n - 1)] = 1.0
        return matrix.astype(dtype)
    if align_corners:
        src = j * ((n - 1) / (m - 1)) if m > 1 else np.zeros(m)
    else:
        src = np.maximum((j + 0.5) * scale - 0.5, 0.0)
    lo = np.minimum(np.floor(src).astype(np.int64), n - 1)
    hi = np.minimum(lo + 1, n - 1)
    frac = src - lo
    np.add.at(matrix, (np.arange(m), lo), 1.0 - frac)
    np.add.at(matrix, (np.arange(m), hi), frac)
    return matrix.astype(dtype)


def _along_axis(x: Tensor, matrix: Tensor, axis: int) -> Tensor:
    """Apply ``matrix`` (m, n) along ``axis`` of ``x`` (size n there): matmul on a reshaped view."""
    shape = tuple(x.shape)
    rest = int(np.prod(shape[axis + 1:]))
    y = matrix @ x.reshape(*shape[:axis], shape[axis], rest)
    return y.reshape(*shape[:axis], matrix.shape[0], *shape[axis + 1:])


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None) -> Tensor:
    """Deprecated in PyTorch in favour of :func:`interpolate` (which it calls)."""
    return interpolate(input, size, scale_factor, mode, align_corners)
