"""Adadelta: a per-coordinate step size from the ratio of two running RMS averages, so the
update has the units of the parameter and needs no hand-tuned learning rate."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check, _implementation_options, _next_step


class Adadelta(Optimizer):
    """PyTorch's Adadelta (Zeiler, 2012). For each parameter θ with gradient g::

        g = -g if maximize
        g = g + weight_decay * θ
        v = ρ v + (1 - ρ) g²                          (square_avg)
        Δ = sqrt(u + eps) / sqrt(v + eps) * g         (u: acc_delta, the RMS of past updates)
        u = ρ u + (1 - ρ) Δ²
        θ = θ - lr * Δ

    ``lr`` only scales Δ (default 1.0, the paper's method). State per parameter: ``step``,
    ``square_avg``, ``acc_delta``.
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0,
                 foreach=None, *, capturable: bool = False, maximize: bool = False, differentiable: bool = False):
        _check(0.0 <= lr, "learning rate", lr)
        _check(0.0 <= rho <= 1.0, "rho value", rho)
        _check(0.0 <= eps, "epsilon value", eps)
        _check(0.0 <= weight_decay, "weight_decay value", weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        **_implementation_options(capturable=capturable, foreach=foreach,
                                                  differentiable=differentiable))
        super().__init__(params, defaults)

    def _update(self, group):
        lr, rho, eps, weight_decay = group["lr"], group["rho"], group["eps"], group["weight_decay"]
        for param, grad, state in self._params_with_grad(group):
            _next_step(state, param, "square_avg", "acc_delta")
            if weight_decay != 0:
                grad = grad + weight_decay * param
            square_avg, acc_delta = state["square_avg"], state["acc_delta"]
            square_avg *= rho
            square_avg += (1 - rho) * grad * grad
            delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * grad
            acc_delta *= rho
            acc_delta += (1 - rho) * delta * delta
            param -= lr * delta
