"""The machinery behind ``Module.register_full_backward_hook``.

A full backward hook is called as ``hook(module, grad_input, grad_output)`` once per
backward through one call of the module, with *all* the gradients with respect to the
module's tensor inputs and outputs, and may return replacements for ``grad_input``. The
engine calls each node once, so the trick is to make one node see several gradients
together. That is a *gate*::

    x1 ──┐                       ┌── _Pass ── x1'  (what forward sees)
    x2 ──┴── _Gate ── token ─────┴── _Pass ── x2'

Each ``_Pass`` is an identity on its tensor whose edge goes to the gate's token, not to
``x_i``: its backward only files its gradient with the gate. Because every ``_Pass``
hangs from the token, the topological order runs the gate's node after all of them, with
every gradient filed; the gate's backward hands them to a callback (the user hooks) and
returns what it gives back as the gradients of ``x1, x2``. One gate closes over the
inputs (it calls the hooks), another over the outputs (it records ``grad_output``), as
PyTorch's ``BackwardHookFunction`` does.
"""
from __future__ import annotations

import numpy as np

from ..autograd import ArrayFunction, is_grad_enabled
from ..tensor import Tensor


class _Mailbox:
    """Where the ``_Pass`` nodes of one gate file their gradients (one slot per tensor)."""

    def __init__(self, size: int, on_complete):
        self.size, self.on_complete = size, on_complete
        self.grads = [None] * size

    def deliver(self):
        """The gradients to send on, after ``on_complete`` saw them; then empty the slots
        (with ``retain_graph`` the same gate runs again in the next backward)."""
        grads, self.grads = self.grads, [None] * self.size
        return tuple(self.on_complete(grads))


class _Gate(ArrayFunction):
    """Joins several tensors; its output is a 0-d token for the ``_Pass`` nodes to hang from."""

    @staticmethod
    def forward(ctx, *arrays, mailbox):
        ctx.mailbox = mailbox
        return np.zeros((), dtype=arrays[0].dtype)

    @staticmethod
    def backward(ctx, token_grad):
        return ctx.mailbox.deliver()


class _Pass(ArrayFunction):
    """Identity on ``x`` (given as an array: no edge to it) that files its gradient in slot
    ``index`` of the mailbox and sends a zero to the token."""

    @staticmethod
    def forward(ctx, token, x, mailbox, index):
        ctx.mailbox, ctx.index, ctx.token_dtype = mailbox, index, token.dtype
        return x.view()

    @staticmethod
    def backward(ctx, grad):
        ctx.mailbox.grads[ctx.index] = grad
        return np.zeros((), dtype=ctx.token_dtype)


def _gated(values: tuple, on_complete):
    """``values`` with each tensor that requires grad replaced by its ``_Pass`` through one
    new gate, and the positions replaced (None when there is nothing to watch)."""
    positions = [i for i, v in enumerate(values) if isinstance(v, Tensor) and v.requires_grad]
    if not positions or not is_grad_enabled():
        return values, None
    mailbox = _Mailbox(len(positions), on_complete)
    token = _Gate.apply(*(values[i] for i in positions), mailbox=mailbox)
    out = list(values)
    for k, i in enumerate(positions):
        out[i] = _Pass.apply(token, values[i].data, mailbox=mailbox, index=k)
    return out, positions


def _as_grad(value):
    """A gradient a hook returned (Tensor, array or None) as an array or None."""
    if value is None or isinstance(value, np.ndarray):
        return value
    if isinstance(value, Tensor):
        return value.data
    raise TypeError(f"a backward hook must return Tensors or None in grad_input, got {type(value).__name__}")


class BackwardHook:
    """The full backward hooks of one module call (PyTorch's ``torch.utils.hooks.BackwardHook``).

    ``grad_input`` has one entry per positional argument of the call, as PyTorch gives it:
    None for an argument that is not a tensor, zeros for a tensor that has no gradient
    (it does not require grad, or forward did not use it). ``grad_output`` has one entry
    per element of a Tensor or tuple output, None where no gradient reached it. When no
    input requires grad, the hooks are called from the output gate with ``grad_input``
    all None, and may not return gradients."""

    def __init__(self, module, hooks):
        self.module, self.hooks = module, tuple(hooks)     # the hooks registered at forward time
        self.input_templates = ()       # (shape, dtype) of each tensor argument, None for the others
        self.input_positions = None     # which arguments went through the input gate
        self.n_outputs = 0
        self.output_positions = None
        self.grad_outputs = None

    def setup_inputs(self, args: tuple) -> tuple:
        self.input_templates = tuple((a.shape, a.dtype) if isinstance(a, Tensor) else None for a in args)
        args, self.input_positions = _gated(args, self._call_hooks)
        return tuple(args)

    def setup_outputs(self, output):
        single = not isinstance(output, tuple)
        values = (output,) if single else output
        self.n_outputs = len(values)
        gated, self.output_positions = _gated(values, self._record_grad_outputs)
        if single:
            return gated[0]
        return type(output)(*gated) if hasattr(output, "_fields") else tuple(gated)   # namedtuples too

    def _record_grad_outputs(self, grads):
        grad_outputs = [None] * self.n_outputs
        for i, g in zip(self.output_positions, grads):
            grad_outputs[i] = None if g is None else Tensor._wrap(g)
        self.grad_outputs = tuple(grad_outputs)
        if self.input_positions is None:           # no input gate will call the hooks: call them now
            grad_input = (None,) * len(self.input_templates)
            for hook in self.hooks:
                result = hook(self.module, grad_input, self.grad_outputs)
                if result is not None and not (isinstance(result, tuple) and all(g is None for g in result)):
                    raise RuntimeError("backward hook of a module whose inputs do not require grad returned "
                                       "gradients for them; it must return None (or a tuple of None)")
            self.grad_outputs = None
        return grads                               # the output gradients flow on unchanged

    def _call_hooks(self, grads):
        if self.grad_outputs is None:              # gradient reached the inputs without passing the outputs
            return grads
        grad_input = [None if t is None else Tensor._wrap(np.zeros(*t)) for t in self.input_templates]
        for i, g in zip(self.input_positions, grads):
            if g is not None:
                grad_input[i] = Tensor._wrap(g)
        grad_input = tuple(grad_input)
        for hook in self.hooks:
            result = hook(self.module, grad_input, self.grad_outputs)
            if result is None:
                continue
            if not isinstance(result, tuple):
                raise TypeError(f"a backward hook must return None or a tuple (grad_input), got "
                                f"{type(result).__name__}")
            if len(result) != len(grad_input):
                raise RuntimeError(f"backward hook returned an invalid number of grad_input, got {len(result)}, "
                                   f"but expected {len(grad_input)}")
            grad_input = result
        self.grad_outputs = None
        return [_as_grad(grad_input[i]) for i in self.input_positions]
