"""A minimal PNG encoder (8-bit grayscale, RGB or RGBA), so that saving an image needs no Pillow.

A PNG file is an 8-byte signature and a list of chunks, each ``length | type | data | CRC-32``:
``IHDR`` (width, height, bit depth 8, colour type, no interlace), ``IDAT`` (the rows, each
prefixed with filter byte 0 = "none", compressed with zlib) and an empty ``IEND``
(https://www.w3.org/TR/png/). Any PNG reader decodes it; the files are just not as small as
an encoder that tries the other row filters would make them.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

__all__ = ["encode_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPE = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type (grey, RGB, RGBA)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(image: np.ndarray, level: int = 6) -> bytes:
    """The PNG file of a uint8 image shaped (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)."""
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise TypeError(f"encode_png needs uint8 pixels, got {img.dtype}")
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] not in _COLOUR_TYPE or 0 in img.shape:
        raise ValueError(f"encode_png needs an (H, W) or (H, W, 1|3|4) image, got shape {img.shape}")
    h, w, c = img.shape
    header = struct.pack(">IIBBBBB", w, h, 8, _COLOUR_TYPE[c], 0, 0, 0)
    rows = np.concatenate([np.zeros((h, 1), np.uint8), np.ascontiguousarray(img).reshape(h, w * c)], axis=1)
    return (_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows.tobytes(), level))
            + _chunk(b"IEND", b""))
