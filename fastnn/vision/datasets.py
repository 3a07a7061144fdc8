"""torchvision's image data sets: ``MNIST``, ``FashionMNIST``, ``CIFAR10``, ``CIFAR100`` with their arguments and items.

    from fastnn.vision import datasets, transforms
    train = datasets.MNIST("data", train=True, transform=transforms.ToTensor())
    img, label = train[0]          # Tensor (1, 28, 28) float32 in [0, 1], int 5

``dataset[i]`` is ``(image, target)`` as in torchvision: ``target`` a Python int and ``image``
what ``transform`` makes of the raw image. torchvision's raw image is a PIL Image; fastnn has
no Pillow dependency, so it is a **uint8 NumPy array**, ``(28, 28)`` for MNIST (a PIL "L"
image read with ``np.asarray``) and ``(32, 32, 3)`` for CIFAR-10/100 ("RGB"). ``ToTensor()``
accepts it and gives the very float32 ``(C, H, W)`` tensor in [0, 1] that torchvision's
``ToTensor()`` gives for the PIL Image, and the geometric transforms of
:mod:`fastnn.vision.transforms` work on it as torchvision's work on PIL Images.

The attributes match torchvision's too: MNIST's ``data`` is a uint8 Tensor ``(N, 28, 28)`` and
``targets`` an int64 Tensor; CIFAR-10's and CIFAR-100's ``data`` is a uint8 array
``(N, 32, 32, 3)`` and ``targets`` a list of ints (CIFAR-100: the fine labels); ``classes`` and ``class_to_idx`` as torchvision names them.

Finding, verifying, downloading and parsing the files is :mod:`fastnn.data.datasets`' job;
these classes serve its arrays one sample at a time. Files are found in torchvision's folder
layouts (``<root>/MNIST/raw/``, ``<root>/FashionMNIST/raw/``, ``<root>/cifar-10-batches-py/``
or ``-bin/``, ``<root>/cifar-100-python/``) and in fastnn's (``<root>/mnist/``,
``<root>/fashion-mnist/``, ``<root>/cifar-10/``, ``<root>/cifar-100/``); ``root=None`` means ``$FASTNN_DATA`` (default ``~/.cache/fastnn``).
For training speed, fastnn's own array-backed :class:`fastnn.data.MNIST` builds whole batches
in one NumPy call, where these call ``transform`` once per image.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import data as _data
from ..data import datasets as _readers
from ..tensor import Tensor
from ..utils.data import Dataset

__all__ = ["VisionDataset", "MNIST", "FashionMNIST", "CIFAR10", "CIFAR100"]


class VisionDataset(Dataset):
    """Base class: ``root``, ``transform`` / ``target_transform`` (or a joint ``transforms``), repr."""

    def __init__(self, root=None, transforms: Callable | None = None, transform: Callable | None = None,
                 target_transform: Callable | None = None):
        if transforms is not None and (transform is not None or target_transform is not None):
            raise ValueError("Only transforms or transform/target_transform can be passed as argument")
        self.root = root
        self.transform = transform
        self.target_transform = target_transform
        self.transforms = transforms

    def _apply(self, img, target: int) -> tuple[Any, Any]:
        if self.transforms is not None:
            return self.transforms(img, target)
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}"]
        if self.root is not None:
            lines.append(f"    Root location: {self.root}")
        lines += [f"    {line}" for line in self.extra_repr().splitlines()]
        for name in ("transforms", "transform", "target_transform"):
            t = getattr(self, name)
            if t is not None:
                lines.append(f"    {name.replace('_', ' ').capitalize()}: " + repr(t).replace("\n", "\n    "))
        return "\n".join(lines)


class _SplitDataset(VisionDataset):
    """What the three sets share: built from a :mod:`fastnn.data` reader, a train/test split, classes."""

    def __init__(self, source, train: bool, transform, target_transform):
        super().__init__(source.root, transform=transform, target_transform=target_transform)
        self.train = bool(train)
        self.classes = list(source.classes)
        self.files = source.files

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"


class MNIST(_SplitDataset):
    """MNIST digits, torchvision-style:
    ``MNIST(root, train=True, transform=None, target_transform=None, download=False)``.

    Items are ``(image, int)``; the raw image is a uint8 ``(28, 28)`` array (see the module doc).
    """

    _source = _data.MNIST

    def __init__(self, root=None, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False):
        source = self._source(root=root, train=train, download=download)
        super().__init__(source, train, transform, target_transform)
        self.data = Tensor(source.data[:, 0])            # (N, 28, 28) uint8, as torchvision's
        self.targets = Tensor(source.targets)            # int64

    def __getitem__(self, index: int):
        img = self.data.data[index].copy()   # a fresh image per access, as a new PIL Image would be
        return self._apply(img, int(self.targets.data[index]))


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST, torchvision-style (same items as :class:`MNIST`)."""

    _source = _data.FashionMNIST


class CIFAR10(_SplitDataset):
    """CIFAR-10, torchvision-style:
    ``CIFAR10(root, train=True, transform=None, target_transform=None, download=False)``.

    Items are ``(image, int)``; the raw image is a uint8 ``(32, 32, 3)`` array (HWC, as a PIL
    "RGB" image reads). Both official distributions are read: the binary one and the python
    one torchvision downloads (``cifar-10-batches-py``, unpickled data-only; see
    :class:`fastnn.data.CIFAR10`).
    """

    _source = _readers.CIFAR10

    def __init__(self, root=None, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False):
        source = self._source(root=root, train=train, download=download)
        super().__init__(source, train, transform, target_transform)
        self._source_extras(source)
        self.data: np.ndarray = source.data.transpose(0, 2, 3, 1)    # (N, 32, 32, 3), as torchvision's
        self.targets: list[int] = source.targets.tolist()

    def __getitem__(self, index: int):
        img = self.data[index].copy()   # a fresh, C-contiguous HWC image per access
        return self._apply(img, self.targets[index])

    def _source_extras(self, source) -> None:
        pass


class CIFAR100(CIFAR10):
    """CIFAR-100, torchvision-style:
    ``CIFAR100(root, train=True, transform=None, target_transform=None, download=False)``.

    Items are ``(image, fine label)`` as in torchvision: ``classes`` names the 100 fine classes.
    Both official distributions are read (see :class:`fastnn.data.datasets.CIFAR100`): the
    python one torchvision downloads (``<root>/cifar-100-python/``) and the binary one.
    fastnn's additions: ``coarse_targets`` (a list of ints, 0-19) and ``coarse_classes``.
    """

    _source = _readers.CIFAR100

    def _source_extras(self, source) -> None:
        self.coarse_targets: list[int] = source.coarse_targets.tolist()
        self.coarse_classes = list(source.coarse_classes)
