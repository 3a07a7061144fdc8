"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""
from __future__ import annotations

from .optimizer import Optimizer, _check, _implementation_options


class SGD(Optimizer):
    """PyTorch's SGD. For each parameter θ with gradient g, at step t::

        g = -g if maximize
        g = g + weight_decay * θ                                   (L2 penalty)
        b = g if t == 1 else momentum * b + (1 - dampening) * g     (if momentum != 0)
        g = g + momentum * b if nesterov else b
        θ = θ - lr * g

    State per parameter: ``momentum_buffer`` (when momentum != 0). The first step starts the
    buffer at g itself (no dampening), which is why the buffer is created lazily.
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False, foreach=None,
                 differentiable: bool = False, fused=None):
        _check(lr >= 0.0, "learning rate", lr)
        _check(momentum >= 0.0, "momentum value", momentum)
        _check(weight_decay >= 0.0, "weight_decay value", weight_decay)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize,
                        **_implementation_options(foreach=foreach, differentiable=differentiable, fused=fused))
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
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
