"""fastnn.utils.data against torch.utils.data: names, DataLoader arguments and batch semantics,
samplers, collate, random_split, iterable datasets and the background thread.

Index sequences of random samplers come from different generators, so those are compared by
structure (coverage, lengths, ranges); everything deterministic is compared exactly. The tests
of fastnn's own additions (array-backed datasets, seed=, prefetch=, batch transforms) are in
tests/test_data.py.
"""
from __future__ import annotations

import ast
import collections
import inspect
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import fastnn
import fastnn.data
import fastnn.utils.data as fud
from conftest import require_torch
from fastnn.tensor import Tensor

TORCH_NAMES = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset", "ChainDataset",
               "Subset", "random_split", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
               "WeightedRandomSampler", "BatchSampler", "DataLoader", "default_collate", "default_convert",
               "get_worker_info"]


# ---------------------------------------------------------------------------------------------
# helpers: run the same thing through torch and fastnn, compare as NumPy
# ---------------------------------------------------------------------------------------------
def plain(obj):
    """A batch (nested lists/tuples/dicts of fastnn or torch tensors) as nested Python containers of
    ``(dtype name, ndarray)`` pairs, so that torch's and fastnn's batches compare with ==."""
    if isinstance(obj, Tensor):
        return ("tensor", str(obj.numpy().dtype), obj.numpy().tolist())
    if type(obj).__module__.startswith("torch") and hasattr(obj, "numpy"):
        return ("tensor", str(obj.numpy().dtype), obj.numpy().tolist())
    if isinstance(obj, (np.ndarray, np.generic)):
        return ("array", str(obj.dtype), obj.tolist())
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [plain(o) for o in obj])
    return obj


class MapDS:
    """A per-sample dataset usable by both libraries: (float32 vector, int label)."""

    def __init__(self, n=11):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full(3, i, dtype=np.float32), int(i)


def both(make):
    """``make(lib)`` for torch.utils.data and fastnn.utils.data."""
    torch = require_torch()
    return make(torch.utils.data), make(fud)


def batches(loader):
    return [plain(b) for b in loader]


# ---------------------------------------------------------------------------------------------
# the public surface
# ---------------------------------------------------------------------------------------------
def test_torch_names_exist_and_fastnn_data_reexports_them():
    for name in TORCH_NAMES:
        assert hasattr(fud, name), name
    for name in ("Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split", "DataLoader",
                 "default_collate", "ArrayDataset", "RandomSampler", "BatchSampler"):
        assert getattr(fastnn.data, name) is getattr(fud, name), name


def test_dataloader_accepts_every_torch_argument():
    torch = require_torch()
    theirs = inspect.signature(torch.utils.data.DataLoader.__init__).parameters
    ours = inspect.signature(fud.DataLoader.__init__).parameters
    assert set(theirs) <= set(ours)
    positional = [p for p in theirs.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert list(ours)[:len(positional)] == [p.name for p in positional]  # same positional order
    for name, p in theirs.items():
        if name != "self":
            assert ours[name].default == p.default, name


def test_no_import_of_nn():
    """utils.data and vision's data parts stand beside the layers: their source never imports
    fastnn.nn (vision.models, torchvision's model zoo, is built from layers, as torchvision's is)."""
    root = Path(fastnn.__file__).parent
    vision = [p for p in (root / "vision").rglob("*.py") if "models" not in p.relative_to(root).parts]
    assert vision, "no vision sources found"
    for path in list((root / "utils").rglob("*.py")) + vision:
        package = path.relative_to(root.parent).parts[:-1]      # e.g. ("fastnn", "utils", "data")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package[:len(package) - node.level + 1] if node.level else ()
                module = ".".join(base + ((node.module,) if node.module else ()))
                imported = [module] + [f"{module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                imported = [a.name for a in node.names]
            else:
                continue
            assert not any(m == "fastnn.nn" or m.startswith("fastnn.nn.") for m in imported), (path, imported)


# ---------------------------------------------------------------------------------------------
# DataLoader: exactly torch's batches where nothing is random
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("batch_size", [1, 3, 4, 11, 20])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sequential_batches_equal_torch(batch_size, drop_last):
    tl, fl = both(lambda lib: lib.DataLoader(MapDS(11), batch_size=batch_size, drop_last=drop_last))
    assert len(fl) == len(tl)
    assert batches(fl) == batches(tl)


def test_tensor_dataset_fast_path_equals_torch():
    torch = require_torch()
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    y = np.arange(10, dtype=np.int64) % 3
    t = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                                    batch_size=4)
    f = fud.DataLoader(fud.TensorDataset(Tensor(x), y), batch_size=4)
    assert batches(f) == batches(t)  # lists of [x, y], as torch's collate makes them
    ds = fud.TensorDataset(Tensor(x), y)
    xi, yi = ds[2]
    assert isinstance(xi, Tensor) and isinstance(yi, Tensor) and yi.shape == () and int(yi) == 2
    assert all(isinstance(t_, Tensor) for t_ in ds.tensors)


def test_batch_size_none_converts_each_sample_like_torch():
    tl, fl = both(lambda lib: lib.DataLoader(MapDS(4), batch_size=None))
    assert len(fl) == len(tl) == 4
    assert batches(fl) == batches(tl)


def test_custom_batch_sampler_and_sampler_equal_torch():
    groups = [[3, 1], [0], [10, 9, 8, 7]]
    tl, fl = both(lambda lib: lib.DataLoader(MapDS(11), batch_sampler=groups))
    assert batches(fl) == batches(tl) and len(fl) == 3
    order = [5, 2, 7, 7, 0]
    tl, fl = both(lambda lib: lib.DataLoader(MapDS(11), batch_size=2, sampler=order))
    assert batches(fl) == batches(tl) and len(fl) == len(tl) == 3
    tl, fl = both(lambda lib: lib.DataLoader(MapDS(11), batch_sampler=lib.BatchSampler(order, 2, True)))
    assert batches(fl) == batches(tl)


def test_keys_are_passed_as_the_sampler_gives_them():
    table = {"a": 1.0, "b": 2.0, "c": 3.0}
    tl, fl = both(lambda lib: lib.DataLoader(table, batch_size=2, sampler=["c", "a", "b"]))
    assert batches(fl) == [_float64_as_float32(b) for b in batches(tl)]   # Python floats: float32
    tl, fl = both(lambda lib: lib.DataLoader(table, batch_size=None, sampler=["b"]))
    assert batches(fl) == batches(tl) == [2.0]


def test_custom_collate_fn_gets_the_samples_even_for_array_backed_sets():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return np.stack([s[0] for s in samples]).sum(1)

    out = [b.numpy() for b in fud.DataLoader(fud.TensorDataset(x, np.arange(6)), batch_size=4, collate_fn=collate)]
    assert seen == [4, 2]
    np.testing.assert_array_equal(np.concatenate(out), x.sum(1))


def test_shuffled_epochs_cover_everything_with_torch_structure():
    tl, fl = both(lambda lib: lib.DataLoader(MapDS(23), batch_size=5, shuffle=True))
    assert len(fl) == len(tl) == 5
    for _ in range(2):
        got = [b[1].numpy() for b in fl]
        assert [len(g) for g in got] == [len(b[1]) for b in tl] == [5, 5, 5, 5, 3]
        assert sorted(np.concatenate(got).tolist()) == list(range(23))


@pytest.mark.parametrize("kwargs", [
    dict(shuffle=True, sampler=[0, 1]),
    dict(batch_sampler=[[0]], batch_size=2),
    dict(batch_sampler=[[0]], shuffle=True),
    dict(batch_sampler=[[0]], sampler=[0]),
    dict(batch_sampler=[[0]], drop_last=True),
    dict(batch_size=None, drop_last=True),
    dict(batch_size=0),
    dict(batch_size=-1),
    dict(num_workers=-1),
    dict(timeout=-1),
    dict(prefetch_factor=2),
    dict(persistent_workers=True),
])
def test_argument_errors_like_torch(kwargs):
    torch = require_torch()
    with pytest.raises(Exception) as theirs:
        torch.utils.data.DataLoader(MapDS(4), **kwargs)
    with pytest.raises(Exception) as ours:
        fud.DataLoader(MapDS(4), **kwargs)
    assert type(ours.value) is type(theirs.value)


def test_loader_attributes_like_torch():
    tl, fl = both(lambda lib: lib.DataLoader(MapDS(7), batch_size=3, shuffle=True, num_workers=1))
    assert type(fl.sampler).__name__ == type(tl.sampler).__name__ == "RandomSampler"
    assert type(fl.batch_sampler).__name__ == "BatchSampler" and fl.batch_sampler.batch_size == 3
    assert fl.prefetch_factor == tl.prefetch_factor == 2
    tl, fl = both(lambda lib: lib.DataLoader(MapDS(7), batch_sampler=[[0, 1]]))
    assert fl.batch_size is tl.batch_size is None and fl.drop_last is tl.drop_last is False


# ---------------------------------------------------------------------------------------------
# collate
# ---------------------------------------------------------------------------------------------
Point = collections.namedtuple("Point", "x y")

COLLATE_CASES = {
    "tuples": [(np.ones(2, np.float32), 1), (np.zeros(2, np.float32), 2)],
    "lists": [[1, 2], [3, 4]],
    "dicts": [{"a": np.int64(1), "b": [np.ones(1), 2]}, {"a": np.int64(2), "b": [np.zeros(1), 3]}],
    "namedtuples": [Point(1, np.float32(2)), Point(3, np.float32(4))],
    "ints": [1, 2, 3],
    "bools": [True, False],
    "int and float": [1, 2.5],
    "numpy float64": [np.float64(1.5), np.float64(2.5)],
    "numpy int32 arrays": [np.arange(3, dtype=np.int64), np.arange(3, dtype=np.int64)],
    "uint8 images": [np.zeros((2, 2), np.uint8), np.ones((2, 2), np.uint8)],
    "strings": ["a", "bc"],
    "nested": [(("x", 1), {"k": 2.0}), (("y", 2), {"k": 3.0})],
}


@pytest.mark.parametrize("case", sorted(COLLATE_CASES))
def test_default_collate_equals_torch(case):
    torch = require_torch()
    samples = COLLATE_CASES[case]
    ours = plain(fud.default_collate(samples))
    theirs = plain(torch.utils.data.default_collate(samples))
    # the one documented difference: Python floats become float32, not torch's float64
    assert ours == theirs or ours == _float64_as_float32(theirs)
    if type(samples[0]) is Point:
        assert isinstance(fud.default_collate(samples), Point)


def _float64_as_float32(obj):
    if isinstance(obj, tuple) and len(obj) == 3 and obj[0] == "tensor":
        return ("tensor", "float32" if obj[1] == "float64" else obj[1], obj[2])
    if isinstance(obj, dict):
        return {k: _float64_as_float32(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return (obj[0], [_float64_as_float32(o) for o in obj[1]])
    return obj


def test_default_collate_python_floats_are_float32_and_errors():
    out = fud.default_collate([1.5, 2.5])
    assert isinstance(out, Tensor) and out.dtype == np.float32
    with pytest.raises(RuntimeError, match="equal size"):
        fud.default_collate([(1, 2), (3,)])
    with pytest.raises(TypeError):
        fud.default_collate([object(), object()])
    with pytest.raises(ValueError):
        fud.default_collate([])


def test_default_convert_equals_torch():
    torch = require_torch()
    for data in [np.ones(2), (np.ones(1, np.float32), 2), {"a": np.int64(3), "b": "s"}, [np.zeros(2), 1.5], 7]:
        assert plain(fud.default_convert(data)) == plain(torch.utils.data.default_convert(data))


# ---------------------------------------------------------------------------------------------
# samplers
# ---------------------------------------------------------------------------------------------
def test_sequential_and_batch_sampler_equal_torch():
    torch = require_torch()
    tu = torch.utils.data
    assert list(fud.SequentialSampler(range(7))) == list(tu.SequentialSampler(range(7)))
    for sampler in (range(10), [4, 2, 9], fud.SequentialSampler(range(10))):
        for bs in (1, 3, 4, 10, 12):
            for dl in (False, True):
                t_src = list(sampler) if isinstance(sampler, fud.Sampler) else sampler
                ours, theirs = fud.BatchSampler(sampler, bs, dl), tu.BatchSampler(t_src, bs, dl)
                assert list(ours) == list(theirs) and len(ours) == len(theirs)
                assert all(type(i) is int for b in ours for i in b)


@pytest.mark.parametrize("args", [(range(4), 0, False), (range(4), 2, "no"), (range(4), True, False),
                                  (range(4), 2.0, False)])
def test_batch_sampler_errors_like_torch(args):
    torch = require_torch()
    with pytest.raises(Exception) as theirs:
        torch.utils.data.BatchSampler(*args)
    with pytest.raises(type(theirs.value)):
        fud.BatchSampler(*args)


def test_random_sampler_structure():
    torch = require_torch()
    n = 13
    s = fud.RandomSampler(range(n), generator=np.random.default_rng(0))
    assert len(s) == len(torch.utils.data.RandomSampler(range(n))) == n
    a, b = list(s), list(s)
    assert sorted(a) == sorted(b) == list(range(n)) and a != b          # a new order each epoch
    longer = list(fud.RandomSampler(range(n), num_samples=2 * n + 3))
    assert len(longer) == 2 * n + 3 and np.bincount(longer, minlength=n).min() >= 2
    assert sorted(longer[:n]) == list(range(n))                        # whole permutations first
    shorter = list(fud.RandomSampler(range(n), num_samples=5))
    assert len(shorter) == len(set(shorter)) == 5
    drawn = list(fud.RandomSampler(range(n), replacement=True, num_samples=500))
    assert len(drawn) == 500 and set(drawn) == set(range(n))
    for kwargs in (dict(num_samples=0), dict(replacement=1)):
        with pytest.raises(Exception) as theirs:
            torch.utils.data.RandomSampler(range(n), **kwargs)
        with pytest.raises(type(theirs.value)):
            fud.RandomSampler(range(n), **kwargs)


def test_subset_and_weighted_samplers():
    torch = require_torch()
    idx = [3, 8, 1, 15]
    s = fud.SubsetRandomSampler(idx)
    assert sorted(s) == sorted(idx) and len(s) == len(torch.utils.data.SubsetRandomSampler(idx)) == 4
    w = [0.0, 1.0, 3.0, 0.0]
    ws = fud.WeightedRandomSampler(w, num_samples=4000, generator=np.random.default_rng(1))
    drawn = np.array(list(ws))
    assert len(ws) == len(torch.utils.data.WeightedRandomSampler(w, 4000)) == 4000
    counts = np.bincount(drawn, minlength=4)
    assert counts[0] == counts[3] == 0 and 2.5 < counts[2] / counts[1] < 3.5
    distinct = list(fud.WeightedRandomSampler([1, 2, 3, 4], 4, replacement=False))
    assert sorted(distinct) == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        fud.WeightedRandomSampler([[1.0]], 1)
    with pytest.raises(ValueError):
        fud.WeightedRandomSampler(w, 3, replacement=False)   # only 2 non-zero weights


def test_overridden_iter_is_respected():
    class Backwards(fud.SequentialSampler):
        def __iter__(self):
            return iter(range(len(self.data_source) - 1, -1, -1))

    loader = fud.DataLoader(MapDS(5), batch_size=2, sampler=Backwards(range(5)))
    assert [b[1].numpy().tolist() for b in loader] == [[4, 3], [2, 1], [0]]


def test_generators_numpy_and_fastnn():
    ds = MapDS(20)

    def order(**kw):
        return np.concatenate([b[1].numpy() for b in fud.DataLoader(ds, batch_size=6, shuffle=True, **kw)])

    np.testing.assert_array_equal(order(generator=np.random.default_rng(3)), order(generator=np.random.default_rng(3)))
    np.testing.assert_array_equal(order(seed=3), order(generator=np.random.default_rng(3)))
    fastnn.manual_seed(11)
    a = order()
    fastnn.manual_seed(11)
    np.testing.assert_array_equal(a, order())
    np.testing.assert_array_equal(order(generator=fastnn.manual_seed(5)), order(generator=np.random.default_rng(5)))
    with pytest.raises(TypeError, match="generator"):
        fud.DataLoader(ds, shuffle=True, generator=5)
    g = fastnn.random.Generator().manual_seed(3)   # fastnn's torch.Generator look-alike
    loader = fud.DataLoader(ds, batch_size=6, shuffle=True, generator=g)
    first = np.concatenate([b[1].numpy() for b in loader])
    g.manual_seed(3)  # re-seeding the object is seen by the loader (it is resolved when drawing)
    np.testing.assert_array_equal(first, np.concatenate([b[1].numpy() for b in loader]))
    split = fud.random_split(ds, [0.5, 0.5], generator=fastnn.random.Generator().manual_seed(0))
    np.testing.assert_array_equal(split[0].indices,
                                  fud.random_split(ds, [0.5, 0.5], generator=np.random.default_rng(0))[0].indices)


# ---------------------------------------------------------------------------------------------
# datasets and random_split
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n,fracs", [(10, [0.3, 0.7]), (11, [0.5, 0.5]), (7, [0.1, 0.2, 0.7]), (100, [1 / 3] * 3),
                                     (5, [0.25, 0.25, 0.25, 0.25])])
def test_random_split_lengths_equal_torch(n, fracs):
    torch = require_torch()
    theirs = [len(s) for s in torch.utils.data.random_split(range(n), fracs)]
    parts = fud.random_split(MapDS(n), fracs, seed=0)
    assert [len(p) for p in parts] == theirs
    assert sorted(np.concatenate([p.indices for p in parts]).tolist()) == list(range(n))


def test_stack_concat_subset_equal_torch():
    torch = require_torch()
    tu = torch.utils.data
    a, b = MapDS(3), MapDS(4)
    assert plain(fud.StackDataset(a, a)[1]) == plain(tu.StackDataset(a, a)[1])
    assert plain(fud.StackDataset(x=a, y=a)[2]) == plain(tu.StackDataset(x=a, y=a)[2])
    with pytest.raises(ValueError):
        fud.StackDataset(a, b)
    cat, tcat = fud.ConcatDataset([a, b]), tu.ConcatDataset([a, b])
    assert len(cat) == len(tcat) and cat.cumulative_sizes == tcat.cumulative_sizes
    for i in range(-7, 7):
        assert plain(cat[i]) == plain(tcat[i])
    sub, tsub = fud.Subset(b, [3, 0]), tu.Subset(b, [3, 0])
    assert plain(sub[0]) == plain(tsub[0]) and len(sub) == len(tsub)


class Stream(fud.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = fud.get_worker_info()
        step, start = (1, 0) if info is None else (info.num_workers, info.id)   # the usual sharding
        return ((np.float32(i), i) for i in range(start, self.n, step))

    def __len__(self):
        return self.n


class TorchStream:
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return ((np.float32(i), i) for i in range(self.n))

    def __len__(self):
        return self.n


@pytest.mark.parametrize("batch_size,drop_last", [(3, False), (3, True), (None, False), (7, False)])
def test_iterable_dataset_batches_equal_torch(batch_size, drop_last):
    torch = require_torch()

    class T(TorchStream, torch.utils.data.IterableDataset):
        pass

    t = torch.utils.data.DataLoader(T(7), batch_size=batch_size, drop_last=drop_last)
    f = fud.DataLoader(Stream(7), batch_size=batch_size, drop_last=drop_last)
    assert len(f) == len(t)
    assert batches(f) == batches(t)


def test_iterable_dataset_rules_and_chain():
    for kwargs in (dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])):
        with pytest.raises(ValueError, match="IterableDataset"):
            fud.DataLoader(Stream(3), **kwargs)
    chained = Stream(2) + Stream(3)
    assert isinstance(chained, fud.ChainDataset) and len(chained) == 5
    assert [int(y) for _, y in chained] == [0, 1, 0, 1, 2]
    with pytest.raises(TypeError):
        fud.ConcatDataset([Stream(2)])


# ---------------------------------------------------------------------------------------------
# num_workers: one background thread
# ---------------------------------------------------------------------------------------------
def test_workers_give_the_same_batches_and_worker_info():
    assert fud.get_worker_info() is None
    calls = []

    def init(worker_id):
        info = fud.get_worker_info()
        calls.append((worker_id, info.id, info.num_workers, threading.current_thread().name))

    loader = fud.DataLoader(Stream(10), batch_size=3, num_workers=4, worker_init_fn=init)
    assert batches(loader) == batches(fud.DataLoader(Stream(10), batch_size=3))  # sharding: no duplicates
    assert calls == [(0, 0, 1, "fastnn-prefetch")]
    list(loader)
    assert len(calls) == 2                                  # once per epoch...
    persistent = fud.DataLoader(MapDS(5), num_workers=1, worker_init_fn=init, persistent_workers=True)
    list(persistent), list(persistent)
    assert len(calls) == 3                                  # ...or once with persistent_workers
    seeded = [fud.DataLoader(MapDS(9), batch_size=2, shuffle=True, seed=4, num_workers=w) for w in (0, 2)]
    assert batches(seeded[0]) == batches(seeded[1])


def test_worker_timeout_and_errors():
    class Slow(MapDS):
        def __getitem__(self, i):
            time.sleep(0.5)
            return super().__getitem__(i)

    with pytest.raises(RuntimeError, match="timed out after 0.1 seconds"):
        next(iter(fud.DataLoader(Slow(3), num_workers=1, timeout=0.1)))

    class Broken(MapDS):
        def __getitem__(self, i):
            if i == 4:
                raise KeyError("sample 4 is broken")
            return super().__getitem__(i)

    loader = fud.DataLoader(Broken(8), batch_size=2, num_workers=2)
    it = iter(loader)
    next(it), next(it)
    with pytest.raises(KeyError, match="sample 4"):
        next(it)
