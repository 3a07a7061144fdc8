"""Dropout: inverted dropout, element-wise (``dropout``) or channel-wise (``dropout1d/2d/3d``),
a composition of Tensor operations (no kernel needed)."""
from __future__ import annotations

import warnings

import numpy as np

from ...random import generator
from ...tensor import Tensor
from ._common import _tensor


def dropout(input, p=0.5, training=True, inplace=False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (inverted dropout),
    so evaluation needs no rescaling."""
    input = _tensor(input)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    keep = generator().random(input.shape, dtype=np.float32) >= p
    return input * (keep * input.dtype.type(1.0 / (1.0 - p)))


def _feature_dropout(input: Tensor, p, training) -> Tensor:
    """Channel-wise dropout of (N, C, ...) input: one draw per (sample, channel), the whole
    feature map zeroed or scaled by 1/(1-p) together (PyTorch's ``feature_dropout``)."""
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    keep = generator().random(shape, dtype=np.float32) >= p
    return input * (keep * input.dtype.type(1.0 / (1.0 - p)))


def _unbatched_feature_dropout(input: Tensor, p, training, spatial: int) -> Tensor:
    batched = input.ndim == spatial + 2
    out = _feature_dropout(input if batched else input.unsqueeze(0), p, training)
    return out if batched else out.squeeze(0)


def dropout1d(input, p=0.5, training=True, inplace=False) -> Tensor:
    """Zero whole channels of (N, C, L) or unbatched (C, L) input with probability ``p``."""
    input = _tensor(input)
    _check_probability(p)
    if input.ndim not in (2, 3):
        raise ValueError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that "
                         "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, a "
                         "channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    return _unbatched_feature_dropout(input, p, training, 1)


def dropout2d(input, p=0.5, training=True, inplace=False) -> Tensor:
    """Zero whole channels of (N, C, H, W) input with probability ``p``. As in PyTorch, a 3-D
    input is taken as (N, C, L) (with a warning), not as unbatched (C, H, W)."""
    input = _tensor(input)
    _check_probability(p)
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and will "
                      "result in an error in a future release. To retain the behavior and silence this warning, "
                      "please use dropout instead. Note that dropout2d exists to provide channel-wise dropout on "
                      "inputs with 2 spatial dimensions, a channel dimension, and an optional batch dimension "
                      "(i.e. 3D or 4D inputs).", stacklevel=2)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a "
                      "batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, "
                      "please switch to using dropout1d instead.", stacklevel=2)
    if input.ndim < 2:
        raise ValueError(f"dropout2d: expected an input of at least 2 dimensions, got shape {list(input.shape)}")
    return _feature_dropout(input, p, training)


def dropout3d(input, p=0.5, training=True, inplace=False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or unbatched (C, D, H, W) input with probability ``p``."""
    input = _tensor(input)
    _check_probability(p)
    if input.ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is deprecated and will "
                      "result in an error in a future release. To retain the behavior and silence this warning, "
                      "please use dropout instead. Note that dropout3d exists to provide channel-wise dropout on "
                      "inputs with 3 spatial dimensions, a channel dimension, and an optional batch dimension "
                      "(i.e. 4D or 5D inputs).", stacklevel=2)
    if input.ndim < 1:
        raise ValueError("dropout3d: expected an input of at least 1 dimension, got a 0-d tensor")
    return _unbatched_feature_dropout(input, p, training, 3)


def _check_probability(p) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
