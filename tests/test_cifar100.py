"""CIFAR-100: the binary and python versions, torchvision's folder layouts, checksums, messages.

CIFAR-100 is not on disk here and nothing can be downloaded, so every test writes small
synthetic files in the official formats (binary: coarse byte, fine byte, 3072 pixel bytes per
record; python: a pickled dict with data / fine_labels / coarse_labels) and patches the
expected record counts and MD5s to theirs.
"""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile

import numpy as np
import pytest

from fastnn.data import DatasetError, DatasetNotFoundError, _formats, _storage
from fastnn.data.datasets import CIFAR100 as ArrayCIFAR100
from fastnn.utils.data import DataLoader
from fastnn.vision import datasets, transforms as T


@pytest.fixture(autouse=True)
def private_verify_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(_storage, "VERIFY_CACHE_DIR", tmp_path / "verified")
    monkeypatch.setattr(_storage, "_verified_in_process", set())


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def records(n, seed=0):
    """``(pixels (n, 3072) uint8, fine (n,), coarse (n,))`` drawn at random."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (n, 3072), dtype=np.uint8), rng.integers(0, 100, n), rng.integers(0, 20, n))


def binary_bytes(pixels, fine, coarse) -> bytes:
    rec = np.empty((len(fine), 3074), np.uint8)
    rec[:, 0], rec[:, 1], rec[:, 2:] = coarse, fine, pixels
    return rec.tobytes()


def python_bytes(pixels, fine, coarse, protocol=2) -> bytes:
    batch = {"filenames": [f"img_{i}.png" for i in range(len(fine))], "batch_label": "testing batch 1 of 1",
             "fine_labels": [int(v) for v in fine], "coarse_labels": [int(v) for v in coarse], "data": pixels}
    return pickle.dumps(batch, protocol=protocol)


def tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


@pytest.fixture
def small(monkeypatch):
    """CIFAR-100 with 6 train / 4 test records; the python MD5 table patched per test."""
    table = dict(ArrayCIFAR100.python_checksums)
    monkeypatch.setattr(ArrayCIFAR100, "counts", {True: 6, False: 4})
    monkeypatch.setattr(ArrayCIFAR100, "python_checksums", table)
    return table


def expected_hwc(pixels):
    return pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


# ---------------------------------------------------------------------------------------------
# the published constants (torchvision's cifar.py and the data set's page)
# ---------------------------------------------------------------------------------------------
def test_official_checksums_names_and_classes():
    assert ArrayCIFAR100.python_archive == "cifar-100-python.tar.gz"
    assert ArrayCIFAR100.python_archive_md5 == "eb9058c3a382ffc7106e4002c42a8d85"
    assert ArrayCIFAR100.python_checksums == {"train": "16019d7e3df5f24257cddd939b257f8d",
                                              "test": "f0ef6b0ae62326f3e7ffdfab6717acfc"}
    assert ArrayCIFAR100.archive == "cifar-100-binary.tar.gz"
    assert ArrayCIFAR100.archive_md5 == "03b5dce01913d631647c71ecec9e9cb8"
    classes = ArrayCIFAR100.classes
    assert len(classes) == 100 == len(set(classes)) and classes == sorted(classes)    # meta's fine_label_names
    assert classes[0] == "apple" and classes[99] == "worm" and classes[30] == "dolphin"
    coarse = ArrayCIFAR100.coarse_classes
    assert len(coarse) == 20 and coarse == sorted(coarse) and coarse[-1] == "vehicles_2"


# ---------------------------------------------------------------------------------------------
# python version (torchvision's download)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
@pytest.mark.parametrize("layout", ["cifar-100-python", "cifar-100/cifar-100-python"])
def test_python_folder(tmp_path, small, protocol, layout):
    pixels, fine, coarse = records(4, seed=protocol)
    raw = python_bytes(pixels, fine, coarse, protocol)
    small["test"] = md5(raw)
    folder = tmp_path / layout
    folder.mkdir(parents=True)
    (folder / "test").write_bytes(raw)
    ds = datasets.CIFAR100(tmp_path, train=False)
    assert len(ds) == 4 and ds.files == [folder / "test"]
    assert ds.targets == fine.tolist() and all(type(t) is int for t in ds.targets)     # the fine labels
    assert ds.coarse_targets == coarse.tolist()
    assert ds.data.shape == (4, 32, 32, 3) and ds.data.dtype == np.uint8
    np.testing.assert_array_equal(ds.data, expected_hwc(pixels))
    img, label = ds[2]
    assert label == fine[2] and img.shape == (32, 32, 3) and img.flags.c_contiguous
    np.testing.assert_array_equal(img, expected_hwc(pixels)[2])
    assert ds.class_to_idx["apple"] == 0 and ds.classes[label] == ArrayCIFAR100.classes[fine[2]]
    arr = ArrayCIFAR100(tmp_path, train=False)                                        # the array-backed reader
    np.testing.assert_array_equal(arr.data, pixels.reshape(4, 3, 32, 32))
    assert arr.targets.tolist() == fine.tolist() and arr.coarse_targets.tolist() == coarse.tolist()


def test_python_archive_is_verified_and_extracted(tmp_path, small, monkeypatch):
    pixels, fine, coarse = records(6, seed=5)
    raw = python_bytes(pixels, fine, coarse)
    small["train"] = md5(raw)
    archive = tar_gz({"cifar-100-python/train": raw, "cifar-100-python/meta": b"x", "cifar-100-python/test": b"y"})
    monkeypatch.setattr(ArrayCIFAR100, "python_archive_md5", md5(archive))
    (tmp_path / "cifar-100-python.tar.gz").write_bytes(archive)
    ds = datasets.CIFAR100(tmp_path, train=True)
    assert ds.targets == fine.tolist()
    assert (tmp_path / "cifar-100-python" / "train").read_bytes() == raw         # extracted for next time
    assert not (tmp_path / "cifar-100-python" / "meta").exists()                 # only what was asked for
    # a wrong archive is refused before anything is unpickled
    (tmp_path / "cifar-100-python" / "train").unlink()
    (tmp_path / "cifar-100-python.tar.gz").write_bytes(archive[:-10])
    with pytest.raises(DatasetError, match="checksum mismatch .*cifar-100-python.tar.gz"):
        datasets.CIFAR100(tmp_path, train=True)


def test_python_file_checksum_and_format_errors(tmp_path, small, monkeypatch):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    pixels, fine, coarse = records(4)
    raw = python_bytes(pixels, fine, coarse)
    (folder / "test").write_bytes(raw)                                        # MD5 not the official one
    unpickled = []
    monkeypatch.setattr(_formats, "load_data_pickle", lambda *a: unpickled.append(a))
    with pytest.raises(DatasetError, match="checksum mismatch"):
        datasets.CIFAR100(tmp_path, train=False)
    assert unpickled == []
    monkeypatch.undo()
    small = dict(ArrayCIFAR100.python_checksums)
    monkeypatch.setattr(ArrayCIFAR100, "counts", {True: 6, False: 4})
    monkeypatch.setattr(ArrayCIFAR100, "python_checksums", small)
    bad_fine, bad_coarse = fine.copy(), coarse.copy()
    bad_fine[1], bad_coarse[2] = 100, 20
    cases = [(python_bytes(pixels, bad_fine, coarse), "fine_labels out of range 0..99"),
             (python_bytes(pixels, fine, bad_coarse), "coarse_labels out of range 0..19"),
             (python_bytes(*records(3)), "holds 3 records, expected 4"),
             (pickle.dumps({"data": pixels, "labels": fine.tolist()}, protocol=2), "'fine_labels'"),
             (pickle.dumps({"data": pixels, "fine_labels": fine[:3].tolist(), "coarse_labels": coarse.tolist()}),
              "4 images but 3 fine_labels")]
    for data, err in cases:
        (folder / "test").write_bytes(data)
        small["test"] = md5(data)
        with pytest.raises(DatasetError, match=err) as e:
            datasets.CIFAR100(tmp_path, train=False)
        assert "test" in str(e.value)


def test_malicious_python_file_is_refused(tmp_path, small):
    marker = tmp_path / "pwned"

    class RunsCode:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    evil = pickle.dumps({"data": np.zeros((1, 3072), np.uint8), "fine_labels": [RunsCode()],
                         "coarse_labels": [0]}, protocol=2)
    small["test"] = md5(evil)                                               # even a "trusted" file
    (tmp_path / "cifar-100-python").mkdir()
    (tmp_path / "cifar-100-python" / "test").write_bytes(evil)
    with pytest.raises(_formats.UnsafePickleError, match="refusing to load .*system"):
        datasets.CIFAR100(tmp_path, train=False)
    assert not marker.exists()


# ---------------------------------------------------------------------------------------------
# binary version
# ---------------------------------------------------------------------------------------------
def test_binary_parser_layout():
    pixels, fine, coarse = records(5, seed=1)
    x, f, c = _formats.parse_cifar100_bin(binary_bytes(pixels, fine, coarse), "train.bin", count=5)
    assert x.shape == (5, 3, 32, 32) and x.dtype == np.uint8 and f.dtype == c.dtype == np.int64
    np.testing.assert_array_equal(x[3, 1].ravel(), pixels[3, 1024:2048])               # green plane, row-major
    assert f.tolist() == fine.tolist() and c.tolist() == coarse.tolist()
    data = binary_bytes(pixels, fine, coarse)
    with pytest.raises(DatasetError, match="truncated or padded"):
        _formats.parse_cifar100_bin(data[:-1], "train.bin")
    with pytest.raises(DatasetError, match="holds 5 records, expected 4"):
        _formats.parse_cifar100_bin(data, "train.bin", count=4)
    bad = bytearray(data)
    bad[0] = 20                                                      # coarse label of record 0
    with pytest.raises(DatasetError, match="coarse label 20 out of range"):
        _formats.parse_cifar100_bin(bytes(bad), "train.bin")
    bad = bytearray(data)
    bad[3074 + 1] = 150                                              # fine label of record 1
    with pytest.raises(DatasetError, match="fine label 150 out of range"):
        _formats.parse_cifar100_bin(bytes(bad), "train.bin")
    cifar10 = np.zeros((3074, 3073), np.uint8).tobytes()             # 3074 CIFAR-10 records: a multiple of both
    assert len(_formats.parse_cifar100_bin(cifar10, "x")[0]) == 3073
    with pytest.raises(DatasetError, match="CIFAR-10 batch"):
        _formats.parse_cifar100_bin(np.zeros((5, 3073), np.uint8).tobytes(), "data_batch_1.bin")


def make_binary_archive(tmp_path, monkeypatch, where="cifar-100"):
    train, test = records(6, seed=2), records(4, seed=3)
    members = {"cifar-100-binary/train.bin": binary_bytes(*train), "cifar-100-binary/test.bin": binary_bytes(*test),
               "cifar-100-binary/fine_label_names.txt": "\n".join(ArrayCIFAR100.classes).encode()}
    archive = tar_gz(members)
    monkeypatch.setattr(ArrayCIFAR100, "archive_md5", md5(archive))
    path = tmp_path / where / "cifar-100-binary.tar.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(archive)
    return path, train, test


def test_binary_archive_is_verified_extracted_and_reused(tmp_path, small, monkeypatch):
    archive, train, test = make_binary_archive(tmp_path, monkeypatch)
    ds = datasets.CIFAR100(tmp_path, train=True)
    assert ds.targets == train[1].tolist() and ds.coarse_targets == train[2].tolist()
    np.testing.assert_array_equal(ds.data, expected_hwc(train[0]))
    extracted = tmp_path / "cifar-100" / "cifar-100-binary" / "train.bin"
    assert extracted.read_bytes() == binary_bytes(*train) and ds.files == [extracted]
    test_ds = datasets.CIFAR100(tmp_path, train=False)
    assert test_ds.targets == test[1].tolist() and len(test_ds) == 4
    # the next load reads the extracted files (recorded when fastnn extracted them), even without the archive
    archive.unlink()
    again = datasets.CIFAR100(tmp_path, train=True)
    assert again.files == [extracted] and again.targets == ds.targets
    # a changed extracted file no longer matches what came out of the archive: refused
    data = bytearray(extracted.read_bytes())
    data[5] ^= 0xFF
    extracted.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="no official checksum is published") as e:
        datasets.CIFAR100(tmp_path, train=True)
    assert "cifar-100-binary.tar.gz" in str(e.value) and "03b5dce0" not in str(e.value)   # the patched MD5 is named
    assert ArrayCIFAR100.archive_md5 in str(e.value) and "cifar-100-python" in str(e.value)


def test_binary_files_not_from_the_archive_are_refused(tmp_path, small, monkeypatch):
    folder = tmp_path / "cifar-100"
    folder.mkdir()
    test = records(4, seed=4)
    (folder / "test.bin").write_bytes(binary_bytes(*test))               # extracted by someone else
    with pytest.raises(DatasetError, match="cannot be verified") as e:
        datasets.CIFAR100(tmp_path, train=False)
    assert not isinstance(e.value, DatasetNotFoundError) and str(folder / "test.bin") in str(e.value)
    # with the official archive beside them, fastnn reads (and extracts) the archive's copy instead
    make_binary_archive(tmp_path, monkeypatch)
    ds = datasets.CIFAR100(tmp_path, train=False)
    assert ds.files == [folder / "cifar-100-binary" / "test.bin"] and len(ds) == 4
    # with a verifiable python version, that one is used
    pixels, fine, coarse = records(4, seed=8)
    raw = python_bytes(pixels, fine, coarse)
    small["test"] = md5(raw)
    (tmp_path / "cifar-100-python").mkdir()
    (tmp_path / "cifar-100-python" / "test").write_bytes(raw)
    (folder / "cifar-100-binary" / "test.bin").unlink()
    assert datasets.CIFAR100(tmp_path, train=False).targets == fine.tolist()


def test_binary_preferred_over_python_when_both_verified(tmp_path, small, monkeypatch):
    _, _, test = make_binary_archive(tmp_path, monkeypatch, where=".")
    raw = python_bytes(*records(4, seed=9))
    small["test"] = md5(raw)
    (tmp_path / "cifar-100-python").mkdir()
    (tmp_path / "cifar-100-python" / "test").write_bytes(raw)
    first = datasets.CIFAR100(tmp_path, train=False)              # extracted python files beat an archive
    assert first.files == [tmp_path / "cifar-100-python" / "test"]
    (tmp_path / "cifar-100-python" / "test").unlink()
    second = datasets.CIFAR100(tmp_path, train=False)             # -> the binary archive, extracted
    assert second.targets == test[1].tolist()
    (tmp_path / "cifar-100-python" / "test").write_bytes(raw)
    third = datasets.CIFAR100(tmp_path, train=False)              # extracted binary files come first
    assert third.files == [tmp_path / "cifar-100-binary" / "test.bin"]


# ---------------------------------------------------------------------------------------------
# not found; the torchvision surface
# ---------------------------------------------------------------------------------------------
def test_not_found_message(tmp_path):
    with pytest.raises(DatasetNotFoundError) as e:
        datasets.CIFAR100(tmp_path, train=True)
    msg = str(e.value)
    assert isinstance(e.value, FileNotFoundError) and msg.startswith("CIFAR100: data files not found.")
    for part in ("train.bin", "cifar-100-binary.tar.gz", "cifar-100-python/train", "cifar-100-python.tar.gz",
                 str(tmp_path / "cifar-100"), str(tmp_path / "cifar-100-python"), "download=True",
                 "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz", "FASTNN_DATA"):
        assert part in msg, part
    assert str(tmp_path) + "\n" not in msg            # generic names like train.bin are not searched in root


def test_transforms_repr_and_loader(tmp_path, small):
    pixels, fine, coarse = records(4, seed=11)
    raw = python_bytes(pixels, fine, coarse)
    small["test"] = md5(raw)
    (tmp_path / "cifar-100-python").mkdir()
    (tmp_path / "cifar-100-python" / "test").write_bytes(raw)
    ds = datasets.CIFAR100(tmp_path, train=False, transform=T.Compose([T.RandomHorizontalFlip(0.0), T.ToTensor()]),
                           target_transform=lambda y: y + 1000)
    img, target = ds[1]
    assert target == fine[1] + 1000 and img.shape == (3, 32, 32)
    np.testing.assert_array_equal(img.numpy(), pixels[1].reshape(3, 32, 32).astype(np.float32) / np.float32(255))
    text = repr(ds)
    assert text.startswith("Dataset CIFAR100") and "Number of datapoints: 4" in text and "Split: Test" in text
    xb, yb = next(iter(DataLoader(ds, batch_size=4)))
    assert xb.shape == (4, 3, 32, 32) and yb.numpy().tolist() == (fine + 1000).tolist()
    assert isinstance(ds, datasets.CIFAR10) and isinstance(ds, datasets.VisionDataset)
