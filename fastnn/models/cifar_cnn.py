"""A VGG-style network for 32x32 colour images: two stages of two 3x3 conv-BN-ReLU
layers, each stage ending in a 2x2 max pool, then dropout and a linear classifier."""
from .. import nn


def conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class CifarCNN(nn.Module):
    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: int = 32):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            conv_bn_relu(in_channels, w), conv_bn_relu(w, w), nn.MaxPool2d(2),        # 32x32 -> 16x16
            conv_bn_relu(w, 2 * w), conv_bn_relu(2 * w, 2 * w), nn.MaxPool2d(2),      # 16x16 -> 8x8
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.25), nn.Linear(2 * w * 8 * 8, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


def cifar_cnn(num_classes: int = 10, in_channels: int = 3, width: int = 32) -> CifarCNN:
    return CifarCNN(num_classes, in_channels, width)
