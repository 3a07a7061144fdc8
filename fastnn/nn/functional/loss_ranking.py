"""Ranking, margin and embedding losses (PyTorch's names, arguments and formulas): they
compare *pairs or triples* of outputs rather than an output with a label, and are zero once
the right answer wins by a ``margin``.

* ``margin_ranking_loss``: max(0, -y (x1 - x2) + margin), y = 1 says x1 should rank higher;
* ``hinge_embedding_loss``: x for y = 1, max(0, margin - x) for y = -1 (x a distance);
* ``soft_margin_loss``: log(1 + exp(-y x)), the smooth two-class margin loss;
* ``cosine_embedding_loss``: 1 - cos(x1, x2) for y = 1, max(0, cos(x1, x2) - margin) for y = -1;
* ``triplet_margin_loss``: max(0, margin + d(a, p) - d(a, n)) with d the p-norm distance,
  and ``triplet_margin_with_distance_loss`` with any distance function;
* ``multi_margin_loss``: the multi-class hinge loss, sum over i != y of
  max(0, margin - x[y] + x[i])**p / C;
* ``multilabel_margin_loss`` and ``multilabel_soft_margin_loss``: the same ideas for several
  correct classes per sample.

Each is a composition of differentiable Tensor operations (the one ArrayFunction is the
numerically stable log-sigmoid), so autograd derives the backward. ``reduction`` is
``'mean'`` (default), ``'sum'`` or ``'none'``; the deprecated ``size_average``/``reduce``
flags are honoured as in PyTorch.
"""
from __future__ import annotations


import numpy as np

from ...autograd import ArrayFunction
from ...creation import zeros_like
from ...ops.shape import where
from ...tensor import Tensor
from ._common import _legacy_reduction as _reduction
from ._common import _reduce, _tensor

__all__ = ["margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss", "cosine_embedding_loss",
           "triplet_margin_loss", "triplet_margin_with_distance_loss", "multi_margin_loss",
           "multilabel_margin_loss", "multilabel_soft_margin_loss"]


class _LogSigmoid(ArrayFunction):
    """log(sigmoid(x)) = -log(1 + exp(-x)), computed without overflow; backward 1 - sigmoid(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return -np.logaddexp(0, -x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        with np.errstate(over="ignore"):
            return grad / (1 + np.exp(x))


def _logsigmoid(x: Tensor) -> Tensor:
    return _LogSigmoid.apply(x)


def _as_float(x, like: Tensor, name: str) -> Tensor:
    """A target as a Tensor of the input's dtype (targets of +-1 often come as ints)."""
    x = _tensor(x, name)
    return x if x.dtype == like.dtype else x.to(like.dtype)


# ------------------------------------------------------------------ pairs

def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean") -> Tensor:
    """``max(0, -target * (input1 - input2) + margin)``; target holds 1 or -1."""
    reduction = _reduction(size_average, reduce, reduction)
    input1, input2 = _tensor(input1, "input1"), _tensor(input2, "input2")
    target = _as_float(target, input1, "target")
    if not input1.ndim == input2.ndim == target.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {tuple(input1.shape)}, input2: {tuple(input2.shape)}, target: "
                           f"{tuple(target.shape)} ")
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean") -> Tensor:
    """``input`` where target is 1, ``max(0, margin - input)`` where target is -1."""
    reduction = _reduction(size_average, reduce, reduction)
    input = _tensor(input)
    t = _tensor(target, "target").data
    zero = zeros_like(input)
    margin_part = where(Tensor(t != 1), (margin - input).clamp(min=0), zero)
    self_part = where(Tensor(t != -1), input, zero)
    return _reduce(margin_part + self_part, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean") -> Tensor:
    """``log(1 + exp(-target * input))``, target 1 or -1."""
    reduction = _reduction(size_average, reduce, reduction)
    input = _tensor(input)
    target = _as_float(target, input, "target")
    return _reduce(-_logsigmoid(target * input), reduction)


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean") -> Tensor:
    """``1 - cos(x1, x2)`` where target is 1, ``max(0, cos(x1, x2) - margin)`` where it is -1;
    x1, x2 (N, D) with target (N,), or (D,) with a 0-d target. (PyTorch's formula:
    cos = x1.x2 / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)).)"""
    reduction = _reduction(size_average, reduce, reduction)
    input1, input2 = _tensor(input1, "input1"), _tensor(input2, "input2")
    t = _tensor(target, "target").data
    if input1.ndim not in (1, 2) or input1.ndim != input2.ndim:
        raise RuntimeError(f"cosine_embedding_loss(): expected input1 and input2 of 1 or 2 dimensions with the same "
                           f"number, got shapes {tuple(input1.shape)} and {tuple(input2.shape)}")
    if t.ndim != input1.ndim - 1:
        raise RuntimeError(f"{input1.ndim - 1}D target tensor expected, multi-target not supported"
                           if input1.ndim == 2 else f"0D target tensor expects 1D input tensors, but found inputs "
                           f"with sizes {list(input1.shape)} and {list(input2.shape)}.")
    eps = 1e-12
    dim = input1.ndim - 1
    prod = (input1 * input2).sum(dim)
    mag1 = (input1 * input1).sum(dim) + eps
    mag2 = (input2 * input2).sum(dim) + eps
    cos = prod / (mag1 * mag2).sqrt()
    zero = zeros_like(cos)
    pos = where(Tensor(np.asarray(t == 1)), 1 - cos, zero)
    neg = where(Tensor(np.asarray(t == -1)), (cos - margin).clamp(min=0), zero)
    return _reduce(pos + neg, reduction)


# ------------------------------------------------------------------ triplets

def _pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False) -> Tensor:
    """``||x1 - x2 + eps||_p`` over the last axis (``eps`` keeps the gradient finite where
    x1 == x2, as in PyTorch)."""
    x1, x2 = _tensor(x1, "x1"), _tensor(x2, "x2")
    diff = x1 - x2 + eps
    if diff.ndim == 0:
        diff = diff.reshape(1)
    return diff.norm(p, dim=-1, keepdim=keepdim)


def _check_triplet(anchor, positive, negative):
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and negative "
                           f"{negative.ndim}D inputs")


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean") -> Tensor:
    """``max(0, margin + d(anchor, positive) - d(anchor, negative))`` with d the p-norm
    distance (``F.pairwise_distance``); ``swap`` uses min(d(a, n), d(p, n)) as the negative
    distance (Balntas et al. 2016)."""
    reduction = _reduction(size_average, reduce, reduction)
    anchor, positive, negative = (_tensor(t, n) for t, n in ((anchor, "anchor"), (positive, "positive"),
                                                             (negative, "negative")))
    _check_triplet(anchor, positive, negative)
    d_pos = _pairwise_distance(anchor, positive, p, eps)
    d_neg = _pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(_pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp(min=0), reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0,
                                      swap=False, reduction="mean") -> Tensor:
    """:func:`triplet_margin_loss` with any ``distance_function(x1, x2)`` (default
    :func:`_pairwise_distance` (``F.pairwise_distance``))."""
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    anchor, positive, negative = (_tensor(t, n) for t, n in ((anchor, "anchor"), (positive, "positive"),
                                                             (negative, "negative")))
    _check_triplet(anchor, positive, negative)
    distance = distance_function if distance_function is not None else _pairwise_distance
    d_pos = distance(anchor, positive)
    d_neg = distance(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(distance(positive, negative))
    return _reduce((margin + d_pos - d_neg).clamp(min=0), reduction)


# ------------------------------------------------------------------ several classes

def _class_input(input, target, fn):
    """(N, C) input and its target; a (C,) input is one sample."""
    input = _tensor(input)
    target_arr = np.asarray(_tensor(target, "target").data)
    if input.ndim not in (1, 2):
        raise RuntimeError(f"{fn}: expected a 1D or 2D input, got shape {tuple(input.shape)}")
    return input, target_arr, input.ndim == 1


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean") -> Tensor:
    """Multi-class hinge loss: for each sample, ``sum over i != y of max(0, margin - x[y] +
    x[i])**p / C`` (each term times ``weight[y]``); input (N, C) or (C,), target class indices."""
    reduction = _reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    input, t, single = _class_input(input, target, "multi_margin_loss")
    if single:
        input, t = input.unsqueeze(0), t.reshape(1)
    n, c = input.shape
    t = t.reshape(-1).astype(np.int64)
    if t.shape != (n,):
        raise RuntimeError(f"inconsistent target size, expected {n} but got {tuple(t.shape)}")
    if t.size and (t.min() < 0 or t.max() >= c):
        raise IndexError(f"multi_margin_loss: target holds class index {t[(t < 0) | (t >= c)][0]}, outside [0, {c})")
    x_y = input.gather(1, Tensor(t.reshape(n, 1)))
    z = (margin - x_y + input).clamp(min=0)
    if p == 2:
        z = z * z
    others = np.ones((n, c), dtype=input.dtype)
    others[np.arange(n), t] = 0
    if weight is not None:
        w = np.asarray(_tensor(weight, "weight").data, dtype=input.dtype)
        others *= w[t][:, None]
    losses = (z * Tensor(others)).sum(1) / c
    return _reduce(losses.squeeze(0) if single else losses, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean") -> Tensor:
    """Multi-label hinge loss: ``target`` (same shape as input) lists each sample's classes,
    ended by the first -1; the loss is ``sum over listed j and unlisted i of
    max(0, 1 - (x[j] - x[i])) / C``."""
    reduction = _reduction(size_average, reduce, reduction)
    input, t, single = _class_input(input, target, "multilabel_margin_loss")
    if single:
        input, t = input.unsqueeze(0), t.reshape(1, -1)
    if t.shape != tuple(input.shape):
        raise RuntimeError(f"inconsistent target size: {tuple(t.shape)} for input of size: {tuple(input.shape)}")
    n, c = input.shape
    counts = np.zeros((n, c), dtype=input.dtype)       # how often class j is listed (before the first -1)
    for row in range(n):
        for j in t[row]:
            if j < 0:
                break
            if j >= c:
                raise IndexError(f"multilabel_margin_loss: target holds class index {j}, outside [0, {c})")
            counts[row, j] += 1
    unlisted = (counts == 0).astype(input.dtype)
    pair_weight = counts[:, :, None] * unlisted[:, None, :]          # (n, j, i)
    hinge = (1 - input.unsqueeze(2) + input.unsqueeze(1)).clamp(min=0)
    losses = (hinge * Tensor(pair_weight)).sum((1, 2)) / c
    return _reduce(losses.squeeze(0) if single else losses, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean") -> Tensor:
    """Multi-label one-versus-all logistic loss: ``-(y log sigmoid(x) + (1 - y) log
    sigmoid(-x))`` averaged over the C classes (times ``weight`` per class)."""
    reduction = _reduction(size_average, reduce, reduction)
    input = _tensor(input)
    target = _as_float(target, input, "target")
    loss = -(target * _logsigmoid(input) + (1 - target) * _logsigmoid(-input))
    if weight is not None:
        loss = loss * _as_float(weight, input, "weight")
    class_dim = input.ndim - 1
    return _reduce(loss.sum(class_dim) / input.shape[class_dim], reduction)
