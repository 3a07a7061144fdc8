"""Differentiable neural-network operations (``import fastnn.nn.functional as F``), a module
per family: linear, conv, pool, activation, loss, norm, dropout, distance, sparse (embedding,
one_hot) and vision (pad, interpolate, unfold/fold).

Each heavy op is a :class:`~fastnn.autograd.ArrayFunction` whose forward and backward call
the *active backend's* kernels (``fastnn.backends.get()``, resolved once per forward and
remembered for the backward); each family's file opens with its kernel-backed Function and
its public function, PyTorch's argument handling below. The activations that Tensor methods
share live in the core, :mod:`fastnn.ops.activation`. Names, argument orders and defaults
are PyTorch's. Light ops (mse_loss, l1_loss...) are compositions of Tensor operations, or
ArrayFunctions on NumPy with the backward written beside the forward.
"""
from .activation import (celu, elu, gelu, glu, hardshrink, hardsigmoid, hardswish, hardtanh, leaky_relu,
                         log_softmax, logsigmoid, mish, prelu, relu, relu6, selu, sigmoid, silu, softmax, softmin,
                         softplus, softshrink, softsign, tanh, tanhshrink, threshold)
from .conv import conv1d, conv2d
from .distance import cosine_similarity, pairwise_distance
from .dropout import dropout, dropout1d, dropout2d, dropout3d
from .linear import bilinear, linear
from .loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, huber_loss, kl_div,
                   l1_loss, mse_loss, nll_loss, smooth_l1_loss)
from .norm import batch_norm, group_norm, layer_norm, normalize
from .pool import (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool1d, adaptive_max_pool2d, avg_pool1d,
                   avg_pool2d, max_pool1d, max_pool2d)
from .sparse import embedding, one_hot
from .vision import fold, interpolate, pad, unfold, upsample

__all__ = ["linear", "bilinear", "conv1d", "conv2d",
           "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
           "adaptive_max_pool1d", "adaptive_max_pool2d",
           "relu", "leaky_relu", "elu", "sigmoid", "tanh", "softmax", "log_softmax",
           "gelu", "silu", "softplus", "mish", "hardtanh", "relu6", "selu", "celu", "softsign", "hardswish",
           "hardsigmoid", "logsigmoid", "softmin", "glu", "hardshrink", "softshrink", "tanhshrink", "threshold",
           "prelu",
           "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "smooth_l1_loss", "huber_loss", "kl_div",
           "dropout", "dropout1d", "dropout2d", "dropout3d",
           "batch_norm", "layer_norm", "group_norm", "normalize",
           "cosine_similarity", "pairwise_distance", "embedding", "one_hot",
           "pad", "interpolate", "upsample", "unfold", "fold"]

# transposed convolutions (functional/conv_transpose.py)
from .conv_transpose import conv_transpose1d, conv_transpose2d  # noqa: E402

__all__ += ["conv_transpose1d", "conv_transpose2d"]

# attention (functional/attention.py)
from .attention import multi_head_attention_forward, scaled_dot_product_attention  # noqa: E402

__all__ += ["scaled_dot_product_attention", "multi_head_attention_forward"]

# ranking, margin and embedding losses (functional/loss_ranking.py)
from .loss_ranking import (cosine_embedding_loss, hinge_embedding_loss, margin_ranking_loss,  # noqa: E402
                           multi_margin_loss, multilabel_margin_loss, multilabel_soft_margin_loss,
                           soft_margin_loss, triplet_margin_loss, triplet_margin_with_distance_loss)

__all__ += ["margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss", "cosine_embedding_loss",
            "triplet_margin_loss", "triplet_margin_with_distance_loss", "multi_margin_loss",
            "multilabel_margin_loss", "multilabel_soft_margin_loss"]
