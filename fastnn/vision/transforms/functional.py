"""The per-image operations behind :mod:`fastnn.vision.transforms` (torchvision's ``transforms.functional``).

Two kinds of image, as in torchvision:

* a fastnn **Tensor** shaped ``(..., C, H, W)`` (or ``(H, W)``), what ``ToTensor`` produces;
* a NumPy **array** shaped ``(H, W)`` or ``(H, W, C)``, usually uint8 — fastnn's stand-in for
  the PIL Image that torchvision's datasets return (fastnn does not depend on Pillow). The
  geometric operations (crop, flip, pad, resize) return the same kind they were given, so
  torchvision pipelines that crop and flip *before* ``ToTensor`` run unchanged.

A PIL Image is accepted where an array is (it is read with ``np.asarray``; the result is an
array). Every operation works on an array view ``(..., C, H, W)`` of the image
(:func:`_unpack`) and puts the result back into the caller's kind, so each formula is written
once for both kinds. The formulas are torchvision's tensor formulas; where torchvision would
run Pillow on a PIL Image, the results can differ (resizing: torchvision/Pillow antialias when
shrinking, fastnn does not).

These operations prepare data: they work on ``.data`` and record no autograd graph.
"""
from __future__ import annotations

import enum
import numbers
from typing import Callable, Sequence

import numpy as np

from ...tensor import Tensor

__all__ = [
    "InterpolationMode", "get_dimensions", "to_tensor", "pil_to_tensor", "normalize", "pad", "crop",
    "center_crop", "resize", "hflip", "vflip", "convert_image_dtype", "to_dtype", "rgb_to_grayscale",
]


class InterpolationMode(enum.Enum):
    """Resampling methods, as torchvision names them (fastnn implements the first three)."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


# ---------------------------------------------------------------------------------------
# image kinds
# ---------------------------------------------------------------------------------------
def _is_pil(img) -> bool:
    # duck-typed so that Pillow is never imported
    return hasattr(img, "getbands") and hasattr(img, "mode") and hasattr(img, "size")


def _pil_array(img) -> np.ndarray:
    arr = np.asarray(img)
    return arr.astype(np.uint8) * 255 if img.mode == "1" else arr


def _unpack(img, name: str) -> tuple[np.ndarray, Callable[[np.ndarray], object]]:
    """``(x, pack)``: the image as an array ``(..., C, H, W)`` and the function that turns a result
    of that layout back into the caller's kind (Tensor, or HxW / HxWxC array)."""
    if isinstance(img, Tensor):
        x = img.data
        if x.ndim < 2:
            raise ValueError(f"{name}: a tensor image has at least 2 dimensions (..., H, W), got shape {x.shape}")
        if x.ndim == 2:
            return x[None], lambda out: Tensor(out[0])
        return x, Tensor
    if _is_pil(img):
        img = _pil_array(img)
    if isinstance(img, np.ndarray):
        if img.ndim == 2:
            return img[None], lambda out: np.ascontiguousarray(out[0])
        if img.ndim == 3:
            return img.transpose(2, 0, 1), lambda out: np.ascontiguousarray(out.transpose(1, 2, 0))
        raise ValueError(f"{name}: an array image is (H, W) or (H, W, C), got shape {img.shape}")
    raise TypeError(f"{name}: img should be a fastnn Tensor (C, H, W) or an image array (H, W[, C]), "
                    f"got {type(img).__name__}")


def get_dimensions(img) -> list[int]:
    """``[channels, height, width]`` of an image of either kind."""
    x, _ = _unpack(img, "get_dimensions")
    return list(x.shape[-3:])


def _as_pair(size, name: str) -> tuple[int, int]:
    """torchvision's size argument: an int (square), or a sequence of 1 or 2 ints ``(h, w)``."""
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return int(size[0]), int(size[0])
    if isinstance(size, Sequence) and len(size) == 2:
        return int(size[0]), int(size[1])
    raise ValueError(f"{name}: please provide only two dimensions (h, w) for size, got {size!r}")


# ---------------------------------------------------------------------------------------
# conversion
# ---------------------------------------------------------------------------------------
def to_tensor(pic) -> Tensor:
    """An image array ``(H, W[, C])`` (or PIL Image) as a ``(C, H, W)`` Tensor; uint8 scaled to [0, 1].

    torchvision's rule: uint8 input becomes float32 divided by 255; any other dtype keeps its
    values and dtype, only the axes move.
    """
    if _is_pil(pic):
        pic = _pil_array(pic)
    if isinstance(pic, Tensor):
        raise TypeError("to_tensor: pic should be an image array (H, W[, C]) or a PIL Image, not a Tensor")
    if not isinstance(pic, np.ndarray):
        raise TypeError(f"to_tensor: pic should be an image array (H, W[, C]) or a PIL Image, got {type(pic).__name__}")
    if pic.ndim not in (2, 3):
        raise ValueError(f"to_tensor: pic should be 2/3 dimensional, got {pic.ndim} dimensions")
    chw = np.ascontiguousarray((pic[:, :, None] if pic.ndim == 2 else pic).transpose(2, 0, 1))
    if chw.dtype == np.uint8:
        return Tensor(chw.astype(np.float32) / np.float32(255.0))
    return Tensor(chw, dtype=chw.dtype)


def pil_to_tensor(pic) -> Tensor:
    """An image array (or PIL Image) as a ``(C, H, W)`` Tensor of the same dtype, values unchanged."""
    if _is_pil(pic):
        pic = _pil_array(pic)
    if not isinstance(pic, np.ndarray) or pic.ndim not in (2, 3):
        raise TypeError(f"pil_to_tensor: pic should be an image array (H, W[, C]) or a PIL Image, got {pic!r:.60}")
    chw = np.ascontiguousarray((pic[:, :, None] if pic.ndim == 2 else pic).transpose(2, 0, 1))
    return Tensor(chw, dtype=chw.dtype)


def normalize(tensor: Tensor, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> Tensor:
    """``(x - mean[c]) / std[c]`` for every channel c of a float ``(..., C, H, W)`` Tensor.

    Computed in the tensor's dtype; ``inplace=True`` overwrites the tensor's data and returns it.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"normalize: img should be a Tensor image, got {type(tensor).__name__}; apply ToTensor() first")
    x = tensor.data
    if x.dtype.kind != "f":
        raise TypeError(f"normalize: input tensor should be a float tensor, got {x.dtype}; apply ToTensor() "
                        "or ConvertImageDtype(float32) first")
    if x.ndim < 3:
        raise ValueError(f"normalize: expected a tensor image of size (..., C, H, W), got shape {x.shape}")
    mean = np.asarray(mean, dtype=x.dtype)
    std = np.asarray(std, dtype=x.dtype)
    if np.any(std == 0):
        raise ValueError(f"std evaluated to zero after conversion to {x.dtype}, leading to division by zero")
    for what, v in (("mean", mean), ("std", std)):
        if v.ndim > 1 or v.size not in (1, x.shape[-3]):
            raise ValueError(f"normalize: {what} has {v.size} values but the image has {x.shape[-3]} channels")
    if mean.ndim == 1:
        mean = mean.reshape(-1, 1, 1)
    if std.ndim == 1:
        std = std.reshape(-1, 1, 1)
    if inplace:
        np.subtract(x, mean, out=x)
        np.divide(x, std, out=x)
        return tensor
    return Tensor((x - mean) / std)


def convert_image_dtype(image: Tensor, dtype=np.float32) -> Tensor:
    """A Tensor image in another dtype, with its values rescaled (torchvision's rules).

    Integer images span ``[0, max of the type]`` and float images ``[0, 1]``: int -> float
    divides by the maximum; float -> int multiplies by ``max + 1 - 0.001`` and truncates;
    int -> int shifts by the ratio of the ranges.
    """
    return to_dtype(image, dtype, scale=True)


def _max_value(dtype: np.dtype) -> float:
    return 1.0 if dtype.kind in "fb" else float(np.iinfo(dtype).max)


def to_dtype(image: Tensor, dtype=np.float32, scale: bool = False) -> Tensor:
    """A Tensor image cast to ``dtype``; with ``scale=True``, values rescaled as :func:`convert_image_dtype`."""
    if not isinstance(image, Tensor):
        raise TypeError(f"expected a Tensor image, got {type(image).__name__}")
    x, dtype = image.data, np.dtype(dtype)
    if x.dtype == dtype:
        return image
    if not scale or (x.dtype.kind == "f" and dtype.kind == "f"):
        return Tensor(x.astype(dtype), dtype=dtype)
    if x.dtype.kind == "f":  # float -> int
        if (x.dtype == np.float32 and dtype in (np.int32, np.int64)) or (x.dtype == np.float64 and dtype == np.int64):
            raise RuntimeError(f"The cast from {x.dtype} to {dtype} cannot be performed safely.")
        eps = 1e-3
        return Tensor((x * (_max_value(dtype) + 1.0 - eps)).astype(dtype), dtype=dtype)
    in_max = _max_value(x.dtype)
    if dtype.kind == "f":    # int -> float
        return Tensor(x.astype(dtype) / dtype.type(in_max), dtype=dtype)
    out_max = _max_value(dtype)  # int -> int
    if in_max > out_max:
        factor = int((in_max + 1) // (out_max + 1))
        return Tensor((x // factor).astype(dtype), dtype=dtype)
    factor = int((out_max + 1) // (in_max + 1))
    return Tensor(x.astype(dtype) * dtype.type(factor), dtype=dtype)


def rgb_to_grayscale(img, num_output_channels: int = 1):
    """The luma of an RGB image: 1 channel, or 3 equal ones.

    Tensors (and non-uint8 arrays) use torchvision's tensor formula ``0.2989 R + 0.587 G + 0.114 B``
    in floating point, cast back to the input dtype. A uint8 RGB array stands for a PIL Image
    and gets Pillow's ``convert("L")``, ITU-R 601-2 in 16-bit fixed point with rounding
    (``(19595 R + 38470 G + 7471 B + 32768) >> 16``); its 1-channel result is an (H, W) array,
    as an "L" image reads.
    """
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    x, pack = _unpack(img, "rgb_to_grayscale")
    c = x.shape[-3]
    if c not in (1, 3):
        raise TypeError(f"rgb_to_grayscale: the image has {c} channels; permitted are 1 and 3")
    if c == 1:
        gray = x.copy()
    elif isinstance(img, np.ndarray) and x.dtype == np.uint8:
        r, g, b = (x[..., i, :, :].astype(np.uint32) for i in range(3))
        gray = ((19595 * r + 38470 * g + 7471 * b + 32768) >> 16).astype(np.uint8)[..., None, :, :]
    else:
        ft = x.dtype.type if x.dtype.kind == "f" else np.float32
        r, g, b = (x[..., i, :, :].astype(ft) for i in range(3))
        gray = (ft(0.2989) * r + ft(0.587) * g + ft(0.114) * b).astype(x.dtype)[..., None, :, :]
    if num_output_channels == 3:
        gray = np.repeat(gray, 3, axis=-3)
    out = pack(gray)
    if isinstance(out, np.ndarray) and out.ndim == 3 and out.shape[2] == 1:
        out = out[:, :, 0]   # a 1-channel image array reads as (H, W), as a PIL "L" image does
    return out


# ---------------------------------------------------------------------------------------
# geometry
# ---------------------------------------------------------------------------------------
def _padding_ltrb(padding) -> tuple[int, int, int, int]:
    """torchvision's padding argument: int (all sides), (left/right, top/bottom) or (left, top, right, bottom)."""
    if isinstance(padding, numbers.Integral):
        p = int(padding)
        return p, p, p, p
    if isinstance(padding, Sequence) and all(isinstance(p, numbers.Integral) for p in padding):
        if len(padding) == 1:
            return (int(padding[0]),) * 4
        if len(padding) == 2:
            return int(padding[0]), int(padding[1]), int(padding[0]), int(padding[1])
        if len(padding) == 4:
            return tuple(int(p) for p in padding)
    raise ValueError(f"padding must be an int or a sequence of 1, 2 or 4 ints, got {padding!r}")


def _pad_array(x: np.ndarray, ltrb: tuple[int, int, int, int], fill=0, mode: str = "constant") -> np.ndarray:
    """Pad (or, for negative amounts, crop) the last two axes of ``x``."""
    if mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError(f"padding_mode should be constant, edge, reflect or symmetric, got {mode!r}")
    left, top, right, bottom = ltrb
    h, w = x.shape[-2:]
    x = x[..., max(-top, 0):h - max(-bottom, 0), max(-left, 0):w - max(-right, 0)]
    left, top, right, bottom = (max(p, 0) for p in ltrb)
    if not (left or top or right or bottom):
        return x.copy()
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    if mode != "constant":
        return np.pad(x, widths, mode=mode)
    out = np.empty(x.shape[:-2] + (x.shape[-2] + top + bottom, x.shape[-1] + left + right), dtype=x.dtype)
    fill = np.asarray(fill, dtype=np.float64)
    if fill.ndim == 1 and fill.size == 1:
        fill = fill[0]
    if fill.ndim == 1:  # one value per channel
        if fill.size != x.shape[-3]:
            raise ValueError(f"fill has {fill.size} values but the image has {x.shape[-3]} channels")
        fill = fill.reshape(-1, 1, 1)
    out[...] = fill.astype(x.dtype)
    out[..., top:top + x.shape[-2], left:left + x.shape[-1]] = x
    return out


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    """Pad the image's borders: ``padding`` as in torchvision (int, (lr, tb) or (l, t, r, b)).

    ``padding_mode``: ``constant`` (with ``fill``, a number or one value per channel), ``edge``,
    ``reflect`` (mirror without repeating the edge) or ``symmetric`` (mirror repeating it).
    Negative padding crops.
    """
    x, pack = _unpack(img, "pad")
    return pack(_pad_array(x, _padding_ltrb(padding), fill, padding_mode))


def crop(img, top: int, left: int, height: int, width: int):
    """The ``height x width`` region whose top-left corner is ``(top, left)``; outside the image is 0."""
    x, pack = _unpack(img, "crop")
    h, w = x.shape[-2:]
    bottom, right = top + height, left + width
    inside = x[..., max(top, 0):max(min(bottom, h), 0), max(left, 0):max(min(right, w), 0)]
    if top >= 0 and left >= 0 and bottom <= h and right <= w:
        return pack(inside.copy())
    ltrb = (max(-left + min(0, right), 0), max(-top + min(0, bottom), 0),
            max(right - max(w, left), 0), max(bottom - max(h, top), 0))
    return pack(_pad_array(inside, ltrb, 0))


def center_crop(img, output_size):
    """The central ``output_size`` region, zero-padded first if the image is smaller (torchvision's rule).

    The corner is ``round((H - h) / 2), round((W - w) / 2)`` with Python's ``round`` (halves to
    even), exactly as torchvision computes it.
    """
    x, pack = _unpack(img, "center_crop")
    th, tw = _as_pair(output_size, "center_crop")
    h, w = x.shape[-2:]
    if tw > w or th > h:
        ltrb = ((tw - w) // 2 if tw > w else 0, (th - h) // 2 if th > h else 0,
                (tw - w + 1) // 2 if tw > w else 0, (th - h + 1) // 2 if th > h else 0)
        x = _pad_array(x, ltrb, 0)
        h, w = x.shape[-2:]
        if (th, tw) == (h, w):
            return pack(x)
    top, left = int(round((h - th) / 2.0)), int(round((w - tw) / 2.0))
    return pack(x[..., top:top + th, left:left + tw].copy())


def hflip(img):
    """Mirror left-right."""
    x, pack = _unpack(img, "hflip")
    return pack(x[..., ::-1].copy())


def vflip(img):
    """Mirror top-bottom."""
    x, pack = _unpack(img, "vflip")
    return pack(x[..., ::-1, :].copy())


def _resized_size(h: int, w: int, size, max_size: int | None) -> tuple[int, int]:
    """torchvision's output size: ``(h, w)`` as given, or the shorter edge matched to one int."""
    if isinstance(size, numbers.Integral):
        size = [int(size)]
    if len(size) == 2:
        if max_size is not None:
            raise ValueError("max_size is only supported when size is a single int (the shorter edge)")
        return int(size[0]), int(size[1])
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = int(size[0]), int(int(size[0]) * long / short)
    if max_size is not None:
        if max_size <= int(size[0]):
            raise ValueError(f"max_size = {max_size} must be strictly greater than the requested size {size[0]}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    return new_h, new_w


def _source_index(n_in: int, n_out: int, ft, exact: bool) -> np.ndarray:
    """PyTorch's nearest-neighbour source index, computed in float32 as its kernel does."""
    scale = ft(n_in) / ft(n_out)
    dst = np.arange(n_out, dtype=ft)
    src = np.floor((dst + ft(0.5)) * scale) if exact else np.floor(dst * scale)
    return np.minimum(src.astype(np.int64), n_in - 1)


def _linear_weights(n_in: int, n_out: int, ft):
    """``(i0, i1, w0, w1)``: PyTorch's bilinear taps along one axis (``align_corners=False``)."""
    scale = ft(n_in) / ft(n_out)
    src = scale * (np.arange(n_out, dtype=ft) + ft(0.5)) - ft(0.5)
    src = np.maximum(src, ft(0))
    i0 = src.astype(np.int64)
    i1 = np.where(i0 < n_in - 1, i0 + 1, i0)
    w1 = (src - i0.astype(ft)).astype(ft)
    return i0, i1, (ft(1) - w1).astype(ft), w1


def _resize_array(x: np.ndarray, out_h: int, out_w: int, mode: InterpolationMode) -> np.ndarray:
    h, w = x.shape[-2:]
    ft = x.dtype.type if x.dtype.kind == "f" else np.float32
    if mode in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT):
        exact = mode is InterpolationMode.NEAREST_EXACT
        rows, cols = _source_index(h, out_h, ft, exact), _source_index(w, out_w, ft, exact)
        return x[..., rows[:, None], cols]
    # bilinear, as PyTorch's kernel: along the width first, then the height
    xf = x.astype(ft, copy=False)
    j0, j1, v0, v1 = _linear_weights(w, out_w, ft)
    i0, i1, u0, u1 = _linear_weights(h, out_h, ft)
    top = v0 * xf[..., i0, :][..., j0] + v1 * xf[..., i0, :][..., j1]
    bottom = v0 * xf[..., i1, :][..., j0] + v1 * xf[..., i1, :][..., j1]
    out = u0[:, None] * top + u1[:, None] * bottom
    if x.dtype.kind == "f":
        return out.astype(x.dtype, copy=False)
    info = np.iinfo(x.dtype)
    return np.clip(np.round(out), info.min, info.max).astype(x.dtype)


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size: int | None = None,
           antialias: bool | None = True):
    """Resize to ``size``: ``(h, w)``, or an int for the shorter edge (aspect ratio kept).

    ``interpolation``: ``NEAREST``, ``NEAREST_EXACT`` or ``BILINEAR`` (an :class:`InterpolationMode`
    or its string value), computed as ``torch.nn.functional.interpolate`` with
    ``align_corners=False``; integer images are rounded back to their dtype. ``antialias`` is
    accepted and not applied: when *shrinking*, torchvision's default ``antialias=True``
    averages over the covered pixels and fastnn samples them, so results differ then.
    """
    mode = InterpolationMode(interpolation.value if isinstance(interpolation, InterpolationMode) else interpolation)
    if mode not in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT, InterpolationMode.BILINEAR):
        raise ValueError(f"resize: interpolation {mode.value!r} is not implemented in fastnn "
                         "(nearest, nearest-exact and bilinear are)")
    if not isinstance(size, (numbers.Integral, Sequence)) or (isinstance(size, Sequence) and len(size) not in (1, 2)):
        raise ValueError(f"resize: size should be an int or a sequence of 1 or 2 ints, got {size!r}")
    x, pack = _unpack(img, "resize")
    h, w = x.shape[-2:]
    out_h, out_w = _resized_size(h, w, size, max_size)
    if (out_h, out_w) == (h, w):
        return img
    return pack(_resize_array(x, out_h, out_w, mode))
