"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check, _implementation_options, _next_step


class RMSprop(Optimizer):
    """PyTorch's RMSprop. For each parameter θ with gradient g::

        g = -g if maximize
        g = g + weight_decay * θ
        v = α v + (1 - α) g²                          (square_avg)
        centered:  ḡ = α ḡ + (1 - α) g;  d = sqrt(v - ḡ²) + eps      (grad_avg)
        otherwise: d = sqrt(v) + eps
        momentum > 0:  b = momentum * b + g / d;  θ = θ - lr * b
        otherwise:     θ = θ - lr * g / d

    State per parameter: ``step``, ``square_avg`` (+ ``momentum_buffer``, ``grad_avg``).
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0,
                 momentum: float = 0, centered: bool = False, capturable: bool = False, foreach=None,
                 maximize: bool = False, differentiable: bool = False):
        _check(0.0 <= lr, "learning rate", lr)
        _check(0.0 <= eps, "epsilon value", eps)
        _check(0.0 <= momentum, "momentum value", momentum)
        _check(0.0 <= weight_decay, "weight_decay value", weight_decay)
        _check(0.0 <= alpha, "alpha value", alpha)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize,
                        **_implementation_options(capturable=capturable, foreach=foreach,
                                                  differentiable=differentiable))
        super().__init__(params, defaults)

    def _update(self, group):
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        weight_decay, momentum, centered = group["weight_decay"], group["momentum"], group["centered"]
        for param, grad, state in self._params_with_grad(group):
            _next_step(state, param, "square_avg", momentum > 0 and "momentum_buffer", centered and "grad_avg")
            if weight_decay != 0:
                grad = grad + weight_decay * param
            square_avg = state["square_avg"]
            square_avg *= alpha
            square_avg += (1 - alpha) * grad * grad
            if centered:
                grad_avg = state["grad_avg"]
                grad_avg += (1 - alpha) * (grad - grad_avg)
                avg = np.sqrt(square_avg - grad_avg * grad_avg)
            else:
                avg = np.sqrt(square_avg)
            avg += param.dtype.type(eps)
            if momentum > 0:
                buf = state["momentum_buffer"]
                buf *= momentum
                buf += grad / avg
                param -= lr * buf
            else:
                param -= lr * grad / avg
