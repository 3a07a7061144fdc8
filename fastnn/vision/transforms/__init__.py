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

The transforms: conversion (``ToTensor``, ``PILToTensor``, ``ConvertImageDtype``, ``ToDtype``,
``Normalize``, ``Grayscale``), geometry (``Resize``, ``CenterCrop``, ``Pad``, ``RandomCrop``,
``RandomResizedCrop``, flips, ``RandomRotation``, ``RandomAffine``), colour and noise
(``ColorJitter``, ``GaussianBlur``, ``RandomErasing`` — Tensors only, as in torchvision) and
containers (``Compose``, ``Lambda``, ``RandomApply``, ``RandomChoice``, ``RandomOrder``).
Each random transform has torchvision's static ``get_params`` and draws its parameters in
torchvision's order.

Randomness: every random choice is drawn from
:func:`fastnn.utils.data.worker.sample_generator` — fastnn's global generator (so
``fastnn.manual_seed`` makes it reproducible), or, while a DataLoader builds a batch, that
loader's per-epoch generator (so a seeded loader repeats its augmentation exactly, with or
without a background thread). torchvision draws from torch's generator (and ``RandomOrder`` /
``RandomChoice`` from Python's ``random``): the distributions are the same, the numbers are not.

These are not the whole-batch transforms of :mod:`fastnn.data.transforms`, which take an
``(N, C, H, W)`` batch at once and serve fastnn's array-backed data sets and the CLI.
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Callable, Sequence

import numpy as np

from ...tensor import Tensor
from ...utils.data.worker import sample_generator
from . import functional as F
from .functional import InterpolationMode

__all__ = [
    "Compose", "Lambda", "ToTensor", "PILToTensor", "Normalize", "ConvertImageDtype", "ToDtype", "Grayscale",
    "Resize", "CenterCrop", "Pad", "RandomCrop", "RandomHorizontalFlip", "RandomVerticalFlip",
    "RandomRotation", "RandomAffine", "RandomResizedCrop", "ColorJitter", "GaussianBlur", "RandomErasing",
    "RandomApply", "RandomChoice", "RandomOrder", "RandomTransforms", "InterpolationMode", "functional",
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


# ---------------------------------------------------------------------------------------
# argument checks shared by the random transforms (torchvision's helpers)
# ---------------------------------------------------------------------------------------
def _check_sequence_input(x, name: str, req_sizes: tuple[int, ...]) -> None:
    msg = req_sizes[0] if len(req_sizes) < 2 else " or ".join(str(s) for s in req_sizes)
    if not isinstance(x, Sequence):
        raise TypeError(f"{name} should be a sequence of length {msg}.")
    if len(x) not in req_sizes:
        raise ValueError(f"{name} should be a sequence of length {msg}.")


def _setup_angle(x, name: str, req_sizes: tuple[int, ...] = (2,)) -> list[float]:
    """A number ``d`` means ``[-d, d]``; a sequence is taken as given."""
    if isinstance(x, numbers.Number):
        if x < 0:
            raise ValueError(f"If {name} is a single number, it must be positive.")
        x = [-x, x]
    else:
        _check_sequence_input(x, name, req_sizes)
    return [float(d) for d in x]


def _setup_fill(fill):
    if fill is None:
        return 0
    if not isinstance(fill, (Sequence, numbers.Number)):
        raise TypeError("Fill should be either a sequence or a number.")
    return fill


def _tensor_fill(img, fill):
    """torchvision hands Tensors a fill per channel (floats); PIL Images (arrays here) get it as given."""
    if not isinstance(img, Tensor):
        return fill
    channels = F.get_dimensions(img)[0]
    return [float(fill)] * channels if isinstance(fill, numbers.Number) else [float(f) for f in fill]


def _uniform(low: float, high: float) -> float:
    """One draw from U[low, high) (``torch.empty(1).uniform_(low, high)``)."""
    return float(sample_generator().uniform(low, high))


def _randint(low: int, high: int) -> int:
    """One draw from {low, ..., high - 1} (``torch.randint(low, high, (1,))``)."""
    return int(sample_generator().integers(low, high))


# ---------------------------------------------------------------------------------------
# containers of random choice
# ---------------------------------------------------------------------------------------
class RandomApply:
    """Apply the list of ``transforms`` with probability ``p`` (all of them, in order), else none."""

    def __init__(self, transforms: Sequence[Callable], p: float = 0.5):
        self.transforms = transforms
        self.p = p

    def __call__(self, img):
        if self.p < sample_generator().random():
            return img
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}(\n    p={self.p}{inner}\n)"


class RandomTransforms:
    """Base class of :class:`RandomOrder` and :class:`RandomChoice`: a sequence of transforms."""

    def __init__(self, transforms: Sequence[Callable]):
        if not isinstance(transforms, Sequence):
            raise TypeError("Argument transforms should be a sequence")
        self.transforms = transforms

    def __call__(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError()

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({inner}\n)"


class RandomOrder(RandomTransforms):
    """Apply all ``transforms`` in a random order (a uniform permutation per call)."""

    def __call__(self, img):
        for i in sample_generator().permutation(len(self.transforms)):
            img = self.transforms[int(i)](img)
        return img


class RandomChoice(RandomTransforms):
    """Apply ONE of ``transforms``, chosen with relative weights ``p`` (uniformly when None),
    as ``random.choices(transforms, weights=p)``."""

    def __init__(self, transforms: Sequence[Callable], p: Sequence[float] | None = None):
        super().__init__(transforms)
        if p is not None and not isinstance(p, Sequence):
            raise TypeError("Argument p should be a sequence")
        if p is not None and len(p) != len(transforms):
            raise ValueError("The number of weights does not match the population")
        self.p = p

    def __call__(self, *args):
        n = len(self.transforms)
        cum = np.cumsum(np.ones(n) if self.p is None else np.asarray(self.p, dtype=np.float64))
        if not cum[-1] > 0:
            raise ValueError("Total of weights must be greater than zero")
        i = int(np.searchsorted(cum, sample_generator().random() * cum[-1], side="right"))
        return self.transforms[min(i, n - 1)](*args)

    def __repr__(self) -> str:
        return f"{super().__repr__()}(p={self.p})"


# ---------------------------------------------------------------------------------------
# random geometry
# ---------------------------------------------------------------------------------------
class RandomRotation(_Simple):
    """Rotate by an angle drawn uniformly from ``degrees`` (``d`` means ``(-d, d)``), counter-clockwise.

    ``interpolation`` NEAREST (default) or BILINEAR; ``expand`` enlarges the output to hold the
    whole image; ``center`` (x, y) in pixels, default the centre; ``fill`` for the area outside
    the image (a number or one value per channel). See :func:`functional.rotate`.
    """

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand: bool = False, center=None,
                 fill=0):
        self.degrees = _setup_angle(degrees, name="degrees", req_sizes=(2,))
        if center is not None:
            _check_sequence_input(center, "center", req_sizes=(2,))
        self.center = center
        self.interpolation = F._interpolation(interpolation, (InterpolationMode.NEAREST, InterpolationMode.BILINEAR),
                                              "RandomRotation")
        self.expand = expand
        self.fill = _setup_fill(fill)

    @staticmethod
    def get_params(degrees: Sequence[float]) -> float:
        """An angle drawn uniformly from ``[degrees[0], degrees[1]]``."""
        return _uniform(float(degrees[0]), float(degrees[1]))

    def __call__(self, img):
        fill = _tensor_fill(img, self.fill)
        angle = self.get_params(self.degrees)
        return F.rotate(img, angle, self.interpolation, self.expand, self.center, fill)

    def __repr__(self) -> str:
        s = (f"{type(self).__name__}(degrees={self.degrees}, interpolation={self.interpolation.value}, "
             f"expand={self.expand}")
        if self.center is not None:
            s += f", center={self.center}"
        if self.fill is not None:
            s += f", fill={self.fill}"
        return s + ")"


class RandomAffine(_Simple):
    """A random affine map keeping the centre fixed: rotation from ``degrees``, translation up
    to ``translate = (a, b)`` fractions of the width and height (rounded to whole pixels),
    scale from ``scale = (lo, hi)``, shear from ``shear`` (``s``: x-shear in ``(-s, s)``;
    ``(a, b)``: x-shear in it; ``(a, b, c, d)``: x in ``(a, b)``, y in ``(c, d)``), in that order of
    draws; see :func:`functional.affine`."""

    def __init__(self, degrees, translate=None, scale=None, shear=None, interpolation=InterpolationMode.NEAREST,
                 fill=0, center=None):
        self.degrees = _setup_angle(degrees, name="degrees", req_sizes=(2,))
        if translate is not None:
            _check_sequence_input(translate, "translate", req_sizes=(2,))
            for t in translate:
                if not (0.0 <= t <= 1.0):
                    raise ValueError("translation values should be between 0 and 1")
        self.translate = translate
        if scale is not None:
            _check_sequence_input(scale, "scale", req_sizes=(2,))
            for s in scale:
                if s <= 0:
                    raise ValueError("scale values should be positive")
        self.scale = scale
        self.shear = _setup_angle(shear, name="shear", req_sizes=(2, 4)) if shear is not None else None
        self.interpolation = F._interpolation(interpolation, (InterpolationMode.NEAREST, InterpolationMode.BILINEAR),
                                              "RandomAffine")
        self.fill = _setup_fill(fill)
        if center is not None:
            _check_sequence_input(center, "center", req_sizes=(2,))
        self.center = center

    @staticmethod
    def get_params(degrees, translate, scale_ranges, shears, img_size):
        """``(angle, (tx, ty), scale, (shear_x, shear_y))``; ``img_size`` is ``[width, height]``."""
        angle = _uniform(float(degrees[0]), float(degrees[1]))
        if translate is not None:
            max_dx, max_dy = float(translate[0] * img_size[0]), float(translate[1] * img_size[1])
            translations = (int(round(_uniform(-max_dx, max_dx))), int(round(_uniform(-max_dy, max_dy))))
        else:
            translations = (0, 0)
        scale = _uniform(scale_ranges[0], scale_ranges[1]) if scale_ranges is not None else 1.0
        shear_x = shear_y = 0.0
        if shears is not None:
            shear_x = _uniform(shears[0], shears[1])
            if len(shears) == 4:
                shear_y = _uniform(shears[2], shears[3])
        return angle, translations, scale, (shear_x, shear_y)

    def __call__(self, img):
        fill = _tensor_fill(img, self.fill)
        _, height, width = F.get_dimensions(img)
        ret = self.get_params(self.degrees, self.translate, self.scale, self.shear, [width, height])
        return F.affine(img, *ret, interpolation=self.interpolation, fill=fill, center=self.center)

    def __repr__(self) -> str:
        s = f"{type(self).__name__}(degrees={self.degrees}"
        for name in ("translate", "scale", "shear"):
            if getattr(self, name) is not None:
                s += f", {name}={getattr(self, name)}"
        if self.interpolation != InterpolationMode.NEAREST:
            s += f", interpolation={self.interpolation.value}"
        if self.fill != 0:
            s += f", fill={self.fill}"
        if self.center is not None:
            s += f", center={self.center}"
        return s + ")"


class RandomResizedCrop(_Simple):
    """Crop a random region (area ``scale`` of the image, aspect ratio ``ratio``) and resize it to
    ``size`` — the Inception / ImageNet augmentation.

    :meth:`get_params` is torchvision's: up to 10 tries of an area drawn uniformly from ``scale
    * H * W`` and a ratio drawn log-uniformly from ``ratio``, ``w = round(sqrt(area * ratio))``,
    ``h = round(sqrt(area / ratio))``, accepted if it fits, at a uniform position; else a
    central crop of the whole image clamped to the ratio range.
    """

    _repr_fields = ("size", "scale", "ratio", "interpolation", "antialias")

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias: bool | None = True):
        self.size = F._as_pair(size, "RandomResizedCrop")
        if not isinstance(scale, Sequence):
            raise TypeError("Scale should be a sequence")
        if not isinstance(ratio, Sequence):
            raise TypeError("Ratio should be a sequence")
        if (scale[0] > scale[1]) or (ratio[0] > ratio[1]):
            warnings.warn("Scale and ratio should be of kind (min, max)")
        self.interpolation = interpolation
        self.antialias = antialias
        self.scale = scale
        self.ratio = ratio

    @staticmethod
    def get_params(img, scale: Sequence[float], ratio: Sequence[float]) -> tuple[int, int, int, int]:
        """``(top, left, height, width)`` of a random crop of ``img`` (see the class doc)."""
        _, height, width = F.get_dimensions(img)
        area = height * width
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            target_area = area * _uniform(scale[0], scale[1])
            aspect_ratio = math.exp(_uniform(log_ratio[0], log_ratio[1]))
            w = int(round(math.sqrt(target_area * aspect_ratio)))
            h = int(round(math.sqrt(target_area / aspect_ratio)))
            if 0 < w <= width and 0 < h <= height:
                i = _randint(0, height - h + 1)
                j = _randint(0, width - w + 1)
                return i, j, h, w
        # fallback: a central crop
        in_ratio = float(width) / float(height)
        if in_ratio < min(ratio):
            w = width
            h = int(round(w / min(ratio)))
        elif in_ratio > max(ratio):
            h = height
            w = int(round(h * max(ratio)))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, img):
        i, j, h, w = self.get_params(img, self.scale, self.ratio)
        return F.resized_crop(img, i, j, h, w, self.size, self.interpolation, antialias=self.antialias)

    def __repr__(self) -> str:
        mode = self.interpolation.value if isinstance(self.interpolation, InterpolationMode) else self.interpolation
        return (f"{type(self).__name__}(size={self.size}, scale={tuple(round(s, 4) for s in self.scale)}, "
                f"ratio={tuple(round(r, 4) for r in self.ratio)}, interpolation={mode}, antialias={self.antialias})")


# ---------------------------------------------------------------------------------------
# random colour, blur, erasing
# ---------------------------------------------------------------------------------------
class ColorJitter(_Simple):
    """Random brightness, contrast, saturation and hue, applied in a random order.

    Each of ``brightness``, ``contrast``, ``saturation`` is a number ``v`` (factor drawn from
    ``[max(0, 1 - v), 1 + v]``) or a range ``(lo, hi)``; ``hue`` is ``h`` in [0, 0.5] (drawn
    from ``[-h, h]``) or a range inside [-0.5, 0.5]. Per call: a permutation of the four
    adjustments, then one factor for each enabled one (torchvision's :meth:`get_params`).
    """

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        self.brightness = self._check_input(brightness, "brightness")
        self.contrast = self._check_input(contrast, "contrast")
        self.saturation = self._check_input(saturation, "saturation")
        self.hue = self._check_input(hue, "hue", center=0, bound=(-0.5, 0.5), clip_first_on_zero=False)

    @staticmethod
    def _check_input(value, name: str, center: float = 1, bound=(0, float("inf")), clip_first_on_zero: bool = True):
        if isinstance(value, numbers.Number):
            if value < 0:
                raise ValueError(f"If {name} is a single number, it must be non negative.")
            value = [center - float(value), center + float(value)]
            if clip_first_on_zero:
                value[0] = max(value[0], 0.0)
        elif isinstance(value, (tuple, list)) and len(value) == 2:
            value = [float(value[0]), float(value[1])]
        else:
            raise TypeError(f"{name} should be a single number or a list/tuple with length 2.")
        if not bound[0] <= value[0] <= value[1] <= bound[1]:
            raise ValueError(f"{name} values should be between {bound}, but got {value}.")
        # 0 or (1, 1) for brightness/contrast/saturation, (0, 0) for hue: nothing to do
        if value[0] == value[1] == center:
            return None
        return tuple(value)

    @staticmethod
    def get_params(brightness, contrast, saturation, hue):
        """``(order, b, c, s, h)``: a permutation of ``0..3`` and a factor for each enabled adjustment."""
        fn_idx = sample_generator().permutation(4)
        b = None if brightness is None else _uniform(brightness[0], brightness[1])
        c = None if contrast is None else _uniform(contrast[0], contrast[1])
        s = None if saturation is None else _uniform(saturation[0], saturation[1])
        h = None if hue is None else _uniform(hue[0], hue[1])
        return fn_idx, b, c, s, h

    def __call__(self, img):
        fn_idx, b, c, s, h = self.get_params(self.brightness, self.contrast, self.saturation, self.hue)
        for fn_id in fn_idx:
            if fn_id == 0 and b is not None:
                img = F.adjust_brightness(img, b)
            elif fn_id == 1 and c is not None:
                img = F.adjust_contrast(img, c)
            elif fn_id == 2 and s is not None:
                img = F.adjust_saturation(img, s)
            elif fn_id == 3 and h is not None:
                img = F.adjust_hue(img, h)
        return img

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(brightness={self.brightness}, contrast={self.contrast}, "
                f"saturation={self.saturation}, hue={self.hue})")


class GaussianBlur(_Simple):
    """Blur with ``kernel_size`` (odd; int or (kx, ky)) and a sigma drawn uniformly from
    ``sigma = (lo, hi)`` (a number: that sigma), the same in both directions."""

    _repr_fields = ("kernel_size", "sigma")

    def __init__(self, kernel_size, sigma=(0.1, 2.0)):
        self.kernel_size = F._as_pair(kernel_size, "GaussianBlur")
        for ks in self.kernel_size:
            if ks <= 0 or ks % 2 == 0:
                raise ValueError("Kernel size value should be an odd and positive number.")
        if isinstance(sigma, numbers.Number):
            if sigma <= 0:
                raise ValueError("If sigma is a single number, it must be positive.")
            sigma = (sigma, sigma)
        elif isinstance(sigma, Sequence) and len(sigma) == 2:
            if not 0.0 < sigma[0] <= sigma[1]:
                raise ValueError("sigma values should be positive and of the form (min, max).")
        else:
            raise ValueError("sigma should be a single number or a list/tuple with length 2.")
        self.sigma = sigma

    @staticmethod
    def get_params(sigma_min: float, sigma_max: float) -> float:
        return _uniform(sigma_min, sigma_max)

    def __call__(self, img):
        sigma = self.get_params(self.sigma[0], self.sigma[1])
        return F.gaussian_blur(img, list(self.kernel_size), [sigma, sigma])


class RandomErasing(_Simple):
    """With probability ``p``, erase a random rectangle of a Tensor image (Zhong et al., 2017).

    The rectangle: up to 10 tries of an area drawn uniformly from ``scale * H * W`` and a
    ratio log-uniformly from ``ratio``, ``h = round(sqrt(area * ratio))``, ``w =
    round(sqrt(area / ratio))``, accepted if smaller than the image, at a uniform position;
    if none fits, the image is returned as it is. ``value``: a number, one per channel, or
    ``"random"`` (standard normal noise per pixel). Tensors only, as in torchvision: use it
    after ``ToTensor()``.
    """

    _repr_fields = ("p", "scale", "ratio", "value", "inplace")

    def __init__(self, p: float = 0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace: bool = False):
        if not isinstance(value, (numbers.Number, str, tuple, list)):
            raise TypeError("Argument value should be either a number or str or a sequence")
        if isinstance(value, str) and value != "random":
            raise ValueError("If value is str, it should be 'random'")
        if not isinstance(scale, Sequence):
            raise TypeError("Scale should be a sequence")
        if not isinstance(ratio, Sequence):
            raise TypeError("Ratio should be a sequence")
        if (scale[0] > scale[1]) or (ratio[0] > ratio[1]):
            warnings.warn("Scale and ratio should be of kind (min, max)")
        if scale[0] < 0 or scale[1] > 1:
            raise ValueError("Scale should be between 0 and 1")
        if p < 0 or p > 1:
            raise ValueError("Random erasing probability should be between 0 and 1")
        self.p, self.scale, self.ratio, self.value, self.inplace = p, scale, ratio, value, inplace

    @staticmethod
    def get_params(img, scale, ratio, value=None):
        """``(i, j, h, w, v)``: the rectangle and its content (``value=None``: normal noise)."""
        img_c, img_h, img_w = F.get_dimensions(img)
        area = img_h * img_w
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            erase_area = area * _uniform(scale[0], scale[1])
            aspect_ratio = math.exp(_uniform(log_ratio[0], log_ratio[1]))
            h = int(round(math.sqrt(erase_area * aspect_ratio)))
            w = int(round(math.sqrt(erase_area / aspect_ratio)))
            if not (h < img_h and w < img_w):
                continue
            if value is None:
                v = sample_generator().standard_normal((img_c, h, w)).astype(np.float32)
            else:
                v = np.asarray(value, dtype=np.float32)[:, None, None]
            i = _randint(0, img_h - h + 1)
            j = _randint(0, img_w - w + 1)
            return i, j, h, w, v
        return 0, 0, img_h, img_w, img      # nothing fitted: the image itself

    def __call__(self, img):
        if not isinstance(img, Tensor):
            raise TypeError(f"RandomErasing: img should be a Tensor image (apply ToTensor() first), "
                            f"got {type(img).__name__}")
        if sample_generator().random() < self.p:
            if isinstance(self.value, (int, float)):
                value = [float(self.value)]
            elif isinstance(self.value, str):
                value = None
            else:
                value = list(self.value)
            channels = F.get_dimensions(img)[0]
            if value is not None and len(value) not in (1, channels):
                raise ValueError("If value is a sequence, it should have either a single value or "
                                 f"{channels} (number of input channels)")
            i, j, h, w, v = self.get_params(img, scale=self.scale, ratio=self.ratio, value=value)
            return F.erase(img, i, j, h, w, v, self.inplace)
        return img
