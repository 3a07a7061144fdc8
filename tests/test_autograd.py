"""The autograd engine: accumulation, retain_grad, graph freeing and retain_graph, deep
graphs without recursion, shared subexpressions, grad modes, detach, argument checks,
custom Functions, and gradcheck catching a wrong backward."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import fastnn
from fastnn import GradcheckError, gradcheck
from fastnn.autograd import Function


def leaf(values, dtype=fastnn.float32):
    return fastnn.tensor(values, dtype=dtype, requires_grad=True)


# =========================================================================== accumulation

def test_leaf_grad_accumulates_across_backward_calls():
    x = leaf([1.0, 2.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0, 12.0])
    x.grad = None
    (3 * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0, 3.0])


def test_grad_has_leaf_shape_and_dtype():
    x = leaf(np.ones((2, 3)), dtype=fastnn.float64)
    (x.sum(0) * 2).sum().backward()
    assert isinstance(x.grad, fastnn.Tensor)
    assert x.grad.shape == (2, 3) and x.grad.dtype == np.float64
    assert x.grad.requires_grad is False


def test_non_leaf_grad_is_none_unless_retained():
    x = leaf([1.0, 2.0])
    y = x * 3
    z = y * y
    z.sum().backward()
    assert y.grad is None
    assert z.grad is None
    np.testing.assert_allclose(x.grad.numpy(), [18.0, 36.0])   # d/dx 9x^2

    x2 = leaf([1.0, 2.0])
    y2 = x2 * 3
    y2.retain_grad()
    (y2 * y2).sum().backward()
    np.testing.assert_allclose(y2.grad.numpy(), [6.0, 12.0])   # 2y
    np.testing.assert_allclose(x2.grad.numpy(), [18.0, 36.0])


def test_retain_grad_on_root():
    x = leaf([1.0, 2.0])
    y = x * 2
    y.retain_grad()
    y.backward(fastnn.tensor([1.0, -1.0]))
    np.testing.assert_allclose(y.grad.numpy(), [1.0, -1.0])
    np.testing.assert_allclose(x.grad.numpy(), [2.0, -2.0])


# =========================================================================== graph lifetime

def test_second_backward_raises_mentioning_retain_graph():
    x = leaf([1.0, 2.0])
    z = (x.exp() * x).sum()
    z.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        z.backward()


def test_retain_graph_twice_doubles_grads():
    x = leaf([0.5, -1.0, 2.0])
    z = (x.exp() * x).sum()
    z.backward(retain_graph=True)
    once = x.grad.numpy().copy()
    expected = np.exp([0.5, -1.0, 2.0]) * (1 + np.array([0.5, -1.0, 2.0]))
    np.testing.assert_allclose(once, expected, rtol=1e-6)
    z.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), 2 * expected, rtol=1e-6)
    z.backward()                        # last one frees
    np.testing.assert_allclose(x.grad.numpy(), 3 * expected, rtol=1e-6)
    with pytest.raises(RuntimeError, match="retain_graph"):
        z.backward()


def test_long_chain_has_no_recursion_limit():
    x = leaf(1.0, dtype=fastnn.float64)
    y = x
    for _ in range(10_000):
        y = y * 1.0001 + 0.0
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 10_000, rel=1e-9)
    assert y.item() == pytest.approx(1.0001 ** 10_000, rel=1e-9)


def test_long_chain_of_distinct_nodes_float32():
    x = leaf([0.5, 1.5])
    y = x
    for i in range(3_000):
        y = (y + 1.0) - 1.0 if i % 2 else y * 1.0
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 3.0], rtol=1e-4)


def test_diamond_graph_accumulates():
    a = leaf([1.5, -2.0])
    b = a * 2            # a used twice, through two branches that meet again
    c = a.exp()
    d = b * c + a        # a used three times in all
    d.sum().backward()
    av = np.array([1.5, -2.0])
    expected = 2 * np.exp(av) + 2 * av * np.exp(av) + 1
    np.testing.assert_allclose(a.grad.numpy(), expected, rtol=1e-6)


def test_same_tensor_both_operands():
    a = leaf([3.0])
    (a * a * a).backward(fastnn.tensor([1.0]))
    np.testing.assert_allclose(a.grad.numpy(), [27.0])


# =========================================================================== grad modes

def test_no_grad_context():
    x = leaf([1.0, 2.0])
    assert fastnn.is_grad_enabled()
    with fastnn.no_grad():
        assert not fastnn.is_grad_enabled()
        y = x * 2
    assert y.requires_grad is False and y.grad_fn is None
    assert fastnn.is_grad_enabled()
    assert (x * 2).requires_grad


def test_no_grad_decorator():
    x = leaf([1.0, 2.0])

    @fastnn.no_grad()
    def double(t):
        assert not fastnn.is_grad_enabled()
        return t * 2

    assert double(x).requires_grad is False
    assert double(x).requires_grad is False      # reusable
    assert fastnn.is_grad_enabled()
    assert double.__name__ == "double"


def test_no_grad_nested_and_reused():
    outer = fastnn.no_grad()
    with outer:
        with fastnn.no_grad():
            assert not fastnn.is_grad_enabled()
        assert not fastnn.is_grad_enabled()
        with outer:                   # the same object entered twice
            assert not fastnn.is_grad_enabled()
        assert not fastnn.is_grad_enabled()
    assert fastnn.is_grad_enabled()


def test_no_grad_restores_on_exception():
    with pytest.raises(KeyError):
        with fastnn.no_grad():
            raise KeyError("boom")
    assert fastnn.is_grad_enabled()

    @fastnn.no_grad()
    def fails():
        raise ValueError("boom")

    with pytest.raises(ValueError):
        fails()
    assert fastnn.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = leaf([1.0])
    with fastnn.no_grad():
        with fastnn.enable_grad():
            assert fastnn.is_grad_enabled()
            y = x * 2
        assert not fastnn.is_grad_enabled()
        z = x * 2
    assert y.requires_grad and not z.requires_grad
    y.backward(fastnn.tensor([1.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0])

    @fastnn.enable_grad()
    def recording(t):
        return t * 3

    with fastnn.no_grad():
        assert recording(x).requires_grad
        assert not fastnn.is_grad_enabled()


def test_set_grad_enabled():
    x = leaf([1.0])
    with fastnn.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    with fastnn.set_grad_enabled(True):
        assert (x * 2).requires_grad


def test_grad_mode_is_per_thread():
    seen = []
    with fastnn.no_grad():
        t = threading.Thread(target=lambda: seen.append(fastnn.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


def test_detach_cuts_the_graph():
    x = leaf([1.0, 2.0])
    y = x * 3
    z = y.detach() * x          # only the direct x path carries gradient
    z.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 6.0])
    assert y.detach().requires_grad is False


def test_requires_grad_cannot_be_set_on_non_leaf():
    y = leaf([1.0]) * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False


# =========================================================================== bad calls

def test_backward_on_non_scalar_without_grad_raises():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="scalar"):
        (x * 2).backward()


def test_backward_with_wrong_grad_shape_raises():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of fastnn.Size\(\[3\]\) and output\[0\] has a shape of fastnn.Size\(\[2\]\)"):
        (x * 2).backward(fastnn.ones(3))


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        fastnn.tensor([1.0]).sum().backward()


def test_backward_with_explicit_grad():
    x = leaf([1.0, 2.0, 3.0])
    (x * x).backward(fastnn.tensor([1.0, 0.5, -1.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, -6.0])


# =========================================================================== custom Function

class ScaledCube(Function):
    """y = s * a^3 with a float ``s`` keyword; b is a second tensor input: y = s * a^3 * b."""
    seen_needs = None

    @staticmethod
    def forward(ctx, a, b, s=1.0):
        ctx.save_for_backward(a, b)
        ctx.s = s
        return s * a ** 3 * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ScaledCube.seen_needs = ctx.needs_input_grad
        ga = grad * ctx.s * 3 * a ** 2 * b if ctx.needs_input_grad[0] else None
        gb = grad * ctx.s * a ** 3 if ctx.needs_input_grad[1] else None
        return ga, gb


def test_custom_function():
    a = leaf([1.0, 2.0])
    b = fastnn.tensor([3.0, 4.0])
    y = ScaledCube.apply(a, b, s=0.5)
    assert y.grad_fn is not None and y.grad_fn.name() == "ScaledCubeBackward"
    np.testing.assert_allclose(y.detach().numpy(), [1.5, 16.0])
    y.sum().backward()
    assert ScaledCube.seen_needs == (True, False)
    np.testing.assert_allclose(a.grad.numpy(), [4.5, 24.0])
    assert b.grad is None


def test_custom_function_both_inputs_and_gradcheck():
    a = leaf([0.3, -1.2], dtype=fastnn.float64)
    b = leaf([2.0, 0.7], dtype=fastnn.float64)
    assert gradcheck(lambda x, y: ScaledCube.apply(x, y, s=1.5), [a, b])
    ScaledCube.apply(a, b).sum().backward()
    assert ScaledCube.seen_needs == (True, True)


def test_custom_function_under_no_grad_records_nothing():
    a = leaf([1.0])
    with fastnn.no_grad():
        y = ScaledCube.apply(a, fastnn.tensor([1.0]))
    assert y.requires_grad is False and y.grad_fn is None


def test_backward_returning_wrong_shape_is_reported():
    class Broken(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, grad):
            return grad[:1]

    with pytest.raises(RuntimeError, match="shape"):
        Broken.apply(leaf([1.0, 2.0])).sum().backward()


# =========================================================================== gradcheck catches bugs

class WrongSquare(Function):
    """Forward x^2, backward deliberately wrong in one element."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a * a

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        g = 2 * a * grad
        g.reshape(-1)[-1] *= 1.5           # only the gradient of the last element is wrong
        return g


def test_gradcheck_fails_on_wrong_backward():
    x = leaf([[0.5, -1.0], [1.5, 2.0]], dtype=fastnn.float64)
    with pytest.raises(GradcheckError, match=r"d out\[\(1, 1\)\] / d in\[\(1, 1\)\]"):
        gradcheck(lambda t: WrongSquare.apply(t), [x])


def test_gradcheck_fails_on_missing_factor():
    class HalfExp(Function):
        @staticmethod
        def forward(ctx, a):
            out = a.exp()
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx, grad):
            (out,) = ctx.saved_tensors
            return 0.5 * grad * out

    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(lambda t: HalfExp.apply(t), [leaf([0.1, 0.2], dtype=fastnn.float64)])


def test_gradcheck_passes_on_right_backward_and_needs_float64():
    x = leaf([0.5, -1.0], dtype=fastnn.float64)
    assert gradcheck(lambda t: t * t, [x])
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda t: t * t, [leaf([0.5, -1.0])])
    with pytest.raises(ValueError, match="requires grad"):
        gradcheck(lambda t: t * t, [fastnn.tensor([1.0], dtype=fastnn.float64)])


# =========================================================================== autograd.grad

def test_autograd_grad_matches_torch_and_leaves_dot_grad_alone(torch):
    values = [0.5, -1.0, 2.0]
    x = leaf(values)
    h = x * x
    y = (h * 3 + x).sum()
    gx, gh = fastnn.autograd.grad(y, [x, h])
    tx = torch.tensor(values, requires_grad=True)
    th = tx * tx
    ty = (th * 3 + tx).sum()
    ex, eh = torch.autograd.grad(ty, [tx, th])
    np.testing.assert_allclose(gx.numpy(), ex.numpy(), rtol=1e-6)
    np.testing.assert_allclose(gh.numpy(), eh.numpy(), rtol=1e-6)
    assert x.grad is None


def test_autograd_grad_unused_input():
    x, z = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="not have been used"):
        fastnn.autograd.grad((x * 2).sum(), [x, z], retain_graph=True)
    gx, gz = fastnn.autograd.grad((x * 2).sum(), [x, z], allow_unused=True)
    assert gz is None and gx.item() == 2.0
