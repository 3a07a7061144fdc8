"""Neural-network building blocks (``import fastnn.nn as nn``), with PyTorch's names:

* ``Module`` and ``Parameter`` (module.py, parameter.py): the layer API;
* layers: linear.py, conv.py, pooling.py, flatten.py, dropout.py, normalization.py,
  activation.py, recurrent.py; containers: container.py; losses: loss.py;
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
from .conv import Conv2d
from .dropout import Dropout
from .flatten import Flatten
from .linear import Identity, Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d
from .parameter import Buffer, Parameter
from .pooling import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase

__all__ = ["functional", "init", "utils", "Module", "Parameter", "Buffer", "Linear", "Identity", "Conv2d", "MaxPool2d",
           "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "Flatten", "Dropout", "BatchNorm1d",
           "BatchNorm2d", "ReLU",
           "LeakyReLU", "ELU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Sequential", "ModuleList",
           "ModuleDict", "RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell", "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
           "BCEWithLogitsLoss",
           # activations beyond the kernel-backed ones
           "GELU", "SiLU", "Softplus", "Mish", "Hardtanh", "ReLU6", "SELU", "CELU", "Softsign", "LogSigmoid",
           "Softmin", "Softmax2d", "PReLU", "Hardswish", "Hardsigmoid", "GLU", "Hardshrink", "Softshrink",
           "Tanhshrink", "Threshold"]

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
