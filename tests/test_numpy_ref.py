"""The NumPy reference backend against textbook loops and finite differences.

numpy_ref is the oracle of every other backend, so it is checked here against something
more obviously right than itself: plain nested Python loops in float64 (over n, c, oh, ow,
kh, kw...) written from the definitions, over hypothesis-drawn geometries (non-square
kernels, strides > 1, padding, dilation, batch 1, odd sizes). Backward kernels are also
checked by central finite differences of a scalar ``sum(out * R)`` (random ``R``), and
col2im as the adjoint of im2col. Every call goes through the public, validated methods.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastnn import backends
from fastnn.backends.contract import KERNELS, Backend
from fastnn.backends.numpy_ref import NumpyBackend
from strategies import (batchnorm_cases, conv_cases, float_dtypes, gemm_cases, loss_cases, out_size,
                        pool_cases, seeds, shapes)

B = NumpyBackend()
ORACLE = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FD = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True)
def _no_float_warnings():
    """Overflow, invalid operations (NaN made from numbers) and division by zero fail a test."""
    with np.errstate(over="raise", invalid="raise", divide="raise"), warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


# --------------------------------------------------------------------------- helpers

def randn(rng, shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


def assert_close(actual, expected, dtype, reduce=1):
    """``actual`` (dtype as given) against a float64 oracle. float64: ~1e-10 relative; float32:
    rtol 1e-4 and an absolute slack growing with the reduction length ``reduce``."""
    assert isinstance(actual, np.ndarray)
    assert actual.dtype == np.dtype(dtype), f"dtype {actual.dtype}, expected {np.dtype(dtype)}"
    assert actual.shape == np.shape(expected), f"shape {actual.shape}, expected {np.shape(expected)}"
    if np.dtype(dtype) == np.float64:
        rtol, atol = 1e-10, 1e-10
    else:
        rtol, atol = 1e-4, 1e-5 * math.sqrt(max(reduce, 1))
    np.testing.assert_allclose(actual.astype(np.float64), expected, rtol=rtol, atol=atol)


def numeric_grad(f, x, eps=1e-6):
    """Central differences of the scalar ``f()`` w.r.t. every entry of ``x`` (perturbed in place)."""
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    assert np.shares_memory(flat, x)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def assert_fd(analytic, numeric, rtol=1e-6, atol=1e-7):
    assert analytic.shape == numeric.shape
    np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol)


def distinct_values(rng, shape):
    """Float64 values at least 0.09 apart (no ties, so max pooling is differentiable)."""
    size = int(np.prod(shape))
    return (rng.permutation(size) * 0.1 + rng.uniform(0, 0.01, size)).reshape(shape) - size * 0.05


def away_from_zero(rng, shape):
    x = rng.standard_normal(shape) * 2
    return np.where(np.abs(x) < 0.05, np.copysign(0.05, x) + x, x)


# --------------------------------------------------------------------------- plain-loop oracles
# Everything below is written from the definitions with Python floats, one element at a time.

def loop_gemm(a, b):
    a, b = a.tolist(), b.tolist()
    m, k, n = len(a), len(b), len(b[0])
    return np.array([[math.fsum(a[i][p] * b[p][j] for p in range(k)) for j in range(n)] for i in range(m)])


def _in(h, w, H, W):
    return 0 <= h < H and 0 <= w < W


def loop_conv2d(x, weight, bias, s, p, d):
    N, C, H, W = x.shape
    F, _, KH, KW = weight.shape
    OH, OW = out_size(H, KH, s[0], p[0], d[0]), out_size(W, KW, s[1], p[1], d[1])
    xs, ws = x.tolist(), weight.tolist()
    out = np.zeros((N, F, OH, OW))
    for n in range(N):
        for f in range(F):
            for oh in range(OH):
                for ow in range(OW):
                    acc = 0.0 if bias is None else float(bias[f])
                    for c in range(C):
                        for i in range(KH):
                            for j in range(KW):
                                h, w = oh * s[0] - p[0] + i * d[0], ow * s[1] - p[1] + j * d[1]
                                if _in(h, w, H, W):
                                    acc += xs[n][c][h][w] * ws[f][c][i][j]
                    out[n, f, oh, ow] = acc
    return out


def loop_conv2d_backward(g, x, weight, s, p, d):
    N, C, H, W = x.shape
    F, _, KH, KW = weight.shape
    _, _, OH, OW = g.shape
    xs, ws, gs = x.tolist(), weight.tolist(), g.tolist()
    gx, gw, gb = np.zeros(x.shape), np.zeros(weight.shape), np.zeros(F)
    for n in range(N):
        for f in range(F):
            for oh in range(OH):
                for ow in range(OW):
                    gv = gs[n][f][oh][ow]
                    gb[f] += gv
                    for c in range(C):
                        for i in range(KH):
                            for j in range(KW):
                                h, w = oh * s[0] - p[0] + i * d[0], ow * s[1] - p[1] + j * d[1]
                                if _in(h, w, H, W):
                                    gx[n, c, h, w] += gv * ws[f][c][i][j]
                                    gw[f, c, i, j] += gv * xs[n][c][h][w]
    return gx, gw, gb


def loop_im2col(x, k, s, p, d):
    N, C, H, W = x.shape
    KH, KW = k
    OH, OW = out_size(H, KH, s[0], p[0], d[0]), out_size(W, KW, s[1], p[1], d[1])
    xs = x.tolist()
    cols = np.zeros((N, C * KH * KW, OH * OW))
    for n in range(N):
        for c in range(C):
            for i in range(KH):
                for j in range(KW):
                    for oh in range(OH):
                        for ow in range(OW):
                            h, w = oh * s[0] - p[0] + i * d[0], ow * s[1] - p[1] + j * d[1]
                            if _in(h, w, H, W):
                                cols[n, (c * KH + i) * KW + j, oh * OW + ow] = xs[n][c][h][w]
    return cols


def loop_col2im(cols, x_shape, k, s, p, d):
    N, C, H, W = x_shape
    KH, KW = k
    OH, OW = out_size(H, KH, s[0], p[0], d[0]), out_size(W, KW, s[1], p[1], d[1])
    cs = cols.tolist()
    x = np.zeros(x_shape)
    for n in range(N):
        for c in range(C):
            for i in range(KH):
                for j in range(KW):
                    for oh in range(OH):
                        for ow in range(OW):
                            h, w = oh * s[0] - p[0] + i * d[0], ow * s[1] - p[1] + j * d[1]
                            if _in(h, w, H, W):
                                x[n, c, h, w] += cs[n][(c * KH + i) * KW + j][oh * OW + ow]
    return x


def loop_maxpool(x, k, s, p):
    """Max over real pixels of each window, first maximum (row-major) wins ties."""
    N, C, H, W = x.shape
    OH, OW = out_size(H, k[0], s[0], p[0]), out_size(W, k[1], s[1], p[1])
    xs = x.tolist()
    out, arg = np.zeros((N, C, OH, OW)), np.zeros((N, C, OH, OW), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    best, where = None, None
                    for i in range(k[0]):
                        for j in range(k[1]):
                            h, w = oh * s[0] - p[0] + i, ow * s[1] - p[1] + j
                            if _in(h, w, H, W) and (best is None or xs[n][c][h][w] > best):
                                best, where = xs[n][c][h][w], h * W + w
                    out[n, c, oh, ow], arg[n, c, oh, ow] = best, where
    return out, arg


def loop_maxpool_backward(g, arg, x_shape):
    N, C, H, W = x_shape
    gx = np.zeros(x_shape)
    for n in range(N):
        for c in range(C):
            for oh in range(g.shape[2]):
                for ow in range(g.shape[3]):
                    a = int(arg[n, c, oh, ow])
                    gx[n, c, a // W, a % W] += g[n, c, oh, ow]
    return gx


def loop_avgpool(x, k, s, p, count_include_pad):
    N, C, H, W = x.shape
    OH, OW = out_size(H, k[0], s[0], p[0]), out_size(W, k[1], s[1], p[1])
    xs = x.tolist()
    out = np.zeros((N, C, OH, OW))
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    vals = [xs[n][c][h][w]
                            for h in range(oh * s[0] - p[0], oh * s[0] - p[0] + k[0])
                            for w in range(ow * s[1] - p[1], ow * s[1] - p[1] + k[1]) if _in(h, w, H, W)]
                    out[n, c, oh, ow] = math.fsum(vals) / (k[0] * k[1] if count_include_pad else len(vals))
    return out


def loop_avgpool_backward(g, x_shape, k, s, p, count_include_pad):
    N, C, H, W = x_shape
    gx = np.zeros(x_shape)
    for n in range(N):
        for c in range(C):
            for oh in range(g.shape[2]):
                for ow in range(g.shape[3]):
                    pixels = [(h, w) for h in range(oh * s[0] - p[0], oh * s[0] - p[0] + k[0])
                              for w in range(ow * s[1] - p[1], ow * s[1] - p[1] + k[1]) if _in(h, w, H, W)]
                    div = k[0] * k[1] if count_include_pad else len(pixels)
                    for h, w in pixels:
                        gx[n, c, h, w] += g[n, c, oh, ow] / div
    return gx


def elementwise(fn, x):
    return np.array([fn(v) for v in np.asarray(x, np.float64).ravel().tolist()]).reshape(np.shape(x))


# activation: (forward(x), derivative(x)) from the definitions; sigmoid and tanh derivatives via cosh,
# a different formula from the backend's y*(1-y) and 1-y^2
ACTIVATIONS = {
    "relu": (lambda v, a: v if v > 0 else 0.0, lambda v, a: 1.0 if v > 0 else 0.0),
    "leaky_relu": (lambda v, a: v if v > 0 else a * v, lambda v, a: 1.0 if v > 0 else a),
    "elu": (lambda v, a: v if v > 0 else a * math.expm1(v), lambda v, a: 1.0 if v > 0 else a * math.exp(v)),
    "sigmoid": (lambda v, a: 0.5 * (1.0 + math.tanh(v / 2)), lambda v, a: 0.25 / math.cosh(v / 2) ** 2),
    "tanh": (lambda v, a: math.tanh(v), lambda v, a: 1.0 / math.cosh(v) ** 2),
}
PARAM = {"leaky_relu": "negative_slope", "elu": "alpha"}


def loop_log_softmax(x):
    out = np.zeros(x.shape)
    for n, row in enumerate(x.tolist()):
        m = max(row)
        lse = m + math.log(math.fsum(math.exp(v - m) for v in row))
        out[n] = [v - lse for v in row]
    return out


def loop_cross_entropy(logits, target, ls):
    logp = loop_log_softmax(logits)
    n, c = logits.shape
    losses = np.array([(1 - ls) * -logp[i, target[i]] + ls / c * math.fsum(-logp[i]) for i in range(n)])
    return losses, np.exp(logp)


def loop_cross_entropy_backward(gl, probs, target, ls):
    n, c = probs.shape
    grad = np.zeros((n, c))
    for i in range(n):
        for j in range(c):
            q = (1 - ls) * (1.0 if j == target[i] else 0.0) + ls / c
            grad[i, j] = gl[i] * (probs[i, j] - q)
    return grad


def loop_batchnorm(x, weight, bias, rm, rv, training, momentum, eps):
    """Returns y, mean, invstd and the updated running stats (or None)."""
    N, C, L = x.shape
    M = N * L
    y, mean, invstd = np.zeros(x.shape), np.zeros(C), np.zeros(C)
    new_rm = None if rm is None else np.array(rm, dtype=np.float64)
    new_rv = None if rv is None else np.array(rv, dtype=np.float64)
    for c in range(C):
        vals = [float(x[n, c, l]) for n in range(N) for l in range(L)]
        if training:
            mu = math.fsum(vals) / M
            var = math.fsum((v - mu) ** 2 for v in vals) / M
            if rm is not None:
                new_rm[c] = (1 - momentum) * rm[c] + momentum * mu
                new_rv[c] = (1 - momentum) * rv[c] + momentum * var * M / (M - 1)
        else:
            mu, var = float(rm[c]), float(rv[c])
        mean[c], invstd[c] = mu, 1 / math.sqrt(var + eps)
        wc = 1.0 if weight is None else float(weight[c])
        bc = 0.0 if bias is None else float(bias[c])
        for n in range(N):
            for l in range(L):
                y[n, c, l] = (x[n, c, l] - mu) * invstd[c] * wc + bc
    return y, mean, invstd, new_rm, new_rv


def loop_batchnorm_backward_train(g, x, weight, eps):
    """The staged textbook derivation (through xhat, var and mean), one channel at a time."""
    N, C, L = x.shape
    M = N * L
    gx, gw, gb = np.zeros(x.shape), np.zeros(C), np.zeros(C)
    for c in range(C):
        xs = [float(x[n, c, l]) for n in range(N) for l in range(L)]
        gs = [float(g[n, c, l]) for n in range(N) for l in range(L)]
        mu = math.fsum(xs) / M
        var = math.fsum((v - mu) ** 2 for v in xs) / M
        istd = 1 / math.sqrt(var + eps)
        wc = 1.0 if weight is None else float(weight[c])
        xhat = [(v - mu) * istd for v in xs]
        gb[c] = math.fsum(gs)
        gw[c] = math.fsum(gi * xh for gi, xh in zip(gs, xhat))
        dxhat = [gi * wc for gi in gs]
        dvar = math.fsum(dh * (v - mu) for dh, v in zip(dxhat, xs)) * -0.5 * istd ** 3
        dmean = math.fsum(-dh * istd for dh in dxhat) + dvar * math.fsum(-2 * (v - mu) for v in xs) / M
        vals = [dh * istd + dvar * 2 * (v - mu) / M + dmean / M for dh, v in zip(dxhat, xs)]
        gx[:, c, :] = np.array(vals).reshape(N, L)
    return gx, gw, gb


# --------------------------------------------------------------------------- the backend itself

def test_implements_every_kernel():
    for kernel in KERNELS:
        assert callable(getattr(Backend, kernel, None)), f"contract has no public {kernel}"
        impl = getattr(NumpyBackend, "_" + kernel, None)
        assert callable(impl), f"NumpyBackend lacks _{kernel}"


def test_registry_and_identity():
    b = backends.get("numpy")
    assert isinstance(b, NumpyBackend)
    assert b.name == "numpy"
    assert b.gemm_variants == ("blas",) and b.conv_variants == ("im2col",)


# --------------------------------------------------------------------------- gemm

@ORACLE
@given(case=gemm_cases(), seed=seeds, dtype=float_dtypes, use_out=st.booleans())
def test_gemm_matches_loops(case, seed, dtype, use_out):
    rng = np.random.default_rng(seed)
    a, b = randn(rng, case.a_shape, dtype), randn(rng, case.b_shape, dtype)
    a_op = a.T if case.trans_a else a
    b_op = b.T if case.trans_b else b
    expected = loop_gemm(a_op.astype(np.float64), b_op.astype(np.float64))
    out = np.full(case.c_shape, np.nan, dtype=dtype) if use_out else None
    c = B.gemm(a, b, trans_a=case.trans_a, trans_b=case.trans_b, out=out)
    if use_out:
        assert c is out
    assert_close(c, expected, dtype, reduce=case.k)


# --------------------------------------------------------------------------- convolution

@ORACLE
@given(case=conv_cases(), seed=seeds, dtype=float_dtypes)
def test_im2col_matches_loops(case, seed, dtype):
    rng = np.random.default_rng(seed)
    x = randn(rng, case.x_shape, dtype)
    cols = B.im2col(x, case.k, **case.kwargs)
    assert_close(cols, loop_im2col(x.astype(np.float64), case.k, case.s, case.p, case.d), dtype)
    # the row order (c, kh, kw) is the one of weight.reshape(F, -1): one GEMM per sample is the conv
    weight = randn(rng, case.w_shape, np.float64)
    conv = loop_conv2d(x.astype(np.float64), weight, None, case.s, case.p, case.d)
    for n in range(case.n):
        np.testing.assert_allclose(weight.reshape(case.f, -1) @ cols[n].astype(np.float64),
                                   conv[n].reshape(case.f, -1), rtol=1e-4, atol=1e-4)


@ORACLE
@given(case=conv_cases(), seed=seeds, dtype=float_dtypes)
def test_col2im_matches_loops(case, seed, dtype):
    rng = np.random.default_rng(seed)
    cols = randn(rng, case.cols_shape, dtype)
    x = B.col2im(cols, case.x_shape, case.k, **case.kwargs)
    expected = loop_col2im(cols.astype(np.float64), case.x_shape, case.k, case.s, case.p, case.d)
    assert_close(x, expected, dtype, reduce=case.k[0] * case.k[1])


@ORACLE
@given(case=conv_cases(), seed=seeds)
def test_col2im_is_the_adjoint_of_im2col(case, seed):
    """<im2col(x), y> == <x, col2im(y)> for all x, y."""
    rng = np.random.default_rng(seed)
    x, y = randn(rng, case.x_shape), randn(rng, case.cols_shape)
    lhs = np.vdot(B.im2col(x, case.k, **case.kwargs), y)
    rhs = np.vdot(x, B.col2im(y, case.x_shape, case.k, **case.kwargs))
    assert lhs == pytest.approx(rhs, rel=1e-12, abs=1e-12)


@ORACLE
@given(case=conv_cases(), seed=seeds, dtype=float_dtypes, with_bias=st.booleans())
def test_conv2d_forward_matches_loops(case, seed, dtype, with_bias):
    rng = np.random.default_rng(seed)
    x, w = randn(rng, case.x_shape, dtype), randn(rng, case.w_shape, dtype)
    b = randn(rng, (case.f,), dtype) if with_bias else None
    out = B.conv2d_forward(x, w, b, **case.kwargs)
    expected = loop_conv2d(x.astype(np.float64), w.astype(np.float64),
                           None if b is None else b.astype(np.float64), case.s, case.p, case.d)
    assert_close(out, expected, dtype, reduce=case.c * case.k[0] * case.k[1])


@ORACLE
@given(case=conv_cases(), seed=seeds, dtype=float_dtypes)
def test_conv2d_backward_matches_loops(case, seed, dtype):
    rng = np.random.default_rng(seed)
    x, w = randn(rng, case.x_shape, dtype), randn(rng, case.w_shape, dtype)
    g = randn(rng, case.out_shape, dtype)
    gx, gw, gb = B.conv2d_backward(g, x, w, **case.kwargs)
    ex, ew, eb = loop_conv2d_backward(g.astype(np.float64), x.astype(np.float64), w.astype(np.float64),
                                      case.s, case.p, case.d)
    oh, ow = case.out_hw
    assert_close(gx, ex, dtype, reduce=case.f * case.k[0] * case.k[1])
    assert_close(gw, ew, dtype, reduce=case.n * oh * ow)
    assert_close(gb, eb, dtype, reduce=case.n * oh * ow)


@ORACLE
@given(case=conv_cases(max_size=6), seed=seeds)
def test_conv2d_backward_skips_what_is_not_needed(case, seed):
    rng = np.random.default_rng(seed)
    x, w, g = randn(rng, case.x_shape), randn(rng, case.w_shape), randn(rng, case.out_shape)
    full = B.conv2d_backward(g, x, w, **case.kwargs)
    gx, gw, gb = B.conv2d_backward(g, x, w, needs_input_grad=False, needs_bias_grad=False, **case.kwargs)
    assert gx is None and gb is None
    np.testing.assert_allclose(gw, full[1], rtol=1e-12, atol=1e-12)


@FD
@given(case=conv_cases(max_batch=2, max_channels=2, max_filters=2, max_size=6), seed=seeds)
def test_conv2d_backward_finite_differences(case, seed):
    rng = np.random.default_rng(seed)
    x, w, b = randn(rng, case.x_shape), randn(rng, case.w_shape), randn(rng, (case.f,))
    r = randn(rng, case.out_shape)

    def f():
        return float(np.vdot(B.conv2d_forward(x, w, b, **case.kwargs), r))

    gx, gw, gb = B.conv2d_backward(r, x, w, **case.kwargs)
    assert_fd(gx, numeric_grad(f, x, 1e-3))
    assert_fd(gw, numeric_grad(f, w, 1e-3))
    assert_fd(gb, numeric_grad(f, b, 1e-3))


# --------------------------------------------------------------------------- pooling

@ORACLE
@given(case=pool_cases(), seed=seeds, dtype=float_dtypes, ties=st.booleans())
def test_maxpool2d_forward_matches_loops(case, seed, dtype, ties):
    rng = np.random.default_rng(seed)
    # integers from a tiny range give many ties: the first maximum in window order must win
    x = (rng.integers(-2, 3, case.x_shape) if ties else rng.standard_normal(case.x_shape)).astype(dtype)
    out, arg = B.maxpool2d_forward(x, **case.kwargs)
    eout, earg = loop_maxpool(x.astype(np.float64), case.k, case.s, case.p)
    assert_close(out, eout, dtype)
    assert arg.dtype == np.int64 and arg.shape == eout.shape
    np.testing.assert_array_equal(arg, earg)


def test_maxpool2d_forward_windows_of_minus_infinity():
    """A real -inf must still beat padding: argmax always points into the input."""
    x = np.full((1, 2, 3, 4), -np.inf)
    x[0, 1, 2, 3] = 5.0
    x[0, 1, 0, 0] = np.nan   # NaN is skipped (compares false), like -inf padding
    out, arg = B.maxpool2d_forward(x, kernel_size=(2, 3), stride=(1, 2), padding=(1, 1))
    eout, earg = loop_maxpool(x, (2, 3), (1, 2), (1, 1))
    np.testing.assert_array_equal(arg, earg)
    np.testing.assert_array_equal(out[0, 0], eout[0, 0])
    assert (arg >= 0).all() and (arg < 12).all()


@ORACLE
@given(case=pool_cases(), seed=seeds, dtype=float_dtypes)
def test_maxpool2d_backward_matches_loops(case, seed, dtype):
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, case.x_shape).astype(dtype)     # ties: one pixel may win several windows
    g = randn(rng, case.out_shape, dtype)
    _, arg = B.maxpool2d_forward(x, **case.kwargs)
    gx = B.maxpool2d_backward(g, arg, case.x_shape)
    assert_close(gx, loop_maxpool_backward(g.astype(np.float64), arg, case.x_shape), dtype,
                 reduce=case.k[0] * case.k[1])


def test_maxpool2d_backward_overlapping_windows_sum():
    """stride 1, kernel 3 on a plane whose maximum is in the middle: it wins all 9 windows."""
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 1.0
    out, arg = B.maxpool2d_forward(x, 3, stride=1)
    assert (arg == 12).all()
    g = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    gx = B.maxpool2d_backward(g, arg, x.shape)
    assert gx[0, 0, 2, 2] == g.sum()
    assert np.count_nonzero(gx) == 1


@FD
@given(case=pool_cases(max_size=7), seed=seeds)
def test_maxpool2d_backward_finite_differences(case, seed):
    rng = np.random.default_rng(seed)
    x = distinct_values(rng, case.x_shape)
    r = randn(rng, case.out_shape)

    def f():
        return float(np.vdot(B.maxpool2d_forward(x, **case.kwargs)[0], r))

    _, arg = B.maxpool2d_forward(x, **case.kwargs)
    assert_fd(B.maxpool2d_backward(r, arg, case.x_shape), numeric_grad(f, x, 1e-3))


@ORACLE
@given(case=pool_cases(), seed=seeds, dtype=float_dtypes)
def test_avgpool2d_forward_matches_loops(case, seed, dtype):
    rng = np.random.default_rng(seed)
    x = randn(rng, case.x_shape, dtype)
    out = B.avgpool2d_forward(x, count_include_pad=case.count_include_pad, **case.kwargs)
    expected = loop_avgpool(x.astype(np.float64), case.k, case.s, case.p, case.count_include_pad)
    assert_close(out, expected, dtype, reduce=case.k[0] * case.k[1])


@ORACLE
@given(case=pool_cases(), seed=seeds, dtype=float_dtypes)
def test_avgpool2d_backward_matches_loops(case, seed, dtype):
    rng = np.random.default_rng(seed)
    g = randn(rng, case.out_shape, dtype)
    gx = B.avgpool2d_backward(g, case.x_shape, count_include_pad=case.count_include_pad, **case.kwargs)
    expected = loop_avgpool_backward(g.astype(np.float64), case.x_shape, case.k, case.s, case.p,
                                     case.count_include_pad)
    assert_close(gx, expected, dtype, reduce=case.k[0] * case.k[1])


@FD
@given(case=pool_cases(max_size=7), seed=seeds)
def test_avgpool2d_backward_finite_differences(case, seed):
    rng = np.random.default_rng(seed)
    x, r = randn(rng, case.x_shape), randn(rng, case.out_shape)
    cip = case.count_include_pad

    def f():
        return float(np.vdot(B.avgpool2d_forward(x, count_include_pad=cip, **case.kwargs), r))

    gx = B.avgpool2d_backward(r, case.x_shape, count_include_pad=cip, **case.kwargs)
    assert_fd(gx, numeric_grad(f, x, 1e-3))


# --------------------------------------------------------------------------- activations

def _act(name, kind):
    return getattr(B, f"{name}_{kind}")


def _param_kwargs(name, value):
    return {PARAM[name]: value} if name in PARAM else {}


activation_params = st.sampled_from([0.01, 0.2, 1.0, 1.7])


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@ORACLE
@given(shape=shapes(), seed=seeds, dtype=float_dtypes, param=activation_params)
def test_activation_forward_matches_definition(name, shape, seed, dtype, param):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    y = _act(name, "forward")(x, **_param_kwargs(name, param))
    expected = elementwise(lambda v: ACTIVATIONS[name][0](v, param), x)
    assert_close(y, expected, dtype)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@ORACLE
@given(shape=shapes(), seed=seeds, dtype=float_dtypes, param=activation_params)
def test_activation_backward_matches_derivative(name, shape, seed, dtype, param):
    """Backward from what the contract saves (y, or x for leaky_relu) against f'(x) * grad."""
    rng = np.random.default_rng(seed)
    x = (away_from_zero(rng, shape) * 2).astype(dtype)
    g = randn(rng, shape, dtype)
    fwd, deriv = ACTIVATIONS[name]
    saved = x if name == "leaky_relu" else elementwise(lambda v: fwd(v, param), x).astype(dtype)
    gx = _act(name, "backward")(g, saved, **_param_kwargs(name, param))
    expected = g.astype(np.float64) * elementwise(lambda v: deriv(v, param), x)
    assert_close(gx, expected, dtype)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@FD
@given(shape=shapes(), seed=seeds, param=activation_params)
def test_activation_backward_finite_differences(name, shape, seed, param):
    rng = np.random.default_rng(seed)
    x, r = away_from_zero(rng, shape), randn(rng, shape)
    kw = _param_kwargs(name, param)
    fwd = _act(name, "forward")
    eps = 1e-6
    # elementwise: d/dx_i sum(f(x) * r) = r_i f'(x_i), all coordinates perturbed at once
    numeric = r * (fwd(x + eps, **kw) - fwd(x - eps, **kw)) / (2 * eps)
    saved = x if name == "leaky_relu" else fwd(x, **kw)
    assert_fd(_act(name, "backward")(r, saved, **kw), numeric)


def test_activation_backward_at_zero_follows_pytorch():
    """At the kink x = 0 PyTorch takes the left branch: relu' = 0, leaky' = slope, elu' = alpha."""
    zero, one = np.zeros(3), np.ones(3)
    np.testing.assert_array_equal(B.relu_backward(one, B.relu_forward(zero)), 0.0)
    np.testing.assert_array_equal(B.leaky_relu_backward(one, zero, 0.3), 0.3)
    np.testing.assert_array_equal(B.elu_backward(one, B.elu_forward(zero, 1.5), 1.5), 1.5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_for_large_inputs(dtype):
    x = np.array([-1e4, -1000, -100, -88.8, -30, -1, 0, 1, 30, 88.8, 100, 1000, 1e4], dtype=dtype)
    y = B.sigmoid_forward(x)      # the autouse fixture turns any overflow warning into a failure
    assert y.dtype == np.dtype(dtype)
    assert np.all(np.isfinite(y)) and np.all((y >= 0) & (y <= 1))
    assert np.all(np.diff(y) >= 0)
    def exact(v):   # Python floats: exp underflows quietly to 0, never overflows on this branch
        return math.exp(v) / (1 + math.exp(v)) if v < 0 else 1 / (1 + math.exp(-v))
    tiny = np.finfo(dtype).smallest_subnormal
    np.testing.assert_allclose(y, elementwise(exact, x), rtol=1e-6, atol=tiny)
    np.testing.assert_allclose(y + y[::-1], 1.0, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_elu_and_tanh_do_not_overflow(dtype):
    x = np.array([-1e4, -100, 0, 100, 1e4], dtype=dtype)
    np.testing.assert_array_equal(B.elu_forward(x), np.array([-1, -1, 0, 100, 1e4], dtype=dtype))
    np.testing.assert_array_equal(B.tanh_forward(x), np.array([-1, -1, 0, 1, 1], dtype=dtype))


# --------------------------------------------------------------------------- losses

@ORACLE
@given(case=loss_cases(), seed=seeds, dtype=float_dtypes, scale=st.sampled_from([1.0, 10.0]))
def test_softmax_cross_entropy_forward_matches_loops(case, seed, dtype, scale):
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((case.n, case.c)) * scale).astype(dtype)
    target = rng.integers(0, case.c, case.n)
    losses, probs = B.softmax_cross_entropy_forward(logits, target, case.label_smoothing)
    el, ep = loop_cross_entropy(logits.astype(np.float64), target, case.label_smoothing)
    assert_close(losses, el, dtype, reduce=case.c)
    assert_close(probs, ep, dtype, reduce=case.c)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_is_stable_for_huge_logits(dtype):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((4, 5))
    target = np.array([0, 1, 4, 2])
    ref, ref_p = loop_cross_entropy(logits, target, 0.1)
    for shift in (1e4, -1e4, 3e4):
        losses, probs = B.softmax_cross_entropy_forward((logits + shift).astype(dtype), target, 0.1)
        assert losses.dtype == probs.dtype == np.dtype(dtype)
        # float32 cannot hold the shifted logits exactly: allow their rounding error (ulp(3e4) ~ 2e-3)
        tol = 1e-9 if dtype == np.float64 else 1e-2
        np.testing.assert_allclose(losses, ref, atol=tol)
        np.testing.assert_allclose(probs, ref_p, atol=tol)


@ORACLE
@given(case=loss_cases(), seed=seeds, dtype=float_dtypes)
def test_softmax_cross_entropy_backward_matches_loops(case, seed, dtype):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(case.c), case.n).astype(dtype)
    target = rng.integers(0, case.c, case.n)
    gl = randn(rng, (case.n,), dtype)
    grad = B.softmax_cross_entropy_backward(gl, probs, target, case.label_smoothing)
    expected = loop_cross_entropy_backward(gl.astype(np.float64), probs.astype(np.float64), target,
                                           case.label_smoothing)
    assert_close(grad, expected, dtype)


@FD
@given(case=loss_cases(), seed=seeds)
def test_softmax_cross_entropy_finite_differences(case, seed):
    rng = np.random.default_rng(seed)
    logits = randn(rng, (case.n, case.c)) * 3
    target = rng.integers(0, case.c, case.n)
    gl = randn(rng, (case.n,))
    ls = case.label_smoothing

    def f():
        return float(np.vdot(B.softmax_cross_entropy_forward(logits, target, ls)[0], gl))

    _, probs = B.softmax_cross_entropy_forward(logits, target, ls)
    assert_fd(B.softmax_cross_entropy_backward(gl, probs, target, ls), numeric_grad(f, logits))


@ORACLE
@given(case=loss_cases(), seed=seeds, dtype=float_dtypes, scale=st.sampled_from([1.0, 30.0]))
def test_log_softmax_forward_matches_loops(case, seed, dtype, scale):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((case.n, case.c)) * scale).astype(dtype)
    assert_close(B.log_softmax_forward(x), loop_log_softmax(x.astype(np.float64)), dtype, reduce=case.c)


@ORACLE
@given(case=loss_cases(), seed=seeds, dtype=float_dtypes)
def test_log_softmax_backward_matches_loops(case, seed, dtype):
    rng = np.random.default_rng(seed)
    y = np.log(rng.dirichlet(np.ones(case.c), case.n)).astype(dtype)
    g = randn(rng, (case.n, case.c), dtype)
    y64, g64 = y.astype(np.float64), g.astype(np.float64)
    expected = np.array([[g64[n, j] - math.exp(y64[n, j]) * math.fsum(g64[n]) for j in range(case.c)]
                         for n in range(case.n)])
    assert_close(B.log_softmax_backward(g, y), expected, dtype, reduce=case.c)


@FD
@given(case=loss_cases(), seed=seeds)
def test_log_softmax_finite_differences(case, seed):
    rng = np.random.default_rng(seed)
    x, r = randn(rng, (case.n, case.c)) * 3, randn(rng, (case.n, case.c))

    def f():
        return float(np.vdot(B.log_softmax_forward(x), r))

    assert_fd(B.log_softmax_backward(r, B.log_softmax_forward(x)), numeric_grad(f, x))


# --------------------------------------------------------------------------- batch norm

def _bn_params(rng, case, dtype, affine):
    if not affine:
        return None, None
    return (rng.uniform(0.5, 2, case.c).astype(dtype), randn(rng, (case.c,), dtype))


@ORACLE
@given(case=batchnorm_cases(), seed=seeds, dtype=float_dtypes, affine=st.booleans(), track=st.booleans())
def test_batchnorm_forward_training_matches_loops(case, seed, dtype, affine, track):
    rng = np.random.default_rng(seed)
    x = (randn(rng, case.x_shape) * 2 + 1).astype(dtype)
    w, b = _bn_params(rng, case, dtype, affine)
    rm = randn(rng, (case.c,), dtype) if track else None
    rv = rng.uniform(0.5, 2, case.c).astype(dtype) if track else None
    rm0, rv0 = (None, None) if not track else (rm.copy(), rv.copy())
    y, mean, invstd = B.batchnorm_forward(x, w, b, rm, rv, True, case.momentum, case.eps)
    ey, em, ei, erm, erv = loop_batchnorm(x.astype(np.float64), w, b, rm0, rv0, True, case.momentum, case.eps)
    m = case.n * case.l
    assert_close(y, ey, dtype, reduce=m)
    assert_close(mean, em, dtype, reduce=m)
    if dtype == np.float32:       # invstd may be large when the variance is small: compare relatively
        np.testing.assert_allclose(invstd, ei, rtol=1e-3)
        assert invstd.dtype == np.float32
    else:
        assert_close(invstd, ei, dtype)
    if track:                      # updated in place, unbiased variance
        assert_close(rm, erm, dtype, reduce=m)
        assert_close(rv, erv, dtype, reduce=m)


@ORACLE
@given(case=batchnorm_cases(), seed=seeds, dtype=float_dtypes, affine=st.booleans())
def test_batchnorm_forward_eval_matches_loops(case, seed, dtype, affine):
    rng = np.random.default_rng(seed)
    x = randn(rng, case.x_shape, dtype)
    w, b = _bn_params(rng, case, dtype, affine)
    rm, rv = randn(rng, (case.c,), dtype), rng.uniform(0.1, 2, case.c).astype(dtype)
    rm0, rv0 = rm.copy(), rv.copy()
    y, mean, invstd = B.batchnorm_forward(x, w, b, rm, rv, False, case.momentum, case.eps)
    ey, em, ei, _, _ = loop_batchnorm(x.astype(np.float64), w, b, rm0, rv0, False, case.momentum, case.eps)
    assert_close(y, ey, dtype)
    assert_close(mean, em, dtype)
    assert_close(invstd, ei, dtype)
    np.testing.assert_array_equal(rm, rm0)            # eval never touches the running statistics
    np.testing.assert_array_equal(rv, rv0)
    assert not np.shares_memory(mean, rm)              # a copy: a later update cannot change saved stats


@ORACLE
@given(case=batchnorm_cases(), seed=seeds, dtype=float_dtypes, affine=st.booleans())
def test_batchnorm_backward_training_matches_loops(case, seed, dtype, affine):
    rng = np.random.default_rng(seed)
    x = randn(rng, case.x_shape, dtype)
    g = randn(rng, case.x_shape, dtype)
    w, _ = _bn_params(rng, case, dtype, affine)
    eps = max(case.eps, 1e-3)      # keeps invstd (and float32's error) moderate
    _, mean, invstd = B.batchnorm_forward(x, w, None, None, None, True, 0.1, eps)
    gx, gw, gb = B.batchnorm_backward(g, x, w, mean, invstd, True)
    ex, ew, eb = loop_batchnorm_backward_train(g.astype(np.float64), x.astype(np.float64), w, eps)
    m = case.n * case.l
    if dtype == np.float32:
        scale = max(1.0, float(np.abs(ex).max()))
        assert gx.dtype == gw.dtype == gb.dtype == np.float32
        np.testing.assert_allclose(gx, ex, rtol=1e-3, atol=1e-4 * scale * math.sqrt(m))
        np.testing.assert_allclose(gw, ew, rtol=1e-3, atol=1e-4 * math.sqrt(m))
        np.testing.assert_allclose(gb, eb, rtol=1e-4, atol=1e-5 * math.sqrt(m))
    else:
        assert_close(gx, ex, dtype)
        assert_close(gw, ew, dtype)
        assert_close(gb, eb, dtype)


@FD
@given(case=batchnorm_cases(max_batch=3, max_length=6), seed=seeds, affine=st.booleans())
def test_batchnorm_backward_training_finite_differences(case, seed, affine):
    rng = np.random.default_rng(seed)
    x, r = randn(rng, case.x_shape), randn(rng, case.x_shape)
    w, b = _bn_params(rng, case, np.float64, True)
    if not affine:
        w, b = None, None
    eps = max(case.eps, 1e-3)

    def f():
        return float(np.vdot(B.batchnorm_forward(x, w, b, None, None, True, 0.1, eps)[0], r))

    _, mean, invstd = B.batchnorm_forward(x, w, b, None, None, True, 0.1, eps)
    gx, gw, gb = B.batchnorm_backward(r, x, w, mean, invstd, True)
    assert_fd(gx, numeric_grad(f, x, 1e-5), rtol=1e-5, atol=1e-6)
    if affine:
        assert_fd(gw, numeric_grad(f, w, 1e-5), rtol=1e-5, atol=1e-6)
        assert_fd(gb, numeric_grad(f, b, 1e-5), rtol=1e-5, atol=1e-6)
    else:   # no affine: weight 1 and bias 0, whose gradients are still returned
        w1, b0 = np.ones(case.c), np.zeros(case.c)

        def f_affine():
            return float(np.vdot(B.batchnorm_forward(x, w1, b0, None, None, True, 0.1, eps)[0], r))

        assert_fd(gw, numeric_grad(f_affine, w1, 1e-5), rtol=1e-5, atol=1e-6)
        assert_fd(gb, numeric_grad(f_affine, b0, 1e-5), rtol=1e-5, atol=1e-6)


@FD
@given(case=batchnorm_cases(max_batch=3, max_length=6), seed=seeds, affine=st.booleans())
def test_batchnorm_backward_eval_finite_differences(case, seed, affine):
    rng = np.random.default_rng(seed)
    x, r = randn(rng, case.x_shape), randn(rng, case.x_shape)
    w, b = _bn_params(rng, case, np.float64, affine)
    rm, rv = randn(rng, (case.c,)), rng.uniform(0.1, 2, case.c)

    def f():
        return float(np.vdot(B.batchnorm_forward(x, w, b, rm, rv, False, 0.1, case.eps)[0], r))

    _, mean, invstd = B.batchnorm_forward(x, w, b, rm, rv, False, 0.1, case.eps)
    gx, gw, gb = B.batchnorm_backward(r, x, w, mean, invstd, False)
    assert_fd(gx, numeric_grad(f, x, 1e-4))
    if affine:
        assert_fd(gw, numeric_grad(f, w, 1e-4))
        assert_fd(gb, numeric_grad(f, b, 1e-4))


# --------------------------------------------------------------------------- float32 in, float32 out

def _kernel_calls(dtype):
    """One call per kernel of the contract on a fixed odd-shaped case; each returns a tuple of outputs."""
    rng = np.random.default_rng(1234)
    x = rng.standard_normal((2, 3, 7, 6)).astype(dtype)
    w = rng.standard_normal((4, 3, 3, 2)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    conv = dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2))
    gout = rng.standard_normal((2, 4, 4, 4)).astype(dtype)
    cols = rng.standard_normal((2, 18, 16)).astype(dtype)
    pool = dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1))
    gpool = rng.standard_normal((2, 3, 4, 7)).astype(dtype)
    _, arg = B.maxpool2d_forward(x, **pool)
    a, bm = rng.standard_normal((5, 7)).astype(dtype), rng.standard_normal((7, 3)).astype(dtype)
    u = rng.standard_normal((3, 5)).astype(dtype)
    g = rng.standard_normal((3, 5)).astype(dtype)
    y_sig, y_tanh, y_elu = B.sigmoid_forward(u), B.tanh_forward(u), B.elu_forward(u)
    target = np.array([0, 4, 2])
    probs = B.softmax_cross_entropy_forward(u, target, 0.1)[1]
    xb = rng.standard_normal((4, 3, 5)).astype(dtype)
    gb_ = rng.standard_normal((4, 3, 5)).astype(dtype)
    wb, bb = rng.uniform(0.5, 2, 3).astype(dtype), rng.standard_normal(3).astype(dtype)
    _, mean, invstd = B.batchnorm_forward(xb, wb, bb, None, None, True, 0.1, 1e-5)
    return {
        "gemm": lambda: (B.gemm(a, bm),),
        "im2col": lambda: (B.im2col(x, (3, 2), **conv),),
        "col2im": lambda: (B.col2im(cols, x.shape, (3, 2), **conv),),
        "conv2d_forward": lambda: (B.conv2d_forward(x, w, b, **conv),),
        "conv2d_backward": lambda: B.conv2d_backward(gout, x, w, **conv),
        "maxpool2d_forward": lambda: B.maxpool2d_forward(x, **pool)[:1],
        "maxpool2d_backward": lambda: (B.maxpool2d_backward(gpool, arg, x.shape),),
        "avgpool2d_forward": lambda: (B.avgpool2d_forward(x, count_include_pad=False, **pool),),
        "avgpool2d_backward": lambda: (B.avgpool2d_backward(gpool, x.shape, count_include_pad=False, **pool),),
        "relu_forward": lambda: (B.relu_forward(u),),
        "relu_backward": lambda: (B.relu_backward(g, B.relu_forward(u)),),
        "leaky_relu_forward": lambda: (B.leaky_relu_forward(u, 0.1),),
        "leaky_relu_backward": lambda: (B.leaky_relu_backward(g, u, 0.1),),
        "elu_forward": lambda: (B.elu_forward(u),),
        "elu_backward": lambda: (B.elu_backward(g, y_elu),),
        "sigmoid_forward": lambda: (B.sigmoid_forward(u),),
        "sigmoid_backward": lambda: (B.sigmoid_backward(g, y_sig),),
        "tanh_forward": lambda: (B.tanh_forward(u),),
        "tanh_backward": lambda: (B.tanh_backward(g, y_tanh),),
        "softmax_cross_entropy_forward": lambda: B.softmax_cross_entropy_forward(u, target, 0.1),
        "softmax_cross_entropy_backward": lambda: (B.softmax_cross_entropy_backward(g[:, 0].copy(), probs,
                                                                                    target, 0.1),),
        "log_softmax_forward": lambda: (B.log_softmax_forward(u),),
        "log_softmax_backward": lambda: (B.log_softmax_backward(g, B.log_softmax_forward(u)),),
        "batchnorm_forward": lambda: B.batchnorm_forward(xb, wb, bb, np.zeros(3, dtype), np.ones(3, dtype),
                                                         True, 0.1, 1e-5),
        "batchnorm_backward": lambda: B.batchnorm_backward(gb_, xb, wb, mean, invstd, True),
    }


def test_dtype_table_covers_every_kernel():
    assert set(_kernel_calls(np.float32)) == set(KERNELS)


@pytest.mark.parametrize("kernel", KERNELS)
def test_float32_in_float32_out(kernel):
    out32 = _kernel_calls(np.float32)[kernel]()
    out64 = _kernel_calls(np.float64)[kernel]()
    assert len(out32) == len(out64)
    for o32, o64 in zip(out32, out64):
        assert o32.dtype == np.float32, f"{kernel} returned {o32.dtype} for float32 input"
        assert o64.dtype == np.float64
        np.testing.assert_allclose(o32, o64, rtol=1e-4, atol=1e-4)
