"""ConvTranspose2d / ConvTranspose1d and their functions against PyTorch on shared weights
(stride, padding, output_padding, dilation, groups, bias, non-square kernels, output_size,
unbatched input), every backend, and gradcheck in float64."""
from __future__ import annotations

import zlib

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F
from parity_helpers import compare_outputs_and_grads, pair, rand, share_weights

CASES = [
    dict(in_channels=3, out_channels=4, kernel_size=3),
    dict(in_channels=3, out_channels=4, kernel_size=3, stride=2),
    dict(in_channels=3, out_channels=4, kernel_size=3, stride=2, padding=1, output_padding=1),
    dict(in_channels=2, out_channels=5, kernel_size=(2, 3), stride=(2, 1), padding=(0, 1)),
    dict(in_channels=2, out_channels=3, kernel_size=3, dilation=2, padding=2),
    dict(in_channels=4, out_channels=6, kernel_size=3, groups=2, stride=2, output_padding=1),
    dict(in_channels=4, out_channels=4, kernel_size=2, groups=4, bias=False),
    dict(in_channels=3, out_channels=2, kernel_size=4, stride=3, padding=1, output_padding=2),
    dict(in_channels=3, out_channels=2, kernel_size=3, stride=1, dilation=3, output_padding=2),   # op < dilation
    dict(in_channels=1, out_channels=2, kernel_size=5, stride=2, padding=3, bias=False),
]


def _pair(torch, kind, kwargs):
    fm, tm = getattr(nn, kind)(**kwargs), getattr(torch.nn, kind)(**kwargs)
    share_weights(torch, fm, tm)
    assert repr(fm) == repr(tm)
    return fm, tm


@pytest.mark.parametrize("kwargs", CASES, ids=str)
@pytest.mark.parametrize("backend", ["numpy", "numba", "cython"])
def test_conv_transpose2d_matches_torch(torch, kwargs, backend):
    if backend not in fastnn.available_backends():
        pytest.skip(f"{backend} backend not available")
    fm, tm = _pair(torch, "ConvTranspose2d", kwargs)
    rng = np.random.default_rng(zlib.crc32(str(kwargs).encode()))
    n, h, w = (int(v) for v in rng.integers(1, 5, size=3) + np.array([0, 2, 2]))
    fx, tx = pair(torch, rand(n, kwargs["in_channels"], h, w, seed=1))
    with fastnn.use_backend(backend):
        f_out = fm(fx)
    compare_outputs_and_grads(torch, f_out, tm(tx), [fx], [tx], fm, tm, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kwargs", [dict(in_channels=3, out_channels=4, kernel_size=3),
                                    dict(in_channels=4, out_channels=2, kernel_size=4, stride=3, padding=1,
                                         output_padding=2, dilation=2, groups=2)], ids=str)
def test_conv_transpose1d_matches_torch(torch, kwargs):
    fm, tm = _pair(torch, "ConvTranspose1d", kwargs)
    fx, tx = pair(torch, rand(2, kwargs["in_channels"], 7, seed=2))
    compare_outputs_and_grads(torch, fm(fx), tm(tx), [fx], [tx], fm, tm, rtol=1e-4, atol=1e-5)
    fu, tu = pair(torch, rand(kwargs["in_channels"], 5, seed=3))        # unbatched
    compare_outputs_and_grads(torch, fm(fu), tm(tu), [fu], [tu], rtol=1e-4, atol=1e-5)


def test_unbatched_and_output_size(torch):
    fm, tm = _pair(torch, "ConvTranspose2d", dict(in_channels=2, out_channels=3, kernel_size=3, stride=2,
                                                  padding=1))
    fx, tx = pair(torch, rand(2, 4, 5, seed=4))
    compare_outputs_and_grads(torch, fm(fx), tm(tx), [fx], [tx], fm, tm)
    for size in [(7, 9), (8, 10), [1, 3, 8, 9]]:
        fb, tb = pair(torch, rand(1, 2, 4, 5, seed=5))
        f_out, t_out = fm(fb, output_size=size), tm(tb, output_size=size)
        assert f_out.shape == tuple(t_out.shape)
        np.testing.assert_allclose(f_out.data, t_out.detach().numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="valid sizes"):
        fm(fastnn.randn(1, 2, 4, 5), output_size=(10, 10))


def test_functional_matches_torch_with_float_bias_and_grads(torch):
    fx, tx = pair(torch, rand(2, 4, 3, 5, seed=6))
    fw, tw = pair(torch, rand(4, 3, 2, 3, seed=7))
    fb, tb = pair(torch, rand(6, seed=8))
    f_out = F.conv_transpose2d(fx, fw, fb, stride=(2, 1), padding=(1, 0), output_padding=(1, 0), groups=2,
                               dilation=(1, 2))
    t_out = torch.nn.functional.conv_transpose2d(tx, tw, tb, stride=(2, 1), padding=(1, 0), output_padding=(1, 0),
                                                 groups=2, dilation=(1, 2))
    compare_outputs_and_grads(torch, f_out, t_out, [fx, fw, fb], [tx, tw, tb])


def test_is_the_adjoint_of_conv2d():
    """<conv2d(y, W), x> == <y, conv_transpose2d(x, W)> for every x, y."""
    rng = np.random.default_rng(0)
    W = fastnn.tensor(rng.standard_normal((3, 2, 3, 3)))
    y = fastnn.tensor(rng.standard_normal((2, 2, 7, 7)))
    x = fastnn.tensor(rng.standard_normal((2, 3, 4, 4)))
    lhs = (F.conv2d(y, W, stride=2, padding=1) * x).sum().item()
    rhs = (y * F.conv_transpose2d(x, W, stride=2, padding=1)).sum().item()
    assert abs(lhs - rhs) < 1e-9 * max(1.0, abs(lhs))


@pytest.mark.parametrize("kwargs", [dict(stride=2, padding=1, output_padding=1), dict(groups=2, dilation=2)],
                         ids=str)
def test_gradcheck_float64(kwargs):
    rng = np.random.default_rng(1)
    x = fastnn.tensor(rng.standard_normal((1, 2, 3, 3)), requires_grad=True)
    w = fastnn.tensor(rng.standard_normal((2, 2, 2, 3)), requires_grad=True)
    b = fastnn.tensor(rng.standard_normal((2 * kwargs.get("groups", 1),)), requires_grad=True)
    assert fastnn.gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, **kwargs), [x, w, b])


def test_errors_and_init(torch):
    with pytest.raises(RuntimeError, match="output padding must be smaller"):
        F.conv_transpose2d(fastnn.randn(1, 2, 3, 3), fastnn.randn(2, 2, 3, 3), output_padding=1)
    with pytest.raises(RuntimeError, match="input channels"):
        F.conv_transpose2d(fastnn.randn(1, 3, 3, 3), fastnn.randn(2, 2, 3, 3))
    with pytest.raises(ValueError, match="divisible"):
        nn.ConvTranspose2d(3, 4, 3, groups=2)
    m = nn.ConvTranspose2d(16, 8, 3)
    bound = 1 / np.sqrt(8 * 9)                        # fan_in = out_channels/groups * kernel area
    assert np.abs(m.weight.data).max() <= bound and np.abs(m.weight.data).max() > 0.9 * bound
    assert m.weight.shape == tuple(torch.nn.ConvTranspose2d(16, 8, 3).weight.shape)
