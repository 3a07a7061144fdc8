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
once for both kinds. The formulas are torchvision's tensor formulas, with two exceptions:

* the colour operations (``adjust_brightness/contrast/saturation/hue``, ``rgb_to_grayscale``)
  give uint8 arrays and PIL Images Pillow's own algorithms, which torchvision uses for PIL
  Images (``ImageEnhance``, Pillow's fixed-point luma and uint8 HSV);
* ``resize`` always antialiases arrays (bilinear), as torchvision always does PIL Images.

Where torchvision would run Pillow's geometry on a PIL Image (``rotate``, ``affine``,
``resize``), fastnn runs the tensor algorithm on the array: results can differ from
Pillow's by rounding at some pixels (Pillow resamples uint8 in fixed point).

These operations prepare data: they work on ``.data`` and record no autograd graph.
"""
from __future__ import annotations

import enum
import math
import numbers
from typing import Callable, Sequence

import numpy as np

from ...tensor import Tensor

__all__ = [
    "InterpolationMode", "get_dimensions", "to_tensor", "pil_to_tensor", "normalize", "pad", "crop",
    "center_crop", "resize", "resized_crop", "hflip", "vflip", "rotate", "affine", "convert_image_dtype",
    "to_dtype", "rgb_to_grayscale", "adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue",
    "gaussian_blur", "erase",
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
    ``align_corners=False``; integer images are rounded back to their dtype. ``BILINEAR`` with
    ``antialias=True`` (the default) is ``interpolate(..., antialias=True)``: when shrinking,
    each output pixel averages all the source pixels it covers (a stretched triangle filter)
    instead of sampling two. Image arrays, like the PIL Images they stand for in torchvision,
    are always antialiased; ``antialias=False``/``None`` applies to Tensors.
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
    if mode is InterpolationMode.BILINEAR and (antialias or not isinstance(img, Tensor)):
        return pack(_resize_antialias(x, out_h, out_w))
    return pack(_resize_array(x, out_h, out_w, mode))


def _interpolation(interpolation, allowed: tuple[InterpolationMode, ...], name: str) -> InterpolationMode:
    mode = InterpolationMode(interpolation.value if isinstance(interpolation, InterpolationMode) else interpolation)
    if mode not in allowed:
        raise ValueError(f"{name}: interpolation mode '{mode.value}' is unsupported "
                         f"(supported: {', '.join(m.value for m in allowed)})")
    return mode


def _aa_taps(n_in: int, n_out: int, ft) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's antialiased bilinear taps along one axis: ``(index (n_out, K), weight (n_out, K))``.

    Output pixel ``i`` reads the source pixels ``index[i]`` with the weights ``weight[i]``
    (zero past its own support). The triangle filter is stretched over the ``n_in / n_out``
    source pixels an output pixel covers when shrinking (so every source pixel contributes),
    and is plain bilinear when enlarging; the weights of each output pixel sum to 1
    (``aten/src/ATen/native/cpu/UpSampleKernel.cpp``, which follows Pillow's resampling).
    """
    scale = ft(n_in) / ft(n_out)
    support = scale if scale >= 1 else ft(1)
    invscale = ft(1) / scale if scale >= 1 else ft(1)
    center = scale * (np.arange(n_out, dtype=ft) + ft(0.5))
    xmin = np.maximum((center - support + ft(0.5)).astype(np.int64), 0)          # truncation, as the C++ cast
    xsize = np.minimum((center + support + ft(0.5)).astype(np.int64), n_in) - xmin
    k = np.arange(max(int(xsize.max()), 1))
    x = ((xmin[:, None] + k).astype(ft) - center[:, None] + ft(0.5)) * invscale
    w = np.where(k < xsize[:, None], np.maximum(ft(1) - np.abs(x), ft(0)), ft(0)).astype(ft)
    total = w.sum(axis=1, dtype=ft, keepdims=True)
    w = np.where(total != 0, w / np.where(total != 0, total, ft(1)), w).astype(ft)
    return np.minimum(xmin[:, None] + k, n_in - 1), w


def _resize_antialias(x: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Antialiased bilinear resize (``interpolate(..., antialias=True)``): width pass, then height
    pass, each a sum over a few taps in order, as PyTorch's kernel."""
    h, w = x.shape[-2:]
    ft = x.dtype.type if x.dtype.kind == "f" else np.float32
    out = x.astype(ft, copy=False)
    if out_w != w:
        idx, wt = _aa_taps(w, out_w, ft)
        acc = out[..., idx[:, 0]] * wt[:, 0]
        for k in range(1, idx.shape[1]):
            acc += out[..., idx[:, k]] * wt[:, k]
        out = acc
    if out_h != h:
        idx, wt = _aa_taps(h, out_h, ft)
        acc = out[..., idx[:, 0], :] * wt[:, 0, None]
        for k in range(1, idx.shape[1]):
            acc += out[..., idx[:, k], :] * wt[:, k, None]
        out = acc
    return _cast_back(out, x.dtype)


def _cast_back(out: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """torchvision's ``_cast_squeeze_out``: a float result back to the image's dtype, rounded
    (half to even, as ``torch.round``) for integer images."""
    if dtype.kind == "f":
        return out.astype(dtype, copy=False)
    info = np.iinfo(dtype)
    return np.clip(np.round(out), info.min, info.max).astype(dtype)


def resized_crop(img, top: int, left: int, height: int, width: int, size,
                 interpolation=InterpolationMode.BILINEAR, antialias: bool | None = True):
    """Crop ``(top, left, height, width)`` and resize the crop to ``size`` (see :func:`crop`, :func:`resize`)."""
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)


# ---------------------------------------------------------------------------------------
# affine transforms: rotate, affine (torchvision's affine grid + grid_sample)
# ---------------------------------------------------------------------------------------
def _get_inverse_affine_matrix(center, angle: float, translate, scale: float, shear) -> list[float]:
    """torchvision's inverse affine matrix (output pixel -> input pixel), 6 numbers, row-major 2x3.

    The forward map is ``M = T * C * RotateScaleShear * C^-1`` with ``C`` the centre
    translation, ``T`` the translation, and ``RSS = R(angle) * S(scale) * SHy(shear_y) *
    SHx(shear_x)``; this returns ``M^-1``, the map a sampling grid needs.
    """
    rot = math.radians(angle)
    sx, sy = math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    # RSS without scaling
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    # its inverse (determinant 1), scaled by 1 / scale
    matrix = [x / scale for x in (d, -b, 0.0, -c, a, 0.0)]
    # RSS^-1 * C^-1 * T^-1, then C * ...
    matrix[2] += matrix[0] * (-cx - tx) + matrix[1] * (-cy - ty)
    matrix[5] += matrix[3] * (-cx - tx) + matrix[4] * (-cy - ty)
    matrix[2] += cx
    matrix[5] += cy
    return matrix


def _affine_grid(matrix: Sequence[float], w: int, h: int, ow: int, oh: int, ft=np.float32) -> np.ndarray:
    """torchvision's ``_gen_affine_grid``: for each output pixel, where to sample the input,
    in ``grid_sample``'s normalised coordinates ([-1, 1] across the input), shape ``(oh, ow, 2)``.

    Output pixel centres are taken relative to the output's centre, mapped by ``matrix`` and
    divided by half the input size.
    """
    theta = np.asarray(matrix, dtype=ft).reshape(2, 3)
    xs = np.linspace(-ow * 0.5 + 0.5, ow * 0.5 - 0.5, ow).astype(ft)
    ys = np.linspace(-oh * 0.5 + 0.5, oh * 0.5 - 0.5, oh).astype(ft)
    rescaled = theta / np.array([[0.5 * w], [0.5 * h]], dtype=ft)      # row k divided by half the size
    gx = xs[None, :] * rescaled[0, 0] + ys[:, None] * rescaled[0, 1] + rescaled[0, 2]
    gy = xs[None, :] * rescaled[1, 0] + ys[:, None] * rescaled[1, 1] + rescaled[1, 2]
    return np.stack([gx, gy], axis=-1).astype(ft, copy=False)


def _grid_sample(x: np.ndarray, grid: np.ndarray, mode: str) -> np.ndarray:
    """``torch.nn.functional.grid_sample(x, grid, mode, padding_mode="zeros", align_corners=False)``
    for a float ``(N, C, H, W)`` array and ONE grid ``(oh, ow, 2)`` shared by the batch."""
    ft = x.dtype.type
    h, w = x.shape[-2:]
    ix = (grid[..., 0] + ft(1)) * ft(w / 2) - ft(0.5)      # unnormalise, as PyTorch's CPU kernel
    iy = (grid[..., 1] + ft(1)) * ft(h / 2) - ft(0.5)

    def tap(yi, xi):
        inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        vals = x[..., np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)]
        return np.where(inside, vals, ft(0))

    if mode == "nearest":
        return tap(np.rint(iy).astype(np.int64), np.rint(ix).astype(np.int64))   # rint: halves to even
    x0, y0 = np.floor(ix), np.floor(iy)
    fw, fn = (ix - x0).astype(ft), (iy - y0).astype(ft)                 # distances to west / north
    fe, fs = ft(1) - fw, ft(1) - fn
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    return (tap(y0, x0) * (fs * fe) + tap(y0, x0 + 1) * (fs * fw)) + tap(y0 + 1, x0) * (fn * fe) \
        + tap(y0 + 1, x0 + 1) * (fn * fw)


def _apply_grid_transform(x: np.ndarray, grid: np.ndarray, mode: str, fill) -> np.ndarray:
    """torchvision's ``_apply_grid_transform``: sample ``x`` (..., C, H, W) at ``grid``; with a
    ``fill``, a ones-channel is sampled alongside and marks what came from outside the image."""
    ft = grid.dtype.type
    lead, (c, h, w) = x.shape[:-3], x.shape[-3:]
    xf = x.reshape((-1, c, h, w)).astype(ft, copy=False)
    if fill is not None:
        xf = np.concatenate([xf, np.ones((xf.shape[0], 1, h, w), dtype=ft)], axis=1)
    out = _grid_sample(xf, grid, mode)
    if fill is not None:
        mask, out = out[:, -1:], out[:, :-1]
        fill_arr = np.asarray(fill if isinstance(fill, (list, tuple)) else [float(fill)], dtype=ft)
        fill_img = np.broadcast_to(fill_arr.reshape(1, -1, 1, 1), out.shape)
        if mode == "nearest":
            out = np.where(mask < 0.5, fill_img, out)
        else:
            out = out * mask + (ft(1) - mask) * fill_img
    return _cast_back(out.reshape(lead + out.shape[1:]), x.dtype)


def _check_fill(fill, channels: int):
    if fill is not None and isinstance(fill, (tuple, list)) and len(fill) > 1 and len(fill) != channels:
        raise ValueError("The number of elements in 'fill' cannot broadcast to match the number of "
                         f"channels of the image ({len(fill)} != {channels})")
    if isinstance(fill, (tuple, list)):
        return [float(f) for f in fill]
    return fill


def _affine_output_size(matrix: Sequence[float], w: int, h: int) -> tuple[int, int]:
    """torchvision's ``_compute_affine_output_size`` (``expand=True``): the ``(w, h)`` that holds
    the whole transformed image, computed in float32 with its 1e-4 truncation."""
    f32 = np.float32
    pts = np.array([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0],
                    [0.5 * w, 0.5 * h, 1.0], [0.5 * w, -0.5 * h, 1.0]], dtype=f32)
    theta = np.asarray(matrix, dtype=f32).reshape(2, 3)
    new_pts = pts @ theta.T
    half = np.array([w * 0.5, h * 0.5], dtype=f32)
    min_vals, max_vals = new_pts.min(axis=0) + half, new_pts.max(axis=0) + half
    tol = f32(1e-4)
    cmax = np.ceil(np.trunc(max_vals / tol) * tol)
    cmin = np.floor(np.trunc(min_vals / tol) * tol)
    size = cmax - cmin
    return int(size[0]), int(size[1])


def _grid_transform(img, matrix, interpolation, fill, name: str, expand: bool = False):
    mode = _interpolation(interpolation, (InterpolationMode.NEAREST, InterpolationMode.BILINEAR), name)
    x, pack = _unpack(img, name)
    c, h, w = x.shape[-3:]
    fill = _check_fill(fill, c)
    ow, oh = _affine_output_size(matrix, w, h) if expand else (w, h)
    ft = x.dtype.type if x.dtype.kind == "f" else np.float32
    grid = _affine_grid(matrix, w, h, ow, oh, ft)
    return pack(_apply_grid_transform(x, grid, mode.value, fill))


def rotate(img, angle: float, interpolation=InterpolationMode.NEAREST, expand: bool = False, center=None,
           fill=None):
    """Rotate by ``angle`` degrees counter-clockwise about ``center`` (default: the image centre).

    torchvision's tensor algorithm: an inverse rotation matrix (:func:`_get_inverse_affine_matrix`
    with ``-angle``), an affine sampling grid, and ``grid_sample`` with ``NEAREST`` or
    ``BILINEAR`` interpolation. ``expand=True`` enlarges the output to hold the whole rotated
    image. Pixels from outside the image are 0, or ``fill`` (a number or one per channel) when
    given. ``center`` is ``(x, y)`` in pixel coordinates of the top-left corner. Image arrays
    (PIL's stand-in) go through the same algorithm; torchvision would call Pillow's
    ``Image.rotate``, whose sampling can differ at a few edge pixels.
    """
    if not isinstance(angle, (int, float, np.integer, np.floating)) or isinstance(angle, bool):
        raise TypeError("Argument angle should be int or float")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    center_f = [0.0, 0.0]
    if center is not None:
        _, height, width = get_dimensions(img)
        # centre in pixel coordinates, moved so that (0, 0) is the image centre
        center_f = [1.0 * (c - s * 0.5) for c, s in zip(center, [width, height])]
    matrix = _get_inverse_affine_matrix(center_f, -float(angle), [0.0, 0.0], 1.0, [0.0, 0.0])
    return _grid_transform(img, matrix, interpolation, fill, "rotate", expand)


def affine(img, angle: float, translate, scale: float, shear, interpolation=InterpolationMode.NEAREST,
           fill=None, center=None):
    """Rotate by ``angle`` (degrees, clockwise as torchvision's affine), scale, shear
    (``shear_x`` or ``(shear_x, shear_y)`` degrees) and translate (``(tx, ty)`` pixels), keeping
    ``center`` fixed; torchvision's tensor algorithm (see :func:`rotate`)."""
    if not isinstance(angle, (int, float, np.integer, np.floating)) or isinstance(angle, bool):
        raise TypeError("Argument angle should be int or float")
    if not isinstance(translate, (list, tuple)):
        raise TypeError("Argument translate should be a sequence")
    if len(translate) != 2:
        raise ValueError("Argument translate should be a sequence of length 2")
    if scale <= 0.0:
        raise ValueError("Argument scale should be positive")
    if not isinstance(shear, (numbers.Number, list, tuple)):
        raise TypeError("Shear should be either a single value or a sequence of two values")
    if isinstance(shear, numbers.Number):
        shear = [shear, 0.0]
    shear = list(shear)
    if len(shear) == 1:
        shear = [shear[0], shear[0]]
    if len(shear) != 2:
        raise ValueError(f"Shear should be a sequence containing two values. Got {shear}")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    center_f = [0.0, 0.0]
    if center is not None:
        _, height, width = get_dimensions(img)
        center_f = [1.0 * (c - s * 0.5) for c, s in zip(center, [width, height])]
    translate_f = [1.0 * t for t in translate]
    matrix = _get_inverse_affine_matrix(center_f, float(angle), translate_f, scale, shear)
    return _grid_transform(img, matrix, interpolation, fill, "affine")


# ---------------------------------------------------------------------------------------
# blur, erase
# ---------------------------------------------------------------------------------------
def _gaussian_kernel1d(kernel_size: int, sigma: float, ft) -> np.ndarray:
    half = (kernel_size - 1) * 0.5
    x = np.linspace(-half, half, kernel_size).astype(ft)
    pdf = np.exp(ft(-0.5) * (x / ft(sigma)) ** 2)
    return (pdf / pdf.sum(dtype=ft)).astype(ft)


def gaussian_blur(img, kernel_size, sigma=None):
    """Blur with a Gaussian kernel ``kernel_size`` = ``(kx, ky)`` (odd; an int for both) and
    ``sigma`` = ``(sx, sy)`` (default ``0.3 * ((k - 1) * 0.5 - 1) + 0.8 = 0.15 k + 0.35``).

    torchvision's algorithm, for tensors and (as torchvision does, through a tensor) PIL
    images: a normalised float kernel, reflect padding by ``k // 2``, a per-channel
    correlation (computed here as two separable 1-D passes), integer images rounded back.
    """
    if not isinstance(kernel_size, (int, list, tuple)):
        raise TypeError(f"kernel_size should be int or a sequence of integers. Got {type(kernel_size)}")
    if isinstance(kernel_size, int):
        kernel_size = [kernel_size, kernel_size]
    if len(kernel_size) != 2:
        raise ValueError(f"If kernel_size is a sequence its length should be 2. Got {len(kernel_size)}")
    for ksize in kernel_size:
        if ksize % 2 == 0 or ksize < 0:
            raise ValueError(f"kernel_size should have odd and positive integers. Got {kernel_size}")
    if sigma is None:
        sigma = [ksize * 0.15 + 0.35 for ksize in kernel_size]
    if not isinstance(sigma, (int, float, list, tuple)):
        raise TypeError(f"sigma should be either float or sequence of floats. Got {type(sigma)}")
    if isinstance(sigma, (int, float)):
        sigma = [float(sigma), float(sigma)]
    if len(sigma) == 1:
        sigma = [sigma[0], sigma[0]]
    if len(sigma) != 2:
        raise ValueError(f"If sigma is a sequence, its length should be 2. Got {len(sigma)}")
    for s in sigma:
        if s <= 0.0:
            raise ValueError(f"sigma should have positive values. Got {sigma}")
    x, pack = _unpack(img, "gaussian_blur")
    ft = x.dtype.type if x.dtype.kind == "f" else np.float32
    kx, ky = (_gaussian_kernel1d(k, s, ft) for k, s in zip(kernel_size, sigma))
    px, py = kernel_size[0] // 2, kernel_size[1] // 2
    h, w = x.shape[-2:]
    if px >= w or py >= h:
        raise ValueError(f"gaussian_blur: the padding ({py}, {px}) of the kernel must be smaller than "
                         f"the image ({h}, {w}) for reflect padding")
    xp = np.pad(x.astype(ft), [(0, 0)] * (x.ndim - 2) + [(py, py), (px, px)], mode="reflect")
    windows = np.lib.stride_tricks.sliding_window_view(xp, kernel_size[0], axis=-1)
    rows = windows @ kx                                                  # along the width
    windows = np.lib.stride_tricks.sliding_window_view(rows, kernel_size[1], axis=-2)
    out = windows @ ky                                                   # along the height
    return pack(_cast_back(out, x.dtype))


def erase(img, i: int, j: int, h: int, w: int, v, inplace: bool = False):
    """Set the ``h x w`` region at row ``i``, column ``j`` of a Tensor image to ``v`` (a number,
    or an array/Tensor broadcasting to ``(C, h, w)``); ``inplace=True`` writes into ``img``."""
    if not isinstance(img, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(img)}")
    x = img.data if inplace else img.data.copy()
    v = v.data if isinstance(v, Tensor) else v
    x[..., i:i + h, j:j + w] = v
    return img if inplace else Tensor(x)


# ---------------------------------------------------------------------------------------
# colour: brightness, contrast, saturation, hue
# ---------------------------------------------------------------------------------------
def _color_input(img, name: str):
    """``(x (..., C, H, W), pack, pil)``: ``pil`` is True for PIL Images and uint8 image arrays,
    which get Pillow's algorithms (``ImageEnhance``, HSV conversion), as torchvision gives PIL
    Images; every other image gets torchvision's tensor formulas. Only 1 or 3 channels."""
    pil = _is_pil(img) or (isinstance(img, np.ndarray) and img.dtype == np.uint8)
    x, pack = _unpack(img, name)
    c = x.shape[-3]
    if c not in (1, 3):
        raise TypeError(f"{name}: permitted channel values are [1, 3], but found {c}")
    return x, pack, pil


def _blend(img1: np.ndarray, img2, ratio: float) -> np.ndarray:
    """torchvision's tensor ``_blend``: ``ratio * img1 + (1 - ratio) * img2``, clamped to the
    dtype's range, cast back (truncating) to ``img1``'s dtype."""
    ft = img1.dtype.type if img1.dtype.kind == "f" else np.float32
    r = ft(ratio)
    out = r * img1.astype(ft, copy=False) + (ft(1.0) - r) * np.asarray(img2, dtype=ft)
    return np.clip(out, 0, _max_value(img1.dtype)).astype(img1.dtype)


def _pil_blend(degenerate, img: np.ndarray, alpha: float) -> np.ndarray:
    """Pillow's ``Image.blend(degenerate, img, alpha)`` on uint8: ``in1 + alpha * (in2 - in1)``
    in float32, clipped to [0, 255] and truncated (``ImageEnhance`` = a blend with a degenerate image)."""
    f32 = np.float32
    d = np.asarray(degenerate, dtype=f32)
    out = d + f32(alpha) * (img.astype(f32) - d)
    return np.clip(out, 0, 255).astype(np.uint8)


def _gray(x: np.ndarray, pil: bool) -> np.ndarray:
    """The luma ``(..., 1, H, W)``: Pillow's fixed-point ``convert("L")`` or torchvision's float formula."""
    if x.shape[-3] == 1:
        return x
    r, g, b = (x[..., i, :, :] for i in range(3))
    if pil:
        r, g, b = (c.astype(np.uint32) for c in (r, g, b))
        return ((19595 * r + 38470 * g + 7471 * b + 32768) >> 16).astype(np.uint8)[..., None, :, :]
    ft = x.dtype.type if x.dtype.kind == "f" else np.float32
    return (ft(0.2989) * r.astype(ft) + ft(0.587) * g + ft(0.114) * b).astype(x.dtype)[..., None, :, :]


def adjust_brightness(img, brightness_factor: float):
    """Multiply the intensities by ``brightness_factor`` (0 gives black, 1 the image), clamped.

    Tensors: torchvision's ``_blend(img, 0, factor)``; uint8 arrays / PIL Images: Pillow's
    ``ImageEnhance.Brightness`` (float32 product, truncated)."""
    if brightness_factor < 0:
        raise ValueError(f"brightness_factor ({brightness_factor}) is not non-negative.")
    x, pack, pil = _color_input(img, "adjust_brightness")
    return pack(_pil_blend(0, x, brightness_factor) if pil else _blend(x, 0, brightness_factor))


def adjust_contrast(img, contrast_factor: float):
    """Blend with the image's mean grey level: 0 gives a uniform grey image, 1 the image.

    Tensors: the mean of torchvision's grayscale in float, ``_blend(img, mean, factor)``; uint8
    arrays / PIL Images: Pillow's ``ImageEnhance.Contrast`` (the mean of ``convert("L")``
    rounded to an integer)."""
    if contrast_factor < 0:
        raise ValueError(f"contrast_factor ({contrast_factor}) is not non-negative.")
    x, pack, pil = _color_input(img, "adjust_contrast")
    gray = _gray(x, pil)
    if pil:
        mean = int(int(gray.sum(dtype=np.int64)) / gray.size + 0.5)
        return pack(_pil_blend(mean, x, contrast_factor))
    ft = x.dtype.type if x.dtype.kind == "f" else np.float32
    mean = gray.astype(ft).mean(axis=(-3, -2, -1), keepdims=True, dtype=ft)
    return pack(_blend(x, mean, contrast_factor))


def adjust_saturation(img, saturation_factor: float):
    """Blend with the image's grayscale: 0 gives grey, 1 the image, 2 doubles the saturation.

    Tensors: torchvision's ``_blend(img, rgb_to_grayscale(img), factor)``; uint8 arrays / PIL
    Images: Pillow's ``ImageEnhance.Color``. One-channel images are returned unchanged."""
    if saturation_factor < 0:
        raise ValueError(f"saturation_factor ({saturation_factor}) is not non-negative.")
    x, pack, pil = _color_input(img, "adjust_saturation")
    if x.shape[-3] == 1:
        return img
    gray = _gray(x, pil)
    return pack(_pil_blend(gray, x, saturation_factor) if pil else _blend(x, gray, saturation_factor))


def _rgb2hsv(img: np.ndarray) -> np.ndarray:
    """torchvision's float RGB -> HSV (``(..., 3, H, W)`` in [0, 1]; H in [0, 1))."""
    r, g, b = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
    maxc, minc = img.max(axis=-3), img.min(axis=-3)
    eqc = maxc == minc
    cr = maxc - minc
    ones = np.ones_like(maxc)
    s = cr / np.where(eqc, ones, maxc)
    cr_divisor = np.where(eqc, ones, cr)
    rc, gc, bc = (maxc - r) / cr_divisor, (maxc - g) / cr_divisor, (maxc - b) / cr_divisor
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = np.fmod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return np.stack((h, s, maxc), axis=-3).astype(img.dtype, copy=False)


def _hsv2rgb(img: np.ndarray) -> np.ndarray:
    """torchvision's float HSV -> RGB."""
    h, s, v = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int32) % 6
    p = np.clip(v * (1.0 - s), 0.0, 1.0)
    q = np.clip(v * (1.0 - s * f), 0.0, 1.0)
    t = np.clip(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
    choices = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = [np.select([i == k for k in range(6)], [c[ch] for c in choices]) for ch in range(3)]
    return np.stack(out, axis=-3).astype(img.dtype, copy=False)


def _pil_rgb2hsv(x: np.ndarray) -> np.ndarray:
    """Pillow's ``convert("HSV")`` of a uint8 ``(3, H, W)`` image (``libImaging/Convert.c``:
    float arithmetic, H and S truncated to 0..255)."""
    f32 = np.float32
    r, g, b = (x[i].astype(np.int32) for i in range(3))
    maxc, minc = np.maximum(r, np.maximum(g, b)), np.minimum(r, np.minimum(g, b))
    same = maxc == minc
    cr = np.where(same, 1, maxc - minc).astype(f32)
    s = cr / np.where(maxc == 0, 1, maxc).astype(f32)
    rc, gc, bc = ((maxc - c).astype(f32) / cr for c in (r, g, b))
    h = np.where(r == maxc, bc - gc,
                 np.where(g == maxc, (2.0 + rc.astype(np.float64) - bc).astype(f32),
                          (4.0 + gc.astype(np.float64) - rc).astype(f32)))
    h = np.fmod(h.astype(np.float64) / 6.0 + 1.0, 1.0).astype(f32)
    uh = np.clip((h.astype(np.float64) * 255.0).astype(np.int64), 0, 255)
    us = np.clip((s.astype(np.float64) * 255.0).astype(np.int64), 0, 255)
    return np.stack([np.where(same, 0, uh), np.where(same, 0, us), maxc]).astype(np.uint8)


def _pil_hsv2rgb(x: np.ndarray) -> np.ndarray:
    """Pillow's ``HSV -> RGB`` of a uint8 ``(3, H, W)`` image (``libImaging/Convert.c``)."""
    h, s, v = (x[k].astype(np.float64) for k in range(3))
    i = np.floor(h.astype(np.float32).astype(np.float64) * 6.0 / 255.0)
    f = (h * 6.0 / 255.0 - i).astype(np.float32).astype(np.float64)
    fs = (s / 255.0).astype(np.float32).astype(np.float64)

    def c_round(a):  # C's round(): halves away from zero
        return np.clip(np.sign(a) * np.floor(np.abs(a) + 0.5), 0, 255)

    p, q, t = c_round(v * (1.0 - fs)), c_round(v * (1.0 - fs * f)), c_round(v * (1.0 - fs * (1.0 - f)))
    i = i.astype(np.int64) % 6
    choices = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = np.stack([np.select([i == k for k in range(6)], [c[ch] for c in choices]) for ch in range(3)])
    out = np.where(x[1] == 0, v, out)                      # no saturation: grey
    return out.astype(np.uint8)


def adjust_hue(img, hue_factor: float):
    """Rotate the hue by ``hue_factor`` (in [-0.5, 0.5], a fraction of the colour circle).

    Tensors: torchvision's float HSV round trip (integer tensors converted to float and back
    with :func:`convert_image_dtype`); uint8 arrays / PIL Images: Pillow's uint8 HSV with the
    hue shifted by ``int(hue_factor * 255)`` modulo 256, as torchvision does for PIL Images.
    One-channel images are returned unchanged."""
    if not (-0.5 <= hue_factor <= 0.5):
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    x, pack, pil = _color_input(img, "adjust_hue")
    if x.shape[-3] == 1:
        return img
    if pil:
        hsv = _pil_rgb2hsv(x)
        hsv[0] = (hsv[0].astype(np.int64) + int(hue_factor * 255)) % 256    # uint8 wrap-around
        return pack(_pil_hsv2rgb(hsv))
    f = x if x.dtype == np.float32 else to_dtype(Tensor(x, dtype=x.dtype), np.float32, scale=True).data
    hsv = _rgb2hsv(f)
    hsv[..., 0, :, :] = np.mod(hsv[..., 0, :, :] + np.float32(hue_factor), np.float32(1.0))
    rgb = _hsv2rgb(hsv)
    if x.dtype != np.float32:
        rgb = to_dtype(Tensor(rgb), x.dtype, scale=True).data
    return pack(rgb)
