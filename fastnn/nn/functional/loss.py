"""Losses: ``cross_entropy`` on the backend's fused softmax-cross-entropy kernel, the other
losses as small ArrayFunctions or compositions of Tensor operations."""
from __future__ import annotations

import warnings

import numpy as np

from ...autograd import ArrayFunction
from ...backends import get as _backend
from ...backends.contract import check_finite, check_smoothing
from ...tensor import Tensor
from ._common import _REDUCTIONS, _legacy_reduction, _reduce, _tensor, torch_node
from .activation import log_softmax


class _SoftmaxCrossEntropy(ArrayFunction):
    """Fused log-softmax + negative log-likelihood, per sample; rows whose target is
    ``ignore_index`` get zero loss and zero gradient."""

    @staticmethod
    def forward(ctx, logits, target, label_smoothing, valid):
        backend = _backend()
        losses, probs = backend.softmax_cross_entropy_forward(logits, target, label_smoothing)
        if valid is not None:
            losses *= valid
        ctx.backend, ctx.args = backend, (target, label_smoothing, valid)
        ctx.save_for_backward(probs)
        return losses

    @staticmethod
    def backward(ctx, grad):
        (probs,) = ctx.saved_tensors
        target, smoothing, valid = ctx.args
        if valid is not None:
            grad = grad * valid
        return ctx.backend.softmax_cross_entropy_backward(grad, probs, target, smoothing)


@torch_node("NllLoss")
def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0) -> Tensor:
    """Softmax cross-entropy of logits (N, C), (N, C, d1, ...) or unbatched (C,), against

    * class indices: an int64 target of the input's shape without the class dimension;
      entries equal to ``ignore_index`` contribute nothing and are left out of the mean;
    * class probabilities: a float target of the input's own shape (PyTorch tells the two
      apart the same way, by the shape).

    ``weight`` (C,) weights each class, in every term, the label-smoothing term included;
    ``label_smoothing`` mixes the target with the uniform distribution over the C classes.
    Class indices without weights *and* smoothing together run on the backend's fused
    softmax-cross-entropy kernel; the other cases are composed of log_softmax and Tensor ops.
    """
    input, target = _tensor(input), _tensor(target, "target")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    label_smoothing = check_smoothing(label_smoothing)
    if target.shape == input.shape:
        return _cross_entropy_probabilities(input, target, weight, ignore_index, reduction, label_smoothing)
    if target.dtype.kind == "f":
        index_shape = input.shape[:1] + input.shape[2:] if input.ndim > 1 else ()
        error = TypeError if target.shape == index_shape else ValueError    # wrong dtype, or wrong shape
        raise error(f"cross_entropy: a floating point target holds class probabilities and must have the "
                         f"input's shape {input.shape}, got target shape {target.shape}; class indices must be "
                         f"int64")
    logits, target = _class_targets(input, target, "cross_entropy")
    _check_class_range(target, logits.shape[1], ignore_index, "cross_entropy")
    safe, valid, weight, scale = _weights_and_mask(target, weight, ignore_index, logits.shape[1], logits.dtype)
    if weight is not None and label_smoothing:
        losses = _weighted_smoothed_cross_entropy(logits, safe, valid, weight, scale, label_smoothing)
    else:
        losses = _SoftmaxCrossEntropy.apply(logits, safe, label_smoothing, scale)
    return _reduce_class_losses(losses, scale, input, reduction)


class _PickClass(ArrayFunction):
    """out[i] = -x[i, target[i]] * scale[i]: the negative log-likelihood of log-probabilities."""

    @staticmethod
    def forward(ctx, x, target, scale):
        ctx.shape, ctx.args = x.shape, (target, scale)
        picked = -x[np.arange(x.shape[0]), target]
        return picked * scale if scale is not None else picked

    @staticmethod
    def backward(ctx, grad):
        target, scale = ctx.args
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        out[np.arange(ctx.shape[0]), target] = -(grad * scale if scale is not None else grad)
        return out


@torch_node("NllLoss")
def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean") -> Tensor:
    """Negative log-likelihood of log-probabilities (N, C) (e.g. the output of log_softmax)."""
    input = _tensor(input)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    logp, target = _class_targets(input, target, "nll_loss")
    check_finite("input", logp.data)
    _check_class_range(target, logp.shape[1], ignore_index, "nll_loss")
    safe, _, _, scale = _weights_and_mask(target, weight, ignore_index, logp.shape[1], logp.dtype)
    return _reduce_class_losses(_PickClass.apply(logp, safe, scale), scale, input, reduction)


def _pair_of_same_shape(input, target, fn):
    input = _tensor(input)
    target = target if isinstance(target, Tensor) else Tensor(np.asarray(target, dtype=input.dtype))
    if input.shape != target.shape:
        raise ValueError(f"{fn}: input has shape {input.shape} but target has shape {target.shape}; they must match")
    check_finite("input", input.data)
    check_finite("target", target.data)
    return input, target


@torch_node("MseLoss")
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None) -> Tensor:
    """Mean (or sum) of (input - target)**2; with ``weight`` (input's shape) the weighted mean
    sum(w * loss) / sum(w)."""
    input, target = _pair_of_same_shape(input, target, "mse_loss")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if weight is None and reduction in ("mean", "sum"):
        if input.dtype != target.dtype:         # torch's promotion: an integer target takes the input's dtype
            common = input.dtype if target.dtype.kind != "f" else np.result_type(input.dtype, target.dtype)
            input, target = input.to(common), target.to(common)
        return _MseLoss.apply(input, target, reduction=reduction)
    diff = input - target
    return _reduce_weighted(diff * diff, weight, reduction)


class _MseLoss(ArrayFunction):
    """mean or sum of (input - target)**2 as one node, as torch has it (``MseLossBackward0``,
    whose inputs are the input's and the target's nodes)."""

    @staticmethod
    def forward(ctx, input, target, reduction):
        diff = input - target
        ctx.save_for_backward(diff)
        ctx.scale = 2.0 / diff.size if reduction == "mean" and diff.size else 2.0
        loss = np.sum(diff * diff, dtype=diff.dtype)
        return np.asarray(loss / diff.size if reduction == "mean" else loss, dtype=diff.dtype)

    @staticmethod
    def backward(ctx, grad):
        (diff,) = ctx.saved_tensors
        g = (grad * ctx.scale) * diff
        return g, -g


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None) -> Tensor:
    """Mean (or sum) of |input - target|; ``weight`` as in :func:`mse_loss`."""
    input, target = _pair_of_same_shape(input, target, "l1_loss")
    return _reduce_weighted((input - target).abs(), weight, _legacy_reduction(size_average, reduce, reduction))


def _reduce_weighted(losses: Tensor, weight, reduction: str) -> Tensor:
    """``losses * weight`` reduced; 'mean' divides by sum(weight) (PyTorch's mse/l1 rule)."""
    if weight is None:
        return _reduce(losses, reduction)
    weight = _tensor(weight, "weight")
    if weight.shape != losses.shape:
        raise ValueError(f"Weights and input must have the same size, got weight {list(weight.shape)} and input "
                         f"{list(losses.shape)}")
    weighted = losses * weight
    if reduction == "mean":
        return weighted.sum() / weight.sum()
    return _reduce(weighted, reduction)


class _Huber(ArrayFunction):
    """Huber loss of d = input - target: 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta);
    ``scale`` = 1/beta turns it into smooth L1. Gradient: clip(d, -delta, delta) * scale, for
    the input (and its negative for the target)."""

    @staticmethod
    def forward(ctx, x, t, delta, scale):
        d = x - t
        a = np.abs(d)
        ctx.save_for_backward(d)
        ctx.args = delta, scale
        return (np.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta)) * scale).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (d,) = ctx.saved_tensors
        delta, scale = ctx.args
        g = grad * np.clip(d, -delta, delta) * scale
        return g, -g if ctx.needs_input_grad[1] else None


@torch_node("HuberLoss")
def huber_loss(input, target, reduction="mean", delta=1.0, weight=None) -> Tensor:
    """0.5 d^2 for |d| < delta, delta * (|d| - 0.5 delta) beyond (d = input - target): squared
    error near 0, absolute error far away. ``weight`` (input's shape) multiplies each term."""
    input, target = _pair_of_same_shape(input, target, "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss does not support non-positive values for delta, got {delta}")
    losses = _Huber.apply(input, target, float(delta), 1.0)
    if weight is not None:
        weight = _tensor(weight, "weight")
        if weight.shape != input.shape:
            raise ValueError("Weights and input must have the same size.")
        losses = losses * weight
    return _reduce(losses, reduction)


@torch_node("SmoothL1Loss")
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0) -> Tensor:
    """0.5 d^2 / beta for |d| < beta, |d| - 0.5 beta beyond: ``huber_loss(delta=beta) / beta``
    (and l1_loss for beta = 0)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss does not support negative values for beta, got {beta}")
    if beta == 0:
        return l1_loss(input, target, reduction=reduction)
    input, target = _pair_of_same_shape(input, target, "smooth_l1_loss")
    return _reduce(_Huber.apply(input, target, float(beta), 1.0 / beta), reduction)


class _KLDiv(ArrayFunction):
    """Pointwise KL divergence of log-probabilities ``x`` from ``target``:
    t (log t - x) (0 where t = 0), or with ``log_target`` exp(t) (t - x)."""

    @staticmethod
    def forward(ctx, x, t, log_target):
        ctx.save_for_backward(x, t)
        ctx.log_target = log_target
        if log_target:
            return np.exp(t) * (t - x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(t > 0, t * (np.log(np.where(t > 0, t, 1)) - x), 0 * x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        p = np.exp(t) if ctx.log_target else t
        grad_x = -grad * p
        grad_t = None
        if ctx.needs_input_grad[1]:
            if ctx.log_target:
                grad_t = grad * p * (t - x + 1)
            else:
                grad_t = grad * np.where(t > 0, np.log(np.where(t > 0, t, 1)) + 1 - x, 0)
        return grad_x, grad_t


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False) -> Tensor:
    """KL(target || q) for log-probabilities ``input`` = log q: sum of target * (log target - input).
    ``reduction='batchmean'`` divides the sum by the batch size (the mathematical KL divergence
    per sample); 'mean' divides by every element, and warns, as in PyTorch."""
    input, target = _pair_of_same_shape(input, target, "kl_div")
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      stacklevel=2)
    losses = _KLDiv.apply(input, target, bool(log_target))
    if reduction == "batchmean":
        total = losses.sum()
        return total / input.shape[0] if input.ndim else total
    return _reduce(losses, reduction)


class _BinaryCrossEntropy(ArrayFunction):
    """-(t log p + (1-t) log(1-p)), logs clamped at -100 as in PyTorch."""

    @staticmethod
    def forward(ctx, p, t):
        ctx.save_for_backward(p, t)
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), -100)
            log_1mp = np.maximum(np.log1p(-p), -100)
        return -(t * log_p + (1 - t) * log_1mp)

    @staticmethod
    def backward(ctx, grad):
        p, t = ctx.saved_tensors
        eps = p.dtype.type(1e-12)
        grad_p = grad * (p - t) / np.maximum(p * (1 - p), eps)
        grad_t = grad * (np.log1p(-p) - np.log(np.maximum(p, eps))) if ctx.needs_input_grad[1] else None
        return grad_p, grad_t


@torch_node("BinaryCrossEntropy")
def binary_cross_entropy(input, target, weight=None, reduction="mean") -> Tensor:
    """BCE of probabilities in [0, 1]."""
    input, target = _pair_of_same_shape(input, target, "binary_cross_entropy")
    if (input.data < 0).any() or (input.data > 1).any():
        raise ValueError("binary_cross_entropy: input must hold probabilities in [0, 1] "
                         "(use binary_cross_entropy_with_logits for logits)")
    losses = _BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        losses = losses * weight
    return _reduce(losses, reduction)


class _BCEWithLogits(ArrayFunction):
    """Stable BCE on logits: (1-t) x + lw * softplus(-x), lw = 1 + (pos_weight-1) t."""

    @staticmethod
    def forward(ctx, x, t, pos_weight):
        pw_minus_1 = 0 if pos_weight is None else pos_weight - 1
        softplus_neg = np.logaddexp(0, -x).astype(x.dtype, copy=False)      # log(1 + exp(-x)), stable
        ctx.save_for_backward(x, t, softplus_neg)
        ctx.pw_minus_1 = pw_minus_1
        return (1 - t) * x + (1 + pw_minus_1 * t) * softplus_neg

    @staticmethod
    def backward(ctx, grad):
        x, t, softplus_neg = ctx.saved_tensors
        sigmoid_neg = np.exp(-np.logaddexp(0, x)).astype(x.dtype, copy=False)
        grad_x = grad * ((1 - t) - (1 + ctx.pw_minus_1 * t) * sigmoid_neg)
        grad_t = grad * (ctx.pw_minus_1 * softplus_neg - x) if ctx.needs_input_grad[1] else None
        return grad_x, grad_t, None


@torch_node("BinaryCrossEntropyWithLogits")
def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None) -> Tensor:
    """BCE of logits, computed stably (never exp of a large number)."""
    input, target = _pair_of_same_shape(input, target, "binary_cross_entropy_with_logits")
    pw = None
    if pos_weight is not None:
        pw = np.asarray(pos_weight.data if isinstance(pos_weight, Tensor) else pos_weight, dtype=input.dtype)
    losses = _BCEWithLogits.apply(input, target, pw)
    if weight is not None:
        losses = losses * weight
    return _reduce(losses, reduction)


# ------------------------------------------------------------------ class-index targets: PyTorch's rules

def _class_targets(input: Tensor, target, fn: str):
    """Bring (N, C, d1, ...) inputs to (N*d1*..., C) rows and check the class-index targets."""
    target = _tensor(target, "target")
    if target.dtype.kind not in "iu":
        raise TypeError(f"{fn}: target must hold int64 class indices, got dtype {target.dtype}")
    if input.ndim == 1:
        input, target = input.unsqueeze(0), target.reshape(1)
    if input.ndim > 2:
        c = input.shape[1]
        input = input.permute(0, *range(2, input.ndim), 1).reshape(-1, c)
    expected = input.shape[0]
    if target.ndim == 0 or target.data.size != expected:
        raise ValueError(f"{fn}: target of shape {target.shape} does not match input of shape {input.shape}")
    return input, target.data.reshape(-1).astype(np.int64, copy=False)


def _check_class_range(target: np.ndarray, num_classes: int, ignore_index: int, fn: str) -> None:
    """Class indices must lie in [0, C), except those equal to ignore_index (which may be anything)."""
    bad = ((target < 0) | (target >= num_classes)) & (target != ignore_index)
    if bad.any():
        raise IndexError(f"{fn}: target holds class index {target[bad][0]}, outside [0, {num_classes})")


def _class_weights(weight, num_classes: int, dtype):
    """The class weights as an array of the input's dtype, or None. They are constants, as in
    PyTorch, where no gradient flows to the weight of nll_loss."""
    if weight is None:
        return None
    weight = np.asarray(weight.data if isinstance(weight, Tensor) else weight, dtype=dtype)
    if weight.shape != (num_classes,):
        raise ValueError(f"weight must have shape ({num_classes},), one per class, got {weight.shape}")
    return weight


def _weights_and_mask(target, weight, ignore_index, num_classes, dtype):
    """What class-index losses need: the targets with ignored entries set to class 0 (any valid
    index will do, their loss is multiplied by 0), the mask of valid entries, the class weights
    (or None), and the per-sample factor ``scale``: w[y_i] (0 where ignored) with weights, else
    the 0/1 mask, or None when every sample counts once."""
    valid = target != ignore_index
    safe = np.where(valid, target, 0)
    weight = _class_weights(weight, num_classes, dtype)
    if weight is not None:
        scale = weight[safe] * valid
    else:
        scale = None if valid.all() else valid.astype(dtype)
    return safe, valid, weight, scale


def _reduce_class_losses(losses: Tensor, scale, input: Tensor, reduction: str) -> Tensor:
    """Reduce per-sample losses of class-index targets as PyTorch does. 'mean' is weighted,
    sum(losses) / sum(scale): ignored samples are left out and, with class weights, it divides
    by the sum of the target classes' weights. 'none' has the input's shape without the class
    dimension (a 0-d tensor for an unbatched (C,) input)."""
    if reduction == "mean":
        denominator = scale.sum() if scale is not None else losses.shape[0]
        return losses.sum() / losses.dtype.type(denominator)
    if reduction == "sum":
        return losses.sum()
    return losses.reshape(input.shape[:1] + input.shape[2:] if input.ndim > 1 else ())


def _weighted_smoothed_cross_entropy(logits, target, valid, weight, scale, label_smoothing) -> Tensor:
    """Per-sample losses with both class weights and label smoothing, PyTorch's formula:
    ``(1 - ls) * w[y] * (-log p[y]) + ls / C * sum_c w[c] * (-log p[c])`` (0 where ignored).

    The fused kernel takes one factor per sample, but here the smoothing sum weights every
    class differently, so this case is composed of log_softmax and Tensor ops (autograd
    derives the gradient)."""
    check_finite("input", logits.data)
    logp = log_softmax(logits, 1)
    nll = _PickClass.apply(logp, target, scale)
    smooth = (logp * -weight).sum(1) * valid
    return (1 - label_smoothing) * nll + (label_smoothing / logp.shape[1]) * smooth


def _cross_entropy_probabilities(input, target, weight, ignore_index, reduction, label_smoothing) -> Tensor:
    """Cross-entropy against class probabilities (a float target of the input's shape),
    PyTorch's formula: ``loss = -sum_c w[c] * q[c] * log p[c]`` with the smoothed target
    ``q = (1 - ls) * target + ls / C``. Unlike class-index targets, 'mean' divides by the
    number of samples N*d1*..., whatever the weights. Composed of Tensor ops, so a target
    that requires grad gets its gradient too."""
    if target.dtype.kind != "f":
        raise TypeError(f"cross_entropy: a target of the input's shape {input.shape} holds class probabilities "
                        f"and must be floating point, got dtype {target.dtype}; class indices have the input's "
                        f"shape without the class dimension")
    if ignore_index >= 0:
        raise ValueError(f"cross_entropy: ignore_index is not supported for probability (floating point) "
                         f"targets, got ignore_index={ignore_index}")
    class_dim = 0 if input.ndim == 1 else 1
    num_classes = input.shape[class_dim]
    check_finite("input", input.data)
    logp = log_softmax(input, class_dim)
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / num_classes
    terms = logp * target
    weight = _class_weights(weight, num_classes, logp.dtype)
    if weight is not None:
        terms = terms * weight.reshape(num_classes, *[1] * (input.ndim - class_dim - 1))
    if reduction == "none":
        return -terms.sum(class_dim)
    total = -terms.sum()
    return total if reduction == "sum" else total / (input.data.size // max(num_classes, 1))
