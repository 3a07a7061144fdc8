"""``fastnn._tensor_str.tensor_repr`` against ``repr()`` of the same tensor in PyTorch.

The expected string is PyTorch's own, with ``torch.`` renamed ``fastnn.`` in the dtype
suffix. Every test leaves both libraries' print options at their defaults.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fastnn._tensor_str import get_printoptions, printoptions, set_printoptions, tensor_repr

pytestmark = pytest.mark.torch

DEFAULTS = dict(precision=4, threshold=1000, edgeitems=3, linewidth=80, sci_mode=None)


@pytest.fixture(autouse=True)
def _default_printoptions():
    yield
    set_printoptions(profile="default")
    if "torch" in sys.modules:
        sys.modules["torch"].set_printoptions(profile="default")


def fastnn_repr(torch, t) -> str:
    """``tensor_repr`` called the way ``fastnn.Tensor.__repr__`` calls it, for torch tensor ``t``."""
    return tensor_repr(
        t.detach().numpy(),
        dtype_name=str(t.dtype).replace("torch.", "fastnn."),
        default_dtype=t.dtype in (torch.float32, torch.int64, torch.bool),
        requires_grad=t.requires_grad,
        grad_fn_name=None if t.grad_fn is None else type(t.grad_fn).__name__,
    )


def check(torch, t):
    assert fastnn_repr(torch, t) == repr(t).replace("torch.", "fastnn.")


def both_printoptions(torch, **options):
    set_printoptions(**options)
    torch.set_printoptions(**options)


def randn(shape, dtype=np.float32, scale=1.0, seed=0):
    return np.asarray(np.random.default_rng(seed).standard_normal(shape) * scale, dtype=dtype)


NAN, INF = float("nan"), float("inf")


# --------------------------------------------------------------------------- values

@pytest.mark.parametrize("shape", [(), (1,), (5,), (3, 4), (1, 7), (7, 1), (2, 3, 4), (1, 1, 1),
                                   (2, 2, 3, 4), (2, 1, 2, 1, 2)])
@pytest.mark.parametrize("seed", range(3))
def test_random_normal(torch, shape, seed):
    check(torch, torch.from_numpy(randn(shape, seed=seed)))


@pytest.mark.parametrize("values", [
    [1e-5, 1.0], [1e9, 1.0], [1.0, 2000.5], [1.0, 999.0], [0.5, 999.0], [123456.7], [1e8], [1.5e8],
    [1e-4], [9.9e-5], [0.0, 1e-5], [-1e-7, 3.25], [1e30, -1e-30], [3.4e38], [1e-45],
])
def test_scientific_notation(torch, values):
    check(torch, torch.tensor(values))
    check(torch, torch.tensor(values, dtype=torch.float64))


def test_scientific_notation_extreme_float64(torch):
    check(torch, torch.tensor([1e308, 1e-300, -5e-324], dtype=torch.float64))


@pytest.mark.parametrize("values", [
    [1.0, 2.0, 3.0], [-3.0, 100.0], [1e10, 1.0], [0.0, 0.0], [1e8, 2.0], [123456789.0], [-1.0],
    [[1.0, -20.0], [300.0, 4.0]],
])
def test_integer_valued_floats(torch, values):
    check(torch, torch.tensor(values))


@pytest.mark.parametrize("values", [
    [NAN], [INF, -INF], [NAN, 1.5], [NAN, 1.0], [INF, 1e-5], [NAN, 0.0, -INF], [1e9, NAN, -INF, 2.5],
    [[1.0, NAN], [-0.0, INF]], [-INF, 0.1234, 1e-3],
])
def test_nan_and_inf(torch, values):
    check(torch, torch.tensor(values))


@pytest.mark.parametrize("values", [[-0.0], [-0.0, 1.5], [-0.0, 1.0], [-0.0, 0.0], [-0.0, 1e-6], [[-0.0, 2.0]]])
def test_negative_zero(torch, values):
    check(torch, torch.tensor(values))


@pytest.mark.parametrize("values", [[1, 2, 3], [-5, 10, 200], [0], [2**62, -(2**63)], [[1, -2], [30, 4]],
                                    list(range(-20, 20))])
def test_integers(torch, values):
    check(torch, torch.tensor(values))


@pytest.mark.parametrize("values", [[True, False], [True], [False, False], [[True], [False]]])
def test_bools(torch, values):
    check(torch, torch.tensor(values))


@pytest.mark.parametrize("dtype", [np.float64, np.float16, np.int32, np.uint8, np.int8, np.int16])
@pytest.mark.parametrize("shape", [(), (4,), (3, 5)])
def test_other_dtypes(torch, dtype, shape):
    if np.dtype(dtype).kind == "f":
        data = randn(shape, dtype, scale=3.0)
    else:
        info = np.iinfo(dtype)
        data = np.random.default_rng(1).integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
    check(torch, torch.from_numpy(data))


@pytest.mark.parametrize("value", [3.0, -0.5, 1e-7, 7, True, NAN, -INF, 0.0, -0.0])
def test_zero_dim(torch, value):
    check(torch, torch.tensor(value))
    if isinstance(value, float):
        check(torch, torch.tensor(value, dtype=torch.float64))


@pytest.mark.parametrize("shape", [(0,), (0, 3), (3, 0), (2, 0, 4)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "uint8", "bool"])
def test_empty(torch, shape, dtype):
    check(torch, torch.zeros(shape, dtype=getattr(torch, dtype)))


# --------------------------------------------------------------------------- layout

@pytest.mark.parametrize("make", [
    lambda torch: torch.arange(2000),
    lambda torch: torch.arange(1001, dtype=torch.float32),
    lambda torch: torch.from_numpy(randn(1001)),
    lambda torch: torch.from_numpy(randn((40, 40))),
    lambda torch: torch.from_numpy(randn((10, 10, 20), np.float64)),
    lambda torch: torch.from_numpy(randn((5, 6, 7, 8))),
    lambda torch: torch.from_numpy(randn((2000, 1))),
    lambda torch: torch.from_numpy(randn((3, 1000))),
    lambda torch: torch.arange(10000).reshape(100, 100) * 37,
    lambda torch: torch.ones(50, 50, dtype=torch.bool),
    lambda torch: torch.from_numpy(randn((40, 40))) * torch.logspace(-6, 6, 40),
], ids=["arange2000", "arange1001f", "randn1001", "randn40x40", "randn3d_f64", "randn4d", "column", "wide",
        "int100x100", "bool50x50", "sci_in_middle"])
def test_summarised(torch, make):
    check(torch, make(torch))


def test_summary_hides_the_sci_triggering_values(torch):
    """The format is chosen from the shown entries only: a tiny value in the middle does not
    switch a summarised tensor to scientific notation."""
    t = torch.ones(2000)
    t[1000] = 1e-9
    check(torch, t)
    assert "e-09" not in repr(t)


@pytest.mark.parametrize("make", [
    lambda torch: torch.from_numpy(randn(30)),
    lambda torch: torch.from_numpy(randn((3, 30))),
    lambda torch: torch.from_numpy(randn((2, 3, 30), np.float64)),
    lambda torch: torch.arange(100),
    lambda torch: torch.arange(100) * 1000.5,
    lambda torch: torch.from_numpy(randn(25, scale=1e6)),
    lambda torch: torch.tensor([True, False] * 20),
    lambda torch: torch.arange(60, dtype=torch.uint8),
    lambda torch: torch.tensor([12345678.0] * 12),
], ids=["randn30", "rows", "3d_f64", "arange100", "ints_as_floats", "sci", "bools", "uint8", "int_mode"])
def test_long_rows_wrap(torch, make):
    check(torch, make(torch))


@pytest.mark.parametrize("n", [5, 12])
def test_dtype_suffix_at_the_line_limit(torch, n):
    """PyTorch's dtype suffix ends exactly at its line limit here; fastnn's, one character
    longer, stays on the same line too, so the two outputs keep the same line breaks."""
    check(torch, torch.full((n,), 100.5, dtype=torch.float64))


def test_suffix_moves_to_a_new_line(torch):
    check(torch, torch.full((6,), 100.5, dtype=torch.float64))
    check(torch, torch.full((6,), 100.5, dtype=torch.float64, requires_grad=True) * 2)


# --------------------------------------------------------------------------- options

@pytest.mark.parametrize("options", [
    dict(precision=2), dict(precision=8), dict(precision=0), dict(threshold=5), dict(threshold=0),
    dict(edgeitems=1, threshold=10), dict(edgeitems=0, threshold=10), dict(edgeitems=0), dict(linewidth=40),
    dict(linewidth=120), dict(linewidth=1), dict(sci_mode=True), dict(sci_mode=False),
    dict(profile="short"), dict(profile="full"), dict(profile="short", precision=6),
    dict(precision=3, sci_mode=True, linewidth=50, threshold=20, edgeitems=2),
], ids=str)
@pytest.mark.parametrize("make", [
    lambda torch: torch.from_numpy(randn((4, 7))),
    lambda torch: torch.from_numpy(randn(20, np.float64, scale=1e5)),
    lambda torch: torch.tensor([1e-5, 1.0, 12345.0]),
    lambda torch: torch.arange(30.0),
    lambda torch: torch.arange(30).reshape(2, 3, 5),
    lambda torch: torch.from_numpy(randn(1500)),
    lambda torch: torch.tensor(2.5),
    lambda torch: torch.tensor([True, False, True]),
    lambda torch: torch.tensor([NAN, INF, 1.0]),
], ids=["randn4x7", "f64_large", "mixed", "arange30f", "arange_3d", "randn1500", "scalar", "bools", "nonfinite"])
def test_printoptions(torch, options, make):
    both_printoptions(torch, **options)
    assert get_printoptions() == torch._tensor_str.get_printoptions()
    check(torch, make(torch))


def test_set_printoptions_semantics():
    assert get_printoptions() == DEFAULTS
    set_printoptions(precision=2, sci_mode=True)
    assert get_printoptions() == dict(DEFAULTS, precision=2, sci_mode=True)
    set_printoptions(linewidth=60)      # every call sets sci_mode, here back to None
    assert get_printoptions() == dict(DEFAULTS, precision=2, linewidth=60)
    set_printoptions(profile="full", edgeitems=5)
    assert get_printoptions() == dict(DEFAULTS, threshold=float("inf"), edgeitems=5)
    set_printoptions(profile="short")
    assert get_printoptions() == dict(DEFAULTS, precision=2, edgeitems=2)
    set_printoptions(profile="default")
    assert get_printoptions() == DEFAULTS


def test_printoptions_context_manager(torch):
    t = torch.tensor([1.123456, 2.0])
    with printoptions(precision=2, sci_mode=True):
        with torch._tensor_str.printoptions(precision=2, sci_mode=True):
            check(torch, t)
    assert get_printoptions() == DEFAULTS
    with pytest.raises(ZeroDivisionError), printoptions(precision=1):
        1 / 0
    assert get_printoptions() == DEFAULTS


# --------------------------------------------------------------------------- autograd

@pytest.mark.parametrize("make", [
    lambda torch: torch.ones(3, requires_grad=True),
    lambda torch: torch.ones(3, requires_grad=True) * 2,
    lambda torch: (torch.ones(2, 3, requires_grad=True) + 1).sum(),
    lambda torch: torch.ones(3, dtype=torch.float64, requires_grad=True),
    lambda torch: torch.ones(3, dtype=torch.float64, requires_grad=True).exp(),
    lambda torch: torch.from_numpy(randn((4, 9))).requires_grad_() @ torch.ones(9, 9),
    lambda torch: torch.from_numpy(randn(2000)).requires_grad_().relu(),
    lambda torch: torch.zeros(0, 3, requires_grad=True),
    lambda torch: torch.zeros(0, dtype=torch.float64, requires_grad=True) * 1,
    lambda torch: torch.tensor(1.5, requires_grad=True).tanh(),
], ids=["leaf", "mul", "sum", "leaf_f64", "exp_f64", "mm", "summarised", "empty_leaf", "empty_f64_mul", "scalar"])
def test_autograd_suffixes(torch, make):
    check(torch, make(torch))


# --------------------------------------------------------------------------- hypothesis

DTYPES = ["float32", "float64", "float16", "int64", "int32", "int8", "uint8", "bool"]


@st.composite
def arrays(draw):
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=7))
    if dtype.kind == "f":
        width = 8 * dtype.itemsize
        elements = draw(st.sampled_from([
            st.floats(width=width),                                     # anything, nan and inf too
            st.floats(-1e3, 1e3, width=width),                          # mostly fixed point
            st.integers(-300, 300).map(float),                          # integer-valued
            st.sampled_from([0.0, -0.0, 1.0, float("nan"), float("inf"), -float("inf")]),
        ]))
        return draw(hnp.arrays(dtype, shape, elements=elements))
    return draw(hnp.arrays(dtype, shape))


@st.composite
def options(draw):
    return dict(precision=draw(st.integers(0, 8)), threshold=draw(st.sampled_from([5, 20, 100, 1000])),
                edgeitems=draw(st.integers(0, 4)), linewidth=draw(st.integers(10, 120)),
                sci_mode=draw(st.sampled_from([None, None, True, False])))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=arrays())
def test_random_arrays(torch, data):
    check(torch, torch.from_numpy(data))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=arrays(), opts=options(), requires_grad=st.booleans())
def test_random_arrays_and_options(torch, data, opts, requires_grad):
    both_printoptions(torch, **opts)
    t = torch.from_numpy(data)
    if requires_grad and t.dtype.is_floating_point:
        t = t.requires_grad_() * 1 if data.size % 2 else t.requires_grad_()
    check(torch, t)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=40),
       log_scale=st.integers(-12, 12), dtype=st.sampled_from(["float32", "float64"]))
def test_random_normal_of_any_scale(torch, seed, shape, log_scale, dtype):
    check(torch, torch.from_numpy(randn(shape, dtype, scale=10.0 ** log_scale, seed=seed)))
