"""LeNet for 28x28 digits, as in PyTorch's MNIST example:
conv 1->10 5x5, pool, relu, conv 10->20 5x5, pool, relu, fc 320->50, dropout, fc 50->10."""
from .. import nn
from ..nn import functional as F


class LeNet(nn.Module):
    def __init__(self, num_classes: int = 10, in_channels: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.fc1 = nn.Linear(320, 50)
        self.dropout = nn.Dropout(0.5)
        self.fc2 = nn.Linear(50, num_classes)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))      # 28x28 -> 24x24 -> 12x12
        x = F.relu(F.max_pool2d(self.conv2(x), 2))      # 12x12 -> 8x8 -> 4x4
        x = F.relu(self.fc1(x.flatten(1)))              # 20*4*4 = 320
        return self.fc2(self.dropout(x))


def lenet(num_classes: int = 10, in_channels: int = 1) -> LeNet:
    return LeNet(num_classes, in_channels)
