"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""
from __future__ import annotations

from .optimizer import Optimizer


class SGD(Optimizer):
    """PyTorch's SGD. For each parameter θ with gradient g, at step t::

        g = -g if maximize
        g = g + weight_decay * θ                                   (L2 penalty)
        b = g if t == 1 else momentum * b + (1 - dampening) * g     (if momentum != 0)
        g = g + momentum * b if nesterov else b
        θ = θ - lr * g

    State per parameter: ``momentum_buffer`` (when momentum != 0).
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, group):
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        weight_decay, nesterov = group["weight_decay"], group["nesterov"]
        for param, grad, state in self._params_with_grad(group):
            if weight_decay != 0:
                grad = grad + weight_decay * param
            if momentum != 0:
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = grad.copy()
                else:
                    buf *= momentum
                    buf += (1 - dampening) * grad
                grad = grad + momentum * buf if nesterov else buf
            param -= lr * grad
