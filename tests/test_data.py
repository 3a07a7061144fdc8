"""fastnn.data: DataLoader, datasets, random_split, transforms, toy sets and the embedded mini-MNIST.

File formats, checksums, downloads and the real MNIST / CIFAR-10 files: tests/test_data_files.py.
"""
from __future__ import annotations

import gc
import threading
import time

import numpy as np
import pytest

import fastnn
from fastnn.data import (ArrayDataset, DataLoader, Dataset, DatasetError, MNIST, Subset, TensorDataset,
                         default_collate, iris, mnist_mini, moons, random_split, spirals, xor)
from fastnn.data import datasets as ds_mod
from fastnn.data import transforms as T
from fastnn.tensor import Tensor


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def make_arrays(n=23, c=1, h=4, w=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, c, h, w), dtype=np.uint8)
    x[:, 0, 0, 0] = np.arange(n) % 256  # sample id readable from the data
    y = np.arange(n, dtype=np.int64)
    return x, y


class CountingArrayDataset(ArrayDataset):
    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.getitem_calls = 0
        self.batch_calls = 0

    def __getitem__(self, i):
        self.getitem_calls += 1
        return super().__getitem__(i)

    def get_batch(self, indices, rng=None):
        self.batch_calls += 1
        return super().get_batch(indices, rng)


class GenericDataset(Dataset):
    """Per-sample dataset (no batched access): sample i = (float32 vector, int label i)."""

    def __init__(self, n=17, fail_at=None):
        self.n, self.fail_at = n, fail_at

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.fail_at:
            raise KeyError(f"broken sample {i}")
        return np.full(3, i, dtype=np.float32), i


def epoch_labels(loader):
    return [y.numpy().copy() for _, y in loader]


def prefetch_threads():
    return [t for t in threading.enumerate() if t.name == "fastnn-prefetch"]


def wait_no_prefetch_threads(timeout=3.0):
    deadline = time.time() + timeout
    while prefetch_threads() and time.time() < deadline:
        gc.collect()
        time.sleep(0.02)
    return prefetch_threads()


# ---------------------------------------------------------------------------------------------
# DataLoader
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["array", "generic"])
@pytest.mark.parametrize("drop_last", [False, True])
def test_every_sample_once_per_epoch(kind, drop_last):
    n, bs = 23, 5
    ds = ArrayDataset(*make_arrays(n)) if kind == "array" else GenericDataset(n)
    loader = DataLoader(ds, batch_size=bs, shuffle=True, drop_last=drop_last, seed=1)
    assert len(loader) == (n // bs if drop_last else -(-n // bs))
    epochs = []
    for _ in range(3):
        labels = epoch_labels(loader)
        assert len(labels) == len(loader)
        sizes = [len(b) for b in labels]
        assert all(s == bs for s in sizes[:-1])
        assert sizes[-1] == (bs if drop_last else n - bs * (len(sizes) - 1))
        flat = np.concatenate(labels)
        if drop_last:
            assert len(flat) == n - n % bs and len(np.unique(flat)) == len(flat)
        else:
            assert sorted(flat.tolist()) == list(range(n))
        epochs.append(flat)
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])


def test_no_shuffle_is_sequential_and_batches_are_tensors():
    x, y = make_arrays(10)
    loader = DataLoader(ArrayDataset(x, y), batch_size=4)
    batches = list(loader)
    assert [len(b[1].numpy()) for b in batches] == [4, 4, 2]
    xb, yb = batches[0]
    assert isinstance(xb, Tensor) and isinstance(yb, Tensor)
    np.testing.assert_array_equal(xb.numpy(), x[:4])
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in batches]), y)
    assert yb.numpy().dtype == np.int64


def test_seed_reproducible_and_generator_and_global_seed():
    ds = ArrayDataset(*make_arrays(40))
    a = DataLoader(ds, batch_size=8, shuffle=True, seed=123)
    b = DataLoader(ds, batch_size=8, shuffle=True, seed=123)
    c = DataLoader(ds, batch_size=8, shuffle=True, generator=np.random.default_rng(123))
    for _ in range(2):  # two epochs, same sequence
        ea, eb, ec = (np.concatenate(epoch_labels(l)) for l in (a, b, c))
        np.testing.assert_array_equal(ea, eb)
        np.testing.assert_array_equal(ea, ec)
    d = DataLoader(ds, batch_size=8, shuffle=True, seed=124)
    assert not np.array_equal(np.concatenate(epoch_labels(d)),
                              np.concatenate(epoch_labels(DataLoader(ds, 8, shuffle=True, seed=123))))
    # no seed: fastnn's global generator, so fastnn.manual_seed makes runs repeat
    fastnn.manual_seed(7)
    g1 = np.concatenate(epoch_labels(DataLoader(ds, batch_size=8, shuffle=True)))
    fastnn.manual_seed(7)
    g2 = np.concatenate(epoch_labels(DataLoader(ds, batch_size=8, shuffle=True)))
    np.testing.assert_array_equal(g1, g2)
    with pytest.raises(ValueError):
        DataLoader(ds, seed=1, generator=np.random.default_rng(1))
    with pytest.raises(ValueError):
        DataLoader(ds, batch_size=0)


def test_array_backed_path_uses_one_call_per_batch():
    ds = CountingArrayDataset(*make_arrays(50))
    loader = DataLoader(ds, batch_size=8, shuffle=True, seed=0)
    list(loader)
    assert ds.getitem_calls == 0 and ds.batch_calls == len(loader) == 7
    # a Subset of an array-backed set stays array-backed
    sub = Subset(ds, np.arange(10, 30))
    assert hasattr(sub, "get_batch")
    ds.getitem_calls = ds.batch_calls = 0
    labels = np.concatenate(epoch_labels(DataLoader(sub, batch_size=6, shuffle=True, seed=0)))
    assert sorted(labels.tolist()) == list(range(10, 30))
    assert ds.getitem_calls == 0 and ds.batch_calls == 4
    assert not hasattr(Subset(GenericDataset(5), [1, 2]), "get_batch")


def test_generic_dataset_collate_and_custom_collate():
    loader = DataLoader(GenericDataset(7), batch_size=3)
    xb, yb = next(iter(loader))
    assert xb.shape == (3, 3) and xb.numpy().dtype == np.float32
    np.testing.assert_array_equal(yb.numpy(), [0, 1, 2])
    assert yb.numpy().dtype == np.int64

    def collate(samples):
        return np.stack([s[0] for s in samples]).sum(axis=1), np.array([s[1] for s in samples])

    xs = [x.numpy() for x, _ in DataLoader(GenericDataset(7), batch_size=3, collate_fn=collate)]
    np.testing.assert_array_equal(np.concatenate(xs), 3 * np.arange(7, dtype=np.float32))


def test_default_collate_structures():
    out = default_collate([{"a": 1.5, "b": np.ones(2)}, {"a": 2.5, "b": np.zeros(2)}])
    assert out["a"].dtype == np.float32 and out["b"].shape == (2, 2)
    out = default_collate([(Tensor(np.ones(3, np.float32)), True), (Tensor(np.zeros(3, np.float32)), False)])
    assert out[0].shape == (2, 3) and out[1].dtype == bool
    with pytest.raises(ValueError, match="different shapes"):
        default_collate([np.ones(2), np.ones(3)])


def test_getitems_protocol():
    class Batched(Dataset):
        def __len__(self):
            return 10

        def __getitems__(self, indices):  # PyTorch convention: a list of samples
            return [(np.float32(i), i) for i in indices]

    xb, yb = next(iter(DataLoader(Batched(), batch_size=4)))
    np.testing.assert_array_equal(yb.numpy(), [0, 1, 2, 3])

    class Batched2(Batched):
        def __getitems__(self, indices):  # already batched: a tuple of arrays
            idx = np.asarray(indices)
            return idx.astype(np.float32) * 2, idx

    xb, yb = next(iter(DataLoader(Batched2(), batch_size=4)))
    np.testing.assert_array_equal(xb.numpy(), [0, 2, 4, 6])


@pytest.mark.parametrize("kind", ["array", "generic"])
def test_prefetch_yields_identical_batches(kind):
    if kind == "array":
        tf = T.Compose([T.ToFloat(), T.RandomCrop((4, 5), padding=2), T.RandomHorizontalFlip()])
        ds = ArrayDataset(*make_arrays(37, c=2), transform=tf)
    else:
        ds = GenericDataset(37)
    plain = DataLoader(ds, batch_size=6, shuffle=True, seed=5)
    pre = DataLoader(ds, batch_size=6, shuffle=True, seed=5, prefetch=True)
    for _ in range(2):
        for (xa, ya), (xb, yb) in zip(plain, pre, strict=True):
            np.testing.assert_array_equal(xa.numpy(), xb.numpy())
            np.testing.assert_array_equal(ya.numpy(), yb.numpy())
    assert not wait_no_prefetch_threads()


@pytest.mark.parametrize("prefetch", [False, True])
def test_exception_in_dataset_propagates(prefetch):
    loader = DataLoader(GenericDataset(20, fail_at=13), batch_size=4, prefetch=prefetch)
    seen = 0
    with pytest.raises(KeyError, match="broken sample 13"):
        for _ in loader:
            seen += 1
    assert seen == 3

    def bad_transform(x):
        raise RuntimeError("transform failed")

    loader = DataLoader(ArrayDataset(*make_arrays(8), transform=bad_transform), batch_size=4, prefetch=prefetch)
    with pytest.raises(RuntimeError, match="transform failed"):
        list(loader)
    assert not wait_no_prefetch_threads()


def test_prefetch_abandoned_iterator_shuts_down():
    ds = ArrayDataset(*make_arrays(200))
    loader = DataLoader(ds, batch_size=2, shuffle=True, seed=0, prefetch=2)
    it = iter(loader)
    next(it)
    assert prefetch_threads()
    del it
    assert not wait_no_prefetch_threads()
    for _ in loader:  # break out early, then a fresh full epoch still works
        break
    assert sum(len(y.numpy()) for _, y in loader) == 200
    it = iter(loader)
    it.close()
    assert list(it) == []
    assert not wait_no_prefetch_threads()


def test_num_workers_means_prefetch_and_loader_transform():
    x, y = make_arrays(9)
    loader = DataLoader(ArrayDataset(x, y), batch_size=4, num_workers=2, transform=T.ToFloat())
    assert loader.prefetch == 2
    xb, _ = next(iter(loader))
    np.testing.assert_allclose(xb.numpy(), x[:4].astype(np.float32) / 255)


# ---------------------------------------------------------------------------------------------
# datasets, Subset, random_split
# ---------------------------------------------------------------------------------------------
def test_array_and_tensor_dataset_access():
    x, y = make_arrays(6)
    ds = ArrayDataset(x, y, transform=T.ToFloat())
    xi, yi = ds[2]
    assert xi.shape == x.shape[1:] and xi.dtype == np.float32 and yi == 2
    xb, yb = ds.get_batch([5, 0])
    np.testing.assert_allclose(xb, x[[5, 0]] / np.float32(255))
    np.testing.assert_array_equal(ds[-1][1], 5)
    xs, ys = ds[1:4]
    np.testing.assert_array_equal(ys, [1, 2, 3])
    with pytest.raises(IndexError):
        ds[6]
    with pytest.raises(ValueError):
        ArrayDataset(x, y[:3])
    td = TensorDataset(Tensor(x.astype(np.float32)), y)
    assert len(td) == 6 and isinstance(td[0], tuple) and td.tensors[0].dtype == np.float32
    single = ArrayDataset(np.arange(5))
    assert single[3] == 3
    np.testing.assert_array_equal(next(iter(DataLoader(single, batch_size=2))).numpy(), [0, 1])


def test_random_split_ints_fractions_reproducible():
    ds = ArrayDataset(np.arange(11))
    a, b = random_split(ds, [0.5, 0.5], seed=0)
    assert (len(a), len(b)) == (6, 5)  # PyTorch: floor, then remainder round-robin from the first
    assert [len(s) for s in random_split(ArrayDataset(np.arange(10)), [0.3, 0.3, 0.4], seed=0)] == [3, 3, 4]
    parts = random_split(ds, [3, 8], seed=4)
    together = np.concatenate([p.indices for p in parts])
    assert sorted(together.tolist()) == list(range(11))
    again = random_split(ds, [3, 8], generator=np.random.default_rng(4))
    np.testing.assert_array_equal(parts[0].indices, again[0].indices)
    assert parts[0][0] == ds[int(parts[0].indices[0])]
    with pytest.raises(ValueError):
        random_split(ds, [3, 3])
    with pytest.raises(ValueError):
        random_split(ds, [0.5, 0.6])


def test_concat_dataset():
    cat = ArrayDataset(np.arange(3)) + ArrayDataset(np.arange(10, 14))
    assert len(cat) == 7 and cat[3] == 10 and cat[-1] == 13
    assert sorted(np.concatenate([b.numpy() for b in DataLoader(cat, 3, shuffle=True, seed=0)]).tolist()) == \
        [0, 1, 2, 10, 11, 12, 13]


# ---------------------------------------------------------------------------------------------
# transforms
# ---------------------------------------------------------------------------------------------
def loop_crop(x, top, left, size, padding, mode="constant", fill=0):
    out = np.empty(x.shape[:2] + size, dtype=x.dtype)
    for i in range(len(x)):
        widths = ((0, 0), (padding, padding), (padding, padding))
        kw = {"constant_values": fill} if mode == "constant" else {}
        img = np.pad(x[i], widths, mode=mode, **kw)
        out[i] = img[:, top[i]:top[i] + size[0], left[i]:left[i] + size[1]]
    return out


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect"])
def test_random_crop_matches_per_sample_loop(mode):
    x = np.random.default_rng(0).integers(0, 256, size=(16, 3, 8, 8), dtype=np.uint8)
    crop = T.RandomCrop(8, padding=3, padding_mode=mode, fill=7)
    top, left = crop.sample_offsets(x.shape, np.random.default_rng(42))
    assert top.min() >= 0 and top.max() <= 6 and len(set(zip(top.tolist(), left.tolist()))) > 1
    expected = loop_crop(x, top, left, (8, 8), 3, mode, fill=7)
    np.testing.assert_array_equal(crop.crop(x, top, left), expected)
    # __call__ with the same rng draws the same offsets
    out = crop(x, rng=np.random.default_rng(42))
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == x.dtype and out.flags.c_contiguous


def test_random_crop_smaller_no_padding_and_identity():
    x = np.random.default_rng(1).random((5, 2, 10, 7)).astype(np.float32)
    crop = T.RandomCrop((6, 4))
    top, left = crop.sample_offsets(x.shape, np.random.default_rng(3))
    np.testing.assert_array_equal(crop.crop(x, top, left), loop_crop(x, top, left, (6, 4), 0))
    np.testing.assert_array_equal(T.RandomCrop((10, 7))(x), x)
    with pytest.raises(ValueError):
        T.RandomCrop(11)(x)
    with pytest.raises(ValueError):
        T.RandomCrop(3)(x[0])  # a single image, not a batch


def test_random_horizontal_flip():
    x = np.random.default_rng(2).integers(0, 256, size=(50, 3, 4, 6), dtype=np.uint8)
    orig = x.copy()
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(x), x)
    flip = T.RandomHorizontalFlip()
    out = flip(x, rng=np.random.default_rng(9))
    mask = flip.sample_mask(len(x), np.random.default_rng(9))
    assert 0 < mask.sum() < len(x)
    np.testing.assert_array_equal(out[mask], x[mask][..., ::-1])
    np.testing.assert_array_equal(out[~mask], x[~mask])
    np.testing.assert_array_equal(x, orig)  # input untouched
    np.testing.assert_array_equal(out, flip(x, rng=np.random.default_rng(9)))
    seeded = T.RandomHorizontalFlip(seed=3)
    np.testing.assert_array_equal(seeded(x), T.RandomHorizontalFlip(seed=3)(x))


def test_normalize_and_tofloat():
    x8 = np.random.default_rng(3).integers(0, 256, size=(4, 3, 5, 5), dtype=np.uint8)
    xf = T.ToFloat()(x8)
    assert xf.dtype == np.float32 and xf.max() <= 1.0
    np.testing.assert_array_equal(xf, x8.astype(np.float32) / np.float32(255))
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    out = T.Normalize(mean, std)(xf)
    manual = np.empty_like(xf)
    for c in range(3):
        manual[:, c] = (xf[:, c] - np.float32(mean[c])) / np.float32(std[c])
    np.testing.assert_allclose(out, manual, rtol=1e-6, atol=1e-6)
    assert out.dtype == np.float32
    np.testing.assert_allclose(T.Normalize(0.5, 0.5)(xf), (xf - 0.5) / 0.5, atol=1e-6)
    with pytest.raises(TypeError, match="ToFloat"):
        T.Normalize(mean, std)(x8)
    with pytest.raises(ValueError, match="channels"):
        T.Normalize((0.1, 0.2), (1, 1))(xf)


def test_compose_passes_rng_and_plain_callables():
    x = np.random.default_rng(4).integers(0, 256, size=(8, 1, 6, 6), dtype=np.uint8)
    tf = T.Compose([T.ToFloat(), lambda b: b * 2, T.RandomCrop(6, padding=1), T.RandomHorizontalFlip()])
    a = tf(x, rng=np.random.default_rng(0))
    b = tf(x, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and a.shape == x.shape and a.max() <= 2.0
    assert "RandomCrop" in repr(tf)


# ---------------------------------------------------------------------------------------------
# toy sets
# ---------------------------------------------------------------------------------------------
def test_toy_sets():
    X, y = xor()
    np.testing.assert_array_equal(y, [0, 1, 1, 0])
    assert X.dtype == np.float32 and y.dtype == np.int64
    Xn, yn = xor(40, noise=0.1, seed=0)
    assert Xn.shape == (40, 2) and set(yn.tolist()) <= {0, 1}
    X, y = spirals(301, classes=3, noise=0.2, seed=0)
    assert X.shape == (301, 2) and X.dtype == np.float32 and np.bincount(y).tolist() == [101, 100, 100]
    np.testing.assert_array_equal(X, spirals(301, 3, 0.2, seed=0)[0])
    X, y = moons(101, noise=0.05, seed=1)
    assert X.shape == (101, 2) and np.bincount(y).tolist() == [51, 50]
    np.testing.assert_array_equal(y, moons(101, 0.05, seed=1)[1])
    assert not np.array_equal(X, moons(101, 0.05, seed=2)[0])


def test_iris_is_the_real_data():
    X, y, names = iris()
    assert X.shape == (150, 4) and X.dtype == np.float32 and y.dtype == np.int64
    assert names == ["setosa", "versicolor", "virginica"]
    assert np.bincount(y).tolist() == [50, 50, 50]
    np.testing.assert_allclose(X[0], [5.1, 3.5, 1.4, 0.2])
    np.testing.assert_allclose(X[-1], [5.9, 3.0, 5.1, 1.8])
    # well-known summary statistics of Fisher's data
    np.testing.assert_allclose(X.mean(0), [5.843, 3.057, 3.758, 1.199], atol=1e-3)


# ---------------------------------------------------------------------------------------------
# embedded mini-MNIST
# ---------------------------------------------------------------------------------------------
def test_mnist_mini_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path / "nothing-here"))
    train, test = mnist_mini(train=True), MNIST(subset="mini", train=False)
    assert train.data.shape == (10000, 1, 28, 28) and train.data.dtype == np.uint8
    assert test.data.shape == (2000, 1, 28, 28)
    assert train.targets.dtype == np.int64
    assert np.bincount(train.targets, minlength=10).tolist() == [1000] * 10
    assert np.bincount(test.targets, minlength=10).tolist() == [200] * 10
    assert train.data.max() == 255 and len(train.classes) == 10
    xb, yb = next(iter(DataLoader(mnist_mini(transform=T.ToFloat()), batch_size=32, shuffle=True, seed=0)))
    assert xb.shape == (32, 1, 28, 28) and xb.numpy().dtype == np.float32
    with pytest.raises(ValueError):
        MNIST(subset="tiny")


def test_mnist_mini_tamper_detected(monkeypatch):
    monkeypatch.setattr(ds_mod, "MNIST_MINI_SHA256", "0" * 64)
    with pytest.raises(DatasetError, match="sha256"):
        mnist_mini()
