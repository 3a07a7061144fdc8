"""``nn.functional`` functions and ``nn`` modules beyond the kernel-backed core, against
PyTorch: one op is one row, written once as ``lambda F, *args: F.op(...)`` and called with
``fastnn.nn.functional`` and with ``torch.nn.functional`` (so the call itself checks PyTorch's
names, argument order and keywords). Each row is checked

* against torch in float32: the forward value and the gradient of every differentiable input;
* by finite differences (``fastnn.gradcheck``) in float64.

Inputs are random; specs make them broadcast, non-contiguous (``strided``: a view with a step
of 2 along the last axis) or keep them away from the kinks of piecewise functions.
Modules are checked the same way (parameters copied from torch's twin), and by their repr.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F
from fastnn import gradcheck

pytestmark = pytest.mark.torch
RTOL, ATOL = 1e-4, 1e-5


# --------------------------------------------------------------------------- input specs

@dataclass
class Spec:
    """One argument. kind: normal | distinct | unit | prob | fixed (normal, not differentiated) |
    int | const. ``kinks``: values the entries
    keep 0.05 away from (piecewise functions); ``strided``: the argument is a view ``[..., ::2]``
    of a leaf twice as wide; ``dim``: the axis a ``prob`` argument sums to one along."""
    kind: str
    shape: tuple = ()
    scale: float = 1.0
    kinks: tuple = ()
    strided: bool = False
    value: object = None
    high: int = 0
    dim: int = -1

    @property
    def differentiable(self):
        return self.kind in ("normal", "distinct", "unit", "prob")

    def array(self, rng, dtype):
        shape = self.shape[:-1] + (2 * self.shape[-1],) if self.strided else self.shape
        if self.kind in ("normal", "fixed"):
            a = np.array(rng.standard_normal(shape) * self.scale)
            for p in self.kinks:
                near = np.abs(a - p) < 0.05
                a[near] = p + np.where(a[near] >= p, 0.1, -0.1)
        elif self.kind == "distinct":       # pairwise >= 0.05 apart: no max-pool ties
            n = int(np.prod(shape))
            a = ((rng.permutation(n) - n / 2) * 0.05).reshape(shape)
        elif self.kind == "unit":
            a = rng.uniform(0.05, 0.95, shape)
        elif self.kind == "prob":
            e = np.exp(rng.standard_normal(shape))
            a = e / e.sum(axis=self.dim, keepdims=True)
        elif self.kind == "int":
            return (np.asarray(self.value) if self.value is not None
                    else rng.integers(0, self.high, shape)).astype(np.int64)
        elif self.kind == "const":
            return np.asarray(self.value, dtype=dtype)
        else:
            raise ValueError(self.kind)
        return a.astype(dtype)

    def view(self, t):
        return t[..., ::2] if self.strided else t


def N(*shape, scale=1.0, kinks=(), strided=False):
    return Spec("normal", shape, scale=scale, kinks=kinks, strided=strided)


def D(*shape, strided=False):
    return Spec("distinct", shape, strided=strided)


def X(*shape):
    """Random, but a constant: not differentiated."""
    return Spec("fixed", shape)


def U(*shape):
    return Spec("unit", shape)


def P(*shape, dim=-1):
    return Spec("prob", shape, dim=dim)


def I(*shape, high=0, value=None):  # noqa: E743
    return Spec("int", shape, high=high, value=value)


def C(value):
    return Spec("const", value=value)


@dataclass
class Row:
    call: object                    # lambda F, *inputs: F.op(*inputs, ...)
    inputs: list
    gradcheck: bool = True          # False: no float64 finite-difference check
    atol: float = ATOL
    kwargs: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- the rows

FUNCTIONS = {
    # activations
    "gelu": Row(lambda F, x: F.gelu(x), [N(3, 5, scale=3)]),
    "gelu-tanh": Row(lambda F, x: F.gelu(x, approximate="tanh"), [N(3, 5, scale=3)]),
    "gelu-strided": Row(lambda F, x: F.gelu(x), [N(2, 3, 4, strided=True)]),
    "silu": Row(lambda F, x: F.silu(x), [N(4, 6, scale=4)]),
    "silu-0d": Row(lambda F, x: F.silu(x), [N()]),
    "softplus": Row(lambda F, x: F.softplus(x), [N(4, 6, scale=4)]),
    "softplus-beta-threshold": Row(lambda F, x: F.softplus(x, 2.0, 3.0), [N(4, 6, scale=4, kinks=(1.5,))]),
    "softplus-large": Row(lambda F, x: F.softplus(x, beta=0.5), [N(3, 4, scale=60)]),
    "mish": Row(lambda F, x: F.mish(x), [N(4, 6, scale=4)]),
    "hardtanh": Row(lambda F, x: F.hardtanh(x), [N(4, 6, scale=2, kinks=(-1, 1))]),
    "hardtanh-bounds": Row(lambda F, x: F.hardtanh(x, -0.5, 2.0), [N(4, 6, scale=2, kinks=(-0.5, 2))]),
    "relu6": Row(lambda F, x: F.relu6(x), [N(4, 6, scale=5, kinks=(0, 6))]),
    "selu": Row(lambda F, x: F.selu(x), [N(4, 6, scale=2, kinks=(0,))]),
    "celu": Row(lambda F, x: F.celu(x), [N(4, 6, scale=2, kinks=(0,))]),
    "celu-alpha": Row(lambda F, x: F.celu(x, alpha=0.5), [N(4, 6, scale=2, kinks=(0,), strided=True)]),
    "softsign": Row(lambda F, x: F.softsign(x), [N(4, 6, scale=2, kinks=(0,))]),
    "hardswish": Row(lambda F, x: F.hardswish(x), [N(4, 6, scale=4, kinks=(-3, 3))]),
    "hardsigmoid": Row(lambda F, x: F.hardsigmoid(x), [N(4, 6, scale=4, kinks=(-3, 3))]),
    "logsigmoid": Row(lambda F, x: F.logsigmoid(x), [N(4, 6, scale=10)]),
    "hardshrink": Row(lambda F, x: F.hardshrink(x), [N(4, 6, kinks=(-0.5, 0.5))]),
    "hardshrink-lambd": Row(lambda F, x: F.hardshrink(x, 1.5), [N(4, 6, scale=2, kinks=(-1.5, 1.5))]),
    "softshrink": Row(lambda F, x: F.softshrink(x, 0.3), [N(4, 6, kinks=(-0.3, 0.3))]),
    "tanhshrink": Row(lambda F, x: F.tanhshrink(x), [N(4, 6)]),
    "threshold": Row(lambda F, x: F.threshold(x, 0.2, -3.0), [N(4, 6, kinks=(0.2,))]),
    "softmin": Row(lambda F, x: F.softmin(x, dim=1), [N(2, 3, 4)]),
    "softmin-last-strided": Row(lambda F, x: F.softmin(x, -1), [N(3, 5, strided=True)]),
    "softmax-dtype": Row(lambda F, x: F.softmax(x, 0, dtype=fastnn.float64 if F is _F else _torch().float64)
                         .float(), [N(3, 4)], gradcheck=False),
    "glu": Row(lambda F, x: F.glu(x), [N(3, 6)]),
    "glu-dim": Row(lambda F, x: F.glu(x, dim=1), [N(2, 4, 3)]),
    "prelu-shared": Row(lambda F, x, w: F.prelu(x, w), [N(2, 3, 4, kinks=(0,)), N(1)]),
    "prelu-channels": Row(lambda F, x, w: F.prelu(x, w), [N(2, 3, 4, 5, kinks=(0,)), N(3)]),
    "prelu-1d": Row(lambda F, x, w: F.prelu(x, w), [N(5, kinks=(0,)), N(1)]),
    "prelu-0d": Row(lambda F, x, w: F.prelu(x, w), [N(kinks=(0,)), N(1)]),
    # normalisation
    "layer_norm": Row(lambda F, x, w, b: F.layer_norm(x, (4,), w, b), [N(2, 3, 4), N(4), N(4)]),
    "layer_norm-2d-shape": Row(lambda F, x: F.layer_norm(x, (3, 4)), [N(2, 3, 4, scale=3)]),
    "layer_norm-strided-weight-only": Row(lambda F, x, w: F.layer_norm(x, [5], w, None, eps=1e-3),
                                          [N(3, 5, strided=True), N(5)]),
    "group_norm": Row(lambda F, x, w, b: F.group_norm(x, 2, w, b), [N(2, 4, 3, 3), N(4), N(4)]),
    "group_norm-no-affine": Row(lambda F, x: F.group_norm(x, 3), [N(2, 6, 5)]),
    "group_norm-one-group-2d": Row(lambda F, x, w, b: F.group_norm(x, 1, w, b, 1e-3), [N(3, 4), N(4), N(4)]),
    "normalize": Row(lambda F, x: F.normalize(x), [N(4, 3)]),
    "normalize-p1-dim0": Row(lambda F, x: F.normalize(x, p=1, dim=0), [N(3, 4, kinks=(0,))]),
    "normalize-p3-strided": Row(lambda F, x: F.normalize(x, 3.0, -1), [N(2, 3, 4, kinks=(0,), strided=True)]),
    "normalize-inf": Row(lambda F, x: F.normalize(x, p=float("inf"), dim=1), [D(3, 4)]),
    # distances
    "pairwise_distance": Row(lambda F, a, b: F.pairwise_distance(a, b), [N(4, 5), N(4, 5)]),
    "pairwise_distance-p1-keepdim": Row(lambda F, a, b: F.pairwise_distance(a, b, p=1.0, keepdim=True),
                                        [N(4, 5), N(4, 5)]),
    "pairwise_distance-p3-broadcast": Row(lambda F, a, b: F.pairwise_distance(a, b, 3.0), [N(4, 5), N(5)]),
    "pairwise_distance-1d": Row(lambda F, a, b: F.pairwise_distance(a, b), [N(5), N(5)]),
    "cosine_similarity": Row(lambda F, a, b: F.cosine_similarity(a, b), [N(4, 5), N(4, 5)]),
    "cosine_similarity-dim-broadcast": Row(lambda F, a, b: F.cosine_similarity(a, b, dim=-1),
                                           [N(2, 3, 4), N(3, 4)]),
    "cosine_similarity-dim0-expand": Row(lambda F, a, b: F.cosine_similarity(a, b, 0), [N(5, 3), N(1, 3)]),
    # index lookups
    "one_hot": Row(lambda F, t: F.one_hot(t), [I(value=[[0, 2], [3, 1]])]),
    "one_hot-num_classes": Row(lambda F, t: F.one_hot(t, 5), [I(value=[1, 0, 4])]),
    "embedding": Row(lambda F, i, w: F.embedding(i, w), [I(value=[[0, 2, 0], [4, 3, 2]]), N(5, 3)]),
    # (the padding row gets no gradient although the output depends on it: no finite differences)
    "embedding-padding_idx": Row(lambda F, i, w: F.embedding(i, w, padding_idx=2),
                                 [I(value=[[0, 2, 0], [4, 3, 2]]), N(5, 3)], gradcheck=False),
    "embedding-negative-padding_idx": Row(lambda F, i, w: F.embedding(i, w, padding_idx=-1),
                                          [I(value=[4, 1, 4]), N(5, 3)], gradcheck=False),
    "embedding-scale_grad_by_freq": Row(lambda F, i, w: F.embedding(i, w, scale_grad_by_freq=True),
                                        [I(value=[[0, 2, 0], [4, 0, 2]]), N(5, 3)], gradcheck=False),
    "embedding-max_norm": Row(lambda F, i, w: F.embedding(i, w, max_norm=1.0, norm_type=1.0),
                              [I(value=[[0, 2, 0], [4, 0, 2]]), N(5, 3)], gradcheck=False),
    # padding, resizing, blocks
    "pad-constant": Row(lambda F, x: F.pad(x, (1, 2)), [N(2, 3)]),
    "pad-constant-value-3-axes": Row(lambda F, x: F.pad(x, (1, 0, 2, 1, 0, 3), value=1.5), [N(2, 3, 4)]),
    "pad-constant-crop": Row(lambda F, x: F.pad(x, (-1, 2, 0, -1)), [N(2, 4, 5)]),
    "pad-constant-all-axes": Row(lambda F, x: F.pad(x, [1, 1, 2, 0, 0, 1, 1, 0]), [N(1, 2, 2, 3)]),
    "pad-reflect": Row(lambda F, x: F.pad(x, (2, 1), mode="reflect"), [N(2, 3, 5)]),
    "pad-reflect-2d-strided": Row(lambda F, x: F.pad(x, (1, 2, 2, 1), mode="reflect"), [N(2, 2, 4, 5, strided=True)]),
    "pad-reflect-3d": Row(lambda F, x: F.pad(x, (1, 1, 1, 0, 0, 2), mode="reflect"), [N(1, 2, 3, 3, 3)]),
    "pad-replicate": Row(lambda F, x: F.pad(x, (3, 1, 0, 2), mode="replicate"), [N(1, 2, 3, 3)]),
    "pad-replicate-unbatched": Row(lambda F, x: F.pad(x, (2, 2), mode="replicate"), [N(3, 4)]),
    "pad-circular": Row(lambda F, x: F.pad(x, (1, 2, 2, 0), mode="circular"), [N(2, 2, 3, 4)]),
    "pad-circular-1d": Row(lambda F, x: F.pad(x, (3, 3), mode="circular"), [N(2, 2, 3)]),
    "interpolate-nearest-scale": Row(lambda F, x: F.interpolate(x, scale_factor=2), [N(2, 3, 4, 5)]),
    "interpolate-nearest-size": Row(lambda F, x: F.interpolate(x, size=(5, 3)), [N(1, 2, 4, 7)]),
    "interpolate-nearest-1d": Row(lambda F, x: F.interpolate(x, size=7), [N(2, 3, 5)]),
    "interpolate-nearest-3d": Row(lambda F, x: F.interpolate(x, scale_factor=(2, 1, 3)), [N(1, 1, 2, 3, 2)]),
    "interpolate-nearest-exact": Row(lambda F, x: F.interpolate(x, size=(5, 3), mode="nearest-exact"),
                                     [N(1, 2, 4, 7)]),
    "interpolate-bilinear": Row(lambda F, x: F.interpolate(x, size=(7, 5), mode="bilinear"), [N(2, 2, 4, 3)]),
    "interpolate-bilinear-align": Row(lambda F, x: F.interpolate(x, scale_factor=2, mode="bilinear",
                                                                 align_corners=True), [N(1, 2, 3, 4)]),
    "interpolate-bilinear-down": Row(lambda F, x: F.interpolate(x, size=(3, 2), mode="bilinear"), [N(1, 2, 7, 5)]),
    "interpolate-bilinear-scale-frac": Row(lambda F, x: F.interpolate(x, scale_factor=1.7, mode="bilinear"),
                                           [N(1, 1, 5, 6)]),
    "interpolate-bilinear-recompute": Row(lambda F, x: F.interpolate(x, scale_factor=1.7, mode="bilinear",
                                                                     recompute_scale_factor=True), [N(1, 1, 5, 6)]),
    "interpolate-linear": Row(lambda F, x: F.interpolate(x, size=9, mode="linear"), [N(2, 3, 4, strided=True)]),
    "interpolate-trilinear": Row(lambda F, x: F.interpolate(x, size=(3, 4, 5), mode="trilinear",
                                                            align_corners=False), [N(1, 2, 2, 3, 4)]),
    "interpolate-area": Row(lambda F, x: F.interpolate(x, size=(3, 2), mode="area"), [N(1, 2, 7, 5)]),
    "unfold": Row(lambda F, x: F.unfold(x, 2), [N(2, 3, 4, 5)]),
    "unfold-all-args": Row(lambda F, x: F.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
                           [N(2, 2, 5, 6)]),
    "unfold-unbatched": Row(lambda F, x: F.unfold(x, 2), [N(3, 4, 4)]),
    "fold": Row(lambda F, c: F.fold(c, (4, 5), 2), [N(2, 12, 12)]),
    "fold-all-args": Row(lambda F, c: F.fold(c, (5, 6), (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
                         [N(2, 12, 12)]),
    # channel dropout in evaluation (identity)
    "dropout1d-eval": Row(lambda F, x: F.dropout1d(x, 0.5, training=False), [N(2, 3, 4)]),
    "dropout2d-eval": Row(lambda F, x: F.dropout2d(x, 0.5, training=False), [N(2, 3, 4, 2)]),
    "dropout3d-p0": Row(lambda F, x: F.dropout3d(x, 0.0), [N(2, 3, 4, 2, 2)]),
    # losses
    "smooth_l1_loss": Row(lambda F, a, b: F.smooth_l1_loss(a, b), [N(3, 4, scale=2), N(3, 4, scale=2)]),
    "smooth_l1_loss-beta-sum": Row(lambda F, a, b: F.smooth_l1_loss(a, b, reduction="sum", beta=0.5),
                                   [N(3, 4, scale=2), X(3, 4)]),
    "smooth_l1_loss-beta0": Row(lambda F, a, b: F.smooth_l1_loss(a, b, beta=0.0), [N(3, 4), X(3, 4)],
                                gradcheck=False),
    "huber_loss": Row(lambda F, a, b: F.huber_loss(a, b), [N(3, 4, scale=2), N(3, 4, scale=2)]),
    "huber_loss-delta-none": Row(lambda F, a, b: F.huber_loss(a, b, reduction="none", delta=0.7),
                                 [N(3, 4, scale=2), N(3, 4)]),
    "huber_loss-weight": Row(lambda F, a, b, w: F.huber_loss(a, b, weight=w), [N(3, 4, scale=2), X(3, 4), X(3, 4)]),
    "mse_loss-weight": Row(lambda F, a, b, w: F.mse_loss(a, b, weight=w), [N(3, 4), N(3, 4), U(3, 4)]),
    "l1_loss-weight-sum": Row(lambda F, a, b, w: F.l1_loss(a, b, reduction="sum", weight=w),
                              [N(3, 4), X(3, 4), X(3, 4)]),
    "kl_div-batchmean": Row(lambda F, x, t: F.kl_div(x, t, reduction="batchmean"), [N(3, 4), P(3, 4)]),
    "kl_div-sum-log_target": Row(lambda F, x, t: F.kl_div(x, t, reduction="sum", log_target=True),
                                 [N(3, 4), N(3, 4)]),
    "kl_div-none": Row(lambda F, x, t: F.kl_div(x, t, reduction="none"), [N(3, 4), P(3, 4)]),
    "kl_div-zero-target": Row(lambda F, x, t: F.kl_div(x, t, reduction="sum"), [N(2, 3), C([[0.5, 0.5, 0.0],
                                                                                            [0.0, 1.0, 0.0]])]),
    # 1-D convolution and pooling
    "conv1d": Row(lambda F, x, w, b: F.conv1d(x, w, b), [N(2, 3, 7), N(4, 3, 3), N(4)]),
    "conv1d-all-args": Row(lambda F, x, w: F.conv1d(x, w, None, stride=2, padding=2, dilation=2, groups=2),
                           [N(2, 4, 9), N(6, 2, 3)]),
    "conv1d-same-unbatched": Row(lambda F, x, w: F.conv1d(x, w, padding="same"), [N(3, 8), N(2, 3, 3)]),
    "conv1d-same-even-kernel": Row(lambda F, x, w: F.conv1d(x, w, padding="same"), [N(2, 3, 7), N(2, 3, 4)]),
    "conv2d-same-even-kernel": Row(lambda F, x, w, b: F.conv2d(x, w, b, padding="same", dilation=(1, 3)),
                                   [N(1, 2, 5, 6), N(3, 2, 2, 2), N(3)]),
    "conv2d-same-even-kernel-groups": Row(lambda F, x, w: F.conv2d(x, w, padding="same", groups=2),
                                          [N(2, 4, 5, 5), N(4, 2, 4, 3)]),
    "conv1d-tuple-args": Row(lambda F, x, w: F.conv1d(x, w, stride=(2,), padding=(1,)),
                             [N(1, 2, 6, strided=True), N(3, 2, 2)]),
    "max_pool1d": Row(lambda F, x: F.max_pool1d(x, 2), [D(2, 3, 8)]),
    "max_pool1d-stride-pad-ceil": Row(lambda F, x: F.max_pool1d(x, 3, 2, 1, ceil_mode=True), [D(2, 3, 8)]),
    "max_pool1d-indices": Row(lambda F, x: F.max_pool1d(x, 3, 2, return_indices=True), [D(2, 3, 9)]),
    "max_pool1d-unbatched": Row(lambda F, x: F.max_pool1d(x, 2), [D(3, 6)]),
    "avg_pool1d": Row(lambda F, x: F.avg_pool1d(x, 3), [N(2, 3, 9)]),
    "avg_pool1d-pad-ceil-exclude": Row(lambda F, x: F.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
                                       [N(2, 3, 8)]),
    "adaptive_avg_pool1d": Row(lambda F, x: F.adaptive_avg_pool1d(x, 3), [N(2, 3, 7)]),
    "adaptive_max_pool1d": Row(lambda F, x: F.adaptive_max_pool1d(x, 3, return_indices=True), [D(2, 3, 7)]),
    # bilinear
    "bilinear": Row(lambda F, a, b, w, c: F.bilinear(a, b, w, c), [N(4, 3), N(4, 2), N(5, 3, 2), N(5)]),
    "bilinear-3d-no-bias": Row(lambda F, a, b, w: F.bilinear(a, b, w), [N(2, 4, 3), N(2, 4, 2), N(5, 3, 2)]),
}

_F = F


def _torch():
    import torch
    return torch


# --------------------------------------------------------------------------- running a row

def _close(actual, expected, what, atol=ATOL):
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != torch's {expected.shape}"
    atol = atol * max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=atol, err_msg=what)


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def compare_with_torch(torch, row: Row, seed: int):
    rng = np.random.default_rng(seed)
    arrays = [s.array(rng, np.float32) for s in row.inputs]
    f_leaves = [fastnn.tensor(a, requires_grad=s.differentiable) for a, s in zip(arrays, row.inputs)]
    t_leaves = [torch.tensor(a, requires_grad=s.differentiable) for a, s in zip(arrays, row.inputs)]
    f_out = _outputs(row.call(F, *[s.view(t) for s, t in zip(row.inputs, f_leaves)]))
    t_out = _outputs(row.call(torch.nn.functional, *[s.view(t) for s, t in zip(row.inputs, t_leaves)]))
    assert len(f_out) == len(t_out)
    for f, t in zip(f_out, t_out):
        assert f.dtype == np.dtype(str(t.dtype).replace("torch.", "")), (f.dtype, t.dtype)
        _close(f.numpy(), t.detach().numpy(), "forward", row.atol)
    if not t_out[0].requires_grad:        # nothing to differentiate (parameters count too)
        assert not f_out[0].requires_grad
        return
    upstream = rng.standard_normal(t_out[0].shape).astype(np.float32)
    f_out[0].backward(fastnn.tensor(upstream))
    t_out[0].backward(torch.tensor(upstream))
    for i, s in enumerate(row.inputs):
        if s.differentiable:
            assert f_leaves[i].grad is not None, f"no gradient for argument {i}"
            assert f_leaves[i].grad.dtype == np.float32
            _close(f_leaves[i].grad.numpy(), t_leaves[i].grad.numpy(), f"gradient of argument {i}", row.atol)


def check_gradients(row: Row, seed: int):
    rng = np.random.default_rng(seed)
    leaves = [fastnn.tensor(s.array(rng, np.float64), dtype=None if s.kind == "int" else fastnn.float64,
                            requires_grad=s.differentiable) for s in row.inputs]

    def fn(*args):
        return row.call(F, *[s.view(t) for s, t in zip(row.inputs, args)])
    assert gradcheck(fn, leaves)


def _seed(name):
    return zlib.crc32(name.encode())


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_matches_torch(torch, name):
    compare_with_torch(torch, FUNCTIONS[name], _seed(name))


@pytest.mark.parametrize("name", sorted(n for n, r in FUNCTIONS.items()
                                        if r.gradcheck and any(s.differentiable for s in r.inputs)))
def test_function_gradcheck(name):
    check_gradients(FUNCTIONS[name], _seed(name))


# --------------------------------------------------------------------------- modules

# name -> (lambda nn: module, input specs); the same constructor call builds both twins
MODULES = {
    "GELU": (lambda nn: nn.GELU(), [N(3, 4)]),
    "GELU-tanh": (lambda nn: nn.GELU("tanh"), [N(3, 4)]),
    "SiLU": (lambda nn: nn.SiLU(), [N(3, 4)]),
    "Softplus": (lambda nn: nn.Softplus(beta=2, threshold=10), [N(3, 4)]),
    "Mish": (lambda nn: nn.Mish(), [N(3, 4)]),
    "Hardtanh": (lambda nn: nn.Hardtanh(-2.0, 2.0), [N(3, 4, scale=3)]),
    "ReLU6": (lambda nn: nn.ReLU6(), [N(3, 4, scale=5)]),
    "SELU": (lambda nn: nn.SELU(), [N(3, 4)]),
    "CELU": (lambda nn: nn.CELU(0.7), [N(3, 4)]),
    "Softsign": (lambda nn: nn.Softsign(), [N(3, 4)]),
    "LogSigmoid": (lambda nn: nn.LogSigmoid(), [N(3, 4)]),
    "Softmin": (lambda nn: nn.Softmin(dim=1), [N(3, 4)]),
    "Softmax2d": (lambda nn: nn.Softmax2d(), [N(2, 3, 4, 2)]),
    "PReLU": (lambda nn: nn.PReLU(), [N(2, 3, 4)]),
    "PReLU-channels": (lambda nn: nn.PReLU(3, init=0.1), [N(2, 3, 4)]),
    "Hardswish": (lambda nn: nn.Hardswish(), [N(3, 4, scale=4)]),
    "Hardsigmoid": (lambda nn: nn.Hardsigmoid(), [N(3, 4, scale=4)]),
    "GLU": (lambda nn: nn.GLU(dim=0), [N(4, 3)]),
    "Hardshrink": (lambda nn: nn.Hardshrink(0.3), [N(3, 4)]),
    "Softshrink": (lambda nn: nn.Softshrink(), [N(3, 4)]),
    "Tanhshrink": (lambda nn: nn.Tanhshrink(), [N(3, 4)]),
    "Threshold": (lambda nn: nn.Threshold(0.1, 20.0), [N(3, 4)]),
    "LayerNorm": (lambda nn: nn.LayerNorm(4), [N(2, 3, 4)]),
    "LayerNorm-2d-no-affine": (lambda nn: nn.LayerNorm((3, 4), elementwise_affine=False), [N(2, 3, 4)]),
    "LayerNorm-no-bias": (lambda nn: nn.LayerNorm([4], eps=1e-3, bias=False), [N(2, 4)]),
    "GroupNorm": (lambda nn: nn.GroupNorm(2, 4), [N(2, 4, 3)]),
    "GroupNorm-no-affine": (lambda nn: nn.GroupNorm(3, 6, affine=False), [N(2, 6, 2, 2)]),
    "Embedding": (lambda nn: nn.Embedding(10, 3), [I(2, 5, high=10)]),
    "Embedding-padding": (lambda nn: nn.Embedding(10, 3, padding_idx=1), [I(value=[[1, 2, 1], [0, 1, 9]])]),
    "Unflatten": (lambda nn: nn.Unflatten(1, (2, 3)), [N(4, 6)]),
    "Unflatten-last-inferred": (lambda nn: nn.Unflatten(-1, (2, -1)), [N(4, 3, 6)]),
    "Conv1d": (lambda nn: nn.Conv1d(3, 4, 3), [N(2, 3, 7)]),
    "Conv1d-all-args": (lambda nn: nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2, bias=False),
                        [N(2, 4, 9)]),
    "Conv1d-same": (lambda nn: nn.Conv1d(3, 4, 3, padding="same"), [N(3, 7)]),
    "Conv1d-same-even": (lambda nn: nn.Conv1d(3, 4, 4, padding="same", dilation=3), [N(2, 3, 11)]),
    "Conv1d-reflect": (lambda nn: nn.Conv1d(3, 4, 3, padding=2, padding_mode="reflect"), [N(2, 3, 7)]),
    "Conv2d-circular": (lambda nn: nn.Conv2d(2, 3, 3, padding=1, padding_mode="circular"), [N(2, 2, 5, 4)]),
    "Conv2d-same-replicate": (lambda nn: nn.Conv2d(2, 3, (3, 2), padding="same", padding_mode="replicate"),
                              [N(2, 2, 5, 4)]),
    "MaxPool1d": (lambda nn: nn.MaxPool1d(2), [D(2, 3, 8)]),
    "MaxPool1d-all-args": (lambda nn: nn.MaxPool1d(3, 2, 1, ceil_mode=True), [D(2, 3, 8)]),
    "AvgPool1d": (lambda nn: nn.AvgPool1d(3), [N(2, 3, 9)]),
    "AvgPool1d-stride-padding": (lambda nn: nn.AvgPool1d(3, 2, 1), [N(2, 3, 9)]),
    "AdaptiveAvgPool1d": (lambda nn: nn.AdaptiveAvgPool1d(3), [N(2, 3, 7)]),
    "AdaptiveMaxPool1d": (lambda nn: nn.AdaptiveMaxPool1d(3), [D(2, 3, 7)]),
    "SmoothL1Loss": (lambda nn: nn.SmoothL1Loss(beta=0.5), [N(3, 4), N(3, 4)]),
    "HuberLoss": (lambda nn: nn.HuberLoss(delta=2.0), [N(3, 4, scale=3), N(3, 4)]),
    "KLDivLoss": (lambda nn: nn.KLDivLoss(reduction="batchmean"), [N(3, 4), P(3, 4)]),
    "KLDivLoss-log_target": (lambda nn: nn.KLDivLoss(reduction="sum", log_target=True), [N(3, 4), N(3, 4)]),
    "CosineSimilarity": (lambda nn: nn.CosineSimilarity(), [N(3, 4), N(3, 4)]),
    "PairwiseDistance": (lambda nn: nn.PairwiseDistance(p=1.0, keepdim=True), [N(3, 4), N(3, 4)]),
    "Dropout1d-eval": (lambda nn: nn.Dropout1d().eval(), [N(2, 3, 4)]),
    "Dropout2d-eval": (lambda nn: nn.Dropout2d(0.3).eval(), [N(2, 3, 4, 4)]),
    "Dropout3d-eval": (lambda nn: nn.Dropout3d().eval(), [N(2, 3, 2, 2, 2)]),
    "Bilinear": (lambda nn: nn.Bilinear(3, 2, 4), [N(5, 3), N(5, 2)]),
    "Bilinear-no-bias": (lambda nn: nn.Bilinear(3, 2, 4, bias=False), [N(5, 3), N(5, 2)]),
    "Upsample": (lambda nn: nn.Upsample(scale_factor=2), [N(1, 2, 3, 4)]),
    "Upsample-bilinear": (lambda nn: nn.Upsample(size=(3, 4), mode="bilinear", align_corners=True), [N(1, 2, 5, 3)]),
    "UpsamplingNearest2d": (lambda nn: nn.UpsamplingNearest2d(scale_factor=2), [N(1, 2, 3, 4)]),
    "UpsamplingBilinear2d": (lambda nn: nn.UpsamplingBilinear2d(size=5), [N(1, 2, 3, 4)]),
    "Fold": (lambda nn: nn.Fold((4, 5), 2), [N(2, 12, 12)]),
    "Unfold": (lambda nn: nn.Unfold(2, padding=1), [N(2, 3, 4, 4)]),
    "ZeroPad1d": (lambda nn: nn.ZeroPad1d((1, 2)), [N(2, 3, 4)]),
    "ZeroPad2d": (lambda nn: nn.ZeroPad2d(2), [N(2, 3, 4)]),
    "ZeroPad3d": (lambda nn: nn.ZeroPad3d(1), [N(1, 2, 3, 2, 2)]),
    "ConstantPad1d": (lambda nn: nn.ConstantPad1d(2, 3.5), [N(2, 3, 4)]),
    "ConstantPad2d": (lambda nn: nn.ConstantPad2d((1, 2, 3, 4), 0.0), [N(2, 3, 4)]),
    "ConstantPad3d": (lambda nn: nn.ConstantPad3d((1, 0, 0, 1, 2, 0), -1.0), [N(2, 3, 4, 2)]),
    "ReflectionPad1d": (lambda nn: nn.ReflectionPad1d(2), [N(2, 3, 4)]),
    "ReflectionPad2d": (lambda nn: nn.ReflectionPad2d((1, 0, 2, 1)), [N(2, 3, 4)]),
    "ReflectionPad3d": (lambda nn: nn.ReflectionPad3d(1), [N(1, 2, 3, 2, 2)]),
    "ReplicationPad1d": (lambda nn: nn.ReplicationPad1d((3, 1)), [N(2, 3, 4)]),
    "ReplicationPad2d": (lambda nn: nn.ReplicationPad2d((1, 1, 2, 0)), [N(2, 3, 4, 3)]),
    "ReplicationPad3d": (lambda nn: nn.ReplicationPad3d(2), [N(2, 3, 2, 2)]),
    "CircularPad1d": (lambda nn: nn.CircularPad1d(2), [N(2, 3, 4)]),
    "CircularPad2d": (lambda nn: nn.CircularPad2d(1), [N(2, 3, 4, 3)]),
    "CircularPad3d": (lambda nn: nn.CircularPad3d((1, 0, 1, 0, 0, 1)), [N(1, 2, 3, 2, 2)]),
}

# reprs only (torch's in-place layers cannot take a leaf that requires grad)
REPRS = [lambda nn: nn.ReLU6(inplace=True), lambda nn: nn.Threshold(0.1, 20, True), lambda nn: nn.SiLU(True),
         lambda nn: nn.Hardtanh(inplace=True), lambda nn: nn.CELU(inplace=True), lambda nn: nn.Mish(inplace=True),
         lambda nn: nn.SELU(inplace=True), lambda nn: nn.Hardswish(True), lambda nn: nn.Hardsigmoid(True)]


def _copy_parameters(f_module, t_module):
    """torch's initial values into fastnn's twin, by name (their inits draw different numbers)."""
    t_state = t_module.state_dict()
    f_state = dict(f_module.named_parameters())
    f_state.update((k, v) for k, v in f_module.named_buffers() if v is not None)
    assert sorted(f_state) == sorted(t_state)
    for key, value in t_state.items():
        assert tuple(f_state[key].shape) == tuple(value.shape), key
        f_state[key].data[...] = value.numpy()


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_matches_torch(torch, name):
    make, specs = MODULES[name]
    f_module, t_module = make(nn), make(torch.nn)
    assert repr(f_module) == repr(t_module)
    _copy_parameters(f_module, t_module)
    row = Row(lambda F, *x: (f_module if F is _F else t_module)(*x), specs)
    compare_with_torch(torch, row, _seed(name))
    for (key, f_param), (_, t_param) in zip(sorted(f_module.named_parameters()), sorted(t_module.named_parameters())):
        _close(f_param.grad.numpy(), t_param.grad.numpy(), f"gradient of {key}")


@pytest.mark.parametrize("make", REPRS)
def test_module_repr_matches_torch(torch, make):
    assert repr(make(nn)) == repr(make(torch.nn))


# --------------------------------------------------------------------------- argument errors

@pytest.mark.parametrize("call, error, match", [
    (lambda: F.gelu(fastnn.zeros(2), approximate="erf"), ValueError, "none or tanh"),
    (lambda: F.hardtanh(fastnn.zeros(2), 1.0, -1.0), ValueError, "min_val cannot be greater than max_val"),
    (lambda: nn.Hardtanh(1.0, 1.0), ValueError, "must be greater than min_val"),
    (lambda: F.celu(fastnn.zeros(2), alpha=0.0), ValueError, "alpha cannot be 0"),
    (lambda: F.softshrink(fastnn.zeros(2), -1.0), ValueError, "lambd"),
    (lambda: F.glu(fastnn.zeros(3)), ValueError, "dimension 0 is size 3"),
    (lambda: F.glu(fastnn.zeros(())), ValueError, "scalars"),
    (lambda: F.glu(fastnn.zeros(2, 4), dim=2), IndexError, "dim 2"),
    (lambda: F.prelu(fastnn.zeros(2, 3), fastnn.ones(2)), ValueError, "parameter numbers = 2 and channel size = 3"),
    (lambda: F.prelu(fastnn.zeros(3), fastnn.ones(3)), ValueError, "channel size = 1"),
    (lambda: F.softmin(fastnn.zeros(2, 3)), TypeError, "dim"),
    (lambda: nn.Softmax2d()(fastnn.zeros(2, 3)), ValueError, "3D or 4D"),
])
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_hardtanh_deprecated_keywords(torch):
    with pytest.warns(FutureWarning, match="min_val"):
        layer = nn.Hardtanh(min_value=-3.0)
    assert (layer.min_val, layer.max_val) == (-3.0, 1.0)


def test_softmin_module_without_dim_warns_and_picks_torchs_dim(torch):
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = nn.Softmin()(fastnn.tensor(x))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        expected = torch.nn.Softmin()(torch.tensor(x))
    _close(out.numpy(), expected.numpy(), "softmin")


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.layer_norm(fastnn.zeros(2, 3), (4,)), ValueError, r"normalized_shape=\[4\]"),
    (lambda: F.layer_norm(fastnn.zeros(2, 4), 4, weight=fastnn.ones(3)), ValueError, "weight"),
    (lambda: F.group_norm(fastnn.zeros(2, 3, 4), 2), ValueError, "divisible by num_groups"),
    (lambda: nn.GroupNorm(2, 3), ValueError, "divisible by num_groups"),
    (lambda: F.normalize(fastnn.zeros(3), dim=1), IndexError, "out of range"),
    (lambda: F.one_hot(fastnn.tensor([0.5])), TypeError, "int64"),
    (lambda: F.one_hot(fastnn.tensor([0, 3]), 3), ValueError, "smaller than num_classes"),
    (lambda: F.one_hot(fastnn.tensor([-1, 0])), ValueError, "non-negative"),
    (lambda: F.one_hot(fastnn.tensor(np.zeros(0, np.int64))), ValueError, "empty"),
    (lambda: F.embedding(fastnn.tensor([0, 5]), fastnn.zeros(5, 2)), IndexError, "index 5"),
    (lambda: F.embedding(fastnn.tensor([0.0]), fastnn.zeros(5, 2)), TypeError, "integer"),
    (lambda: F.embedding(fastnn.tensor([0]), fastnn.zeros(5, 2), padding_idx=5), ValueError, "padding_idx"),
    (lambda: nn.Embedding(5, 2, padding_idx=-6), ValueError, "Padding_idx"),
    (lambda: F.pad(fastnn.zeros(2, 3), (1, 2, 3)), ValueError, "divisible by 2"),
    (lambda: F.pad(fastnn.zeros(2, 3), (1,) * 6), ValueError, "two times the input dimension"),
    (lambda: F.pad(fastnn.zeros(1, 2, 3), (3, 3), mode="reflect"), ValueError, r"padding \(3, 3\) at dimension 2"),
    (lambda: F.pad(fastnn.zeros(3), (1, 1), mode="replicate"), NotImplementedError, "1D input"),
    (lambda: F.pad(fastnn.zeros(1, 2, 3), (4, 4), mode="circular"), ValueError, "wrapping around more than once"),
    (lambda: F.pad(fastnn.zeros(1, 2, 3), (1, 1), mode="reflect", value=2.0), ValueError, "value"),
    (lambda: F.pad(fastnn.zeros(1, 2, 3), (1, 1), mode="mirror"), NotImplementedError, "mirror"),
    (lambda: F.pad(fastnn.zeros(1, 2, 3), (-2, -2)), ValueError, "crops more"),
    (lambda: F.interpolate(fastnn.zeros(1, 1, 4, 4)), ValueError, "either size or scale_factor"),
    (lambda: F.interpolate(fastnn.zeros(1, 1, 4, 4), 2, 2), ValueError, "only one of size or scale_factor"),
    (lambda: F.interpolate(fastnn.zeros(1, 1, 4, 4), 2, mode="linear"), NotImplementedError, "needs 3D input"),
    (lambda: F.interpolate(fastnn.zeros(1, 1, 4, 4), 2, align_corners=True), ValueError, "align_corners"),
    (lambda: F.interpolate(fastnn.zeros(1, 1, 4, 4), (2,), mode="bilinear"), ValueError, "same number of spatial"),
    (lambda: F.interpolate(fastnn.zeros(1, 1, 4, 4), 2, mode="bicubic"), NotImplementedError, "bicubic"),
    (lambda: F.fold(fastnn.zeros(1, 12, 11), (4, 5), 2), ValueError, "sliding blocks"),
    (lambda: F.fold(fastnn.zeros(1, 10, 12), (4, 5), 2), ValueError, "divisible"),
    (lambda: F.conv1d(fastnn.zeros(1, 2, 5, 5), fastnn.zeros(1, 2, 3)), ValueError, "conv1d"),
    (lambda: F.max_pool1d(fastnn.zeros(5), 2), ValueError, "2D or 3D"),
    (lambda: F.dropout1d(fastnn.zeros(2, 3, 4, 5)), ValueError, "2D or 3D"),
    (lambda: F.dropout2d(fastnn.zeros(2, 3), 1.5), ValueError, "between 0 and 1"),
    (lambda: nn.Dropout2d(-0.1), ValueError, "between 0 and 1"),
    (lambda: F.smooth_l1_loss(fastnn.zeros(2), fastnn.zeros(2), beta=-1.0), ValueError, "negative"),
    (lambda: F.huber_loss(fastnn.zeros(2), fastnn.zeros(3)), ValueError, "shape"),
    (lambda: F.huber_loss(fastnn.zeros(2), fastnn.zeros(2), weight=fastnn.ones(3)), ValueError, "same size"),
    (lambda: F.mse_loss(fastnn.zeros(2), fastnn.zeros(2), weight=fastnn.ones(3)), ValueError, "same size"),
    (lambda: F.kl_div(fastnn.zeros(2), fastnn.zeros(2), reduction="avg"), ValueError, "reduction"),
    (lambda: F.bilinear(fastnn.zeros(2, 3), fastnn.zeros(2, 2), fastnn.zeros(4, 2, 2)), ValueError, "bilinear"),
    (lambda: nn.Conv1d(2, 2, 3, padding_mode="mirror"), ValueError, "padding_mode"),
    (lambda: nn.Unflatten(1, (2, 2))(fastnn.zeros(3, 5)), ValueError, "does not multiply"),
    (lambda: nn.ZeroPad2d((1, 2)), ValueError, "tuple of 4"),
])
def test_bad_arguments_of_layers(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_kl_div_mean_warns_as_torch():
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(fastnn.zeros(2, 3), fastnn.full((2, 3), 1 / 3))


def test_legacy_reduction_flags(torch):
    a, b = np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32)
    for kwargs in ({"size_average": False}, {"reduce": False}, {"size_average": True, "reduce": True}):
        with pytest.warns(UserWarning, match="deprecated"):
            mine = F.smooth_l1_loss(fastnn.tensor(a), fastnn.tensor(b), **kwargs)
        with pytest.warns(UserWarning):
            theirs = torch.nn.functional.smooth_l1_loss(torch.tensor(a), torch.tensor(b), **kwargs)
        _close(mine.numpy(), theirs.numpy(), str(kwargs))


def test_embedding_max_norm_renormalises_the_rows_looked_up_in_place(torch):
    w = np.random.default_rng(2).standard_normal((6, 4)).astype(np.float32) * 2
    idx = np.array([[0, 2, 2], [5, 0, 1]])
    fw, tw = fastnn.tensor(w.copy(), requires_grad=True), torch.tensor(w.copy(), requires_grad=True)
    out = F.embedding(fastnn.tensor(idx), fw, max_norm=1.5)
    expected = torch.nn.functional.embedding(torch.tensor(idx), tw, max_norm=1.5)
    _close(fw.numpy(), tw.detach().numpy(), "renormalised weight")
    _close(out.numpy(), expected.detach().numpy(), "forward")
    assert np.allclose(fw.numpy()[[3, 4]], w[[3, 4]])          # rows not looked up are left alone


def test_embedding_from_pretrained_and_freeze(torch):
    data = np.arange(12, dtype=np.float32).reshape(4, 3)
    frozen = nn.Embedding.from_pretrained(fastnn.tensor(data))
    assert not frozen.weight.requires_grad
    assert repr(frozen) == repr(torch.nn.Embedding.from_pretrained(torch.tensor(data)))
    trainable = nn.Embedding.from_pretrained(fastnn.tensor(data), freeze=False, padding_idx=0)
    assert trainable.weight.requires_grad and trainable.padding_idx == 0
    np.testing.assert_array_equal(trainable(fastnn.tensor([3, 1])).numpy(), data[[3, 1]])


def test_new_layers_initialise_as_torch():
    """Shapes and distributions of the initial parameters (PyTorch's init rules)."""
    fastnn.manual_seed(0)
    e = nn.Embedding(1000, 8, padding_idx=3)
    assert abs(e.weight.numpy().std() - 1) < 0.05 and not e.weight.numpy()[3].any()
    b = nn.Bilinear(25, 4, 3)
    bound = 1 / 5
    assert b.weight.shape == (3, 25, 4) and np.abs(b.weight.numpy()).max() <= bound
    assert np.abs(b.bias.numpy()).max() <= bound
    ln, gn = nn.LayerNorm((2, 3)), nn.GroupNorm(2, 4)
    assert (ln.weight.numpy() == 1).all() and (ln.bias.numpy() == 0).all() and ln.weight.shape == (2, 3)
    assert (gn.weight.numpy() == 1).all() and (gn.bias.numpy() == 0).all()
    assert (nn.PReLU(3, init=0.1).weight.numpy() == np.float32(0.1)).all()
    c = nn.Conv1d(4, 6, 3, groups=2)
    assert c.weight.shape == (6, 2, 3) and np.abs(c.weight.numpy()).max() <= 1 / np.sqrt(6)


@pytest.mark.parametrize("fn, shape, mask_shape", [
    (F.dropout1d, (8, 16, 5), (8, 16, 1)), (F.dropout1d, (16, 5), (16, 1)),
    (F.dropout2d, (8, 16, 3, 3), (8, 16, 1, 1)),
    (F.dropout3d, (8, 16, 2, 2, 2), (8, 16, 1, 1, 1)), (F.dropout3d, (16, 2, 2, 2), (16, 1, 1, 1)),
])
def test_channel_dropout_zeroes_whole_channels(fn, shape, mask_shape):
    fastnn.manual_seed(4)
    x = fastnn.tensor(np.random.default_rng(0).uniform(1, 2, shape).astype(np.float32), requires_grad=True)
    y = fn(x, 0.25)
    kept = y.numpy() != 0
    per_channel = kept.reshape(*[s for s, m in zip(shape, mask_shape) if m != 1], -1)   # (channels, map)
    assert (per_channel.all(axis=-1) | ~per_channel.any(axis=-1)).all()     # all or nothing per channel
    assert 0.6 < per_channel[..., 0].mean() < 0.9
    np.testing.assert_allclose(y.numpy()[kept], x.numpy()[kept] / 0.75, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / np.float32(0.75), rtol=1e-6)


def test_dropout2d_on_3d_input_warns_and_drops_along_the_first_two_axes():
    fastnn.manual_seed(1)
    with pytest.warns(UserWarning, match="dropout1d"):
        y = F.dropout2d(fastnn.ones(4, 6, 5), 0.5)
    kept = y.numpy() != 0
    assert (kept.all(axis=-1) | ~kept.any(axis=-1)).all()


def test_channel_dropout_modules_follow_train_and_eval():
    layer = nn.Dropout2d(0.5)
    x = fastnn.ones(4, 8, 3, 3)
    assert (layer(x).numpy() != 1).any()
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())
