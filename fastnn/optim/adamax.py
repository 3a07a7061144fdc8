"""Adamax: Adam with the second moment replaced by an exponentially weighted infinity norm."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check, _check_betas, _implementation_options, _next_step


class Adamax(Optimizer):
    """PyTorch's Adamax (Kingma & Ba, section 7.1). For each parameter θ with gradient g, at
    step t (from 1)::

        g = -g if maximize
        g = g + weight_decay * θ
        m = β1 m + (1 - β1) g                    (exp_avg)
        u = max(β2 u, |g| + eps)                 (exp_inf; eps inside the max keeps u > 0)
        θ = θ - lr / (1 - β1^t) * m / u

    The max needs no bias correction: it is not an average that starts at zero. State per
    parameter: ``step``, ``exp_avg``, ``exp_inf``.
    """

    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 foreach=None, *, maximize: bool = False, differentiable: bool = False, capturable: bool = False):
        _check(0.0 <= lr, "learning rate", lr)
        _check(0.0 <= eps, "epsilon value", eps)
        betas = _check_betas(betas)
        _check(0.0 <= weight_decay, "weight_decay value", weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        **_implementation_options(foreach=foreach, differentiable=differentiable,
                                                  capturable=capturable))
        super().__init__(params, defaults)

    def _update(self, group):
        lr, (beta1, beta2), eps, weight_decay = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        for param, grad, state in self._params_with_grad(group):
            step = _next_step(state, param, "exp_avg", "exp_inf")
            if weight_decay != 0:
                grad = grad + weight_decay * param
            exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
            exp_avg += (1 - beta1) * (grad - exp_avg)            # lerp towards g
            exp_inf *= beta2
            np.maximum(exp_inf, np.abs(grad) + param.dtype.type(eps), out=exp_inf)
            clr = lr / (1 - beta1 ** step)
            param -= param.dtype.type(clr) * exp_avg / exp_inf
