"""fastnn.vision.models: torchvision's classification models, same names, modules and parameters.

    from fastnn.vision.models import resnet18, ResNet18_Weights   # was: from torchvision.models import ...
    model = resnet18(num_classes=10)                # random init, torchvision's
    preprocess = ResNet18_Weights.DEFAULT.transforms()

``weights=None`` (the default) builds a randomly initialised model. Pretrained weights are not
fetched: fastnn does not download and does not unpickle PyTorch ``.pth`` files, so asking for
them raises :class:`PretrainedWeightsUnavailable` with the three lines that convert torchvision's
weights to ``.npz`` once; the state-dict keys and shapes are torchvision's, so they then load.
"""
from ._api import (ImageClassification, PretrainedWeightsUnavailable, Weights, WeightsEnum, get_model,
                   get_model_builder, list_models)
from .resnet import (BasicBlock, Bottleneck, ResNet, ResNet18_Weights, ResNet34_Weights, ResNet50_Weights, resnet18,
                     resnet34, resnet50)

__all__ = ["ResNet", "BasicBlock", "Bottleneck", "resnet18", "resnet34", "resnet50", "ResNet18_Weights",
           "ResNet34_Weights", "ResNet50_Weights", "get_model", "get_model_builder", "list_models", "Weights",
           "WeightsEnum", "ImageClassification", "PretrainedWeightsUnavailable"]
