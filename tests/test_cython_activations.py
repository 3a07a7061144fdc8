"""The compiled activation kernels of the Cython backend against the NumPy reference.

Shapes are drawn by hypothesis (scalars, size 1, odd sizes, sizes on both sides of the
threshold where the loops go parallel) and every kernel runs with 1 and 2 OpenMP threads.
Without the compiled extension these tests skip, or fail when ``FASTNN_REQUIRE_CYTHON=1``
(see conftest.py).
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastnn.backends as backends
from conftest import require_backend

try:
    from fastnn._cython import _activation
    PARALLEL_MIN = _activation.PARALLEL_MIN
except ImportError:             # not built: the tests below skip (or fail under FASTNN_REQUIRE_CYTHON)
    PARALLEL_MIN = 32768

#: activation -> (the saved tensor its backward takes, parameter values to draw from)
ACTIVATIONS = {
    "relu": ("y", [()]),
    "leaky_relu": ("x", [(0.01,), (0.0,), (0.2,), (1.5,), (-0.3,)]),
    "elu": ("y", [(1.0,), (0.0,), (0.5,), (2.0,)]),
    "sigmoid": ("y", [()]),
    "tanh": ("y", [()]),
}
THREADS = [1, 2]

small_shapes = st.lists(st.integers(1, 9), min_size=0, max_size=4).map(tuple)
edge_shapes = st.sampled_from([(1,), (1, 1, 1), (7,), (PARALLEL_MIN - 1,), (PARALLEL_MIN,), (PARALLEL_MIN + 1,)])
large_shapes = st.one_of(
    st.tuples(st.integers(PARALLEL_MIN, 3 * PARALLEL_MIN + 7)),
    st.tuples(st.integers(128, 160), st.integers(257, 301)),        # 2-D, >= 128*257 > PARALLEL_MIN
    st.tuples(st.integers(2, 5), st.integers(3, 8), st.integers(40, 61), st.integers(40, 61)),
)
shapes = st.one_of(small_shapes, edge_shapes, large_shapes)
scales = st.sampled_from([1e-3, 1.0, 5.0, 100.0])
seeds = st.integers(0, 2**32 - 1)

examples = settings(max_examples=25, deadline=None)


@pytest.fixture(scope="module", autouse=True)
def _restore_threads():
    yield
    backends.set_num_threads(backends.threads.default_num_threads())


def cython_and_reference(threads: int):
    """The Cython backend with ``threads`` OpenMP threads, and the NumPy reference."""
    cy = require_backend("cython")
    backends.set_num_threads(threads)
    if cy.openmp:
        assert cy.get_num_threads() == threads
    return cy, backends.get("numpy")


def random(shape, seed, scale=1.0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return np.asarray(rng.standard_normal(shape) * scale, dtype=dtype)    # 0-d arrays stay arrays


def assert_matches(got, want, name):
    assert got.shape == want.shape, f"{name}: shape {got.shape} != {want.shape}"
    assert got.dtype == want.dtype, f"{name}: dtype {got.dtype} != {want.dtype}"
    if name.startswith(("relu", "leaky_relu")):     # no transcendental functions: bit-identical
        np.testing.assert_array_equal(got, want, err_msg=name)
    else:
        # expf/tanhf vs NumPy's own: a few ulp apart. atol covers cancellation such as
        # 1 - y*y for y near 1, where a fused multiply-add (FASTNN_NATIVE=1) is off by ~eps.
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6, err_msg=name)


def saved_for_backward(ref, act, x, params):
    saved_kind, _ = ACTIVATIONS[act]
    return x if saved_kind == "x" else getattr(ref, f"{act}_forward")(x, *params)


# --------------------------------------------------------------------------- against the reference

@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("act", list(ACTIVATIONS))
@examples
@given(shape=shapes, seed=seeds, scale=scales, data=st.data())
def test_forward_matches_reference(act, threads, shape, seed, scale, data):
    cy, ref = cython_and_reference(threads)
    params = data.draw(st.sampled_from(ACTIVATIONS[act][1]), label="params")
    x = random(shape, seed, scale)
    kernel = f"{act}_forward"
    assert_matches(getattr(cy, kernel)(x, *params), getattr(ref, kernel)(x, *params), kernel)


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("act", list(ACTIVATIONS))
@examples
@given(shape=shapes, seed=seeds, scale=scales, data=st.data())
def test_backward_matches_reference(act, threads, shape, seed, scale, data):
    cy, ref = cython_and_reference(threads)
    params = data.draw(st.sampled_from(ACTIVATIONS[act][1]), label="params")
    x = random(shape, seed, scale)
    grad_y = random(shape, seed + 1)
    saved = saved_for_backward(ref, act, x, params)
    kernel = f"{act}_backward"
    assert_matches(getattr(cy, kernel)(grad_y, saved, *params), getattr(ref, kernel)(grad_y, saved, *params),
                   kernel)


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("act", ["sigmoid", "tanh", "elu"])
def test_extreme_inputs_stay_finite(act, threads):
    cy, ref = cython_and_reference(threads)
    edge = np.array([-3e38, -100, -88.8, -20, -1e-7, -0.0, 0.0, 1e-7, 20, 88.8, 100, 3e38], dtype=np.float32)
    for x in (edge, np.tile(edge, PARALLEL_MIN // edge.size + 1)):      # serial and parallel loops
        y = getattr(cy, f"{act}_forward")(x)
        assert np.isfinite(y).all(), f"{act}_forward({x[~np.isfinite(y)]}) is not finite"
        assert_matches(y, getattr(ref, f"{act}_forward")(x), f"{act}_forward")
        grad_x = getattr(cy, f"{act}_backward")(np.ones_like(x), y)
        assert np.isfinite(grad_x).all()
        assert_matches(grad_x, getattr(ref, f"{act}_backward")(np.ones_like(x), y), f"{act}_backward")
    sig = cy.sigmoid_forward(np.array([-100, 100], dtype=np.float32))
    assert 0 <= sig[0] < 1e-30 and sig[1] == 1


def _float64_truth(act, x):
    x64 = x.astype(np.float64)
    if act == "tanh":
        return np.tanh(x64)
    if act == "sigmoid":
        with np.errstate(over="ignore"):
            return 1 / (1 + np.exp(-x64))
    return np.where(x64 > 0, x64, np.expm1(np.minimum(x64, 0)))        # elu, alpha 1


def _ulp_error(got, truth):
    """|got - truth| in units of the float32 spacing at the truth (subnormal spacing at least)."""
    spacing = np.spacing(np.abs(truth).astype(np.float32)).astype(np.float64)
    return np.abs(got.astype(np.float64) - truth) / np.maximum(spacing, 2.0 ** -149)


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("act", ["tanh", "sigmoid", "elu"])
def test_exp_based_activations_are_accurate(act, threads):
    """The vectorised exp/tanh of fastnn_math.h (range reduction + polynomial) against float64:
    a dense grid over [-100, 100], tiny and subnormal values of both signs, the float32
    overflow/underflow edges of exp, and huge values. Within 3 ulp everywhere (the loops are
    compiled per SIMD width: whichever clone this CPU runs is the one tested)."""
    cy, ref = cython_and_reference(threads)
    tiny = np.logspace(-45, -1, 400)
    x = np.concatenate([np.linspace(-100, 100, 400_001), tiny, -tiny,
                        [0.0, -0.0, 0.625, -0.625, 0.3466, -0.3466, 9.0, -9.0, 87.3, -87.3, 88.7, -88.7,
                         -103.9, -104.5, 1e30, -1e30, 3.4e38, -3.4e38]]).astype(np.float32)
    y = getattr(cy, f"{act}_forward")(x, *ACTIVATIONS[act][1][0])
    truth = _float64_truth(act, x)
    err = _ulp_error(y, truth)
    worst = int(np.argmax(err))
    assert err.max() <= 3, f"{act}({x[worst]!r}) = {y[worst]!r}, {err.max():.1f} ulp from {truth[worst]!r}"
    np.testing.assert_allclose(y, getattr(ref, f"{act}_forward")(x, *ACTIVATIONS[act][1][0]), rtol=1e-6, atol=1e-6)
    if act == "tanh":
        assert np.signbit(cy.tanh_forward(np.array([-0.0], np.float32)))[0]


def test_simd_clones_flag():
    require_backend("cython")
    from fastnn._cython import _activation
    assert isinstance(_activation.SIMD_CLONES, bool)


@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_nan_propagates_like_the_reference(act):
    cy, ref = cython_and_reference(1)
    _, param_choices = ACTIVATIONS[act]
    x = np.array([np.nan, -1.0, 0.0, 2.0, np.nan], dtype=np.float32)
    params = param_choices[0]
    np.testing.assert_array_equal(np.isnan(getattr(cy, f"{act}_forward")(x, *params)),
                                  np.isnan(getattr(ref, f"{act}_forward")(x, *params)))


# --------------------------------------------------------------------------- dispatch

def test_float64_goes_to_the_reference(monkeypatch):
    cy, ref = cython_and_reference(1)
    from fastnn.backends import cython_kernels

    def compiled_code_called(*args):
        raise AssertionError("float64 input reached the float32-only compiled kernel")

    for act, (saved_kind, param_choices) in ACTIVATIONS.items():
        monkeypatch.setattr(cython_kernels._activation, f"{act}_forward", compiled_code_called)
        monkeypatch.setattr(cython_kernels._activation, f"{act}_backward", compiled_code_called)
        params = param_choices[0]
        x = random((3, 5), 0, dtype=np.float64)
        y = getattr(cy, f"{act}_forward")(x, *params)
        assert y.dtype == np.float64
        np.testing.assert_array_equal(y, getattr(ref, f"{act}_forward")(x, *params))
        saved = saved_for_backward(ref, act, x, params)
        grad_x = getattr(cy, f"{act}_backward")(np.ones_like(x), saved, *params)
        assert grad_x.dtype == np.float64
        np.testing.assert_array_equal(grad_x, getattr(ref, f"{act}_backward")(np.ones_like(x), saved, *params))


def test_activation_family_is_compiled():
    cy = require_backend("cython")
    from fastnn.backends.cython_kernels import CythonBackend
    assert set(backends.KERNEL_FAMILIES["activation"]) <= set(cy.compiled_kernels)
    assert set(cy.compiled_kernels) <= set(backends.KERNELS)
    for kernel in cy.compiled_kernels:
        assert "_" + kernel in vars(CythonBackend), f"{kernel} is listed as compiled but inherited"
    assert cy.name == "cython" and cy.dtypes == (np.dtype(np.float32),)


def test_non_contiguous_and_bad_input():
    cy, ref = cython_and_reference(1)
    x = random((6, 8), 3)[:, ::2]                        # a strided view: the contract copies it
    np.testing.assert_allclose(cy.tanh_forward(x), ref.tanh_forward(x), rtol=2e-6)
    with pytest.raises(backends.ContractError, match="grad_y"):
        cy.relu_backward(np.ones((3, 4), np.float32), np.ones((4, 3), np.float32))
    with pytest.raises(TypeError, match="float32 or float64"):
        cy.relu_forward(np.ones(4, dtype=np.int32))
    with pytest.raises(backends.ContractError, match="empty"):
        cy.sigmoid_forward(np.ones((0, 3), np.float32))


def test_thread_count_reaches_openmp():
    cy = require_backend("cython")
    from fastnn._cython import _openmp
    assert cy.openmp == _openmp.openmp_enabled()
    for n in (1, 2, 3):
        backends.set_num_threads(n)
        assert cy.get_num_threads() == (n if cy.openmp else 1)
        # the count the kernels pass as num_threads really sizes the team
        assert _openmp.team_size(cy.get_num_threads()) == (n if cy.openmp else 1)
    with pytest.raises(ValueError):
        _openmp.set_num_threads(0)
    with pytest.raises(ValueError):
        cy.set_num_threads(0)


def test_thread_count_survives_numba_starting_its_pool():
    """Numba's OpenMP layer calls omp_set_num_threads(NUMBA_NUM_THREADS) when its pool starts;
    the Cython kernels pass their own count, so fastnn.set_num_threads(1) still holds."""
    cy = require_backend("cython")
    numba = pytest.importorskip("numba")
    backends.set_num_threads(1)
    numba.set_num_threads(1)            # starts numba's thread pool if it was not running yet
    assert cy.get_num_threads() == 1


def test_cython_is_available_when_required():
    if os.environ.get("FASTNN_REQUIRE_CYTHON") != "1":
        pytest.skip("FASTNN_REQUIRE_CYTHON is not set")
    assert "cython" in backends.available(), backends.unavailable_reasons().get("cython")


@pytest.mark.torch
@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_matches_pytorch(act, torch):
    """Forward and autograd backward against PyTorch's own activations."""
    cy, ref = cython_and_reference(2)
    F = torch.nn.functional
    torch_fn = {"relu": F.relu, "leaky_relu": F.leaky_relu, "elu": F.elu,
                "sigmoid": torch.sigmoid, "tanh": torch.tanh}[act]
    for params in ACTIVATIONS[act][1]:
        x = random((3, PARALLEL_MIN // 3 + 5), 7, scale=4.0)
        grad_y = random(x.shape, 8)
        xt = torch.from_numpy(x.copy()).requires_grad_(True)
        yt = torch_fn(xt, *params)
        yt.backward(torch.from_numpy(grad_y))
        y = getattr(cy, f"{act}_forward")(x, *params)
        np.testing.assert_allclose(y, yt.detach().numpy(), rtol=2e-6, atol=1e-6, err_msg=f"{act}{params}")
        saved = saved_for_backward(ref, act, x, params)
        grad_x = getattr(cy, f"{act}_backward")(grad_y, saved, *params)
        np.testing.assert_allclose(grad_x, xt.grad.numpy(), rtol=2e-6, atol=1e-6, err_msg=f"{act}{params}")
