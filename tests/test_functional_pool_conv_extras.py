"""Grouped convolution, ``ceil_mode`` / ``return_indices`` / ``divisor_override`` pooling and
adaptive pooling of any size, against PyTorch (the oracle): forward values, int64 indices
(exactly), and the gradients of input, weight and bias, in float32 and float64, on every
available backend; hypothesis-drawn geometries plus named cases for the corners (the extra
ceil_mode window that exists, the one PyTorch drops, depthwise convolution, ``None`` in an
adaptive size); finite-difference gradchecks in float64; and the errors bad arguments raise.

Without torch the comparisons skip, or fail when ``FASTNN_REQUIRE_TORCH=1`` (conftest.py).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F
from conftest import require_torch
from fastnn.gradcheck import gradcheck
from strategies import conv_cases, out_size, pool_cases, seeds

BACKENDS = fastnn.backends.available()
DTYPES = [np.float32, np.float64]
TOLERANCE = {np.float32: (1e-4, 1e-5), np.float64: (1e-10, 1e-12)}     # rtol, atol (relative to the largest value)

examples = settings(max_examples=15, deadline=None)
on_every_backend = pytest.mark.parametrize("backend", BACKENDS)
in_both_dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])


# --------------------------------------------------------------------------- helpers

def randn(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def distinct(rng, shape, dtype):
    """Values pairwise >= 0.05 apart: no ties, so every max has one winner (and finite
    differences never cross a tie)."""
    n = int(np.prod(shape))
    return ((rng.permutation(n) - n / 2) * 0.05).reshape(shape).astype(dtype)


def close(actual, expected, what):
    actual = actual.numpy() if isinstance(actual, fastnn.Tensor) else actual
    expected = expected.detach().numpy()
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != torch's {expected.shape}"
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != torch's {expected.dtype}"
    rtol, atol = TOLERANCE[actual.dtype.type]
    atol *= max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


def run_both(torch, fn, tfn, arrays, seed=0):
    """``fn`` on fastnn tensors and ``tfn`` on torch tensors made from the same arrays (every
    one differentiable). Compares the outputs, and when torch returns ``(output, indices)``
    the indices exactly; then backpropagates one random upstream gradient through both and
    compares the gradient of every argument. Returns torch's output."""
    f_in = [fastnn.tensor(a, requires_grad=True) for a in arrays]
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    f_out, t_out = fn(*f_in), tfn(*t_in)
    if isinstance(t_out, tuple):
        (f_out, f_idx), (t_out, t_idx) = f_out, t_out
        assert f_idx.dtype == np.int64 and not f_idx.requires_grad
        np.testing.assert_array_equal(f_idx.numpy(), t_idx.numpy(), err_msg="indices")
    close(f_out, t_out, "output")
    upstream = np.random.default_rng(seed).standard_normal(tuple(t_out.shape)).astype(arrays[0].dtype)
    f_out.backward(fastnn.tensor(upstream))
    t_out.backward(torch.from_numpy(upstream))
    for i, (f, t) in enumerate(zip(f_in, t_in)):
        assert f.grad is not None, f"no gradient for argument {i}"
        close(f.grad, t.grad, f"gradient of argument {i}")
    return t_out


# --------------------------------------------------------------------------- grouped convolution

@st.composite
def grouped_conv_cases(draw):
    """A conv_cases geometry whose channels and filters are made to fit ``groups``, one of
    1, 2 or C (depthwise, with 1 or 2 filters per channel). Returns (case, groups)."""
    case = draw(conv_cases(max_channels=3, max_filters=2))
    kind = draw(st.sampled_from(["one", "two", "depthwise"]))
    if kind == "one":
        return case, 1
    if kind == "two":
        return dataclasses.replace(case, c=2 * case.c, f=2 * case.f), 2
    channels = case.c + 1
    return dataclasses.replace(case, c=channels, f=channels * case.f), channels


def conv_arrays(rng, case, groups, dtype, bias=True):
    x = randn(rng, case.x_shape, dtype)
    w = randn(rng, (case.f, case.c // groups, *case.k), dtype)
    return [x, w, randn(rng, (case.f,), dtype)] if bias else [x, w]


@on_every_backend
@examples
@given(drawn=grouped_conv_cases(), bias=st.booleans(), dtype=st.sampled_from(DTYPES), seed=seeds)
def test_grouped_conv2d_matches_torch(backend, drawn, bias, dtype, seed):
    torch = require_torch()
    case, groups = drawn
    arrays = conv_arrays(np.random.default_rng(seed), case, groups, dtype, bias)
    with fastnn.use_backend(backend):
        run_both(torch, lambda *a: F.conv2d(*a, **case.kwargs, groups=groups),
                 lambda *a: torch.nn.functional.conv2d(*a, **case.kwargs, groups=groups), arrays, seed)


CONV_NAMED = {   # (C, F, groups, H, W, kernel, stride, padding, dilation)
    "groups2-nonsquare-stride-pad": (4, 6, 2, 7, 8, (3, 2), (2, 1), (1, 2), 1),
    "depthwise": (3, 3, 3, 6, 5, 3, 1, 1, 1),
    "depthwise-multiplier2-dilated": (3, 6, 3, 9, 7, (2, 3), 2, 0, (2, 1)),
    "groups4-of-8-channels": (8, 4, 4, 5, 5, 1, 1, 0, 1),
    "groups1": (3, 4, 1, 6, 6, 3, 2, 1, 1),
}


@on_every_backend
@in_both_dtypes
@pytest.mark.parametrize("name", sorted(CONV_NAMED))
def test_grouped_conv2d_named_cases(torch, backend, dtype, name):
    c, f, groups, h, w, k, s, p, d = CONV_NAMED[name]
    rng = np.random.default_rng(len(name))
    kh, kw = (k, k) if isinstance(k, int) else k
    arrays = [randn(rng, (2, c, h, w), dtype), randn(rng, (f, c // groups, kh, kw), dtype), randn(rng, (f,), dtype)]
    with fastnn.use_backend(backend):
        run_both(torch, lambda *a: F.conv2d(*a, s, p, d, groups),
                 lambda *a: torch.nn.functional.conv2d(*a, s, p, d, groups), arrays)


def test_grouped_conv2d_padding_same_and_unbatched(torch):
    rng = np.random.default_rng(1)
    x, w, b = randn(rng, (4, 5, 6), np.float32), randn(rng, (6, 2, 3, 3), np.float32), randn(rng, (6,), np.float32)
    run_both(torch, lambda *a: F.conv2d(*a, padding="same", groups=2),
             lambda *a: torch.nn.functional.conv2d(*a, padding="same", groups=2), [x, w, b])


def test_conv2d_groups1_keeps_the_single_kernel_path():
    """groups=1 must not pay for the per-group split and concatenation."""
    x = fastnn.randn(1, 4, 5, 5, requires_grad=True)
    assert F.conv2d(x, fastnn.randn(2, 4, 3, 3)).grad_fn.name() == "_Conv2dBackward0"
    assert F.conv2d(x, fastnn.randn(2, 2, 3, 3), groups=2).grad_fn.name() == "_GroupedConv2dBackward0"


def test_grouped_conv2d_gradcheck():
    rng = np.random.default_rng(2)
    x, w, b = (fastnn.tensor(randn(rng, shape, np.float64), requires_grad=True)
               for shape in [(2, 4, 5, 4), (4, 2, 2, 3), (4,)])
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, groups=2), [x, w, b])
    dw = fastnn.tensor(randn(rng, (8, 1, 3, 3), np.float64), requires_grad=True)
    assert gradcheck(lambda x, w: F.conv2d(x, w, padding=1, groups=4), [x, dw])      # depthwise, 2 per channel


def test_grouped_conv2d_without_input_grad(torch):
    """A first layer: only weight and bias want gradients."""
    rng = np.random.default_rng(5)
    x, w, b = randn(rng, (2, 4, 5, 5), np.float32), randn(rng, (4, 2, 3, 3), np.float32), randn(rng, (4,), np.float32)
    fw, fb = fastnn.tensor(w, requires_grad=True), fastnn.tensor(b, requires_grad=True)
    tw, tb = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    F.conv2d(fastnn.tensor(x), fw, fb, groups=2).sum().backward()
    torch.nn.functional.conv2d(torch.tensor(x), tw, tb, groups=2).sum().backward()
    close(fw.grad, tw.grad, "weight gradient")
    close(fb.grad, tb.grad, "bias gradient")


@pytest.mark.parametrize("x_shape, w_shape, groups, message", [
    ((1, 5, 6, 6), (4, 2, 3, 3), 2, r"groups=2 must divide both the 5 input channels \(input of shape"),
    ((1, 6, 6, 6), (3, 3, 3, 3), 2, r"3 filters \(weight of shape fastnn.Size\(\[3, 3, 3, 3\]\)\)"),
    ((1, 6, 6, 6), (4, 2, 3, 3), 2, r"expects 4 input channels \(2 per group\).*has 6"),
    ((1, 4, 6, 6), (4, 1, 3, 3), 0, "groups must be a positive int, got 0"),
    ((1, 4, 6, 6), (4, 2, 3, 3), 2.0, "groups must be a positive int, got 2.0"),
    ((4, 6, 6), (4, 2, 3, 3, 1), 2, r"expected input \(N, C, H, W\) and weight"),
])
def test_conv2d_rejects_bad_groups(x_shape, w_shape, groups, message):
    with pytest.raises(ValueError, match=message):
        F.conv2d(fastnn.randn(*x_shape), fastnn.randn(*w_shape), groups=groups)


def test_conv2d_rejects_a_bias_that_does_not_fit_the_groups():
    with pytest.raises(ValueError, match=r"bias of shape fastnn.Size\(\[3\]\)"):
        F.conv2d(fastnn.randn(1, 4, 5, 5), fastnn.randn(4, 2, 3, 3), fastnn.randn(3), groups=2)


# ---- the layer

@pytest.mark.parametrize("c, f, groups, kwargs", [
    (4, 6, 2, dict(kernel_size=3, stride=2, padding=1)),
    (3, 6, 3, dict(kernel_size=(3, 5), padding="same")),
    (6, 3, 3, dict(kernel_size=2, bias=False)),
])
def test_conv2d_layer_with_groups_matches_torch(torch, c, f, groups, kwargs):
    fm, tm = nn.Conv2d(c, f, groups=groups, **kwargs), torch.nn.Conv2d(c, f, groups=groups, **kwargs)
    assert tuple(fm.weight.shape) == tuple(tm.weight.shape)
    assert repr(fm) == repr(tm)
    tm.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in fm.state_dict().items()})
    x = randn(np.random.default_rng(0), (2, c, 7, 6), np.float32)
    run_both(torch, fm, tm, [x])
    for (name, p), tp in zip(fm.named_parameters(), tm.parameters()):
        close(p.grad, tp.grad, f"gradient of {name}")


def test_conv2d_layer_init_uses_the_per_group_fan_in():
    """PyTorch's bound 1/sqrt(fan_in) with fan_in = C/groups*KH*KW = 2*9 (not 8*9): every
    weight and bias inside it, and the weights spread out to (nearly) reach it."""
    fastnn.manual_seed(0)
    conv = nn.Conv2d(8, 16, 3, groups=4)
    bound = 1 / np.sqrt(2 * 3 * 3)
    w, b = np.abs(conv.weight.numpy()), np.abs(conv.bias.numpy())
    assert w.max() <= bound and b.max() <= bound
    assert w.max() > 0.9 * bound


@pytest.mark.parametrize("args, message", [
    ((5, 4, 3, 1, 0, 1, 2), "in_channels must be divisible by groups"),
    ((4, 5, 3, 1, 0, 1, 2), "out_channels must be divisible by groups"),
    ((4, 4, 3, 1, 0, 1, 0), "groups must be a positive integer"),
])
def test_conv2d_layer_rejects_bad_groups(args, message):
    with pytest.raises(ValueError, match=message):
        nn.Conv2d(*args)


# --------------------------------------------------------------------------- max / avg pooling

#: (H, W, kernel, stride, padding, what ceil_mode does to the output)
CEIL_NAMED = {
    "extra-window-along-W": (7, 8, 3, 2, 0, "extra"),
    "extra-window-into-the-padding": (6, 6, 3, 2, 1, "extra"),
    "extra-window-nonsquare": (9, 6, (2, 3), (3, 2), (1, 0), "extra"),
    "extra-window-kernel-larger-than-input": (2, 2, 3, 2, 0, "extra"),
    "last-window-would-start-in-the-padding": (5, 5, 2, 2, 1, "dropped"),
    "nothing-left-over": (5, 6, 3, 1, 1, "same"),
}


def _pairs(*values):
    return [(v, v) if isinstance(v, int) else v for v in values]


def _ceil_effect(h, w, k, s, p, t_shape):
    """What ceil_mode did, judged from torch's output shape: "extra" (more windows than floor
    mode), "dropped" (the naive ceil formula's last window removed) or "same"."""
    floor_out, naive_ceil = [], []
    for size, kk, ss, pp in zip((h, w), *_pairs(k, s, p)):
        floor_out.append(max(out_size(size, kk, ss, pp), 0))
        naive_ceil.append(-(-(size + 2 * pp - kk) // ss) + 1)
    got = list(t_shape[-2:])
    if got > floor_out:
        return "extra"
    return "dropped" if naive_ceil > got else "same"


@on_every_backend
@in_both_dtypes
@pytest.mark.parametrize("name", sorted(CEIL_NAMED))
def test_max_pool2d_ceil_mode_and_indices(torch, backend, dtype, name):
    h, w, k, s, p, effect = CEIL_NAMED[name]
    x = distinct(np.random.default_rng(len(name)), (2, 3, h, w), dtype)
    with fastnn.use_backend(backend):
        t_out = run_both(torch, lambda x: F.max_pool2d(x, k, s, p, ceil_mode=True, return_indices=True),
                         lambda x: torch.nn.functional.max_pool2d(x, k, s, p, ceil_mode=True, return_indices=True),
                         [x])
    assert _ceil_effect(h, w, k, s, p, t_out.shape) == effect        # the case tests what its name says


@on_every_backend
@in_both_dtypes
@pytest.mark.parametrize("name", sorted(CEIL_NAMED))
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("divisor_override", [None, 3])
def test_avg_pool2d_ceil_mode_and_divisors(torch, backend, dtype, name, count_include_pad, divisor_override):
    h, w, k, s, p, effect = CEIL_NAMED[name]
    x = randn(np.random.default_rng(len(name)), (2, 3, h, w), dtype)
    kwargs = dict(ceil_mode=True, count_include_pad=count_include_pad, divisor_override=divisor_override)
    with fastnn.use_backend(backend):
        t_out = run_both(torch, lambda x: F.avg_pool2d(x, k, s, p, **kwargs),
                         lambda x: torch.nn.functional.avg_pool2d(x, k, s, p, **kwargs), [x])
    assert _ceil_effect(h, w, k, s, p, t_out.shape) == effect


@on_every_backend
@examples
@given(case=pool_cases(max_size=11), ceil_mode=st.booleans(), dtype=st.sampled_from(DTYPES), seed=seeds)
def test_max_pool2d_with_indices_matches_torch(backend, case, ceil_mode, dtype, seed):
    torch = require_torch()
    x = distinct(np.random.default_rng(seed), case.x_shape, dtype)
    kwargs = dict(case.kwargs, ceil_mode=ceil_mode, return_indices=True)
    with fastnn.use_backend(backend):
        run_both(torch, lambda x: F.max_pool2d(x, **kwargs), lambda x: torch.nn.functional.max_pool2d(x, **kwargs),
                 [x], seed)


@on_every_backend
@examples
@given(case=pool_cases(max_size=11), ceil_mode=st.booleans(), divisor_override=st.sampled_from([None, 1, 2, 5]),
       dtype=st.sampled_from(DTYPES), seed=seeds)
def test_avg_pool2d_matches_torch(backend, case, ceil_mode, divisor_override, dtype, seed):
    torch = require_torch()
    x = randn(np.random.default_rng(seed), case.x_shape, dtype)
    kwargs = dict(case.kwargs, ceil_mode=ceil_mode, count_include_pad=case.count_include_pad,
                  divisor_override=divisor_override)
    with fastnn.use_backend(backend):
        run_both(torch, lambda x: F.avg_pool2d(x, **kwargs), lambda x: torch.nn.functional.avg_pool2d(x, **kwargs),
                 [x], seed)


def test_max_pool2d_indices_of_windows_with_only_minus_infinity(torch):
    """A window whose input is all -inf reports its first input pixel (as PyTorch), never
    a position in the padding or in the rows appended for ceil_mode."""
    x = np.full((1, 1, 5, 5), -np.inf, dtype=np.float32)
    x[0, 0, 0, 0] = 1.0
    kwargs = dict(kernel_size=2, stride=2, padding=1, ceil_mode=True, return_indices=True)
    out, idx = F.max_pool2d(fastnn.tensor(x), **kwargs)
    t_out, t_idx = torch.nn.functional.max_pool2d(torch.tensor(x), **kwargs)
    np.testing.assert_array_equal(out.numpy(), t_out.numpy())
    np.testing.assert_array_equal(idx.numpy(), t_idx.numpy())


def test_pooling_unbatched_input(torch):
    rng = np.random.default_rng(4)
    x = distinct(rng, (3, 7, 6), np.float32)
    run_both(torch, lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True),
             lambda x: torch.nn.functional.max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True), [x])
    run_both(torch, lambda x: F.avg_pool2d(x, 2, ceil_mode=True, divisor_override=3),
             lambda x: torch.nn.functional.avg_pool2d(x, 2, ceil_mode=True, divisor_override=3), [x])


def test_pooling_gradcheck():
    rng = np.random.default_rng(6)
    x = fastnn.tensor(distinct(rng, (1, 2, 5, 6), np.float64), requires_grad=True)
    assert gradcheck(lambda x: F.max_pool2d(x, 2, ceil_mode=True, return_indices=True), [x])
    assert gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True), [x])
    assert gradcheck(lambda x: F.avg_pool2d(x, 2, 2, ceil_mode=True, count_include_pad=False,
                                            divisor_override=3), [x])


@pytest.mark.parametrize("call, error, message", [
    (lambda x: F.avg_pool2d(x, 2, divisor_override=0), ValueError, "divisor_override must be a nonzero int"),
    (lambda x: F.avg_pool2d(x, 2, divisor_override=1.5), ValueError, "divisor_override must be a nonzero int"),
    (lambda x: F.max_pool2d(x, 2, dilation=2), NotImplementedError, "dilation"),
    (lambda x: F.max_pool2d(x, 7, stride=1, ceil_mode=True), ValueError, "leaves no output"),
    (lambda x: F.avg_pool2d(x, 2, padding=2, ceil_mode=True), ValueError, "at most half of kernel_size"),
    (lambda x: F.max_pool2d(x[0, 0], 2), ValueError, r"expected input \(N, C, H, W\)"),
])
def test_pooling_rejects_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call(fastnn.randn(1, 1, 4, 4))


# ---- the layers

@pytest.mark.parametrize("layer, kwargs", [
    ("MaxPool2d", dict(kernel_size=3, stride=2, ceil_mode=True, return_indices=True)),
    ("MaxPool2d", dict(kernel_size=(2, 3), stride=2, padding=1, ceil_mode=True)),
    ("AvgPool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("AvgPool2d", dict(kernel_size=2, ceil_mode=True, count_include_pad=False, divisor_override=2)),
    ("AdaptiveMaxPool2d", dict(output_size=(3, None), return_indices=True)),
    ("AdaptiveMaxPool2d", dict(output_size=4)),
    ("AdaptiveAvgPool2d", dict(output_size=(None, 4))),
    ("AdaptiveAvgPool2d", dict(output_size=3)),
])
def test_pooling_layers_match_torch(torch, layer, kwargs):
    fm, tm = getattr(nn, layer)(**kwargs), getattr(torch.nn, layer)(**kwargs)
    assert repr(fm) == repr(tm)
    run_both(torch, fm, tm, [distinct(np.random.default_rng(0), (2, 3, 7, 9), np.float32)])


# --------------------------------------------------------------------------- adaptive pooling

ADAPTIVE_NAMED = {   # name: (input H, W, output_size)
    "7-to-3": (7, 7, 3),
    "5-to-2x4": (5, 5, (2, 4)),
    "10-to-None-x-3": (10, 10, (None, 3)),
    "6x9-to-4": (6, 9, 4),
    "3x2-to-5x7-upsampling": (3, 2, (5, 7)),
    "8-to-4-divisible": (8, 8, 4),
    "4x6-to-None-x-None": (4, 6, (None, None)),
    "9x5-to-1": (9, 5, 1),
}


@on_every_backend
@in_both_dtypes
@pytest.mark.parametrize("name", sorted(ADAPTIVE_NAMED))
def test_adaptive_avg_pool2d_matches_torch(torch, backend, dtype, name):
    h, w, size = ADAPTIVE_NAMED[name]
    x = randn(np.random.default_rng(len(name)), (2, 3, h, w), dtype)
    with fastnn.use_backend(backend):
        run_both(torch, lambda x: F.adaptive_avg_pool2d(x, size),
                 lambda x: torch.nn.functional.adaptive_avg_pool2d(x, size), [x])


@on_every_backend
@in_both_dtypes
@pytest.mark.parametrize("name", sorted(ADAPTIVE_NAMED))
def test_adaptive_max_pool2d_matches_torch(torch, backend, dtype, name):
    h, w, size = ADAPTIVE_NAMED[name]
    x = distinct(np.random.default_rng(len(name)), (2, 3, h, w), dtype)
    with fastnn.use_backend(backend):
        run_both(torch, lambda x: F.adaptive_max_pool2d(x, size, return_indices=True),
                 lambda x: torch.nn.functional.adaptive_max_pool2d(x, size, return_indices=True), [x])


adaptive_sizes = st.one_of(st.integers(1, 8), st.tuples(st.none() | st.integers(1, 8), st.none() | st.integers(1, 8)))


@examples
@given(h=st.integers(1, 12), w=st.integers(1, 12), size=adaptive_sizes, dtype=st.sampled_from(DTYPES), seed=seeds)
def test_adaptive_pooling_any_size_matches_torch(h, w, size, dtype, seed):
    torch = require_torch()
    rng = np.random.default_rng(seed)
    run_both(torch, lambda x: F.adaptive_avg_pool2d(x, size),
             lambda x: torch.nn.functional.adaptive_avg_pool2d(x, size), [randn(rng, (2, 2, h, w), dtype)], seed)
    run_both(torch, lambda x: F.adaptive_max_pool2d(x, size, return_indices=True),
             lambda x: torch.nn.functional.adaptive_max_pool2d(x, size, return_indices=True),
             [distinct(rng, (2, 2, h, w), dtype)], seed)


def test_adaptive_pooling_unbatched_input(torch):
    x = distinct(np.random.default_rng(7), (3, 7, 5), np.float32)
    run_both(torch, lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
             lambda x: torch.nn.functional.adaptive_avg_pool2d(x, (3, 2)), [x])
    run_both(torch, lambda x: F.adaptive_max_pool2d(x, (3, None), return_indices=True),
             lambda x: torch.nn.functional.adaptive_max_pool2d(x, (3, None), return_indices=True), [x])


def test_adaptive_pooling_gradcheck():
    x = fastnn.tensor(distinct(np.random.default_rng(8), (1, 2, 7, 5), np.float64), requires_grad=True)
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, (3, 2)), [x])
    assert gradcheck(lambda x: F.adaptive_max_pool2d(x, (3, 4)), [x])


@pytest.mark.parametrize("fn", [F.adaptive_avg_pool2d, F.adaptive_max_pool2d])
@pytest.mark.parametrize("shape, size, message", [
    ((1, 1, 4, 4), 0, "output_size must be >= 1"),
    ((1, 1, 4, 4), (2, 0), "output_size must be >= 1"),
    ((1, 1, 4, 4), "3", "output_size must be an int or a pair"),
    ((4, 4), 2, r"expected input \(N, C, H, W\) or unbatched"),
])
def test_adaptive_pooling_rejects_bad_arguments(fn, shape, size, message):
    with pytest.raises((ValueError, TypeError), match=message):
        fn(fastnn.randn(*shape), size)
