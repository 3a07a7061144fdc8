"""The GEMM ladder of the Cython backend against NumPy.

Every rung (``CythonBackend.gemm_variants``, and the default) equals ``op(a) @ op(b)``
computed in float64, to a tolerance scaled to float32 and to sqrt(K), over hypothesis-drawn
sizes (1, primes, sizes that are not multiples of the 6x16 micro-tile, K = 1), both
transpose flags, ``out=``, non-contiguous inputs, 1 and 2 OpenMP threads, the AVX2 and the
portable micro-kernel, and tiny cache blocks so that small matrices cross every block
boundary of the packed driver (jc, pc, ic loops) too. The gradients of a whole MLP
(linear, relu, cross-entropy) match between the ``numpy`` and ``cython`` backends.

Without the compiled extension these tests skip, or fail when ``FASTNN_REQUIRE_CYTHON=1``.
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
from strategies import GemmCase, gemm_cases, gemm_dims, seeds

try:
    from fastnn._cython import _gemm
except ImportError:             # not built: the tests skip (or fail under FASTNN_REQUIRE_CYTHON)
    _gemm = None

THREADS = [1, 2]
LADDER = ("naive", "reordered", "tiled", "packed", "parallel")
EPS32 = float(np.finfo(np.float32).eps)

examples = settings(max_examples=30, deadline=None)


@pytest.fixture(scope="module", autouse=True)
def _restore():
    yield
    backends.set_num_threads(backends.threads.default_num_threads())
    if _gemm is not None:
        _gemm.set_simd(True)
        _gemm.set_blocking()
        _gemm.set_parallel_min_flops(1 << 20)


@pytest.fixture
def cy():
    return require_backend("cython")


def configure(threads: int, simd: bool = True, tiny_blocks: bool = False):
    """Threads, micro-kernel and block sizes for the next calls; tiny problems still go
    parallel (the size threshold is lifted), so 2 threads really run 2 threads."""
    cy = require_backend("cython")
    backends.set_num_threads(threads)
    _gemm.set_simd(simd)
    if tiny_blocks:
        _gemm.set_blocking(12, 5, 32)       # MC, KC, NC: a 40x40x40 product crosses every block edge
    else:
        _gemm.set_blocking()
    _gemm.set_parallel_min_flops(0)
    return cy


def operands(case, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(case.a_shape).astype(np.float32)
    b = rng.standard_normal(case.b_shape).astype(np.float32)
    return a, b


def reference(a, b, trans_a, trans_b):
    a64 = a.astype(np.float64)
    b64 = b.astype(np.float64)
    a64 = a64.T if trans_a else a64
    b64 = b64.T if trans_b else b64
    return a64 @ b64, np.abs(a64) @ np.abs(b64)


def assert_gemm_close(got, a, b, trans_a, trans_b, what=""):
    """|got - exact| <= 8 eps32 sqrt(K) (|A| |B|) elementwise: the rounding of K float32
    multiply-adds in any order (typical growth sqrt(K)), relative to the size of the terms."""
    want, scale = reference(a, b, trans_a, trans_b)
    k = a.shape[0] if trans_a else a.shape[1]
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == np.float32, f"{what}: dtype {got.dtype}"
    tol = 8 * EPS32 * np.sqrt(k) * scale + 1e-30
    err = np.abs(got.astype(np.float64) - want)
    bad = err > tol
    assert not bad.any(), (f"{what}: {bad.sum()} of {bad.size} entries off, worst {err.max():.3g} "
                           f"(tolerance there {tol.flat[np.argmax(err)]:.3g})")


# --------------------------------------------------------------------------- the ladder


def test_variants_are_the_ladder(cy):
    assert cy.gemm_variants[0] == "parallel", "the default rung is the first one"
    assert set(cy.gemm_variants) == set(LADDER) | {"blas"}
    assert tuple(_gemm.VARIANTS) == LADDER


def test_every_rung_says_what_changed():
    for name in LADDER:
        doc = getattr(_gemm, "gemm_" + name).__doc__
        assert doc and f"Rung {LADDER.index(name) + 1}" in doc, name
        if name != "naive":
            assert "Changed" in doc, name


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("variant", [None, *LADDER, "blas"])
@examples
@given(case=gemm_cases(max_size=40), seed=seeds)
def test_gemm_matches_numpy(variant, threads, case, seed):
    cy = configure(threads)
    a, b = operands(case, seed)
    c = cy.gemm(a, b, case.trans_a, case.trans_b, variant=variant)
    assert_gemm_close(c, a, b, case.trans_a, case.trans_b, f"{variant} {case}")


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("variant", ["packed", "parallel"])
@pytest.mark.parametrize("simd", [True, False], ids=["simd", "generic"])
@examples
@given(case=gemm_cases(max_size=40), seed=seeds)
def test_packed_block_edges_and_micro_kernels(variant, simd, threads, case, seed):
    """Tiny cache blocks (MC=12, KC=5, NC=32) run several jc, pc and ic blocks, with partial
    blocks and partial micro-tiles at every edge; both micro-kernels."""
    cy = configure(threads, simd=simd, tiny_blocks=True)
    a, b = operands(case, seed)
    c = cy.gemm(a, b, case.trans_a, case.trans_b, variant=variant)
    assert_gemm_close(c, a, b, case.trans_a, case.trans_b, f"{variant} simd={simd} {case}")


@pytest.mark.parametrize("shared", [True, False], ids=["shared-B", "independent"])
@pytest.mark.parametrize("tiny_blocks", [True, False], ids=["tiny-blocks", "default-blocks"])
@settings(max_examples=20, deadline=None)
@given(m=st.integers(43, 130), k=gemm_dims(70), n=gemm_dims(90), trans_a=st.booleans(), trans_b=st.booleans(),
       seed=seeds)
def test_parallel_strategies_on_tall_products(shared, tiny_blocks, m, k, n, trans_a, trans_b, seed):
    """Products with >= 8 row panels split C by rows: with one shared packed B (barriers) or
    with every thread packing on its own; both with 2 threads, across block edges."""
    cy = configure(2, tiny_blocks=tiny_blocks)
    old = _gemm.set_shared_packing(shared)
    try:
        case = GemmCase(m, k, n, trans_a, trans_b)
        a, b = operands(case, seed)
        c = cy.gemm(a, b, trans_a, trans_b, variant="parallel")
        assert_gemm_close(c, a, b, trans_a, trans_b, f"shared={shared} {case}")
    finally:
        _gemm.set_shared_packing(old)


def test_generic_micro_kernel_switch():
    configure(1, simd=False)
    assert not _gemm.simd_enabled()
    assert "generic" in _gemm.micro_kernel()
    _gemm.set_simd(True)
    assert _gemm.simd_enabled() == _gemm.simd_available()


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("variant", ["packed", "parallel", "tiled"])
@pytest.mark.parametrize("shape", [(245, 330, 4100), (6, 16, 16), (7, 1, 17), (1, 651, 1), (97, 259, 33)])
def test_larger_sizes_default_blocks(variant, threads, shape):
    """Sizes that cross the default blocks (NC=4080, KC=320, MC=240) and the micro-tile."""
    cy = configure(threads)
    m, k, n = shape
    rng = np.random.default_rng(m * 7 + k)
    for trans_a, trans_b in [(False, False), (True, True)]:
        a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
        b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
        assert_gemm_close(cy.gemm(a, b, trans_a, trans_b, variant=variant), a, b, trans_a, trans_b,
                          f"{variant} {shape} {trans_a} {trans_b}")


# --------------------------------------------------------------------------- the contract's extras


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("variant", [*LADDER, "blas"])
@settings(max_examples=15, deadline=None)
@given(case=gemm_cases(max_size=24), seed=seeds)
def test_out_is_filled_and_returned(variant, threads, case, seed):
    cy = configure(threads)
    a, b = operands(case, seed)
    out = np.full(case.c_shape, np.nan, dtype=np.float32)
    c = cy.gemm(a, b, case.trans_a, case.trans_b, out=out, variant=variant)
    assert c is out
    assert_gemm_close(out, a, b, case.trans_a, case.trans_b, f"{variant} out= {case}")


@pytest.mark.parametrize("variant", [*LADDER])
def test_out_may_alias_an_operand(variant):
    """gemm(a, b, out=a) must read a before it is overwritten (the result goes through a buffer)."""
    cy = configure(2)
    rng = np.random.default_rng(3)
    a = rng.standard_normal((23, 23)).astype(np.float32)
    b = rng.standard_normal((23, 23)).astype(np.float32)
    want = a.astype(np.float64) @ b
    a_copy = a.copy()
    c = cy.gemm(a, b, out=a, variant=variant)
    assert c is a
    assert_gemm_close(c, a_copy, b, False, False, f"{variant} out=a")
    np.testing.assert_allclose(c, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("variant", ["naive", "tiled", "packed", "parallel"])
@settings(max_examples=15, deadline=None)
@given(case=gemm_cases(max_size=24), seed=seeds, step=st.integers(2, 3))
def test_non_contiguous_inputs(variant, threads, case, seed, step):
    """Slices with a step and Fortran-ordered views: the contract copies or flips the flag."""
    cy = configure(threads)
    a, b = operands(case, seed)
    rng = np.random.default_rng(seed)
    big_a = rng.standard_normal((a.shape[0], a.shape[1] * step)).astype(np.float32)
    big_a[:, ::step] = a
    strided_a = big_a[:, ::step]
    fortran_b = np.asfortranarray(b)
    if a.shape[1] > 1:                      # (a single column is contiguous whatever the step)
        assert not strided_a.flags.c_contiguous
    c = cy.gemm(strided_a, fortran_b, case.trans_a, case.trans_b, variant=variant)
    assert_gemm_close(c, a, b, case.trans_a, case.trans_b, f"{variant} non-contiguous {case}")
    c = cy.gemm(np.ascontiguousarray(a.T).T, b, case.trans_a, case.trans_b, variant=variant)
    assert_gemm_close(c, a, b, case.trans_a, case.trans_b, f"{variant} a.T.T {case}")


def test_unknown_variant_is_an_error(cy):
    a = np.ones((2, 2), np.float32)
    with pytest.raises(ValueError, match="unknown gemm variant"):
        cy.gemm(a, a, variant="fastest")


@pytest.mark.parametrize("rung", LADDER)
def test_rung_functions_check_shapes_when_called_directly(rung, cy):
    """The rungs can be called on their own (the docs invite it); a shape mismatch raises."""
    fn = getattr(_gemm, "gemm_" + rung)
    a, b = np.ones((3, 4), np.float32), np.ones((5, 6), np.float32)
    with pytest.raises(ValueError, match="op\\(a\\) is 3x4"):
        fn(a, b, np.empty((3, 6), np.float32))
    c = np.empty((3, 5), np.float32)
    fn(a, b[:, :4].copy(), c, trans_b=True)
    np.testing.assert_array_equal(c, np.full((3, 5), 4, np.float32))


def test_float64_goes_to_the_reference(cy):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((5, 7)), rng.standard_normal((7, 3))
    c = cy.gemm(a, b)
    assert c.dtype == np.float64
    np.testing.assert_allclose(c, a @ b, rtol=1e-12)


def test_workspace_is_reused():
    """Calls of the same shape do not grow the packing workspace again."""
    cy = configure(2)
    rng = np.random.default_rng(1)
    a = rng.standard_normal((300, 200)).astype(np.float32)
    b = rng.standard_normal((200, 500)).astype(np.float32)
    cy.gemm(a, b, variant="parallel")
    size = _gemm.workspace_floats()
    assert size > 0
    for _ in range(3):
        cy.gemm(a, b, variant="parallel")
        cy.gemm(a, b, variant="packed")
    assert _gemm.workspace_floats() == size


# --------------------------------------------------------------------------- a whole model


@pytest.mark.parametrize("threads", THREADS)
def test_mlp_gradients_match_numpy_backend(threads):
    """linear -> relu -> linear -> relu -> linear -> cross-entropy, batch 37 (not a tile multiple)."""
    configure(threads)                      # every product runs on `threads` threads, however small
    rng = np.random.default_rng(1)
    f32 = lambda *s, scale=1.0: (rng.standard_normal(s) * scale).astype(np.float32)   # noqa: E731
    params = {"w1": f32(67, 50, scale=0.15), "b1": f32(67, scale=0.1),
              "w2": f32(33, 67, scale=0.15), "b2": f32(33, scale=0.1),
              "w3": f32(10, 33, scale=0.2), "b3": f32(10, scale=0.1)}
    x = f32(37, 50)
    y = rng.integers(0, 10, 37)

    def build(p):
        h = F.relu(F.linear(fastnn.tensor(x), p["w1"], p["b1"]))
        h = F.relu(F.linear(h, p["w2"], p["b2"]))
        return F.cross_entropy(F.linear(h, p["w3"], p["b3"]), fastnn.tensor(y))
    from test_cython_conv import compare_models
    compare_models(build, params, threads)
