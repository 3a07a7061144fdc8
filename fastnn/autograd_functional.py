"""``fastnn.autograd.functional``: PyTorch's ``torch.autograd.functional`` for functions of
Tensors, computed with fastnn's reverse mode.

* :func:`vjp` — vᵀ J, one backward pass (``fastnn.autograd.grad`` with ``v`` as the
  gradient of the outputs);
* :func:`jacobian` — the whole J, one backward pass *per output element* (row j of J is
  the gradient of ``out.reshape(-1)[j]``), the graph kept between them;
* :func:`jvp` — J v, contracted from that Jacobian (PyTorch uses the "double-vjp" trick,
  which needs a backward that is itself differentiable; fastnn's backward formulas run on
  NumPy arrays, so it builds J instead: exact, but one backward per output element).

Not provided, for the same reason (no double backward): ``hessian``, ``hvp``, ``vhp`` raise
``NotImplementedError``, and so does ``create_graph=True``.

Shapes and nesting are PyTorch's: ``jacobian`` of one input and one output is one Tensor of
shape ``out.shape + in.shape``; a tuple of inputs gives a tuple (one per input); a tuple of
outputs a tuple (one per output); both, a tuple of tuples ``J[i][j] = d out_i / d in_j``.
The inputs are detached copies (the function sees new leaves), results carry no graph.
"""
from __future__ import annotations

import numpy as np

from .autograd import enable_grad, grad as _grad
from .tensor import Tensor

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]

_NO_DOUBLE_BACKWARD = ("fastnn does not differentiate through backward (its backward formulas run on NumPy "
                       "arrays), so {what} is not available")


def _as_tuple(value, arg_name, fn_name):
    """(was it a tuple, the tuple of Tensors), with PyTorch's TypeError otherwise."""
    is_tuple = isinstance(value, tuple)
    values = value if is_tuple else (value,)
    for i, el in enumerate(values):
        if not isinstance(el, Tensor):
            where = f"value at index {i}" if is_tuple else f"given {arg_name}"
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors but "
                            f"the {where} has type {type(el)}.")
    return is_tuple, values


def _fresh_leaves(inputs):
    """New leaves that require grad (so the function's graph starts from them, even when an
    input is also captured by the function under its own name)."""
    return tuple(inp.detach().requires_grad_(True) for inp in inputs)


def _unpack(res, to_unpack):
    """Undo the tuple wrapping: ``to_unpack`` a bool, or (outputs were a tuple, inputs were)."""
    if isinstance(to_unpack, tuple):
        outputs_tuple, inputs_tuple = to_unpack
        if not inputs_tuple:
            res = tuple(el[0] for el in res)
        if not outputs_tuple:
            res = res[0]
        return res
    return res if to_unpack else res[0]


def _check_outputs_require_grad(outputs, strict):
    if not strict:
        return
    for i, out in enumerate(outputs):
        if not out.requires_grad:
            raise RuntimeError(f"Output {i} of the user-provided function does not require gradients. The outputs "
                               f"must be computed in a differentiable manner from the input when running in strict "
                               f"mode.")


def _no_create_graph(create_graph, fn):
    if create_graph:
        raise NotImplementedError(_NO_DOUBLE_BACKWARD.format(what=f"{fn}(create_graph=True)"))


def _grads(outputs, inputs, grad_outputs=None):
    """``autograd.grad`` over the outputs that require grad (None for an input no output
    depends on; all None when no output requires grad), keeping the graph."""
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs or (None,) * len(outputs)) if o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    return _grad(tuple(o for o, _ in pairs), inputs, tuple(g for _, g in pairs), retain_graph=True,
                 allow_unused=True)


def _validate_v(v, other, is_other_tuple):
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got {len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for idx, (el_v, el_other) in enumerate(zip(v, other)):
        if tuple(el_v.shape) != tuple(el_other.shape):
            prepend = f"Entry {idx} in " if is_other_tuple else ""
            raise RuntimeError(f"{prepend}v has invalid size: should be {el_other.shape} but got {el_v.shape}.")


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), vᵀ J)``: the outputs (detached) and the vector-Jacobian product, one
    Tensor per input (shaped like it). ``v`` is shaped like the outputs; it may be omitted
    when the function returns a single one-element Tensor. ``strict=True`` raises when an
    output does not depend on the inputs, or an input does not reach the outputs (instead
    of a zero gradient)."""
    _no_create_graph(create_graph, "vjp")
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _fresh_leaves(inputs)
        is_outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "vjp")
        _check_outputs_require_grad(outputs, strict)
        if v is not None:
            _, v = _as_tuple(v, "v", "vjp")
            v = tuple(el.detach() for el in v)
            _validate_v(v, outputs, is_outputs_tuple)
        elif len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the user-provided function returns a single "
                               "Tensor with a single element.")
        grads = _grads(outputs, inputs, v)
    result = []
    for i, (g, inp) in enumerate(zip(grads, inputs)):
        if g is None:
            if strict:
                raise RuntimeError(f"The output of the user-provided function is independent of input {i}. This "
                                   f"is not allowed in strict mode.")
            g = Tensor._wrap(np.zeros(inp.shape, inp.data.dtype))
        result.append(g.detach())
    outputs = tuple(o.detach() for o in outputs)
    return _unpack(outputs, is_outputs_tuple), _unpack(tuple(result), is_inputs_tuple)


def _jacobian_arrays(outputs, inputs, strict):
    """J[i][j] as NumPy arrays of shape out_i.shape + in_j.shape, and whether any output
    element reached each input: one backward per output element."""
    reached = [False] * len(inputs)
    jac = []
    for i, out in enumerate(outputs):
        rows = [np.zeros((out.numel(),) + tuple(inp.shape), inp.data.dtype) for inp in inputs]
        if out.requires_grad:
            flat = out.reshape(-1)
            for k in range(out.numel()):
                for j, g in enumerate(_grads((flat[k],), inputs)):
                    if g is not None:
                        rows[j][k] = g.data
                        reached[j] = True
                    elif strict:
                        raise RuntimeError(f"Output {i} of the user-provided function is independent of input {j}. "
                                           f"This is not allowed in strict mode.")
        elif strict:                  # (checked before, kept for an output with no elements)
            raise RuntimeError(f"Output {i} of the user-provided function does not require gradients.")
        jac.append(tuple(r.reshape(tuple(out.shape) + tuple(inp.shape)) for r, inp in zip(rows, inputs)))
    return jac, reached


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs`` (a Tensor or a tuple of Tensors), by reverse
    mode: one ``fastnn.autograd.grad`` per element of the outputs, the graph retained between
    them. ``J[i][j]`` has shape ``outputs[i].shape + inputs[j].shape`` (see the module
    docstring for the nesting). An input an output does not depend on gets zeros (or an
    error with ``strict=True``). ``vectorize`` (PyTorch's vmap batching of those backward
    passes) and ``strategy='forward-mode'`` (with ``vectorize=True``) give the same numbers:
    fastnn computes them the one way it has."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
                             'function has more outputs than inputs, "forward-mode" tends to be more performant. '
                             'Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError("torch.autograd.functional.jacobian: `create_graph=True` and "
                                      '`strategy="forward-mode"` are not supported together (yet). Please either '
                                      'set `create_graph=False` or `strategy="reverse-mode"`.')
        if strict:
            raise RuntimeError('torch.autograd.functional.jacobian: `strict=True` and `strategy="forward-mode"` are '
                               'not supported together (yet). Please either set `strict=False` or '
                               '`strategy="reverse-mode"`.')
        if not vectorize:
            raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse Hessian is"
                                      "only implemented for `vectorize=True`.")  # (sic: PyTorch's text)
    _no_create_graph(create_graph, "jacobian")
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _fresh_leaves(inputs)
        is_outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "jacobian")
        _check_outputs_require_grad(outputs, strict)
        if vectorize and strict:
            raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not "
                               "supported together. Please either set `strict=False` or `vectorize=False`.")
        jac, _ = _jacobian_arrays(outputs, inputs, strict)
    jac = tuple(tuple(Tensor._wrap(a) for a in row) for row in jac)
    return _unpack(jac, (is_outputs_tuple, is_inputs_tuple))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), J v)``: the outputs (detached) and the Jacobian-vector product, one
    Tensor per output. ``v`` is shaped like the inputs (may be omitted for a single
    one-element input). fastnn builds J by :func:`jacobian` (one backward per output
    element) and contracts it with v: the values are PyTorch's, the cost is not."""
    _no_create_graph(create_graph, "jvp")
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _fresh_leaves(inputs)
        if v is not None:
            _, v = _as_tuple(v, "v", "jvp")
            v = tuple(el.detach() for el in v)
            _validate_v(v, inputs, is_inputs_tuple)
        elif len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                               "single Tensor with a single element.")
        else:
            v = (Tensor._wrap(np.ones(inputs[0].shape, inputs[0].data.dtype)),)
        is_outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "jvp")
        _check_outputs_require_grad(outputs, strict)
        jac, reached = _jacobian_arrays(outputs, inputs, strict=False)
    if strict:
        for j, r in enumerate(reached):
            if not r:
                raise RuntimeError(f"The output of the user-provided function is independent of input {j}. This is "
                                   f"not allowed in strict mode.")
    result = []
    for out, row in zip(outputs, jac):
        total = np.zeros(tuple(out.shape), out.data.dtype if out.data.dtype.kind == "f" else row[0].dtype)
        for J, vj in zip(row, v):
            total = total + np.tensordot(J, vj.data, axes=vj.ndim).astype(total.dtype)
        result.append(Tensor._wrap(np.asarray(total)))
    outputs = tuple(o.detach() for o in outputs)
    return _unpack(outputs, is_outputs_tuple), _unpack(tuple(result), is_outputs_tuple)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """Not available: a Hessian needs the backward pass to be differentiated."""
    raise NotImplementedError(_NO_DOUBLE_BACKWARD.format(what="hessian"))


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """Not available: a Hessian-vector product needs a differentiable backward pass."""
    raise NotImplementedError(_NO_DOUBLE_BACKWARD.format(what="hvp"))


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """Not available: a vector-Hessian product needs a differentiable backward pass."""
    raise NotImplementedError(_NO_DOUBLE_BACKWARD.format(what="vhp"))
