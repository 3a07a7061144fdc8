"""Hooks: ``Tensor.register_hook`` (run by the autograd engine, on leaves and results) and
the Module hooks (forward pre-hooks, forward hooks, full backward hooks), each scenario
written once for a library ``lib`` and run in both fastnn and PyTorch, whose answers
(gradients, outputs, which hook saw what, in which order) must agree."""
from __future__ import annotations

import numpy as np
import pytest

import fastnn


@pytest.fixture
def libs(torch):
    return fastnn, torch


def arr(t):
    """A Tensor of either library (or None) as a NumPy array (or None)."""
    return None if t is None else np.array(t.detach().numpy())


def assert_same(a, b, what=""):
    """Nested lists/tuples of arrays (or None, or plain values) are equal."""
    if isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), f"{what}: {a!r} vs {b!r}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{what}[{i}]")
    elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=what)
    else:
        assert a == b, f"{what}: {a!r} vs {b!r}"


def in_both(libs, scenario):
    """Run ``scenario(lib)`` in fastnn and PyTorch; return both results after checking they agree."""
    ours, theirs = (scenario(lib) for lib in libs)
    assert_same(ours, theirs)
    return ours


# =========================================================================== Tensor.register_hook

def test_leaf_hook_doubling_the_gradient_doubles_grad(libs):
    def scenario(lib):
        x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        x.register_hook(lambda g: g * 2)
        (x * x).sum().backward()
        return arr(x.grad)

    grad = in_both(libs, scenario)
    np.testing.assert_allclose(grad, [4.0, -8.0, 12.0])         # 2 * d(x^2)/dx


def test_leaf_hook_sees_the_complete_gradient_once(libs):
    """A leaf used three times: its hook runs once, on the sum of the three contributions."""
    def scenario(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        seen = []
        x.register_hook(lambda g: seen.append(arr(g)) or g * g)     # not linear: a per-use call would differ
        (x * 2 + x * 3 + x * x).sum().backward()
        return seen, arr(x.grad)

    seen, grad = in_both(libs, scenario)
    assert len(seen) == 1
    np.testing.assert_allclose(grad, [49.0, 81.0])


def test_result_hook_replaces_the_gradient_that_flows_upstream(libs):
    def scenario(lib):
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        y = x.exp()
        y.register_hook(lambda g: g * 3)
        y.retain_grad()
        (y * x).sum().backward()
        return arr(x.grad), arr(y.grad)

    x_grad, y_grad = in_both(libs, scenario)
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(y_grad, 3 * x, rtol=1e-6)          # retain_grad keeps the hooked gradient
    np.testing.assert_allclose(x_grad, np.exp(x) + 3 * x * np.exp(x), rtol=1e-5)


def test_hook_returning_none_observes_without_changing(libs):
    def scenario(lib):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * x
        seen = []
        y.register_hook(lambda g: seen.append(arr(g)))
        (y * lib.tensor([1.0, 10.0, 100.0])).sum().backward()
        return seen, arr(x.grad)

    seen, grad = in_both(libs, scenario)
    np.testing.assert_allclose(seen[0], [1.0, 10.0, 100.0])
    np.testing.assert_allclose(grad, [2.0, 40.0, 600.0])


def test_several_hooks_run_in_order_each_seeing_the_previous_result(libs):
    def scenario(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        log = []
        y.register_hook(lambda g: log.append(("y first", arr(g))) or g + 1)
        y.register_hook(lambda g: log.append(("y second", arr(g))) or g * 10)
        x.register_hook(lambda g: log.append(("x", arr(g))))
        (y * y).sum().backward()
        return log, arr(x.grad)

    log, grad = in_both(libs, scenario)
    assert [name for name, _ in log] == ["y first", "y second", "x"]
    np.testing.assert_allclose(grad, [100.0, 180.0])           # ((4x + 1) * 10) * 2


def test_handle_remove_stops_the_hook(libs):
    def scenario(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        calls = []
        handle = x.register_hook(lambda g: calls.append(1) or g * 5)
        (x * 3).sum().backward()
        first = arr(x.grad)
        handle.remove()
        handle.remove()                         # twice is harmless
        x.grad = None
        (x * 3).sum().backward()
        return first, arr(x.grad), len(calls)

    first, second, calls = in_both(libs, scenario)
    np.testing.assert_allclose(first, [15.0, 15.0])
    np.testing.assert_allclose(second, [3.0, 3.0])
    assert calls == 1


def test_removing_one_of_two_identical_hooks_keeps_the_other(libs):
    def scenario(lib):
        x = lib.tensor([1.0], requires_grad=True)
        double = lambda g: g * 2  # noqa: E731
        x.register_hook(double)
        x.register_hook(double).remove()
        (x * 1).sum().backward()
        return arr(x.grad)

    np.testing.assert_allclose(in_both(libs, scenario), [2.0])


def test_hook_on_a_result_outlives_its_python_name(libs):
    """Result hooks live on the grad_fn, so they run after ``del y``."""
    def scenario(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        y.register_hook(lambda g: g * 7)
        z = (y * 1).sum()
        del y
        z.backward()
        return arr(x.grad)

    np.testing.assert_allclose(in_both(libs, scenario), [14.0, 14.0])


def test_hooks_on_the_root_and_on_a_leaf_root(libs):
    def scenario(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 4
        y.register_hook(lambda g: g + 1)
        y.backward(lib.tensor([1.0, 2.0]))
        leaf = lib.tensor([5.0], requires_grad=True)
        leaf.register_hook(lambda g: g * 3)
        leaf.backward(lib.tensor([2.0]))
        return arr(x.grad), arr(leaf.grad)

    x_grad, leaf_grad = in_both(libs, scenario)
    np.testing.assert_allclose(x_grad, [8.0, 12.0])
    np.testing.assert_allclose(leaf_grad, [6.0])


def test_hooks_run_at_every_backward_with_retain_graph(libs):
    def scenario(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * x
        seen = []
        y.register_hook(lambda g: seen.append(arr(g)))
        z = y.sum()
        z.backward(retain_graph=True)
        z.backward()
        return len(seen), arr(x.grad)

    calls, grad = in_both(libs, scenario)
    assert calls == 2
    np.testing.assert_allclose(grad, [4.0, 8.0])


def test_hook_of_a_tensor_that_gets_no_gradient_is_not_called(libs):
    def scenario(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        w = lib.tensor([3.0, 4.0], requires_grad=True)
        calls = []
        w.register_hook(lambda g: calls.append(1))
        (x * w.detach()).sum().backward()
        return calls, w.grad is None

    assert in_both(libs, scenario) == ([], True)


def test_a_hook_may_remove_itself(libs):
    def scenario(lib):
        x = lib.tensor([1.0], requires_grad=True)
        handles = []
        handles.append(x.register_hook(lambda g: handles[0].remove() or g * 2))
        for _ in range(2):
            (x * 1).sum().backward()
        return arr(x.grad)

    np.testing.assert_allclose(in_both(libs, scenario), [3.0])     # doubled the first time only


def test_register_hook_on_a_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        fastnn.tensor([1.0]).register_hook(lambda g: g)


@pytest.mark.parametrize("hook, message", [
    (lambda g: g[:1], r"changed the size of the gradient: it returned shape \(1,\) for a gradient of shape \(2,\)"),
    (lambda g: g.double(), "changed the type of the gradient: it returned float64 for a gradient of dtype float32"),
], ids=["shape", "dtype"])
@pytest.mark.parametrize("where", ["leaf", "result"])
def test_hook_may_not_change_the_gradient_shape_or_dtype(hook, message, where):
    x = fastnn.tensor([1.0, 2.0], requires_grad=True)
    watched = x if where == "leaf" else x * 2
    watched.register_hook(hook)
    with pytest.raises(RuntimeError, match=message):
        (watched * 3).sum().backward()


def test_hook_is_called_with_a_tensor_and_may_return_an_array():
    x = fastnn.tensor([1.0, 2.0], requires_grad=True)
    kinds = []
    x.register_hook(lambda g: kinds.append(type(g)) or np.full(2, 9.0, np.float32))
    (x * 3).sum().backward()
    assert kinds == [fastnn.Tensor]
    np.testing.assert_allclose(x.grad.numpy(), [9.0, 9.0])


def test_gradient_clipping_hook_on_parameters(libs):
    """The classic use: clamp every parameter's gradient from a hook."""
    def scenario(lib):
        w = lib.tensor([[0.5, -3.0], [2.0, 0.1]], requires_grad=True)
        w.register_hook(lambda g: g.clamp(-1.0, 1.0))
        x = lib.tensor([[4.0, -0.2]])
        ((x @ w) ** 2).sum().backward()
        return arr(w.grad)

    grad = in_both(libs, scenario)
    assert np.abs(grad).max() == 1.0


# =========================================================================== Module forward hooks

W = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]], np.float32)
B = np.array([0.1, -0.2], np.float32)


def linear(lib, weight=W, bias=B):
    """``lib.nn.Linear`` with the given weights (the same in both libraries)."""
    m = lib.nn.Linear(weight.shape[1], weight.shape[0])
    if lib is fastnn:
        m.weight.data[...], m.bias.data[...] = weight, bias
    else:
        import torch
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(weight))
            m.bias.copy_(torch.from_numpy(bias))
    return m


X = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]], np.float32)


def test_forward_pre_hook_replaces_the_input(libs):
    def scenario(lib):
        m = linear(lib)
        m.register_forward_pre_hook(lambda mod, args: args[0] * 2)     # not a tuple: wrapped in one
        return arr(m(lib.tensor(X)))

    np.testing.assert_allclose(in_both(libs, scenario), (2 * X) @ W.T + B, rtol=1e-6)


def test_forward_pre_hook_returning_a_tuple_and_one_returning_none(libs):
    def scenario(lib):
        m = linear(lib)
        seen = []
        m.register_forward_pre_hook(lambda mod, args: (args[0] + 1,))
        m.register_forward_pre_hook(lambda mod, args: seen.append((mod is m, len(args), arr(args[0]))))
        return arr(m(lib.tensor(X))), seen

    out, seen = in_both(libs, scenario)
    np.testing.assert_allclose(out, (X + 1) @ W.T + B, rtol=1e-6)
    assert seen[0][:2] == (True, 1)
    np.testing.assert_allclose(seen[0][2], X + 1)


def test_forward_hook_replaces_the_output_and_sees_the_inputs(libs):
    def scenario(lib):
        m = linear(lib)
        seen = []
        m.register_forward_pre_hook(lambda mod, args: (args[0] * 3,))
        m.register_forward_hook(lambda mod, args, out: seen.append((arr(args[0]), arr(out))) or out.relu())
        m.register_forward_hook(lambda mod, args, out: seen.append(arr(out)))
        return arr(m(lib.tensor(X))), seen

    out, seen = in_both(libs, scenario)
    y = (3 * X) @ W.T + B
    np.testing.assert_allclose(seen[0][0], 3 * X)              # the args after the pre-hook
    np.testing.assert_allclose(seen[0][1], y, rtol=1e-6)
    np.testing.assert_allclose(seen[1], np.maximum(y, 0), rtol=1e-6)   # the next hook sees the replacement
    np.testing.assert_allclose(out, np.maximum(y, 0), rtol=1e-6)


def test_forward_hook_replacement_is_differentiable(libs):
    def scenario(lib):
        m = linear(lib)
        m.register_forward_hook(lambda mod, args, out: out * out)
        x = lib.tensor(X, requires_grad=True)
        m(x).sum().backward()
        return arr(x.grad), arr(m.weight.grad)

    in_both(libs, scenario)


def test_hook_order_across_nested_modules_and_prepend(libs):
    def scenario(lib):
        log = []
        net = lib.nn.Sequential(linear(lib), lib.nn.ReLU())
        for name, mod in [("net", net), ("lin", net[0]), ("relu", net[1])]:
            mod.register_forward_pre_hook(lambda m, a, name=name: log.append(f"pre {name}"))
            mod.register_forward_hook(lambda m, a, o, name=name: log.append(f"post {name}"))
        net.register_forward_pre_hook(lambda m, a: log.append("pre net first"), prepend=True)
        net.register_forward_hook(lambda m, a, o: log.append("post net first"), prepend=True)
        net(lib.tensor(X))
        return log

    assert in_both(libs, scenario) == ["pre net first", "pre net", "pre lin", "post lin", "pre relu", "post relu",
                                       "post net first", "post net"]


def test_forward_hook_handles_remove_and_work_as_context_managers(libs):
    def scenario(lib):
        m = linear(lib)
        calls = []
        pre = m.register_forward_pre_hook(lambda mod, args: calls.append("pre"))
        with m.register_forward_hook(lambda mod, args, out: out * 0):
            inside = arr(m(lib.tensor(X)))
        pre.remove()
        after = arr(m(lib.tensor(X)))
        return inside, after, calls

    inside, after, calls = in_both(libs, scenario)
    assert not inside.any()
    np.testing.assert_allclose(after, X @ W.T + B, rtol=1e-6)
    assert calls == ["pre"]


def test_keyword_arguments_go_to_forward_but_not_to_hooks(libs):
    def scenario(lib):
        class Scale(lib.nn.Module):
            def forward(self, x, factor=1.0):
                return x * factor

        m, seen = Scale(), []
        m.register_forward_pre_hook(lambda mod, args: seen.append(len(args)))
        m.register_forward_hook(lambda mod, args, out: seen.append(len(args)))
        return arr(m(lib.tensor([1.0, 2.0]), factor=3.0)), seen

    out, seen = in_both(libs, scenario)
    np.testing.assert_allclose(out, [3.0, 6.0])
    assert seen == [1, 1]


def test_hooks_are_not_part_of_the_state_dict_and_survive_deepcopy():
    import copy
    m = linear(fastnn)
    m.register_forward_hook(lambda mod, args, out: out * 0)
    assert list(m.state_dict()) == ["weight", "bias"]
    assert not copy.deepcopy(m)(fastnn.tensor(X)).numpy().any()


def test_non_callable_hook_is_refused():
    with pytest.raises(TypeError, match="hook must be callable"):
        linear(fastnn).register_forward_hook("not a function")


# =========================================================================== full backward hooks

def test_full_backward_hook_sees_grad_input_and_grad_output_and_may_replace(libs):
    def scenario(lib):
        m = linear(lib)
        seen = []

        def hook(mod, grad_input, grad_output):
            seen.append((mod is m, [arr(g) for g in grad_input], [arr(g) for g in grad_output]))
            return (grad_input[0] * 10,)

        m.register_full_backward_hook(hook)
        x = lib.tensor(X, requires_grad=True)
        out = m(x)
        (out * out).sum().backward()
        return seen, arr(x.grad), arr(m.weight.grad), arr(m.bias.grad)

    seen, x_grad, w_grad, b_grad = in_both(libs, scenario)
    y = X @ W.T + B
    assert len(seen) == 1 and seen[0][0]
    np.testing.assert_allclose(seen[0][2][0], 2 * y, rtol=1e-5)               # grad_output
    np.testing.assert_allclose(seen[0][1][0], (2 * y) @ W, rtol=1e-5)         # grad_input
    np.testing.assert_allclose(x_grad, 10 * (2 * y) @ W, rtol=1e-5)           # replaced
    np.testing.assert_allclose(w_grad, (2 * y).T @ X, rtol=1e-5)              # parameters: untouched


def test_full_backward_hook_when_no_input_requires_grad(libs):
    """The first layer of a model: grad_input is (None,), and the hook still runs."""
    def scenario(lib):
        m = linear(lib)
        seen = []
        m.register_full_backward_hook(lambda mod, gi, go: seen.append((gi, [arr(g) for g in go])))
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")         # PyTorch warns that it fires from the outputs
            (m(lib.tensor(X)) * 2).sum().backward()
        return seen, arr(m.weight.grad)

    seen, _ = in_both(libs, scenario)
    assert seen[0][0] == (None,)
    np.testing.assert_allclose(seen[0][1][0], np.full((2, 2), 2.0))


def test_full_backward_hook_may_not_return_gradients_for_inputs_without_grad():
    m = linear(fastnn)
    m.register_full_backward_hook(lambda mod, gi, go: (fastnn.ones(2, 3),))
    with pytest.raises(RuntimeError, match="must return None"):
        m(fastnn.tensor(X)).sum().backward()


def two_input_module(lib):
    """forward(a, scale, b, c): tensors, a number and a tensor without grad, two outputs."""
    class Mix(lib.nn.Module):
        def forward(self, a, scale, b, c):
            return a * b * scale + c, (a - b).exp()

    return Mix()


def test_full_backward_hook_with_several_inputs_and_outputs(libs):
    def scenario(lib):
        m = two_input_module(lib)
        seen = []

        def hook(mod, grad_input, grad_output):
            seen.append(([arr(g) for g in grad_input], [arr(g) for g in grad_output]))
            return (grad_input[0] * 2, None, -grad_input[2], None)

        m.register_full_backward_hook(hook)
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([0.5, -1.0], requires_grad=True)
        c = lib.tensor([3.0, 3.0])
        y, z = m(a, 3.0, b, c)
        (y * lib.tensor([1.0, 2.0]) + z).sum().backward()
        return seen, arr(a.grad), arr(b.grad)

    seen, a_grad, b_grad = in_both(libs, scenario)
    (grad_input, grad_output), = seen
    assert grad_input[1] is None                                               # not a tensor
    np.testing.assert_array_equal(grad_input[3], [0.0, 0.0])                  # a tensor without grad: zeros
    a, b, g = np.array([1.0, 2.0]), np.array([0.5, -1.0]), np.array([1.0, 2.0])
    np.testing.assert_allclose(grad_output[0], g)
    np.testing.assert_allclose(a_grad, 2 * (g * b * 3 + np.exp(a - b)), rtol=1e-5)
    np.testing.assert_allclose(b_grad, -(g * a * 3 - np.exp(a - b)), rtol=1e-5)


def test_full_backward_hook_zeros_and_nones_where_no_gradient_flows(libs):
    """PyTorch's conventions: a tensor input without gradient (no requires_grad, an integer
    tensor, or unused by forward) gets zeros in grad_input (and an unused input that requires
    grad receives them); an output that is detached or unused gets None in grad_output; a
    replacement for an input that does not require grad is ignored."""
    def scenario(lib):
        class Partial(lib.nn.Module):
            def forward(self, a, c, index, unused):
                return a * c, a.detach() * 3, a * 5

        m, seen = Partial(), []

        def hook(mod, grad_input, grad_output):
            seen.append(([arr(g) for g in grad_input], [arr(g) for g in grad_output]))
            return (grad_input[0], grad_input[1] + 1, None, grad_input[3])

        m.register_full_backward_hook(hook)
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        c = lib.tensor([3.0, 4.0], dtype=lib.float64)
        unused = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y, _, _ = m(a, c, lib.tensor([1, 2]), unused)
        y.sum().backward()
        return seen, arr(a.grad), c.grad is None, arr(unused.grad)

    (grad_input, grad_output), = in_both(libs, scenario)[0]
    assert [g.dtype for g in grad_input] == [np.float32, np.float64, np.int64, np.float32]
    assert grad_output[1] is None and grad_output[2] is None


def test_full_backward_hook_runs_once_per_call_of_a_shared_module(libs):
    def scenario(lib):
        m = linear(lib, W[:, :2], B)
        seen = []
        m.register_full_backward_hook(lambda mod, gi, go: seen.append((arr(gi[0]), arr(go[0]))))
        x = lib.tensor(X[:, :2], requires_grad=True)
        (m(m(x)) ** 2).sum().backward()
        return seen, arr(x.grad)

    seen, _ = in_both(libs, scenario)
    assert len(seen) == 2


def test_full_backward_hook_wrong_number_of_gradients_raises():
    m = linear(fastnn)
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="invalid number of grad_input, got 2, but expected 1"):
        m(fastnn.tensor(X, requires_grad=True)).sum().backward()


def test_full_backward_hook_handle_remove_and_late_registration(libs):
    """Removing stops the hook; a hook registered after the forward does not apply to that backward."""
    def scenario(lib):
        m = linear(lib)
        calls = []
        handle = m.register_full_backward_hook(lambda mod, gi, go: calls.append("early"))
        x = lib.tensor(X, requires_grad=True)
        out = m(x)
        m.register_full_backward_hook(lambda mod, gi, go: calls.append("late"))
        out.sum().backward()
        handle.remove()
        m(x).sum().backward()
        return calls

    assert in_both(libs, scenario) == ["early", "late"]


def test_full_backward_hooks_run_in_order_and_chain(libs):
    def scenario(lib):
        m = linear(lib)
        log = []
        m.register_full_backward_hook(lambda mod, gi, go: log.append(("first", arr(gi[0]))) or (gi[0] + 1,))
        m.register_full_backward_hook(lambda mod, gi, go: log.append(("second", arr(gi[0]))))
        x = lib.tensor(X, requires_grad=True)
        m(x).sum().backward()
        return log, arr(x.grad)

    log, grad = in_both(libs, scenario)
    np.testing.assert_allclose(log[1][1], log[0][1] + 1)
    np.testing.assert_allclose(grad, log[0][1] + 1)


def test_module_hooks_do_not_record_anything_under_no_grad():
    m = linear(fastnn)
    m.register_full_backward_hook(lambda mod, gi, go: None)
    with fastnn.no_grad():
        out = m(fastnn.tensor(X, requires_grad=True))
    assert out.grad_fn is None
