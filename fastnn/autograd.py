"""Reverse-mode automatic differentiation: ``ArrayFunction``, the graph it records, the
``backward`` engine, and ``Function`` for your own operations.

Every operation of the core is a subclass of :class:`ArrayFunction` with two static
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

In-place changes are safe: every tensor has a :class:`Version` counter (shared with its
views) that each in-place write increments; a node remembers the counter of every input or
output whose array it saved, and its backward refuses to run on changed values.

:class:`Function` is PyTorch's ``torch.autograd.Function``: Tensors in ``forward`` and
``backward``, ``ctx.save_for_backward``; it is how a learner writes an operation of their own.
"""
from __future__ import annotations

import collections
import functools
import itertools
import threading
import time

import numpy as np

_grad_mode = threading.local()
_profiler = None                    # the active fastnn.profiler.profile, if any
_profiler_clock = time.perf_counter


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


class inference_mode(set_grad_enabled):
    """``with fastnn.inference_mode():``: PyTorch's faster ``no_grad`` for evaluation. fastnn
    has nothing more to skip than ``no_grad`` does, so it is the same (``mode=False`` records)."""

    def __init__(self, mode: bool = True):
        super().__init__(not mode)
        self._mode = mode

    def _fresh(self):
        return inference_mode(self._mode)


class enable_grad(set_grad_enabled):
    """Switch recording back on inside a ``no_grad`` block."""

    def __init__(self):
        super().__init__(True)

    def _fresh(self):
        return enable_grad()


class Version:
    """How many times a tensor's memory has been changed in place. Views share their base's
    counter, so writing through a view counts as writing the base. A Function that saves an
    input (or its output) for backward notes the counter's value; backward checks it is
    unchanged, so a gradient is never computed from overwritten values (PyTorch's rule).

    ``graph`` counts the in-place changes that were *recorded* (made with grad mode on, to a
    tensor in the graph): each gives the memory a new ``grad_fn``, so a view taken before it
    must rebuild its own ``grad_fn`` from its base's new one (see ``Tensor._refresh_view``)."""

    __slots__ = ("value", "graph")

    def __init__(self, value: int = 0):
        self.value = value
        self.graph = 0


def _modified_error(node_name: str, shape, dtype, found: int, expected: int) -> RuntimeError:
    return RuntimeError(
        f"one of the variables needed for gradient computation has been modified by an inplace operation: "
        f"[fastnn.Tensor {list(shape)}, dtype {dtype}], which is used by {node_name}, is at version {found}; "
        f"expected version {expected} instead. Hint: make a copy (x = x.clone()) before changing it in place, "
        f"or change it out of place (x = x + 1).")


class Context:
    """What a Function's forward leaves for its backward. A forward that stands for several
    PyTorch operations names the one it did in ``ctx.backward_name`` (``"SumBackward1"`` for a
    sum over a dim), which ``grad_fn.name()`` then reports."""

    __slots__ = ("saved_tensors", "needs_input_grad", "saved_versions", "backward_name", "__dict__")

    def __init__(self, needs_input_grad=()):
        self.saved_tensors = ()
        self.needs_input_grad = needs_input_grad
        self.saved_versions = ()    # (Version, value at save time, array) of saved inputs/outputs
        self.backward_name = None

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays


_serials = itertools.count()


def next_serial() -> int:
    """A number below the ``serial`` of every node made from now on: ``n.serial > since``
    tells the nodes an operation made (``Tensor._inplace`` looks into what they saved)."""
    return next(_serials)


class Node:
    """One recorded operation: the Function, its ctx and its inputs, each an :func:`edge`
    (None where an input is not a Tensor or needs no gradient). PyTorch calls it the
    ``grad_fn``. ``serial`` numbers nodes in the order they were made."""

    __slots__ = ("function", "ctx", "inputs", "retained", "hooks", "serial", "label", "n_outputs", "__weakref__")

    def __init__(self, function, ctx, inputs, n_outputs=1):
        self.function = function
        self.ctx = ctx
        self.inputs = inputs
        # the output Tensor that asked for retain_grad(), and the {handle id: hook} of the
        # output's register_hook(); with several outputs, a list of those, one per output
        self.retained = None if n_outputs == 1 else [None] * n_outputs
        self.hooks = None if n_outputs == 1 else [None] * n_outputs
        self.serial = next(_serials)
        self.label = getattr(ctx, "backward_name", None)     # kept: backward frees ctx
        self.n_outputs = n_outputs

    def name(self) -> str:
        """PyTorch's name of the backward of this operation, e.g. ``'MulBackward0'``."""
        return self.label or self.function.backward_name()

    def __repr__(self):
        prefix = "fastnn.autograd.function." if isinstance(self.function, _FunctionBackward) else ""
        return f"<{prefix}{self.name().rpartition('::')[2]} object at {id(self):#x}>"

    def __getattr__(self, name):
        """A user Function's node is also its ctx, as in PyTorch (``y.grad_fn.saved_tensors``,
        ``y.grad_fn.needs_input_grad``, attributes set on ctx)."""
        ctx = object.__getattribute__(self, "ctx")
        if isinstance(ctx, FunctionCtx) and not name.startswith("__"):
            return getattr(ctx, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def retained_of(self, output_nr: int):
        """The tensor (output ``output_nr``) that asked for retain_grad(), or None."""
        return self.retained if self.n_outputs == 1 else self.retained[output_nr]

    def set_retained(self, output_nr: int, tensor) -> None:
        if self.n_outputs == 1:
            self.retained = tensor
        else:
            self.retained[output_nr] = tensor

    def hooks_of(self, output_nr: int, create: bool = False):
        """The hooks of output ``output_nr`` (an OrderedDict, made when ``create``), or None."""
        if self.n_outputs == 1:
            if self.hooks is None and create:
                self.hooks = collections.OrderedDict()
            return self.hooks
        if self.hooks[output_nr] is None and create:
            self.hooks[output_nr] = collections.OrderedDict()
        return self.hooks[output_nr]

    @property
    def next_functions(self):
        """One ``(node, output_nr)`` pair per input, as PyTorch's: the input's ``grad_fn`` and
        which of its outputs the input is, an ``AccumulateGrad`` for a leaf that requires grad,
        or ``None``."""
        return tuple((None, 0) if t is None else (AccumulateGrad(t), 0) if t.grad_fn is None else
                     (t.grad_fn, t.output_nr) for t in self.inputs)

    def _check_saved_versions(self) -> None:
        for version, expected, array in self.ctx.saved_versions:
            if version.value != expected:
                raise _modified_error(self.name(), array.shape, array.dtype, version.value, expected)


class _Edge:
    """A non-leaf input as it was when an operation used it: its ``grad_fn``, shape and dtype.

    A node keeps this rather than the Tensor because an in-place operation later gives the
    Tensor a new ``grad_fn`` (``h.mul_(5)``); a node recorded before must still send its
    gradient to the ``grad_fn`` h had then, as PyTorch's edges do."""

    __slots__ = ("grad_fn", "shape", "dtype", "output_nr")

    def __init__(self, grad_fn, shape, dtype, output_nr=0):
        self.grad_fn, self.shape, self.dtype, self.output_nr = grad_fn, shape, dtype, output_nr


def edge(tensor):
    """What a node records for an input that needs a gradient: a leaf itself (its ``.grad``
    is filled in), or a snapshot of a result's place in the graph (:class:`_Edge`): its
    ``grad_fn`` and which output of it the tensor is (``output_nr``, for a Function with
    several outputs)."""
    grad_fn = tensor.grad_fn
    return tensor if grad_fn is None else _Edge(grad_fn, tensor.data.shape, tensor.data.dtype, tensor._output_nr)


class AccumulateGrad:
    """What ``next_functions`` shows for a leaf: the step that adds into its ``.grad``."""

    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable

    def name(self) -> str:
        return "fastnn::autograd::AccumulateGrad"

    def __repr__(self):
        return f"<AccumulateGrad object at {id(self):#x}>"

    next_functions = ()

    def __eq__(self, other):
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self):
        return id(self.variable)


def _root(array):
    """The array that owns the memory of ``array`` (NumPy keeps views pointing at it)."""
    base = array.base
    return array if base is None else base


class ArrayFunction:
    """Base class of the core's operations (see the module docstring): ``forward`` and
    ``backward`` take and return NumPy arrays, which is what the kernel backends need.
    (A user's own operation subclasses :class:`Function`, whose methods see Tensors.)"""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def backward_name(cls) -> str:
        """``grad_fn.name()``: PyTorch's name where the class sets ``torch_name``: ``"Mm"`` gives
        ``"MmBackward0"``; a full name (``"SumBackward1"``, PyTorch numbers its overloads) is
        taken as it is. A forward can name one call (``ctx.backward_name``, see Context)."""
        name = getattr(cls, "torch_name", cls.__name__)
        return name if "Backward" in name else name + "Backward0"

    @classmethod
    def apply(cls, *args, **kwargs):
        from .tensor import Tensor
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        record = is_grad_enabled() and any(needs)
        ctx = Context(needs)
        if _profiler is None:
            out = cls.forward(ctx, *arrays, **kwargs)
        else:                           # inside fastnn.autograd.profiler.profile()
            start = _profiler_clock()
            out = cls.forward(ctx, *arrays, **kwargs)
            _profiler.record(cls.__name__, _profiler_clock() - start)
        result = Tensor._wrap(out)
        if isinstance(out, np.ndarray) and (out.base is not None or _is_one_of(out, arrays)):
            _share_version_with_base(result, out, args, arrays)
        if record:
            kept = _kept_arrays(ctx)
            if kept:
                ctx.saved_versions = _saved_versions(kept, args, arrays, result)
            inputs = tuple(edge(a) if need else None for a, need in zip(args, needs))
            result._grad_fn = Node(cls, ctx, inputs)
            result._requires_grad = True
        return result


def _is_one_of(out, arrays) -> bool:
    for arr in arrays:
        if arr is out:
            return True
    return False


def _share_version_with_base(result, out, args, arrays) -> None:
    """A result that is a view of an input's memory (``x[0]``, ``x.view(-1)``, ``x.t()``) shares
    that input's version counter and remembers the tensor that owns the memory (``_base``, as
    in PyTorch), so that an in-place change through the view is seen by its base."""
    root = out if out.base is None else out.base
    for a, arr in zip(args, arrays):
        if a is not arr and isinstance(arr, np.ndarray) and (arr is root or arr.base is root):
            result._version_counter = a._version_counter
            result._base = a if a._base is None else a._base
            result._graph_stamp = a._version_counter.graph
            return


def _kept_arrays(ctx) -> list:
    """The arrays a forward kept for backward: ``ctx.save_for_backward(...)`` and, since an
    operation may keep one as an attribute (``ctx.target = t``), the arrays among ctx's
    attributes (one level into tuples and lists)."""
    kept = [s for s in ctx.saved_tensors if isinstance(s, np.ndarray)]
    attributes = ctx.__dict__ if hasattr(ctx, "__dict__") else None
    if attributes:
        for value in attributes.values():
            if isinstance(value, np.ndarray):
                kept.append(value)
            elif type(value) is tuple or type(value) is list:
                kept.extend(v for v in value if isinstance(v, np.ndarray))
    return kept


def _saved_versions(saved, args, arrays, result) -> tuple:
    """(counter, value, array) for each saved array that is an input's or the output's data, or
    a view of it (``ctx.save_for_backward(x.reshape(n, -1))``, an output returned reshaped):
    whichever way it was saved, a later in-place change of that tensor is noticed."""
    tensors = [(a, arr) for a, arr in zip(args, arrays) if a is not arr and isinstance(arr, np.ndarray)]
    out = result.data
    noted = []
    for s in saved:
        if not isinstance(s, np.ndarray):
            continue
        owner = _owner(s, out, result, tensors)
        if owner is not None:
            noted.append((owner._version_counter, owner._version_counter.value, s))
    return tuple(noted)


def _owner(s, out, result, tensors):
    """The tensor whose memory the saved array ``s`` is: the output or an input, the very
    array first, else one it is a view of."""
    if s is out:
        return result
    for a, arr in tensors:
        if s is arr:
            return a
    root = _root(s)
    if root is _root(out):
        return result
    for a, arr in tensors:
        if root is _root(arr):
            return a
    return None


# ------------------------------------------------------------------ Function, as PyTorch's

class FunctionCtx:
    """The ``ctx`` of a user's :class:`Function`: ``save_for_backward(*tensors)`` /
    ``saved_tensors`` (checked against in-place changes, as in PyTorch), ``needs_input_grad``,
    ``mark_non_differentiable``, ``mark_dirty``, ``set_materialize_grads``, and any attribute
    you set."""

    def __init__(self, needs_input_grad, name="Function"):
        self.needs_input_grad = needs_input_grad
        self._name = name
        self._saved = ()
        self._non_differentiable = ()
        self._dirty = ()
        self.materialize_grads = True
        self.metadata = {}

    def save_for_backward(self, *tensors):
        from .tensor import Tensor
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save input or output tensors, but argument {i} is "
                                f"{type(t).__name__}; keep other values as attributes of ctx")
        self._saved = tuple((t, None if t is None else t._version_counter.value) for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        if self._saved is None:
            raise RuntimeError(_FREED)
        for t, version in self._saved:
            if t is not None and t._version_counter.value != version:
                raise _modified_error(self._name, t.shape, t.dtype, t._version_counter.value, version)
        return tuple(t for t, _ in self._saved)

    def mark_non_differentiable(self, *tensors):
        """These outputs get no gradient: they come back with ``requires_grad=False`` (an
        index, a mask), and backward receives zeros (or None) for them."""
        self._non_differentiable = tensors

    def mark_dirty(self, *tensors):
        """These inputs were changed in place by forward and are returned: the very objects
        come back, recorded as outputs of this Function (PyTorch's rule)."""
        self._dirty = tensors

    def set_materialize_grads(self, value: bool):
        """With False, backward receives None (not zeros) for an output that got no gradient."""
        self.materialize_grads = bool(value)


class Function:
    """A differentiable operation of your own, written as in PyTorch::

        class MyExp(fastnn.autograd.Function):
            @staticmethod
            def forward(ctx, x):                 # Tensors in, Tensor(s) out
                y = x.exp()
                ctx.save_for_backward(y)
                return y

            @staticmethod
            def backward(ctx, grad_output):      # one gradient per output in,
                (y,) = ctx.saved_tensors         # one per input of forward out
                return grad_output * y

        y = MyExp.apply(x)

    ``forward`` runs without recording a graph (its own operations are not differentiated);
    ``backward`` gets and returns Tensors, ``None`` for an input that needs no gradient (or is
    not a Tensor). The newer form, ``forward(*args)`` plus ``setup_context(ctx, inputs,
    output)``, works too. A forward that returns several tensors makes one node with several
    outputs (``a.grad_fn is b.grad_fn``); its backward runs once, with one gradient per output
    (zeros for an output that received none, or None after ``ctx.set_materialize_grads(False)``).
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward

    @classmethod
    def apply(cls, *args, **kwargs):
        from .tensor import Tensor
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx = FunctionCtx(needs, cls.__name__ + "Backward")
        ctx._tensor_inputs = tuple(isinstance(a, Tensor) for a in args)
        separate_setup = cls.setup_context is not Function.setup_context
        with set_grad_enabled(False):
            output = cls.forward(*args, **kwargs) if separate_setup else cls.forward(ctx, *args, **kwargs)
            if separate_setup:
                cls.setup_context(ctx, args, output)
        outputs = output if isinstance(output, tuple) else (output,)
        for t in ctx._dirty:
            if not any(t is a for a in args):
                raise RuntimeError("mark_dirty only accepts input tensors, but argument was not an input")
            if is_grad_enabled() and t._requires_grad and t._grad_fn is None:
                raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
        if not (is_grad_enabled() and any(needs)):
            return output
        if not any(isinstance(o, Tensor) for o in outputs):
            # PyTorch passes such a result through and the gradient is silently lost; fastnn
            # says so (a NumPy array here usually means a forward that forgot fastnn.tensor)
            raise TypeError(f"{cls.__name__}.forward returned {type(output).__name__}, not a Tensor, although an "
                            f"input requires grad: return Tensors (fastnn.tensor(array) makes one from an array)")
        inputs = tuple(edge(a) if need else None for a, need in zip(args, needs))
        meta = [(o.data.shape, o.data.dtype) if isinstance(o, Tensor) else None for o in outputs]
        node = Node(_FunctionBackward(cls, meta), ctx, inputs, n_outputs=len(outputs))
        wrapped = [_function_output(o, i, node, ctx) if isinstance(o, Tensor) else o for i, o in enumerate(outputs)]
        return tuple(wrapped) if isinstance(output, tuple) else wrapped[0]


def _function_output(o, index: int, node: Node, ctx: FunctionCtx):
    """Output ``index`` of a user Function as the caller gets it: a new Tensor on ``o``'s memory
    (and version counter) whose ``grad_fn`` is the Function's node; the input itself for a
    ``mark_dirty`` input; cut from the graph when non-differentiable or not floating point."""
    from .tensor import Tensor
    if any(o is t for t in ctx._non_differentiable) or o.dtype.kind not in "fc":
        return o.detach() if not any(o is t for t in ctx._dirty) else o
    if any(o is t for t in ctx._dirty):
        result = o
        result._version_counter.value += 1
    else:
        result = Tensor._wrap(o.data)
        result._version_counter = o._version_counter
    result._grad_fn, result._requires_grad, result._output_nr = node, True, index
    return result


class _FunctionBackward:
    """The backward of a user :class:`Function` as the engine sees it: it takes the output
    gradients (an array, or ``{output_nr: array}`` for several outputs), calls the user's
    ``backward`` once with Tensors, checks what it returns and hands arrays back."""

    __slots__ = ("user", "outputs")

    def __init__(self, user, outputs):
        self.user, self.outputs = user, outputs     # outputs: [(shape, dtype), or None if not a Tensor]

    def backward_name(self) -> str:
        return self.user.__name__ + "Backward"

    def backward(self, ctx, grads):
        from .tensor import Tensor
        if not isinstance(grads, dict):
            grads = {0: grads}
        given = [grads.get(i) for i in range(len(self.outputs))]
        tensors = [Tensor._wrap(g) if g is not None else
                   Tensor._wrap(np.zeros(*meta)) if ctx.materialize_grads and meta is not None else None
                   for g, meta in zip(given, self.outputs)]
        with set_grad_enabled(False):
            result = self.user.backward(ctx, *tensors)
        result = result if isinstance(result, tuple) else (result,)
        n = len(ctx.needs_input_grad)
        if len(result) < n or any(g is not None for g in result[n:]):
            raise RuntimeError(f"function {self.backward_name()} returned an incorrect number of gradients "
                               f"(expected {n}, got {len(result)})")
        arrays = []
        for i, (g, need, is_tensor) in enumerate(zip(result, ctx.needs_input_grad, ctx._tensor_inputs)):
            if g is not None and not is_tensor:
                raise RuntimeError(f"function {self.backward_name()} returned a gradient different than None at "
                                   f"position {i + 1}, but the corresponding forward input was not a Variable")
            if g is None or not need:
                arrays.append(None)
            elif isinstance(g, Tensor):
                arrays.append(g.data)
            else:
                raise RuntimeError(f"expected Variable or None (got {type(g).__name__}): function "
                                   f"{self.backward_name()} must return a Tensor (or None) for each input of forward")
        return tuple(arrays)


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


def _sum_to(grad: np.ndarray, shape) -> np.ndarray | None:
    """``grad`` summed down to ``shape`` when ``shape`` broadcasts to it (PyTorch accepts such a
    gradient from a backward and reduces it), else None."""
    try:
        if np.broadcast_shapes(tuple(shape), grad.shape) != grad.shape:
            return None
    except ValueError:
        return None
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape) if axes else grad.reshape(shape)


def _input_grads(node: Node, grad: np.ndarray):
    """Call ``node``'s backward and check what it returns: one gradient (or None) per input,
    each with its input's shape (a broadcast one is summed down, as PyTorch does) and dtype."""
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
            reduced = _sum_to(ig, t.shape)
            if reduced is None:
                raise RuntimeError(f"Function {node.name()} returned an invalid gradient at index "
                                   f"{node.inputs.index(t)} - got {list(ig.shape)} but expected shape compatible "
                                   f"with {list(t.shape)}")
            ig = reduced
        yield t, ig


def backward(tensor, grad=None, retain_graph: bool = False, capture: dict | None = None) -> None:
    """Accumulate d(tensor)/d(leaf) * grad into every leaf's ``.grad`` (PyTorch semantics).

    With ``capture`` ({id(tensor): [tensor, None]} for the tensors :func:`grad` asks about),
    the gradients of those tensors are stored there instead, and no ``.grad`` is touched."""
    from .tensor import Tensor
    from .types import Size
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
            raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {Size(grad.shape)} and output[0] has "
                               f"a shape of {tensor.shape}.")
        grad = grad.astype(tensor.dtype, copy=False)

    accumulate = _accumulate_leaf if capture is None else _capturer(capture)
    if tensor.grad_fn is None:          # a leaf: its gradient with respect to itself
        accumulate(tensor, _run_hooks(tensor._backward_hooks, grad))
        return
    captured_nodes = {} if capture is None else _nodes_to_capture(capture)

    order = _topological_order(tensor.grad_fn)
    grads: dict = {}                    # summed gradient of each node's output ({output_nr: grad} for several)
    _add_grad(grads, tensor.grad_fn, tensor._output_nr, grad)
    leaf_grads: dict = {}               # summed gradient of each leaf so far
    for node, completed_leaves in zip(order, _leaves_completed_by(order)):
        g = grads.pop(node, None)
        if g is not None:               # else no gradient flows here (e.g. a detached branch)
            if node.ctx is None:
                raise RuntimeError(_FREED)
            if node.ctx.__class__ is Context and node.ctx.saved_versions:
                node._check_saved_versions()
            per_output = g if node.n_outputs > 1 else {0: g}
            for nr, g_out in per_output.items():
                g_out = per_output[nr] = _run_hooks(node.hooks_of(nr), g_out)
                if (node, nr) in captured_nodes:
                    capture[id(captured_nodes[node, nr])][1] = g_out
                elif node.retained_of(nr) is not None and capture is None:
                    _accumulate_leaf(node.retained_of(nr), g_out)
            g = per_output if node.n_outputs > 1 else per_output[0]
            for t, ig in _input_grads(node, g):
                if ig is None:
                    continue
                if _anomaly.enabled and not np.all(np.isfinite(ig)):
                    raise RuntimeError(f"Function '{node.name()}' returned nan values in its "
                                       f"{node.inputs.index(t)}th output.")
                if t.grad_fn is None:
                    previous = leaf_grads.get(t)
                    leaf_grads[t] = ig if previous is None else previous + ig
                else:
                    _add_grad(grads, t.grad_fn, t.output_nr, ig)
            if not retain_graph:
                _release(node)          # drop saved arrays: the memory goes back now
        for leaf in completed_leaves:
            if leaf in leaf_grads:
                accumulate(leaf, _run_hooks(leaf._backward_hooks, leaf_grads.pop(leaf)))


def _capturer(capture: dict):
    def store(leaf, grad):
        if id(leaf) in capture:
            capture[id(leaf)][1] = grad
    return store


def _nodes_to_capture(capture: dict) -> dict:
    return {(t.grad_fn, t._output_nr): t for t, _ in capture.values() if t.grad_fn is not None}


def _add_grad(grads: dict, node: Node, output_nr: int, g: np.ndarray) -> None:
    """Add ``g`` into the gradient of ``node``'s output ``output_nr``."""
    if node.n_outputs == 1:
        previous = grads.get(node)
        grads[node] = g if previous is None else previous + g
    else:
        per_output = grads.setdefault(node, {})
        previous = per_output.get(output_nr)
        per_output[output_nr] = g if previous is None else previous + g


def _release(node: Node) -> None:
    """Free what ``node`` saved for backward, once backward has used it (unless
    ``retain_graph``). As in PyTorch, only saved values are freed: a node that saved none
    (an addition, a sum) can run again, and a user Function keeps its ctx attributes while
    ``ctx.saved_tensors`` raises the "backward through the graph a second time" error."""
    ctx = node.ctx
    if isinstance(ctx, FunctionCtx):
        ctx._saved = None
    elif ctx is not None and _holds_arrays(ctx):
        node.ctx = None


def _holds_arrays(ctx) -> bool:
    """Did a Context keep arrays (saved or as attributes, within tuples, lists, dicts and
    nested Contexts), or only metadata such as shapes?"""
    if ctx.saved_tensors:
        return True
    stack = list(getattr(ctx, "__dict__", {}).values())
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind is tuple or kind is list:
            stack.extend(value)
        elif kind is dict:
            stack.extend(value.values())
        elif isinstance(value, (np.ndarray, Context)):
            return True
    return False


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned instead of accumulated
    into ``.grad`` (PyTorch's ``torch.autograd.grad``)."""
    from .tensor import Tensor
    if create_graph:
        raise NotImplementedError("fastnn does not differentiate through backward (create_graph=True): "
                                  "its backward formulas run on NumPy arrays")
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    single = isinstance(inputs, Tensor)
    inputs = (inputs,) if single else tuple(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,) * len(outputs) if grad_outputs is None else (grad_outputs,)
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}) does not require grad")
    total: dict = {}
    for k, (out, g) in enumerate(zip(outputs, grad_outputs)):
        capture = {id(t): [t, None] for t in inputs}
        last = k == len(outputs) - 1
        backward(out, g, retain_graph=bool(retain_graph) or not last, capture=capture)
        for key, (_, value) in capture.items():
            if value is not None:
                total[key] = value if key not in total else total[key] + value
    result = []
    for i, t in enumerate(inputs):
        value = total.get(id(t))
        if value is None:
            if not (allow_unused or materialize_grads):
                raise RuntimeError(f"One of the differentiated Tensors (input {i}) appears to not have been used "
                                   f"in the graph. Set allow_unused=True if this is the desired behavior.")
            result.append(Tensor._wrap(np.zeros_like(t.data)) if materialize_grads else None)
        else:
            result.append(Tensor._wrap(np.asarray(value, dtype=t.data.dtype)))
    return tuple(result)


# ------------------------------------------------------------------ anomaly detection

class _AnomalyMode(threading.local):
    enabled = False


_anomaly = _AnomalyMode()


def is_anomaly_enabled() -> bool:
    return _anomaly.enabled


class set_detect_anomaly:
    """While on, backward checks every gradient it computes and names the operation whose
    backward produced the first NaN or infinity (PyTorch's ``detect_anomaly``): slower, for
    finding where a training run goes wrong."""

    def __init__(self, mode: bool = True, check_nan: bool = True):
        self._previous = _anomaly.enabled
        self._mode = bool(mode) and check_nan
        _anomaly.enabled = self._mode

    def __enter__(self):
        _anomaly.enabled = self._mode
        return self

    def __exit__(self, *exc):
        _anomaly.enabled = self._previous
        return False


class detect_anomaly(set_detect_anomaly):
    """``with fastnn.autograd.detect_anomaly():`` (see :class:`set_detect_anomaly`)."""

    def __init__(self, check_nan: bool = True):
        self._previous = _anomaly.enabled
        self._mode = check_nan


def __getattr__(name):
    """``fastnn.autograd.gradcheck`` and ``.functional`` are fastnn's, imported on first use
    (they need Tensors, which import this module)."""
    if name == "gradcheck":
        from .gradcheck import gradcheck
        return gradcheck
    if name in ("functional", "profiler"):
        import importlib
        return importlib.import_module("fastnn.autograd_functional" if name == "functional" else "fastnn.profiler")
    raise AttributeError(f"module 'fastnn.autograd' has no attribute {name!r}")
