"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer


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
                 momentum: float = 0, centered: bool = False, *, maximize: bool = False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if alpha < 0.0:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, group):
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        weight_decay, momentum, centered = group["weight_decay"], group["momentum"], group["centered"]
        for param, grad, state in self._params_with_grad(group):
            if not state:
                state["step"] = 0
                state["square_avg"] = np.zeros_like(param)
                if momentum > 0:
                    state["momentum_buffer"] = np.zeros_like(param)
                if centered:
                    state["grad_avg"] = np.zeros_like(param)
            state["step"] += 1
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
