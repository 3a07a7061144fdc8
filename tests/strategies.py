"""Reusable hypothesis strategies for kernel tests (shared by every backend's tests).

Each ``*_cases()`` strategy draws a small *geometry* (a frozen dataclass of ints), never
array contents: tests draw a ``seed`` from :data:`seeds` and fill arrays with
``numpy.random.default_rng(seed)``, which is far faster than hypothesis-built arrays and
still reproducible (hypothesis shrinks and replays the seed).

Geometries are built so that they always fit (the dilated kernel never exceeds the padded
input), covering batch size 1, odd and prime sizes, non-square kernels, stride > 1 (also
different along H and W), padding and dilation. Output sizes are computed here from the
textbook formula, independently of ``fastnn``.

    from strategies import conv_cases, seeds

    @given(case=conv_cases(), seed=seeds)
    def test_conv(case, seed):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal(case.x_shape)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

#: array contents come from ``np.random.default_rng(seed)``
seeds = st.integers(0, 2**32 - 1)
#: the two float dtypes of the contract
float_dtypes = st.sampled_from([np.float32, np.float64])

#: sizes that are not multiples of 4/8/16, where blocked kernels keep their remainders
AWKWARD_SIZES = (1, 2, 3, 5, 7, 9, 13, 15, 17, 31, 33)


def out_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """``floor((size + 2*padding - dilation*(kernel-1) - 1) / stride) + 1``."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


# --------------------------------------------------------------------------- gemm

@dataclass(frozen=True)
class GemmCase:
    m: int
    k: int
    n: int
    trans_a: bool
    trans_b: bool

    @property
    def a_shape(self):
        """Shape of ``a`` as stored (``(K, M)`` when ``trans_a``)."""
        return (self.k, self.m) if self.trans_a else (self.m, self.k)

    @property
    def b_shape(self):
        return (self.n, self.k) if self.trans_b else (self.k, self.n)

    @property
    def c_shape(self):
        return (self.m, self.n)


def gemm_dims(max_size: int = 40):
    """A matrix dimension: often an awkward size (1, primes, 2^k +- 1), else any in range."""
    return st.one_of(st.sampled_from([s for s in AWKWARD_SIZES if s <= max_size]),
                     st.integers(1, max_size))


@st.composite
def gemm_cases(draw, max_size: int = 40, transposes: bool = True):
    """``(M, K, N)`` and the two transpose flags (always False when ``transposes=False``)."""
    dim = gemm_dims(max_size)
    flag = st.booleans() if transposes else st.just(False)
    return GemmCase(draw(dim), draw(dim), draw(dim), draw(flag), draw(flag))


# --------------------------------------------------------------------------- convolution

@dataclass(frozen=True)
class ConvCase:
    n: int
    c: int
    f: int
    h: int
    w: int
    k: tuple   # (kh, kw)
    s: tuple   # (sh, sw)
    p: tuple   # (ph, pw)
    d: tuple   # (dh, dw)

    @property
    def x_shape(self):
        return (self.n, self.c, self.h, self.w)

    @property
    def w_shape(self):
        return (self.f, self.c, *self.k)

    @property
    def out_hw(self):
        return (out_size(self.h, self.k[0], self.s[0], self.p[0], self.d[0]),
                out_size(self.w, self.k[1], self.s[1], self.p[1], self.d[1]))

    @property
    def out_shape(self):
        return (self.n, self.f, *self.out_hw)

    @property
    def cols_shape(self):
        oh, ow = self.out_hw
        return (self.n, self.c * self.k[0] * self.k[1], oh * ow)

    @property
    def kwargs(self):
        """``stride=, padding=, dilation=`` for the contract's conv methods."""
        return dict(stride=self.s, padding=self.p, dilation=self.d)


def _fitting_size(draw, span: int, padding: int, max_size: int) -> int:
    lo = max(1, span - 2 * padding)
    return draw(st.integers(lo, max(lo, max_size)))


@st.composite
def conv_cases(draw, max_batch: int = 3, max_channels: int = 3, max_filters: int = 4, max_size: int = 9,
               max_kernel: int = 4, max_stride: int = 3, max_padding: int = 2, max_dilation: int = 2):
    """A convolution geometry that fits: kernels may be non-square, strides/paddings/dilations
    differ along H and W, batch may be 1, image sizes are often odd."""
    kh, kw = draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel))
    sh, sw = draw(st.integers(1, max_stride)), draw(st.integers(1, max_stride))
    ph, pw = draw(st.integers(0, max_padding)), draw(st.integers(0, max_padding))
    dh, dw = draw(st.integers(1, max_dilation)), draw(st.integers(1, max_dilation))
    h = _fitting_size(draw, dh * (kh - 1) + 1, ph, max_size)
    w = _fitting_size(draw, dw * (kw - 1) + 1, pw, max_size)
    n = draw(st.integers(1, max_batch))
    c = draw(st.integers(1, max_channels))
    f = draw(st.integers(1, max_filters))
    return ConvCase(n, c, f, h, w, (kh, kw), (sh, sw), (ph, pw), (dh, dw))


# --------------------------------------------------------------------------- pooling

@dataclass(frozen=True)
class PoolCase:
    n: int
    c: int
    h: int
    w: int
    k: tuple            # (kh, kw)
    stride: tuple | None  # as passed to the kernel; None = default (= kernel_size)
    p: tuple            # (ph, pw), each at most half the kernel
    count_include_pad: bool

    @property
    def s(self):
        """The effective stride."""
        return self.k if self.stride is None else self.stride

    @property
    def x_shape(self):
        return (self.n, self.c, self.h, self.w)

    @property
    def out_hw(self):
        return (out_size(self.h, self.k[0], self.s[0], self.p[0]),
                out_size(self.w, self.k[1], self.s[1], self.p[1]))

    @property
    def out_shape(self):
        return (self.n, self.c, *self.out_hw)

    @property
    def kwargs(self):
        """``kernel_size=, stride=, padding=`` for the contract's pool methods."""
        return dict(kernel_size=self.k, stride=self.stride, padding=self.p)


@st.composite
def pool_cases(draw, max_batch: int = 3, max_channels: int = 3, max_size: int = 9, max_kernel: int = 4,
               max_stride: int = 3):
    """A pooling geometry (PyTorch rules: padding <= kernel/2), stride default (None), smaller
    than the kernel (overlapping windows) or larger (gaps)."""
    kh, kw = draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, max_stride), st.integers(1, max_stride))))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    h = _fitting_size(draw, kh, ph, max_size)
    w = _fitting_size(draw, kw, pw, max_size)
    return PoolCase(draw(st.integers(1, max_batch)), draw(st.integers(1, max_channels)), h, w,
                    (kh, kw), stride, (ph, pw), draw(st.booleans()))


# --------------------------------------------------------------------------- elementwise, losses, norm

def shapes(min_dims: int = 1, max_dims: int = 4, max_side: int = 7):
    """Any small array shape (for elementwise kernels)."""
    return st.lists(st.integers(1, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


@dataclass(frozen=True)
class LossCase:
    n: int
    c: int
    label_smoothing: float


@st.composite
def loss_cases(draw, max_batch: int = 9, max_classes: int = 12):
    """``(N, C)`` logits (batch 1 and a single class included) and a label smoothing in [0, 1]."""
    ls = draw(st.one_of(st.just(0.0), st.just(0.1), st.floats(0.0, 1.0)))
    return LossCase(draw(st.integers(1, max_batch)), draw(st.integers(1, max_classes)), ls)


@dataclass(frozen=True)
class NormCase:
    n: int
    c: int
    l: int
    momentum: float
    eps: float

    @property
    def x_shape(self):
        return (self.n, self.c, self.l)


@st.composite
def batchnorm_cases(draw, max_batch: int = 5, max_channels: int = 4, max_length: int = 9):
    """``x`` (N, C, L) with more than one value per channel (trainable); L = 1 is BatchNorm1d
    on (N, C) input, L = H*W is BatchNorm2d."""
    n = draw(st.integers(1, max_batch))
    l = draw(st.integers(2 if n == 1 else 1, max_length))
    momentum = draw(st.one_of(st.just(0.1), st.floats(0.0, 1.0)))
    eps = draw(st.sampled_from([1e-5, 1e-3, 0.1]))
    return NormCase(n, draw(st.integers(1, max_channels)), l, momentum, eps)


__all__ = ["seeds", "float_dtypes", "AWKWARD_SIZES", "out_size", "GemmCase", "gemm_dims", "gemm_cases",
           "ConvCase", "conv_cases", "PoolCase", "pool_cases", "shapes", "LossCase", "loss_cases",
           "NormCase", "batchnorm_cases"]
