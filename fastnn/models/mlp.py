"""A multi-layer perceptron for 28x28 digits: 784-250-100-10 with ReLU."""
from .. import nn


class MLP(nn.Module):
    def __init__(self, in_features: int = 784, hidden=(250, 100), num_classes: int = 10, in_channels: int = 1):
        super().__init__()
        layers, width = [nn.Flatten()], in_features * in_channels
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def mlp(num_classes: int = 10, in_channels: int = 1, image_size: int = 28) -> MLP:
    return MLP(image_size * image_size, num_classes=num_classes, in_channels=in_channels)
