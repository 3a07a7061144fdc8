"""Every layer of ``fastnn.nn`` against PyTorch (the oracle): the same weights (copied via
the state dict, which also checks that the key names agree), the same input, the same
upstream gradient; outputs, input gradients and parameter gradients must match.

The ``torch`` fixture (tests/conftest.py) skips these tests without PyTorch, or fails
them when ``FASTNN_REQUIRE_TORCH=1``.
"""
from __future__ import annotations

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn

RTOL, ATOL = 1e-4, 1e-5


def close(actual, expected, rtol=RTOL, atol=ATOL, what=""):
    actual = actual.data if isinstance(actual, fastnn.Tensor) else np.asarray(actual)
    expected = expected.detach().numpy() if hasattr(expected, "detach") else np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


def copy_to_torch(torch, fm, tm):
    """Load fastnn's state dict into the torch module (strict: the key names must agree)."""
    sd = fm.state_dict()
    assert list(sd) == list(tm.state_dict()), "state_dict keys differ from PyTorch's"
    tm.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in sd.items()})


def run_both(torch, fm, tm, x, seed=0, train=True):
    """Forward + backward (random upstream gradient) in both libraries; compare output,
    input gradient and every parameter gradient."""
    copy_to_torch(torch, fm, tm)
    fm.train(train)
    tm.train(train)
    fx = fastnn.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    fy, ty = fm(fx), tm(tx)
    close(fy, ty, what="output")
    g = np.random.default_rng(seed).standard_normal(ty.shape).astype(np.float32)
    fy.backward(g)
    ty.backward(torch.from_numpy(g))
    close(fx.grad, tx.grad, what="input grad")
    tparams = dict(tm.named_parameters())
    names = [n for n, _ in fm.named_parameters()]
    assert names == list(tparams), "parameter names/order differ from PyTorch's"
    for name, p in fm.named_parameters():
        close(p.grad, tparams[name].grad, what=f"grad of {name}")
    return fy, ty


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ------------------------------------------------------------------ linear / conv

@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(4, 7), (2, 3, 7)])
def test_linear(torch, bias, shape):
    run_both(torch, nn.Linear(7, 5, bias=bias), torch.nn.Linear(7, 5, bias=bias), rand(*shape))


CONV_CASES = [
    dict(kernel_size=3),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 2), dilation=(2, 1)),
    dict(kernel_size=(2, 4), stride=2, padding=1, bias=False),
    dict(kernel_size=3, padding="same", dilation=2),
    dict(kernel_size=1, stride=3),
]


@pytest.mark.parametrize("kwargs", CONV_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_conv2d(torch, kwargs):
    fm, tm = nn.Conv2d(3, 4, **kwargs), torch.nn.Conv2d(3, 4, **kwargs)
    run_both(torch, fm, tm, rand(2, 3, 9, 8))


def test_conv2d_unbatched_input(torch):
    run_both(torch, nn.Conv2d(2, 3, 3, padding=1), torch.nn.Conv2d(2, 3, 3, padding=1), rand(2, 6, 5))


def test_conv2d_rejects_bad_options():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(5, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(4, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError):
        nn.Conv2d(4, 4, 3, stride=2, padding="same")


# ------------------------------------------------------------------ pooling / flatten

@pytest.mark.parametrize("args", [(2,), (3, 2, 1), ((2, 3),), ((3, 2), (1, 2))])
def test_max_pool2d(torch, args):
    fm, tm = nn.MaxPool2d(*args), torch.nn.MaxPool2d(*args)
    assert fm.stride == tm.stride
    run_both(torch, fm, tm, rand(2, 3, 8, 7))


@pytest.mark.parametrize("args, kwargs", [((2,), {}), ((3, 1, 1), {}), ((3, 2, 1), {"count_include_pad": False})])
def test_avg_pool2d(torch, args, kwargs):
    run_both(torch, nn.AvgPool2d(*args, **kwargs), torch.nn.AvgPool2d(*args, **kwargs), rand(2, 3, 8, 7))


@pytest.mark.parametrize("size", [1, (1, 1), (2, 3), (None, 2)])
def test_adaptive_avg_pool2d(torch, size):
    run_both(torch, nn.AdaptiveAvgPool2d(size), torch.nn.AdaptiveAvgPool2d(size), rand(2, 3, 4, 6))


@pytest.mark.parametrize("args", [(), (0,), (1, 2), (2, -1), (0, -2)])
def test_flatten(torch, args):
    run_both(torch, nn.Flatten(*args), torch.nn.Flatten(*args), rand(2, 3, 4, 5))


# ------------------------------------------------------------------ activations

@pytest.mark.parametrize("name, args", [("ReLU", ()), ("LeakyReLU", ()), ("LeakyReLU", (0.2,)), ("ELU", ()),
                                        ("ELU", (0.5,)), ("Sigmoid", ()), ("Tanh", ()), ("Softmax", (1,)),
                                        ("Softmax", (-1,)), ("LogSoftmax", (1,)), ("LogSoftmax", (0,)),
                                        ("Identity", ())])
def test_activations(torch, name, args):
    run_both(torch, getattr(nn, name)(*args), getattr(torch.nn, name)(*args), 3 * rand(4, 5, 3))


def test_softmax_without_dim_warns_and_matches_pytorch_legacy_choice(torch):
    x = rand(3, 4)
    with pytest.warns(UserWarning):
        fy = nn.Softmax()(fastnn.tensor(x))
    with pytest.warns(UserWarning):
        ty = torch.nn.Softmax()(torch.tensor(x))
    close(fy, ty)


# ------------------------------------------------------------------ dropout

def test_dropout_train_statistics_and_gradient():
    fastnn.manual_seed(0)
    p = 0.3
    x = fastnn.tensor(np.random.default_rng(1).uniform(1, 2, (200, 500)).astype(np.float32), requires_grad=True)
    layer = nn.Dropout(p)
    y = layer(x)
    zeros = y.data == 0
    # fraction of zeros ~ p (binomial std ~ 0.0014 here: 0.01 is about 7 sigma)
    assert abs(zeros.mean() - p) < 0.01
    np.testing.assert_allclose(y.data[~zeros], x.data[~zeros] / (1 - p), rtol=1e-6)
    assert abs(y.data.mean() - x.data.mean()) < 0.01 * x.data.mean()    # unbiased in expectation
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.where(zeros, 0, 1 / (1 - p)), rtol=1e-6)
    # a fresh mask every call
    assert (layer(x).data == 0).mean() > 0 and not np.array_equal(layer(x).data == 0, zeros)


def test_dropout_eval_is_identity_and_extreme_p():
    x = fastnn.randn(10, 10)
    layer = nn.Dropout(0.5).eval()
    np.testing.assert_array_equal(layer(x).data, x.data)
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).data, x.data)
    assert (nn.Dropout(1.0)(x).data == 0).all()
    with pytest.raises(ValueError):
        nn.Dropout(1.5)


def test_dropout_is_reproducible_with_manual_seed():
    x = fastnn.ones(50, 50)
    fastnn.manual_seed(7)
    a = nn.Dropout(0.5)(x).data
    fastnn.manual_seed(7)
    b = nn.Dropout(0.5)(x).data
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ batch norm

BN_CASES = [
    ("BatchNorm1d", (8, 4), {}),
    ("BatchNorm1d", (6, 4, 5), {"momentum": 0.3}),
    ("BatchNorm1d", (8, 4), {"momentum": None}),
    ("BatchNorm2d", (6, 4, 3, 5), {}),
    ("BatchNorm2d", (6, 4, 3, 5), {"momentum": None, "eps": 1e-3}),
    ("BatchNorm2d", (5, 4, 2, 3), {"affine": False}),
    ("BatchNorm2d", (5, 4, 2, 3), {"track_running_stats": False}),
]


@pytest.mark.parametrize("name, shape, kwargs", BN_CASES, ids=lambda v: str(v))
def test_batchnorm_train_steps_then_eval(torch, name, shape, kwargs):
    fm, tm = getattr(nn, name)(4, **kwargs), getattr(torch.nn, name)(4, **kwargs)
    if fm.weight is not None:       # non-trivial affine parameters
        fm.weight.data[...] = rand(4, seed=10) + 1
        fm.bias.data[...] = rand(4, seed=11)
    copy_to_torch(torch, fm, tm)
    for step in range(4):           # several training steps: running statistics accumulate
        x = (rand(*shape, seed=step) * (step + 1) + step).astype(np.float32)
        fm.zero_grad()
        tm.zero_grad()
        fx, tx = fastnn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        fy, ty = fm(fx), tm(tx)
        close(fy, ty, what=f"train output, step {step}")
        g = rand(*shape, seed=100 + step)
        fy.backward(g)
        ty.backward(torch.from_numpy(g))
        close(fx.grad, tx.grad, rtol=1e-3, atol=1e-4, what="input grad")
        for pname, p in fm.named_parameters():
            close(p.grad, dict(tm.named_parameters())[pname].grad, rtol=1e-3, atol=1e-4, what=pname)
        tsd = tm.state_dict()
        for key, value in fm.state_dict().items():
            close(value, tsd[key], rtol=1e-5, atol=1e-6, what=f"{key} after step {step}")
    if kwargs.get("track_running_stats", True):
        assert int(fm.num_batches_tracked.item()) == 4
        assert not np.allclose(fm.running_mean.data, 0)     # the statistics really moved
    fm.eval()
    tm.eval()
    x = rand(*shape, seed=50) * 3
    fx, tx = fastnn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    fy, ty = fm(fx), tm(tx)
    close(fy, ty, what="eval output")
    g = rand(*shape, seed=51)
    fy.backward(g)
    ty.backward(torch.from_numpy(g))
    close(fx.grad, tx.grad, rtol=1e-3, atol=1e-4, what="eval input grad")
    before = {k: v.copy() for k, v in fm.state_dict().items()}
    fm(fx)
    for k, v in fm.state_dict().items():        # eval never touches the running statistics
        np.testing.assert_array_equal(v, before[k])


def test_batchnorm_checks_input_dims():
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(fastnn.randn(2, 3))
    with pytest.raises(ValueError, match="2D or 3D"):
        nn.BatchNorm1d(3)(fastnn.randn(2, 3, 4, 5))


def test_batchnorm_keyword_only_bias_false(torch):
    fm, tm = nn.BatchNorm1d(3, bias=False), torch.nn.BatchNorm1d(3, bias=False)
    assert [n for n, _ in fm.named_parameters()] == ["weight"]
    run_both(torch, fm, tm, rand(5, 3))
    assert repr(fm) == repr(tm)


# ------------------------------------------------------------------ a small model end to end

def test_small_cnn_matches_pytorch(torch):
    def build(lib):
        return lib.Sequential(lib.Conv2d(1, 4, 3, padding=1), lib.BatchNorm2d(4), lib.ReLU(), lib.MaxPool2d(2),
                              lib.Conv2d(4, 6, 3), lib.LeakyReLU(0.1), lib.AdaptiveAvgPool2d(1), lib.Flatten(),
                              lib.Linear(6, 3))
    fm, tm = build(nn), build(torch.nn)
    run_both(torch, fm, tm, rand(4, 1, 10, 10))
    run_both(torch, fm, tm, rand(4, 1, 10, 10, seed=3), train=False)


def test_parameters_are_float32_and_dtype_argument():
    assert all(p.dtype == np.float32 for p in nn.Linear(3, 4).parameters())
    assert all(p.dtype == np.float64 for p in nn.Linear(3, 4, dtype=np.float64).parameters())
    with pytest.raises(RuntimeError, match="CPU"):
        nn.Linear(3, 4, device="cuda")
