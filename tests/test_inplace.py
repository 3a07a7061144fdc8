"""In-place operations against PyTorch: ``+= -= *= /=``, the ``*_`` methods, ``x[i] = v``.

Each case is a small program written once, ``case(lib)``, that runs with ``lib`` being
``torch`` and then ``fastnn``; what it returns (values, gradients, versions, grad_fn names,
or the error it raised) must be the same. The rules under test are PyTorch's:

* an in-place operation changes the tensor itself: the same object, the same memory, new
  values, seen by every view of that memory (``x[0] += 1`` changes ``x``);
* every in-place change counts in the tensor's ``_version`` (shared with its views), and a
  backward that needs a value changed since it was saved raises "modified by an inplace
  operation" instead of returning a wrong gradient;
* with grad mode on, a leaf that requires grad (or a view of one) can't change in place --
  the optimizer's ``w -= lr * w.grad`` goes under ``no_grad()``, where it must change ``w``;
* in-place operations on results are differentiated (``h += y``, ``h[0] = y[0]``,
  ``h[h > 0] = 0``, ``h[:2].mul_(3)``), with PyTorch's gradients;
* the result of an in-place operation keeps the tensor's dtype and shape: an integer tensor
  can't take a float result, and ``x`` of shape (3,) can't take a (2, 3) result.

Known differences are tested as such, with the reason (see ``test_known_differences``).
"""
from __future__ import annotations

import numpy as np
import pytest

import fastnn

pytestmark = pytest.mark.torch


# =========================================================================== the harness

class Raised:
    """What a case returns when it raised: the exception's type and message, compared by
    type and by a phrase of PyTorch's message (fastnn says fastnn where torch says torch)."""

    def __init__(self, exc):
        self.type, self.message = type(exc), str(exc)

    def __repr__(self):
        return f"Raised({self.type.__name__}: {self.message[:120]})"


def _plain(value, lib):
    """A case's result in plain Python/NumPy, library names removed."""
    if isinstance(value, lib.Size):
        return ("size", tuple(value))
    if isinstance(value, lib.Tensor):
        return ("tensor", value.detach().numpy().copy(), str(value.dtype).split(".")[-1], tuple(value.shape))
    if isinstance(value, dict):
        return {k: _plain(v, lib) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v, lib) for v in value)
    if isinstance(value, str):
        return value.replace("torch::", "fastnn::")
    if hasattr(value, "name") and callable(value.name):        # a grad_fn
        return ("node", value.name().replace("torch::", "fastnn::"))
    return value


def run(lib, case):
    try:
        return _plain(case(lib), lib)
    except Exception as exc:    # noqa: BLE001 - the error is the result
        return Raised(exc)


def same(a, b, path="result", phrase=None):
    """Assert the torch result ``a`` and the fastnn result ``b`` agree."""
    if isinstance(a, Raised) or isinstance(b, Raised):
        assert isinstance(a, Raised) and isinstance(b, Raised), f"{path}: torch gave {a!r}, fastnn gave {b!r}"
        assert issubclass(b.type, a.type) or a.type is b.type, f"{path}: torch raised {a!r}, fastnn raised {b!r}"
        if phrase is not None:
            assert phrase in a.message and phrase in b.message, f"{path}: {phrase!r} not in both: {a!r} / {b!r}"
        return
    if isinstance(a, tuple) and a and a[0] == "tensor":
        assert isinstance(b, tuple) and b[0] == "tensor", f"{path}: torch gave a tensor, fastnn gave {b!r}"
        assert a[2:] == b[2:], f"{path}: dtype/shape torch {a[2:]} fastnn {b[2:]}"
        np.testing.assert_allclose(b[1], a[1], rtol=1e-5, atol=1e-6, err_msg=path)
        return
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{path}: keys {a.keys()} vs {b!r}"
        for k in a:
            same(a[k], b[k], f"{path}[{k!r}]")
        return
    if isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), f"{path}: torch {a!r} fastnn {b!r}"
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
        return
    assert a == b, f"{path}: torch gave {a!r}, fastnn gave {b!r}"


def check(torch, case, phrase=None):
    """Run ``case`` in both libraries and compare; returns fastnn's result."""
    expected, got = run(torch, case), run(fastnn, case)
    same(expected, got, phrase=phrase)
    return got


# =========================================================================== no autograd: the tensor changes

def test_augmented_assignment_changes_the_tensor_itself(torch):
    def case(lib):
        out = {}
        for op in ("+=", "-=", "*=", "/=", "**="):
            x = lib.tensor([1.0, 2.0, 4.0])
            before, ptr = x, x.data_ptr()
            loc = {"x": x}
            exec(f"x {op} 2", {}, loc)              # the statement itself, as a user writes it
            out[op] = (loc["x"] is before, loc["x"].data_ptr() == ptr, loc["x"], loc["x"]._version)
        return out
    got = check(torch, case)
    assert all(v[0] and v[1] for v in got.values())


def test_matmul_assignment_makes_a_new_tensor_as_in_torch(torch):
    """PyTorch has no in-place matmul: ``a @= b`` falls back to ``a = a @ b``."""
    def case(lib):
        a = lib.tensor([[1.0, 2.0], [3.0, 4.0]])
        b = lib.tensor([[0.0, 1.0], [1.0, 0.0]])
        first = a
        a @= b
        return a is first, a, first
    assert check(torch, case)[0] is False


@pytest.mark.parametrize("name, call", [
    ("add_", lambda L, x: x.add_(L.tensor([1.0, 2.0, 3.0]))),
    ("add_alpha", lambda L, x: x.add_(L.tensor([1.0, 2.0, 3.0]), alpha=-2)),
    ("sub_", lambda L, x: x.sub_(0.5)),
    ("sub_alpha", lambda L, x: x.sub_(L.tensor([1.0, 2.0, 3.0]), alpha=3)),
    ("mul_", lambda L, x: x.mul_(L.tensor([2.0, -1.0, 0.5]))),
    ("div_", lambda L, x: x.div_(4)),
    ("div_floor", lambda L, x: x.div_(0.7, rounding_mode="floor")),
    ("div_trunc", lambda L, x: x.div_(-0.7, rounding_mode="trunc")),
    ("pow_", lambda L, x: x.pow_(2)),
    ("zero_", lambda L, x: x.zero_()),
    ("fill_", lambda L, x: x.fill_(7.5)),
    ("fill_tensor", lambda L, x: x.fill_(L.tensor(3.0))),
    ("copy_", lambda L, x: x.copy_(L.tensor([9.0, 8.0, 7.0]))),
    ("copy_broadcast", lambda L, x: x.copy_(L.tensor(5.0))),
    ("copy_int_source", lambda L, x: x.copy_(L.tensor([1, 2, 3]))),
    ("clamp_", lambda L, x: x.clamp_(-0.5, 0.5)),
    ("clamp_min", lambda L, x: x.clamp_(min=0.0)),
    ("clamp_max", lambda L, x: x.clamp_(max=0.0)),
    ("clip_", lambda L, x: x.clip_(-1, 1)),
    ("exp_", lambda L, x: x.exp_()),
    ("abs_", lambda L, x: x.abs_()),
    ("neg_", lambda L, x: x.neg_()),
    ("sigmoid_", lambda L, x: x.sigmoid_()),
    ("tanh_", lambda L, x: x.tanh_()),
    ("relu_", lambda L, x: x.relu_()),
    ("sign_", lambda L, x: x.sign_()),
    ("floor_", lambda L, x: x.floor_()),
    ("masked_fill_", lambda L, x: x.masked_fill_(x > 0, -1.0)),
    ("addcmul_", lambda L, x: x.addcmul_(L.tensor([1.0, 2.0, 3.0]), L.tensor([2.0, 2.0, 2.0]), value=0.5)),
    ("addcdiv_", lambda L, x: x.addcdiv_(L.tensor([1.0, 2.0, 3.0]), L.tensor([2.0, 4.0, 8.0]), value=2)),
    ("lerp_", lambda L, x: x.lerp_(L.tensor([1.0, 1.0, 1.0]), 0.25)),
    ("maximum_", lambda L, x: x.maximum_(L.tensor([0.0, 0.0, 0.0])) if hasattr(x, "maximum_") else x.clamp_(min=0)),
    ("gt_", lambda L, x: x.gt_(0)),
])
def test_named_inplace_methods_match_torch(torch, name, call):
    def case(lib):
        x = lib.tensor([-1.5, 0.25, 2.0])
        first, ptr = x, x.data_ptr()
        out = call(lib, x)
        return out is first, x.data_ptr() == ptr, x, x._version
    got = check(torch, case)
    assert got[0] and got[1], "an in-place method returns the tensor itself, in the same memory"


def test_random_inplace_fills(torch):
    def case(lib):
        lib.manual_seed(0)
        x = lib.empty(20000)
        x.uniform_(-2, 3)
        u = (x.min().item() >= -2, x.max().item() < 3, round(x.mean().item(), 1))
        x.normal_(1.0, 2.0)
        n = (round(x.mean().item(), 1), round(x.std().item(), 1))
        x.bernoulli_(0.25)
        b = (sorted(set(x.tolist())), round(x.mean().item(), 1))
        return u, n, b, x._version
    check(torch, case)


def test_views_see_inplace_writes(torch):
    def case(lib):
        x = lib.zeros(2, 3)
        x[0] += 1                       # a view of row 0, changed, written back
        y = x.view(-1)
        y.add_(1)                       # through a view made by view()
        x.t()[2].mul_(10)               # through a transposed view: column 2
        x[:, 1].zero_()
        x[x > 5] = -1                   # a mask
        x[1, lib.tensor([0, 2])] = lib.tensor([7.0, 8.0])
        row = x[1]
        x.fill_(3)                      # the base changed: the earlier view sees it
        return x, y, row, x._version, y._version, row._version
    check(torch, case)


def test_version_counter_sequence(torch):
    def case(lib):
        a = lib.zeros(3)
        seq = [a._version]
        a.add_(1); seq.append(a._version)
        a[0] = 2; seq.append(a._version)
        a.zero_(); seq.append(a._version)
        a += 1; seq.append(a._version)
        a.mul_(2).add_(1); seq.append(a._version)
        b = a[1:]
        b.fill_(3); seq.append((a._version, b._version))
        a.copy_(lib.ones(3)); seq.append(a._version)
        a.uniform_(); seq.append(a._version)
        a.clamp_(0, 1); seq.append(a._version)
        c = a + 1                       # a new tensor: a counter of its own
        seq.append((c._version, a.detach()._version))
        a.detach().zero_(); seq.append(a._version)  # detach() shares the memory and the counter
        return seq
    check(torch, case)


@pytest.mark.parametrize("name, case", [
    ("int += float", lambda L: L.tensor([1, 2, 3]).__iadd__(1.5)),
    ("int.add_(float tensor)", lambda L: L.tensor([1, 2, 3]).add_(L.tensor([1.5]))),
    ("int /= 2", lambda L: L.tensor([1, 2, 3]).div_(2)),
    ("int *= float tensor", lambda L: L.tensor([1, 2, 3]).mul_(L.tensor([0.5, 0.5, 0.5]))),
    ("bool += 1", lambda L: L.tensor([True, False]).add_(1)),
    ("int.exp_()", lambda L: L.tensor([1, 2]).exp_()),
    ("float += int", lambda L: L.tensor([1.0, 2.0]).add_(L.tensor([1, 2]))),
    ("float32 += float64", lambda L: L.tensor([1.0, 2.0]).add_(L.tensor([0.5, 0.5], dtype=L.float64))),
    ("float64 *= float32", lambda L: L.tensor([1.0, 2.0], dtype=L.float64).mul_(L.tensor([0.5, 2.0]))),
    ("int += int", lambda L: L.tensor([1, 2]).add_(L.tensor([3, 4]))),
    ("int += bool", lambda L: L.tensor([1, 2]).add_(L.tensor([True, False]))),
    ("int //= 2", lambda L: L.tensor([5, -5]).floor_divide_(2)),
    ("uint8 += 1", lambda L: L.tensor([250, 3], dtype=L.uint8).add_(10)),
])
def test_inplace_dtype_rules(torch, name, case):
    """The result must fit the tensor's dtype: PyTorch refuses a float result in an integer
    tensor ("result type Float can't be cast to the desired output type Long")."""
    refused = name in ("int += float", "int.add_(float tensor)", "int /= 2", "int *= float tensor", "bool += 1",
                       "int.exp_()")
    got = check(torch, case, phrase="can't be cast to the desired output type" if refused else None)
    assert isinstance(got, Raised) == refused


@pytest.mark.parametrize("name, case", [
    ("(3,) += (2,3)", lambda L: L.zeros(3).add_(L.ones(2, 3))),
    ("(2,3) += (3,)", lambda L: L.zeros(2, 3).add_(L.ones(3))),
    ("(2,3) += (2,1)", lambda L: L.zeros(2, 3).add_(L.ones(2, 1))),
    ("(2,1) *= (2,3)", lambda L: L.zeros(2, 1).mul_(L.ones(2, 3))),
    ("(3,) copy_ (2,3)", lambda L: L.zeros(3).copy_(L.ones(2, 3))),
    ("setitem shape", lambda L: L.zeros(2, 3).__setitem__(0, L.ones(2))),
])
def test_inplace_broadcasting_rules(torch, name, case):
    """An in-place result broadcasts to the tensor's shape, never the other way round."""
    got = check(torch, case)
    assert isinstance(got, Raised) == (name in ("(3,) += (2,3)", "(2,1) *= (2,3)", "(3,) copy_ (2,3)",
                                                "setitem shape"))


def test_setitem_converts_the_value_like_copy(torch):
    def case(lib):
        i = lib.tensor([1, 2, 3])
        i[0] = 1.7                      # truncated, as copy_ does
        i[1:] = lib.tensor([4.9, -2.2])
        f = lib.tensor([1.0, 2.0])
        f[0] = lib.tensor(3, dtype=lib.float64)
        f[1] = True
        b = lib.tensor([True, False])
        b[0] = 0
        return i, f, b
    check(torch, case)


def test_writing_into_an_expanded_view_raises(torch):
    def case(lib):
        x = lib.zeros(3).expand(2, 3)
        x.add_(1)
    check(torch, case)


# =========================================================================== the optimizer's update

def test_sgd_update_under_no_grad_changes_w(torch):
    """The update of every hand-written training loop: it must change ``w`` itself."""
    def case(lib):
        w = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        (w * w).sum().backward()
        same_object, ptr = w, w.data_ptr()
        with lib.no_grad():
            w -= 0.1 * w.grad
        after = (w is same_object, w.data_ptr() == ptr, w.requires_grad, w.is_leaf, w.grad_fn, w._version)
        with lib.no_grad():
            w.sub_(w.grad, alpha=0.5)
            w.grad.zero_()
        return w, after, w._version, w.grad
    got = check(torch, case)
    assert got[1][:4] == (True, True, True, True)
    np.testing.assert_allclose(got[0][1], [1.0 * 0.8 - 1.0, -2.0 * 0.8 + 2.0, 3.0 * 0.8 - 3.0], rtol=1e-6)


def test_inplace_init_under_no_grad_is_allowed(torch):
    def case(lib):
        lib.manual_seed(0)
        w = lib.empty(4, 5, requires_grad=True)
        with lib.no_grad():
            w.uniform_(-0.1, 0.1)
            w[0] = 0
            w.mul_(2)
        return w[0], w.abs().max().item() <= 0.2, w.requires_grad, w.is_leaf, w._version
    check(torch, case)


def test_manual_linear_regression_trains_like_torch(torch):
    """``with no_grad(): w -= lr * w.grad`` in a loop: the loss trajectory is PyTorch's."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3)).astype(np.float32)
    Y = X @ np.array([[1.5], [-2.0], [0.5]], np.float32) + 0.3

    def case(lib):
        x, y = lib.tensor(X), lib.tensor(Y)
        w = lib.zeros(3, 1, requires_grad=True)
        b = lib.zeros(1, requires_grad=True)
        params, losses = (w, b), []
        for _ in range(60):
            loss = ((x @ w + b - y) ** 2).mean()
            losses.append(loss.item())
            loss.backward()
            with lib.no_grad():
                w -= 0.1 * w.grad
                b -= 0.1 * b.grad
                w.grad.zero_()
                b.grad.zero_()
        assert params[0] is w and params[1] is b
        return np.array(losses), w, b
    expected, got = run(torch, case), run(fastnn, case)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-4, atol=1e-6)
    same(expected[1:], got[1:])
    assert got[0][-1] < 1e-3 < got[0][0]


# =========================================================================== autograd refuses

@pytest.mark.parametrize("name, change", [
    ("add_", lambda L, w: w.add_(1)),
    ("+=", lambda L, w: w.__iadd__(1)),
    ("zero_", lambda L, w: w.zero_()),
    ("fill_", lambda L, w: w.fill_(1)),
    ("uniform_", lambda L, w: w.uniform_()),
    ("copy_", lambda L, w: w.copy_(L.ones(3))),
    ("setitem mask", lambda L, w: w.__setitem__(L.tensor([True, False, True]), 0.0)),
    ("t_", lambda L, w: w.unsqueeze_(0)),
])
def test_leaf_that_requires_grad_cannot_change_in_place(torch, name, change):
    def case(lib):
        w = lib.ones(3, requires_grad=True)
        change(lib, w)
    got = check(torch, case, phrase="a leaf Variable that requires grad is being used in an in-place operation")
    assert isinstance(got, Raised)


@pytest.mark.parametrize("name, change", [
    ("setitem", lambda L, w: w.__setitem__(0, 5.0)),
    ("slice add_", lambda L, w: w[1:].add_(1)),
    ("view mul_", lambda L, w: w.view(3, 1).mul_(2)),
])
def test_view_of_a_leaf_that_requires_grad_cannot_change_in_place(torch, name, change):
    def case(lib):
        w = lib.ones(3, requires_grad=True)
        change(lib, w)
    check(torch, case, phrase="a view of a leaf Variable that requires grad is being used in an in-place operation")


_MODIFIED = "modified by an inplace operation"


def _change_leaf_then_backward(lib, x, y):
    with lib.no_grad():
        x.add_(1)
    y.sum().backward()


def _backward_then_change_leaf(lib, x):
    (x * x).sum().backward()
    with lib.no_grad():
        x.sub_(x.grad)


@pytest.mark.parametrize("name, case", [
    ("exp output", lambda L, x: (lambda y: (y.add_(1), y.sum().backward()))(x.exp())),
    ("exp output, exp_ then add_", lambda L, x: (lambda h: (h.exp_(), h.add_(1), h.sum().backward()))(x * 1)),
    ("sigmoid output", lambda L, x: (lambda y: (y.mul_(2), y.sum().backward()))(x.sigmoid())),
    ("tanh output", lambda L, x: (lambda y: (y.mul_(2), y.sum().backward()))(x.tanh())),
    ("relu output", lambda L, x: (lambda y: (y.mul_(2), y.sum().backward()))(x.relu())),
    ("pow input", lambda L, x: (lambda h: (lambda y: (h.add_(1), y.sum().backward()))(h ** 2))(x * 1)),
    ("mul input that needs no grad", lambda L, x: (lambda a: (lambda z: (a.mul_(2), z.sum().backward()))(a * x))(
        L.tensor([5.0, 6.0, 7.0]))),
    ("mul input, both in graph", lambda L, x: (lambda a, b: (lambda z: (a.mul_(2), z.sum().backward()))(a * b))(
        x * 1, x * 2)),
    ("div denominator", lambda L, x: (lambda a: (lambda z: (a.add_(2), z.sum().backward()))(x / a))(
        L.tensor([5.0, 6.0, 7.0]))),
    ("matmul input", lambda L, x: (lambda m: (lambda z: (m.zero_(), z.sum().backward()))(m @ x))(L.ones(2, 3))),
    ("a leaf changed under no_grad", lambda L, x: _change_leaf_then_backward(L, x, x * x)),
    ("saved view of the input", lambda L, x: (lambda h: (lambda y: (h.add_(1), y.sum().backward()))(
        h.view(3, 1).exp() * h.view(3, 1)))(x * 1)),
    ("change through a view", lambda L, x: (lambda y: (y[0].mul_(2), y.sum().backward()))(x.exp())),
])
def test_backward_refuses_values_changed_since_saved(torch, name, case):
    """PyTorch's rule: a backward never runs on values that were overwritten after they were
    saved; it raises instead of returning a wrong gradient."""
    def program(lib):
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        case(lib, x)
        return x.grad
    got = check(torch, program, phrase=_MODIFIED)
    assert isinstance(got, Raised)


@pytest.mark.parametrize("name, case", [
    ("add input", lambda L, x: (lambda a: (lambda z: (a.mul_(2), z.sum().backward()))(a + x))(
        L.tensor([5.0, 6.0, 7.0]))),
    ("sum input", lambda L, x: (lambda h: (lambda y: (h.add_(1), y.backward()))(h.sum()))(x * 1)),
    ("neg input", lambda L, x: (lambda h: (lambda y: (h.zero_(), y.sum().backward()))(-h))(x * 1)),
    ("view then add", lambda L, x: (lambda h: (lambda y: (h.add_(1), y.sum().backward()))(h.view(3, 1) + 1))(x * 1)),
    ("in-place of the result itself", lambda L, x: (lambda h: (h.mul_(3), h.add_(1), h.sum().backward()))(x * 2)),
    ("changed under no_grad after backward", lambda L, x: _backward_then_change_leaf(L, x)),
])
def test_no_error_where_nothing_saved_was_changed(torch, name, case):
    def program(lib):
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        case(lib, x)
        return x, x.grad
    got = check(torch, program)
    assert not isinstance(got, Raised)


# =========================================================================== autograd through in-place ops

_GRAD_CASES = {
    "h += y": lambda L, x, y: (lambda h: (h.__iadd__(y), h)[1])(x * 2),
    "h -= y; h *= y; h /= 2": lambda L, x, y: (lambda h: (h.__isub__(y), h.__imul__(y), h.__itruediv__(2), h)[3])(x * 2),
    "add_ alpha": lambda L, x, y: (x * 1).add_(y, alpha=-3),
    "mul_ by itself": lambda L, x, y: (lambda h: h.mul_(y * 1))(x + 1),
    "pow_": lambda L, x, y: (x * 1).pow_(3),
    "exp_": lambda L, x, y: (x * 1).exp_(),
    "sigmoid_ tanh_": lambda L, x, y: (x * 1).sigmoid_().tanh_(),
    "clamp_": lambda L, x, y: (x * 3).clamp_(-1, 1),
    "relu_": lambda L, x, y: (x - 0.25).relu_(),
    "masked_fill_": lambda L, x, y: (lambda h: h.masked_fill_(h > 0.5, 0.0))(x * y),
    "copy_ from y": lambda L, x, y: (x * 1).copy_(y * 2),
    "copy_ broadcast": lambda L, x, y: (x * 1).copy_(y[:1]),
    "fill_ constant": lambda L, x, y: (x * 1).fill_(2.0) * x,
    "zero_ then add": lambda L, x, y: (x * 1).zero_().add_(y),
    "setitem int": lambda L, x, y: (lambda h: (h.__setitem__(0, y[0] * 3), h * h)[1])(x * 2),
    "setitem slice": lambda L, x, y: (lambda h: (h.__setitem__(slice(1, None), y[:2]), h * x)[1])(x * 2),
    "setitem mask": lambda L, x, y: (lambda h: (h.__setitem__(h > 0, 0.0), h * x)[1])(x * 2),
    "setitem mask value": lambda L, x, y: (lambda h: (h.__setitem__(h > 0, y[h > 0]), h * x)[1])(x * 2),
    "setitem index tensor": lambda L, x, y: (lambda h: (h.__setitem__(L.tensor([2, 0]), y[:2] * 2), h)[1])(x * 1),
    "setitem into a tensor without grad": lambda L, x, y: (lambda b: (b.__setitem__(slice(0, 2), x[1:] * y[1:]),
                                                                      b * 3)[1])(L.zeros(3)),
    "add_ into a tensor without grad": lambda L, x, y: L.zeros(3).add_(x).mul_(y),
    "slice mul_ (a view)": lambda L, x, y: (lambda h: (h[:2].mul_(3), h)[1])(x * 1),
    "slice *= (view, then setitem)": lambda L, x, y: (lambda h: (h[1:].__imul__(y[1:]), h * h)[1])(x * 1),
    "view add_": lambda L, x, y: (lambda h: (h.view(3, 1).add_(y.view(3, 1)), h.exp())[1])(x * 1),
    "view then base changes": lambda L, x, y: (lambda h: (lambda v: (h.mul_(y), v * v)[1])(h[:2]))(x * 1),
    "two views, one changes": lambda L, x, y: (lambda h: (lambda u, v: (u.mul_(y[0]), v * 1)[1])(h[0:2], h[1:3]))(
        x * 1),
    "view of a tensor without grad, changed": lambda L, x, y: (lambda b: (b[1:].add_(x[1:] * y[1:]), b.exp())[1])(
        L.zeros(3)),
    "transpose view changed": lambda L, x, y: (lambda m: (m.t()[0].mul_(y[:2]), m)[1])(x[:2].view(2, 1) * y.view(1, 3)),
    "used before the change": lambda L, x, y: (lambda h: (lambda z: (h.mul_(5), z + h)[1])(h + y))(x * 2),
    "t_ and unsqueeze_": lambda L, x, y: (x.view(3, 1) * y).t_().unsqueeze_(0) * y,
}


@pytest.mark.parametrize("name", list(_GRAD_CASES))
def test_gradients_through_inplace_ops_match_torch(torch, name):
    def case(lib):
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        y = lib.tensor([1.5, 0.25, -0.75], requires_grad=True)
        out = _GRAD_CASES[name](lib, x, y)
        weights = lib.tensor(np.linspace(0.5, 2.0, out.numel()).reshape(tuple(out.shape)).astype(np.float32))
        (out * weights).sum().backward()
        return out, x.grad, y.grad
    check(torch, case)


def test_gradient_of_a_tensor_changed_twice_through_views(torch):
    def case(lib):
        x = lib.tensor([[0.5, -1.0, 2.0], [1.0, 3.0, -2.0]], requires_grad=True)
        h = x * 1
        row = h[1]
        col = h[:, 0]
        row.mul_(2)                     # through one view
        col.add_(x[:, 2])               # then through another, overlapping at h[1, 0]
        h.t()[1].exp_()                 # then through a transposed view
        out = (h * h).sum() + row.sum() + col.sum()
        out.backward()
        return h, row, col, x.grad, h._version
    check(torch, case)


@pytest.mark.parametrize("name, program", [
    ("h += y", lambda L, h, y: h.__iadd__(y)),
    ("h.mul_(y)", lambda L, h, y: h.mul_(y)),
    ("h.exp_()", lambda L, h, y: h.exp_()),
    ("h.copy_(y)", lambda L, h, y: h.copy_(y)),
    ("h.fill_(2)", lambda L, h, y: h.fill_(2)),
    ("h.zero_()", lambda L, h, y: h.zero_()),
    ("h.normal_()", lambda L, h, y: h.normal_()),
    ("h.gt_(0)", lambda L, h, y: h.gt_(0)),
    ("h[0] = y.sum()", lambda L, h, y: h.__setitem__(0, y.sum())),
    ("h[0] = 5", lambda L, h, y: h.__setitem__(0, 5.0)),
    ("h[h > 0] = 0", lambda L, h, y: h.__setitem__(h > 0, 0.0)),
    ("h[idx] = y * 2", lambda L, h, y: h.__setitem__(L.tensor([0, 1, 2]), y * 2)),
])
def test_grad_fn_after_inplace_is_torchs(torch, name, program):
    def case(lib):
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        y = lib.tensor([1.5, 0.25, -0.75], requires_grad=True)
        h = x * 2
        program(lib, h, y)
        first = [None if f is None else f.name() for f, _ in h.grad_fn.next_functions]
        return h.grad_fn.name(), h.requires_grad, h.is_leaf, h._version, first, repr(h).split("grad_fn=")[1]
    check(torch, case)


def test_views_get_asstrided_grad_fn_after_their_base_changes(torch):
    def case(lib):
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        h = x * 2
        v = h[:2]
        before = v.grad_fn.name()
        h.mul_(3)
        return v, v.grad_fn.name(), v._version, h._version, v._base is h, before.startswith(("Slice", "GetItem"))
    expected, got = run(torch, case), run(fastnn, case)
    same(expected[:5], got[:5])
    assert got[5]


def test_base_without_grad_joins_the_graph_through_its_view(torch):
    def case(lib):
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        b = lib.zeros(3)
        v = b[:2]
        v.add_(x[:2])
        return b.requires_grad, b.grad_fn.name(), v.grad_fn.name(), b.is_leaf, b._version
    check(torch, case)


def test_retain_grad_follows_the_tensor_through_inplace(torch):
    def case(lib):
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        h = x * 2
        h.retain_grad()
        h.mul_(3)
        (h * h).sum().backward()
        return h.grad, h.retains_grad, x.grad
    check(torch, case)


def test_inplace_shape_methods(torch):
    def case(lib):
        x = lib.arange(6.0).view(2, 3)
        first = x
        x.t_()
        s1 = (x.shape, x.is_contiguous(), x._version)
        x.unsqueeze_(0)
        x.squeeze_()
        x.transpose_(0, 1)
        return x is first, s1, x, x._version
    check(torch, case)


# =========================================================================== known differences

def test_known_differences_from_torch():
    """Where fastnn and PyTorch differ on purpose, and why.

    1. ``fastnn.Tensor.numpy()`` on a tensor that requires grad gives its array (PyTorch asks
       for ``.detach().numpy()``); the array is the tensor's memory either way.
    2. Version checks are per saved *array*: an operation that saves an operand PyTorch does
       not save (fastnn's Mul keeps both factors even when one needs no gradient) refuses a
       change PyTorch would accept -- see ``test_mul_saves_only_what_torch_saves``.
    3. Where an in-place operation's own record needs the old values (``h.mul_(y)``), fastnn
       computes it on a private copy, as PyTorch keeps ``original_self``; an in-place
       activation that saved its output through a non-contiguous view keeps that output
       privately, so changing the tensor again afterwards gives the right gradient where
       PyTorch would raise.
    """
    x = fastnn.tensor([1.0, 2.0], requires_grad=True)
    assert x.numpy() is x.data


def test_mul_saves_only_what_torch_saves(torch):
    def case(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        h = x * 2
        z = h * 3
        h.mul_(5)
        z.sum().backward()
        return x.grad
    check(torch, case)


def test_hooks_registered_before_and_after_an_inplace_change(torch):
    """A hook registered before the change sees the gradient of the old value, one registered
    after sees the new value's (PyTorch's rule)."""
    def case(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        h = x * 2
        seen = []
        h.register_hook(lambda g: seen.append(("before", g.tolist())))
        h.mul_(3)
        h.register_hook(lambda g: seen.append(("after", g.tolist())))
        (h * h).sum().backward()
        return seen, x.grad
    check(torch, case)


def test_autograd_grad_through_inplace(torch):
    def case(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        h = x * 2
        h.add_(1)
        return lib.autograd.grad((h * h).sum(), [x, h])
    check(torch, case)


def test_optimizer_step_between_forward_and_backward_raises(torch):
    def case(lib):
        lib.manual_seed(0)
        m = lib.nn.Linear(2, 1)
        opt = lib.optim.SGD(m.parameters(), lr=0.1)
        x = lib.ones(3, 2, requires_grad=True)
        y = (m(x) ** 2).sum()
        y.backward(retain_graph=True)
        opt.step()
        y.backward()
    got = check(torch, case, phrase=_MODIFIED)
    assert isinstance(got, Raised)


def test_inplace_on_views_of_unusual_layouts(torch):
    """The view's place in its base is found whatever the layout: a transposed base, a
    NumPy-owned non-contiguous one, a view of a view."""
    def case(lib):
        arr = np.arange(12.0, dtype=np.float32).reshape(3, 4)
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        base = lib.from_numpy(np.ascontiguousarray(arr.T)).t()
        v = base[1, 1:3]
        v.mul_(x)
        (base * base).sum().backward()
        first = (x.grad.clone(), base.grad_fn.name(), v.grad_fn.name())
        x.grad = None
        h = (lib.arange(6.0).view(2, 3) * 1).t()
        h[1].add_(x[:1] * 3)
        h[1:][0, 1:].mul_(x[1])
        h.exp().sum().backward()
        return first, x.grad, h, h.grad_fn.name()
    check(torch, case)
