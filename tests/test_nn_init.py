"""``fastnn.nn.init`` and the default initialisation of every layer: the formulas are
PyTorch's (gains and fans compared with torch.nn.init itself), the distributions have the
bounds and spreads those formulas promise, and ``fastnn.manual_seed`` makes them
reproducible."""
from __future__ import annotations

import math

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
from fastnn.nn import init


@pytest.mark.parametrize("nonlinearity, param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                                 ("tanh", None), ("relu", None), ("leaky_relu", None),
                                                 ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)), ("selu", None)])
def test_calculate_gain_matches_pytorch(torch, nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(torch.nn.init.calculate_gain(nonlinearity, param))


def test_calculate_gain_rejects_unknown():
    with pytest.raises(ValueError):
        init.calculate_gain("swish")


@pytest.mark.parametrize("shape", [(5, 3), (8, 4, 3, 2), (2, 7, 5)])
def test_fans_match_pytorch(torch, shape):
    assert init._calculate_fan_in_and_fan_out(fastnn.zeros(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))


def test_fans_need_two_dims():
    with pytest.raises(ValueError):
        init._calculate_fan_in_and_fan_out(fastnn.zeros(3))


def _big(shape=(400, 300)):
    return nn.Parameter(fastnn.zeros(*shape))


@pytest.mark.parametrize("kwargs", [{}, {"a": math.sqrt(5)}, {"mode": "fan_out"}, {"nonlinearity": "relu"},
                                    {"a": 0.1, "mode": "fan_out", "nonlinearity": "leaky_relu"}])
def test_kaiming_uniform_bound(kwargs):
    w = _big((300, 200, 2))
    assert init.kaiming_uniform_(w, **kwargs) is w
    fan = 200 * 2 if kwargs.get("mode", "fan_in") == "fan_in" else 300 * 2
    bound = init.calculate_gain(kwargs.get("nonlinearity", "leaky_relu"), kwargs.get("a", 0)) * math.sqrt(3 / fan)
    assert np.abs(w.data).max() <= bound
    assert np.abs(w.data).max() > 0.99 * bound
    assert w.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    assert abs(w.data.mean()) < 0.01 * bound


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_kaiming_normal_std(mode):
    w = init.kaiming_normal_(_big(), mode=mode, nonlinearity="relu")
    fan = 300 if mode == "fan_in" else 400
    assert w.data.std() == pytest.approx(math.sqrt(2) / math.sqrt(fan), rel=0.02)


def test_xavier():
    w = init.xavier_uniform_(_big(), gain=2.0)
    a = 2.0 * math.sqrt(6 / 700)
    assert np.abs(w.data).max() <= a and np.abs(w.data).max() > 0.99 * a
    w = init.xavier_normal_(_big(), gain=0.5)
    assert w.data.std() == pytest.approx(0.5 * math.sqrt(2 / 700), rel=0.02)


def test_simple_fills_and_in_place():
    w = _big((10, 10))
    array = w.data
    assert init.uniform_(w, -2, 3) is w and w.data is array
    assert w.data.min() >= -2 and w.data.max() <= 3 and w.data.dtype == np.float32
    init.normal_(w, mean=5, std=0.01)
    assert abs(w.data.mean() - 5) < 0.01
    init.constant_(w, 0.25)
    assert (w.data == 0.25).all()
    init.zeros_(w)
    assert (w.data == 0).all()
    init.ones_(w)
    assert (w.data == 1).all()
    init.trunc_normal_(w, std=1.0, a=-0.5, b=0.5)
    assert w.data.min() >= -0.5 and w.data.max() <= 0.5


def test_generator_argument_and_manual_seed():
    a = init.normal_(_big((5, 5)), generator=np.random.default_rng(1)).data.copy()
    b = init.normal_(_big((5, 5)), generator=np.random.default_rng(1)).data.copy()
    np.testing.assert_array_equal(a, b)
    fastnn.manual_seed(11)
    m1 = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Linear(4, 2))
    fastnn.manual_seed(11)
    m2 = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Linear(4, 2))
    for k, v in m1.state_dict().items():
        np.testing.assert_array_equal(v, m2.state_dict()[k])
    m3 = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Linear(4, 2))
    assert not np.array_equal(m3.state_dict()["0.weight"], m1.state_dict()["0.weight"])


@pytest.mark.parametrize("make, fan_in", [(lambda: nn.Linear(500, 400), 500),
                                          (lambda: nn.Conv2d(32, 64, (3, 5)), 32 * 15)])
def test_default_init_of_linear_and_conv(torch, make, fan_in):
    """PyTorch's reset_parameters: kaiming_uniform_(a=sqrt(5)) -> U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    and the bias uniform in the same bound."""
    layer = make()
    bound = 1 / math.sqrt(fan_in)
    for p in (layer.weight, layer.bias):
        assert p.dtype == np.float32
        assert np.abs(p.data).max() <= bound
        assert np.abs(p.data).max() > (0.99 if p is layer.weight else 0.9) * bound
    assert layer.weight.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)
    # the same spread as PyTorch's own default layer
    tlayer = torch.nn.Linear(500, 400) if isinstance(layer, nn.Linear) else torch.nn.Conv2d(32, 64, (3, 5))
    assert layer.weight.data.std() == pytest.approx(float(tlayer.weight.detach().std()), rel=0.03)
    assert np.abs(layer.weight.data).max() == pytest.approx(float(tlayer.weight.detach().abs().max()), rel=0.01)


def test_default_init_of_batchnorm():
    bn = nn.BatchNorm2d(5)
    assert (bn.weight.data == 1).all() and (bn.bias.data == 0).all()
    assert (bn.running_mean.data == 0).all() and (bn.running_var.data == 1).all()
    assert bn.num_batches_tracked.dtype == np.int64 and bn.num_batches_tracked.item() == 0
