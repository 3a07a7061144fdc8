"""Adagrad: per-coordinate learning rates that shrink with the accumulated squared gradients."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check, _implementation_options


class Adagrad(Optimizer):
    """PyTorch's Adagrad. For each parameter θ with gradient g, at step t (from 1)::

        g = -g if maximize
        g = g + weight_decay * θ
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g²                           (s starts at initial_accumulator_value)
        θ = θ - clr * g / (sqrt(s) + eps)

    State per parameter (created at construction, as PyTorch): ``step``, ``sum``.
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach=None, *, maximize: bool = False,
                 differentiable: bool = False, fused=None):
        _check(0.0 <= lr, "learning rate", lr)
        _check(0.0 <= lr_decay, "lr_decay value", lr_decay)
        _check(0.0 <= weight_decay, "weight_decay value", weight_decay)
        _check(0.0 <= initial_accumulator_value, "initial_accumulator_value value", initial_accumulator_value)
        _check(0.0 <= eps, "epsilon value", eps)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize,
                        **_implementation_options(foreach=foreach, differentiable=differentiable, fused=fused))
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = {"step": 0,
                                 "sum": np.full_like(p.data, group["initial_accumulator_value"])}

    def _update(self, group):
        lr, lr_decay, eps, weight_decay = group["lr"], group["lr_decay"], group["eps"], group["weight_decay"]
        for param, grad, state in self._params_with_grad(group):
            if not state:       # a parameter group added after construction
                state.update(step=0, sum=np.full_like(param, group["initial_accumulator_value"]))
            state["step"] += 1
            step = state["step"]
            if weight_decay != 0:
                grad = grad + weight_decay * param
            clr = lr / (1 + (step - 1) * lr_decay)
            state["sum"] += grad * grad
            param -= param.dtype.type(clr) * grad / (np.sqrt(state["sum"]) + param.dtype.type(eps))
