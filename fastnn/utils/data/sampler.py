"""Samplers: which indices a DataLoader fetches, in which order, in which groups (PyTorch's names).

A sampler is any iterable of indices; a batch sampler any iterable of lists of indices. The
built-in samplers yield Python ints and lists of ints, as PyTorch's do, and behave the same:
:class:`SequentialSampler` (0..n-1), :class:`RandomSampler` (a permutation, or draws with
replacement, ``num_samples`` long), :class:`SubsetRandomSampler`, :class:`WeightedRandomSampler`,
and :class:`BatchSampler` (groups of ``batch_size``, the last one short unless ``drop_last``).

The one addition is for speed. Each built-in index sampler draws its whole epoch as one
int64 array (``_epoch_indices``) and a :class:`BatchSampler` over it can hand the DataLoader
that array cut into slices (``_epoch_batches``), so an epoch costs a few NumPy calls instead
of a Python loop over every index. :func:`epoch_indices` and :func:`epoch_batches` use that
path only when ``__iter__`` is the built-in one: a subclass that overrides ``__iter__`` is
iterated normally.

Random numbers: the sampler's ``generator`` (a ``fastnn.Generator`` or a
``numpy.random.Generator``), else fastnn's global generator at the time of drawing (so
``fastnn.manual_seed`` makes epochs repeat). The exact index sequences differ from PyTorch's
(a different random number generator); their structure, coverage and lengths do not.
"""
from __future__ import annotations

import itertools
import numbers
from typing import Iterable, Iterator, Sequence

import numpy as np

from ._generator import as_generator, draw_from
from .dataset import as_array

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "epoch_indices", "epoch_batches", "check_batch_args"]


def _positive_int(value, name: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value!r}")
    return int(value)


def _bool(value, name: str, error=ValueError) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise error(f"{name} should be a boolean value, but got {name}={value!r}")
    return bool(value)


class Sampler:
    """Base class of samplers: override ``__iter__`` (and ``__len__`` when the length is known)."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self) -> Iterator:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class _ArraySampler(Sampler):
    """A sampler whose epoch is one array drawn at once (see the module doc)."""

    def _epoch_indices(self) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __iter__(self) -> Iterator[int]:
        # a plain method, not a generator: the epoch is drawn when iteration starts, as the
        # DataLoader's fast path does, so both paths consume random numbers at the same point
        return iter(self._epoch_indices().tolist())


def epoch_indices(sampler) -> np.ndarray | None:
    """One epoch of ``sampler`` as an int64 array (drawn now), or None if it must be iterated."""
    if isinstance(sampler, _ArraySampler) and type(sampler).__iter__ is _ArraySampler.__iter__:
        return sampler._epoch_indices()
    return None


class SequentialSampler(_ArraySampler):
    """Indices ``0, 1, ..., len(data_source) - 1``, in order."""

    def __init__(self, data_source):
        self.data_source = data_source

    def _epoch_indices(self) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(_ArraySampler):
    """Indices of ``data_source`` in random order.

    Without replacement every index appears once per ``len(data_source)`` samples (a
    ``num_samples`` larger than the dataset chains several permutations, a smaller one takes
    the start of one); with ``replacement=True`` each of the ``num_samples`` indices is drawn
    independently and uniformly.
    """

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None, generator=None):
        self.data_source = data_source
        self.replacement = _bool(replacement, "replacement", TypeError)
        self._num_samples = num_samples
        self.generator = as_generator(generator)
        _positive_int(self.num_samples, "num_samples")

    @property
    def num_samples(self) -> int:
        # the dataset's length is read when asked: it may change after the sampler is built
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _epoch_indices(self) -> np.ndarray:
        n, k = len(self.data_source), self.num_samples
        rng = draw_from(self.generator)
        if self.replacement:
            return rng.integers(0, n, size=k, dtype=np.int64)
        full, rest = divmod(k, n)
        parts = [rng.permutation(n) for _ in range(full)]
        if rest:
            parts.append(rng.permutation(n)[:rest])
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(_ArraySampler):
    """The given ``indices``, in a new random order every epoch."""

    def __init__(self, indices: Sequence[int], generator=None):
        self.indices = indices
        self.generator = as_generator(generator)

    def _epoch_indices(self) -> np.ndarray:
        idx = np.asarray(self.indices, dtype=np.int64).reshape(-1)
        return idx[draw_from(self.generator).permutation(len(idx))]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(_ArraySampler):
    """``num_samples`` indices in ``[0, len(weights))``, index ``i`` with probability ``weights[i] / sum``.

    ``replacement=False`` draws distinct indices (then ``num_samples`` may not exceed the number
    of non-zero weights). The weights need not sum to 1.
    """

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True, generator=None):
        self.num_samples = _positive_int(num_samples, "num_samples")
        self.replacement = _bool(replacement, "replacement")
        w = as_array(weights).astype(np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero")
        if not self.replacement and num_samples > np.count_nonzero(w):
            raise ValueError(f"cannot draw {num_samples} distinct indices without replacement from "
                             f"{np.count_nonzero(w)} non-zero weights")
        self.weights = w
        self.generator = as_generator(generator)

    def _epoch_indices(self) -> np.ndarray:
        p = self.weights / self.weights.sum()
        return draw_from(self.generator).choice(len(p), size=self.num_samples, replace=self.replacement,
                                                p=p).astype(np.int64)

    def __len__(self) -> int:
        return self.num_samples


def check_batch_args(batch_size, drop_last) -> tuple[int, bool]:
    """PyTorch's checks of ``batch_size`` and ``drop_last`` (a BatchSampler's, and a DataLoader's over a stream)."""
    return _positive_int(batch_size, "batch_size"), _bool(drop_last, "drop_last")


class BatchSampler(Sampler):
    """Group the indices of ``sampler`` (any iterable of ints) into lists of ``batch_size``.

    The last list is shorter when the indices do not divide evenly, or is dropped with
    ``drop_last=True``: ``list(BatchSampler(range(10), 3, False)) == [[0, 1, 2], [3, 4, 5],
    [6, 7, 8], [9]]``.
    """

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int, drop_last: bool):
        self.batch_size, self.drop_last = check_batch_args(batch_size, drop_last)
        self.sampler = sampler

    def _split(self, order: np.ndarray) -> list[np.ndarray]:
        bs = self.batch_size
        stop = (len(order) // bs) * bs if self.drop_last else len(order)
        return [order[i:i + bs] for i in range(0, stop, bs)]

    def _epoch_batches(self) -> list[np.ndarray] | None:
        order = epoch_indices(self.sampler)
        return None if order is None else self._split(order)

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._epoch_batches()
        if batches is not None:
            return (b.tolist() for b in batches)
        return self._iterate(iter(self.sampler))

    def _iterate(self, indices: Iterator[int]) -> Iterator[list[int]]:
        while True:
            batch = list(itertools.islice(indices, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def epoch_batches(batch_sampler) -> list[np.ndarray] | None:
    """One epoch of ``batch_sampler`` as int64 arrays (drawn now), or None if it must be iterated."""
    if isinstance(batch_sampler, BatchSampler) and type(batch_sampler).__iter__ is BatchSampler.__iter__:
        return batch_sampler._epoch_batches()
    return None
