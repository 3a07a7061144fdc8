"""``fastnn.autograd.functional`` (jacobian, vjp, jvp) against ``torch.autograd.functional``:
values, shapes and tuple nesting for single and tuple inputs and outputs, zeros (or strict
errors) for inputs an output does not use, and the argument errors; hessian/hvp/vhp and
create_graph=True are refused (fastnn has no double backward)."""
from __future__ import annotations

import numpy as np
import pytest

import fastnn
from fastnn import autograd_functional as AF


def _rand(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


# each: (function of (lib, *inputs), input shapes)
FUNCS = {
    "elementwise": (lambda lib, x: x.exp() * x.sin(), [(4,)]),
    "matrix->vector": (lambda lib, x: (x.tanh() * x.sum(0)).sum(1), [(3, 2)]),
    "to scalar": (lambda lib, x: (x * x).sum().sqrt(), [(2, 3)]),
    "scalar in": (lambda lib, x: x * lib.tensor(np.arange(1.0, 4.0)), [()]),
    "matmul 2 in": (lambda lib, a, b: a @ b, [(2, 3), (3, 2)]),
    "2 in 2 out": (lambda lib, a, b: (a * b.sum(), (a.unsqueeze(1) * b).exp()), [(3,), (2,)]),
    "1 in 3 out": (lambda lib, x: (x.sum(), x.pow(3), x.reshape(2, 2).t()), [(4,)]),
    "unused input": (lambda lib, a, b: a * 2.0, [(2,), (3,)]),
    "softmax": (lambda lib, x: (x - x.amax(-1, keepdim=True)).exp()
                / (x - x.amax(-1, keepdim=True)).exp().sum(-1, keepdim=True), [(2, 3)]),
}


def _inputs(lib, shapes, tuple_form):
    arrays = [_rand(s, i) for i, s in enumerate(shapes)]
    ts = tuple(lib.tensor(a) for a in arrays)
    return ts if tuple_form or len(ts) > 1 else ts[0]


def _compare(a, b):
    """Same nesting (tuples), shapes and values."""
    if isinstance(b, tuple):
        assert isinstance(a, tuple) and len(a) == len(b)
        for x, y in zip(a, b):
            _compare(x, y)
        return
    assert isinstance(a, fastnn.Tensor)
    assert a.shape == tuple(b.shape)
    assert not a.requires_grad
    np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("tuple_form", [False, True])
@pytest.mark.parametrize("vectorize", [False, True])
@pytest.mark.parametrize("name", list(FUNCS))
def test_jacobian_matches_pytorch(torch, name, tuple_form, vectorize):
    fn, shapes = FUNCS[name]
    expected = torch.autograd.functional.jacobian(lambda *xs: fn(torch, *xs), _inputs(torch, shapes, tuple_form),
                                                  vectorize=vectorize)
    actual = AF.jacobian(lambda *xs: fn(fastnn, *xs), _inputs(fastnn, shapes, tuple_form), vectorize=vectorize)
    _compare(actual, expected)


def test_jacobian_forward_mode_strategy_and_exposed_name(torch):
    fn, shapes = FUNCS["2 in 2 out"]
    expected = torch.autograd.functional.jacobian(lambda *xs: fn(torch, *xs), _inputs(torch, shapes, True),
                                                  vectorize=True, strategy="forward-mode")
    expected = tuple(tuple(row) for row in expected)        # PyTorch's forward mode returns lists here
    actual = AF.jacobian(lambda *xs: fn(fastnn, *xs), _inputs(fastnn, shapes, True), vectorize=True,
                         strategy="forward-mode")
    _compare(actual, expected)
    assert fastnn.autograd.functional.jacobian is AF.jacobian


def test_jacobian_float32_and_inputs_untouched(torch):
    x = fastnn.tensor(_rand((3,), 0).astype(np.float32), requires_grad=True)
    J = AF.jacobian(lambda a: a.sigmoid() * 3, x)
    assert J.dtype == fastnn.float32 and J.shape == (3, 3)
    assert x.grad is None                                   # fresh leaves: the caller's tensor is left alone
    tx = torch.tensor(_rand((3,), 0).astype(np.float32))
    np.testing.assert_allclose(J.numpy(), torch.autograd.functional.jacobian(lambda a: a.sigmoid() * 3, tx).numpy(),
                               rtol=1e-6)


def test_output_independent_of_input_gives_zeros_and_strict_raises(torch):
    def const(lib):
        return lambda a, b: (a * 2.0, lib.ones(2))

    for lib, jac in ((torch, torch.autograd.functional.jacobian), (fastnn, AF.jacobian)):
        J = jac(const(lib), (lib.ones(2), lib.ones(3)))
        assert not J[0][1].numpy().any() and not J[1][0].numpy().any() and J[1][1].shape == (2, 3)
    cases = [lambda lib, jac: jac(lambda a, b: a * 2.0, (lib.ones(2), lib.ones(3)), strict=True),
             lambda lib, jac: jac(lambda a: lib.ones(2), lib.ones(2), strict=True),
             lambda lib, jac: jac(lambda a: a * 2, lib.ones(2), strict=True, vectorize=True)]
    for case in cases:
        with pytest.raises(RuntimeError) as expected:
            case(torch, torch.autograd.functional.jacobian)
        with pytest.raises(RuntimeError) as actual:
            case(fastnn, AF.jacobian)
        assert str(actual.value) == str(expected.value)


@pytest.mark.parametrize("name", ["elementwise", "matrix->vector", "matmul 2 in", "2 in 2 out", "1 in 3 out",
                                  "unused input", "to scalar"])
def test_vjp_matches_pytorch(torch, name):
    fn, shapes = FUNCS[name]
    t_in = _inputs(torch, shapes, False)
    out = fn(torch, *(t_in if isinstance(t_in, tuple) else (t_in,)))
    outs = out if isinstance(out, tuple) else (out,)
    vs = tuple(_rand(tuple(o.shape), 10 + i) for i, o in enumerate(outs))
    v_t = tuple(torch.tensor(v) for v in vs)
    v_f = tuple(fastnn.tensor(v) for v in vs)
    if not isinstance(out, tuple):
        v_t, v_f = v_t[0], v_f[0]
    expected = torch.autograd.functional.vjp(lambda *xs: fn(torch, *xs), t_in, v_t)
    actual = AF.vjp(lambda *xs: fn(fastnn, *xs), _inputs(fastnn, shapes, False), v_f)
    _compare(actual, expected)
    if name == "to scalar":                                 # v may be omitted for a one-element output
        _compare(AF.vjp(lambda x: fn(fastnn, x), _inputs(fastnn, shapes, False)),
                 torch.autograd.functional.vjp(lambda x: fn(torch, x), t_in))


@pytest.mark.parametrize("name", ["elementwise", "matrix->vector", "scalar in", "matmul 2 in", "2 in 2 out",
                                  "1 in 3 out", "unused input"])
def test_jvp_matches_pytorch(torch, name):
    fn, shapes = FUNCS[name]
    vs = tuple(_rand(s, 20 + i) for i, s in enumerate(shapes))
    v_t = tuple(torch.tensor(v) for v in vs)
    v_f = tuple(fastnn.tensor(v) for v in vs)
    if len(shapes) == 1:
        v_t, v_f = v_t[0], v_f[0]
    expected = torch.autograd.functional.jvp(lambda *xs: fn(torch, *xs), _inputs(torch, shapes, False), v_t)
    actual = AF.jvp(lambda *xs: fn(fastnn, *xs), _inputs(fastnn, shapes, False), v_f)
    _compare(actual, expected)
    if name == "scalar in":
        _compare(AF.jvp(lambda x: fn(fastnn, x), _inputs(fastnn, shapes, False)),
                 torch.autograd.functional.jvp(lambda x: fn(torch, x), _inputs(torch, shapes, False)))


ERRORS = [
    lambda lib, F: F.vjp(lambda a: a * 2, lib.ones(3)),                              # v needed
    lambda lib, F: F.vjp(lambda a: a * 2, lib.ones(3), (lib.ones(3), lib.ones(3))),  # one v, one output
    lambda lib, F: F.vjp(lambda a: (a, a), lib.ones(3), (lib.ones(3),)),             # tuple of wrong length
    lambda lib, F: F.vjp(lambda a: (a, a * 2), lib.ones(3), (lib.ones(3), lib.ones(2))),
    lambda lib, F: F.vjp(lambda a, b: a * 2, (lib.ones(2), lib.ones(2)), lib.ones(2), strict=True),
    lambda lib, F: F.jvp(lambda a: a * 2, lib.ones(3)),
    lambda lib, F: F.jvp(lambda a, b: a * 2, (lib.ones(2), lib.ones(2)), (lib.ones(2), lib.ones(2)), strict=True),
    lambda lib, F: F.jacobian(lambda a: a * 2, [lib.ones(3)]),                        # a list is not a tuple
    lambda lib, F: F.jacobian(lambda a: a * 2, (lib.ones(3), 2.0)),
    lambda lib, F: F.jacobian(lambda a: 3.0, lib.ones(3)),
    lambda lib, F: F.jacobian(lambda a: a * 2, lib.ones(3), strategy="sideways"),
    lambda lib, F: F.jacobian(lambda a: a * 2, lib.ones(3), strategy="forward-mode"),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_like_pytorch(torch, case):
    with pytest.raises(Exception) as expected:
        ERRORS[case](torch, torch.autograd.functional)
    with pytest.raises(type(expected.value)) as actual:
        ERRORS[case](fastnn, AF)
    if "Size" not in str(expected.value):                   # torch.Size([3]) / fastnn.Size([3]) otherwise
        assert str(actual.value).replace("fastnn", "torch") == str(expected.value)


def test_no_double_backward():
    x = fastnn.ones(2)
    for call in (lambda: AF.hessian(lambda a: a.pow(3).sum(), x), lambda: AF.hvp(lambda a: a.sum(), x, x),
                 lambda: AF.vhp(lambda a: a.sum(), x, x), lambda: AF.jacobian(lambda a: a * 2, x, create_graph=True),
                 lambda: AF.vjp(lambda a: a.sum(), x, create_graph=True)):
        with pytest.raises(NotImplementedError, match="double|differentiate through backward"):
            call()
