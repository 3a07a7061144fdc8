"""The reference models: each a plain ``fastnn.nn.Module`` that reads in one screen.

``get_model(name, **kwargs)`` builds one by name (the CLI uses it)."""
from __future__ import annotations

from .cifar_cnn import CifarCNN, cifar_cnn
from .lenet import LeNet, lenet
from .mlp import MLP, mlp
from .resnet import ResNet, resnet8, resnet20

MODELS = {"mlp": mlp, "lenet": lenet, "cifar_cnn": cifar_cnn, "resnet8": resnet8, "resnet20": resnet20}


def get_model(name: str, **kwargs):
    """Build the model called ``name`` (one of ``MODELS``)."""
    try:
        factory = MODELS[name.replace("-", "_").lower()]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}") from None
    return factory(**kwargs)


__all__ = ["MLP", "LeNet", "CifarCNN", "ResNet", "mlp", "lenet", "cifar_cnn", "resnet8", "resnet20", "MODELS",
           "get_model"]
