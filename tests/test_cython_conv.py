"""The convolution kernels of the Cython backend against the NumPy reference.

im2col, col2im, conv2d forward (every rung of ``conv_variants``) and backward equal
``numpy_ref`` over hypothesis-drawn geometries (non-square kernels, stride > 1, padding,
dilation, batch size 1, odd sizes), with 1 and 2 OpenMP threads (the size threshold below
which kernels stay on one thread is lifted, so that both parallel strategies run: whole
images per thread when the batch has at least as many images as threads, and parallel GEMM
and im2col inside each image otherwise; the implicit rung takes every output width), with
the AVX2 and the portable micro-kernels and with tiny GEMM blocks. Whole-model gradients of a
small CNN match between the ``numpy`` and ``cython`` backends (the MLP's are in
test_cython_gemm.py).

Tolerances: float32 rounding scaled by the square root of each reduction's length, relative
to the size of the summed terms (the same computation on absolute values, in float64).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastnn
import fastnn.backends as backends
import fastnn.nn.functional as F
from conftest import require_backend
from strategies import ConvCase, conv_cases, seeds

try:
    from fastnn._cython import _conv
except ImportError:             # not built: the tests skip (or fail under FASTNN_REQUIRE_CYTHON)
    _conv = None

THREADS = [1, 2]
EPS32 = float(np.finfo(np.float32).eps)

examples = settings(max_examples=25, deadline=None)


@pytest.fixture(scope="module", autouse=True)
def _restore():
    yield
    backends.set_num_threads(backends.threads.default_num_threads())
    if _conv is not None:
        _conv.set_simd(True)
        _conv.set_blocking()
        _conv.set_parallel_min_work(1 << 18)
        _conv.set_implicit_min_ow(8)


def configure(threads: int, simd: bool = True, tiny_blocks: bool = False):
    cy = require_backend("cython")
    backends.set_num_threads(threads)
    _conv.set_simd(simd)
    if tiny_blocks:
        _conv.set_blocking(12, 5, 32)
    else:
        _conv.set_blocking()
    _conv.set_parallel_min_work(0)          # tiny shapes take the parallel paths too
    _conv.set_implicit_min_ow(1)            # ... and the implicit rung, however narrow
    return cy


def data(case: ConvCase, seed: int, bias: bool = True):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case.x_shape).astype(np.float32)
    w = rng.standard_normal(case.w_shape).astype(np.float32)
    b = rng.standard_normal(case.f).astype(np.float32) if bias else None
    g = rng.standard_normal(case.out_shape).astype(np.float32)
    return x, w, b, g


def assert_close(got, want, scale, length, what):
    """|got - want| <= 8 eps32 sqrt(length) scale + (the reference's own rounding)."""
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == np.float32, f"{what}: dtype {got.dtype}"
    tol = 8 * EPS32 * np.sqrt(max(length, 1)) * scale + 1e-30
    err = np.abs(got.astype(np.float64) - want.astype(np.float64))
    bad = err > tol
    assert not bad.any(), f"{what}: {bad.sum()} of {bad.size} entries off, worst {err.max():.3g}"


def ref():
    return backends.get("numpy")


def abs64(*arrays):
    return [None if a is None else np.abs(a).astype(np.float64) for a in arrays]


# --------------------------------------------------------------------------- im2col / col2im


def test_conv_variants(_restore):
    cy = require_backend("cython")
    assert cy.conv_variants == ("implicit", "im2col", "direct")


@pytest.mark.parametrize("threads", THREADS)
@examples
@given(case=conv_cases(), seed=seeds)
def test_im2col_matches_reference(threads, case, seed):
    cy = configure(threads)
    x, *_ = data(case, seed)
    got = cy.im2col(x, case.k, **case.kwargs)
    assert got.shape == case.cols_shape
    np.testing.assert_array_equal(got, ref().im2col(x, case.k, **case.kwargs))   # a pure copy: exact


@pytest.mark.parametrize("threads", THREADS)
@examples
@given(case=conv_cases(), seed=seeds)
def test_col2im_matches_reference(threads, case, seed):
    cy = configure(threads)
    cols = np.random.default_rng(seed).standard_normal(case.cols_shape).astype(np.float32)
    got = cy.col2im(cols, case.x_shape, case.k, **case.kwargs)
    want = ref().col2im(cols, case.x_shape, case.k, **case.kwargs)
    overlaps = case.k[0] * case.k[1]                   # at most this many terms per pixel
    scale = ref().col2im(np.abs(cols).astype(np.float64), case.x_shape, case.k, **case.kwargs)
    assert_close(got, want, scale, overlaps, "col2im")


# --------------------------------------------------------------------------- forward


def check_forward(cy, case, x, w, b, variant):
    got = cy.conv2d_forward(x, w, b, variant=variant, **case.kwargs)
    want = ref().conv2d_forward(x, w, b, **case.kwargs)
    scale = ref().conv2d_forward(*abs64(x, w, b), **case.kwargs)
    assert_close(got, want, scale, case.c * case.k[0] * case.k[1], f"forward {variant} {case}")


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("variant", [None, "implicit", "im2col", "direct"])
@examples
@given(case=conv_cases(), seed=seeds, bias=st.booleans())
def test_forward_matches_reference(variant, threads, case, seed, bias):
    cy = configure(threads)
    x, w, b, _ = data(case, seed, bias)
    check_forward(cy, case, x, w, b, variant)


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("simd", [True, False], ids=["simd", "generic"])
@settings(max_examples=15, deadline=None)
@given(case=conv_cases(max_channels=4, max_filters=8, max_size=11), seed=seeds)
def test_forward_tiny_blocks_and_micro_kernels(simd, threads, case, seed):
    cy = configure(threads, simd=simd, tiny_blocks=True)
    x, w, b, _ = data(case, seed)
    for variant in ("implicit", "im2col"):
        check_forward(cy, case, x, w, b, variant)


# --------------------------------------------------------------------------- backward


def check_backward(cy, case, x, w, g, needs_input_grad=True, needs_bias_grad=True):
    got = cy.conv2d_backward(g, x, w, needs_input_grad=needs_input_grad, needs_bias_grad=needs_bias_grad,
                             **case.kwargs)
    want = ref().conv2d_backward(g, x, w, **case.kwargs)
    scale = ref().conv2d_backward(*abs64(g, x, w), **case.kwargs)
    oh, ow = case.out_hw
    grad_x, grad_w, grad_b = got
    if needs_input_grad:
        assert_close(grad_x, want[0], scale[0], case.f * case.k[0] * case.k[1], f"grad_x {case}")
    else:
        assert grad_x is None
    assert_close(grad_w, want[1], scale[1], case.n * oh * ow, f"grad_w {case}")
    if needs_bias_grad:
        assert_close(grad_b, want[2], scale[2], case.n * oh * ow, f"grad_b {case}")
    else:
        assert grad_b is None


@pytest.mark.parametrize("threads", THREADS)
@examples
@given(case=conv_cases(), seed=seeds, needs_input_grad=st.booleans(), needs_bias_grad=st.booleans())
def test_backward_matches_reference(threads, case, seed, needs_input_grad, needs_bias_grad):
    cy = configure(threads)
    x, w, _, g = data(case, seed)
    check_backward(cy, case, x, w, g, needs_input_grad, needs_bias_grad)


@pytest.mark.parametrize("threads", THREADS)
@settings(max_examples=25, deadline=None)
@given(case=conv_cases(max_stride=1), seed=seeds, needs_bias_grad=st.booleans())
def test_backward_stride_1(threads, case, seed, needs_bias_grad):
    """Stride 1: grad_x runs as an implicit transposed convolution whenever the padding is at
    most dilation*(kernel-1) (else GEMM + col2im); both are drawn here."""
    cy = configure(threads)
    x, w, _, g = data(case, seed)
    check_backward(cy, case, x, w, g, True, needs_bias_grad)


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("simd", [True, False], ids=["simd", "generic"])
@settings(max_examples=15, deadline=None)
@given(case=conv_cases(max_channels=4, max_filters=8, max_size=11), seed=seeds)
def test_backward_tiny_blocks_and_micro_kernels(simd, threads, case, seed):
    cy = configure(threads, simd=simd, tiny_blocks=True)
    x, w, _, g = data(case, seed)
    check_backward(cy, case, x, w, g)


# --------------------------------------------------------------------------- special shapes


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("n", [1, 2, 5])
@pytest.mark.parametrize("hw", [(1, 1), (7, 5), (16, 16)])
def test_pointwise_convolution_skips_im2col(threads, n, hw):
    """1x1, stride 1, no padding: the input is the column matrix (and grad_x is the GEMM's output)."""
    cy = configure(threads)
    case = ConvCase(n, 6, 9, *hw, (1, 1), (1, 1), (0, 0), (1, 1))
    x, w, b, g = data(case, 7 * n + hw[0])
    for variant in cy.conv_variants:
        check_forward(cy, case, x, w, b, variant)
    check_backward(cy, case, x, w, g)
    check_backward(cy, case, x, w, g, needs_input_grad=False)


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("case", [
    ConvCase(4, 1, 10, 28, 28, (5, 5), (1, 1), (0, 0), (1, 1)),        # LeNet's first layer
    ConvCase(3, 16, 16, 16, 16, (3, 3), (1, 1), (1, 1), (1, 1)),       # a CIFAR-like layer
    ConvCase(1, 8, 12, 15, 13, (3, 2), (2, 1), (1, 0), (1, 2)),        # batch 1: parallel inside the image
    ConvCase(2, 5, 7, 33, 31, (4, 3), (3, 2), (2, 1), (2, 1)),
], ids=["lenet", "cifar", "batch1", "odd"])
def test_realistic_shapes_default_thresholds(threads, case):
    """Shapes large enough to go parallel with the default size thresholds and GEMM blocks."""
    cy = configure(threads)
    _conv.set_parallel_min_work(1 << 18)
    _conv.set_implicit_min_ow(8)
    x, w, b, g = data(case, 11)
    for variant in cy.conv_variants:
        check_forward(cy, case, x, w, b, variant)
    check_backward(cy, case, x, w, g)


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("simd", [True, False], ids=["simd", "generic"])
@pytest.mark.parametrize("case", [
    ConvCase(3, 64, 64, 8, 8, (3, 3), (1, 1), (1, 1), (1, 1)),          # CIFAR's last stage
    ConvCase(1, 3, 7, 7, 8, (3, 3), (1, 1), (1, 1), (1, 1)),            # odd number of rows
    ConvCase(2, 2, 5, 1, 8, (1, 3), (1, 1), (0, 1), (1, 1)),            # a single row
    ConvCase(2, 3, 13, 9, 8, (2, 3), (2, 1), (0, 1), (1, 1)),           # stride along H
    ConvCase(2, 4, 6, 8, 8, (3, 3), (1, 1), (2, 2), (2, 2)),            # dilation
], ids=["cifar8", "odd-rows", "one-row", "stride-h", "dilated"])
def test_eight_wide_outputs_pair_two_rows_per_tile(threads, simd, case):
    """Output rows exactly 8 wide: the implicit rung fills each 16-column tile with two output
    rows (the micro-kernel's second 8 columns read one padded row further on), forward and in
    grad_x's transposed convolution; an odd last row runs on its own."""
    assert case.out_hw[1] == 8
    cy = configure(threads, simd=simd)
    _conv.set_implicit_min_ow(8)
    x, w, b, g = data(case, 5)
    check_forward(cy, case, x, w, b, "implicit")
    check_backward(cy, case, x, w, g)


def test_results_do_not_depend_on_the_thread_count():
    """Whole images per thread and per-chunk gradient sums added in a fixed order: 1 and 2
    threads give the same bits (batch >= threads), call after call."""
    case = ConvCase(11, 5, 7, 12, 10, (3, 3), (1, 2), (1, 1), (1, 1))
    x, w, b, g = data(case, 9)
    results = []
    for threads in (1, 2, 2, 1):
        cy = configure(threads)
        results.append((cy.conv2d_forward(x, w, b, **case.kwargs), *cy.conv2d_backward(g, x, w, **case.kwargs)))
    for other in results[1:]:
        for got, want in zip(other, results[0]):
            np.testing.assert_array_equal(got, want)


def test_column_buffers_are_reused():
    """Training repeats the same shapes: after the first step the workspace does not grow."""
    cy = configure(2)
    _conv.set_parallel_min_work(1 << 18)
    case = ConvCase(8, 16, 16, 16, 16, (3, 3), (1, 1), (1, 1), (1, 1))
    x, w, b, g = data(case, 5)
    cy.conv2d_forward(x, w, b, **case.kwargs)
    cy.conv2d_backward(g, x, w, **case.kwargs)
    size = _conv.workspace_floats()
    for _ in range(3):
        cy.conv2d_forward(x, w, b, **case.kwargs)
        cy.conv2d_backward(g, x, w, **case.kwargs)
    assert _conv.workspace_floats() == size


def test_float64_goes_to_the_reference():
    cy = require_backend("cython")
    case = ConvCase(2, 2, 3, 6, 5, (3, 2), (1, 2), (1, 0), (1, 1))
    x, w, b, g = (None if a is None else a.astype(np.float64) for a in data(case, 1))
    out = cy.conv2d_forward(x, w, b, **case.kwargs)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, ref().conv2d_forward(x, w, b, **case.kwargs), rtol=1e-12)


# --------------------------------------------------------------------------- whole models


def _grads(backend: str, build, params: dict, threads: int):
    backends.set_num_threads(threads)
    with fastnn.use_backend(backend):
        tensors = {k: fastnn.tensor(v, requires_grad=True) for k, v in params.items()}
        loss = build(tensors)
        loss.backward()
        return float(loss.item()), {k: t.grad.numpy().copy() for k, t in tensors.items()}


def compare_models(build, params, threads):
    """Loss and every parameter's gradient of ``build(params)`` on the numpy and cython backends."""
    if _conv is not None:
        _conv.set_parallel_min_work(1 << 18)
        _conv.set_implicit_min_ow(8)
    loss_ref, g_ref = _grads("numpy", build, params, threads)
    loss_cy, g_cy = _grads("cython", build, params, threads)
    assert abs(loss_cy - loss_ref) <= 1e-5 * max(1.0, abs(loss_ref))
    for k in params:
        scale = np.abs(g_ref[k]).max()
        np.testing.assert_allclose(g_cy[k], g_ref[k], rtol=1e-3, atol=1e-4 * scale + 1e-7, err_msg=k)


@pytest.mark.parametrize("threads", THREADS)
def test_small_cnn_gradients_match_numpy_backend(threads):
    """conv -> relu -> max pool -> conv -> relu -> linear -> cross-entropy, batch 6."""
    require_backend("cython")
    rng = np.random.default_rng(0)
    f32 = lambda *s, scale=1.0: (rng.standard_normal(s) * scale).astype(np.float32)   # noqa: E731
    params = {"c1w": f32(6, 3, 3, 3, scale=0.3), "c1b": f32(6, scale=0.1),
              "c2w": f32(8, 6, 3, 2, scale=0.2), "c2b": f32(8, scale=0.1),
              "lw": f32(5, 8 * 5 * 6, scale=0.05), "lb": f32(5, scale=0.1)}
    x = f32(6, 3, 14, 14)
    y = rng.integers(0, 5, 6)

    def build(p):
        h = F.relu(F.conv2d(fastnn.tensor(x), p["c1w"], p["c1b"], padding=1))
        h = F.max_pool2d(h, 2)                                              # (6, 6, 7, 7)
        h = F.relu(F.conv2d(h, p["c2w"], p["c2b"], stride=(1, 1), padding=(0, 0)))   # (6, 8, 5, 6)
        logits = F.linear(h.reshape(6, -1), p["lw"], p["lb"])
        return F.cross_entropy(logits, fastnn.tensor(y))
    compare_models(build, params, threads)
