"""torchvision's ``utils``: :func:`make_grid` tiles a batch of images, :func:`save_image` writes it as PNG.

    from fastnn.vision.utils import make_grid, save_image
    save_image(x[:64], "samples.png", nrow=8, normalize=True)     # x: (N, C, H, W) Tensor

Both follow torchvision's code step for step (the layout, the normalisation, the rounding to
uint8), on NumPy arrays. The PNG is written by fastnn's own small encoder, so no Pillow is
needed, and atomically (a temporary file renamed into place), so a crash never leaves half
an image behind.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from ..data._storage import atomic_write_bytes
from ..tensor import Tensor
from ._png import encode_png

__all__ = ["make_grid", "save_image"]


def _images(tensor) -> np.ndarray:
    if isinstance(tensor, (list, tuple)):
        if not tensor or not all(isinstance(t, Tensor) for t in tensor):
            raise TypeError("make_grid: a list must hold fastnn Tensors of equal shape")
        return np.stack([t.data for t in tensor])
    if not isinstance(tensor, Tensor):
        raise TypeError(f"make_grid: tensor should be a fastnn Tensor or a list of them, got {type(tensor).__name__}")
    return tensor.data


def make_grid(tensor, nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range: tuple[float, float] | None = None, scale_each: bool = False,
              pad_value: float = 0.0) -> Tensor:
    """Tile images into one ``(C, H', W')`` Tensor, ``nrow`` images per row, ``padding`` pixels apart.

    Args:
        tensor: ``(N, C, H, W)`` Tensor, a list of ``(C, H, W)`` Tensors, or one ``(C, H, W)`` /
            ``(H, W)`` image. One-channel images are repeated into three (RGB).
        normalize: shift and scale to [0, 1] using ``value_range`` (values clamped to it) or,
            without it, the minimum and maximum of the whole batch — or of each image with
            ``scale_each``.
        pad_value: the value of the padding between and around the images.

    A batch of one image is returned without padding, as in torchvision.
    """
    x = _images(tensor)
    if x.ndim == 2:
        x = x[None]
    if x.ndim == 3:
        if x.shape[0] == 1:
            x = np.concatenate([x, x, x], axis=0)
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"make_grid: expected images shaped (N, C, H, W), got shape {x.shape}")
    if x.shape[1] == 1:
        x = np.concatenate([x, x, x], axis=1)
    if normalize:
        if x.dtype.kind != "f":
            raise TypeError(f"make_grid: normalize=True needs a float tensor, got {x.dtype}")
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError("value_range has to be a tuple (min, max) if specified. min and max are numbers")
        x = x.copy()

        def norm(img: np.ndarray) -> None:  # in place, as torchvision's norm_ip
            low, high = value_range if value_range is not None else (float(img.min()), float(img.max()))
            np.clip(img, low, high, out=img)
            img -= low
            img /= max(high - low, 1e-5)

        for img in (x if scale_each else [x]):
            norm(img)
    if x.shape[0] == 1:
        return Tensor(x[0])
    n, c, h, w = x.shape
    cols = min(nrow, n)
    rows = int(math.ceil(n / cols))
    cell_h, cell_w = h + padding, w + padding
    grid = np.full((c, cell_h * rows + padding, cell_w * cols + padding), pad_value, dtype=x.dtype)
    for k in range(n):
        top, left = (k // cols) * cell_h + padding, (k % cols) * cell_w + padding
        grid[:, top:top + h, left:left + w] = x[k]
    return Tensor(grid)


def save_image(tensor, fp, format: str | None = None, **kwargs) -> None:
    """Save images as one PNG: ``make_grid(tensor, **kwargs)``, then pixels ``clamp(255 x + 0.5, 0, 255)``.

    ``fp`` is a path (written atomically, folders created) or a binary file object. Float
    images are expected in [0, 1] (or pass ``normalize=True``); uint8 images are written as
    they are. Only PNG is written: a path with another extension, or another ``format``, is
    refused rather than silently saved as PNG.
    """
    grid = make_grid(tensor, **kwargs).data
    if grid.dtype.kind == "f":
        pixels = np.clip(grid * grid.dtype.type(255) + grid.dtype.type(0.5), 0, 255).astype(np.uint8)
    elif grid.dtype == np.uint8:
        pixels = grid
    else:
        raise TypeError(f"save_image: expected float images in [0, 1] or uint8 images, got {grid.dtype}")
    is_path = isinstance(fp, (str, os.PathLike))
    fmt = (format or (Path(fp).suffix.lstrip(".") if is_path else "png")).lower()
    if fmt != "png":
        raise ValueError(f"save_image writes PNG only (no Pillow dependency); got format {fmt!r}")
    data = encode_png(pixels.transpose(1, 2, 0))
    if is_path:
        atomic_write_bytes(Path(fp), data)
    else:
        fp.write(data)
