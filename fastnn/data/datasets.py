"""MNIST, Fashion-MNIST, CIFAR-10 and CIFAR-100, read from their official files; the embedded mini-MNIST.

    from fastnn.data import MNIST, CIFAR10, DataLoader, transforms as T
    train = MNIST(train=True, transform=T.ToFloat())        # files in $FASTNN_DATA/mnist/
    x, y = train[0]                                         # (1, 28, 28) float32, int64
    loader = DataLoader(train, batch_size=128, shuffle=True)

    tiny = MNIST(subset="mini")   # 10,000 train / 2,000 test digits shipped inside fastnn

Each set is array-backed: ``data`` is uint8 ``(N, 1, 28, 28)`` or ``(N, 3, 32, 32)`` (NCHW,
untransformed), ``targets`` int64 ``(N,)``, ``classes`` the class names. ``transform`` runs
on whole batches (see :mod:`fastnn.data.transforms`); with ``transform=None`` samples are the
raw uint8 pixels, so for training use at least ``transform=T.ToFloat()``.

Files are looked for in ``<root>/<sub>/`` where ``root`` is the argument, else
``$FASTNN_DATA``, else ``~/.cache/fastnn``, and ``<sub>`` is ``mnist``, ``fashion-mnist``,
``cifar-10`` or ``cifar-100`` (torchvision's layouts — ``<root>/MNIST/raw/``,
``<root>/FashionMNIST/raw/``, ``<root>/cifar-10-batches-py/``, ``<root>/cifar-100-python/`` —
and the official archives' folders are searched too). Every file's MD5 is checked against the
official value (once; see ``_storage``); where none is published for a file (CIFAR-100's
extracted binary files), only a copy fastnn extracted from the verified archive is read.

These sets are array-backed (whole batches in one NumPy call); :mod:`fastnn.vision.datasets`
serves the same files one sample at a time, as torchvision does.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from . import _storage
from ._formats import (IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, check_labels, gunzip, parse_cifar100_bin,
                       parse_cifar100_python, parse_cifar_bin, parse_cifar_python, parse_idx)
from ._storage import (DatasetError, DatasetNotFoundError, atomic_write_bytes, data_root, download,
                       is_verified, not_found_message, read_verified, record_verified)
from ..utils.data.dataset import ArrayDataset

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "mnist_mini"]

EMBEDDED_DIR = Path(__file__).resolve().parent / "_embedded"

#: sha256 of fastnn/data/_embedded/mnist_mini.npz, as written by scripts/make_mnist_mini.py
MNIST_MINI_SHA256 = "a563e4af42c9dd1da64172c248fb3ead0fae813e9ceb052fdf8574621a418030"


class _ImageDataset(ArrayDataset):
    """Shared behaviour: ``data``/``targets``/``classes``, repr, class_to_idx."""

    classes: list[str] = []

    @property
    def data(self) -> np.ndarray:
        return self.arrays[0]

    @data.setter
    def data(self, value) -> None:
        self.arrays = (np.asarray(value),) + self.arrays[1:]

    @property
    def targets(self) -> np.ndarray:
        return self.arrays[1]

    @targets.setter
    def targets(self, value) -> None:
        self.arrays = (self.arrays[0], np.asarray(value, dtype=np.int64)) + self.arrays[2:]

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        where = f", root={str(self.root)!r}" if getattr(self, "root", None) else ""
        if getattr(self, "subset", None):
            where = f", subset={self.subset!r}"
        tf = f", transform={self.transform!r}" if self.transform is not None else ""
        return f"{type(self).__name__}({split}, {len(self)} samples, data {list(self.data.shape)} uint8{where}{tf})"


# ---------------------------------------------------------------------------------------
# MNIST family (IDX files)
# ---------------------------------------------------------------------------------------
class MNIST(_ImageDataset):
    """The MNIST handwritten digits: 60,000 train / 10,000 test images, 1x28x28 uint8.

    Args:
        root: data root (default ``$FASTNN_DATA`` or ``~/.cache/fastnn``); files in ``<root>/mnist/``,
            as the four official ``*-ubyte.gz`` files (or their decompressed versions).
        train: training split (True) or test split (False).
        download: fetch missing files from the mirrors.
        transform: batch transform of the images; target_transform: of the labels.
        subset: ``"mini"`` = the stratified 10,000/2,000-digit subset shipped with fastnn
            (no files or network needed; ``root`` and ``download`` are ignored).

    Citation: Y. LeCun, C. Cortes, C. J. C. Burges, *The MNIST database of handwritten digits*.
    """

    name = "MNIST"
    subdir = "mnist"
    torchvision_dir = "MNIST"
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]
    mirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
    # file stem -> (MD5 of the official .gz, MD5 of its decompressed content or None if unpublished)
    checksums = {
        "train-images-idx3-ubyte": ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "6bbc9ace898e44ae57da46a324031adb"),
        "train-labels-idx1-ubyte": ("d53e105ee54ea40749a09fcbcd1e9432", "a25bea736e30d166cdddb491f175f624"),
        "t10k-images-idx3-ubyte": ("9fb629c4189551a2d022fa330f9573f3", "2646ac647ad5339dbf082846283269ea"),
        "t10k-labels-idx1-ubyte": ("ec29112dd5afa0611ce80d1b7f02629c", "27ae3e4e09519cfbb04c329615203637"),
    }
    counts = {True: 60000, False: 10000}

    def __init__(self, root=None, train: bool = True, download: bool = False, transform=None,
                 target_transform=None, subset: str | None = None):
        self.train = bool(train)
        self.subset = subset
        if subset is None:
            self.root = data_root(root)
            images, labels, self.files = self._load_files(self.root, self.train, download)
        elif subset == "mini":
            if type(self) is not MNIST:
                raise ValueError(f"subset='mini' exists only for MNIST, not {type(self).__name__}")
            self.root = None
            images, labels = _load_mini(self.train)
            self.files = [EMBEDDED_DIR / "mnist_mini.npz"]
        else:
            raise ValueError(f"unknown subset {subset!r}; use None (the full set) or 'mini'")
        super().__init__(images, labels, transform=transform, target_transform=target_transform)

    # -- locating ------------------------------------------------------------------------
    @classmethod
    def search_dirs(cls, root: Path) -> list[Path]:
        return [root / cls.subdir, root / cls.torchvision_dir / "raw", root]

    @classmethod
    def _stems(cls, train: bool) -> tuple[str, str]:
        prefix = "train" if train else "t10k"
        return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"

    @classmethod
    def _find(cls, root: Path, stem: str) -> tuple[Path, str] | None:
        """``(path, expected md5)`` of the first copy of ``stem`` (.gz preferred), or None."""
        gz_md5, raw_md5 = cls.checksums[stem]
        for d in cls.search_dirs(root):
            gz = d / f"{stem}.gz"
            if gz.is_file():
                return gz, gz_md5
            raw = d / stem
            if raw.is_file():
                if raw_md5 is None:
                    raise DatasetError(
                        f"{raw}: no official checksum is published for the decompressed {cls.name} "
                        f"file, so it cannot be verified; put the original {stem}.gz there instead")
                return raw, raw_md5
        return None

    def _load_files(self, root: Path, train: bool, download_: bool):
        stems = self._stems(train)
        found = {s: self._find(root, s) for s in stems}
        missing = [s for s, f in found.items() if f is None]
        errors: list[str] = []
        if missing and download_:
            for s in missing:
                path, errs = download(f"{s}.gz", self.checksums[s][0], self.mirrors, root / self.subdir)
                errors += errs
                if path is not None:
                    found[s] = (path, self.checksums[s][0])
            missing = [s for s, f in found.items() if f is None]
        if missing:
            looked = [d for d in self.search_dirs(root)]
            raise DatasetNotFoundError(not_found_message(
                self.name, looked, [f"{s}.gz" for s in missing], self.mirrors, self.subdir,
                errors, download_tried=download_))

        arrays = []
        for stem, magic, shape in ((stems[0], IDX_IMAGES_MAGIC, (28, 28)), (stems[1], IDX_LABELS_MAGIC, ())):
            path, md5 = found[stem]
            data = read_verified(path, md5, what=f"{self.name} file")
            if path.suffix == ".gz":
                data = gunzip(data, path)
            arrays.append(parse_idx(data, path, magic, self.counts[train], shape))
        images = arrays[0].reshape(-1, 1, 28, 28).copy()  # writable, owns its memory
        labels = check_labels(arrays[1], found[stems[1]][0], len(self.classes))
        return images, labels, [found[s][0] for s in stems]


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 60,000 / 10,000 grayscale 28x28 article images, 10 classes.

    Same files and format as MNIST, in ``<root>/fashion-mnist/``. Only the official ``.gz``
    files can be verified (no checksums are published for the decompressed ones).

    Citation: H. Xiao, K. Rasul, R. Vollgraf, *Fashion-MNIST: a Novel Image Dataset for
    Benchmarking Machine Learning Algorithms*, arXiv:1708.07747 (2017).
    """

    name = "FashionMNIST"
    subdir = "fashion-mnist"
    torchvision_dir = "FashionMNIST"
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    mirrors = [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ]
    # MD5s as published in the README of github.com/zalandoresearch/fashion-mnist
    checksums = {
        "train-images-idx3-ubyte": ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", None),
        "train-labels-idx1-ubyte": ("25c81989df183df01b3e8a0aad5dffbe", None),
        "t10k-images-idx3-ubyte": ("bef4ecab320f06d8554ea6380940ec79", None),
        "t10k-labels-idx1-ubyte": ("bb300cfdad3c16e7a12a480ee83cd310", None),
    }

    def __init__(self, root=None, train: bool = True, download: bool = False, transform=None,
                 target_transform=None):
        super().__init__(root, train, download, transform, target_transform)


# ---------------------------------------------------------------------------------------
# the embedded mini-MNIST
# ---------------------------------------------------------------------------------------
def _load_mini(train: bool) -> tuple[np.ndarray, np.ndarray]:
    path = EMBEDDED_DIR / "mnist_mini.npz"
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DatasetNotFoundError(f"the embedded mini-MNIST {path} is missing from this fastnn install "
                                   f"({e}); rebuild it with scripts/make_mnist_mini.py") from e
    got = hashlib.sha256(raw).hexdigest()
    if got != MNIST_MINI_SHA256:
        raise DatasetError(f"{path}: sha256 {got} does not match the recorded {MNIST_MINI_SHA256}; "
                           "the file is corrupt or was rebuilt without updating MNIST_MINI_SHA256")
    split = "train" if train else "test"
    with np.load(io.BytesIO(raw), allow_pickle=False) as z:
        images, labels = z[f"x_{split}"], z[f"y_{split}"]
    return images, labels.astype(np.int64)


def mnist_mini(train: bool = True, transform=None, target_transform=None) -> MNIST:
    """The embedded stratified MNIST subset: 10,000 train (1,000 per digit) / 2,000 test (200 per digit).

    Same as ``MNIST(subset="mini", train=train)``: works offline, loads in milliseconds.
    """
    return MNIST(train=train, transform=transform, target_transform=target_transform, subset="mini")


# ---------------------------------------------------------------------------------------
# CIFAR-10 and CIFAR-100 (binary and python versions)
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _CifarFormat:
    """One official distribution of a CIFAR set: where its files are and how to read them."""

    what: str                              # for messages
    folder: str                            # the folder its archive extracts to
    archive: str
    archive_md5: str
    checksums: dict[str, str | None]       # member file name -> official MD5 (None: none published)
    files: dict[bool, list[str]]           # train? -> the member files of the split
    parse: Callable[..., tuple[np.ndarray, ...]]
    in_subdir: bool = False                # the files may also sit loose in <root>/<subdir>/
    in_root: bool = False                  # ... and (unmistakable names) in <root> itself

    def names(self, train: bool) -> list[str]:
        return list(self.files[bool(train)])


def _extracted_md5(path: Path) -> str | None:
    """The MD5 that fastnn recorded for ``path`` when it extracted it from a verified official
    archive, if the file still matches it; else None.

    For archive members whose MD5 is not published (CIFAR-100's binary ``train.bin`` /
    ``test.bin``) this is what makes the extracted copy trustworthy: it came out of an archive
    whose official MD5 matched.
    """
    try:
        record = json.loads(_storage._record_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    md5 = record.get("md5") if isinstance(record, dict) else None
    if isinstance(md5, str) and record.get("file") == str(path.resolve()) and is_verified(path, md5):
        return md5
    return None


class _CIFAR(_ImageDataset):
    """What CIFAR-10 and CIFAR-100 share: two official distributions, their folders and archives,
    verification, extraction. Subclasses give the file names, checksums and parsers."""

    name = "CIFAR"
    subdir = ""
    mirrors = ["https://www.cs.toronto.edu/~kriz/"]

    def __init__(self, root=None, train: bool = True, download: bool = False, transform=None,
                 target_transform=None):
        self.train = bool(train)
        self.root = data_root(root)
        columns, self.files = self._load(self.root, self.train, download)
        self._extra_columns(columns[2:])
        super().__init__(columns[0], columns[1], transform=transform, target_transform=target_transform)

    def _extra_columns(self, columns) -> None:
        """Label arrays beyond the targets (CIFAR-100's coarse labels)."""

    def _count(self, name: str, train: bool) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def _formats(cls) -> tuple[_CifarFormat, _CifarFormat]:
        """``(binary version, python version)``, read from the class attributes when asked (tests patch them)."""
        return cls._binary(), cls._python()

    @classmethod
    def search_dirs(cls, root: Path, fmt: _CifarFormat | None = None) -> list[Path]:
        """Folders that may hold the files of ``fmt`` (default: the binary version)."""
        fmt = fmt or cls._binary()
        sub = root / cls.subdir
        return ([sub] if fmt.in_subdir else []) + [sub / fmt.folder, root / fmt.folder] + ([root] if fmt.in_root else [])

    @classmethod
    def archive_paths(cls, root: Path, fmt: _CifarFormat | None = None) -> list[Path]:
        fmt = fmt or cls._binary()
        return [root / cls.subdir / fmt.archive, root / fmt.archive]

    def _load(self, root: Path, train: bool, download_: bool):
        """``([images, labels, *more labels], files)``: every file of the split, parsed and joined."""
        fmt, blobs = self._locate(root, train, download_)
        parts = []
        for name in fmt.names(train):
            path, data = blobs[name]
            parts.append(fmt.parse(data, path, self._count(name, train), len(self.classes)))
        columns = [np.concatenate(c) if len(c) > 1 else c[0] for c in zip(*parts)]
        return columns, [blobs[n][0] for n in fmt.names(train)]

    def _locate(self, root: Path, train: bool, download_: bool):
        """``(format, {name: (path, verified bytes)})`` for every file of the split.

        Preference: extracted binary files, extracted python files, the binary archive, the
        python archive, and last a download of the binary archive. An extracted file without a
        published MD5 is used only if fastnn extracted it itself from the verified archive.
        """
        formats = self._formats()
        unverifiable: list[Path] = []
        for fmt in formats:
            names = fmt.names(train)
            for d in self.search_dirs(root, fmt):
                if not all((d / n).is_file() for n in names):
                    continue
                md5s = {n: fmt.checksums[n] or _extracted_md5(d / n) for n in names}
                if any(m is None for m in md5s.values()):
                    unverifiable += [d / n for n, m in md5s.items() if m is None]
                    continue
                return fmt, {n: (d / n, read_verified(d / n, md5s[n], what=f"{self.name} file ({fmt.what})"))
                             for n in names}
        for fmt in formats:
            archive = next((p for p in self.archive_paths(root, fmt) if p.is_file()), None)
            if archive is not None:
                return fmt, self._from_archive(archive, fmt, fmt.names(train))
        fmt, errors = formats[0], []
        if download_:
            archive, errors = download(fmt.archive, fmt.archive_md5, self.mirrors, root / self.subdir)
            if archive is not None:
                return fmt, self._from_archive(archive, fmt, fmt.names(train))
        if unverifiable:
            raise DatasetError(
                f"{self.name}: found {', '.join(map(str, unverifiable))}, but no official checksum is "
                f"published for the extracted files of the {fmt.what}, so they cannot be verified. Put the "
                f"official {fmt.archive} (MD5 {fmt.archive_md5}) in {root / self.subdir}/ and fastnn checks it "
                f"and extracts these files itself; or use the python version ({formats[1].folder}/, "
                "whose files have published MD5s).")
        python = formats[1]
        looked = [d for f in formats for d in self.search_dirs(root, f) + self.archive_paths(root, f)]
        needed = [", ".join(fmt.names(train)) + f" (or {fmt.archive}; or the python version: "
                  f"{python.folder}/{', '.join(python.names(train))} or {python.archive})"]
        raise DatasetNotFoundError(not_found_message(
            self.name, looked, needed, [m + f.archive for f in formats for m in self.mirrors], self.subdir,
            errors, download_tried=download_))

    def _from_archive(self, archive: Path, fmt: _CifarFormat, names: list[str]) -> dict[str, tuple[Path, bytes]]:
        if not is_verified(archive, fmt.archive_md5):
            raise DatasetError(f"checksum mismatch for {archive}: its MD5 is not the official "
                               f"{fmt.archive_md5}. The archive is corrupt, truncated or not the "
                               "official one: delete it and download it again.")
        out_dir = archive.parent / fmt.folder
        out: dict[str, tuple[Path, bytes]] = {}
        try:
            with tarfile.open(archive, "r:gz") as tar:
                members = {os.path.basename(m.name): m for m in tar.getmembers() if m.isfile()}
                for name in names:
                    m = members.get(name)
                    if m is None:
                        raise DatasetError(f"{archive}: has no member {name}")
                    f = tar.extractfile(m)
                    data = f.read() if f is not None else b""
                    got = hashlib.md5(data, usedforsecurity=False).hexdigest()
                    expected = fmt.checksums[name]
                    if expected is not None and got != expected:
                        raise DatasetError(f"{archive}: member {name} has MD5 {got}, expected {expected}")
                    target = out_dir / name
                    try:  # extract (only the files we know, by basename: no path games) for next time
                        atomic_write_bytes(target, data)
                        record_verified(target, got)   # the official MD5, or the member's in a verified archive
                    except OSError:
                        target = archive  # read-only folder: read from the archive every time
                    out[name] = (target, data)
        except (tarfile.TarError, EOFError, OSError) as e:
            raise DatasetError(f"{archive}: cannot read the tar.gz archive ({e})") from e
        return out


class CIFAR10(_CIFAR):
    """CIFAR-10: 50,000 train / 10,000 test colour images, 3x32x32 uint8, 10 classes.

    Reads the official *binary version* — ``cifar-10-binary.tar.gz`` (its members are extracted
    next to it on first use), its extracted ``cifar-10-batches-bin/`` folder, or a folder
    holding the ``data_batch_{1..5}.bin`` / ``test_batch.bin`` files — under ``<root>/cifar-10/``
    or ``<root>``. Failing that it reads the official *python version* that torchvision
    downloads (``cifar-10-batches-py/`` or ``cifar-10-python.tar.gz``), whose batches are
    pickles: they are checked against their official MD5s and then unpickled by a data-only
    unpickler that refuses anything but lists, dicts, strings and NumPy arrays
    (:class:`fastnn.data._formats.DataOnlyUnpickler`). ``download=True`` fetches the binary version.

    Citation: A. Krizhevsky, *Learning Multiple Layers of Features from Tiny Images*, 2009.
    """

    name = "CIFAR10"
    subdir = "cifar-10"
    archive = "cifar-10-binary.tar.gz"
    archive_md5 = "c32a1d4ab5d03f1284b67883e8d87530"
    archive_dir = "cifar-10-batches-bin"
    classes = ["airplane", "automobile", "bird", "cat", "deer",
               "dog", "frog", "horse", "ship", "truck"]
    checksums = {
        "data_batch_1.bin": "5dd7e06a14cb22eb9f671a540d1b7c25",
        "data_batch_2.bin": "5ea93a67294ea407fff1d09f752e9692",
        "data_batch_3.bin": "942cd6a4bcdd0dd3c604fbe906cb4421",
        "data_batch_4.bin": "ae636b3ba5c66a11e91e8cb52e771fcb",
        "data_batch_5.bin": "53f37980c15c3d472c316c40844f3f0d",
        "test_batch.bin": "803d5f7f4d78ea53de84dbe85f74fb6d",
    }
    # the python version, as published on the data set's page (and used by torchvision)
    python_archive = "cifar-10-python.tar.gz"
    python_archive_md5 = "c58f30108f718f92721af3b95e74349a"
    python_dir = "cifar-10-batches-py"
    python_checksums = {
        "data_batch_1": "c99cafc152244af753f735de768cd75f",
        "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
        "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
        "data_batch_4": "634d18415352ddfa80567beed471001a",
        "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
        "test_batch": "40351d587109b95175f43aff81a1287e",
    }
    records_per_file = 10000

    @staticmethod
    def _stems(train: bool) -> list[str]:
        return [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]

    @classmethod
    def _binary(cls) -> _CifarFormat:
        files = {t: [s + ".bin" for s in cls._stems(t)] for t in (True, False)}
        return _CifarFormat("binary version", cls.archive_dir, cls.archive, cls.archive_md5, cls.checksums,
                            files, parse_cifar_bin, in_subdir=True, in_root=True)

    @classmethod
    def _python(cls) -> _CifarFormat:
        files = {t: cls._stems(t) for t in (True, False)}
        return _CifarFormat("python version", cls.python_dir, cls.python_archive, cls.python_archive_md5,
                            cls.python_checksums, files, parse_cifar_python)

    def _count(self, name: str, train: bool) -> int:
        return self.records_per_file


class CIFAR100(_CIFAR):
    """CIFAR-100: 50,000 train / 10,000 test colour images, 3x32x32 uint8, 100 classes in 20 superclasses.

    ``targets`` are the *fine* labels (0-99, named by ``classes``), as torchvision's CIFAR100;
    ``coarse_targets`` (0-19, named by ``coarse_classes``) are fastnn's addition.

    Reads the official *binary version* — ``cifar-100-binary.tar.gz`` (MD5-checked, its
    ``train.bin`` / ``test.bin`` extracted next to it on first use) or the ``cifar-100-binary/``
    folder fastnn extracted from it — and the official *python version* that torchvision
    downloads: ``cifar-100-python/`` (``train``, ``test``; MD5-checked, then unpickled data-only)
    or ``cifar-100-python.tar.gz``; under ``<root>/cifar-100/`` or ``<root>``. No MD5 is
    published for the extracted binary files, so a ``train.bin`` that did not come out of the
    verified archive is refused with a message saying what to do. ``download=True`` fetches
    the binary version.

    Citation: A. Krizhevsky, *Learning Multiple Layers of Features from Tiny Images*, 2009.
    """

    name = "CIFAR100"
    subdir = "cifar-100"
    # MD5s of the archives as published on the data set's page; of the python files, torchvision's
    archive = "cifar-100-binary.tar.gz"
    archive_md5 = "03b5dce01913d631647c71ecec9e9cb8"
    archive_dir = "cifar-100-binary"
    checksums: dict[str, str | None] = {"train.bin": None, "test.bin": None}   # none published
    python_archive = "cifar-100-python.tar.gz"
    python_archive_md5 = "eb9058c3a382ffc7106e4002c42a8d85"
    python_dir = "cifar-100-python"
    python_checksums = {"train": "16019d7e3df5f24257cddd939b257f8d", "test": "f0ef6b0ae62326f3e7ffdfab6717acfc"}
    counts = {True: 50000, False: 10000}
    # torchvision reads these from the python version's ``meta`` file (fine_label_names)
    classes = [
        "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
        "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
        "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
        "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
        "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle",
        "mountain", "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear",
        "pickup_truck", "pine_tree", "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon",
        "ray", "road", "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail",
        "snake", "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone",
        "television", "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale",
        "willow_tree", "wolf", "woman", "worm",
    ]
    coarse_classes = [
        "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
        "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
        "large_man-made_outdoor_things", "large_natural_outdoor_scenes", "large_omnivores_and_herbivores",
        "medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals", "trees",
        "vehicles_1", "vehicles_2",
    ]

    @classmethod
    def _binary(cls) -> _CifarFormat:
        return _CifarFormat("binary version", cls.archive_dir, cls.archive, cls.archive_md5, cls.checksums,
                            {True: ["train.bin"], False: ["test.bin"]}, parse_cifar100_bin, in_subdir=True)

    @classmethod
    def _python(cls) -> _CifarFormat:
        return _CifarFormat("python version", cls.python_dir, cls.python_archive, cls.python_archive_md5,
                            cls.python_checksums, {True: ["train"], False: ["test"]}, parse_cifar100_python)

    def _count(self, name: str, train: bool) -> int:
        return self.counts[bool(train)]

    def _extra_columns(self, columns) -> None:
        (self.coarse_targets,) = columns
