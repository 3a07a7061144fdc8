"""Parsers of the official formats: MNIST's IDX, CIFAR-10's and CIFAR-100's binary and python batches.

IDX and CIFAR-10 binary are tiny formats that a learner can read in full here.

IDX (http://yann.lecun.com/exdb/mnist/): a big-endian header ``00 00 <type> <ndim>``
(so the magic number reads 2049 = 0x801 for a 1-D label file and 2051 = 0x803 for a 3-D image
file, type 0x08 = unsigned byte), then ``ndim`` big-endian uint32 sizes, then the values.

CIFAR-10 binary (https://www.cs.toronto.edu/~kriz/cifar.html): records of 3073 bytes, no
header: 1 label byte (0-9) and 3072 pixel bytes (1024 red, 1024 green, 1024 blue, each a
32x32 plane row by row), i.e. already CHW.

CIFAR-100 binary (``cifar-100-binary/train.bin``, ``test.bin``): the same records with TWO label
bytes in front, 3074 bytes each: the coarse label (0-19, the superclass), then the fine label
(0-99, the class), then the 3072 pixel bytes.

CIFAR-10 python (the ``cifar-10-batches-py`` folder torchvision downloads): each batch is a
Python 2 pickle of ``{"data": uint8 array (10000, 3072), "labels": [int, ...], ...}`` with
the same pixel layout. CIFAR-100 python (``cifar-100-python/train``, ``test``) is the same with
``"fine_labels"`` and ``"coarse_labels"`` in place of ``"labels"``. A pickle can run any code it names while loading, so these are read
with :class:`DataOnlyUnpickler`, which can build lists, dicts, strings, bytes, numbers and
NumPy arrays and nothing else — and only after the file's MD5 matched the official one.
"""
from __future__ import annotations

import gzip
import io
import pickle
import zlib
from pathlib import Path

import numpy as np

from ._storage import DatasetError

__all__ = ["gunzip", "parse_idx", "parse_cifar_bin", "parse_cifar_python", "parse_cifar100_bin",
           "parse_cifar100_python", "check_labels", "DataOnlyUnpickler", "UnsafePickleError", "load_data_pickle"]

IDX_LABELS_MAGIC = 2049
IDX_IMAGES_MAGIC = 2051
CIFAR_RECORD = 1 + 3 * 32 * 32
CIFAR100_RECORD = 2 + 3 * 32 * 32
CIFAR100_COARSE_CLASSES = 20
CIFAR100_FINE_CLASSES = 100


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


def _cifar_records(data: bytes, path: Path | str, record: int, count: int | None) -> np.ndarray:
    """The bytes of a CIFAR binary batch as an ``(N, record)`` array, after checking the length."""
    if len(data) % record:
        full = len(data) // record
        raise DatasetError(f"{path}: truncated or padded: {len(data)} bytes is {full} whole records of "
                           f"{record} bytes plus {len(data) % record} stray bytes")
    n = len(data) // record
    if count is not None and n != count:
        raise DatasetError(f"{path}: holds {n} records, expected {count}")
    return np.frombuffer(data, dtype=np.uint8).reshape(n, record)


def parse_cifar_bin(data: bytes, path: Path | str, count: int | None = 10000,
                    num_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """``(images uint8 (N, 3, 32, 32), labels int64 (N,))`` from a CIFAR-10 binary batch file."""
    rec = _cifar_records(data, path, CIFAR_RECORD, count)
    n = len(rec)
    labels = rec[:, 0].astype(np.int64)
    if n and labels.max() >= num_classes:
        raise DatasetError(f"{path}: label {int(labels.max())} out of range 0..{num_classes - 1}; "
                           "not a CIFAR-10 binary batch (CIFAR-100 has 2 label bytes per record)")
    return rec[:, 1:].reshape(n, 3, 32, 32), labels


def parse_cifar100_bin(data: bytes, path: Path | str, count: int | None = None,
                       num_classes: int = CIFAR100_FINE_CLASSES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(images uint8 (N, 3, 32, 32), fine labels int64 (N,), coarse labels int64 (N,))`` from a
    CIFAR-100 binary file (``train.bin`` / ``test.bin``: coarse byte, fine byte, 3072 pixels)."""
    if len(data) % CIFAR100_RECORD and not len(data) % CIFAR_RECORD:
        raise DatasetError(f"{path}: {len(data)} bytes is a whole number of CIFAR-10 records (3073 bytes), "
                           f"not of CIFAR-100 records ({CIFAR100_RECORD} bytes): is this a CIFAR-10 batch?")
    rec = _cifar_records(data, path, CIFAR100_RECORD, count)
    n = len(rec)
    coarse, fine = rec[:, 0].astype(np.int64), rec[:, 1].astype(np.int64)
    for what, labels, k in (("coarse", coarse, CIFAR100_COARSE_CLASSES), ("fine", fine, num_classes)):
        if n and labels.max() >= k:
            raise DatasetError(f"{path}: {what} label {int(labels.max())} out of range 0..{k - 1}; "
                               "not a CIFAR-100 binary file")
    return rec[:, 2:].reshape(n, 3, 32, 32), fine, coarse


def check_labels(labels: np.ndarray, path: Path | str, num_classes: int = 10) -> np.ndarray:
    if labels.size and int(labels.max()) >= num_classes:
        raise DatasetError(f"{path}: label {int(labels.max())} out of range 0..{num_classes - 1}")
    return labels.astype(np.int64)


# ---------------------------------------------------------------------------------------
# CIFAR-10 python version: a data-only unpickler
# ---------------------------------------------------------------------------------------
class UnsafePickleError(DatasetError, pickle.UnpicklingError):
    """A pickle asked for something other than plain data (a function, a class, a module)."""


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    # how Python 3 pickles bytes at protocol 2: _codecs.encode(text, "latin1"); no other codec
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise UnsafePickleError(f"_codecs.encode is allowed only to rebuild bytes from latin-1 text, "
                                f"not with encoding {encoding!r}")
    return text.encode("latin1")


def _numpy_globals() -> dict[tuple[str, str], object]:
    """The few callables a pickled NumPy array names, under both of NumPy's module names.

    Taken from the objects NumPy's own ``__reduce__`` returns, so they are right for the
    installed NumPy whether it calls its core package ``numpy.core`` (1.x) or ``numpy._core``.
    """
    reconstruct = np.zeros(1).__reduce__()[0]          # ndarray via _reconstruct (protocols 0-4)
    frombuffer = np.zeros(1).__reduce_ex__(5)[0]       # ndarray from a buffer (protocol 5)
    table: dict[tuple[str, str], object] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
                                            ("_codecs", "encode"): _latin1_encode}
    for core in ("numpy.core", "numpy._core"):
        table[(f"{core}.multiarray", "_reconstruct")] = reconstruct
        table[(f"{core}.numeric", "_frombuffer")] = frombuffer
    return table


_ALLOWED_GLOBALS = _numpy_globals()


class DataOnlyUnpickler(pickle.Unpickler):
    """An unpickler that builds plain data only: lists, dicts, tuples, str, bytes, numbers and
    NumPy arrays.

    Objects other than those are made in a pickle by naming a global (``module.name``) and
    calling it; :meth:`find_class` hands out only NumPy's array and dtype constructors (and a
    latin-1 ``bytes`` builder) and refuses every other name — ``os.system``, ``builtins.eval``,
    any class — before anything is called. Persistent IDs and the copyreg extension registry
    go through the same refusal.
    """

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refusing to load {module}.{name}: this pickle wants to call or build something "
                "other than plain data (lists, dicts, str, bytes, numbers, NumPy arrays), which "
                "is how a malicious pickle runs code") from None

    def persistent_load(self, pid):
        raise UnsafePickleError("refusing a pickle with persistent IDs (references to external objects)")


def load_data_pickle(data: bytes, path: Path | str):
    """The object stored in a pickle's bytes, built by :class:`DataOnlyUnpickler`.

    ``encoding="latin1"`` reads Python 2 pickles (CIFAR-10's): their byte strings become
    ``str``, which NumPy turns back into the array's bytes.
    """
    try:
        return DataOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()
    except UnsafePickleError as e:
        raise UnsafePickleError(f"{path}: {e}") from None
    except Exception as e:  # truncated or corrupt: every unpickling failure names the file
        raise DatasetError(f"{path}: not a readable pickle ({type(e).__name__}: {e})") from e


def _cifar_python_batch(data: bytes, path: Path | str, label_keys: tuple[str, ...], count: int | None,
                       what: str) -> tuple[np.ndarray, ...]:
    """``(images (N, 3, 32, 32), *label arrays)`` of a CIFAR python batch, the labels read from ``label_keys``."""
    batch = load_data_pickle(data, path)
    if not isinstance(batch, dict):
        raise DatasetError(f"{path}: a {what} python batch is a dict, this pickle holds a {type(batch).__name__}")
    # Python 2 str keys arrive as str; a pickle written with bytes keys is read too
    fields = {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in batch.items()}
    if any(k not in fields for k in ("data",) + label_keys):
        wanted = " and ".join(repr(k) for k in ("data",) + label_keys)
        raise DatasetError(f"{path}: a {what} python batch has {wanted}, this one has {sorted(map(str, fields))}")
    images = fields["data"]
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != 3072:
        shape = getattr(images, "shape", None)
        raise DatasetError(f"{path}: 'data' should be a uint8 array of shape (N, 3072), got "
                           f"{type(images).__name__} {getattr(images, 'dtype', '')} {shape}")
    n = len(images)
    out = [np.ascontiguousarray(images).reshape(n, 3, 32, 32)]
    for key in label_keys:
        try:
            labels = np.asarray(fields[key], dtype=np.int64).reshape(-1)
        except (TypeError, ValueError) as e:
            raise DatasetError(f"{path}: {key!r} is not a list of integers ({e})") from e
        if len(labels) != n:
            raise DatasetError(f"{path}: {n} images but {len(labels)} {key}")
        out.append(labels)
    if count is not None and n != count:
        raise DatasetError(f"{path}: holds {n} records, expected {count}")
    return tuple(out)


def _check_range(labels: np.ndarray, path, key: str, k: int) -> None:
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise DatasetError(f"{path}: {key} out of range 0..{k - 1}")


def parse_cifar_python(data: bytes, path: Path | str, count: int | None = 10000,
                       num_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """``(images uint8 (N, 3, 32, 32), labels int64 (N,))`` from a CIFAR-10 python batch file."""
    images, labels = _cifar_python_batch(data, path, ("labels",), count, "CIFAR-10")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise DatasetError(f"{path}: label out of range 0..{num_classes - 1}")
    return images, labels


def parse_cifar100_python(data: bytes, path: Path | str, count: int | None = None,
                          num_classes: int = CIFAR100_FINE_CLASSES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(images uint8 (N, 3, 32, 32), fine labels, coarse labels)`` from a CIFAR-100 python file
    (``train`` / ``test``: a pickled dict with ``data``, ``fine_labels``, ``coarse_labels``)."""
    images, fine, coarse = _cifar_python_batch(data, path, ("fine_labels", "coarse_labels"), count, "CIFAR-100")
    _check_range(fine, path, "fine_labels", num_classes)
    _check_range(coarse, path, "coarse_labels", CIFAR100_COARSE_CLASSES)
    return images, fine, coarse
