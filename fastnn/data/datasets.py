"""MNIST, Fashion-MNIST and CIFAR-10, read from their official files; the embedded mini-MNIST.

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
``$FASTNN_DATA``, else ``~/.cache/fastnn``, and ``<sub>`` is ``mnist``, ``fashion-mnist`` or
``cifar-10`` (torchvision's ``<root>/MNIST/raw/`` layout and ``<root>`` itself are searched
too). Every file's MD5 is checked against the official value (once; see ``_storage``).
"""
from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

import numpy as np

from ._formats import (IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, check_labels, gunzip, parse_cifar_bin,
                       parse_idx)
from ._storage import (DatasetError, DatasetNotFoundError, atomic_write_bytes, data_root, download,
                       is_verified, not_found_message, read_verified, record_verified)
from .dataset import ArrayDataset

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "mnist_mini"]

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
# CIFAR-10 (binary version)
# ---------------------------------------------------------------------------------------
class CIFAR10(_ImageDataset):
    """CIFAR-10: 50,000 train / 10,000 test colour images, 3x32x32 uint8, 10 classes.

    Reads the official *binary version*: ``cifar-10-binary.tar.gz`` (its members are extracted
    next to it on first use), its extracted ``cifar-10-batches-bin/`` folder, or a folder
    holding the ``data_batch_{1..5}.bin`` / ``test_batch.bin`` files, under ``<root>/cifar-10/``.

    Citation: A. Krizhevsky, *Learning Multiple Layers of Features from Tiny Images*, 2009.
    """

    name = "CIFAR10"
    subdir = "cifar-10"
    archive = "cifar-10-binary.tar.gz"
    archive_md5 = "c32a1d4ab5d03f1284b67883e8d87530"
    archive_dir = "cifar-10-batches-bin"
    mirrors = ["https://www.cs.toronto.edu/~kriz/"]
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
    records_per_file = 10000

    def __init__(self, root=None, train: bool = True, download: bool = False, transform=None,
                 target_transform=None):
        self.train = bool(train)
        self.root = data_root(root)
        images, labels, self.files = self._load(self.root, self.train, download)
        super().__init__(images, labels, transform=transform, target_transform=target_transform)

    @classmethod
    def _names(cls, train: bool) -> list[str]:
        return [f"data_batch_{i}.bin" for i in range(1, 6)] if train else ["test_batch.bin"]

    @classmethod
    def search_dirs(cls, root: Path) -> list[Path]:
        sub = root / cls.subdir
        return [sub, sub / cls.archive_dir, root / cls.archive_dir, root]

    @classmethod
    def archive_paths(cls, root: Path) -> list[Path]:
        return [root / cls.subdir / cls.archive, root / cls.archive]

    def _load(self, root: Path, train: bool, download_: bool):
        names = self._names(train)
        blobs = self._locate(root, names, download_)
        images, labels = [], []
        for name in names:
            path, data = blobs[name]
            x, y = parse_cifar_bin(data, path, self.records_per_file, len(self.classes))
            images.append(x)
            labels.append(y)
        return np.concatenate(images), np.concatenate(labels), [blobs[n][0] for n in names]

    def _locate(self, root: Path, names: list[str], download_: bool) -> dict[str, tuple[Path, bytes]]:
        """name -> (path, verified bytes) for every needed batch file."""
        for d in self.search_dirs(root):
            if all((d / n).is_file() for n in names):
                return {n: (d / n, read_verified(d / n, self.checksums[n], what="CIFAR-10 batch file"))
                        for n in names}
        errors: list[str] = []
        archive = next((p for p in self.archive_paths(root) if p.is_file()), None)
        if archive is None and download_:
            archive, errors = download(self.archive, self.archive_md5, self.mirrors, root / self.subdir)
        if archive is None:
            looked = self.search_dirs(root) + self.archive_paths(root)
            raise DatasetNotFoundError(not_found_message(
                self.name, looked, names + [f"(or {self.archive})"],
                [m + self.archive for m in self.mirrors], self.subdir, errors, download_tried=download_))
        return self._from_archive(archive, names)

    def _from_archive(self, archive: Path, names: list[str]) -> dict[str, tuple[Path, bytes]]:
        if not is_verified(archive, self.archive_md5):
            raise DatasetError(f"checksum mismatch for {archive}: its MD5 is not the official "
                               f"{self.archive_md5}. The archive is corrupt, truncated or not the "
                               "official one: delete it and download it again.")
        out_dir = archive.parent / self.archive_dir
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
                    if got != self.checksums[name]:
                        raise DatasetError(f"{archive}: member {name} has MD5 {got}, "
                                           f"expected {self.checksums[name]}")
                    target = out_dir / name
                    try:  # extract (only the files we know, by basename: no path games) for next time
                        atomic_write_bytes(target, data)
                        record_verified(target, self.checksums[name])
                    except OSError:
                        target = archive  # read-only folder: read from the archive every time
                    out[name] = (target, data)
        except (tarfile.TarError, EOFError, OSError) as e:
            raise DatasetError(f"{archive}: cannot read the tar.gz archive ({e})") from e
        return out
