"""The tensor namespace against PyTorch, OpInfo style: one row per operation.

A row is (name, a callable taking the library module and the input tensors, a sample
generator, flags). Each row runs in fastnn and in PyTorch on the same random inputs, in
several layouts -- contiguous, transposed (a ``.transpose(-1, -2)`` view) and strided
(every other row of a bigger tensor) -- in float64 (values and gradients) and float32
(values and dtypes). It compares values, shapes, dtypes and the gradient of a randomly
weighted sum of the outputs with respect to every float input. Further tests cover the
method and function forms, named tuples, the dtype rules of integer and bool inputs, and
the errors for bad arguments.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest

import fastnn
from fastnn import ops

pytestmark = pytest.mark.torch


class _FastnnNamespace:
    """``fastnn`` as a test sees it: its top-level names, with the non-method functions of
    the op families (``fastnn.ops.TOP_LEVEL``: cat, einsum, meshgrid...) taking precedence,
    so that these tests check the op families' versions."""

    def __getattr__(self, name):
        if name in ops.TOP_LEVEL:
            return ops.TOP_LEVEL[name]
        return getattr(fastnn, name)


FNN = _FastnnNamespace()


# =========================================================================== samples

def _rng(seed):
    return np.random.default_rng(seed)


def normal(rng, *shape):
    return rng.standard_normal(shape)


def positive(rng, *shape):
    return rng.uniform(0.3, 3.0, shape)


def unit(rng, *shape):
    return rng.uniform(-0.9, 0.9, shape)


def ints(rng, *shape, lo=-5, hi=6):
    return rng.integers(lo, hi, shape).astype(np.int64)


def bools(rng, *shape):
    return rng.random(shape) < 0.5


def away_from_zero(rng, *shape):
    return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


UNARY_SHAPES = [(), (5,), (3, 4), (2, 3, 4)]
BINARY_SHAPES = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((4,), (3, 4)), ((2, 3, 4), ()), ((), ())]


def unary_samples(gen=normal, shapes=UNARY_SHAPES):
    return lambda rng: [(gen(rng, *s),) for s in shapes]


def binary_samples(gen_a=normal, gen_b=normal, shapes=BINARY_SHAPES):
    return lambda rng: [(gen_a(rng, *sa), gen_b(rng, *sb)) for sa, sb in shapes]


def fixed(*samples_fn):
    """Samples built by the given functions of ``rng``."""
    return lambda rng: [fn(rng) for fn in samples_fn]


@dataclass
class Op:
    name: str
    fn: Callable
    samples: Callable
    grad: bool = True
    rtol: float = 1e-6
    atol: float = 1e-8
    layouts: tuple = ("contiguous", "transposed", "strided")
    float32: bool = True
    extra: dict = field(default_factory=dict)


OPS: list[Op] = []


def op(name, fn, samples, **kw):
    OPS.append(Op(name, fn, samples, **kw))


# --------------------------------------------------------------------------- element-wise
for _n in ["sin", "cos", "atan", "sinh", "cosh", "asinh", "exp", "exp2", "expm1", "erf", "erfc", "sinc",
           "deg2rad", "rad2deg", "abs", "absolute", "neg", "negative", "square", "sign", "sgn", "positive", "arctan"]:
    op(_n, (lambda n: lambda L, x: getattr(L, n)(x))(_n), unary_samples())
# the activations (fastnn/ops/activation.py) have their own tests; here their function forms, on tensors
# with dimensions (their 0-d backward is left to that module's owner)
for _n in ["sigmoid", "tanh", "relu"]:
    op(_n, (lambda n: lambda L, x: getattr(L, n)(x))(_n), unary_samples(shapes=UNARY_SHAPES[1:]))
for _n in ["floor", "ceil", "trunc", "round", "frac", "fix"]:
    op(_n, (lambda n: lambda L, x: getattr(L, n)(x))(_n), unary_samples(lambda r, *s: normal(r, *s) * 3))
for _n in ["log", "log2", "log10", "sqrt", "rsqrt", "reciprocal"]:
    op(_n, (lambda n: lambda L, x: getattr(L, n)(x))(_n), unary_samples(positive))
op("log1p", lambda L, x: L.log1p(x), unary_samples(positive))
for _n in ["asin", "acos", "atanh", "erfinv", "arcsin", "arccos", "arctanh"]:
    op(_n, (lambda n: lambda L, x: getattr(L, n)(x))(_n), unary_samples(unit), rtol=1e-5)
op("tan", lambda L, x: L.tan(x), unary_samples(unit))
op("lgamma", lambda L, x: L.lgamma(x), unary_samples(lambda r, *s: r.uniform(-3.5, 6, s)), rtol=1e-5)
op("digamma", lambda L, x: L.digamma(x), unary_samples(lambda r, *s: r.uniform(0.2, 6, s)), rtol=1e-5)
op("angle", lambda L, x: L.angle(x), unary_samples())
op("isreal", lambda L, x: L.isreal(x), unary_samples(), grad=False)
op("conj", lambda L, x: L.conj(x), unary_samples())
op("resolve_neg", lambda L, x: L.resolve_neg(x), unary_samples())
op("frexp", lambda L, x: L.frexp(x), unary_samples(lambda r, *s: normal(r, *s) * 100))
op("ldexp", lambda L, a, b: L.ldexp(a, b), binary_samples(normal, lambda r, *s: r.integers(-3, 4, s).astype(float)))
op("acosh", lambda L, x: L.acosh(x), unary_samples(lambda r, *s: r.uniform(1.2, 3, s)))
op("logit", lambda L, x: L.logit(x), unary_samples(lambda r, *s: r.uniform(0.05, 0.95, s)))
op("logit_eps", lambda L, x: L.logit(x, eps=0.2), unary_samples(lambda r, *s: r.uniform(0.05, 0.95, s)))
op("round_decimals", lambda L, x: L.round(x, decimals=2), unary_samples(lambda r, *s: normal(r, *s) * 10))


def _with_specials(rng, *shape):
    a = normal(rng, *shape)
    flat = a.reshape(-1)
    if flat.size >= 4:
        flat[:3] = [np.nan, np.inf, -np.inf]
    return a


for _n in ["isnan", "isinf", "isfinite", "isposinf", "isneginf", "signbit", "logical_not", "nan_to_num"]:
    op(_n, (lambda n: lambda L, x: getattr(L, n)(x))(_n), unary_samples(_with_specials))
op("nan_to_num_args", lambda L, x: L.nan_to_num(x, nan=1.5, posinf=9.0, neginf=-9.0), unary_samples(_with_specials))

for _n in ["maximum", "minimum", "fmax", "fmin", "atan2", "arctan2", "hypot", "xlogy"]:
    op(_n, (lambda n: lambda L, a, b: getattr(L, n)(a, b))(_n), binary_samples())
op("xlogy_pos", lambda L, a, b: L.xlogy(a, b), binary_samples(normal, positive))
for _n in ["fmod", "remainder"]:
    op(_n, (lambda n: lambda L, a, b: getattr(L, n)(a, b))(_n), binary_samples(normal, away_from_zero))
op("floor_divide", lambda L, a, b: L.floor_divide(a, b), binary_samples(normal, away_from_zero), grad=False)
op("copysign", lambda L, a, b: L.copysign(a, b), binary_samples(away_from_zero, away_from_zero))
op("logaddexp", lambda L, a, b: L.logaddexp(a, b), binary_samples())
op("logaddexp2", lambda L, a, b: L.logaddexp2(a, b), binary_samples())
op("heaviside", lambda L, a, b: L.heaviside(a, b), binary_samples(lambda r, *s: r.integers(-1, 2, s).astype(float)),
   grad=False)
op("nextafter", lambda L, a, b: L.nextafter(a, b), binary_samples(), grad=False)
op("gcd_lcm", lambda L, a, b: (L.gcd(a, b), L.lcm(a, b)), binary_samples(lambda r, *s: ints(r, *s, lo=-20, hi=20),
                                                                       lambda r, *s: ints(r, *s, lo=-20, hi=20)),
   grad=False, float32=False)
for _n in ["logical_and", "logical_or", "logical_xor"]:
    op(_n, (lambda n: lambda L, a, b: getattr(L, n)(a, b))(_n), binary_samples(lambda r, *s: ints(r, *s, lo=-1, hi=2),
                                                                            normal))
op("maximum_ties", lambda L, a, b: L.maximum(a, b), fixed(lambda r: (np.array([1.0, 2.0, 3.0]),
                                                                    np.array([1.0, 0.0, 3.0]))))
op("minimum_ties", lambda L, a, b: L.minimum(a, b), fixed(lambda r: (np.array([1.0, 2.0, 3.0]),
                                                                    np.array([1.0, 0.0, 3.0]))))
op("lerp_scalar", lambda L, a, b: L.lerp(a, b, 0.3), binary_samples(shapes=[((3, 4), (3, 4)), ((3, 1), (4,))]))
op("lerp_tensor", lambda L, a, b, w: L.lerp(a, b, w),
   lambda rng: [(normal(rng, 3, 4), normal(rng, 3, 4), normal(rng, 3, 4)),
                (normal(rng, 3, 1), normal(rng, 4), normal(rng, 3, 4))])
op("clamp_numbers", lambda L, x: L.clamp(x, -0.5, 0.5), unary_samples())
op("clamp_min_only", lambda L, x: x.clamp(min=0.1), unary_samples())
op("clip", lambda L, x: L.clip(x, max=0.2), unary_samples())
op("clamp_min", lambda L, x: L.clamp_min(x, 0.3), unary_samples())
op("clamp_max", lambda L, x: L.clamp_max(x, 0.3), unary_samples())
op("clamp_tensors", lambda L, x, lo, hi: L.clamp(x, lo, hi),
   lambda rng: [(normal(rng, 3, 4), normal(rng, 3, 4) - 1, normal(rng, 4) + 1),
                (normal(rng, 3, 4), normal(rng, 3, 1) - 1, normal(rng, 3, 4) + 1)])
op("clamp_tensor_min", lambda L, x, lo: L.clamp(x, min=lo), binary_samples(shapes=[((3, 4), (3, 4)), ((3, 4), (4,))]))
op("float_power", lambda L, a: L.float_power(a, 2), unary_samples(positive))
op("add_alpha", lambda L, a, b: L.add(a, b, alpha=2), binary_samples())
op("sub_alpha", lambda L, a, b: a.sub(b, alpha=0.5), binary_samples())
op("div_floor", lambda L, a, b: L.div(a, b, rounding_mode="floor"), binary_samples(normal, away_from_zero),
   grad=False)
op("div_trunc", lambda L, a, b: L.div(a, b, rounding_mode="trunc"), binary_samples(normal, away_from_zero),
   grad=False)

# --------------------------------------------------------------------------- reductions
RED_SHAPES = [(5,), (3, 4), (2, 3, 4)]


def red_samples(gen=normal, shapes=RED_SHAPES):
    return lambda rng: [(gen(rng, *s),) for s in shapes]


def _with_zeros(rng, *shape):
    a = normal(rng, *shape)
    flat = a.reshape(-1)
    flat[::3] = 0
    return a


def _with_nans(rng, *shape):
    a = normal(rng, *shape)
    a.reshape(-1)[::4] = np.nan
    return a


def _small_ints_as_float(rng, *shape):
    return rng.integers(0, 3, shape).astype(np.float64)


op("sum", lambda L, x: L.sum(x), unary_samples())
op("sum_dim", lambda L, x: x.sum(-1), red_samples())
op("sum_dims_keepdim", lambda L, x: L.sum(x, (0, -1), keepdim=True), red_samples(shapes=[(3, 4), (2, 3, 4)]))
op("sum_dtype", lambda L, x: x.sum(0, dtype=L.float32), red_samples(), float32=False, rtol=1e-5, atol=1e-6)
op("nansum", lambda L, x: L.nansum(x, 0), red_samples(_with_nans))
op("mean", lambda L, x: L.mean(x), unary_samples())
op("mean_dims", lambda L, x: x.mean((0, 1)), red_samples(shapes=[(3, 4), (2, 3, 4)]))
op("mean_keepdim", lambda L, x: x.mean(-1, keepdim=True), red_samples())
op("nanmean", lambda L, x: L.nanmean(x, -1), red_samples(_with_nans, shapes=[(3, 8)]))
op("prod", lambda L, x: L.prod(x), red_samples())
op("prod_dim", lambda L, x: x.prod(1, keepdim=True), red_samples(shapes=[(3, 4), (2, 3, 4)]))
op("prod_zeros", lambda L, x: x.prod(-1), red_samples(_with_zeros))
op("prod_zeros_all", lambda L, x: x.prod(), fixed(lambda r: (np.array([2.0, 0.0, 3.0]),),
                                                 lambda r: (np.array([[2.0, 0.0], [0.0, 3.0]]),)))
for _n in ["var", "std"]:
    op(_n, (lambda n: lambda L, x: getattr(L, n)(x))(_n), red_samples())
    op(_n + "_dim", (lambda n: lambda L, x: getattr(x, n)(-1))(_n), red_samples())
    op(_n + "_correction0", (lambda n: lambda L, x: getattr(L, n)(x, (0, 1), correction=0, keepdim=True))(_n),
       red_samples(shapes=[(3, 4), (2, 3, 4)]))
    op(_n + "_unbiased_false", (lambda n: lambda L, x: getattr(x, n)(1, False))(_n),
       red_samples(shapes=[(3, 4), (2, 3, 4)]))
    op(_n + "_mean", (lambda n: lambda L, x: getattr(L, n + "_mean")(x, 0))(_n), red_samples())
for _p in ["fro", 1, 2, 3, 0.5, math.inf, -math.inf, 0]:
    op(f"norm_p{_p}", (lambda p: lambda L, x: L.norm(x, p))(_p), red_samples(), rtol=1e-5)
    op(f"norm_p{_p}_dim", (lambda p: lambda L, x: x.norm(p, dim=-1, keepdim=True))(_p), red_samples(), rtol=1e-5)
op("std_constant", lambda L, x: x.std(-1), fixed(lambda r: (np.ones((2, 3)),), lambda r: (np.array([[1.5]]),)))
op("std_constant_c0", lambda L, x: x.std(-1, correction=0), fixed(lambda r: (np.ones((2, 3)),),
                                                                 lambda r: (np.array([[1.5]]),)))
op("norm_dims", lambda L, x: x.norm(dim=(0, 1)), red_samples(shapes=[(3, 4), (2, 3, 4)]))
op("max", lambda L, x: L.max(x), unary_samples())
op("min", lambda L, x: x.min(), unary_samples())
op("max_ties", lambda L, x: x.max(), red_samples(_small_ints_as_float))
op("min_ties", lambda L, x: L.min(x), red_samples(_small_ints_as_float))
op("max_dim", lambda L, x: L.max(x, 1), red_samples(shapes=[(3, 4), (2, 3, 4)]))
op("max_dim_keepdim", lambda L, x: x.max(dim=-1, keepdim=True), red_samples())
op("min_dim", lambda L, x: x.min(0), red_samples())
op("max_other", lambda L, a, b: L.max(a, b), binary_samples())
op("min_other", lambda L, a, b: a.min(b), binary_samples())
op("amax", lambda L, x: L.amax(x, (0, -1)), red_samples(_small_ints_as_float, shapes=[(3, 4), (2, 3, 4)]))
op("amin", lambda L, x: x.amin(-1, keepdim=True), red_samples(_small_ints_as_float))
op("amax_all", lambda L, x: L.amax(x), red_samples(_small_ints_as_float))
op("aminmax", lambda L, x: L.aminmax(x, dim=0), red_samples())
op("argmax", lambda L, x: L.argmax(x), red_samples(), grad=False)
op("argmax_dim", lambda L, x: x.argmax(1, keepdim=True), red_samples(shapes=[(3, 4), (2, 3, 4)]), grad=False)
op("argmin_dim", lambda L, x: L.argmin(x, -1), red_samples(), grad=False)
op("all", lambda L, x: L.all(x), red_samples(_small_ints_as_float), grad=False)
op("any_dim", lambda L, x: x.any(0), red_samples(_small_ints_as_float), grad=False)
op("all_dim_keepdim", lambda L, x: x.all(-1, keepdim=True), red_samples(_small_ints_as_float), grad=False)
op("count_nonzero", lambda L, x: L.count_nonzero(x), red_samples(_small_ints_as_float), grad=False)
op("count_nonzero_dim", lambda L, x: L.count_nonzero(x, dim=0), red_samples(_small_ints_as_float), grad=False)
op("logsumexp", lambda L, x: L.logsumexp(x, 0), red_samples())
op("logsumexp_dims", lambda L, x: x.logsumexp((0, 1), keepdim=True), red_samples(shapes=[(3, 4), (2, 3, 4)]))
op("logsumexp_large", lambda L, x: x.logsumexp(-1), red_samples(lambda r, *s: normal(r, *s) * 300))
op("cumsum", lambda L, x: L.cumsum(x, 0), red_samples())
op("cumsum_neg", lambda L, x: x.cumsum(-1), red_samples())
op("cumprod", lambda L, x: L.cumprod(x, -1), red_samples())
op("cumprod_zeros", lambda L, x: x.cumprod(0), red_samples(_with_zeros))
op("cummax", lambda L, x: L.cummax(x, 0), red_samples())
op("cummin", lambda L, x: x.cummin(-1), red_samples())
op("logcumsumexp", lambda L, x: L.logcumsumexp(x, -1), red_samples())
op("sort", lambda L, x: L.sort(x), red_samples())
op("sort_desc", lambda L, x: x.sort(0, descending=True), red_samples())
op("sort_stable", lambda L, x: L.sort(x, dim=-1, stable=True), red_samples(_small_ints_as_float))
op("sort_stable_desc", lambda L, x: L.sort(x, dim=-1, descending=True, stable=True),
   red_samples(_small_ints_as_float))
op("argsort", lambda L, x: L.argsort(x, 0, descending=True), red_samples(), grad=False)
op("msort", lambda L, x: L.msort(x), red_samples())
op("topk", lambda L, x: L.topk(x, 2), red_samples())
op("topk_smallest", lambda L, x: x.topk(2, dim=0, largest=False), red_samples())
op("kthvalue", lambda L, x: L.kthvalue(x, 2, 0), red_samples())
op("kthvalue_keepdim", lambda L, x: x.kthvalue(3, -1, keepdim=True), red_samples())
op("median", lambda L, x: L.median(x), red_samples())
op("median_even_ties", lambda L, x: x.median(), fixed(lambda r: (np.array([3.0, 1.0, 2.0, 2.0, 5.0, 2.0]),)))
op("median_dim", lambda L, x: L.median(x, -1), red_samples(shapes=[(5,), (3, 4), (2, 3, 5)]))
op("median_keepdim", lambda L, x: x.median(0, keepdim=True), red_samples())
op("nanmedian", lambda L, x: L.nanmedian(x), red_samples(_with_nans))
op("nanmedian_dim", lambda L, x: x.nanmedian(-1), red_samples(_with_nans, shapes=[(3, 8)]))
op("mode", lambda L, x: L.mode(x, -1), red_samples(_small_ints_as_float, shapes=[(9,), (3, 7)]))
op("quantile", lambda L, x: L.quantile(x, 0.3), red_samples())
op("quantile_dim", lambda L, x, q: x.quantile(q, dim=1, keepdim=True),
   lambda rng: [(normal(rng, 3, 5), np.array([0.1, 0.5, 0.9]))], layouts=("contiguous",), float32=False)
for _how in ["lower", "higher", "nearest", "midpoint"]:
    op(f"quantile_{_how}", (lambda h: lambda L, x: x.quantile(0.4, dim=0, interpolation=h))(_how), red_samples())
op("unique", lambda L, x: L.unique(x, return_inverse=True, return_counts=True), red_samples(_small_ints_as_float),
   grad=False)
op("unique_dim", lambda L, x: x.unique(dim=0, return_inverse=True, return_counts=True),
   fixed(lambda r: (np.array([[1.0, 2.0], [0.0, 1.0], [1.0, 2.0]]),)), grad=False)
op("unique_consecutive", lambda L, x: L.unique_consecutive(x, return_inverse=True, return_counts=True),
   fixed(lambda r: (np.array([1.0, 1.0, 2.0, 2.0, 3.0, 1.0, 1.0, 2.0]),)), grad=False)
op("histc", lambda L, x: L.histc(x, bins=7, min=-2, max=2), red_samples(), grad=False)
op("histc_auto", lambda L, x: x.histc(5), red_samples(), grad=False)
op("histogram", lambda L, x: L.histogram(x, 6), red_samples(), grad=False)
op("histogram_args", lambda L, x, w: x.histogram(4, range=(-1.0, 1.0), weight=w, density=True),
   fixed(lambda r: (normal(r, 3, 5), positive(r, 3, 5))), grad=False, layouts=("contiguous",))
op("histogram_edges", lambda L, x, e: L.histogram(x, e), fixed(lambda r: (normal(r, 10), np.array([-2.0, -0.5, 0.0, 3.0]))),
   grad=False, layouts=("contiguous",), float32=False)
op("dist", lambda L, a, b: L.dist(a, b), binary_samples(shapes=[((3, 4), (3, 4)), ((3, 4), (4,))]))
op("dist_p", lambda L, a, b: L.dist(a, b, 3), binary_samples(shapes=[((3, 4), (3, 4))]), rtol=1e-5)
op("cov", lambda L, x: L.cov(x), fixed(lambda r: (normal(r, 3, 6),), lambda r: (normal(r, 6),)), rtol=1e-5)
op("cov_correction", lambda L, x: x.cov(correction=0), fixed(lambda r: (normal(r, 2, 5),)), rtol=1e-5)
op("corrcoef", lambda L, x: L.corrcoef(x), fixed(lambda r: (normal(r, 3, 6),)), rtol=1e-5)
op("bincount", lambda L, x: L.bincount(x), fixed(lambda r: (ints(r, 20, lo=0, hi=6),)), grad=False)
op("bincount_weights", lambda L, x, w: L.bincount(x, w, minlength=9),
   fixed(lambda r: (ints(r, 20, lo=0, hi=6), normal(r, 20))), layouts=("contiguous",), grad=False)

# --------------------------------------------------------------------------- linear algebra
MATMUL_SHAPES = [((4,), (4,)), ((4,), (4, 3)), ((3, 4), (4,)), ((3, 4), (4, 5)), ((2, 3, 4), (4,)),
                 ((2, 1, 3, 4), (5, 4, 2)), ((4,), (2, 4, 3)), ((2, 3, 4), (2, 4, 5))]
op("matmul", lambda L, a, b: L.matmul(a, b), binary_samples(shapes=MATMUL_SHAPES), rtol=1e-5)
op("matmul_method", lambda L, a, b: a.matmul(b), binary_samples(shapes=MATMUL_SHAPES), rtol=1e-5)
op("mm", lambda L, a, b: L.mm(a, b), binary_samples(shapes=[((3, 4), (4, 5)), ((1, 4), (4, 1))]), rtol=1e-5)
op("bmm", lambda L, a, b: L.bmm(a, b), binary_samples(shapes=[((2, 3, 4), (2, 4, 5))]), rtol=1e-5)
op("mv", lambda L, a, b: L.mv(a, b), binary_samples(shapes=[((3, 4), (4,))]), rtol=1e-5)
op("dot", lambda L, a, b: L.dot(a, b), binary_samples(shapes=[((4,), (4,))]), rtol=1e-5)
op("vdot", lambda L, a, b: L.vdot(a, b), binary_samples(shapes=[((4,), (4,))]), rtol=1e-5)
op("inner", lambda L, a, b: L.inner(a, b), binary_samples(shapes=[((4,), (4,)), ((2, 4), (3, 4)), ((3, 4), ())]))
op("outer", lambda L, a, b: L.outer(a, b), binary_samples(shapes=[((4,), (3,))]))
op("ger", lambda L, a, b: L.ger(a, b), binary_samples(shapes=[((4,), (3,))]))
op("addmm", lambda L, c, a, b: L.addmm(c, a, b, beta=0.5, alpha=2.0),
   lambda rng: [(normal(rng, 3, 5), normal(rng, 3, 4), normal(rng, 4, 5)),
                (normal(rng, 5), normal(rng, 3, 4), normal(rng, 4, 5))], rtol=1e-5)
op("addmm_beta0", lambda L, c, a, b: c.addmm(a, b, beta=0),
   lambda rng: [(normal(rng, 3, 5), normal(rng, 3, 4), normal(rng, 4, 5))], rtol=1e-5)
op("addmv", lambda L, c, a, b: L.addmv(c, a, b, alpha=0.5),
   lambda rng: [(normal(rng, 3), normal(rng, 3, 4), normal(rng, 4))], rtol=1e-5)
op("addr", lambda L, c, a, b: L.addr(c, a, b, beta=2),
   lambda rng: [(normal(rng, 3, 4), normal(rng, 3), normal(rng, 4))])
op("baddbmm", lambda L, c, a, b: L.baddbmm(c, a, b, beta=0.5, alpha=-1),
   lambda rng: [(normal(rng, 2, 3, 5), normal(rng, 2, 3, 4), normal(rng, 2, 4, 5)),
                (normal(rng, 3, 5), normal(rng, 2, 3, 4), normal(rng, 2, 4, 5))], rtol=1e-5)
op("addbmm", lambda L, c, a, b: L.addbmm(c, a, b),
   lambda rng: [(normal(rng, 3, 5), normal(rng, 2, 3, 4), normal(rng, 2, 4, 5))], rtol=1e-5)
op("kron", lambda L, a, b: L.kron(a, b), binary_samples(shapes=[((2, 3), (3, 2)), ((3,), (2, 2)), ((2,), (3,))]),
   layouts=("contiguous", "strided"))      # torch.kron of a transposed view raises (it uses view)
op("tensordot_int", lambda L, a, b: L.tensordot(a, b, 2),
   binary_samples(shapes=[((2, 3, 4), (3, 4, 5)), ((3, 4), (3, 4))]), rtol=1e-5)
op("tensordot_lists", lambda L, a, b: L.tensordot(a, b, dims=([0, 2], [1, 0])),
   binary_samples(shapes=[((2, 3, 4), (4, 2, 5))]), rtol=1e-5)
op("tensordot_0", lambda L, a, b: L.tensordot(a, b, 0), binary_samples(shapes=[((2, 3), (4,))]))
EINSUM = [("ij,jk->ik", [(3, 4), (4, 5)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("ij->ji", [(3, 4)]),
          ("ii", [(4, 4)]), ("ii->i", [(4, 4)]), ("i,j->ij", [(3,), (4,)]), ("ij->", [(3, 4)]), ("ijk->j", [(2, 3, 4)]),
          ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]), ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
          ("ij,ij->ij", [(3, 4), (3, 4)]), ("i,i->", [(4,), (4,)]), ("bii->bi", [(2, 3, 3)]),
          ("ij,jk", [(3, 4), (4, 5)]), ("ij,kj->ik", [(3, 1), (5, 1)]), ("ij,ij->i", [(3, 4), (1, 4)]),
          ("iij->j", [(3, 3, 2)]), ("ij,j->i", [(3, 4), (4,)]), ("b...,b...->b", [(2, 3, 4), (2, 3, 4)]),
          ("ijk,ikl->ijl", [(2, 3, 4), (2, 4, 2)]), ("i,ii->i", [(3,), (3, 3)])]
for _eq, _shapes in EINSUM:
    op(f"einsum[{_eq}]", (lambda eq: lambda L, *xs: L.einsum(eq, *xs))(_eq),
       (lambda shapes: lambda rng: [tuple(normal(rng, *s) for s in shapes)])(_shapes), rtol=1e-5)
op("einsum_list", lambda L, a, b: L.einsum("ij,jk->ik", [a, b]), binary_samples(shapes=[((3, 4), (4, 5))]), rtol=1e-5)
op("trace", lambda L, x: L.trace(x), fixed(lambda r: (normal(r, 4, 4),), lambda r: (normal(r, 3, 5),)))
op("diag_1d", lambda L, x: L.diag(x), fixed(lambda r: (normal(r, 4),)))
op("diag_1d_offset", lambda L, x: L.diag(x, -2), fixed(lambda r: (normal(r, 3),)))
op("diag_2d", lambda L, x: L.diag(x, 1), fixed(lambda r: (normal(r, 4, 5),), lambda r: (normal(r, 3, 3),)))
op("diagonal", lambda L, x: L.diagonal(x), fixed(lambda r: (normal(r, 4, 5),)))
op("diagonal_args", lambda L, x: x.diagonal(-1, 0, 2), fixed(lambda r: (normal(r, 4, 3, 5),)))
op("diagonal_offset_big", lambda L, x: x.diagonal(7), fixed(lambda r: (normal(r, 4, 5),)))
op("diagflat", lambda L, x: L.diagflat(x, -1), fixed(lambda r: (normal(r, 2, 2),)))
op("diag_embed", lambda L, x: L.diag_embed(x), fixed(lambda r: (normal(r, 2, 3),)))
op("diag_embed_args", lambda L, x: x.diag_embed(1, 0, 2), fixed(lambda r: (normal(r, 2, 3),)))
for _n in ["tril", "triu"]:
    op(_n, (lambda n: lambda L, x: getattr(L, n)(x))(_n), fixed(lambda r: (normal(r, 4, 5),), lambda r: (normal(r, 2, 3, 3),)))
    op(_n + "_k", (lambda n: lambda L, x: getattr(x, n)(-1))(_n), fixed(lambda r: (normal(r, 4, 5),)))


def _spd(rng, *shape):
    a = rng.standard_normal(shape)
    return a @ np.swapaxes(a, -1, -2) + 2 * np.eye(shape[-1])


op("det", lambda L, x: L.det(x), fixed(lambda r: (normal(r, 3, 3),), lambda r: (normal(r, 2, 4, 4),)), rtol=1e-5,
   atol=1e-7)
op("logdet", lambda L, x: L.logdet(x), fixed(lambda r: (_spd(r, 3, 3),)), rtol=1e-5)
op("slogdet", lambda L, x: L.slogdet(x), fixed(lambda r: (normal(r, 3, 3),), lambda r: (normal(r, 2, 3, 3),)),
   rtol=1e-5, atol=1e-7)
op("inverse", lambda L, x: L.inverse(x), fixed(lambda r: (_spd(r, 3, 3),), lambda r: (_spd(r, 2, 4, 4),)), rtol=1e-5,
   atol=1e-7)
for _k in [0, 1, 3, -2]:
    op(f"matrix_power_{_k}", (lambda k: lambda L, x: L.matrix_power(x, k))(_k), fixed(lambda r: (_spd(r, 3, 3) / 3,)),
       rtol=1e-5, atol=1e-7)
op("cross", lambda L, a, b: L.cross(a, b, dim=-1), binary_samples(shapes=[((4, 3), (4, 3)), ((2, 4, 3), (1, 4, 3))]))
op("cross_dim", lambda L, a, b: a.cross(b, dim=0), binary_samples(shapes=[((3, 4), (3, 4))]))
op("cdist", lambda L, a, b: L.cdist(a, b), binary_samples(shapes=[((4, 3), (5, 3)), ((2, 4, 3), (2, 5, 3))]),
   rtol=1e-5)
op("cdist_p1", lambda L, a, b: L.cdist(a, b, p=1.0), binary_samples(shapes=[((4, 3), (5, 3))]), rtol=1e-5)



def _la(L):
    """``torch.linalg``, or fastnn's: ``fastnn.linalg`` when exported, else the table it is made from."""
    if getattr(L, "__name__", "") == "torch":
        return L.linalg
    import types
    return getattr(fastnn, "linalg", None) or types.SimpleNamespace(**ops.linalg.TORCH_LINALG)


op("linalg.solve", lambda L, a, b: _la(L).solve(a, b), fixed(lambda r: (_spd(r, 3, 3), normal(r, 3, 2)),
                                                             lambda r: (_spd(r, 2, 3, 3), normal(r, 2, 3)),
                                                             lambda r: (_spd(r, 2, 3, 3), normal(r, 3, 4))),
   rtol=1e-5, atol=1e-7)
op("linalg.norm", lambda L, x: _la(L).norm(x), unary_samples(shapes=[(4,), (3, 4), (2, 3, 4)]))
op("linalg.norm_ord", lambda L, x: _la(L).norm(x, 1), unary_samples(shapes=[(4,), (3, 4)]))
op("linalg.norm_dims", lambda L, x: _la(L).norm(x, dim=(0, 2), keepdim=True), unary_samples(shapes=[(2, 3, 4)]))
op("linalg.vector_norm", lambda L, x: _la(L).vector_norm(x, 3, dim=-1), unary_samples(shapes=[(3, 4)]), rtol=1e-5)
for _ord in ["fro", 1, -1, math.inf, -math.inf]:
    op(f"linalg.matrix_norm_{_ord}", (lambda o: lambda L, x: _la(L).matrix_norm(x, o))(_ord),
       unary_samples(shapes=[(3, 4), (2, 3, 4)]))
op("linalg.multi_dot", lambda L, a, b, c: _la(L).multi_dot([a, b, c]),
   fixed(lambda r: (normal(r, 3), normal(r, 3, 4), normal(r, 4, 2)), lambda r: (normal(r, 2, 3), normal(r, 3, 4),
                                                                               normal(r, 4))), rtol=1e-5)
op("linalg.vecdot", lambda L, a, b: _la(L).vecdot(a, b), binary_samples(shapes=[((3, 4), (3, 4)), ((3, 4), (4,))]))
op("linalg.inv", lambda L, x: _la(L).inv(x), fixed(lambda r: (_spd(r, 3, 3),)), rtol=1e-5, atol=1e-7)
op("linalg.det", lambda L, x: _la(L).det(x), fixed(lambda r: (normal(r, 2, 3, 3),)), rtol=1e-5, atol=1e-7)
op("linalg.cross", lambda L, a, b: _la(L).cross(a, b), binary_samples(shapes=[((4, 3), (4, 3))]))
op("linalg.diagonal", lambda L, x: _la(L).diagonal(x, offset=1), fixed(lambda r: (normal(r, 2, 3, 4),)))

# --------------------------------------------------------------------------- shape and indexing
op("reshape", lambda L, x: L.reshape(x, (4, -1)), fixed(lambda r: (normal(r, 2, 3, 4),)))
op("reshape_args", lambda L, x: x.reshape(-1, 3), fixed(lambda r: (normal(r, 4, 3),)))
op("view", lambda L, x: x.contiguous().view(2, -1, 2), fixed(lambda r: (normal(r, 3, 4),)))
op("view_as", lambda L, x, y: x.view_as(y), fixed(lambda r: (normal(r, 3, 4), normal(r, 6, 2))),
   layouts=("contiguous",))      # torch's view of a transposed or strided tensor raises; fastnn's copies
op("reshape_as", lambda L, x, y: x.reshape_as(y), fixed(lambda r: (normal(r, 3, 4), normal(r, 2, 6))))
op("flatten", lambda L, x: L.flatten(x), unary_samples())
op("flatten_range", lambda L, x: x.flatten(1, -1), fixed(lambda r: (normal(r, 2, 3, 4),)))
op("flatten_mid", lambda L, x: L.flatten(x, start_dim=0, end_dim=1), fixed(lambda r: (normal(r, 2, 3, 4),)))
op("unflatten", lambda L, x: L.unflatten(x, 1, (2, -1)), fixed(lambda r: (normal(r, 3, 4),)))
op("ravel", lambda L, x: L.ravel(x), fixed(lambda r: (normal(r, 3, 4),)))
op("permute", lambda L, x: L.permute(x, (2, 0, 1)), fixed(lambda r: (normal(r, 2, 3, 4),)))
op("permute_args", lambda L, x: x.permute(-1, 0, 1), fixed(lambda r: (normal(r, 2, 3, 4),)))
op("transpose", lambda L, x: L.transpose(x, 0, -1), fixed(lambda r: (normal(r, 2, 3, 4),)))
op("swapaxes", lambda L, x: L.swapaxes(x, 0, 1), fixed(lambda r: (normal(r, 2, 3, 4),)))
op("swapdims", lambda L, x: x.swapdims(1, 2), fixed(lambda r: (normal(r, 2, 3, 4),)))
op("t", lambda L, x: L.t(x), unary_samples(shapes=[(), (4,), (3, 4)]))
op("T", lambda L, x: x.T, unary_samples(shapes=[(4,), (3, 4)]))
op("mT", lambda L, x: x.mT, fixed(lambda r: (normal(r, 2, 3, 4),)))
op("movedim", lambda L, x: L.movedim(x, 0, -1), fixed(lambda r: (normal(r, 2, 3, 4),)))
op("movedim_tuple", lambda L, x: x.movedim((0, 1), (2, 0)), fixed(lambda r: (normal(r, 2, 3, 4),)))
op("moveaxis", lambda L, x: L.moveaxis(x, -1, 0), fixed(lambda r: (normal(r, 2, 3, 4),)))
op("squeeze", lambda L, x: L.squeeze(x), fixed(lambda r: (normal(r, 1, 3, 1, 2),)))
op("squeeze_dim", lambda L, x: x.squeeze(-2), fixed(lambda r: (normal(r, 1, 3, 1, 2),)))
op("squeeze_tuple", lambda L, x: L.squeeze(x, (0, 1, 2)), fixed(lambda r: (normal(r, 1, 3, 1, 2),)))
op("unsqueeze", lambda L, x: L.unsqueeze(x, -1), unary_samples())
op("unsqueeze_0", lambda L, x: x.unsqueeze(0), unary_samples())
op("expand", lambda L, x: x.expand(2, -1, 4), fixed(lambda r: (normal(r, 3, 1),)))
op("expand_as", lambda L, x, y: x.expand_as(y), fixed(lambda r: (normal(r, 1, 4), normal(r, 3, 4))))
op("broadcast_to", lambda L, x: L.broadcast_to(x, (2, 3, 4)), fixed(lambda r: (normal(r, 3, 1),),
                                                                  lambda r: (normal(r),)))
op("broadcast_tensors", lambda L, a, b: L.broadcast_tensors(a, b), binary_samples())
op("repeat", lambda L, x: x.repeat(2, 1, 3), fixed(lambda r: (normal(r, 3, 4),), lambda r: (normal(r, 2, 3, 2),)))
op("tile", lambda L, x: L.tile(x, (2,)), fixed(lambda r: (normal(r, 3, 4),)))
op("tile_more", lambda L, x: x.tile((2, 1, 2)), fixed(lambda r: (normal(r, 3, 4),)))
op("repeat_interleave", lambda L, x: L.repeat_interleave(x, 2), unary_samples())
op("repeat_interleave_dim", lambda L, x: x.repeat_interleave(3, dim=1), fixed(lambda r: (normal(r, 2, 3),)))
op("repeat_interleave_tensor", lambda L, x, n: x.repeat_interleave(n, dim=0),
   fixed(lambda r: (normal(r, 4, 3), np.array([1, 0, 3, 2]))))
op("flip", lambda L, x: L.flip(x, (0, -1)), fixed(lambda r: (normal(r, 2, 3, 4),)))
op("flip_args", lambda L, x: x.flip(1), fixed(lambda r: (normal(r, 2, 3, 4),)))
op("fliplr", lambda L, x: L.fliplr(x), fixed(lambda r: (normal(r, 3, 4),)))
op("flipud", lambda L, x: L.flipud(x), fixed(lambda r: (normal(r, 3, 4),)))
op("roll", lambda L, x: L.roll(x, 2), unary_samples(shapes=[(5,), (3, 4)]))
op("roll_dims", lambda L, x: x.roll((1, -2), (0, 1)), fixed(lambda r: (normal(r, 3, 4),)))
op("roll_dim", lambda L, x: L.roll(x, -1, 1), fixed(lambda r: (normal(r, 3, 4),)))
for _k in [1, 2, 3, -1]:
    op(f"rot90_{_k}", (lambda k: lambda L, x: L.rot90(x, k, (0, 1)))(_k), fixed(lambda r: (normal(r, 3, 4),)))
op("narrow", lambda L, x: L.narrow(x, 1, 1, 2), fixed(lambda r: (normal(r, 3, 4),)))
op("narrow_neg", lambda L, x: x.narrow(-1, -3, 2), fixed(lambda r: (normal(r, 3, 4),)))
op("select", lambda L, x: L.select(x, 1, -1), fixed(lambda r: (normal(r, 3, 4),)))
op("unbind", lambda L, x: L.unbind(x, 1), fixed(lambda r: (normal(r, 3, 4),)))
op("split", lambda L, x: L.split(x, 2), fixed(lambda r: (normal(r, 5, 3),)))
op("split_sections", lambda L, x: x.split([1, 3, 1], dim=-1), fixed(lambda r: (normal(r, 3, 5),)))
op("chunk", lambda L, x: L.chunk(x, 3, 1), fixed(lambda r: (normal(r, 2, 7),), lambda r: (normal(r, 2, 5),)))
op("tensor_split", lambda L, x: L.tensor_split(x, 3), fixed(lambda r: (normal(r, 7, 2),)))
op("tensor_split_indices", lambda L, x: x.tensor_split([1, 4], dim=1), fixed(lambda r: (normal(r, 2, 6),)))
op("hsplit", lambda L, x: L.hsplit(x, 2), fixed(lambda r: (normal(r, 3, 4),)))
op("vsplit", lambda L, x: L.vsplit(x, [1]), fixed(lambda r: (normal(r, 3, 4),)))
op("getitem_basic", lambda L, x: x[1:, ::2], fixed(lambda r: (normal(r, 3, 5),)))
op("getitem_fancy", lambda L, x, i: x[i], fixed(lambda r: (normal(r, 4, 3), np.array([0, 3, 0, 2]))))
op("getitem_mask", lambda L, x, m: x[m], fixed(lambda r: (normal(r, 4, 3), bools(r, 4, 3))))
op("index_select", lambda L, x, i: L.index_select(x, 0, i), fixed(lambda r: (normal(r, 4, 3), np.array([3, 0, 3]))))
op("index_select_dim", lambda L, x, i: x.index_select(-1, i), fixed(lambda r: (normal(r, 4, 3), np.array([2, 2]))))


def _gather_sample(rng, shape=(3, 4), index_shape=(3, 5), dim=1):
    return normal(rng, *shape), rng.integers(0, shape[dim], index_shape)


op("gather", lambda L, x, i: L.gather(x, 1, i), fixed(lambda r: _gather_sample(r)))
op("gather_smaller", lambda L, x, i: x.gather(0, i), fixed(lambda r: _gather_sample(r, (4, 5), (2, 3), 0)))
op("take_along_dim", lambda L, x, i: L.take_along_dim(x, i, 1), fixed(lambda r: _gather_sample(r, (3, 4), (3, 2))))
op("take_along_dim_flat", lambda L, x, i: L.take_along_dim(x, i), fixed(lambda r: (normal(r, 3, 4),
                                                                                   r.integers(0, 12, (5,)))),
   layouts=("contiguous",))      # torch raises for a non-contiguous input (it uses view)
op("take", lambda L, x, i: L.take(x, i), fixed(lambda r: (normal(r, 3, 4), r.integers(-12, 12, (2, 3)))))


def _scatter_sample(rng, shape=(3, 5), src_shape=(3, 2), index_shape=(3, 2), dim=1):
    """An index without repeats along ``dim`` (PyTorch's scatter is undefined with repeats)."""
    index = np.stack([rng.permutation(shape[dim])[:index_shape[dim]] for _ in range(index_shape[1 - dim])],
                     axis=1 - dim)
    return normal(rng, *shape), index, normal(rng, *src_shape)


op("scatter", lambda L, x, i, s: L.scatter(x, 1, i, s), fixed(lambda r: _scatter_sample(r)))
op("scatter_dim0", lambda L, x, i, s: x.scatter(0, i, s),
   fixed(lambda r: _scatter_sample(r, (4, 3), (2, 3), (2, 3), 0)))
# (PyTorch's own backward fails when src is larger than index, so the gradient rows use equal shapes; the
# forward with a larger src is checked here without gradients)
op("scatter_src_larger", lambda L, x, i, s: x.scatter(1, i, s), fixed(lambda r: _scatter_sample(r, src_shape=(3, 4))),
   grad=False)
op("scatter_value", lambda L, x, i, s: x.scatter(1, i, 2.5), fixed(lambda r: _scatter_sample(r)))
op("scatter_reduce_add", lambda L, x, i, s: x.scatter(1, i, s, reduce="add"), fixed(lambda r: _scatter_sample(r)),
   grad=False)


def _scatter_add_sample(rng):
    return normal(rng, 3, 5), rng.integers(0, 5, (3, 6)), normal(rng, 3, 6)


op("scatter_add", lambda L, x, i, s: L.scatter_add(x, 1, i, s), fixed(_scatter_add_sample))
for _red in ["sum", "mean", "amax", "amin", "prod"]:
    for _inc in [True, False]:
        op(f"scatter_reduce_{_red}_{_inc}", (lambda red, inc: lambda L, x, i, s: L.scatter_reduce(
            x, 1, i, s, red, include_self=inc))(_red, _inc), fixed(_scatter_add_sample))
op("index_add", lambda L, x, i, s: x.index_add(0, i, s, alpha=2),
   fixed(lambda r: (normal(r, 4, 3), np.array([0, 2, 0]), normal(r, 3, 3))))
op("index_copy", lambda L, x, i, s: x.index_copy(1, i, s),
   fixed(lambda r: (normal(r, 4, 3), np.array([2, 0]), normal(r, 4, 2))))
op("index_fill", lambda L, x, i: x.index_fill(1, i, -1.0), fixed(lambda r: (normal(r, 4, 3), np.array([2, 0]))))
op("masked_fill", lambda L, x, m: L.masked_fill(x, m, 0.5), fixed(lambda r: (normal(r, 3, 4), bools(r, 3, 4)),
                                                                 lambda r: (normal(r, 3, 4), bools(r, 4))))
op("masked_fill_tensor", lambda L, x, m, v: x.masked_fill(m, v), fixed(lambda r: (normal(r, 3, 4), bools(r, 3, 4),
                                                                                  normal(r))))
op("masked_select", lambda L, x, m: L.masked_select(x, m), fixed(lambda r: (normal(r, 3, 4), bools(r, 3, 4)),
                                                                 lambda r: (normal(r, 1, 4), bools(r, 3, 4))))
op("masked_scatter", lambda L, x, m, s: x.masked_scatter(m, s), fixed(lambda r: (normal(r, 3, 4), bools(r, 3, 4),
                                                                                 normal(r, 3, 5))))
op("where", lambda L, c, a, b: L.where(c, a, b), fixed(lambda r: (bools(r, 3, 4), normal(r, 3, 4), normal(r, 4)),
                                                       lambda r: (bools(r, 3, 1), normal(r, 4), normal(r, 3, 4))))
op("where_scalar", lambda L, c, a: L.where(c, a, 0.0), fixed(lambda r: (bools(r, 3, 4), normal(r, 3, 4))))
op("where_method", lambda L, c, a, b: a.where(c, b), fixed(lambda r: (bools(r, 3, 4), normal(r, 3, 4), normal(r, 4))))
op("where_one_arg", lambda L, c: L.where(c), fixed(lambda r: (bools(r, 3, 4),)), grad=False)
op("put", lambda L, x, i, s: x.put(i, s), fixed(lambda r: (normal(r, 3, 4), r.permutation(12)[:5], normal(r, 5))))
op("put_accumulate", lambda L, x, i, s: x.put(i, s, accumulate=True),
   fixed(lambda r: (normal(r, 3, 4), r.integers(-12, 12, (2, 3)), normal(r, 2, 3))))
op("index_put", lambda L, x, i, v: L.index_put(x, (i,), v), fixed(lambda r: (normal(r, 4, 3), np.array([3, 0]),
                                                                            normal(r, 2, 3))))
op("index_put_acc", lambda L, x, i, j, v: x.index_put((i, j), v, accumulate=True),
   fixed(lambda r: (normal(r, 4, 3), np.array([3, 0, 3]), np.array([1, 1, 1]), normal(r, 3))))
op("select_scatter", lambda L, x, s: L.select_scatter(x, s, 1, -1), fixed(lambda r: (normal(r, 3, 4), normal(r, 3))))
op("slice_scatter", lambda L, x, s: L.slice_scatter(x, s, 1, 1, None, 2),
   fixed(lambda r: (normal(r, 3, 5), normal(r, 3, 2))))
op("diagonal_scatter", lambda L, x, s: L.diagonal_scatter(x, s, 1), fixed(lambda r: (normal(r, 3, 4), normal(r, 3))))
op("sum_to_size", lambda L, x: x.sum_to_size(3, 1), fixed(lambda r: (normal(r, 2, 3, 4),)))
op("sum_to_size_same", lambda L, x: x.sum_to_size((1, 4)), fixed(lambda r: (normal(r, 3, 4),)))
op("split_with_sizes", lambda L, x: L.split_with_sizes(x, [1, 2], 1), fixed(lambda r: (normal(r, 2, 3),)))
op("narrow_copy", lambda L, x: L.narrow_copy(x, 0, 1, 2), fixed(lambda r: (normal(r, 3, 4),)))
op("nonzero", lambda L, x: L.nonzero(x), red_samples(_small_ints_as_float), grad=False)
op("nonzero_tuple", lambda L, x: L.nonzero(x, as_tuple=True), red_samples(_small_ints_as_float), grad=False)
op("argwhere", lambda L, x: L.argwhere(x), red_samples(_small_ints_as_float), grad=False)
op("diff", lambda L, x: L.diff(x), red_samples())
op("diff_args", lambda L, x, p: x.diff(2, dim=0, prepend=p), fixed(lambda r: (normal(r, 4, 3), normal(r, 2, 3))))
op("unfold", lambda L, x: x.unfold(1, 3, 2), fixed(lambda r: (normal(r, 2, 7),), lambda r: (normal(r, 2, 7, 3),)))
op("cat", lambda L, a, b: L.cat([a, b], 1), binary_samples(shapes=[((3, 4), (3, 2)), ((2, 1, 4), (2, 3, 4))]))
op("cat_neg_dim", lambda L, a, b: L.cat((a, b), dim=-1), binary_samples(shapes=[((3, 4), (3, 2))]))
op("concat", lambda L, a, b: L.concat([a, b]), binary_samples(shapes=[((3, 4), (2, 4))]))
op("cat_empty", lambda L, a, b: L.cat([a, b]), fixed(lambda r: (normal(r, 3, 4), np.zeros(0))))
op("stack", lambda L, a, b: L.stack([a, b], -1), binary_samples(shapes=[((3, 4), (3, 4)), ((), ())]))
op("hstack", lambda L, a, b: L.hstack([a, b]), binary_samples(shapes=[((3,), (4,)), ((2, 3), (2, 1))]))
op("vstack", lambda L, a, b: L.vstack([a, b]), binary_samples(shapes=[((3,), (3,)), ((2, 3), (1, 3))]))
op("dstack", lambda L, a, b: L.dstack([a, b]), binary_samples(shapes=[((3,), (3,)), ((2, 3), (2, 3))]))
op("column_stack", lambda L, a, b: L.column_stack([a, b]), binary_samples(shapes=[((3,), (3, 2)), ((3,), (3,))]))
op("atleast_2d", lambda L, x: L.atleast_2d(x), unary_samples())
op("atleast_3d", lambda L, x: L.atleast_3d(x), unary_samples())
op("meshgrid_ij", lambda L, a, b: L.meshgrid(a, b, indexing="ij"), binary_samples(shapes=[((3,), (4,))]))
op("meshgrid_xy", lambda L, a, b, c: L.meshgrid(a, b, c, indexing="xy"),
   lambda rng: [(normal(rng, 3), normal(rng, 4), normal(rng, 2))])

OPS_BY_NAME = {o.name: o for o in OPS}
assert len(OPS_BY_NAME) == len(OPS), "duplicate op names in the table"


# =========================================================================== the runner

def _name(dtype) -> str:
    return str(dtype).split(".")[-1]


def _layout(array, layout, rng):
    """(base array, view function) whose view has ``array``'s values in ``layout``."""
    if layout == "transposed" and array.ndim >= 2:
        return np.ascontiguousarray(np.swapaxes(array, -1, -2)), lambda t: t.transpose(-1, -2)
    if layout == "strided" and array.ndim >= 1 and array.shape[0] > 0:
        base = rng.standard_normal((2 * array.shape[0],) + array.shape[1:]).astype(array.dtype)
        base[::2] = array
        return base, lambda t: t[::2]
    return array, lambda t: t


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in _flat(o)]
    return [out]


def _run(lib, op_, arrays, layout, dtype, seed, weights=None):
    """(outputs, leaf gradients, leaf tensors) of one op in one library."""
    is_torch = lib.__name__ == "torch" if hasattr(lib, "__name__") else False
    L = lib if is_torch else FNN
    rng = _rng(seed)
    leaves, views = [], []
    for a in arrays:
        a = a.astype(dtype) if a.dtype.kind == "f" else a
        base, view = _layout(a, layout, rng)
        t = lib.tensor(base)
        if op_.grad and a.dtype.kind == "f":
            t.requires_grad_(True)
        leaves.append(t)
        views.append(view(t))
    out = op_.fn(L, *views)
    outs = _flat(out)
    grads = None
    if op_.grad:
        terms = []
        for k, o in enumerate(outs):
            if getattr(o, "requires_grad", False) and o.dtype.is_floating_point:
                w = _rng(seed + 1000 + k).standard_normal(tuple(o.shape))
                terms.append((o * lib.tensor(w, dtype=o.dtype)).sum())
        if terms:
            total = terms[0]
            for t in terms[1:]:
                total = total + t
            total.backward()
            grads = [None if t.grad is None else np.array(t.grad.detach().numpy(force=True) if is_torch else t.grad.numpy())
                     for t in leaves]
    return outs, grads, leaves


def _to_numpy(x):
    if hasattr(x, "detach"):
        return x.detach().numpy()
    if hasattr(x, "numpy"):
        return x.numpy()
    return np.asarray(x)


def _compare(op_, arrays, layout, dtype, seed, torch):
    where = f"{op_.name} layout={layout} dtype={np.dtype(dtype).name} shapes={[a.shape for a in arrays]}"
    f_outs, f_grads, _ = _run(fastnn, op_, arrays, layout, dtype, seed)
    t_outs, t_grads, t_leaves = _run(torch, op_, arrays, layout, dtype, seed)
    assert len(f_outs) == len(t_outs), f"{where}: {len(f_outs)} outputs, torch has {len(t_outs)}"
    rtol, atol = (op_.rtol, op_.atol) if dtype == np.float64 else (max(op_.rtol, 2e-5), max(op_.atol, 1e-5))
    for k, (f, t) in enumerate(zip(f_outs, t_outs)):
        if not hasattr(t, "shape"):
            assert f == t, f"{where}: output {k} is {f!r}, torch gives {t!r}"
            continue
        assert isinstance(f, fastnn.Tensor), f"{where}: output {k} is a {type(f).__name__}, not a Tensor"
        assert tuple(f.shape) == tuple(t.shape), f"{where}: output {k} has shape {tuple(f.shape)}, torch " \
                                                 f"{tuple(t.shape)}"
        assert _name(f.dtype) == _name(t.dtype), f"{where}: output {k} has dtype {f.dtype}, torch {t.dtype}"
        np.testing.assert_allclose(_to_numpy(f), _to_numpy(t), rtol=rtol, atol=atol, equal_nan=True,
                                   err_msg=f"{where}: output {k}")
    if op_.grad and dtype == np.float64:
        if f_grads is None or t_grads is None:      # then the other's gradients must all be zero
            for g in (f_grads or t_grads or []):
                assert g is None or not np.any(g), f"{where}: one library has no gradient, the other a non-zero one"
        else:
            for k, (fg, tg, leaf) in enumerate(zip(f_grads, t_grads, t_leaves)):
                if not leaf.requires_grad:
                    continue
                fg = np.zeros(tuple(leaf.shape)) if fg is None else fg
                tg = np.zeros(tuple(leaf.shape)) if tg is None else tg
                np.testing.assert_allclose(fg, tg, rtol=max(rtol, 1e-5), atol=max(atol, 1e-7), equal_nan=True,
                                           err_msg=f"{where}: gradient of input {k}")


@pytest.mark.parametrize("op_", OPS, ids=[o.name for o in OPS])
def test_op_matches_torch(op_, torch):
    seed = sum(map(ord, op_.name)) * 7919 % (2 ** 31)
    for s, arrays in enumerate(op_.samples(_rng(seed))):
        arrays = tuple(np.asarray(a) for a in arrays)
        for layout in op_.layouts:
            _compare(op_, arrays, layout, np.float64, seed + s, torch)
        if op_.float32:
            _compare(op_, arrays, "contiguous", np.float32, seed + s, torch)


def test_table_is_large():
    assert len(OPS) >= 300


# =========================================================================== dtype rules of int and bool inputs

INT_INPUTS = {"int64": [3, -2, 0, 7, 1], "int32": [3, -2, 0, 7, 1], "uint8": [3, 2, 0, 7, 1],
              "bool": [True, False, False, True, True]}
UNARY_NAMES = ["sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "exp", "exp2",
               "expm1", "log", "log1p", "log2", "log10", "sqrt", "rsqrt", "reciprocal", "erf", "erfc", "erfinv",
               "sinc", "logit", "deg2rad", "rad2deg", "abs", "absolute", "neg", "negative", "square", "floor", "ceil",
               "trunc", "round", "frac", "sign", "sgn", "isnan", "isinf", "isfinite", "signbit", "logical_not",
               "nan_to_num", "positive"]
REDUCTION_CALLS = {
    "sum": lambda L, x: L.sum(x), "sum_dim": lambda L, x: x.sum(0), "prod": lambda L, x: L.prod(x),
    "mean": lambda L, x: L.mean(x), "mean_dtype": lambda L, x: L.mean(x, dtype=L.float64),
    "std": lambda L, x: L.std(x), "var": lambda L, x: x.var(0), "norm": lambda L, x: L.norm(x),
    "max": lambda L, x: L.max(x), "max_dim": lambda L, x: x.max(0), "amax": lambda L, x: L.amax(x),
    "argmax": lambda L, x: L.argmax(x), "median": lambda L, x: L.median(x), "cumsum": lambda L, x: L.cumsum(x, 0),
    "cumprod": lambda L, x: L.cumprod(x, 0), "all": lambda L, x: L.all(x), "any": lambda L, x: x.any(0),
    "logsumexp": lambda L, x: L.logsumexp(x, 0), "count_nonzero": lambda L, x: L.count_nonzero(x),
    "sort": lambda L, x: L.sort(x), "topk": lambda L, x: L.topk(x, 2), "cummax": lambda L, x: L.cummax(x, 0),
    "unique": lambda L, x: L.unique(x), "nansum": lambda L, x: L.nansum(x), "clamp": lambda L, x: L.clamp(x, 0, 2),
    "clamp_float": lambda L, x: L.clamp(x, min=0.5), "sum_float_dtype": lambda L, x: x.sum(dtype=L.float32),
    "cumsum_dtype": lambda L, x: x.cumsum(0, dtype=L.float64), "trace": lambda L, x: L.trace(x.reshape(1, 5)),
}


def _both(torch, fn_fastnn, fn_torch, what):
    """Run both; if torch raises, fastnn must raise too; else compare dtype, shape and values."""
    try:
        expected = fn_torch()
    except (RuntimeError, NotImplementedError, TypeError, IndexError, ValueError) as exc:
        with pytest.raises((RuntimeError, NotImplementedError, TypeError, IndexError, ValueError)):
            fn_fastnn()
        return type(exc)
    got = fn_fastnn()
    for k, (f, t) in enumerate(zip(_flat(got), _flat(expected))):
        assert _name(f.dtype) == _name(t.dtype), f"{what}: output {k} is {f.dtype}, torch gives {t.dtype}"
        assert tuple(f.shape) == tuple(t.shape), f"{what}: output {k} has shape {tuple(f.shape)}, torch " \
                                                 f"{tuple(t.shape)}"
        np.testing.assert_allclose(_to_numpy(f).astype(np.float64), _to_numpy(t).astype(np.float64), rtol=1e-5,
                                   atol=1e-6, equal_nan=True, err_msg=what)
    return None


@pytest.mark.parametrize("dtype", list(INT_INPUTS))
@pytest.mark.parametrize("name", UNARY_NAMES)
def test_unary_dtype_rules_for_int_and_bool(name, dtype, torch):
    values = INT_INPUTS[dtype]
    x = fastnn.tensor(values, dtype=getattr(fastnn, dtype))
    xt = torch.tensor(values, dtype=getattr(torch, dtype))
    _both(torch, lambda: getattr(FNN, name)(x), lambda: getattr(torch, name)(xt), f"{name}({dtype})")


@pytest.mark.parametrize("dtype", list(INT_INPUTS))
@pytest.mark.parametrize("name", list(REDUCTION_CALLS))
def test_reduction_dtype_rules_for_int_and_bool(name, dtype, torch):
    values = INT_INPUTS[dtype]
    x = fastnn.tensor(values, dtype=getattr(fastnn, dtype))
    xt = torch.tensor(values, dtype=getattr(torch, dtype))
    fn = REDUCTION_CALLS[name]
    _both(torch, lambda: fn(FNN, x), lambda: fn(torch, xt), f"{name}({dtype})")


BINARY_NAMES = ["maximum", "minimum", "fmax", "fmin", "atan2", "hypot", "fmod", "remainder", "floor_divide", "xlogy",
                "logical_and", "logical_or", "logical_xor", "copysign"]


def _operand_cases(lib):
    i = lib.tensor([3, -4, 5])
    f = lib.tensor([1.5, 2.0, -0.5])
    b = lib.tensor([True, False, True])
    d0 = lib.tensor(2.5, dtype=lib.float64)
    i0 = lib.tensor(2)
    return {"int,int": (i, i), "int,float": (i, f), "bool,bool": (b, b), "bool,int": (b, i), "int,0d-f64": (i, d0),
            "float,0d-f64": (f, d0), "bool,0d-int": (b, i0), "float,int": (f, i)}


@pytest.mark.parametrize("case", list(_operand_cases(fastnn)))
@pytest.mark.parametrize("name", BINARY_NAMES)
def test_binary_promotion_matches_torch(name, case, torch):
    a, b = _operand_cases(fastnn)[case]
    at, bt = _operand_cases(torch)[case]
    _both(torch, lambda: getattr(FNN, name)(a, b), lambda: getattr(torch, name)(at, bt), f"{name}({case})")


@pytest.mark.parametrize("number", [2, 2.5, True])
@pytest.mark.parametrize("dtype", ["int64", "float32", "bool"])
@pytest.mark.parametrize("name", ["fmod", "remainder", "floor_divide", "xlogy", "clamp_min", "clamp_max"])
def test_python_numbers_do_not_widen(name, dtype, number, torch):
    values = INT_INPUTS["bool" if dtype == "bool" else "int64"]
    x = fastnn.tensor(values, dtype=getattr(fastnn, dtype))
    xt = torch.tensor(values, dtype=getattr(torch, dtype))
    _both(torch, lambda: getattr(FNN, name)(x, number), lambda: getattr(torch, name)(xt, number),
          f"{name}({dtype}, {number!r})")


# =========================================================================== method and function forms

def test_every_method_function_is_exported_and_is_the_method():
    from fastnn._functions import METHOD_FUNCTIONS
    x = fastnn.tensor([[0.5, -1.5, 2.0], [0.25, 3.0, -0.75]])
    for name in METHOD_FUNCTIONS:
        assert hasattr(fastnn.Tensor, name), name
        fn = getattr(fastnn, name)
        assert callable(fn), name
        assert fn.__name__ == name
    np.testing.assert_allclose(fastnn.sin(x).numpy(), x.sin().numpy())
    np.testing.assert_allclose(fastnn.sum(x, 1).numpy(), x.sum(1).numpy())
    np.testing.assert_allclose(fastnn.sum(input=x, dim=0).numpy(), x.sum(dim=0).numpy())
    assert fastnn.max(x, 1).indices.tolist() == x.max(1).indices.tolist()
    np.testing.assert_allclose(fastnn.clamp(x, min=0).numpy(), x.clamp(0).numpy())
    np.testing.assert_allclose(fastnn.transpose(x, 0, 1).numpy(), x.t().numpy())


def test_method_functions_exist_in_torch_with_the_tensor_first(torch):
    from fastnn._functions import METHOD_FUNCTIONS
    missing = [n for n in METHOD_FUNCTIONS if not hasattr(torch, n) or not hasattr(torch.Tensor, n)]
    assert not missing, f"not torch functions and methods: {missing}"


def test_plain_functions_exist_in_torch(torch):
    missing = [n for n in ops.TOP_LEVEL if not hasattr(torch, n)]
    assert not missing


def test_plain_functions_are_fastnn_top_level_names():
    not_exported = [n for n, fn in ops.TOP_LEVEL.items() if getattr(fastnn, n, None) is not fn]
    assert not not_exported, f"fastnn.<name> is not fastnn.ops.TOP_LEVEL[name] for {not_exported}"


def test_method_and_function_forms_with_out():
    x = fastnn.tensor([1.0, 4.0, 9.0])
    out = fastnn.zeros(3)
    result = fastnn.sqrt(x, out=out)
    assert result is out
    np.testing.assert_allclose(out.numpy(), [1.0, 2.0, 3.0])


def test_functions_take_numbers_and_lists_as_input():
    np.testing.assert_allclose(fastnn.sqrt(fastnn.tensor(4.0)).item(), 2.0)
    assert fastnn.sum(fastnn.tensor([1, 2, 3])).item() == 6


# =========================================================================== named tuples

@pytest.mark.parametrize("call", [
    lambda L, x: x.max(1), lambda L, x: x.min(0), lambda L, x: x.sort(1), lambda L, x: x.topk(2),
    lambda L, x: x.kthvalue(2, 1), lambda L, x: x.median(1), lambda L, x: x.mode(1), lambda L, x: x.cummax(1),
    lambda L, x: x.cummin(0), lambda L, x: L.aminmax(x), lambda L, x: x.nanmedian(0)])
def test_named_tuples_print_unpack_and_name_their_fields(call, torch):
    a = np.array([[3.0, 1.0, 2.0], [0.5, 5.0, 4.0]])
    got, expected = call(fastnn, fastnn.tensor(a)), call(torch, torch.tensor(a))
    assert isinstance(got, tuple) and len(got) == 2
    assert type(got).__name__ == type(expected).__name__
    assert got._fields == tuple(f for f in ("values", "indices", "min", "max") if hasattr(expected, f))
    first, second = got
    assert first is got[0] and second is got[1]
    for field in got._fields:
        np.testing.assert_allclose(getattr(got, field).numpy(), getattr(expected, field).numpy())
    text = repr(got)
    assert text.startswith(f"fastnn.return_types.{type(expected).__name__}(\n{got._fields[0]}=tensor(")
    assert f",\n{got._fields[1]}=tensor(" in text and text.endswith(")")
    assert repr(expected).replace("torch.", "fastnn.").split("(")[0] == text.split("(")[0]


def test_return_types_module_is_public():
    assert fastnn.return_types.max is ops.return_types.max
    r = fastnn.tensor([[1.0, 2.0]]).max(1)
    assert isinstance(r, fastnn.return_types.max)


def test_max_forms():
    x = fastnn.tensor([[1.0, 5.0], [7.0, 2.0]])
    assert x.max().item() == 7.0 and isinstance(x.max(), fastnn.Tensor)
    values, indices = x.max(dim=1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0] and indices.dtype == fastnn.int64
    assert x.max(fastnn.tensor([[3.0, 3.0], [3.0, 3.0]])).tolist() == [[3.0, 5.0], [7.0, 3.0]]
    assert x.max(1, keepdim=True).values.shape == (2, 1)


# =========================================================================== gradient rules at ties

def test_max_gradients_at_ties_follow_torch(torch):
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    for call in [lambda t: t.max(), lambda t: t.max(1).values, lambda t: t.amax(1), lambda t: t.min(),
                 lambda t: t.median(), lambda t: t.norm(float("inf")), lambda t: t.amax((0, 1))]:
        x, xt = fastnn.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        call(x).sum().backward()
        call(xt).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy())


# =========================================================================== 0-d and empty tensors

@pytest.mark.parametrize("call", [
    lambda L, x: x.sum(), lambda L, x: x.sum(0), lambda L, x: x.mean(-1), lambda L, x: x.max(0),
    lambda L, x: x.argmax(0), lambda L, x: x.sort(), lambda L, x: x.cumsum(0), lambda L, x: x.unsqueeze(0),
    lambda L, x: x.squeeze(0), lambda L, x: x.flatten(), lambda L, x: x.reshape(1, 1), lambda L, x: x.expand(3),
    lambda L, x: x.prod(0), lambda L, x: x.logsumexp(0), lambda L, x: x.topk(1), lambda L, x: x.t(),
    lambda L, x: x.transpose(0, -1), lambda L, x: x.norm(), lambda L, x: x.median(0), lambda L, x: x.kthvalue(1),
    lambda L, x: x.repeat(2, 3), lambda L, x: x.nonzero(), lambda L, x: x.all(0), lambda L, x: x.movedim(0, 0),
    lambda L, x: x.index_select(0, L.tensor([0, 0])), lambda L, x: L.stack([x, x]), lambda L, x: x.roll(1, 0),
    lambda L, x: x.flip(0), lambda L, x: x.gather(0, L.tensor(0)), lambda L, x: x.cummax(0),
])
def test_zero_dim_tensors(call, torch):
    x, xt = fastnn.tensor(2.5, dtype=fastnn.float64), torch.tensor(2.5, dtype=torch.float64)
    _both(torch, lambda: call(FNN, x), lambda: call(torch, xt), "0-d")


@pytest.mark.parametrize("call", [
    lambda L, x: x.sum(), lambda L, x: x.sum(0), lambda L, x: x.mean(0), lambda L, x: x.prod(1),
    lambda L, x: x.amax(1), lambda L, x: x.max(1), lambda L, x: x.max(), lambda L, x: x.argmax(),
    lambda L, x: x.sort(0), lambda L, x: x.cumsum(0), lambda L, x: x.reshape(-1), lambda L, x: x.t(),
    lambda L, x: L.cat([x, x], 0), lambda L, x: x.flip(0), lambda L, x: x.nonzero(), lambda L, x: x.unique(),
    lambda L, x: x.logsumexp(0), lambda L, x: x.norm(), lambda L, x: x.any(), lambda L, x: x.std(0),
    lambda L, x: x.median(), lambda L, x: x.split(1, 1), lambda L, x: x.repeat(2, 1), lambda L, x: x.exp(),
    lambda L, x: L.matmul(x, L.ones(3, 2, dtype=L.float64)),
])
def test_empty_tensors(call, torch):
    a = np.zeros((0, 3))
    x, xt = fastnn.tensor(a), torch.tensor(a)
    _both(torch, lambda: call(FNN, x), lambda: call(torch, xt), "empty")


# =========================================================================== errors for bad arguments

ERRORS = [
    ("sum dim out of range", lambda L, x: x.sum(2), IndexError, "Dimension out of range"),
    ("sum repeated dim", lambda L, x: x.sum((1, 1)), RuntimeError, "multiple times"),
    ("max dim out of range", lambda L, x: x.max(-3), IndexError, "Dimension out of range"),
    ("mean of int", lambda L, x: x.long().mean(), RuntimeError, "floating point"),
    ("std of int", lambda L, x: x.long().std(), RuntimeError, "floating point"),
    ("clamp without bounds", lambda L, x: x.clamp(), RuntimeError, "At least one of 'min' or 'max'"),
    ("neg of bool", lambda L, x: L.neg(x > 0), RuntimeError, "Negation"),
    ("abs of bool", lambda L, x: L.abs(x > 0), NotImplementedError, "Bool"),
    ("frac of int", lambda L, x: L.frac(x.long()), NotImplementedError, "Long"),
    ("hypot of int", lambda L, x: L.hypot(x.long(), x.long()), NotImplementedError, "Long"),
    ("reshape", lambda L, x: x.reshape(5, 5), RuntimeError, "invalid for input of size 6"),
    ("view two -1", lambda L, x: x.view(-1, -1), RuntimeError, "only one dimension can be inferred"),
    ("permute wrong length", lambda L, x: x.permute(1, 0, 2), RuntimeError, "number of dimensions"),
    ("transpose out of range", lambda L, x: x.transpose(0, 2), IndexError, "Dimension out of range"),
    ("expand", lambda L, x: x.expand(4, 3), RuntimeError, "must match the existing size"),
    ("repeat too few", lambda L, x: x.repeat(2), RuntimeError, "can not be smaller"),
    ("t of 3-D", lambda L, x: x.reshape(1, 2, 3).t(), RuntimeError, "<= 2 dimensions"),
    ("split sections", lambda L, x: x.split([1, 1], 1), RuntimeError, "sum exactly to 3"),
    ("narrow", lambda L, x: x.narrow(1, 2, 2), RuntimeError, "exceeds dimension size"),
    ("select", lambda L, x: x.select(0, 2), IndexError, "out of range"),
    ("gather ndim", lambda L, x: x.gather(1, L.tensor([0, 1])), RuntimeError, "same number of dimensions"),
    ("gather dtype", lambda L, x: x.gather(1, L.tensor([[0.0]])), RuntimeError, "int64"),
    ("gather bounds", lambda L, x: x.gather(1, L.tensor([[0, 3]])), (RuntimeError, IndexError), "out of bounds"),
    ("index_select bounds", lambda L, x: x.index_select(0, L.tensor([2])), IndexError, "out of"),
    ("masked_fill mask dtype", lambda L, x: x.masked_fill(L.tensor([[1, 0, 1], [0, 0, 0]]), 0.0), RuntimeError,
     "bool"),
    ("masked_fill mask shape", lambda L, x: x.masked_fill(L.ones(3, 3, dtype=L.bool), 0.0), RuntimeError,
     "must match the size"),
    ("cat sizes", lambda L, x: L.cat([x, L.zeros(3, 2, dtype=L.float64)], 0), RuntimeError,
     "Sizes of tensors must match except in dimension 0"),
    ("cat ndim", lambda L, x: L.cat([x, L.zeros(3, dtype=L.float64)], 0), RuntimeError,
     "same number of dimensions"),
    ("cat empty list", lambda L, x: L.cat([]), RuntimeError, "non-empty"),
    ("stack shapes", lambda L, x: L.stack([x, x.t()]), RuntimeError, "stack expects each tensor to be equal size"),
    ("mm shapes", lambda L, x: x.mm(x), RuntimeError, r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)"),
    ("mm of vector", lambda L, x: x.mm(x[0]), RuntimeError, "mat2 must be a matrix"),
    ("bmm 2-D", lambda L, x: x.bmm(x), RuntimeError, "batch1 must be a 3D tensor"),
    ("matmul 0-d", lambda L, x: L.matmul(x, L.tensor(2.0, dtype=L.float64)), RuntimeError, "at least 1D"),
    ("dot 2-D", lambda L, x: L.dot(x, x), RuntimeError, "1D tensors expected"),
    ("dot sizes", lambda L, x: L.dot(x[0], x[0, :2]), RuntimeError, "inconsistent tensor size"),
    ("einsum operands", lambda L, x: L.einsum("ij,jk->ik", x), RuntimeError, "fewer operands"),
    ("einsum subscripts", lambda L, x: L.einsum("ijk->i", x), RuntimeError, "number of subscripts"),
    ("einsum sizes", lambda L, x: L.einsum("ij,ij->i", x, x.t()), RuntimeError, "broadcast"),
    ("einsum output letter", lambda L, x: L.einsum("ij->k", x), RuntimeError, "does not appear"),
    ("trace of 3-D", lambda L, x: x.reshape(1, 2, 3).trace(), RuntimeError, "expected a matrix"),
    ("tril of 1-D", lambda L, x: x[0].tril(), RuntimeError, "at least 2 dimensions"),
    ("det of non-square", lambda L, x: x.det(), RuntimeError, "square"),
    ("topk k too big", lambda L, x: x.topk(4), RuntimeError, "out of range"),
    ("kthvalue k too big", lambda L, x: x.kthvalue(4), (RuntimeError, IndexError), "out of range"),
    ("max of empty", lambda L, x: x[:0].max(), (RuntimeError, IndexError), "numel\\(\\) == 0"),
    ("bincount of float", lambda L, x: x.bincount(), RuntimeError, "1-d"),
    ("argmax of bool", lambda L, x: (x > 0).argmax(), RuntimeError, "bool"),
    ("unflatten sizes", lambda L, x: x.unflatten(1, (2, 2)), RuntimeError, "don't multiply up"),
    ("movedim repeated", lambda L, x: x.movedim((0, 0), (0, 1)), RuntimeError, "repeated dim"),
    ("chunk 0", lambda L, x: x.chunk(0), RuntimeError, "greater than 0"),
    ("scatter reduce name", lambda L, x: x.scatter_reduce(0, L.tensor([[0, 1, 0]]), x, "median"), RuntimeError,
     "reduce argument"),
    ("roll shifts and dims", lambda L, x: x.roll((1, 2), (0,)), RuntimeError, "align"),
    ("flip repeated", lambda L, x: x.flip(0, 0), RuntimeError, "multiple times"),
    ("diagonal same dims", lambda L, x: x.diagonal(0, 1, 1), RuntimeError, "cannot be identical"),
    ("lerp dtype", lambda L, x: x.lerp(x.float(), 0.5), RuntimeError, "expected dtype"),
    ("meshgrid 2-D", lambda L, x: L.meshgrid(x, x, indexing="ij"), RuntimeError, "0D or 1D"),
    ("where condition dtype", lambda L, x: L.where(x, x, x), RuntimeError, "bool"),
]


@pytest.mark.parametrize("call,exc,match", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_bad_arguments_raise_like_torch(call, exc, match, torch):
    a = np.arange(6.0).reshape(2, 3)
    with pytest.raises(exc, match=match):
        call(FNN, fastnn.tensor(a))
    with pytest.raises(Exception):
        call(torch, torch.tensor(a))


def test_broadcast_shapes(torch):
    assert fastnn.broadcast_shapes((3, 1), (4,), 1) == torch.broadcast_shapes((3, 1), (4,), 1)
    assert type(fastnn.broadcast_shapes((3, 1))).__name__ == "Size"
    with pytest.raises(RuntimeError, match="shape mismatch"):
        fastnn.broadcast_shapes((3,), (4,))


def test_reshape_error_is_also_a_value_error():
    with pytest.raises(ValueError):
        fastnn.zeros(2, 3).reshape(5)


# =========================================================================== random shapes (hypothesis)

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import mutually_broadcastable_shapes  # noqa: E402

RANDOM_BINARY = ["maximum", "minimum", "atan2", "hypot", "fmod", "remainder", "xlogy", "lerp_scalar",
                 "clamp_tensor_min", "add_alpha", "copysign", "fmax"]
RANDOM_REDUCTIONS = {
    "sum": lambda L, x, d, k: x.sum(d, keepdim=k), "mean": lambda L, x, d, k: x.mean(d, keepdim=k),
    "var": lambda L, x, d, k: x.var(d, keepdim=k), "std0": lambda L, x, d, k: x.std(d, keepdim=k, correction=0),
    "amax": lambda L, x, d, k: x.amax(d, keepdim=k), "logsumexp": lambda L, x, d, k: x.logsumexp(d, keepdim=k),
    "norm": lambda L, x, d, k: x.norm(2, dim=d, keepdim=k), "norm3": lambda L, x, d, k: x.norm(3, d, keepdim=k),
    "nansum": lambda L, x, d, k: x.nansum(d, keepdim=k), "count_nonzero": lambda L, x, d, k: L.count_nonzero(x, d),
}


@settings(max_examples=40, deadline=None)
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4),
       name=st.sampled_from(RANDOM_BINARY), layout=st.sampled_from(["contiguous", "transposed", "strided"]),
       seed=st.integers(0, 2 ** 31 - 1))
def test_random_broadcast_shapes(shapes, name, layout, seed):
    torch = pytest.importorskip("torch")
    op_ = OPS_BY_NAME[name]
    rng = _rng(seed)
    a, b = (rng.standard_normal(s) for s in shapes.input_shapes)
    if name in ("fmod", "remainder"):
        b = np.where(np.abs(b) < 0.3, 1.0, b)
    _compare(op_, (a, b), layout, np.float64, seed, torch)


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), data=st.data(),
       name=st.sampled_from(list(RANDOM_REDUCTIONS)), layout=st.sampled_from(["contiguous", "transposed", "strided"]),
       keepdim=st.booleans(), seed=st.integers(0, 2 ** 31 - 1))
def test_random_reduction_dims(shape, data, name, layout, keepdim, seed):
    torch = pytest.importorskip("torch")
    ndim = len(shape)
    dims = data.draw(st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim,
                              unique_by=lambda d: d % ndim))
    dim = dims[0] if len(dims) == 1 and data.draw(st.booleans()) else tuple(dims)
    fn = RANDOM_REDUCTIONS[name]
    op_ = Op(f"{name}(dim={dim}, keepdim={keepdim})", lambda L, x: fn(L, x, dim, keepdim), None,
             grad=name != "count_nonzero", rtol=1e-5)
    _compare(op_, (_rng(seed).standard_normal(shape),), layout, np.float64, seed, torch)


# =========================================================================== PyTorch's argument names

KEYWORD_CALLS = [
    lambda L, x: x.sum(dim=1, keepdim=True), lambda L, x: L.sum(input=x, dim=(0, 1)),
    lambda L, x: x.mean(dim=0, keepdim=False), lambda L, x: x.std(dim=1, correction=0, keepdim=True),
    lambda L, x: x.var(dim=0, unbiased=False), lambda L, x: x.prod(dim=1, keepdim=True),
    lambda L, x: x.max(dim=1, keepdim=True), lambda L, x: x.min(dim=0), lambda L, x: x.argmax(dim=1, keepdim=True),
    lambda L, x: x.amax(dim=(0, 1), keepdim=True), lambda L, x: x.norm(p=1, dim=1, keepdim=True),
    lambda L, x: x.logsumexp(dim=1, keepdim=True), lambda L, x: x.cumsum(dim=0), lambda L, x: x.cumprod(dim=1),
    lambda L, x: x.sort(dim=0, descending=True, stable=True), lambda L, x: x.argsort(dim=1, descending=True),
    lambda L, x: x.topk(k=2, dim=1, largest=False, sorted=True), lambda L, x: x.kthvalue(k=2, dim=1, keepdim=True),
    lambda L, x: x.median(dim=1, keepdim=True), lambda L, x: x.quantile(q=0.5, dim=1, keepdim=True),
    lambda L, x: x.clamp(min=-0.5, max=0.5), lambda L, x: x.round(decimals=1), lambda L, x: x.logit(eps=0.1),
    lambda L, x: x.nan_to_num(nan=0.0, posinf=1.0, neginf=-1.0), lambda L, x: x.lerp(end=x * 2, weight=0.5),
    lambda L, x: x.transpose(dim0=0, dim1=1), lambda L, x: x.swapaxes(axis0=0, axis1=1),
    lambda L, x: x.flatten(start_dim=0, end_dim=1), lambda L, x: x.unflatten(dim=1, sizes=(2, 2)),
    lambda L, x: x.squeeze(dim=0), lambda L, x: x.unsqueeze(dim=1), lambda L, x: x.movedim(source=0, destination=1),
    lambda L, x: x.narrow(dim=1, start=1, length=2), lambda L, x: x.select(dim=1, index=0),
    lambda L, x: x.chunk(chunks=2, dim=1), lambda L, x: x.split(2, dim=1), lambda L, x: x.split(split_size=2),
    lambda L, x: x.roll(shifts=1, dims=1), lambda L, x: x.flip(dims=(0,)), lambda L, x: x.rot90(k=1, dims=(0, 1)),
    lambda L, x: x.repeat_interleave(repeats=2, dim=0), lambda L, x: x.diagonal(offset=1, dim1=0, dim2=1),
    lambda L, x: x.tril(diagonal=-1), lambda L, x: x.triu(diagonal=1), lambda L, x: x.diff(n=1, dim=0),
    lambda L, x: x.gather(dim=1, index=L.tensor([[0, 0], [1, 2], [3, 3]])),
    lambda L, x: x.scatter(dim=1, index=L.tensor([[0], [1], [2]]), value=2.0),
    lambda L, x: x.scatter(dim=1, index=L.tensor([[0], [1], [2]]), src=x[:, :1].contiguous()),
    lambda L, x: x.index_select(dim=0, index=L.tensor([2, 0])), lambda L, x: x.masked_fill(mask=x > 0, value=0.0),
    lambda L, x: x.index_add(dim=0, index=L.tensor([0, 0, 1]), source=x, alpha=2),
    lambda L, x: x.index_fill(dim=1, index=L.tensor([0]), value=1.0), lambda L, x: x.take(index=L.tensor([0, 5])),
    lambda L, x: x.matmul(other=x.t()), lambda L, x: x.mm(mat2=x.t()), lambda L, x: L.matmul(input=x, other=x.t()),
    lambda L, x: x.expand(size=(2, 3, 4)), lambda L, x: x.broadcast_to(size=(2, 3, 4)),
    lambda L, x: x.tile(dims=(1, 2)), lambda L, x: x.unbind(dim=1), lambda L, x: x.nonzero(as_tuple=True),
    lambda L, x: x.count_nonzero(dim=0), lambda L, x: x.all(dim=1), lambda L, x: x.any(dim=0, keepdim=True),
    lambda L, x: L.cat(tensors=[x, x], dim=1), lambda L, x: L.stack(tensors=[x, x], dim=1),
    lambda L, x: L.concatenate([x, x], axis=1), lambda L, x: L.where(condition=x > 0, input=x, other=-x),
    lambda L, x: x.permute(dims=(1, 0)), lambda L, x: x.reshape(shape=(4, 3)), lambda L, x: x.view(size=(4, 3)),
    lambda L, x: x.unfold(dimension=1, size=2, step=1), lambda L, x: x[:, :3].cross(other=x[:, 1:], dim=1),
    lambda L, x: x[:, :3].addmm(mat1=x[:, :3], mat2=x[:3, :3], beta=0.5, alpha=2),
    lambda L, x: L.tensordot(a=x, b=x, dims=([0, 1], [0, 1])), lambda L, x: L.einsum("ij->j", x),
    lambda L, x: x.histc(bins=4, min=-1, max=1), lambda L, x: x.unique(sorted=True, return_counts=True),
    lambda L, x: x.maximum(other=x.t().t()), lambda L, x: x.fmod(other=2), lambda L, x: x.atan2(other=x),
    lambda L, x: x.take_along_dim(indices=L.tensor([[0], [1], [2]]), dim=1),
    lambda L, x: x.scatter_add(dim=0, index=L.tensor([[0, 1, 2, 0]]), src=x),
    lambda L, x: x.scatter_reduce(dim=0, index=L.tensor([[0, 1, 2, 0]]), src=x, reduce="amax", include_self=False),
    lambda L, x: x.masked_select(mask=x > 0), lambda L, x: x.repeat(repeats=(2, 1)),
]


@pytest.mark.parametrize("call", KEYWORD_CALLS, ids=[f"call{i}" for i in range(len(KEYWORD_CALLS))])
def test_pytorch_argument_names(call, torch):
    a = _rng(3).standard_normal((3, 4))
    _both(torch, lambda: call(FNN, fastnn.tensor(a)), lambda: call(torch, torch.tensor(a)), "keywords")


# =========================================================================== without SciPy

@pytest.mark.parametrize("name,gen", [("erf", normal), ("erfc", normal), ("erfinv", unit),
                                      ("lgamma", lambda r, *s: r.uniform(-3.5, 6, s)),
                                      ("digamma", lambda r, *s: r.uniform(-3.5, 6, s))])
def test_special_functions_without_scipy(name, gen, monkeypatch, torch):
    """SciPy is optional: the fallbacks (the standard library's erf, Newton on erf for erfinv, a
    recurrence plus asymptotic series for digamma and its derivative) agree with PyTorch."""
    from fastnn.ops import pointwise
    monkeypatch.setattr(pointwise, "_special", lambda: None)
    a = gen(_rng(5), 4, 5)
    x, xt = fastnn.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, yt = getattr(x, name)(), getattr(xt, name)()
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-7, atol=1e-9)
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-6, atol=1e-8)
