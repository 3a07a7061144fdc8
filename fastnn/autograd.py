"""Reverse-mode automatic differentiation: ``Function``, the graph it records, and the
``backward`` engine.

Every differentiable operation is a subclass of :class:`Function` with two static
methods side by side::

    class Mul(Function):
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

    __slots__ = ("function", "ctx", "inputs", "retained", "__weakref__")

    def __init__(self, function, ctx, inputs):
        self.function = function
        self.ctx = ctx
        self.inputs = inputs
        self.retained = None        # the output Tensor, when it asked for retain_grad()

    @property
    def name(self) -> str:
        return self.function.__name__ + "Backward"

    def __repr__(self):
        return f"<{self.name}>"

    @property
    def next_functions(self):
        return tuple(t.grad_fn for t in self.inputs if t is not None and t.grad_fn is not None)


class Function:
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


def _accumulate_leaf(tensor, grad: np.ndarray) -> None:
    from .tensor import Tensor
    if tensor.grad is None:
        tensor.grad = Tensor(np.array(grad, dtype=tensor.dtype, copy=True))
    else:
        tensor.grad.data = (tensor.grad.data + grad).astype(tensor.dtype, copy=False)


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
        _accumulate_leaf(tensor, grad)
        return

    grads: dict[Node, np.ndarray] = {tensor.grad_fn: grad}
    for node in _topological_order(tensor.grad_fn):
        g = grads.pop(node, None)
        if g is None:                   # no gradient flows here (e.g. a detached branch)
            continue
        if node.ctx is None:
            raise RuntimeError(_FREED)
        if node.retained is not None:
            _accumulate_leaf(node.retained, g)
        input_grads = node.function.backward(node.ctx, g)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        if len(input_grads) < len(node.inputs):
            input_grads = input_grads + (None,) * (len(node.inputs) - len(input_grads))
        for t, ig in zip(node.inputs, input_grads):
            if t is None or ig is None:
                continue
            ig = np.asarray(ig)
            if ig.dtype != t.dtype:         # a gradient has its input's dtype (a float64 constant in a
                ig = ig.astype(t.dtype)     # backward formula must not turn a float32 graph float64)
            if ig.shape != t.shape:
                raise RuntimeError(f"{node.name} returned a gradient of shape {ig.shape} for an input of shape "
                                   f"{t.shape}")
            if t.grad_fn is None:
                _accumulate_leaf(t, ig)
            else:
                previous = grads.get(t.grad_fn)
                grads[t.grad_fn] = ig if previous is None else previous + ig
        if not retain_graph:
            node.ctx = None             # drop saved arrays: the memory goes back now
