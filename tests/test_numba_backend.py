"""The Numba backend against the NumPy reference: every kernel, every ladder rung.

Geometries come from hypothesis (``tests/strategies.py``: non-square kernels, stride > 1,
padding, dilation, batch size 1, odd sizes, GEMM sizes that are not multiples of the 4 x 32
micro-tile, transpose flags), and every example runs with 1 or 2 Numba threads. Each kernel
compiles once per session (float32, one signature) and is cached on disk, so the hypothesis
examples cost microseconds. Also checked: no kernel is inherited from the reference, the
parallel kernels give *bitwise* the same result for any thread count, whole-model gradients
agree between the ``numpy`` and ``numba`` backends, ``import fastnn`` does not import Numba,
importing the backend compiles nothing, ``warmup()`` compiles everything, and a subset passes
under ``NUMBA_DISABLE_JIT=1`` (the kernels are valid Python).
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastnn
import fastnn.backends as backends
import fastnn.nn.functional as F
from conftest import require_backend
from fastnn.backends.contract import KERNELS
from strategies import (batchnorm_cases, conv_cases, gemm_cases, loss_cases, pool_cases, seeds,
                        shapes)

pytest.importorskip("numba")

examples = settings(max_examples=25, deadline=None)
threads_st = st.sampled_from([1, 2])
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def nb():
    return require_backend("numba")


@pytest.fixture(scope="module")
def ref():
    return backends.get("numpy")


@pytest.fixture(scope="module", autouse=True)
def _restore_threads():
    yield
    backends.set_num_threads(backends.threads.default_num_threads())


def use_threads(n: int) -> None:
    backends.set_num_threads(n)


def f32(rng, shape, scale=1.0):
    return np.asarray(rng.standard_normal(shape) * scale, dtype=np.float32)


def assert_close(actual, expected, what="", rtol=1e-4, atol=1e-5):
    """Same structure (tuple / None), shape and dtype; values close relative to their scale."""
    if isinstance(expected, tuple):
        assert isinstance(actual, tuple) and len(actual) == len(expected), what
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, f"{what}[{i}]", rtol, atol)
        return
    if expected is None:
        assert actual is None, f"{what}: expected None"
        return
    assert isinstance(actual, np.ndarray), f"{what}: got {type(actual).__name__}"
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol * scale, err_msg=what)


# =========================================================================== the backend object

def test_every_private_kernel_is_numba(nb):
    from fastnn.backends.numba_kernels import NumbaBackend
    from fastnn.backends.numpy_ref import NumpyBackend
    assert NumbaBackend.compiled_kernels == KERNELS
    for kernel in KERNELS:
        name = "_" + kernel
        assert name in NumbaBackend.__dict__, f"{name} is inherited from the NumPy reference"
        assert getattr(NumbaBackend, name) is not getattr(NumpyBackend, name)


def test_backend_attributes(nb):
    assert nb.name == "numba"
    assert nb.dtypes == (np.dtype(np.float32),)
    assert set(nb.gemm_variants) == {"parallel", "naive", "reordered", "tiled", "packed", "blas"}
    assert nb.gemm_variants[0] != "blas"               # the default is a compiled rung
    assert set(nb.conv_variants) == {"im2col", "direct"}
    assert not nb.jit_disabled


def test_float64_goes_to_the_reference(nb, ref):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 5))
    w = rng.standard_normal((2, 3, 3, 3))
    out = nb.conv2d_forward(x, w, None, padding=1)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, ref.conv2d_forward(x, w, None, padding=1))


def test_set_num_threads_reaches_numba(nb):
    import numba
    fastnn.set_num_threads(1)
    assert numba.get_num_threads() == 1 == nb.get_num_threads()
    fastnn.set_num_threads(2)
    assert numba.get_num_threads() == min(2, numba.config.NUMBA_NUM_THREADS)


# =========================================================================== gemm

GEMM_VARIANTS = ("parallel", "naive", "reordered", "tiled", "packed", "blas")


def gemm_reference(a, b, trans_a, trans_b):
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    return (a.T if trans_a else a) @ (b.T if trans_b else b)


@pytest.mark.parametrize("variant", GEMM_VARIANTS)
@examples
@given(case=gemm_cases(max_size=70), seed=seeds, threads=threads_st)
def test_gemm_matches_reference(nb, variant, case, seed, threads):
    use_threads(threads)
    rng = np.random.default_rng(seed)
    a, b = f32(rng, case.a_shape), f32(rng, case.b_shape)
    c = nb.gemm(a, b, case.trans_a, case.trans_b, variant=variant)
    assert c.dtype == np.float32 and c.shape == case.c_shape
    np.testing.assert_allclose(c, gemm_reference(a, b, case.trans_a, case.trans_b), rtol=1e-4,
                               atol=1e-5 * case.k + 1e-5)


@pytest.mark.parametrize("variant", ["parallel", "packed", "tiled"])
@pytest.mark.parametrize("m,k,n", [(130, 800, 70), (3, 1000, 4100), (257, 37, 33), (1, 385, 1)])
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, True), (True, False)])
def test_gemm_blocking_edges(nb, variant, m, k, n, trans_a, trans_b):
    """Sizes past every block: K > KC (two K blocks, uneven), M > MC, N > NC, one row/column."""
    rng = np.random.default_rng(m * k + n)
    a = f32(rng, (k, m) if trans_a else (m, k))
    b = f32(rng, (n, k) if trans_b else (k, n))
    c = nb.gemm(a, b, trans_a, trans_b, variant=variant)
    np.testing.assert_allclose(c, gemm_reference(a, b, trans_a, trans_b), rtol=1e-4, atol=2e-5 * k)


@pytest.mark.parametrize("variant", GEMM_VARIANTS)
def test_gemm_writes_into_out(nb, variant):
    rng = np.random.default_rng(1)
    a, b = f32(rng, (37, 45)), f32(rng, (45, 66))
    out = np.full((37, 66), np.nan, dtype=np.float32)
    c = nb.gemm(a, b, out=out, variant=variant)
    assert c is out
    np.testing.assert_allclose(out, gemm_reference(a, b, False, False), rtol=1e-4, atol=1e-3)


def test_gemm_out_aliasing_an_input(nb):
    rng = np.random.default_rng(2)
    a = f32(rng, (40, 40))
    expected = gemm_reference(a, a, False, False)
    c = nb.gemm(a, a, out=a, variant="packed")
    assert c is a
    np.testing.assert_allclose(a, expected, rtol=1e-4, atol=1e-3)


def test_gemm_transposed_views_are_free(nb):
    """An F-contiguous view (``a.T``) is turned into a flag by the contract, not copied."""
    rng = np.random.default_rng(3)
    a, b = f32(rng, (50, 40)), f32(rng, (60, 50))
    c = nb.gemm(a.T, b.T)
    np.testing.assert_allclose(c, a.T.astype(np.float64) @ b.T, rtol=1e-4, atol=1e-3)


# =========================================================================== convolution

@examples
@given(case=conv_cases(), seed=seeds, threads=threads_st)
def test_im2col_col2im(nb, ref, case, seed, threads):
    use_threads(threads)
    rng = np.random.default_rng(seed)
    x = f32(rng, case.x_shape)
    cols = nb.im2col(x, case.k, **case.kwargs)
    np.testing.assert_array_equal(cols, ref.im2col(x, case.k, **case.kwargs))      # a pure copy
    g = f32(rng, case.cols_shape)
    assert_close(nb.col2im(g, case.x_shape, case.k, **case.kwargs),
                 ref.col2im(g, case.x_shape, case.k, **case.kwargs), "col2im")


@pytest.mark.parametrize("variant", ["im2col", "direct"])
@examples
@given(case=conv_cases(), seed=seeds, threads=threads_st, bias=st.booleans())
def test_conv2d_forward(nb, ref, variant, case, seed, threads, bias):
    use_threads(threads)
    rng = np.random.default_rng(seed)
    x, w = f32(rng, case.x_shape), f32(rng, case.w_shape)
    b = f32(rng, (case.f,)) if bias else None
    out = nb.conv2d_forward(x, w, b, variant=variant, **case.kwargs)
    assert_close(out, ref.conv2d_forward(x, w, b, **case.kwargs), f"conv2d_forward/{variant}")


@pytest.mark.parametrize("variant", ["im2col", "direct"])
@examples
@given(case=conv_cases(), seed=seeds, threads=threads_st, needs_x=st.booleans(), needs_b=st.booleans())
def test_conv2d_backward(nb, ref, variant, case, seed, threads, needs_x, needs_b):
    from fastnn.backends.contract import conv_geometry
    from fastnn.backends.numba_kernels import conv
    use_threads(threads)
    rng = np.random.default_rng(seed)
    x, w, g = f32(rng, case.x_shape), f32(rng, case.w_shape), f32(rng, case.out_shape)
    expected = ref.conv2d_backward(g, x, w, needs_input_grad=needs_x, needs_bias_grad=needs_b, **case.kwargs)
    if variant == nb.conv_variants[0]:          # through the contract
        got = nb.conv2d_backward(g, x, w, needs_input_grad=needs_x, needs_bias_grad=needs_b, **case.kwargs)
    else:                                       # the other rung, called directly
        k, s, p, d, o = conv_geometry(x.shape, case.k, case.s, case.p, case.d)
        got = conv.conv2d_backward_face(g, x, w, s, p, d, o, needs_x, needs_b, variant)
    assert_close(got, expected, f"conv2d_backward/{variant}")


def test_conv_cifar_layer_shape(nb, ref):
    """One realistic layer (several K blocks, per-thread workspaces reused across calls)."""
    rng = np.random.default_rng(4)
    x, w, b = f32(rng, (5, 16, 12, 12)), f32(rng, (24, 16, 3, 3), 0.1), f32(rng, (24,))
    for _ in range(2):
        assert_close(nb.conv2d_forward(x, w, b, padding=1), ref.conv2d_forward(x, w, b, padding=1), "fwd")
    g = f32(rng, (5, 24, 12, 12))
    assert_close(nb.conv2d_backward(g, x, w, padding=1), ref.conv2d_backward(g, x, w, padding=1), "bwd")


# =========================================================================== pooling

@examples
@given(case=pool_cases(), seed=seeds, threads=threads_st, ties=st.booleans())
def test_maxpool2d(nb, ref, case, seed, threads, ties):
    use_threads(threads)
    rng = np.random.default_rng(seed)
    # small integers make many ties: the first maximum in window order must win, as in the reference
    x = rng.integers(-2, 3, case.x_shape).astype(np.float32) if ties else f32(rng, case.x_shape)
    out, argmax = nb.maxpool2d_forward(x, **case.kwargs)
    ref_out, ref_argmax = ref.maxpool2d_forward(x, **case.kwargs)
    np.testing.assert_array_equal(out, ref_out)
    assert argmax.dtype == np.int64
    np.testing.assert_array_equal(argmax, ref_argmax)
    g = f32(rng, case.out_shape)
    assert_close(nb.maxpool2d_backward(g, argmax, case.x_shape), ref.maxpool2d_backward(g, argmax, case.x_shape),
                 "maxpool2d_backward")


def test_maxpool2d_inf_and_nan_windows(nb, ref):
    x = np.full((1, 2, 4, 4), -np.inf, dtype=np.float32)
    x[0, 0, 1, 1] = np.nan
    x[0, 1, 3, 3] = 1.0
    x[0, 1, 0, 0] = np.nan
    for kwargs in (dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1)):
        out, argmax = nb.maxpool2d_forward(x, **kwargs)
        ref_out, ref_argmax = ref.maxpool2d_forward(x, **kwargs)
        np.testing.assert_array_equal(out, ref_out)
        np.testing.assert_array_equal(argmax, ref_argmax)


@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (1, 2, 7, 9), (3, 1, 2, 2)])
def test_maxpool2d_2x2_fast_path(nb, ref, shape):
    """2x2/stride 2/no padding has its own kernels: odd sizes (a last row/column in no window),
    ties, NaN as the first pixel of a window (where its shortcut must defer to the rule), -inf."""
    rng = np.random.default_rng(7)
    x = rng.integers(-2, 3, shape).astype(np.float32)
    x.reshape(-1)[::5] = np.nan
    x.reshape(-1)[1::7] = -np.inf
    out, argmax = nb.maxpool2d_forward(x, 2)
    ref_out, ref_argmax = ref.maxpool2d_forward(x, 2)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(argmax, ref_argmax)
    g = f32(rng, out.shape)
    np.testing.assert_array_equal(nb.maxpool2d_backward(g, argmax, shape), ref.maxpool2d_backward(g, argmax, shape))


def test_maxpool2d_backward_recognises_other_geometries(nb, ref):
    """A 3x3/stride-2 pool of a 5x5 image also gives 2x2 outputs (= 5 // 2): the backward's 2x2
    guess must notice the argmax outside the 2x2 windows and fall back to the general scatter."""
    rng = np.random.default_rng(8)
    x = f32(rng, (2, 3, 5, 5))
    out, argmax = nb.maxpool2d_forward(x, 3, 2)
    g = f32(rng, out.shape)
    assert_close(nb.maxpool2d_backward(g, argmax, x.shape), ref.maxpool2d_backward(g, argmax, x.shape), "bwd")


@examples
@given(case=pool_cases(), seed=seeds, threads=threads_st)
def test_avgpool2d(nb, ref, case, seed, threads):
    use_threads(threads)
    rng = np.random.default_rng(seed)
    x = f32(rng, case.x_shape)
    cip = case.count_include_pad
    assert_close(nb.avgpool2d_forward(x, **case.kwargs, count_include_pad=cip),
                 ref.avgpool2d_forward(x, **case.kwargs, count_include_pad=cip), "avgpool2d_forward")
    g = f32(rng, case.out_shape)
    assert_close(nb.avgpool2d_backward(g, case.x_shape, **case.kwargs, count_include_pad=cip),
                 ref.avgpool2d_backward(g, case.x_shape, **case.kwargs, count_include_pad=cip), "avgpool2d_backward")


# =========================================================================== activations

#: activation -> (what its backward takes, parameter values)
ACTIVATIONS = {
    "relu": ("y", [()]),
    "leaky_relu": ("x", [(0.01,), (0.0,), (0.2,), (-0.3,)]),
    "elu": ("y", [(1.0,), (0.0,), (0.5,), (2.0,)]),
    "sigmoid": ("y", [()]),
    "tanh": ("y", [()]),
}
# sizes on both sides of the point where the loops go parallel (activations.CHUNK)
act_shapes = st.one_of(shapes(min_dims=0, max_dims=4), st.sampled_from([(32767,), (32768,), (32769,), (3, 40000)]))


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@examples
@given(shape=act_shapes, seed=seeds, threads=threads_st, scale=st.sampled_from([1e-3, 1.0, 30.0]),
       data=st.data())
def test_activations(nb, ref, name, shape, seed, threads, scale, data):
    use_threads(threads)
    saved, param_choices = ACTIVATIONS[name]
    params = data.draw(st.sampled_from(param_choices))
    rng = np.random.default_rng(seed)
    x = f32(rng, shape, scale)
    y = getattr(nb, name + "_forward")(x, *params)
    assert_close(y, getattr(ref, name + "_forward")(x, *params), f"{name}_forward", rtol=2e-6, atol=1e-6)
    g = f32(rng, shape)
    s = x if saved == "x" else getattr(ref, name + "_forward")(x, *params)
    assert_close(getattr(nb, name + "_backward")(g, s, *params), getattr(ref, name + "_backward")(g, s, *params),
                 f"{name}_backward", rtol=2e-6, atol=1e-6)


def test_relu_propagates_nan(nb, ref):
    x = np.array([np.nan, -1.0, 2.0, -np.inf, np.inf], dtype=np.float32)
    np.testing.assert_array_equal(nb.relu_forward(x), ref.relu_forward(x))


# ------------------------------------------------ the vectorisable exp of _vmath.py

#: float32 overflow threshold: results above it must be +inf
FLT_MAX = float(np.finfo(np.float32).max)
#: the reduction interval's ends (+-ln2/2), exp's overflow edge (88.72) and subnormal edges
#: (-87.34: smallest normal, -103.28: smallest subnormal), the clamps (-105, 89, -87)
EXP_EDGES = [0.0, -0.0, 0.3465, 0.3466, -0.3465, -0.3466, 0.625, -0.625, 1.0, -1.0, 9.0, -9.0, 20.0, -20.0,
             87.3, -87.3, -87.34, -87.35, 88.7, -88.7, 88.72, 88.73, -103.2, -103.3, -103.9, -104.5, -105.0,
             -105.1, 89.0, 89.1, 100.0, -100.0, 1e30, -1e30, 3.4e38, -3.4e38]


def _exp_grid():
    """A dense grid over [-110, 100], tiny and subnormal values of both signs, and the edges."""
    tiny = np.logspace(-45, -1, 400)
    return np.concatenate([np.linspace(-110, 100, 420_001), tiny, -tiny, EXP_EDGES]).astype(np.float32)


def _ulp_error(got, truth):
    """|got - truth| in float32 ulps at the truth (at least the subnormal spacing 2^-149);
    where the float32 result must overflow (|truth| > FLT_MAX), 0 for +-inf of the right sign
    and inf otherwise."""
    truth = np.asarray(truth, np.float64)
    got = np.asarray(got, np.float64)
    over = np.abs(truth) > FLT_MAX
    finite_truth = np.where(over, 0.0, truth)
    spacing = np.spacing(np.abs(finite_truth).astype(np.float32)).astype(np.float64)
    err = np.abs(got - finite_truth) / np.maximum(spacing, 2.0 ** -149)
    return np.where(over, np.where(got == np.copysign(np.inf, truth), 0.0, np.inf), err)


def _assert_within_ulp(name, x, got, truth, bound):
    assert not np.isnan(got[np.isfinite(x)]).any(), f"{name}: NaN for a finite input"
    err = _ulp_error(got, truth)
    worst = int(np.argmax(err))
    assert err.max() <= bound, \
        f"{name}({x[worst]!r}) = {got[worst]!r}, {err.max():.2f} ulp from {truth[worst]!r} (bound {bound})"


@pytest.fixture(scope="module")
def vmath_loops():
    """The _vmath helpers applied elementwise by small compiled loops (compiled per session)."""
    import numba
    from fastnn.backends.numba_kernels import _vmath
    exp_f32, expm1_f32, max_f32 = _vmath.exp_f32, _vmath.expm1_nonpos_f32, _vmath.max_f32

    @numba.njit
    def max_rows(x, out):
        for i in range(x.shape[0]):
            out[i] = max_f32(x[i])

    @numba.njit
    def exp_loop(x, y):
        for i in range(x.shape[0]):
            y[i] = exp_f32(x[i])

    @numba.njit
    def expm1_loop(x, y):
        for i in range(x.shape[0]):
            y[i] = expm1_f32(x[i])

    def run(loop):
        def apply(x):
            y = np.empty_like(x)
            loop(x, y)
            return y
        return apply
    def row_max(x):
        out = np.empty(x.shape[0], np.float32)
        max_rows(x, out)
        return out
    return {"exp": run(exp_loop), "expm1": run(expm1_loop), "max": row_max}


def test_vmath_row_max(vmath_loops):
    """max_f32 (an integer max over the floats' ordered bit patterns) equals np.max on rows of
    every sign, magnitude and length, infinities, subnormals and signed zeros; a +NaN wins."""
    rng = np.random.default_rng(3)
    for c in (1, 2, 15, 16, 17, 100, 1000, 1001):
        x = (rng.standard_normal((40, c)) * 10.0 ** rng.integers(-40, 38, (40, 1))).astype(np.float32)
        x[1] = -np.abs(x[1])                                    # all negative
        x[2, :] = -np.inf
        x[3, -1] = np.inf
        x[4] = -np.abs(x[4]) * 1e-40                            # negative subnormals
        x[5] = 0.0
        x[5, ::2] = -0.0
        x[6, c // 2] = np.float32(3.4e38)
        np.testing.assert_array_equal(vmath_loops["max"](x), x.max(axis=1))
    x = np.array([[1, 2, np.nan, 3], [np.nan, -1, -2, -3]], np.float32)
    assert np.isnan(vmath_loops["max"](x)).all()


def test_vmath_exp_is_accurate(vmath_loops):
    """exp_f32 against float64 np.exp: within 2 ulp over the whole grid (measured: 1.04), +inf
    where float32 overflows, 0 (or the right subnormal) where it underflows, exact specials."""
    x = _exp_grid()
    with np.errstate(over="ignore"):
        truth = np.exp(x.astype(np.float64))
    y = vmath_loops["exp"](x)
    assert y.dtype == np.float32
    _assert_within_ulp("exp", x, y, truth, 2.0)
    special = np.array([0.0, -0.0, -np.inf, np.inf, np.nan, -3.4e38, 3.4e38, -200.0, 89.0], np.float32)
    y = vmath_loops["exp"](special)
    np.testing.assert_array_equal(y, np.array([1, 1, 0, np.inf, np.nan, 0, np.inf, 0, np.inf], np.float32))


def test_vmath_expm1_is_accurate(vmath_loops):
    """expm1_nonpos_f32 (ELU, tanh) for x <= 0 against float64 np.expm1: within 2 ulp, also for
    tiny |x| where exp(x) - 1 would cancel; -1 for x <= -87 and -inf."""
    x = _exp_grid()
    x = np.concatenate([x[x <= 0], [-np.inf]]).astype(np.float32)
    y = vmath_loops["expm1"](x)
    _assert_within_ulp("expm1", x, y, np.expm1(x.astype(np.float64)), 2.0)
    assert (y[x <= -87] == -1).all()
    assert np.isnan(vmath_loops["expm1"](np.array([np.nan], np.float32))).all()


def _float64_activation(name, x):
    x64 = x.astype(np.float64)
    if name == "tanh":
        return np.tanh(x64)
    if name == "sigmoid":
        with np.errstate(over="ignore"):
            return 1 / (1 + np.exp(-x64))
    return np.where(x64 > 0, x64, np.expm1(np.minimum(x64, 0)))         # elu, alpha 1


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "elu"])
def test_exp_based_activations_are_accurate(nb, name, threads):
    """The backend kernels (parallel chunks and the serial tail) against float64: within 3 ulp
    (measured: sigmoid 2.1, tanh 2.5), no NaN for finite inputs."""
    use_threads(threads)
    x = _exp_grid()
    params = (1.0,) if name == "elu" else ()
    y = getattr(nb, name + "_forward")(x, *params)
    _assert_within_ulp(name, x, y, _float64_activation(name, x), 3.0)
    small = np.array(EXP_EDGES, np.float32)                # below CHUNK: the serial loop
    _assert_within_ulp(name, small, getattr(nb, name + "_forward")(small, *params),
                       _float64_activation(name, small), 3.0)


@pytest.mark.parametrize("threads", [1, 2])
def test_exp_based_activations_extremes(nb, ref, threads):
    """Saturation, infinities, NaN and signed zero as in the reference, serial and parallel."""
    use_threads(threads)
    special = np.array([-np.inf, -3e38, -1e30, -105, -100, -88.8, -20, -1e-7, -1e-40, -0.0, 0.0, 1e-40, 1e-7, 20,
                        88.8, 100, 1e30, 3e38, np.inf, np.nan], np.float32)
    for x in (special, np.tile(special, 40_000 // special.size)):      # serial, then parallel chunks
        with np.errstate(all="ignore"):
            for name, params in (("sigmoid", ()), ("tanh", ()), ("elu", (1.0,)), ("elu", (0.5,))):
                y = getattr(nb, name + "_forward")(x, *params)
                want = getattr(ref, name + "_forward")(x, *params)
                np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-44, err_msg=name)   # NaN where NaN
                assert np.isfinite(y[np.isfinite(x)]).all(), name
        sig = nb.sigmoid_forward(np.array([-100, 100, -np.inf, np.inf, 0], np.float32))
        assert 0 <= sig[0] < 1e-30 and sig[1] == 1 and sig[2] == 0 and sig[3] == 1 and sig[4] == 0.5
        th = nb.tanh_forward(np.array([20, -20, 9, np.inf, -np.inf, -0.0, 0.0], np.float32))
        np.testing.assert_array_equal(th, [1, -1, 1, 1, -1, 0, 0])
        assert np.signbit(th[5]) and not np.signbit(th[6])                 # tanh(-0) = -0


# =========================================================================== losses

@examples
@given(case=loss_cases(), seed=seeds, threads=threads_st, scale=st.sampled_from([1.0, 20.0]))
def test_softmax_cross_entropy(nb, ref, case, seed, threads, scale):
    use_threads(threads)
    rng = np.random.default_rng(seed)
    logits = f32(rng, (case.n, case.c), scale)
    target = rng.integers(0, case.c, case.n)
    ls = case.label_smoothing
    expected = ref.softmax_cross_entropy_forward(logits, target, ls)
    assert_close(nb.softmax_cross_entropy_forward(logits, target, ls), expected, "ce forward", rtol=1e-5)
    gl = f32(rng, (case.n,))
    assert_close(nb.softmax_cross_entropy_backward(gl, expected[1], target, ls),
                 ref.softmax_cross_entropy_backward(gl, expected[1], target, ls), "ce backward", rtol=1e-5)


@pytest.mark.parametrize("n,c", [(1, 1), (3, 1000), (400, 100)])     # the last two run in parallel
def test_softmax_cross_entropy_wide_and_tall(nb, ref, n, c):
    rng = np.random.default_rng(n + c)
    logits, target = f32(rng, (n, c), 5.0), rng.integers(0, c, n)
    assert_close(nb.softmax_cross_entropy_forward(logits, target, 0.1),
                 ref.softmax_cross_entropy_forward(logits, target, 0.1), "ce", rtol=1e-5)
    assert_close(nb.log_softmax_forward(logits), ref.log_softmax_forward(logits), "log_softmax", rtol=1e-5)


@pytest.mark.parametrize("n", [5, 100])              # serial rows, then parallel blocks
def test_softmax_extreme_logits(nb, ref, n):
    """Huge spreads (exp underflows to 0, x - max overflows to -inf) in the fused cross-entropy
    (the contract refuses non-finite logits there); in log-softmax also -inf logits (masked
    classes) and the rows the reference turns into NaN (a +inf logit, a NaN, all -inf)."""
    rng = np.random.default_rng(n)
    c = 200
    logits = f32(rng, (n, c), 30.0)
    logits[0, :] = np.linspace(-1e30, 1e30, c, dtype=np.float32)
    logits[1, :] = np.linspace(-3e38, 3e38, c, dtype=np.float32)
    logits[2, ::2] = -1e4
    target = rng.integers(0, c, n)
    target[:2] = c - 1                                # the largest logit: a finite loss
    with np.errstate(all="ignore"):
        for ls in (0.0, 0.1):
            got = nb.softmax_cross_entropy_forward(logits, target, ls)
            want = ref.softmax_cross_entropy_forward(logits, target, ls)
            for g, w in zip(got, want):
                np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)     # inf where inf
            assert np.isfinite(got[1]).all() and not np.isnan(got[0]).any()
        special = logits.copy()
        special[1, ::3] = -np.inf
        special[2, 7] = np.inf
        special[3, 5] = np.nan
        special[4, :] = -np.inf
        y = nb.log_softmax_forward(special)
        np.testing.assert_allclose(y, ref.log_softmax_forward(special), rtol=1e-5, atol=1e-5)  # NaN where NaN
        assert not np.isnan(y[[0, 1] + list(range(5, n))]).any()
        yb = np.where(np.isfinite(y), y, -1e30).astype(np.float32)
        g = f32(rng, (n, c))
        np.testing.assert_allclose(nb.log_softmax_backward(g, yb), ref.log_softmax_backward(g, yb), rtol=1e-5,
                                   atol=1e-5)


@examples
@given(case=loss_cases(), seed=seeds, threads=threads_st)
def test_log_softmax(nb, ref, case, seed, threads):
    use_threads(threads)
    rng = np.random.default_rng(seed)
    x = f32(rng, (case.n, case.c), 5.0)
    y = ref.log_softmax_forward(x)
    assert_close(nb.log_softmax_forward(x), y, "log_softmax forward", rtol=1e-5)
    g = f32(rng, (case.n, case.c))
    assert_close(nb.log_softmax_backward(g, y), ref.log_softmax_backward(g, y), "log_softmax backward", rtol=1e-5)


# =========================================================================== batch norm

@examples
@given(case=batchnorm_cases(), seed=seeds, threads=threads_st, training=st.booleans(),
       affine=st.booleans(), running=st.booleans())
def test_batchnorm(nb, ref, case, seed, threads, training, affine, running):
    use_threads(threads)
    if not training:
        running = True                          # eval needs running statistics
    rng = np.random.default_rng(seed)
    x = f32(rng, case.x_shape, 3.0) + 1.5
    w = f32(rng, (case.c,)) if affine else None
    b = f32(rng, (case.c,)) if affine else None
    stats = [(f32(rng, (case.c,)), (rng.random(case.c) + 0.5).astype(np.float32)) if running else (None, None)]
    rm1, rv1 = (None, None) if not running else (stats[0][0].copy(), stats[0][1].copy())
    rm2, rv2 = (None, None) if not running else (stats[0][0].copy(), stats[0][1].copy())
    got = nb.batchnorm_forward(x, w, b, rm1, rv1, training, case.momentum, case.eps)
    expected = ref.batchnorm_forward(x, w, b, rm2, rv2, training, case.momentum, case.eps)
    assert_close(got, expected, "batchnorm_forward", rtol=1e-4, atol=1e-4)
    if running:                                 # updated in place, unbiased variance
        assert_close(rm1, rm2, "running_mean", rtol=1e-5)
        assert_close(rv1, rv2, "running_var", rtol=1e-5)
    g = f32(rng, case.x_shape)
    _, mean, invstd = expected
    assert_close(nb.batchnorm_backward(g, x, w, mean, invstd, training),
                 ref.batchnorm_backward(g, x, w, mean, invstd, training), "batchnorm_backward", rtol=1e-4, atol=1e-4)


# =========================================================================== threads

def test_bitwise_identical_across_thread_counts(nb):
    """The parallel kernels split work so that every sum runs in the same order whatever the
    thread count: 1 and 2 threads give the same bits (not just close values)."""
    rng = np.random.default_rng(5)
    a, b = f32(rng, (300, 700)), f32(rng, (500, 700))
    x, w, g = f32(rng, (9, 5, 14, 14)), f32(rng, (7, 5, 3, 3)), f32(rng, (9, 7, 14, 14))
    xb = f32(rng, (16, 6, 50))

    def run():
        return [nb.gemm(a, b, trans_b=True), nb.gemm(a, b, trans_b=True, variant="packed"),
                nb.conv2d_forward(x, w, None, padding=1), *nb.conv2d_backward(g, x, w, padding=1),
                *nb.batchnorm_forward(xb, None, None, None, None, True),
                nb.relu_forward(np.tile(a, (1, 200)))]

    use_threads(1)
    one = run()
    use_threads(2)
    two = run()
    np.testing.assert_array_equal(two[0], two[1])           # parallel == packed, bit for bit
    for i, (u, v) in enumerate(zip(one, two)):
        np.testing.assert_array_equal(u, v, err_msg=f"result {i} differs between 1 and 2 threads")


# =========================================================================== whole models

def _mlp_grads(backend, x, target, params):
    with fastnn.use_backend(backend):
        w1, b1, w2, b2 = (fastnn.tensor(p, requires_grad=True) for p in params)
        h = F.relu(F.linear(fastnn.tensor(x), w1, b1))
        loss = F.cross_entropy(F.linear(h, w2, b2), fastnn.tensor(target))
        loss.backward()
        return float(loss.data), [t.grad.data for t in (w1, b1, w2, b2)]


def _cnn_grads(backend, x, target, params):
    with fastnn.use_backend(backend):
        cw, cb, lw, lb = (fastnn.tensor(p, requires_grad=True) for p in params)
        h = F.max_pool2d(F.relu(F.conv2d(fastnn.tensor(x), cw, cb, padding=1)), 2)
        logits = F.linear(h.reshape(h.shape[0], -1), lw, lb)
        loss = F.cross_entropy(logits, fastnn.tensor(target))
        loss.backward()
        return float(loss.data), [t.grad.data for t in (cw, cb, lw, lb)]


@pytest.mark.parametrize("model", ["mlp", "cnn"])
@pytest.mark.parametrize("threads", [1, 2])
def test_whole_model_gradients_match_numpy_backend(nb, model, threads):
    use_threads(threads)
    rng = np.random.default_rng(6)
    if model == "mlp":
        x, target = f32(rng, (33, 20)), rng.integers(0, 7, 33)
        params = [f32(rng, (50, 20), 0.3), f32(rng, (50,)), f32(rng, (7, 50), 0.3), f32(rng, (7,))]
        run = _mlp_grads
    else:
        x, target = f32(rng, (6, 3, 10, 10)), rng.integers(0, 5, 6)
        params = [f32(rng, (4, 3, 3, 3), 0.3), f32(rng, (4,)), f32(rng, (5, 100), 0.1), f32(rng, (5,))]
        run = _cnn_grads
    loss_ref, grads_ref = run("numpy", x, target, params)
    loss_nb, grads_nb = run("numba", x, target, params)
    assert loss_nb == pytest.approx(loss_ref, rel=1e-5)
    for i, (g_nb, g_ref) in enumerate(zip(grads_nb, grads_ref)):
        assert_close(g_nb, g_ref, f"{model} grad {i}", rtol=1e-4, atol=1e-5)


# =========================================================================== compile behaviour

def _run_python(code: str, **env_extra) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""), **env_extra)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=600)


def test_import_fastnn_does_not_import_numba():
    result = _run_python("""
        import sys
        import fastnn
        import fastnn.nn, fastnn.backends
        fastnn.backends.available()
        assert "numba" not in sys.modules, "import fastnn imported numba"
        assert "fastnn.backends.numba_kernels" not in sys.modules
    """)
    assert result.returncode == 0, result.stderr


def test_importing_the_backend_compiles_nothing():
    result = _run_python("""
        from fastnn.backends.numba_kernels import REGISTRY
        assert len(REGISTRY) > 40, len(REGISTRY)
        compiled = [name for name, d in REGISTRY.items() if d.signatures]
        assert not compiled, compiled
    """)
    assert result.returncode == 0, result.stderr


def test_warmup_compiles_every_kernel(nb):
    from fastnn.backends.numba_kernels import ENTRY_POINTS, REGISTRY
    seconds = nb.warmup(progress=False)
    assert isinstance(seconds, float) and seconds >= 0
    assert len(ENTRY_POINTS) >= 30
    missing = [name for name in ENTRY_POINTS if not REGISTRY[name].signatures]
    assert not missing, f"warmup() left these kernels uncompiled: {missing}"
    # one signature per kernel called from Python: a second one would mean compiling twice
    # (helpers may be specialised on constant arguments inside their callers; that is fine)
    many = {name: REGISTRY[name].signatures for name in ENTRY_POINTS if len(REGISTRY[name].signatures) > 1}
    assert not many, f"kernels compiled for more than one signature: {many}"


def test_kernels_are_valid_python_under_disable_jit():
    """NUMBA_DISABLE_JIT=1 runs every @njit function as Python (how students debug them)."""
    result = _run_python("""
        import numpy as np
        import fastnn.backends as backends
        nb, ref = backends.get("numba"), backends.get("numpy")
        assert nb.jit_disabled
        rng = np.random.default_rng(0)
        f = lambda *s: rng.standard_normal(s).astype(np.float32)
        def close(a, b, what):
            if isinstance(b, tuple):
                for u, v in zip(a, b):
                    close(u, v, what)
            elif b is None:
                assert a is None, what
            else:
                np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4, err_msg=what)
        a, b = f(6, 35), f(33, 35)
        for v in nb.gemm_variants:
            close(nb.gemm(a, b, trans_b=True, variant=v), a @ b.T, "gemm " + v)
        x, w, bias = f(2, 2, 5, 6), f(3, 2, 3, 2), f(3)
        for geo in (dict(padding=1, dilation=(1, 2)), dict(stride=(2, 1), padding=1, dilation=(1, 2))):
            for v in nb.conv_variants:
                close(nb.conv2d_forward(x, w, bias, variant=v, **geo), ref.conv2d_forward(x, w, bias, **geo),
                      "conv " + v)
            g = ref.conv2d_forward(x, w, bias, **geo)
            close(nb.conv2d_backward(g, x, w, **geo), ref.conv2d_backward(g, x, w, **geo), "conv backward")
            close(nb.im2col(x, (3, 2), **geo), ref.im2col(x, (3, 2), **geo), "im2col")
        out, am = nb.maxpool2d_forward(x, 2, 1, 1)
        close((out, am), ref.maxpool2d_forward(x, 2, 1, 1), "maxpool")
        close(nb.maxpool2d_backward(out, am, x.shape), ref.maxpool2d_backward(out, am, x.shape), "maxpool bwd")
        close(nb.avgpool2d_forward(x, 3, 2, 1), ref.avgpool2d_forward(x, 3, 2, 1), "avgpool")
        close(nb.relu_forward(x), ref.relu_forward(x), "relu")
        close(nb.tanh_backward(x, x), ref.tanh_backward(x, x), "tanh bwd")
        edges = np.array([-np.inf, -200, -100, -1e-7, -0.0, 0.0, 0.3, 20, 100, np.inf], np.float32)
        for act, params in (("sigmoid", ()), ("tanh", ()), ("elu", (1.0,))):     # _vmath as Python
            close(getattr(nb, act + "_forward")(edges, *params), getattr(ref, act + "_forward")(edges, *params), act)
        xs, gs = f(3, 7), f(3, 7)
        ls = nb.log_softmax_forward(xs)
        close(ls, ref.log_softmax_forward(xs), "log_softmax")
        close(nb.log_softmax_backward(gs, ls), ref.log_softmax_backward(gs, ls), "log_softmax bwd")
        t = np.array([0, 3, 1, 2])
        logits = f(4, 5)
        close(nb.softmax_cross_entropy_forward(logits, t, 0.1), ref.softmax_cross_entropy_forward(logits, t, 0.1), "ce")
        xb = f(3, 2, 4)
        close(nb.batchnorm_forward(xb, None, None, None, None, True),
              ref.batchnorm_forward(xb, None, None, None, None, True), "bn")
        print("ok")
    """, NUMBA_DISABLE_JIT="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")
