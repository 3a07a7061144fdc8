"""Parsers of the official binary formats: MNIST's IDX and CIFAR-10's binary batches.

Both are tiny formats that a learner can read in full here; no pickle is ever involved.

IDX (http://yann.lecun.com/exdb/mnist/): a big-endian header ``00 00 <type> <ndim>``
(so the magic number reads 2049 = 0x801 for a 1-D label file and 2051 = 0x803 for a 3-D image
file, type 0x08 = unsigned byte), then ``ndim`` big-endian uint32 sizes, then the values.

CIFAR-10 binary (https://www.cs.toronto.edu/~kriz/cifar.html): records of 3073 bytes, no
header: 1 label byte (0-9) and 3072 pixel bytes (1024 red, 1024 green, 1024 blue, each a
32x32 plane row by row), i.e. already CHW.
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ._storage import DatasetError

IDX_LABELS_MAGIC = 2049
IDX_IMAGES_MAGIC = 2051
CIFAR_RECORD = 1 + 3 * 32 * 32


def gunzip(data: bytes, path: Path | str) -> bytes:
    """Decompress gzip data, turning every kind of corruption into a DatasetError naming ``path``."""
    try:
        return gzip.decompress(data)
    except EOFError as e:
        raise DatasetError(f"{path}: gzip stream is truncated ({e})") from e
    except (gzip.BadGzipFile, zlib.error, OSError) as e:
        raise DatasetError(f"{path}: corrupt gzip data ({e})") from e


def parse_idx(data: bytes, path: Path | str, magic: int, count: int | None = None,
              item_shape: tuple[int, ...] = ()) -> np.ndarray:
    """The uint8 array stored in an IDX file's bytes, after checking header and length.

    ``magic``: expected magic number (2049 labels, 2051 images); ``count``: expected number of
    records (None = any); ``item_shape``: expected shape of one record, e.g. ``(28, 28)``.
    """
    if len(data) < 4:
        raise DatasetError(f"{path}: truncated IDX file ({len(data)} bytes, no header)")
    got_magic = int.from_bytes(data[:4], "big")
    if got_magic != magic:
        kind = {IDX_LABELS_MAGIC: "label", IDX_IMAGES_MAGIC: "image"}.get(magic, "IDX")
        raise DatasetError(f"{path}: wrong magic number {got_magic} (0x{got_magic:08x}); an IDX {kind} "
                           f"file starts with {magic} (0x{magic:08x}). Is this the right file, "
                           f"and is it decompressed correctly?")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{path}: truncated IDX header ({len(data)} bytes, need {header})")
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if dims[1:] != tuple(item_shape):
        raise DatasetError(f"{path}: records have shape {dims[1:]}, expected {tuple(item_shape)}")
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(data) < expected:
        raise DatasetError(f"{path}: truncated: {len(data)} bytes, but the header announces {dims[0]} "
                           f"records of shape {dims[1:]} = {expected} bytes")
    if len(data) > expected:
        raise DatasetError(f"{path}: {len(data) - expected} unexpected bytes after the {dims[0]} records "
                           f"announced by the header")
    if count is not None and dims[0] != count:
        raise DatasetError(f"{path}: holds {dims[0]} records, expected {count}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def parse_cifar_bin(data: bytes, path: Path | str, count: int | None = 10000,
                    num_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """``(images uint8 (N, 3, 32, 32), labels int64 (N,))`` from a CIFAR-10 binary batch file."""
    if len(data) % CIFAR_RECORD:
        full = len(data) // CIFAR_RECORD
        raise DatasetError(f"{path}: truncated or padded: {len(data)} bytes is {full} whole records of "
                           f"{CIFAR_RECORD} bytes plus {len(data) % CIFAR_RECORD} stray bytes")
    n = len(data) // CIFAR_RECORD
    if count is not None and n != count:
        raise DatasetError(f"{path}: holds {n} records, expected {count}")
    rec = np.frombuffer(data, dtype=np.uint8).reshape(n, CIFAR_RECORD)
    labels = rec[:, 0].astype(np.int64)
    if n and labels.max() >= num_classes:
        raise DatasetError(f"{path}: label {int(labels.max())} out of range 0..{num_classes - 1}; "
                           "not a CIFAR-10 binary batch (CIFAR-100 has 2 label bytes per record)")
    return rec[:, 1:].reshape(n, 3, 32, 32), labels


def check_labels(labels: np.ndarray, path: Path | str, num_classes: int = 10) -> np.ndarray:
    if labels.size and int(labels.max()) >= num_classes:
        raise DatasetError(f"{path}: label {int(labels.max())} out of range 0..{num_classes - 1}")
    return labels.astype(np.int64)
