"""Reverse-mode automatic differentiation: ``Function``, the graph it records, and the
``backward`` engine.

Every differentiable operation is a subclass of :class:`Function` with two static
methods side by side::

    class Mul(ArrayFunction):
        @staticmethod
        def forward(ctx, a, b):            # NumPy arrays in, NumPy array out
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, grad):           # d(loss)/d(out) in, one grad per input out
            a, b = ctx.saved_tensors
            return grad * b, grad * a

``Mul.apply(x, y)`` unwraps the Tensors, runs ``forward``, wraps the result and, when
a gradient is wanted, records a :class:`Node` that remembers the inputs and ``ctx``.
``Tensor.backward()`` walks those nodes from the output back to the leaves in
topological order (an explicit stack, so a 10,000-op chain needs no recursion) and
calls each ``backward`` exactly once, with the sum of the gradients flowing into it.

Tensor hooks (``Tensor.register_hook``) run when a tensor's gradient is complete: for a
result, just before its node's ``backward`` (the hooks are kept on the node, as PyTorch
keeps them on ``grad_fn``); for a leaf, once every node that feeds it has run, just
before the sum is accumulated into ``.grad``. A hook may return a replacement gradient.
"""
from __future__ import annotations

import functools
import threading

import numpy as np

_grad_mode = threading.local()


def is_grad_enabled() -> bool:
    return getattr(_grad_mode, "enabled", True)


def _set_grad_enabled(mode: bool) -> None:
    _grad_mode.enabled = bool(mode)


class set_grad_enabled:
    """Context manager and decorator that switches graph recording on or off."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._previous = []

    def __enter__(self):
        self._previous.append(is_grad_enabled())
        _set_grad_enabled(self.mode)
        return self

    def __exit__(self, *exc):
        _set_grad_enabled(self._previous.pop())
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self._fresh():         # a fresh context per call: re-entrant and thread-safe
                return fn(*args, **kwargs)
        return wrapper

    def _fresh(self):
        return set_grad_enabled(self.mode)


class no_grad(set_grad_enabled):
    """``with fastnn.no_grad():`` or ``@fastnn.no_grad()``: run without recording a graph
    (evaluation, optimizer steps). Saves the memory that backward would need."""

    def __init__(self):
        super().__init__(False)

    def _fresh(self):
        return no_grad()


class enable_grad(set_grad_enabled):
    """Switch recording back on inside a ``no_grad`` block."""

    def __init__(self):
        super().__init__(True)

    def _fresh(self):
        return enable_grad()


class Context:
    """What a Function's forward leaves for its backward."""

    __slots__ = ("saved_tensors", "needs_input_grad", "__dict__")

    def __init__(self, needs_input_grad=()):
        self.saved_tensors = ()
        self.needs_input_grad = needs_input_grad

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays


class Node:
    """One recorded operation: the Function, its ctx and the input Tensors (None where an
    input is not a Tensor or needs no gradient)."""

    __slots__ = ("function", "ctx", "inputs", "retained", "hooks", "__weakref__")

    def __init__(self, function, ctx, inputs):
        self.function = function
        self.ctx = ctx
        self.inputs = inputs
        self.retained = None        # the output Tensor, when it asked for retain_grad()
        self.hooks = None           # {handle id: hook} of the output Tensor's register_hook()

    @property
    def name(self) -> str:
        return self.function.__name__ + "Backward"

    def __repr__(self):
        return f"<{self.name}>"

    @property
    def next_functions(self):
        return tuple(t.grad_fn for t in self.inputs if t is not None and t.grad_fn is not None)


class ArrayFunction:
    """Base class of every differentiable operation (see the module docstring)."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        from .tensor import Tensor
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        record = is_grad_enabled() and any(needs)
        ctx = Context(needs)
        out = cls.forward(ctx, *arrays, **kwargs)
        result = Tensor._wrap(out)
        if record:
            inputs = tuple(a if need else None for a, need in zip(args, needs))
            result._grad_fn = Node(cls, ctx, inputs)
            result._requires_grad = True
        return result


_FREED = ("Trying to backward through the graph a second time (or to read saved values after they were "
          "freed). The graph is freed by backward(); call backward(retain_graph=True) the first time if you "
          "need to backward through it again.")


def _topological_order(root: Node) -> list[Node]:
    """Nodes reachable from ``root``, each before every node it depends on (root first)."""
    post, seen, stack = [], {root}, [(root, iter(root.inputs))]
    while stack:
        node, children = stack[-1]
        for t in children:
            child = None if t is None else t.grad_fn
            if child is not None and child not in seen:
                seen.add(child)
                stack.append((child, iter(child.inputs)))
                break
        else:
            stack.pop()
            post.append(node)
    post.reverse()
    return post


def _leaves_completed_by(order: list[Node]) -> list[list]:
    """For each node of ``order``, the leaves it is the last node to feed: once it has run,
    their gradient is complete (summed over every use), so their hooks can see it."""
    last_use = {}
    for i, node in enumerate(order):
        for t in node.inputs:
            if t is not None and t.grad_fn is None:
                last_use[t] = i
    completed = [[] for _ in order]
    for leaf, i in last_use.items():
        completed[i].append(leaf)
    return completed


def _run_hooks(hooks, grad: np.ndarray) -> np.ndarray:
    """Pass ``grad`` through the tensor hooks in registration order: each gets the gradient
    as a Tensor and may return a replacement (of the same shape and dtype, as PyTorch
    insists: a hook cannot silently change what the rest of the graph computes with)."""
    if not hooks:
        return grad
    from .tensor import Tensor
    for hook in tuple(hooks.values()):          # a copy: a hook may remove itself
        result = hook(Tensor._wrap(grad))
        if result is None:
            continue
        new = result.data if isinstance(result, Tensor) else np.asarray(result)
        name = getattr(hook, "__name__", repr(hook))
        if new.shape != grad.shape:
            raise RuntimeError(f"hook {name!r} has changed the size of the gradient: it returned shape "
                               f"{new.shape} for a gradient of shape {grad.shape}")
        if new.dtype != grad.dtype:
            raise RuntimeError(f"hook {name!r} has changed the type of the gradient: it returned {new.dtype} "
                               f"for a gradient of dtype {grad.dtype}")
        grad = new
    return grad


def _accumulate_leaf(tensor, grad: np.ndarray) -> None:
    from .tensor import Tensor
    if tensor.grad is None:
        tensor.grad = Tensor(np.array(grad, dtype=tensor.dtype, copy=True))
    else:
        tensor.grad.data = (tensor.grad.data + grad).astype(tensor.dtype, copy=False)


def _input_grads(node: Node, grad: np.ndarray):
    """Call ``node``'s backward and check what it returns: one gradient (or None) per input,
    each with its input's shape and dtype."""
    input_grads = node.function.backward(node.ctx, grad)
    if not isinstance(input_grads, tuple):
        input_grads = (input_grads,)
    if len(input_grads) < len(node.inputs):
        input_grads = input_grads + (None,) * (len(node.inputs) - len(input_grads))
    for t, ig in zip(node.inputs, input_grads):
        if t is None or ig is None:
            yield t, None
            continue
        ig = np.asarray(ig)
        if ig.dtype != t.dtype:         # a gradient has its input's dtype (a float64 constant in a
            ig = ig.astype(t.dtype)     # backward formula must not turn a float32 graph float64)
        if ig.shape != t.shape:
            raise RuntimeError(f"{node.name} returned a gradient of shape {ig.shape} for an input of shape "
                               f"{t.shape}")
        yield t, ig


def backward(tensor, grad=None, retain_graph: bool = False) -> None:
    """Accumulate d(tensor)/d(leaf) * grad into every leaf's ``.grad`` (PyTorch semantics)."""
    from .tensor import Tensor
    if not tensor.requires_grad:
        raise RuntimeError("backward(): the tensor does not require grad and has no grad_fn; "
                           "did you create it under no_grad() or forget requires_grad=True?")
    if grad is None:
        if tensor.data.size != 1:
            raise RuntimeError(f"backward(): grad can be implicitly created only for a scalar output, "
                               f"got shape {tensor.shape}; pass grad= of the same shape")
        grad = np.ones_like(tensor.data)
    else:
        grad = grad.data if isinstance(grad, Tensor) else np.asarray(grad)
        if grad.shape != tensor.shape:
            raise RuntimeError(f"backward(): grad has shape {grad.shape} but the tensor has shape {tensor.shape}")
        grad = grad.astype(tensor.dtype, copy=False)

    if tensor.grad_fn is None:          # a leaf: its gradient with respect to itself
        _accumulate_leaf(tensor, _run_hooks(tensor._backward_hooks, grad))
        return

    order = _topological_order(tensor.grad_fn)
    grads: dict[Node, np.ndarray] = {tensor.grad_fn: grad}     # summed gradient of each node's output
    leaf_grads: dict = {}                                       # summed gradient of each leaf so far
    for node, completed_leaves in zip(order, _leaves_completed_by(order)):
        g = grads.pop(node, None)
        if g is not None:               # else no gradient flows here (e.g. a detached branch)
            if node.ctx is None:
                raise RuntimeError(_FREED)
            g = _run_hooks(node.hooks, g)
            if node.retained is not None:
                _accumulate_leaf(node.retained, g)
            for t, ig in _input_grads(node, g):
                if ig is None:
                    continue
                sums, key = (leaf_grads, t) if t.grad_fn is None else (grads, t.grad_fn)
                previous = sums.get(key)
                sums[key] = ig if previous is None else previous + ig
            if not retain_graph:
                node.ctx = None         # drop saved arrays: the memory goes back now
        for leaf in completed_leaves:
            if leaf in leaf_grads:
                _accumulate_leaf(leaf, _run_hooks(leaf._backward_hooks, leaf_grads.pop(leaf)))

Function = ArrayFunction   # replaced below by the Tensor-level Function (work in progress)
