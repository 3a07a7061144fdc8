"""Adam and AdamW: adaptive moment estimation (AdamW with decoupled weight decay)."""
from __future__ import annotations

import math

import numpy as np

from .optimizer import Optimizer, _check, _check_betas, _implementation_options, _next_step


class Adam(Optimizer):
    """PyTorch's Adam. For each parameter θ with gradient g, at step t (from 1)::

        g = -g if maximize
        θ = θ * (1 - lr * weight_decay)   if decoupled (AdamW)   else   g = g + weight_decay * θ
        m = β1 m + (1 - β1) g                  (first moment, exp_avg)
        v = β2 v + (1 - β2) g²                 (second moment, exp_avg_sq)
        v_max = max(v_max, v)                  (amsgrad: use v_max below instead of v)
        θ = θ - lr / (1 - β1^t) * m / (sqrt(v) / sqrt(1 - β2^t) + eps)

    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq`` (+ ``max_exp_avg_sq``).
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 amsgrad: bool = False, *, foreach=None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused=None, decoupled_weight_decay: bool = False):
        _check(0.0 <= lr, "learning rate", lr)
        _check(0.0 <= eps, "epsilon value", eps)
        betas = _check_betas(betas)
        _check(0.0 <= weight_decay, "weight_decay value", weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        **_implementation_options(foreach=foreach, capturable=capturable,
                                                  differentiable=differentiable, fused=fused),
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _update(self, group):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay, amsgrad = group["weight_decay"], group["amsgrad"]
        for param, grad, state in self._params_with_grad(group):
            step = _next_step(state, param, "exp_avg", "exp_avg_sq", amsgrad and "max_exp_avg_sq")
            if weight_decay != 0:
                if group["decoupled_weight_decay"]:
                    param *= 1 - lr * weight_decay
                else:
                    grad = grad + weight_decay * param
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            exp_avg += (1 - beta1) * (grad - exp_avg)            # lerp towards g
            exp_avg_sq *= beta2
            exp_avg_sq += (1 - beta2) * grad * grad
            step_size = lr / (1 - beta1 ** step)
            bias_correction2_sqrt = math.sqrt(1 - beta2 ** step)
            if amsgrad:
                np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
                second = state["max_exp_avg_sq"]
            else:
                second = exp_avg_sq
            denom = np.sqrt(second) / param.dtype.type(bias_correction2_sqrt) + param.dtype.type(eps)
            param -= param.dtype.type(step_size) * exp_avg / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): the parameters shrink by
    ``lr * weight_decay`` each step instead of an L2 term in the gradient. Default
    ``weight_decay=1e-2``."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, *, maximize: bool = False, foreach=None, capturable: bool = False,
                 differentiable: bool = False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
