"""``nn.functional`` functions and ``nn`` modules beyond the kernel-backed core, against
PyTorch: one op is one row, written once as ``lambda F, *args: F.op(...)`` and called with
``fastnn.nn.functional`` and with ``torch.nn.functional`` (so the call itself checks PyTorch's
names, argument order and keywords). Each row is checked

* against torch in float32: the forward value and the gradient of every differentiable input;
* by finite differences (``fastnn.gradcheck``) in float64.

Inputs are random; specs make them broadcast, non-contiguous (``strided``: a view with a step
of 2 along the last axis) or keep them away from the kinks of piecewise functions.
Modules are checked the same way (parameters copied from torch's twin), and by their repr.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F
from fastnn import gradcheck

pytestmark = pytest.mark.torch
RTOL, ATOL = 1e-4, 1e-5


# --------------------------------------------------------------------------- input specs

@dataclass
class Spec:
    """One argument. kind: normal | distinct | unit | prob | fixed (normal, not differentiated) |
    int | const. ``kinks``: values the entries
    keep 0.05 away from (piecewise functions); ``strided``: the argument is a view ``[..., ::2]``
    of a leaf twice as wide; ``dim``: the axis a ``prob`` argument sums to one along."""
    kind: str
    shape: tuple = ()
    scale: float = 1.0
    kinks: tuple = ()
    strided: bool = False
    value: object = None
    high: int = 0
    dim: int = -1

    @property
    def differentiable(self):
        return self.kind in ("normal", "distinct", "unit", "prob")

    def array(self, rng, dtype):
        shape = self.shape[:-1] + (2 * self.shape[-1],) if self.strided else self.shape
        if self.kind in ("normal", "fixed"):
            a = np.array(rng.standard_normal(shape) * self.scale)
            for p in self.kinks:
                near = np.abs(a - p) < 0.05
                a[near] = p + np.where(a[near] >= p, 0.1, -0.1)
        elif self.kind == "distinct":       # pairwise >= 0.05 apart: no max-pool ties
            n = int(np.prod(shape))
            a = ((rng.permutation(n) - n / 2) * 0.05).reshape(shape)
        elif self.kind == "unit":
            a = rng.uniform(0.05, 0.95, shape)
        elif self.kind == "prob":
            e = np.exp(rng.standard_normal(shape))
            a = e / e.sum(axis=self.dim, keepdims=True)
        elif self.kind == "int":
            return (np.asarray(self.value) if self.value is not None
                    else rng.integers(0, self.high, shape)).astype(np.int64)
        elif self.kind == "const":
            return np.asarray(self.value, dtype=dtype)
        else:
            raise ValueError(self.kind)
        return a.astype(dtype)

    def view(self, t):
        return t[..., ::2] if self.strided else t


def N(*shape, scale=1.0, kinks=(), strided=False):
    return Spec("normal", shape, scale=scale, kinks=kinks, strided=strided)


def D(*shape, strided=False):
    return Spec("distinct", shape, strided=strided)


def X(*shape):
    """Random, but a constant: not differentiated."""
    return Spec("fixed", shape)


def U(*shape):
    return Spec("unit", shape)


def P(*shape, dim=-1):
    return Spec("prob", shape, dim=dim)


def I(*shape, high=0, value=None):  # noqa: E743
    return Spec("int", shape, high=high, value=value)


def C(value):
    return Spec("const", value=value)


@dataclass
class Row:
    call: object                    # lambda F, *inputs: F.op(*inputs, ...)
    inputs: list
    gradcheck: bool = True          # False: no float64 finite-difference check
    atol: float = ATOL
    kwargs: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- the rows

FUNCTIONS = {
    # activations
    "gelu": Row(lambda F, x: F.gelu(x), [N(3, 5, scale=3)]),
    "gelu-tanh": Row(lambda F, x: F.gelu(x, approximate="tanh"), [N(3, 5, scale=3)]),
    "gelu-strided": Row(lambda F, x: F.gelu(x), [N(2, 3, 4, strided=True)]),
    "silu": Row(lambda F, x: F.silu(x), [N(4, 6, scale=4)]),
    "silu-0d": Row(lambda F, x: F.silu(x), [N()]),
    "softplus": Row(lambda F, x: F.softplus(x), [N(4, 6, scale=4)]),
    "softplus-beta-threshold": Row(lambda F, x: F.softplus(x, 2.0, 3.0), [N(4, 6, scale=4, kinks=(1.5,))]),
    "softplus-large": Row(lambda F, x: F.softplus(x, beta=0.5), [N(3, 4, scale=60)]),
    "mish": Row(lambda F, x: F.mish(x), [N(4, 6, scale=4)]),
    "hardtanh": Row(lambda F, x: F.hardtanh(x), [N(4, 6, scale=2, kinks=(-1, 1))]),
    "hardtanh-bounds": Row(lambda F, x: F.hardtanh(x, -0.5, 2.0), [N(4, 6, scale=2, kinks=(-0.5, 2))]),
    "relu6": Row(lambda F, x: F.relu6(x), [N(4, 6, scale=5, kinks=(0, 6))]),
    "selu": Row(lambda F, x: F.selu(x), [N(4, 6, scale=2, kinks=(0,))]),
    "celu": Row(lambda F, x: F.celu(x), [N(4, 6, scale=2, kinks=(0,))]),
    "celu-alpha": Row(lambda F, x: F.celu(x, alpha=0.5), [N(4, 6, scale=2, kinks=(0,), strided=True)]),
    "softsign": Row(lambda F, x: F.softsign(x), [N(4, 6, scale=2, kinks=(0,))]),
    "hardswish": Row(lambda F, x: F.hardswish(x), [N(4, 6, scale=4, kinks=(-3, 3))]),
    "hardsigmoid": Row(lambda F, x: F.hardsigmoid(x), [N(4, 6, scale=4, kinks=(-3, 3))]),
    "logsigmoid": Row(lambda F, x: F.logsigmoid(x), [N(4, 6, scale=10)]),
    "hardshrink": Row(lambda F, x: F.hardshrink(x), [N(4, 6, kinks=(-0.5, 0.5))]),
    "hardshrink-lambd": Row(lambda F, x: F.hardshrink(x, 1.5), [N(4, 6, scale=2, kinks=(-1.5, 1.5))]),
    "softshrink": Row(lambda F, x: F.softshrink(x, 0.3), [N(4, 6, kinks=(-0.3, 0.3))]),
    "tanhshrink": Row(lambda F, x: F.tanhshrink(x), [N(4, 6)]),
    "threshold": Row(lambda F, x: F.threshold(x, 0.2, -3.0), [N(4, 6, kinks=(0.2,))]),
    "softmin": Row(lambda F, x: F.softmin(x, dim=1), [N(2, 3, 4)]),
    "softmin-last-strided": Row(lambda F, x: F.softmin(x, -1), [N(3, 5, strided=True)]),
    "softmax-dtype": Row(lambda F, x: F.softmax(x, 0, dtype=fastnn.float64 if F is _F else _torch().float64)
                         .float(), [N(3, 4)], gradcheck=False),
    "glu": Row(lambda F, x: F.glu(x), [N(3, 6)]),
    "glu-dim": Row(lambda F, x: F.glu(x, dim=1), [N(2, 4, 3)]),
    "prelu-shared": Row(lambda F, x, w: F.prelu(x, w), [N(2, 3, 4, kinks=(0,)), N(1)]),
    "prelu-channels": Row(lambda F, x, w: F.prelu(x, w), [N(2, 3, 4, 5, kinks=(0,)), N(3)]),
    "prelu-1d": Row(lambda F, x, w: F.prelu(x, w), [N(5, kinks=(0,)), N(1)]),
    "prelu-0d": Row(lambda F, x, w: F.prelu(x, w), [N(kinks=(0,)), N(1)]),
}

_F = F


def _torch():
    import torch
    return torch


# --------------------------------------------------------------------------- running a row

def _close(actual, expected, what, atol=ATOL):
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != torch's {expected.shape}"
    atol = atol * max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=atol, err_msg=what)


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def compare_with_torch(torch, row: Row, seed: int):
    rng = np.random.default_rng(seed)
    arrays = [s.array(rng, np.float32) for s in row.inputs]
    f_leaves = [fastnn.tensor(a, requires_grad=s.differentiable) for a, s in zip(arrays, row.inputs)]
    t_leaves = [torch.tensor(a, requires_grad=s.differentiable) for a, s in zip(arrays, row.inputs)]
    f_out = _outputs(row.call(F, *[s.view(t) for s, t in zip(row.inputs, f_leaves)]))
    t_out = _outputs(row.call(torch.nn.functional, *[s.view(t) for s, t in zip(row.inputs, t_leaves)]))
    assert len(f_out) == len(t_out)
    for f, t in zip(f_out, t_out):
        assert f.dtype == np.dtype(str(t.dtype).replace("torch.", "")), (f.dtype, t.dtype)
        _close(f.numpy(), t.detach().numpy(), "forward", row.atol)
    if not t_out[0].requires_grad:        # nothing to differentiate (parameters count too)
        assert not f_out[0].requires_grad
        return
    upstream = rng.standard_normal(t_out[0].shape).astype(np.float32)
    f_out[0].backward(fastnn.tensor(upstream))
    t_out[0].backward(torch.tensor(upstream))
    for i, s in enumerate(row.inputs):
        if s.differentiable:
            assert f_leaves[i].grad is not None, f"no gradient for argument {i}"
            assert f_leaves[i].grad.dtype == np.float32
            _close(f_leaves[i].grad.numpy(), t_leaves[i].grad.numpy(), f"gradient of argument {i}", row.atol)


def check_gradients(row: Row, seed: int):
    rng = np.random.default_rng(seed)
    leaves = [fastnn.tensor(s.array(rng, np.float64), dtype=None if s.kind == "int" else fastnn.float64,
                            requires_grad=s.differentiable) for s in row.inputs]

    def fn(*args):
        return row.call(F, *[s.view(t) for s, t in zip(row.inputs, args)])
    assert gradcheck(fn, leaves)


def _seed(name):
    return zlib.crc32(name.encode())


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_matches_torch(torch, name):
    compare_with_torch(torch, FUNCTIONS[name], _seed(name))


@pytest.mark.parametrize("name", sorted(n for n, r in FUNCTIONS.items()
                                        if r.gradcheck and any(s.differentiable for s in r.inputs)))
def test_function_gradcheck(name):
    check_gradients(FUNCTIONS[name], _seed(name))


# --------------------------------------------------------------------------- modules

# name -> (lambda nn: module, input specs); the same constructor call builds both twins
MODULES = {
    "GELU": (lambda nn: nn.GELU(), [N(3, 4)]),
    "GELU-tanh": (lambda nn: nn.GELU("tanh"), [N(3, 4)]),
    "SiLU": (lambda nn: nn.SiLU(), [N(3, 4)]),
    "Softplus": (lambda nn: nn.Softplus(beta=2, threshold=10), [N(3, 4)]),
    "Mish": (lambda nn: nn.Mish(), [N(3, 4)]),
    "Hardtanh": (lambda nn: nn.Hardtanh(-2.0, 2.0), [N(3, 4, scale=3)]),
    "ReLU6": (lambda nn: nn.ReLU6(), [N(3, 4, scale=5)]),
    "SELU": (lambda nn: nn.SELU(), [N(3, 4)]),
    "CELU": (lambda nn: nn.CELU(0.7), [N(3, 4)]),
    "Softsign": (lambda nn: nn.Softsign(), [N(3, 4)]),
    "LogSigmoid": (lambda nn: nn.LogSigmoid(), [N(3, 4)]),
    "Softmin": (lambda nn: nn.Softmin(dim=1), [N(3, 4)]),
    "Softmax2d": (lambda nn: nn.Softmax2d(), [N(2, 3, 4, 2)]),
    "PReLU": (lambda nn: nn.PReLU(), [N(2, 3, 4)]),
    "PReLU-channels": (lambda nn: nn.PReLU(3, init=0.1), [N(2, 3, 4)]),
    "Hardswish": (lambda nn: nn.Hardswish(), [N(3, 4, scale=4)]),
    "Hardsigmoid": (lambda nn: nn.Hardsigmoid(), [N(3, 4, scale=4)]),
    "GLU": (lambda nn: nn.GLU(dim=0), [N(4, 3)]),
    "Hardshrink": (lambda nn: nn.Hardshrink(0.3), [N(3, 4)]),
    "Softshrink": (lambda nn: nn.Softshrink(), [N(3, 4)]),
    "Tanhshrink": (lambda nn: nn.Tanhshrink(), [N(3, 4)]),
    "Threshold": (lambda nn: nn.Threshold(0.1, 20.0), [N(3, 4)]),
}

# reprs only (torch's in-place layers cannot take a leaf that requires grad)
REPRS = [lambda nn: nn.ReLU6(inplace=True), lambda nn: nn.Threshold(0.1, 20, True), lambda nn: nn.SiLU(True),
         lambda nn: nn.Hardtanh(inplace=True), lambda nn: nn.CELU(inplace=True), lambda nn: nn.Mish(inplace=True),
         lambda nn: nn.SELU(inplace=True), lambda nn: nn.Hardswish(True), lambda nn: nn.Hardsigmoid(True)]


def _copy_parameters(f_module, t_module):
    """torch's initial values into fastnn's twin, by name (their inits draw different numbers)."""
    t_state = t_module.state_dict()
    f_state = dict(f_module.named_parameters())
    f_state.update((k, v) for k, v in f_module.named_buffers() if v is not None)
    assert sorted(f_state) == sorted(t_state)
    for key, value in t_state.items():
        assert tuple(f_state[key].shape) == tuple(value.shape), key
        f_state[key].data[...] = value.numpy()


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_matches_torch(torch, name):
    make, specs = MODULES[name]
    f_module, t_module = make(nn), make(torch.nn)
    assert repr(f_module) == repr(t_module)
    _copy_parameters(f_module, t_module)
    row = Row(lambda F, *x: (f_module if F is _F else t_module)(*x), specs)
    compare_with_torch(torch, row, _seed(name))
    for (key, f_param), (_, t_param) in zip(sorted(f_module.named_parameters()), sorted(t_module.named_parameters())):
        _close(f_param.grad.numpy(), t_param.grad.numpy(), f"gradient of {key}")


@pytest.mark.parametrize("make", REPRS)
def test_module_repr_matches_torch(torch, make):
    assert repr(make(nn)) == repr(make(torch.nn))


# --------------------------------------------------------------------------- argument errors

@pytest.mark.parametrize("call, error, match", [
    (lambda: F.gelu(fastnn.zeros(2), approximate="erf"), ValueError, "none or tanh"),
    (lambda: F.hardtanh(fastnn.zeros(2), 1.0, -1.0), ValueError, "min_val cannot be greater than max_val"),
    (lambda: nn.Hardtanh(1.0, 1.0), ValueError, "must be greater than min_val"),
    (lambda: F.celu(fastnn.zeros(2), alpha=0.0), ValueError, "alpha cannot be 0"),
    (lambda: F.softshrink(fastnn.zeros(2), -1.0), ValueError, "lambd"),
    (lambda: F.glu(fastnn.zeros(3)), ValueError, "dimension 0 is size 3"),
    (lambda: F.glu(fastnn.zeros(())), ValueError, "scalars"),
    (lambda: F.glu(fastnn.zeros(2, 4), dim=2), IndexError, "dim 2"),
    (lambda: F.prelu(fastnn.zeros(2, 3), fastnn.ones(2)), ValueError, "parameter numbers = 2 and channel size = 3"),
    (lambda: F.prelu(fastnn.zeros(3), fastnn.ones(3)), ValueError, "channel size = 1"),
    (lambda: F.softmin(fastnn.zeros(2, 3)), TypeError, "dim"),
    (lambda: nn.Softmax2d()(fastnn.zeros(2, 3)), ValueError, "3D or 4D"),
])
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_hardtanh_deprecated_keywords(torch):
    with pytest.warns(FutureWarning, match="min_val"):
        layer = nn.Hardtanh(min_value=-3.0)
    assert (layer.min_val, layer.max_val) == (-3.0, 1.0)


def test_softmin_module_without_dim_warns_and_picks_torchs_dim(torch):
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = nn.Softmin()(fastnn.tensor(x))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        expected = torch.nn.Softmin()(torch.tensor(x))
    _close(out.numpy(), expected.numpy(), "softmin")

