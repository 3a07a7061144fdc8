"""NAdam: Adam with Nesterov momentum (the update looks one momentum step ahead)."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check, _check_betas, _implementation_options, _next_step


class NAdam(Optimizer):
    """PyTorch's NAdam (Dozat, 2016), with its momentum schedule. For each parameter θ with
    gradient g, at step t (from 1)::

        g = -g if maximize
        θ = θ * (1 - lr * weight_decay)   if decoupled_weight_decay   else   g = g + weight_decay * θ
        μ_t = β1 (1 - 0.5 * 0.96^(t * momentum_decay))       (the momentum warms up towards β1)
        Π = Π * μ_t                                            (mu_product: μ_1 ... μ_t)
        m = β1 m + (1 - β1) g                                  (exp_avg)
        v = β2 v + (1 - β2) g²                                 (exp_avg_sq)
        d = sqrt(v / (1 - β2^t)) + eps
        θ = θ - lr (1 - μ_t) / (1 - Π) * g / d  -  lr μ_{t+1} / (1 - Π μ_{t+1}) * m / d

    The two terms are the bias-corrected current gradient and the bias-corrected momentum
    *of the next step*: that look-ahead is Nesterov's. State per parameter: ``step``,
    ``mu_product`` (a number), ``exp_avg``, ``exp_avg_sq``.
    """

    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, *, foreach=None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False):
        _check(0.0 <= lr, "learning rate", lr)
        _check(0.0 <= eps, "epsilon value", eps)
        betas = _check_betas(betas)
        _check(0.0 <= weight_decay, "weight_decay value", weight_decay)
        _check(0.0 <= momentum_decay, "momentum_decay value", momentum_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        **_implementation_options(foreach=foreach, capturable=capturable,
                                                  differentiable=differentiable))
        super().__init__(params, defaults)

    def _update(self, group):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay, momentum_decay = group["weight_decay"], group["momentum_decay"]
        for param, grad, state in self._params_with_grad(group):
            step = _next_step(state, param, "exp_avg", "exp_avg_sq", mu_product=1.0)
            if weight_decay != 0:
                if group["decoupled_weight_decay"]:
                    param *= 1 - lr * weight_decay
                else:
                    grad = grad + weight_decay * param
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
            state["mu_product"] *= mu
            mu_product = state["mu_product"]
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            exp_avg += (1 - beta1) * (grad - exp_avg)            # lerp towards g
            exp_avg_sq *= beta2
            exp_avg_sq += (1 - beta2) * grad * grad
            denom = np.sqrt(exp_avg_sq / param.dtype.type(1 - beta2 ** step)) + param.dtype.type(eps)
            param -= param.dtype.type(lr * (1 - mu) / (1 - mu_product)) * grad / denom
            param -= param.dtype.type(lr * mu_next / (1 - mu_product * mu_next)) * exp_avg / denom
