"""Datasets: the things a :class:`~fastnn.utils.data.DataLoader` draws samples from.

PyTorch's two kinds, plus one of fastnn's own:

* a **map-style** dataset (:class:`Dataset`) has ``__len__`` and ``__getitem__(i)`` returning
  one sample (a tuple such as ``(x, y)``); the loader calls it once per sample and collates;
* an **iterable** dataset (:class:`IterableDataset`) has ``__iter__`` and streams samples;
* an **array-backed** dataset keeps whole arrays in memory and also answers
  ``get_batch(indices, rng=None)`` with a tuple of *batched* arrays, built with one
  fancy-indexing call per array. The loader then costs one NumPy call per batch instead of
  one Python call per sample, which is what makes feeding 60,000 MNIST digits per epoch cheap.
  :class:`ArrayDataset` (and :class:`TensorDataset`, ``fastnn.data.MNIST``, CIFAR-10, ...) work
  this way, and a :class:`Subset` of one stays array-backed.

Transforms of an array-backed set run on whole batches: ``transform(x_batch, rng=rng)`` with
``x_batch`` shaped ``(N, ...)``; see :mod:`fastnn.data.transforms`.
"""
from __future__ import annotations

import bisect
import math
import numbers
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from ...tensor import Tensor
from ._generator import as_generator, draw_from

__all__ = [
    "Dataset",
    "IterableDataset",
    "ArrayDataset",
    "TensorDataset",
    "StackDataset",
    "Subset",
    "ConcatDataset",
    "ChainDataset",
    "random_split",
    "apply_transform",
    "as_array",
]


def as_array(obj: Any) -> np.ndarray:
    """A NumPy array from an array, a fastnn ``Tensor`` (anything with ``.numpy()``) or a list."""
    if isinstance(obj, np.ndarray):
        return obj
    numpy = getattr(obj, "numpy", None)
    if callable(numpy):
        return np.asarray(numpy())
    return np.asarray(obj)


def apply_transform(transform: Callable | None, x: Any, rng: np.random.Generator | None = None):
    """Call ``transform(x, rng=rng)`` for fastnn batch transforms, ``transform(x)`` for plain callables.

    fastnn batch transforms (subclasses of :class:`fastnn.data.transforms.Transform`) take the
    random generator so that augmentation is reproducible; any other callable
    (``lambda x: x / 255``) is called with the batch alone.
    """
    if transform is None:
        return x
    if getattr(transform, "accepts_rng", False):
        return transform(x, rng=rng)
    return transform(x)


def _as_index_array(indices: Any, n: int) -> np.ndarray:
    idx = np.asarray(indices)
    if idx.dtype == bool:
        raise TypeError("boolean masks are not accepted as batch indices; use np.flatnonzero(mask)")
    if idx.size == 0:
        return np.zeros(0, dtype=np.int64)
    if not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"batch indices must be integers, got dtype {idx.dtype}")
    idx = idx.astype(np.int64, copy=False).reshape(-1)
    if idx.min() < -n or idx.max() >= n:
        raise IndexError(f"index out of range for a dataset of {n} samples "
                         f"(min {int(idx.min())}, max {int(idx.max())})")
    return idx


def _check_index(index, n: int) -> int:
    i = int(index)
    if not -n <= i < n:
        raise IndexError(f"index {i} out of range for a dataset of {n} samples")
    return i % n


class Dataset:
    """Base class of map-style datasets: override ``__getitem__`` and ``__len__``.

    Subclasses that can build a whole batch at once should also provide
    ``get_batch(indices, rng=None)`` (see :class:`ArrayDataset`).
    """

    def __getitem__(self, index):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """Base class of datasets that stream their samples: override ``__iter__``.

    The DataLoader takes samples in the order ``__iter__`` gives them (no sampler, no shuffle)
    and groups them into batches of ``batch_size``.
    """

    def __iter__(self):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __add__(self, other: "IterableDataset") -> "ChainDataset":
        return ChainDataset([self, other])


class ArrayDataset(Dataset):
    """A dataset held as equally long arrays: ``ArrayDataset(X, y)``; sample ``i`` is ``(X[i], y[i])``.

    Args:
        *arrays: arrays (or Tensors) sharing their first dimension.
        transform: applied to the **first** array (the inputs) — on whole batches in
            :meth:`get_batch`, on a batch of one in ``__getitem__``.
        target_transform: applied to the second array (the targets), also batch-wise.

    ``dataset.arrays`` is the tuple of raw (untransformed) arrays. With a single array, samples
    and batches are the bare array rather than a 1-tuple.
    """

    def __init__(self, *arrays, transform: Callable | None = None,
                 target_transform: Callable | None = None):
        if not arrays:
            raise ValueError("ArrayDataset needs at least one array")
        arrs = tuple(as_array(a) for a in arrays)
        for a in arrs:
            if a.ndim == 0:
                raise ValueError("ArrayDataset arrays must have a first (sample) dimension")
        n = len(arrs[0])
        if any(len(a) != n for a in arrs):
            raise ValueError(f"all arrays must have the same length; got shapes {[a.shape for a in arrs]}")
        self.arrays: tuple[np.ndarray, ...] = arrs
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self) -> int:
        return len(self.arrays[0])

    def _finish(self, arrays: tuple, rng):
        out = list(arrays)
        out[0] = apply_transform(self.transform, out[0], rng)
        if len(out) > 1 and self.target_transform is not None:
            out[1] = apply_transform(self.target_transform, out[1], rng)
        return out[0] if len(out) == 1 else tuple(out)

    def get_batch(self, indices, rng: np.random.Generator | None = None):
        """The samples at ``indices`` as a tuple of batched arrays (transforms applied).

        One fancy-indexing call per array: ``(X[indices], y[indices])``. ``rng`` drives random
        transforms (the DataLoader passes its per-epoch generator).
        """
        idx = _as_index_array(indices, len(self))
        return self._finish(tuple(a[idx] for a in self.arrays), rng)

    def __getitems__(self, indices):
        """PyTorch's batched-fetch hook; same as :meth:`get_batch` without an explicit rng."""
        return self.get_batch(indices)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.get_batch(np.arange(len(self))[index])
        if not isinstance(index, numbers.Integral):
            if np.ndim(index) == 1:
                return self.get_batch(index)
            raise TypeError(f"dataset indices must be integers, slices or 1-D index arrays, not {type(index).__name__}")
        i = _check_index(index, len(self))
        batch = self.get_batch(np.array([i]))
        if isinstance(batch, tuple):
            return tuple(b[0] for b in batch)
        return batch[0]

    def __repr__(self) -> str:
        shapes = ", ".join(f"{a.dtype}{list(a.shape)}" for a in self.arrays)
        return f"{type(self).__name__}({shapes})"


class TensorDataset(ArrayDataset):
    """PyTorch's ``TensorDataset(*tensors)``: Tensors or arrays sharing their first dimension.

    As in PyTorch, sample ``i`` is ``tuple(t[i] for t in tensors)`` — a tuple of fastnn Tensors —
    and ``dataset.tensors`` is the tuple of Tensors. Batches for the DataLoader are built with
    one fancy-indexing call per tensor (``get_batch``, on the arrays in ``dataset.arrays``).
    """

    def __init__(self, *tensors):
        super().__init__(*tensors)

    @property
    def tensors(self) -> tuple[Tensor, ...]:
        return tuple(Tensor(a) for a in self.arrays)

    def _finish(self, arrays, rng):  # always a tuple, as in PyTorch
        return tuple(arrays)

    def __getitem__(self, index):
        sample = super().__getitem__(index)
        if isinstance(index, numbers.Integral):
            return tuple(Tensor(np.asarray(v)) for v in sample)
        return sample


class StackDataset(Dataset):
    """Several equally long datasets side by side: ``StackDataset(images, texts)[i] == (images[i], texts[i])``.

    With keyword arguments the samples are dicts: ``StackDataset(image=a, text=b)[i] == {"image": a[i], ...}``.
    """

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("StackDataset takes datasets either as positional arguments (tuple samples) "
                             "or as keyword arguments (dict samples), not both")
        if not args and not kwargs:
            raise ValueError("StackDataset needs at least one dataset")
        self.datasets = args if args else kwargs
        parts = list(args) if args else list(kwargs.values())
        self._length = len(parts[0])
        if any(len(d) != self._length for d in parts):
            raise ValueError(f"Size mismatch between datasets: lengths {[len(d) for d in parts]}")

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self) -> int:
        return self._length


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (in that order).

    Batched access is forwarded to the parent when it has ``get_batch``, so a Subset of an
    array-backed set stays array-backed.
    """

    def __init__(self, dataset, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        if isinstance(index, (list, np.ndarray)):
            return self.dataset[self.indices[np.asarray(index, dtype=np.int64)]]
        return self.dataset[int(self.indices[index])]

    def __getattr__(self, name):
        # only reached for attributes Subset itself lacks; keep ``get_batch`` conditional
        if name == "get_batch":
            parent = self.__dict__.get("dataset")
            if parent is not None and hasattr(parent, "get_batch"):
                def get_batch(indices, rng=None):
                    idx = _as_index_array(indices, len(self))
                    return parent.get_batch(self.indices[idx], rng=rng)
                return get_batch
        raise AttributeError(f"{type(self).__name__!s} object has no attribute {name!r}")

    def __repr__(self) -> str:
        return f"Subset({self.dataset!r}, {len(self)} samples)"


class ConcatDataset(Dataset):
    """Several map-style datasets one after the other (per-sample access)."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset needs at least one dataset")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset; use ChainDataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        i = _check_index(index, len(self))
        k = bisect.bisect_right(self.cumulative_sizes, i)
        start = 0 if k == 0 else self.cumulative_sizes[k - 1]
        return self.datasets[k][i - start]


class ChainDataset(IterableDataset):
    """Several iterable datasets one after the other, chained on the fly."""

    def __init__(self, datasets):
        self.datasets = datasets

    def _parts(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset only supports IterableDataset, got {type(d).__name__}")
            yield d

    def __iter__(self):
        for d in self._parts():
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self._parts())


def _split_counts(lengths: Sequence[float], n: int) -> list[int]:
    """Sample counts for :func:`random_split`: counts as given, or fractions turned into counts."""
    lengths = list(lengths)
    if not lengths:
        raise ValueError("lengths must not be empty")
    if all(isinstance(x, numbers.Integral) for x in lengths):
        counts = [int(x) for x in lengths]
        if any(c < 0 for c in counts):
            raise ValueError(f"lengths must be non-negative, got {lengths}")
        if sum(counts) != n:
            raise ValueError(f"sum of lengths {sum(counts)} does not equal the dataset length {n}")
        return counts
    fracs = [float(x) for x in lengths]
    if any(f < 0 or f > 1 for f in fracs) or not math.isclose(sum(fracs), 1.0, abs_tol=1e-6):
        raise ValueError(f"fractions must lie in [0, 1] and sum to 1, got {lengths}")
    counts = [int(math.floor(n * f)) for f in fracs]
    for i in range(n - sum(counts)):
        counts[i % len(counts)] += 1
    for i, c in enumerate(counts):
        if c == 0:
            warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.",
                          stacklevel=3)
    return counts


def random_split(dataset, lengths: Sequence[float], generator: np.random.Generator | None = None,
                 seed: int | None = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random :class:`Subset` s of the given lengths.

    ``lengths`` are sample counts summing to ``len(dataset)``, or fractions summing to 1 (as in
    PyTorch: each gets ``floor(frac * n)`` and the remainder is dealt out one by one, round-robin
    from the first). Pass ``seed`` (or a ``fastnn.Generator`` / ``numpy.random.Generator``) for a reproducible split;
    without either, fastnn's global generator is used (see ``fastnn.manual_seed``).
    """
    n = len(dataset)
    counts = _split_counts(lengths, n)
    perm = draw_from(as_generator(generator, seed)).permutation(n)
    offsets = np.cumsum([0] + counts)
    return [Subset(dataset, perm[start:stop]) for start, stop in zip(offsets[:-1], offsets[1:])]
