"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward`` (what
``nn.MultiheadAttention`` calls), with PyTorch's names, arguments and mask conventions.

Attention is a composition of differentiable Tensor operations::

    scores  = (Q K^T) * scale + bias        (bias: the masks, 0 or -inf, or any float mask)
    weights = softmax(scores, dim=-1)       (row by row over the keys)
    output  = dropout(weights) V

so autograd derives its backward. The one piece written out by hand is the softmax,
:class:`_MaskedSoftmax`: a row whose keys are *all* masked (-inf) gets weights 0 and
gradient 0 rather than NaN (PyTorch's ``scaled_dot_product_attention`` does the same).

Two mask conventions, as in PyTorch:

* ``scaled_dot_product_attention``: a bool ``attn_mask`` is True where a query **may**
  attend to a key;
* ``nn.MultiheadAttention``: a bool ``attn_mask`` / ``key_padding_mask`` is True where
  attention is **not** allowed (padding).

A float mask is added to the scores in both.
"""
from __future__ import annotations

import math

import numpy as np

from ...autograd import ArrayFunction
from ...creation import zeros
from ...ops.shape import cat
from ...tensor import Tensor
from ._common import _tensor
from .dropout import dropout
from .linear import linear

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


class _MaskedSoftmax(ArrayFunction):
    """softmax over the last axis; a row of only -inf gives zeros (and a zero gradient)."""

    torch_name = "Softmax"

    @staticmethod
    def forward(ctx, x):
        top = x.max(axis=-1, keepdims=True)
        top = np.where(np.isneginf(top), 0, top)         # an all -inf row: exp(-inf) = 0 below
        e = np.exp(x - top)
        total = e.sum(axis=-1, keepdims=True)
        y = e / np.where(total == 0, 1, total)
        ctx.save_for_backward(y)
        return y.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return y * (grad - (grad * y).sum(axis=-1, keepdims=True))


def _masked_softmax(x: Tensor) -> Tensor:
    return _MaskedSoftmax.apply(x)


def _float_mask(mask, dtype, *, allow_true: bool, name: str = "attn_mask"):
    """A mask as something to add to the scores: bool to 0/-inf (``allow_true``: True keeps
    a position, SDPA's convention; otherwise True masks it, MultiheadAttention's), a float
    mask as it is (a Tensor, so a mask that requires grad gets one)."""
    if mask is None:
        return None
    array = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if array.dtype == np.bool_:
        blocked = ~array if allow_true else array
        return Tensor(np.where(blocked, -np.inf, 0).astype(dtype))
    if array.dtype.kind != "f":
        raise RuntimeError(f"Expected {name} dtype to be bool or float or to match query dtype, but got "
                           f"{name}.dtype: {array.dtype} and query.dtype: {np.dtype(dtype)} instead.")
    return mask if isinstance(mask, Tensor) else Tensor(array)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False) -> Tensor:
    """``softmax(Q K^T * scale + mask) V`` over the last two axes: query (..., L, E), key
    (..., S, E), value (..., S, Ev) -> (..., L, Ev); leading axes broadcast.

    ``attn_mask``: bool (True = may attend) or float (added), broadcastable to (..., L, S).
    ``is_causal``: query i attends to keys 0..i (top-left aligned; not with ``attn_mask``).
    ``scale`` defaults to 1/sqrt(E). ``dropout_p`` drops attention weights (always, as
    PyTorch's function does; pass 0.0 in evaluation). ``enable_gqa``: key/value with fewer
    heads (axis -3) than the query are repeated to match (grouped-query attention)."""
    query, key, value = _tensor(query, "query"), _tensor(key, "key"), _tensor(value, "value")
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError(f"scaled_dot_product_attention: query, key and value must have at least 2 dimensions, "
                           f"got shapes {query.shape}, {key.shape}, {value.shape}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: query (..., L, E) {query.shape}, key (..., S, E) "
                           f"{key.shape} and value (..., S, Ev) {value.shape} do not fit together")
    L, S = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    if enable_gqa and query.ndim >= 3 and key.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        if query.shape[-3] % key.shape[-3] or query.shape[-3] % value.shape[-3]:
            raise RuntimeError(f"scaled_dot_product_attention: with enable_gqa the query heads "
                               f"({query.shape[-3]}) must be a multiple of the key/value heads "
                               f"({key.shape[-3]}, {value.shape[-3]})")
        key = key.repeat_interleave(query.shape[-3] // key.shape[-3], -3)
        value = value.repeat_interleave(query.shape[-3] // value.shape[-3], -3)
    bias = None
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when "
                               "is_causal=True")
        bias = Tensor(np.where(np.tril(np.ones((L, S), dtype=bool)), 0, -np.inf).astype(query.dtype))
    elif attn_mask is not None:
        bias = _float_mask(attn_mask, query.dtype, allow_true=True)
    return _attend(query, key, value, bias, scale, dropout_p)[0]


def _attend(q, k, v, bias, scale, dropout_p):
    """(output, weights) of attention (the weights after dropout, as PyTorch returns them);
    ``bias`` a float Tensor or None."""
    scores = q.matmul(k.transpose(-2, -1)) * scale
    if bias is not None:
        scores = scores + bias
    weights = _masked_softmax(scores)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, True)
    return weights.matmul(v), weights


# ------------------------------------------------------------------ multi-head attention

def _check_mha_shapes(query, key, value, key_padding_mask, attn_mask, num_heads) -> bool:
    """PyTorch's _mha_shape_check: is the input batched (query 3-D) or not (2-D)?"""
    if query.ndim == 3:
        if key.ndim != 3 or value.ndim != 3:
            raise AssertionError(f"For batched (3-D) `query`, expected `key` and `value` to be 3-D but found "
                                 f"{key.ndim}-D and {value.ndim}-D tensors respectively")
        if key_padding_mask is not None and np.ndim(_data(key_padding_mask)) != 2:
            raise AssertionError(f"For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D but "
                                 f"found {np.ndim(_data(key_padding_mask))}-D tensor instead")
        if attn_mask is not None and np.ndim(_data(attn_mask)) not in (2, 3):
            raise AssertionError(f"For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but "
                                 f"found {np.ndim(_data(attn_mask))}-D tensor instead")
        return True
    if query.ndim == 2:
        if key.ndim != 2 or value.ndim != 2:
            raise AssertionError(f"For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but found "
                                 f"{key.ndim}-D and {value.ndim}-D tensors respectively")
        if key_padding_mask is not None and np.ndim(_data(key_padding_mask)) != 1:
            raise AssertionError(f"For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D "
                                 f"but found {np.ndim(_data(key_padding_mask))}-D tensor instead")
        if attn_mask is not None:
            shape = np.shape(_data(attn_mask))
            if len(shape) not in (2, 3):
                raise AssertionError(f"For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D "
                                     f"but found {len(shape)}-D tensor instead")
            if len(shape) == 3 and shape != (num_heads, query.shape[0], key.shape[0]):
                raise AssertionError(f"Expected `attn_mask` shape to be {(num_heads, query.shape[0], key.shape[0])} "
                                     f"but got {shape}")
        return False
    raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {query.ndim}-D query "
                         "tensor")


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _pad_last(mask: Tensor) -> Tensor:
    """One more key position (never masked) at the end of the last axis."""
    return cat([mask, zeros(*mask.shape[:-1], 1, dtype=mask.dtype)], -1)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False):
    """PyTorch's ``F.multi_head_attention_forward`` on (L, N, E) query and (S, N, E_k/E_v)
    key/value (or unbatched (L, E)). Returns ``(attn_output, attn_weights)``; the weights are
    (N, L, S) averaged over heads, (N, heads, L, S) with ``average_attn_weights=False``, or
    None without ``need_weights``."""
    query, key, value = _tensor(query, "query"), _tensor(key, "key"), _tensor(value, "value")
    batched = _check_mha_shapes(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = _tensor(key_padding_mask, "key_padding_mask").unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    dtype = query.dtype
    key_padding_mask = _float_mask(key_padding_mask, dtype, allow_true=False, name="key_padding_mask")
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                           "method `generate_square_subsequent_mask` to create this mask.")
    attn_mask = _float_mask(attn_mask, dtype, allow_true=False)      # is_causal is only a hint: the mask rules
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:2])} do not match value's "
                                 f"{tuple(value.shape[:2])}")
    elif tuple(key.shape) != tuple(value.shape):
        raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)}")

    # input projections
    E = embed_dim
    if not use_separate_proj_weight:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        if query is key and key is value:                    # self-attention: one matrix product
            q, k, v = linear(query, in_proj_weight, in_proj_bias).chunk(3, -1)
        else:
            w_q, w_k, w_v = in_proj_weight[:E], in_proj_weight[E:2 * E], in_proj_weight[2 * E:]
            b_q, b_k, b_v = (None,) * 3 if in_proj_bias is None else \
                (in_proj_bias[:E], in_proj_bias[E:2 * E], in_proj_bias[2 * E:])
            q, k, v = linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)
    else:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is True but q_proj_weight, k_proj_weight or "
                                 "v_proj_weight is None")
        b_q, b_k, b_v = (None,) * 3 if in_proj_bias is None else \
            (in_proj_bias[:E], in_proj_bias[E:2 * E], in_proj_bias[2 * E:])
        q, k, v = linear(query, q_proj_weight, b_q), linear(key, k_proj_weight, b_k), linear(value, v_proj_weight, b_v)

    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (tgt_len, key.shape[0]):
                raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, but should be "
                                   f"{(tgt_len, key.shape[0])}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.ndim == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, key.shape[0]):
                raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, but should be "
                                   f"{(bsz * num_heads, tgt_len, key.shape[0])}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")

    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key.")
        k = cat([k, bias_k.repeat(1, bsz, 1)])
        v = cat([v, bias_v.repeat(1, bsz, 1)])
        if attn_mask is not None:
            attn_mask = _pad_last(attn_mask)
        if key_padding_mask is not None:
            key_padding_mask = _pad_last(key_padding_mask)
    elif bias_k is not None or bias_v is not None:
        raise AssertionError("bias_k and bias_v must be given together")

    # heads: (L, N, E) -> (N*heads, L, head_dim)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1) if static_k is None else _tensor(static_k)
    v = v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1) if static_v is None else _tensor(static_v)
    if add_zero_attn:
        k = cat([k, zeros(bsz * num_heads, 1, head_dim, dtype=k.dtype)], 1)
        v = cat([v, zeros(bsz * num_heads, 1, head_dim, dtype=v.dtype)], 1)
        if attn_mask is not None:
            attn_mask = _pad_last(attn_mask)
        if key_padding_mask is not None:
            key_padding_mask = _pad_last(key_padding_mask)
    src_len = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but got "
                                 f"{tuple(key_padding_mask.shape)}")
        key_padding_mask = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(-1, num_heads, -1, -1) \
            .reshape(bsz * num_heads, 1, src_len)
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask
    if not training:
        dropout_p = 0.0

    output, weights = _attend(q, k, v, attn_mask, 1.0 / math.sqrt(head_dim), dropout_p)
    output = output.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
    output = linear(output, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    if not need_weights:
        return (output if batched else output.squeeze(1)), None
    weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
    if average_attn_weights:
        weights = weights.mean(1)
    if not batched:
        return output.squeeze(1), weights.squeeze(0)
    return output, weights
