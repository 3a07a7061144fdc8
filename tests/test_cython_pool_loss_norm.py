"""The compiled pool, loss and batch-norm kernels of the Cython backend against the NumPy reference.

Geometries come from hypothesis (``tests/strategies.py``): non-square windows, strides
smaller than the kernel (overlapping windows) and larger (gaps), padding, batch size 1,
odd sizes; losses with and without label smoothing; batch norm in training and eval, with
and without affine parameters and running statistics. Every kernel runs with 1 and 2
OpenMP threads; with 2 threads the inputs are enlarged past the kernels' ``PARALLEL_MIN``
so that the parallel loops really run.

What must be *identical* to the reference is asserted with ``assert_array_equal`` (max
pool values and argmax, average pooling, the cross-entropy gradient); sums that the two
implementations accumulate differently (the reference in float32, these kernels in double)
get a tolerance scaled to float32. Without the compiled extension the tests skip, or fail
under ``FASTNN_REQUIRE_CYTHON=1`` (see conftest.py).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastnn.backends as backends
from conftest import require_backend
from strategies import batchnorm_cases, loss_cases, pool_cases, seeds

try:
    from fastnn._cython import _loss, _norm, _pool
    POOL_MIN, LOSS_MIN, NORM_MIN = _pool.PARALLEL_MIN, _loss.PARALLEL_MIN, _norm.PARALLEL_MIN
except ImportError:             # not built: the tests below skip (or fail under FASTNN_REQUIRE_CYTHON)
    POOL_MIN = LOSS_MIN = NORM_MIN = 32768

THREADS = [1, 2]
examples = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module", autouse=True)
def _restore_threads():
    yield
    backends.set_num_threads(backends.threads.default_num_threads())


def cython_and_reference(threads: int):
    """The Cython backend with ``threads`` OpenMP threads, and the NumPy reference."""
    cy = require_backend("cython")
    backends.set_num_threads(threads)
    return cy, backends.get("numpy")


def grow(n: int, per_item: int, threads: int, minimum: int) -> int:
    """Batch size: ``n``, or with 2 threads enough items to pass the parallel threshold."""
    return n if threads == 1 else max(n, math.ceil(minimum / per_item) + n)


def randn(rng, shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


# =========================================================================== max pool

@pytest.mark.parametrize("threads", THREADS)
@examples
@given(case=pool_cases(), seed=seeds, ties=st.booleans())
def test_maxpool2d_matches_reference(threads, case, seed, ties):
    cy, ref = cython_and_reference(threads)
    case = dataclasses.replace(case, n=grow(case.n, case.c * case.h * case.w, threads, POOL_MIN))
    rng = np.random.default_rng(seed)
    # small integers make many ties: the first maximum in row-major window order must win
    x = rng.integers(-2, 3, case.x_shape).astype(np.float32) if ties else randn(rng, case.x_shape)
    out, argmax = cy.maxpool2d_forward(x, **case.kwargs)
    ref_out, ref_argmax = ref.maxpool2d_forward(x, **case.kwargs)
    assert out.shape == case.out_shape and out.dtype == np.float32 and argmax.dtype == np.int64
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(argmax, ref_argmax)

    g = randn(rng, out.shape)
    grad = cy.maxpool2d_backward(g, argmax, case.x_shape)
    want = ref.maxpool2d_backward(g, ref_argmax, case.x_shape)
    assert grad.shape == case.x_shape and grad.dtype == np.float32
    if all(s >= k for s, k in zip(case.s, case.k)):
        np.testing.assert_array_equal(grad, want)       # each pixel wins at most one window
    else:   # overlapping windows: the reference sums the shared pixels in float64
        np.testing.assert_allclose(grad, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("shape", [(1, 1, 2, 2), (2, 3, 7, 9), (3, 2, 8, 5), (1, 1, 33, 31), (4, 4, 16, 16)])
def test_2x2_fast_paths(threads, shape):
    """The 2x2/stride-2 row loops of max and average pooling: odd sizes drop their last
    row/column (which get zero gradient), rows of every length (SIMD remainders), ties, and
    with 2 threads a batch past the parallel threshold."""
    cy, ref = cython_and_reference(threads)
    n, c, h, w = shape
    shape = (grow(n, c * h * w, threads, POOL_MIN), c, h, w)
    rng = np.random.default_rng(sum(shape))
    for x in (randn(rng, shape), rng.integers(-1, 2, shape).astype(np.float32)):
        out, argmax = cy.maxpool2d_forward(x, 2)
        ref_out, ref_argmax = ref.maxpool2d_forward(x, 2)
        np.testing.assert_array_equal(out, ref_out)
        np.testing.assert_array_equal(argmax, ref_argmax)
        g = randn(rng, out.shape)
        np.testing.assert_array_equal(cy.maxpool2d_backward(g, argmax, shape), ref.maxpool2d_backward(g, argmax, shape))
        np.testing.assert_array_equal(cy.avgpool2d_forward(x, 2), ref.avgpool2d_forward(x, 2))
        np.testing.assert_array_equal(cy.avgpool2d_backward(g, shape, 2), ref.avgpool2d_backward(g, shape, 2))


@pytest.mark.parametrize("geometry", [((2, 2), (2, 2), (0, 0)), ((3, 2), (1, 3), (1, 1)), ((3, 3), (2, 2), (1, 0))])
def test_backward_writes_every_pixel(geometry):
    """The outputs come from np.empty: every pixel of grad_x must be written, also the ones
    no window covers (odd sizes, stride > kernel). Call the compiled kernels on a NaN-filled
    grad_x directly."""
    require_backend("cython")
    (kh, kw), (sh, sw), (ph, pw) = geometry
    h, w = 9, 11
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    g = np.ones((3, oh, ow), np.float32)
    for cip in (True, False):
        grad_x = np.full((3, h, w), np.nan, np.float32)
        _pool.avgpool2d_backward(g, grad_x, kh, kw, sh, sw, ph, pw, cip, 1)
        assert np.isfinite(grad_x).all()
    grad_x = np.full((3, h, w), np.nan, np.float32)
    _pool.maxpool2d_backward(g, np.zeros((3, oh, ow), np.int64), grad_x, 1)
    assert np.isfinite(grad_x).all() and grad_x.sum() == g.sum()


@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 1)),
                                    dict(kernel_size=3, stride=2, padding=1)])
def test_maxpool2d_inf_and_nan_windows(kwargs):
    """-inf never beats the running -inf and NaN never wins a comparison: a window of only
    those reports its first real pixel (and that pixel's value), exactly as the reference."""
    cy, ref = cython_and_reference(1)
    x = np.arange(2 * 3 * 6 * 6, dtype=np.float32).reshape(2, 3, 6, 6) % 7 - 3
    x[0, 0, :2, :2] = -np.inf
    x[0, 1, :3, :3] = np.nan
    x[1, 2, 2:4, 2:4] = [[np.nan, -np.inf], [-np.inf, np.nan]]
    x[1, 0, 0, 1] = np.nan                      # a NaN next to real numbers is skipped
    x[1, 1] = np.inf
    out, argmax = cy.maxpool2d_forward(x, **kwargs)
    ref_out, ref_argmax = ref.maxpool2d_forward(x, **kwargs)
    np.testing.assert_array_equal(out, ref_out)          # NaN == NaN for assert_array_equal
    np.testing.assert_array_equal(argmax, ref_argmax)


def test_maxpool2d_backward_takes_any_valid_argmax():
    """The backward knows nothing of the window: it scatters to whatever argmax says
    (here every output of a plane points at the same pixel) and sums."""
    cy, ref = cython_and_reference(1)
    g = np.ones((2, 3, 2, 2), np.float32)
    argmax = np.zeros((2, 3, 2, 2), np.int64) + 4
    grad = cy.maxpool2d_backward(g, argmax, (2, 3, 3, 3))
    np.testing.assert_array_equal(grad, ref.maxpool2d_backward(g, argmax, (2, 3, 3, 3)))
    assert grad[0, 0, 1, 1] == 4 and grad.sum() == g.sum()


# =========================================================================== average pool

@pytest.mark.parametrize("threads", THREADS)
@examples
@given(case=pool_cases(), seed=seeds)
def test_avgpool2d_matches_reference(threads, case, seed):
    """Same taps, same order, same divisor: bit-identical to the reference, both ways of
    counting the padding."""
    cy, ref = cython_and_reference(threads)
    case = dataclasses.replace(case, n=grow(case.n, case.c * case.h * case.w, threads, POOL_MIN))
    rng = np.random.default_rng(seed)
    x = randn(rng, case.x_shape)
    cip = case.count_include_pad
    out = cy.avgpool2d_forward(x, **case.kwargs, count_include_pad=cip)
    assert out.shape == case.out_shape and out.dtype == np.float32
    np.testing.assert_array_equal(out, ref.avgpool2d_forward(x, **case.kwargs, count_include_pad=cip))
    g = randn(rng, out.shape)
    grad = cy.avgpool2d_backward(g, case.x_shape, **case.kwargs, count_include_pad=cip)
    assert grad.shape == case.x_shape and grad.dtype == np.float32
    np.testing.assert_array_equal(grad, ref.avgpool2d_backward(g, case.x_shape, **case.kwargs,
                                                              count_include_pad=cip))


# =========================================================================== losses

def loss_tolerance(scale):
    """Losses and log-probabilities are differences of logits of size ~``scale``: float32
    rounding of those, plus the reference's float32 sums."""
    return dict(rtol=1e-5, atol=2e-6 * max(scale, 1.0))


@pytest.mark.parametrize("threads", THREADS)
@examples
@given(case=loss_cases(), seed=seeds, scale=st.sampled_from([0.1, 1.0, 10.0, 100.0]))
def test_softmax_cross_entropy_matches_reference(threads, case, seed, scale):
    cy, ref = cython_and_reference(threads)
    n = grow(case.n, case.c, threads, LOSS_MIN)
    rng = np.random.default_rng(seed)
    logits = randn(rng, (n, case.c), scale)
    target = rng.integers(0, case.c, n)
    ls = case.label_smoothing
    losses, probs = cy.softmax_cross_entropy_forward(logits, target, ls)
    ref_losses, ref_probs = ref.softmax_cross_entropy_forward(logits, target, ls)
    assert losses.shape == (n,) and probs.shape == (n, case.c)
    assert losses.dtype == probs.dtype == np.float32
    np.testing.assert_allclose(losses, ref_losses, **loss_tolerance(scale))
    np.testing.assert_allclose(probs, ref_probs, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)

    grad_losses = randn(rng, n)
    # the same float32 operations in the same order as the reference: identical
    np.testing.assert_array_equal(cy.softmax_cross_entropy_backward(grad_losses, ref_probs, target, ls),
                                  ref.softmax_cross_entropy_backward(grad_losses, ref_probs, target, ls))


def test_softmax_cross_entropy_large_logits_are_stable():
    """Logits of +-1e4 would overflow exp() without the max shift."""
    cy, ref = cython_and_reference(1)
    logits = np.array([[1e4, -1e4, 0.0], [5e3, 5e3, 5e3], [-88.0, 89.0, 100.0]], np.float32)
    target = np.array([1, 0, 2])
    for ls in (0.0, 0.25):
        losses, probs = cy.softmax_cross_entropy_forward(logits, target, ls)
        assert np.isfinite(losses).all() and np.isfinite(probs).all()
        # the truth in float64 (the float32 reference loses digits in log(sum) when the
        # target's probability is ~1: a loss of 1.67e-5 comes out 0.07% off there)
        x64 = logits.astype(np.float64)
        logp = x64 - x64.max(axis=1, keepdims=True)
        logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
        truth = -(1 - ls) * logp[np.arange(3), target] - ls / 3 * logp.sum(axis=1)
        np.testing.assert_allclose(losses, truth, rtol=1e-6)
        np.testing.assert_allclose(probs, np.exp(logp), rtol=1e-6, atol=1e-38)
        np.testing.assert_allclose(losses, ref.softmax_cross_entropy_forward(logits, target, ls)[0], rtol=1e-3)
    assert losses[1] == pytest.approx(math.log(3), rel=1e-6)


@pytest.mark.parametrize("threads", THREADS)
@examples
@given(case=loss_cases(), seed=seeds, scale=st.sampled_from([0.1, 1.0, 10.0, 100.0]))
def test_log_softmax_matches_reference(threads, case, seed, scale):
    cy, ref = cython_and_reference(threads)
    n = grow(case.n, case.c, threads, LOSS_MIN)
    rng = np.random.default_rng(seed)
    x = randn(rng, (n, case.c), scale)
    y = cy.log_softmax_forward(x)
    ref_y = ref.log_softmax_forward(x)
    assert y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_allclose(y, ref_y, **loss_tolerance(scale))
    grad_y = randn(rng, x.shape)
    # grad_y - softmax * sum(grad_y): the sum is over C terms of size ~1
    np.testing.assert_allclose(cy.log_softmax_backward(grad_y, ref_y), ref.log_softmax_backward(grad_y, ref_y),
                               rtol=1e-5, atol=1e-6 * math.sqrt(case.c))


def test_log_softmax_non_finite_rows_like_the_reference():
    """log_softmax takes any input (only the losses insist on finite logits): NaN and +inf
    poison their row, -inf entries give -inf, as in the reference."""
    cy, ref = cython_and_reference(1)
    x = np.array([[0.0, np.nan, 1.0], [np.inf, 0.0, 1.0], [-np.inf, 0.0, 1.0], [-np.inf] * 3,
                  [np.nan, 2.0, 3.0]], np.float32)
    with np.errstate(invalid="ignore"):
        want = ref.log_softmax_forward(x)
    got = cy.log_softmax_forward(x)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    finite = np.isfinite(want)
    np.testing.assert_array_equal(np.isfinite(got), finite)
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-6)


# =========================================================================== batch norm

@pytest.mark.parametrize("threads", THREADS)
@examples
@given(case=batchnorm_cases(), seed=seeds, affine=st.booleans(), running=st.booleans(),
       shift=st.sampled_from([0.0, 3.0, -50.0]))
def test_batchnorm_training_matches_reference(threads, case, seed, affine, running, shift):
    """Batch statistics, the normalised output, and the running statistics after the in-place
    update (unbiased variance), with and without affine parameters and running statistics."""
    cy, ref = cython_and_reference(threads)
    n = grow(case.n, case.c * case.l, threads, NORM_MIN)
    rng = np.random.default_rng(seed)
    x = randn(rng, (n, case.c, case.l), 2.0) + np.float32(shift)      # a mean far from 0 too
    weight = randn(rng, case.c) if affine else None
    bias = randn(rng, case.c) if affine else None
    rm = randn(rng, case.c) if running else None
    rv = rng.uniform(0.5, 2.0, case.c).astype(np.float32) if running else None
    stats = (rm, rv) if running else (None, None)
    ref_stats = (rm.copy(), rv.copy()) if running else (None, None)
    momentum = case.momentum if running else None

    y, mean, invstd = cy.batchnorm_forward(x, weight, bias, *stats, True, momentum, case.eps)
    ref_y, ref_mean, ref_invstd = ref.batchnorm_forward(x, weight, bias, *ref_stats, True, momentum, case.eps)
    assert y.shape == x.shape and y.dtype == mean.dtype == invstd.dtype == np.float32
    assert mean.shape == invstd.shape == (case.c,)
    # the reference sums in float32, these kernels in double: differences of float32 rounding
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-5, atol=1e-5 * (1 + abs(shift)))
    np.testing.assert_allclose(invstd, ref_invstd, rtol=1e-4)
    np.testing.assert_allclose(y, ref_y, rtol=1e-4, atol=1e-4 * (1 + abs(shift)))
    if running:
        np.testing.assert_allclose(stats[0], ref_stats[0], rtol=1e-5, atol=1e-5 * (1 + abs(shift)))
        np.testing.assert_allclose(stats[1], ref_stats[1], rtol=1e-4, atol=1e-6)

    grad_y = randn(rng, x.shape)
    grads = cy.batchnorm_backward(grad_y, x, weight, ref_mean, ref_invstd, True)
    ref_grads = ref.batchnorm_backward(grad_y, x, weight, ref_mean, ref_invstd, True)
    m = n * case.l
    for name, got, want, atol in zip(("grad_x", "grad_weight", "grad_bias"), grads, ref_grads,
                                     (1e-4, 2e-5 * math.sqrt(m), 2e-5 * math.sqrt(m))):
        assert got.shape == want.shape and got.dtype == np.float32, name
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=atol, err_msg=name)


@pytest.mark.parametrize("threads", THREADS)
@examples
@given(case=batchnorm_cases(), seed=seeds, affine=st.booleans())
def test_batchnorm_eval_matches_reference(threads, case, seed, affine):
    """Eval: the running statistics are the statistics, and they are not touched."""
    cy, ref = cython_and_reference(threads)
    n = grow(case.n, case.c * case.l, threads, NORM_MIN)
    rng = np.random.default_rng(seed)
    x = randn(rng, (n, case.c, case.l), 2.0)
    weight = randn(rng, case.c) if affine else None
    bias = randn(rng, case.c) if affine else None
    rm, rv = randn(rng, case.c), rng.uniform(0.1, 3.0, case.c).astype(np.float32)
    rm0, rv0 = rm.copy(), rv.copy()
    y, mean, invstd = cy.batchnorm_forward(x, weight, bias, rm, rv, False, case.momentum, case.eps)
    ref_y, ref_mean, ref_invstd = ref.batchnorm_forward(x, weight, bias, rm0.copy(), rv0.copy(), False,
                                                        case.momentum, case.eps)
    np.testing.assert_array_equal(rm, rm0)
    np.testing.assert_array_equal(rv, rv0)
    np.testing.assert_array_equal(mean, ref_mean)
    np.testing.assert_array_equal(invstd, ref_invstd)
    np.testing.assert_allclose(y, ref_y, rtol=1e-6, atol=1e-6)

    grad_y = randn(rng, x.shape)
    grads = cy.batchnorm_backward(grad_y, x, weight, mean, invstd, False)
    ref_grads = ref.batchnorm_backward(grad_y, x, weight, mean, invstd, False)
    m = n * case.l
    np.testing.assert_allclose(grads[0], ref_grads[0], rtol=1e-6, atol=1e-7)
    for got, want in zip(grads[1:], ref_grads[1:]):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-5 * math.sqrt(m))


def test_batchnorm_statistics_are_accurate():
    """A channel whose mean is large against its spread: the two-pass double-precision
    variance stays accurate where E[x^2] - mean^2 in float32 would lose every digit."""
    cy, _ = cython_and_reference(1)
    rng = np.random.default_rng(0)
    x = (1000.0 + rng.standard_normal((64, 2, 256)) * 1e-2).astype(np.float32)
    _, mean, invstd = cy.batchnorm_forward(x, None, None, None, None, True, None, 1e-12)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(mean, x64.mean(axis=(0, 2)), rtol=1e-7)
    np.testing.assert_allclose(invstd, 1 / np.sqrt(x64.var(axis=(0, 2)) + 1e-12), rtol=1e-5)


# =========================================================================== dispatch

def test_kernels_are_compiled():
    cy = require_backend("cython")
    from fastnn.backends.cython_kernels import CythonBackend
    for family in ("pool", "loss", "norm"):
        for kernel in backends.KERNEL_FAMILIES[family]:
            assert kernel in cy.compiled_kernels
            assert "_" + kernel in vars(CythonBackend), f"{kernel} is listed as compiled but inherited"


def test_float64_goes_to_the_reference(monkeypatch):
    """float64 (finite-difference checks) must not reach the float32-only compiled code."""
    cy, ref = cython_and_reference(1)
    from fastnn.backends import cython_kernels

    def compiled_code_called(*args):
        raise AssertionError("float64 input reached the float32-only compiled kernel")

    for module in (cython_kernels._pool, cython_kernels._loss, cython_kernels._norm):
        for name in dir(module):
            if name.endswith(("forward", "backward")):
                monkeypatch.setattr(module, name, compiled_code_called)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 5, 5))
    out, argmax = cy.maxpool2d_forward(x, 2)
    assert out.dtype == np.float64
    cy.maxpool2d_backward(out, argmax, x.shape)
    cy.avgpool2d_backward(cy.avgpool2d_forward(x, 3, 1, 1), x.shape, 3, 1, 1)
    logits, target = rng.standard_normal((4, 5)), np.array([0, 1, 2, 4])
    losses, probs = cy.softmax_cross_entropy_forward(logits, target, 0.1)
    assert losses.dtype == np.float64
    cy.softmax_cross_entropy_backward(losses, probs, target, 0.1)
    cy.log_softmax_backward(logits, cy.log_softmax_forward(logits))
    xb = rng.standard_normal((4, 3, 6))
    y, mean, invstd = cy.batchnorm_forward(xb, None, None, None, None, True, None, 1e-5)
    assert y.dtype == np.float64
    cy.batchnorm_backward(xb, xb, None, mean, invstd, True)


def test_contract_errors_come_before_compiled_code():
    cy, _ = cython_and_reference(1)
    x = np.ones((1, 1, 4, 4), np.float32)
    out, argmax = cy.maxpool2d_forward(x, 2)
    with pytest.raises(backends.ContractError, match="argmax"):
        cy.maxpool2d_backward(out, argmax + 100, x.shape)
    with pytest.raises(backends.ContractError, match="argmax"):
        cy.maxpool2d_backward(out, argmax.astype(np.int32), x.shape)
    with pytest.raises(IndexError, match="class index"):
        cy.softmax_cross_entropy_forward(np.zeros((2, 3), np.float32), np.array([0, 3]))
    with pytest.raises(ValueError, match="NaN"):
        cy.softmax_cross_entropy_forward(np.full((2, 3), np.nan, np.float32), np.array([0, 1]))
    with pytest.raises(ValueError, match="eval"):
        cy.batchnorm_forward(np.ones((2, 3, 4), np.float32), None, None, None, None, False)


def test_non_contiguous_input_is_copied_by_the_contract():
    cy, ref = cython_and_reference(1)
    rng = np.random.default_rng(2)
    x = randn(rng, (2, 3, 8, 12))[:, :, :, ::2]               # a strided view
    for got, want in zip(cy.maxpool2d_forward(x, 2), ref.maxpool2d_forward(x, 2)):
        np.testing.assert_array_equal(got, want)
    logits = randn(rng, (5, 8)).T                              # transposed (8, 5)
    target = rng.integers(0, 5, 8)
    np.testing.assert_allclose(cy.softmax_cross_entropy_forward(logits, target)[0],
                               ref.softmax_cross_entropy_forward(logits, target)[0], rtol=1e-6)


# =========================================================================== a whole model

def _small_cnn():
    """(No bias in front of a batch norm: its gradient is zero up to rounding noise.)"""
    from fastnn import nn
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),  # 12 -> 6
        nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.Tanh(),
        nn.MaxPool2d(3, stride=2, padding=1),                                                 # 6 -> 3
        nn.AvgPool2d(2, stride=1, padding=1, count_include_pad=False),                          # 3 -> 4
        nn.Flatten(), nn.Linear(8 * 4 * 4, 16, bias=False), nn.BatchNorm1d(16), nn.ELU(), nn.Linear(16, 5))


def _train_step(backend: str, state: dict, x, y, threads: int):
    """One forward/backward of the small CNN on ``backend``: loss, gradients, running stats,
    and the eval-mode output afterwards."""
    import fastnn
    from fastnn import nn
    backends.set_num_threads(threads)
    with fastnn.use_backend(backend):
        model = _small_cnn()
        model.load_state_dict(state)
        model.train()
        loss = nn.CrossEntropyLoss(label_smoothing=0.1)(model(fastnn.tensor(x)), fastnn.tensor(y))
        loss.backward()
        grads = {name: p.grad.numpy().copy() for name, p in model.named_parameters()}
        buffers = {name: b.numpy().copy() for name, b in model.named_buffers() if b.numpy().dtype == np.float32}
        model.eval()
        out = model(fastnn.tensor(x)).numpy().copy()
    return float(loss.item()), grads, buffers, out


@pytest.mark.parametrize("threads", THREADS)
def test_small_cnn_with_batchnorm_matches_numpy_backend(threads):
    """conv-BN-relu-maxpool, conv-BN-tanh-maxpool 3x3/2, avgpool, linear-BN1d-elu-linear and
    label-smoothed cross-entropy: loss, every gradient, the running statistics after the
    training step and the eval-mode output agree between the numpy and cython backends."""
    require_backend("cython")
    import fastnn
    rng = np.random.default_rng(5)
    with fastnn.use_backend("numpy"):
        state = {k: np.array(v) for k, v in _small_cnn().state_dict().items()}
    for k, v in state.items():                  # non-trivial affine parameters and statistics
        if v.dtype == np.float32 and k.split(".")[-1] in ("weight", "bias", "running_mean"):
            v += (rng.standard_normal(v.shape) * 0.1).astype(np.float32)
    x = randn(rng, (grow(6, 3 * 12 * 12, threads, POOL_MIN), 3, 12, 12))
    y = rng.integers(0, 5, x.shape[0])
    loss_ref, g_ref, b_ref, out_ref = _train_step("numpy", state, x, y, threads)
    loss_cy, g_cy, b_cy, out_cy = _train_step("cython", state, x, y, threads)
    assert loss_cy == pytest.approx(loss_ref, rel=1e-5)
    for name in g_ref:
        scale = np.abs(g_ref[name]).max()
        np.testing.assert_allclose(g_cy[name], g_ref[name], rtol=1e-3, atol=1e-4 * scale + 1e-7, err_msg=name)
    assert b_ref.keys() == b_cy.keys() and b_ref
    for name in b_ref:
        np.testing.assert_allclose(b_cy[name], b_ref[name], rtol=1e-4, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(out_cy, out_ref, rtol=1e-4, atol=1e-5)


# =========================================================================== PyTorch

@pytest.mark.torch
def test_matches_pytorch(torch):
    """Max pool indices, cross-entropy with label smoothing and batch-norm training against PyTorch."""
    cy, _ = cython_and_reference(2)
    F = torch.nn.functional
    rng = np.random.default_rng(3)
    x = randn(rng, (8, 16, 17, 18))
    for kwargs in (dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)):
        out, argmax = cy.maxpool2d_forward(x, **kwargs)
        t_out, t_idx = F.max_pool2d(torch.from_numpy(x), return_indices=True, **kwargs)
        np.testing.assert_array_equal(out, t_out.numpy())
        np.testing.assert_array_equal(argmax, t_idx.numpy())
    logits, target = randn(rng, (300, 100), 3.0), rng.integers(0, 100, 300)
    lt = torch.from_numpy(logits).requires_grad_(True)
    loss = F.cross_entropy(lt, torch.from_numpy(target), label_smoothing=0.2, reduction="sum")
    loss.backward()
    losses, probs = cy.softmax_cross_entropy_forward(logits, target, 0.2)
    assert losses.sum() == pytest.approx(loss.item(), rel=1e-5)
    np.testing.assert_allclose(cy.softmax_cross_entropy_backward(np.ones(300, np.float32), probs, target, 0.2),
                               lt.grad.numpy(), rtol=1e-5, atol=1e-7)
    xb = randn(rng, (16, 8, 64), 2.0) + 1
    rm, rv = np.zeros(8, np.float32), np.ones(8, np.float32)
    y, _, _ = cy.batchnorm_forward(xb, None, None, rm, rv, True, 0.1, 1e-5)
    t_rm, t_rv = torch.zeros(8), torch.ones(8)
    t_y = F.batch_norm(torch.from_numpy(xb), t_rm, t_rv, training=True, momentum=0.1, eps=1e-5)
    np.testing.assert_allclose(y, t_y.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(rm, t_rm.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rv, t_rv.numpy(), rtol=1e-5, atol=1e-6)
