"""fastnn.vision.models: torchvision's ResNet, VGG and AlexNet classifiers, same names, modules and parameters.

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
from .vgg import VGG, VGG11_BN_Weights, VGG11_Weights, VGG16_BN_Weights, VGG16_Weights, vgg11, vgg11_bn, vgg16, vgg16_bn
from .alexnet import AlexNet, AlexNet_Weights, alexnet

__all__ = ["ResNet", "BasicBlock", "Bottleneck", "resnet18", "resnet34", "resnet50", "ResNet18_Weights",
           "ResNet34_Weights", "ResNet50_Weights", "get_model", "get_model_builder", "list_models", "Weights",
           "WeightsEnum", "ImageClassification", "PretrainedWeightsUnavailable",
           "VGG", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "VGG11_Weights", "VGG11_BN_Weights", "VGG16_Weights",
           "VGG16_BN_Weights", "AlexNet", "alexnet", "AlexNet_Weights"]
