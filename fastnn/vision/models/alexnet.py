"""torchvision's AlexNet (the "one weird trick" variant, Krizhevsky 2014), same modules and names.

``features`` / ``avgpool`` / ``classifier`` with torchvision's indices (``features.0.weight``,
``classifier.1.weight``...), so converted torchvision weights load as is. No custom init:
torchvision keeps PyTorch's layer defaults here, and so does fastnn.
"""
from __future__ import annotations

from ... import nn
from ._api import WeightsEnum, check_weights, imagenet_weights, register_model


class AlexNet(nn.Module):
    def __init__(self, num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2))
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))   # any input >= 63x63 reaches the classifier as 6x6
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


class AlexNet_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights("https://download.pytorch.org/models/alexnet-owt-7be5be79.pth", 61100840,
                                     56.522, 79.066)
    DEFAULT = IMAGENET1K_V1


@register_model
def alexnet(*, weights=None, progress=True, **kwargs):
    """AlexNet: five convs, three linears (61.1M parameters, most in the classifier)."""
    check_weights(weights, AlexNet_Weights, "alexnet", kwargs)
    return AlexNet(**kwargs)
