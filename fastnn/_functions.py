"""PyTorch's top-level tensor functions (``fastnn.sin(x)``, ``fastnn.sum(x, 1)``...), made from
the Tensor methods of the same name so that each exists once: ``fastnn.sum(x, dim=1)`` is
``x.sum(dim=1)``. The function's signature is the method's with ``input`` for ``self`` (what
``inspect.signature`` and ``help()`` show), plus torch's ``out=`` where torch has it."""
from __future__ import annotations

import functools
import inspect

from .tensor import Tensor, as_tensor_arg

# method names that torch also offers as functions taking the tensor first: each op family lists
# its own (fastnn/ops/<family>.py, FUNCTIONS), plus the methods defined on Tensor itself
from .ops import linalg as _linalg, pointwise as _pointwise, reduction as _reduction, shape as _shape  # noqa: E402

METHOD_FUNCTIONS: list[str] = sorted({
    *_pointwise.FUNCTIONS, *_reduction.FUNCTIONS, *_shape.FUNCTIONS, *_linalg.FUNCTIONS,
    # the activations (fastnn/ops/activation.py, methods on Tensor)
    "relu", "sigmoid", "tanh", "softmax", "log_softmax",
    # arithmetic and comparisons by name (methods on Tensor)
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "pow", "eq", "ne", "lt", "le",
    "gt", "ge", "not_equal", "less", "less_equal", "greater", "greater_equal", "equal", "isclose", "allclose",
    "bitwise_not", "bitwise_and", "bitwise_or", "bitwise_xor", "clone", "detach",
})


def _function_from_method(name: str):
    method = getattr(Tensor, name)

    @functools.wraps(method)
    def function(input, *args, out=None, **kwargs):
        result = getattr(as_tensor_arg(input, "input"), name)(*args, **kwargs)
        if out is None:
            return result
        return out.copy_(result) if isinstance(result, Tensor) else result
    sig = inspect.signature(method)
    params = list(sig.parameters.values())
    params[0] = params[0].replace(name="input")
    if "out" not in sig.parameters:
        params.append(inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None))
    params.sort(key=lambda p: p.kind)
    function.__signature__ = sig.replace(parameters=params)
    function.__name__ = function.__qualname__ = name
    return function


def _inplace_function(name: str):
    """``fastnn.sin_(x)``: torch's top-level in-place forms are the methods ``x.sin_()``."""
    def function(input, *args, **kwargs):
        return getattr(input, name)(*args, **kwargs)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = getattr(Tensor, name).__doc__
    return function


def export(namespace: dict) -> list[str]:
    """Put every function of METHOD_FUNCTIONS (and the in-place form ``name_`` of each that
    has one) into ``namespace`` (fastnn's), returning the names."""
    names = list(METHOD_FUNCTIONS)
    for name in METHOD_FUNCTIONS:
        namespace[name] = _function_from_method(name)
    for name in METHOD_FUNCTIONS:
        if hasattr(Tensor, name + "_") and name + "_" not in namespace:
            namespace[name + "_"] = _inplace_function(name + "_")
            names.append(name + "_")
    return names
