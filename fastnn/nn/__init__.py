"""Neural-network building blocks (``import fastnn.nn as nn``), with PyTorch's names:

* ``Module`` and ``Parameter`` (module.py, parameter.py): the layer API;
* layers: linear.py, conv.py, pooling.py, flatten.py, dropout.py, normalization.py,
  activation.py, recurrent.py, sparse.py (Embedding), padding.py, upsampling.py, fold.py,
  distance.py; containers: container.py; losses: loss.py;
* ``init``: weight initialisation; ``functional`` (``F``): the differentiable operations
  every layer calls (and which call the kernel backends).
"""
from . import functional  # noqa: F401
from . import init  # noqa: F401
from . import utils  # noqa: F401
from .activation import (CELU, ELU, GELU, GLU, SELU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU,
                         LogSigmoid, LogSoftmax, Mish, PReLU, ReLU, ReLU6, Sigmoid, SiLU, Softmax, Softmax2d, Softmin,
                         Softplus, Softshrink, Softsign, Tanh, Tanhshrink, Threshold)
from .container import ModuleDict, ModuleList, Sequential
from .conv import Conv1d, Conv2d
from .distance import CosineSimilarity, PairwiseDistance
from .dropout import Dropout, Dropout1d, Dropout2d, Dropout3d
from .flatten import Flatten, Unflatten
from .fold import Fold, Unfold
from .linear import Bilinear, Identity, Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss, NLLLoss,
                   SmoothL1Loss)
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from .padding import (CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d, ConstantPad2d, ConstantPad3d,
                      ReflectionPad1d, ReflectionPad2d, ReflectionPad3d, ReplicationPad1d, ReplicationPad2d,
                      ReplicationPad3d, ZeroPad1d, ZeroPad2d, ZeroPad3d)
from .parameter import Buffer, Parameter
from .pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool1d, AdaptiveMaxPool2d, AvgPool1d, AvgPool2d,
                      MaxPool1d, MaxPool2d)
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .sparse import Embedding
from .upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = ["functional", "init", "utils", "Module", "Parameter", "Buffer", "Linear", "Identity", "Conv2d", "MaxPool2d",
           "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "Flatten", "Dropout", "BatchNorm1d",
           "BatchNorm2d", "ReLU",
           "LeakyReLU", "ELU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Sequential", "ModuleList",
           "ModuleDict", "RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell", "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
           "BCEWithLogitsLoss",
           # activations beyond the kernel-backed ones
           "GELU", "SiLU", "Softplus", "Mish", "Hardtanh", "ReLU6", "SELU", "CELU", "Softsign", "LogSigmoid",
           "Softmin", "Softmax2d", "PReLU", "Hardswish", "Hardsigmoid", "GLU", "Hardshrink", "Softshrink",
           "Tanhshrink", "Threshold",
           # layers beyond the kernel-backed ones
           "LayerNorm", "GroupNorm", "Embedding", "Unflatten", "Conv1d", "MaxPool1d", "AvgPool1d", "AdaptiveAvgPool1d",
           "AdaptiveMaxPool1d", "SmoothL1Loss", "HuberLoss", "KLDivLoss", "CosineSimilarity", "PairwiseDistance",
           "Dropout1d", "Dropout2d", "Dropout3d", "Bilinear", "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d",
           "Fold", "Unfold", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
           "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
           "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d"]

# transposed convolutions (conv_transpose.py)
from .conv_transpose import ConvTranspose1d, ConvTranspose2d  # noqa: E402

__all__ += ["ConvTranspose1d", "ConvTranspose2d"]

# attention layers (transformer.py)
from .transformer import (MultiheadAttention, Transformer, TransformerDecoder, TransformerDecoderLayer,  # noqa: E402
                          TransformerEncoder, TransformerEncoderLayer)

__all__ += ["MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder", "TransformerDecoderLayer",
            "TransformerDecoder", "Transformer"]

# parameter containers (container.py) and ranking/embedding losses (loss_ranking.py)
from .container import ParameterDict, ParameterList  # noqa: E402
from .loss_ranking import (CosineEmbeddingLoss, HingeEmbeddingLoss, MarginRankingLoss, MultiLabelMarginLoss,  # noqa: E402
                           MultiLabelSoftMarginLoss, MultiMarginLoss, SoftMarginLoss, TripletMarginLoss,
                           TripletMarginWithDistanceLoss)

__all__ += ["ParameterList", "ParameterDict", "MarginRankingLoss", "HingeEmbeddingLoss", "SoftMarginLoss",
            "CosineEmbeddingLoss", "TripletMarginLoss", "TripletMarginWithDistanceLoss", "MultiMarginLoss",
            "MultiLabelMarginLoss", "MultiLabelSoftMarginLoss"]
