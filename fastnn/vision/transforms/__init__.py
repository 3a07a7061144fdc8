"""Per-sample image transforms with torchvision's names, arguments and semantics.

    from fastnn.vision import datasets, transforms
    train_tf = transforms.Compose([
        transforms.RandomCrop(32, padding=4),           # on the HxWxC uint8 array, as on a PIL Image
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),                          # -> float32 (C, H, W) in [0, 1]
        transforms.Normalize((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    ])
    train = datasets.CIFAR10("data", train=True, transform=train_tf)

Each transform takes ONE image, either a fastnn Tensor ``(..., C, H, W)`` or an image array
``(H, W[, C])`` standing in for torchvision's PIL Image (see :mod:`.functional`), and
geometric transforms return the kind they were given. The operations themselves live in
:mod:`fastnn.vision.transforms.functional` (torchvision's ``transforms.functional``).

Randomness: every random choice is drawn from
:func:`fastnn.utils.data.worker.sample_generator` — fastnn's global generator (so
``fastnn.manual_seed`` makes it reproducible), or, while a DataLoader builds a batch, that
loader's per-epoch generator (so a seeded loader repeats its augmentation exactly, with or
without a background thread).

These are not the whole-batch transforms of :mod:`fastnn.data.transforms`, which take an
``(N, C, H, W)`` batch at once and serve fastnn's array-backed data sets and the CLI.
"""
from __future__ import annotations

import numbers
from typing import Callable, Sequence

import numpy as np

from ...utils.data.worker import sample_generator
from . import functional as F
from .functional import InterpolationMode

__all__ = [
    "Compose", "Lambda", "ToTensor", "PILToTensor", "Normalize", "ConvertImageDtype", "ToDtype", "Grayscale",
    "Resize", "CenterCrop", "Pad", "RandomCrop", "RandomHorizontalFlip", "RandomVerticalFlip",
    "InterpolationMode", "functional",
]


class Compose:
    """Apply ``transforms`` one after the other."""

    def __init__(self, transforms: Sequence[Callable]):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({inner}\n)"


class Lambda:
    """Wrap a function of the image: ``Lambda(lambda x: x * 2)``."""

    def __init__(self, lambd: Callable):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _Simple:
    """A transform whose repr lists the given attributes (torchvision's repr style)."""

    _repr_fields: tuple[str, ...] = ()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._repr_fields)
        return f"{type(self).__name__}({args})"


class ToTensor(_Simple):
    """Image array ``(H, W[, C])`` (or PIL Image) -> Tensor ``(C, H, W)``; uint8 becomes float32 in [0, 1].

    Given a uint8 array this is exactly torchvision's ``ToTensor`` on the equivalent PIL Image:
    ``x.transpose(2, 0, 1) / 255`` in float32. Other dtypes keep their values and dtype.
    """

    def __call__(self, pic):
        return F.to_tensor(pic)


class PILToTensor(_Simple):
    """Image array (or PIL Image) -> Tensor ``(C, H, W)`` of the same dtype, values unchanged."""

    def __call__(self, pic):
        return F.pil_to_tensor(pic)


class Normalize(_Simple):
    """``(x - mean[c]) / std[c]`` per channel of a float Tensor image (``inplace`` overwrites it)."""

    _repr_fields = ("mean", "std")

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False):
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, tensor):
        return F.normalize(tensor, self.mean, self.std, self.inplace)


class ConvertImageDtype(_Simple):
    """A Tensor image in another dtype with its value range rescaled (uint8 [0, 255] <-> float [0, 1])."""

    _repr_fields = ("dtype",)

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)

    def __call__(self, image):
        return F.convert_image_dtype(image, self.dtype)


class ToDtype(_Simple):
    """A Tensor image cast to ``dtype``; ``scale=True`` rescales values as :class:`ConvertImageDtype`."""

    _repr_fields = ("dtype", "scale")

    def __init__(self, dtype, scale: bool = False):
        self.dtype, self.scale = np.dtype(dtype), bool(scale)

    def __call__(self, image):
        return F.to_dtype(image, self.dtype, self.scale)


class Grayscale(_Simple):
    """RGB -> grayscale with 1 or 3 output channels (see :func:`functional.rgb_to_grayscale`)."""

    _repr_fields = ("num_output_channels",)

    def __init__(self, num_output_channels: int = 1):
        self.num_output_channels = num_output_channels

    def __call__(self, img):
        return F.rgb_to_grayscale(img, self.num_output_channels)


class Resize(_Simple):
    """Resize to ``size`` ((h, w), or an int for the shorter edge); see :func:`functional.resize`."""

    _repr_fields = ("size", "interpolation", "max_size", "antialias")

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size: int | None = None,
                 antialias: bool | None = True):
        if not isinstance(size, (numbers.Integral, Sequence)):
            raise TypeError(f"Size should be int or sequence. Got {type(size)}")
        if isinstance(size, Sequence) and len(size) not in (1, 2):
            raise ValueError("If size is a sequence, it should have 1 or 2 values")
        self.size, self.interpolation, self.max_size, self.antialias = size, interpolation, max_size, antialias

    def __call__(self, img):
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)


class CenterCrop(_Simple):
    """The central ``size`` region (zero-padded first if the image is smaller)."""

    _repr_fields = ("size",)

    def __init__(self, size):
        self.size = F._as_pair(size, "CenterCrop")

    def __call__(self, img):
        return F.center_crop(img, self.size)


class Pad(_Simple):
    """Pad the borders by ``padding`` (int, (lr, tb) or (l, t, r, b)) with ``fill`` or a mirror mode."""

    _repr_fields = ("padding", "fill", "padding_mode")

    def __init__(self, padding, fill=0, padding_mode: str = "constant"):
        F._padding_ltrb(padding)  # validate now, as torchvision does
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def __call__(self, img):
        return F.pad(img, self.padding, self.fill, self.padding_mode)


class RandomCrop(_Simple):
    """Crop at a random position, after optional padding (torchvision's steps, in its order).

    1. pad by ``padding`` if given; 2. with ``pad_if_needed``, pad the width (left AND right)
    by the missing amount, then the height likewise; 3. draw the top row in
    ``[0, H - h]`` and the left column in ``[0, W - w]`` (no draw when the sizes already match);
    4. crop. ``RandomCrop(32, padding=4)`` is the classic CIFAR-10 augmentation.
    """

    _repr_fields = ("size", "padding")

    def __init__(self, size, padding=None, pad_if_needed: bool = False, fill=0, padding_mode: str = "constant"):
        self.size = F._as_pair(size, "RandomCrop")
        if padding is not None:
            F._padding_ltrb(padding)
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
        self.padding, self.pad_if_needed, self.fill, self.padding_mode = padding, pad_if_needed, fill, padding_mode

    @staticmethod
    def get_params(img, output_size: tuple[int, int]) -> tuple[int, int, int, int]:
        """``(top, left, h, w)`` of a random crop of ``output_size`` inside ``img``."""
        _, h, w = F.get_dimensions(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size {(h, w)}")
        if (h, w) == (th, tw):
            return 0, 0, h, w
        rng = sample_generator()
        top = int(rng.integers(0, h - th + 1))
        left = int(rng.integers(0, w - tw + 1))
        return top, left, th, tw

    def __call__(self, img):
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, height, width = F.get_dimensions(img)
        if self.pad_if_needed and width < self.size[1]:
            img = F.pad(img, [self.size[1] - width, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and height < self.size[0]:
            img = F.pad(img, [0, self.size[0] - height], self.fill, self.padding_mode)
        return F.crop(img, *self.get_params(img, self.size))


class RandomHorizontalFlip(_Simple):
    """Mirror left-right with probability ``p`` (one uniform draw per call)."""

    _repr_fields = ("p",)

    def __init__(self, p: float = 0.5):
        self.p = p

    def __call__(self, img):
        return F.hflip(img) if sample_generator().random() < self.p else img


class RandomVerticalFlip(_Simple):
    """Mirror top-bottom with probability ``p`` (one uniform draw per call)."""

    _repr_fields = ("p",)

    def __init__(self, p: float = 0.5):
        self.p = p

    def __call__(self, img):
        return F.vflip(img) if sample_generator().random() < self.p else img
