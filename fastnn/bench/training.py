"""Training-step throughput: samples/s of forward + backward + optimizer step.

One *step* is what a training loop does per batch::

    out = model(x); loss = F.cross_entropy(out, y)
    optimizer.zero_grad(); loss.backward(); optimizer.step()     # SGD, momentum 0.9

It is timed for the reference models (by default ``mlp``, ``lenet``, ``cifar_cnn``; the ResNets
when asked) on each backend and,
when asked, in PyTorch with the *same architecture*: the twins below are written layer for
layer after ``fastnn/models/`` (and a test checks that the parameter counts agree). PyTorch
is imported here only, lazily, when ``torch=True``. Each backend gets its own model and
optimizer (the same seed, so the same weights); the contestants of one (model, batch) pair
are timed in interleaved rounds, like the kernels.
"""
from __future__ import annotations

import numpy as np

MODELS = ("mlp", "lenet", "cifar_cnn", "resnet8", "resnet20")
DEFAULT_MODELS = ("mlp", "lenet", "cifar_cnn")       # what `fastnn bench --train` times unless told
BATCHES, BATCHES_QUICK = (64, 128), (8,)
#: input shape (C, H, W) per model
INPUT = {"mlp": (1, 28, 28), "lenet": (1, 28, 28), "cifar_cnn": (3, 32, 32), "resnet8": (3, 32, 32),
         "resnet20": (3, 32, 32)}
LR, MOMENTUM = 0.01, 0.9


def torch_twin(name: str, torch, in_channels: int | None = None):
    """The PyTorch module with the architecture of ``fastnn.models.get_model(name, in_channels=...)``
    (default channels: the model's own, 1 for the MNIST models, 3 for the CIFAR-10 ones)."""
    nn = torch.nn
    F = torch.nn.functional
    cin = INPUT[name][0] if in_channels is None else in_channels
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784 * cin, 250), nn.ReLU(), nn.Linear(250, 100), nn.ReLU(),
                             nn.Linear(100, 10))
    if name == "lenet":
        class LeNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(cin, 10, kernel_size=5)
                self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
                self.fc1 = nn.Linear(320, 50)
                self.dropout = nn.Dropout(0.5)
                self.fc2 = nn.Linear(50, 10)

            def forward(self, x):
                x = F.relu(F.max_pool2d(self.conv1(x), 2))
                x = F.relu(F.max_pool2d(self.conv2(x), 2))
                x = F.relu(self.fc1(x.flatten(1)))
                return self.fc2(self.dropout(x))
        return LeNet()

    def cbr(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
    if name == "cifar_cnn":
        w = 32
        return nn.Sequential(*cbr(cin, w), *cbr(w, w), nn.MaxPool2d(2), *cbr(w, 2 * w), *cbr(2 * w, 2 * w),
                             nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.25), nn.Linear(2 * w * 8 * 8, 10))
    if name in ("resnet8", "resnet20"):
        class Block(nn.Module):
            def __init__(self, cin, cout, stride):
                super().__init__()
                self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
                self.bn1 = nn.BatchNorm2d(cout)
                self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
                self.bn2 = nn.BatchNorm2d(cout)
                self.shortcut = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

            def forward(self, x):
                out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
                return F.relu(out + self.shortcut(x))

        layers, width = cbr(cin, 16), 16
        for cout, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(1 if name == "resnet8" else 3):
                layers.append(Block(width, cout, stride if i == 0 else 1))
                width = cout
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
    raise ValueError(f"no PyTorch twin for model {name!r}; models: {', '.join(MODELS)}")


def _data(name: str, batch: int):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, *INPUT[name])).astype(np.float32)
    y = rng.integers(0, 10, batch).astype(np.int64)
    return x, y


def fastnn_step(name: str, batch: int, backend: str):
    """A zero-argument callable doing one training step of ``name`` on ``backend``."""
    import fastnn
    from fastnn import optim
    from fastnn.models import get_model
    from fastnn.nn import functional as F
    fastnn.manual_seed(0)
    model = get_model(name)
    model.train()
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    xn, yn = _data(name, batch)
    x, y = fastnn.tensor(xn), fastnn.tensor(yn)

    def step():
        with fastnn.use_backend(backend):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return loss
    return step


def torch_step(name: str, batch: int, torch):
    torch.manual_seed(0)
    model = torch_twin(name, torch)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    xn, yn = _data(name, batch)
    x, y = torch.from_numpy(xn), torch.from_numpy(yn)
    F = torch.nn.functional

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    return step


def parameter_count(name: str, torch=None) -> int:
    """Parameters of the fastnn model (or of its PyTorch twin when ``torch`` is given)."""
    if torch is not None:
        return sum(p.numel() for p in torch_twin(name, torch).parameters())
    from fastnn.models import get_model
    return sum(int(p.data.size) for p in get_model(name).parameters())


__all__ = ["MODELS", "DEFAULT_MODELS", "torch_twin", "fastnn_step", "torch_step", "parameter_count"]
