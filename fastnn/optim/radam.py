"""RAdam: Adam with the variance of its adaptive lr rectified (no warm-up needed)."""
from __future__ import annotations

import math

import numpy as np

from .optimizer import Optimizer, _check, _check_betas, _implementation_options, _next_step


class RAdam(Optimizer):
    """PyTorch's RAdam (Liu et al., 2019). For each parameter θ with gradient g, at step t
    (from 1)::

        g = -g if maximize
        θ = θ * (1 - lr * weight_decay)   if decoupled_weight_decay   else   g = g + weight_decay * θ
        m = β1 m + (1 - β1) g                            (exp_avg)
        v = β2 v + (1 - β2) g²                           (exp_avg_sq)
        m̂ = m / (1 - β1^t)
        ρ∞ = 2 / (1 - β2) - 1                            (the longest simple moving average)
        ρ_t = ρ∞ - 2 t β2^t / (1 - β2^t)                 (its length at step t)
        if ρ_t > 5:    r = sqrt((ρ_t - 4)(ρ_t - 2) ρ∞ / ((ρ∞ - 4)(ρ∞ - 2) ρ_t))
                       θ = θ - lr m̂ r sqrt(1 - β2^t) / (sqrt(v) + eps)
        else:          θ = θ - lr m̂                     (SGD with momentum while v is unreliable)

    The first steps (ρ_t ≤ 5, i.e. the first five with the default β2) are plain momentum
    steps: that is the built-in warm-up. State per parameter: ``step``, ``exp_avg``,
    ``exp_avg_sq``.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 decoupled_weight_decay: bool = False, *, foreach=None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False):
        _check(0.0 <= lr, "learning rate", lr)
        _check(0.0 <= eps, "epsilon value", eps)
        betas = _check_betas(betas)
        _check(0.0 <= weight_decay, "weight_decay value", weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        **_implementation_options(foreach=foreach, capturable=capturable,
                                                  differentiable=differentiable),
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _update(self, group):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay = group["weight_decay"]
        for param, grad, state in self._params_with_grad(group):
            step = _next_step(state, param, "exp_avg", "exp_avg_sq")
            if weight_decay != 0:
                if group["decoupled_weight_decay"]:
                    param *= 1 - lr * weight_decay
                else:
                    grad = grad + weight_decay * param
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            exp_avg += (1 - beta1) * (grad - exp_avg)            # lerp towards g
            exp_avg_sq *= beta2
            exp_avg_sq += (1 - beta2) * grad * grad
            dtype = param.dtype.type
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            corrected = exp_avg / dtype(bias_correction1)
            rho_inf = 2 / (1 - beta2) - 1
            rho_t = rho_inf - 2 * step * beta2 ** step / bias_correction2
            if rho_t > 5.0:
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                adaptive = dtype(math.sqrt(bias_correction2)) / (np.sqrt(exp_avg_sq) + dtype(eps))
                param -= corrected * dtype(lr) * adaptive * dtype(rect)
            else:
                param -= corrected * dtype(lr)
