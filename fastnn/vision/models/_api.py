"""What every model builder shares: the weights enums, the ImageNet preset transform, the registry.

torchvision describes pretrained weights with an enum per architecture (``ResNet18_Weights``)
whose members carry a download URL, the preprocessing preset (``.transforms()``) and metadata.
fastnn keeps the same objects so that code like ``weights.transforms()`` ports unchanged, but it
never downloads, and it never unpickles PyTorch's ``.pth`` files (loading a pickle can run
arbitrary code; fastnn's own checkpoints are pickle-free ``.npz``). Asking for pretrained weights
therefore raises :class:`PretrainedWeightsUnavailable`, whose message says how to convert them.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

import numpy as np

from ...tensor import Tensor
from .. import transforms as T
from ..transforms import InterpolationMode

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class ImageClassification:
    """torchvision's ``ImageClassification`` preset: resize, center crop, scale to [0, 1], normalize.

    Accepts a ``(..., C, H, W)`` Tensor (uint8 or float) or an ``(H, W, C)`` uint8 image array
    (fastnn's stand-in for a PIL Image), and returns a float ``(..., C, crop, crop)`` Tensor.
    """

    def __init__(self, *, crop_size: int, resize_size: int = 256, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                 interpolation=InterpolationMode.BILINEAR, antialias: bool | None = True):
        self.crop_size, self.resize_size = [crop_size], [resize_size]
        self.mean, self.std = list(mean), list(std)
        self.interpolation, self.antialias = interpolation, antialias
        self._steps = T.Compose([T.Resize(self.resize_size, interpolation, antialias=antialias),
                                 T.CenterCrop(self.crop_size), T.ConvertImageDtype(np.float32),
                                 T.Normalize(self.mean, self.std)])

    def __call__(self, img):
        if not isinstance(img, Tensor):
            img = T.functional.pil_to_tensor(img)   # as torchvision does for a PIL Image
        return self._steps(img)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(\n    crop_size={self.crop_size}\n    resize_size={self.resize_size}\n"
                f"    mean={self.mean}\n    std={self.std}\n    interpolation={self.interpolation}\n)")


@dataclass(frozen=True)
class Weights:
    url: str
    transforms: Callable[..., Any]
    meta: dict = field(default_factory=dict)


class PretrainedWeightsUnavailable(RuntimeError):
    """Pretrained weights were requested; fastnn neither downloads nor reads PyTorch pickles."""


class WeightsEnum(enum.Enum):
    """Base of ``ResNet18_Weights`` and friends; members wrap a :class:`Weights`."""

    @classmethod
    def verify(cls, obj):
        """``obj`` (a member, its name such as ``"IMAGENET1K_V1"`` / ``"DEFAULT"``, or None) as a member."""
        if obj is None or isinstance(obj, cls):
            return obj
        if isinstance(obj, str):
            try:
                return cls[obj.replace(cls.__name__ + ".", "")]
            except KeyError:
                raise ValueError(f"Failed to find Weights {obj} in {cls.__name__}.") from None
        raise TypeError(f"Invalid Weight class provided; expected {cls.__name__} but received {type(obj).__name__}.")

    @property
    def url(self) -> str:
        return self.value.url

    @property
    def transforms(self):
        return self.value.transforms

    @property
    def meta(self) -> dict:
        return self.value.meta

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self.name}"


def pretrained_error(weights: WeightsEnum, builder: str) -> PretrainedWeightsUnavailable:
    """The error for ``builder(weights=...)``: what fastnn cannot do and the two lines that work instead."""
    fname = weights.url.rsplit("/", 1)[-1]
    npz = f"{builder}.npz"
    return PretrainedWeightsUnavailable(
        f"fastnn cannot load {weights!r}: it does not download weights and does not read PyTorch's pickled "
        f".pth files. Build the model with weights=None and load a state dict saved as .npz:\n"
        f"    model = {builder}()\n"
        f"    model.load_state_dict(fastnn.load('{npz}'))      # a file written by fastnn.save\n"
        f"    model.load_state_dict(dict(numpy.load('{npz}')))  # a plain numpy.savez file\n"
        f"To convert torchvision's weights once, on a machine with torch ({fname} is {weights.url}):\n"
        f"    import numpy, torch\n"
        f"    sd = torch.load('{fname}', map_location='cpu', weights_only=True)\n"
        f"    numpy.savez('{npz}', **{{k: v.numpy() for k, v in sd.items()}})\n"
        f"(or fastnn.save({{k: v.numpy() for k, v in sd.items()}}, '{npz}') where fastnn is installed too). "
        f"The parameter names and shapes are torchvision's, so the state dict loads as is (a file without "
        f"'*.num_batches_tracked' entries, as older .pth files are, needs load_state_dict(..., strict=False)).")


def check_weights(weights, enum_cls, builder: str, kwargs: dict):
    """Validate ``weights`` (and torchvision's legacy ``pretrained=``); raise if any are asked for."""
    if kwargs.pop("pretrained", False):
        weights = enum_cls.DEFAULT
    weights = enum_cls.verify(weights)
    if weights is not None:
        raise pretrained_error(weights, builder)


_BUILDERS: dict[str, Callable] = {}


def register_model(fn):
    _BUILDERS[fn.__name__] = fn
    return fn


def list_models() -> list[str]:
    """The names ``get_model`` accepts, sorted (torchvision's ``list_models``)."""
    return sorted(_BUILDERS)


def get_model_builder(name: str) -> Callable:
    try:
        return _BUILDERS[name.lower()]
    except KeyError:
        raise ValueError(f"Unknown model {name}; available: {', '.join(list_models())}") from None


def get_model(name: str, weights=None, **config):
    """Build the model called ``name`` (``get_model("resnet18", num_classes=10)``)."""
    return get_model_builder(name)(weights=weights, **config)


def imagenet_weights(url: str, num_params: int, acc1: float, acc5: float, resize_size: int = 256, **meta):
    """One ImageNet-1K ``Weights`` entry with torchvision's preset and published numbers."""
    return Weights(url=url, transforms=partial(ImageClassification, crop_size=224, resize_size=resize_size),
                   meta={"num_params": num_params, "min_size": (1, 1),
                         "_metrics": {"ImageNet-1K": {"acc@1": acc1, "acc@5": acc5}}, **meta})
