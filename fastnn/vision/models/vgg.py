"""torchvision's VGG (Simonyan & Zisserman 2014): configurations "A" (vgg11) and "D" (vgg16), +BN.

``features`` is one flat Sequential built from torchvision's cfg lists, so the indices in the
state dict (``features.0.weight``, ``features.3.weight``...) are torchvision's; the init is
torchvision's too: kaiming_normal_ (fan_out, relu) convs, N(0, 0.01) linears, zero biases.
"""
from __future__ import annotations

from ... import nn
from ._api import WeightsEnum, check_weights, imagenet_weights, register_model

_URL = "https://download.pytorch.org/models/"
cfgs = {"A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
        "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]}


def make_layers(cfg, batch_norm: bool = False) -> nn.Sequential:
    layers, cin = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            conv = nn.Conv2d(cin, v, kernel_size=3, padding=1)
            layers += [conv, nn.BatchNorm2d(v), nn.ReLU(inplace=True)] if batch_norm else [conv, nn.ReLU(inplace=True)]
            cin = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True, dropout: float = 0.5):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes))
        if init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.constant_(m.bias, 0)

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def _enum(name, file, n, acc1, acc5):
    member = imagenet_weights(_URL + file, n, acc1, acc5)
    return WeightsEnum(name, [("IMAGENET1K_V1", member), ("DEFAULT", member)], module=__name__)


VGG11_Weights = _enum("VGG11_Weights", "vgg11-8a719046.pth", 132863336, 69.020, 88.628)
VGG11_BN_Weights = _enum("VGG11_BN_Weights", "vgg11_bn-6002323d.pth", 132868840, 70.370, 89.810)
VGG16_Weights = _enum("VGG16_Weights", "vgg16-397923af.pth", 138357544, 71.592, 90.382)
VGG16_BN_Weights = _enum("VGG16_BN_Weights", "vgg16_bn-6c64b313.pth", 138365992, 73.360, 91.516)


def _vgg(cfg, batch_norm, weights, enum_cls, name, kwargs):
    check_weights(weights, enum_cls, name, kwargs)
    return VGG(make_layers(cfgs[cfg], batch_norm), **kwargs)


@register_model
def vgg11(*, weights=None, progress=True, **kwargs):
    return _vgg("A", False, weights, VGG11_Weights, "vgg11", kwargs)


@register_model
def vgg11_bn(*, weights=None, progress=True, **kwargs):
    return _vgg("A", True, weights, VGG11_BN_Weights, "vgg11_bn", kwargs)


@register_model
def vgg16(*, weights=None, progress=True, **kwargs):
    return _vgg("D", False, weights, VGG16_Weights, "vgg16", kwargs)


@register_model
def vgg16_bn(*, weights=None, progress=True, **kwargs):
    return _vgg("D", True, weights, VGG16_BN_Weights, "vgg16_bn", kwargs)
