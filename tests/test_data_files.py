"""Data set files: parsers, checksums, verification cache, downloads, and the real MNIST / CIFAR-10.

Real-data tests read $FASTNN_DATA (mnist/*.gz, cifar-10/*.bin); they are skipped when it is unset
or incomplete, unless FASTNN_REQUIRE_DATA=1, which turns the skip into a failure.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest

from fastnn.data import CIFAR10, MNIST, DataLoader, DatasetError, DatasetNotFoundError, FashionMNIST
from fastnn.data import _storage
from fastnn.data import datasets as ds_mod
from fastnn.data import transforms as T

REPO = Path(__file__).resolve().parent.parent
MNIST_FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
CIFAR_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


@pytest.fixture(autouse=True, scope="module")
def private_verify_cache(tmp_path_factory):
    """Keep verification records of this test module out of ~/.cache."""
    mp = pytest.MonkeyPatch()
    mp.setattr(_storage, "VERIFY_CACHE_DIR", tmp_path_factory.mktemp("verified"))
    _storage._verified_in_process.clear()
    yield
    _storage._verified_in_process.clear()
    mp.undo()


def real_root(sub: str, files: list[str]) -> Path:
    root = os.environ.get("FASTNN_DATA", "")
    missing = [f for f in files if not root or not (Path(root) / sub / f).is_file()]
    if missing:
        why = (f"FASTNN_DATA is not set" if not root
               else f"{len(missing)} {sub} file(s) missing under {root}/{sub}/ (e.g. {missing[0]})")
        if os.environ.get("FASTNN_REQUIRE_DATA") == "1":
            pytest.fail(f"real data required (FASTNN_REQUIRE_DATA=1) but {why}")
        pytest.skip(f"real data not available: {why}")
    return Path(root)


# ---------------------------------------------------------------------------------------------
# synthetic files
# ---------------------------------------------------------------------------------------------
def idx_bytes(arr: np.ndarray, magic: int | None = None, count: int | None = None) -> bytes:
    arr = np.asarray(arr, dtype=np.uint8)
    m = magic if magic is not None else (0x800 | arr.ndim)
    dims = list(arr.shape)
    if count is not None:
        dims[0] = count
    return m.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims) + arr.tobytes()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def write_mnist_split(folder: Path, n=4, train=False, images=None, labels=None, gz=True, seed=0):
    """Write a small IDX image/label pair; returns {stem: bytes written} (gzipped if gz)."""
    rng = np.random.default_rng(seed)
    prefix = "train" if train else "t10k"
    images = idx_bytes(rng.integers(0, 256, (n, 28, 28))) if images is None else images
    labels = idx_bytes(rng.integers(0, 10, n)) if labels is None else labels
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for stem, raw in ((f"{prefix}-images-idx3-ubyte", images), (f"{prefix}-labels-idx1-ubyte", labels)):
        data = gzip.compress(raw, mtime=0) if gz else raw
        (folder / (stem + (".gz" if gz else ""))).write_bytes(data)
        out[stem] = data
    return out


@pytest.fixture
def small_mnist(monkeypatch):
    """Let MNIST accept 4-record test files whose checksums are put in the table."""
    table = dict(MNIST.checksums)
    monkeypatch.setattr(MNIST, "counts", {True: 6, False: 4})
    monkeypatch.setattr(MNIST, "checksums", table)

    def trust(written: dict, gz=True):
        for stem, data in written.items():
            table[stem] = (md5(data), None) if gz else (None, md5(data))
    return trust


def test_synthetic_mnist_loads(tmp_path, small_mnist):
    rng = np.random.default_rng(0)
    imgs, labs = rng.integers(0, 256, (4, 28, 28)), np.array([3, 1, 4, 1])
    small_mnist(write_mnist_split(tmp_path / "mnist", images=idx_bytes(imgs), labels=idx_bytes(labs)))
    ds = MNIST(root=tmp_path, train=False)
    assert ds.data.shape == (4, 1, 28, 28) and ds.data.dtype == np.uint8 and ds.data.flags.writeable
    np.testing.assert_array_equal(ds.data[:, 0], imgs)
    np.testing.assert_array_equal(ds.targets, labs)
    assert ds.targets.dtype == np.int64
    x, y = ds[2]
    assert x.shape == (1, 28, 28) and y == 4


def test_raw_idx_files_accepted_and_fashion_raw_refused(tmp_path, small_mnist):
    small_mnist(write_mnist_split(tmp_path / "mnist", gz=False), gz=False)
    assert len(MNIST(root=tmp_path, train=False)) == 4
    write_mnist_split(tmp_path / "fashion-mnist", gz=False)
    with pytest.raises(DatasetError, match="no official checksum"):
        FashionMNIST(root=tmp_path, train=False)


def test_torchvision_layout_and_env_root(tmp_path, small_mnist, monkeypatch):
    small_mnist(write_mnist_split(tmp_path / "MNIST" / "raw"))
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path))
    ds = MNIST(train=False)
    assert ds.root == tmp_path and "MNIST/raw" in str(ds.files[0])


def test_truncated_idx(tmp_path, small_mnist):
    img = idx_bytes(np.zeros((4, 28, 28)))
    small_mnist(write_mnist_split(tmp_path / "mnist", images=img[:-100]))
    with pytest.raises(DatasetError, match="truncated") as e:
        MNIST(root=tmp_path, train=False)
    assert "t10k-images-idx3-ubyte.gz" in str(e.value)


def test_wrong_magic(tmp_path, small_mnist):
    small_mnist(write_mnist_split(tmp_path / "mnist", labels=idx_bytes(np.zeros(4), magic=2051)))
    with pytest.raises(DatasetError, match="wrong magic number 2051") as e:
        MNIST(root=tmp_path, train=False)
    assert "t10k-labels-idx1-ubyte.gz" in str(e.value)


def test_wrong_record_count(tmp_path, small_mnist):
    rng = np.random.default_rng(0)
    small_mnist(write_mnist_split(tmp_path / "mnist", images=idx_bytes(rng.integers(0, 9, (3, 28, 28))),
                                  labels=idx_bytes(rng.integers(0, 9, 3))))
    with pytest.raises(DatasetError, match="holds 3 records, expected 4"):
        MNIST(root=tmp_path, train=False)


def test_trailing_bytes_and_bad_labels(tmp_path, small_mnist):
    small_mnist(write_mnist_split(tmp_path / "a" / "mnist", labels=idx_bytes(np.zeros(4)) + b"xx"))
    with pytest.raises(DatasetError, match="unexpected bytes"):
        MNIST(root=tmp_path / "a", train=False)
    small_mnist(write_mnist_split(tmp_path / "b" / "mnist", labels=idx_bytes(np.array([1, 2, 10, 3]))))
    with pytest.raises(DatasetError, match="out of range"):
        MNIST(root=tmp_path / "b", train=False)


def test_checksum_mismatch_names_the_file(tmp_path):
    write_mnist_split(tmp_path / "mnist")  # real table: these bytes are not the official files
    with pytest.raises(DatasetError, match="checksum mismatch") as e:
        MNIST(root=tmp_path, train=False)
    assert str(tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz") in str(e.value)
    assert MNIST.checksums["t10k-images-idx3-ubyte"][0] in str(e.value)


def test_corrupt_and_truncated_gzip(tmp_path, small_mnist):
    written = write_mnist_split(tmp_path / "mnist")
    stem = "t10k-images-idx3-ubyte"
    gz = bytearray(written[stem])
    gz[len(gz) // 2] ^= 0xFF  # flip a byte inside the deflate stream
    (tmp_path / "mnist" / f"{stem}.gz").write_bytes(bytes(gz))
    small_mnist({**written, stem: bytes(gz)})
    with pytest.raises(DatasetError, match="gzip") as e:
        MNIST(root=tmp_path, train=False)
    assert f"{stem}.gz" in str(e.value)
    cut = written[stem][: len(written[stem]) // 2]
    (tmp_path / "mnist" / f"{stem}.gz").write_bytes(cut)
    small_mnist({stem: cut})
    with pytest.raises(DatasetError, match="truncated"):
        MNIST(root=tmp_path, train=False)


def test_missing_files_error_lists_paths_and_urls(tmp_path, monkeypatch):
    monkeypatch.delenv("FASTNN_DATA", raising=False)
    with pytest.raises(DatasetNotFoundError) as e:
        MNIST(root=tmp_path, train=True)
    msg = str(e.value)
    assert isinstance(e.value, FileNotFoundError) and isinstance(e.value, DatasetError)
    for p in (tmp_path / "mnist", tmp_path / "MNIST" / "raw", tmp_path):
        assert str(p) in msg
    assert "train-images-idx3-ubyte.gz" in msg and "FASTNN_DATA" in msg and "download=True" in msg
    assert MNIST.mirrors[0] in msg
    with pytest.raises(DatasetNotFoundError) as e:
        CIFAR10(root=tmp_path, train=False)
    msg = str(e.value)
    assert str(tmp_path / "cifar-10") in msg and "cifar-10-binary.tar.gz" in msg and "test_batch.bin" in msg


def test_verification_is_cached(tmp_path, small_mnist, monkeypatch):
    small_mnist(write_mnist_split(tmp_path / "mnist"))
    MNIST(root=tmp_path, train=False)
    records = list(Path(_storage.VERIFY_CACHE_DIR).glob("t10k-images-idx3-ubyte.gz.*.verified"))
    assert records and not list((tmp_path / "mnist").glob("*.verified"))  # never in the data folder
    _storage._verified_in_process.clear()

    def no_hashing(*a, **k):
        raise AssertionError("re-hashed a verified file")
    monkeypatch.setattr(_storage.hashlib, "md5", no_hashing)
    MNIST(root=tmp_path, train=False)  # served by the on-disk record
    f = tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz"
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 9))  # "modified": must hash again
    with pytest.raises(AssertionError, match="re-hashed"):
        MNIST(root=tmp_path, train=False)


# ---------------------------------------------------------------------------------------------
# download (file:// mirrors: no network needed)
# ---------------------------------------------------------------------------------------------
def test_download_tries_mirrors_and_writes_atomically(tmp_path, small_mnist, monkeypatch):
    good, bad = tmp_path / "good", tmp_path / "bad"
    small_mnist(write_mnist_split(good))
    bad.mkdir()
    (bad / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not the file")  # served, but wrong checksum
    monkeypatch.setattr(MNIST, "mirrors", [bad.as_uri() + "/", good.as_uri() + "/"])
    root = tmp_path / "root"
    with pytest.raises(DatasetNotFoundError):
        MNIST(root=root, train=False)  # download=False: nothing fetched
    ds = MNIST(root=root, train=False, download=True)
    assert len(ds) == 4
    files = sorted(p.name for p in (root / "mnist").iterdir())
    assert files == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]  # no temp files left
    assert (root / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes() == (good / "t10k-labels-idx1-ubyte.gz").read_bytes()


def test_download_failure_reports_every_attempt(tmp_path, monkeypatch):
    monkeypatch.setattr(MNIST, "mirrors", [(tmp_path / "nowhere").as_uri() + "/"])
    with pytest.raises(DatasetNotFoundError) as e:
        MNIST(root=tmp_path / "root", train=False, download=True)
    msg = str(e.value)
    assert "Download failed" in msg and "nowhere/t10k-images-idx3-ubyte.gz" in msg
    assert not any((tmp_path / "root" / "mnist").glob("*"))


# ---------------------------------------------------------------------------------------------
# CIFAR-10 format
# ---------------------------------------------------------------------------------------------
def cifar_bytes(labels, seed=0) -> bytes:
    rng = np.random.default_rng(seed)
    rec = np.empty((len(labels), 3073), np.uint8)
    rec[:, 0] = labels
    rec[:, 1:] = rng.integers(0, 256, (len(labels), 3072))
    return rec.tobytes()


@pytest.fixture
def small_cifar(monkeypatch):
    table = dict(CIFAR10.checksums)
    monkeypatch.setattr(CIFAR10, "records_per_file", 5)
    monkeypatch.setattr(CIFAR10, "checksums", table)
    return table


def test_cifar_synthetic_folder_layouts(tmp_path, small_cifar):
    data = cifar_bytes([0, 9, 3, 3, 1])
    small_cifar["test_batch.bin"] = md5(data)
    d = tmp_path / "cifar-10" / "cifar-10-batches-bin"
    d.mkdir(parents=True)
    (d / "test_batch.bin").write_bytes(data)
    ds = CIFAR10(root=tmp_path, train=False)
    assert ds.data.shape == (5, 3, 32, 32) and ds.targets.tolist() == [0, 9, 3, 3, 1]
    rec = np.frombuffer(data, np.uint8).reshape(5, 3073)
    np.testing.assert_array_equal(ds.data[1, 2].ravel(), rec[1, 1 + 2048:])  # blue plane of image 1
    assert ds.classes[9] == "truck"


def test_cifar_truncated_count_labels_checksum(tmp_path, small_cifar):
    d = tmp_path / "cifar-10"
    d.mkdir()
    cases = [(cifar_bytes([1] * 5)[:-7], "truncated"), (cifar_bytes([1] * 4), "holds 4 records, expected 5"),
             (cifar_bytes([1, 2, 12, 0, 0]), "out of range")]
    for data, err in cases:
        (d / "test_batch.bin").write_bytes(data)
        small_cifar["test_batch.bin"] = md5(data)
        with pytest.raises(DatasetError, match=err) as e:
            CIFAR10(root=tmp_path, train=False)
        assert "test_batch.bin" in str(e.value)
    small_cifar["test_batch.bin"] = "0" * 32
    with pytest.raises(DatasetError, match="checksum mismatch"):
        CIFAR10(root=tmp_path, train=False)


def test_cifar_from_tar_archive(tmp_path, small_cifar, monkeypatch):
    data = cifar_bytes([4, 4, 2, 7, 0], seed=3)
    small_cifar["test_batch.bin"] = md5(data)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, payload in (("cifar-10-batches-bin/test_batch.bin", data),
                              ("cifar-10-batches-bin/readme.html", b"<html>")):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    archive = buf.getvalue()
    monkeypatch.setattr(CIFAR10, "archive_md5", md5(archive))
    (tmp_path / "cifar-10").mkdir()
    (tmp_path / "cifar-10" / "cifar-10-binary.tar.gz").write_bytes(archive)
    ds = CIFAR10(root=tmp_path, train=False)
    assert ds.targets.tolist() == [4, 4, 2, 7, 0]
    extracted = tmp_path / "cifar-10" / "cifar-10-batches-bin" / "test_batch.bin"
    assert extracted.read_bytes() == data  # extracted for next time
    assert not (tmp_path / "cifar-10" / "cifar-10-batches-bin" / "readme.html").exists()
    assert CIFAR10(root=tmp_path, train=False).files == [extracted]
    # a corrupt archive is refused
    extracted.unlink()
    (tmp_path / "cifar-10" / "cifar-10-binary.tar.gz").write_bytes(archive[:-50])
    with pytest.raises(DatasetError, match="cifar-10-binary.tar.gz"):
        CIFAR10(root=tmp_path, train=False)


# ---------------------------------------------------------------------------------------------
# real files ($FASTNN_DATA)
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mnist_real():
    root = real_root("mnist", MNIST_FILES)
    return MNIST(root=root, train=True), MNIST(root=root, train=False)


@pytest.fixture(scope="module")
def cifar_real():
    root = real_root("cifar-10", CIFAR_FILES)
    return CIFAR10(root=root, train=True), CIFAR10(root=root, train=False)


def test_real_mnist(mnist_real):
    train, test = mnist_real
    assert train.data.shape == (60000, 1, 28, 28) and test.data.shape == (10000, 1, 28, 28)
    assert train.data.dtype == np.uint8 and train.targets.dtype == np.int64
    hist = np.bincount(train.targets, minlength=10)
    assert hist.sum() == 60000 and len(hist) == 10 and hist.min() >= 5000 and hist.max() <= 7000
    assert np.bincount(test.targets, minlength=10).sum() == 10000
    assert train.targets[:5].tolist() == [5, 0, 4, 1, 9]  # the famous first digits
    assert test.targets[:3].tolist() == [7, 2, 1]
    assert train.data.max() == 255 and train.data.min() == 0
    # a full shuffled epoch through the array-backed path
    loader = DataLoader(train, batch_size=1000, shuffle=True, seed=0, transform=T.ToFloat())
    seen = np.zeros(10, np.int64)
    for xb, yb in loader:
        seen += np.bincount(yb.numpy(), minlength=10)
    np.testing.assert_array_equal(seen, hist)


def test_real_cifar(cifar_real):
    train, test = cifar_real
    assert train.data.shape == (50000, 3, 32, 32) and test.data.shape == (10000, 3, 32, 32)
    assert train.data.dtype == np.uint8 and test.targets.dtype == np.int64
    assert np.bincount(train.targets, minlength=10).tolist() == [5000] * 10
    assert np.bincount(test.targets, minlength=10).tolist() == [1000] * 10
    assert train.classes[train.targets[0]] == "frog" and test.classes[test.targets[0]] == "cat"
    root = Path(os.environ["FASTNN_DATA"]) / "cifar-10"
    if (root / "batches.meta.txt").is_file():
        names = (root / "batches.meta.txt").read_text().split()
        assert names == CIFAR10.classes


def test_mini_mnist_build_is_reproducible(mnist_real, tmp_path):
    real_root("mnist", MNIST_FILES)
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_mnist_mini", REPO / "scripts" / "make_mnist_mini.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "mini.npz"
    assert mod.main(["--root", os.environ["FASTNN_DATA"], "--out", str(out)]) == 0
    data = out.read_bytes()
    assert hashlib.sha256(data).hexdigest() == ds_mod.MNIST_MINI_SHA256
    assert data == (REPO / "fastnn" / "data" / "_embedded" / "mnist_mini.npz").read_bytes()
    # and it really is a subset of the official data
    train, test = mnist_real
    with np.load(out, allow_pickle=False) as z:
        np.testing.assert_array_equal(z["x_train"], train.data[z["idx_train"]])
        np.testing.assert_array_equal(z["y_test"], test.targets[z["idx_test"]])
        assert np.all(np.diff(z["idx_train"]) > 0)
