"""DataLoader: batches (optionally shuffled, optionally prepared in a background thread).

    loader = DataLoader(train_set, batch_size=128, shuffle=True, seed=0)
    for epoch in range(10):
        for x, y in loader:          # x, y are fastnn Tensors
            ...

How a batch is built depends on the dataset (see :mod:`fastnn.data.dataset`):

* array-backed (has ``get_batch(indices, rng)``): ONE fancy-indexing call per array per batch,
  then the dataset's transform on the whole batch;
* ``__getitems__(indices)`` (PyTorch's batched hook): a returned ``list`` is taken as a list of
  samples and collated; anything else (tuple of arrays, array, dict) as an already-built batch;
* otherwise: ``dataset[i]`` for each index, then ``collate_fn`` (default: stack).

Randomness: the loader draws from one ``numpy.random.Generator``: ``generator=``, or its own
one built from ``seed=``, or else fastnn's global generator (so ``fastnn.manual_seed(s)``
makes the run reproducible). At the start of every epoch it draws the epoch's
permutation *and* a seed for that epoch's augmentation generator, so every epoch differs, a
seeded loader repeats exactly, and prefetching gives the very same batches as not prefetching.
"""
from __future__ import annotations

import math
import numbers
import queue
import threading
from typing import Callable, Iterator

import numpy as np

from .dataset import _make_rng, apply_transform, global_generator

__all__ = ["DataLoader", "default_collate"]


def default_collate(samples: list):
    """Stack a list of samples into a batch, keeping the samples' structure.

    Tuples/lists of fields -> a tuple of stacked fields; dicts -> a dict; arrays, Tensors and
    numbers -> one array with a new leading batch dimension (Python floats become float32,
    Python ints int64).
    """
    if not samples:
        raise ValueError("cannot collate an empty list of samples")
    first = samples[0]
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, (tuple, list)):
        n = len(first)
        if any(len(s) != n for s in samples):
            raise ValueError("samples of one batch have different numbers of fields")
        return tuple(default_collate([s[i] for s in samples]) for i in range(n))
    if isinstance(first, (bool, np.bool_)):
        return np.asarray(samples, dtype=bool)
    if isinstance(first, numbers.Integral):
        return np.asarray(samples, dtype=np.int64)
    if isinstance(first, numbers.Real):
        return np.asarray(samples, dtype=np.float32)
    arrays = []
    for s in samples:
        numpy = getattr(s, "numpy", None)
        arrays.append(np.asarray(numpy()) if callable(numpy) and not isinstance(s, np.ndarray) else np.asarray(s))
    if arrays[0].dtype == object:
        raise TypeError(f"default_collate cannot batch samples of type {type(first).__name__}; "
                        "pass a collate_fn")
    try:
        return np.stack(arrays)
    except ValueError as e:
        shapes = sorted({a.shape for a in arrays})
        raise ValueError(f"default_collate: samples have different shapes {shapes[:4]}; "
                         "pass a collate_fn") from e


def _to_tensors(batch):
    """Wrap every NumPy array in ``batch`` (nested tuples/lists/dicts) into a fastnn Tensor."""
    from ..tensor import Tensor

    def conv(obj):
        if isinstance(obj, np.ndarray):
            return Tensor(obj)
        if isinstance(obj, tuple):
            return tuple(conv(o) for o in obj)
        if isinstance(obj, list):
            return [conv(o) for o in obj]
        if isinstance(obj, dict):
            return {k: conv(v) for k, v in obj.items()}
        return obj

    return conv(batch)


class DataLoader:
    """Iterate over a dataset in batches of fastnn Tensors, PyTorch-style.

    Args:
        dataset: a map-style dataset (``__len__`` + ``__getitem__``; array-backed sets are fast).
        batch_size: samples per batch.
        shuffle: a new random order every epoch (every sample exactly once per epoch).
        drop_last: drop the final batch when it is smaller than ``batch_size``.
        generator: a ``numpy.random.Generator`` for shuffling and augmentation, or
        seed: an int to build one (reproducible epochs); neither = fastnn's global generator
            (``fastnn.manual_seed``).
        collate_fn: turns a list of samples into a batch (default :func:`default_collate`);
            used only for per-sample datasets.
        prefetch: prepare the next batch in a background thread while the current one is
            used (``True`` = queue of 2 batches; or an int queue depth). The thread stops
            when the iterator is exhausted, closed, garbage-collected or fails; an exception
            raised while building a batch is re-raised in the consuming loop.
        transform: an extra transform applied to the inputs (first field) of every batch,
            after the dataset's own transform.
        num_workers: accepted for PyTorch compatibility; ``> 0`` turns on ``prefetch``.
        pin_memory: accepted for PyTorch compatibility; ignored (there is no GPU).

    Batches are ``(Tensor(x), Tensor(y))`` for ``(x, y)`` datasets (the structure of a
    sample is kept). ``len(loader)`` is the number of batches per epoch.
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 generator: np.random.Generator | None = None, seed: int | None = None,
                 collate_fn: Callable | None = None, prefetch: bool | int = False,
                 transform: Callable | None = None, num_workers: int = 0, pin_memory: bool = False):
        if not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn if collate_fn is not None else default_collate
        self.transform = transform
        self.num_workers = int(num_workers)
        self.pin_memory = pin_memory
        if prefetch is True or (prefetch is False and self.num_workers > 0):
            prefetch = 2
        self.prefetch = int(prefetch) if prefetch else 0
        if self.prefetch < 0:
            raise ValueError(f"prefetch must be a bool or a non-negative int, got {prefetch!r}")
        self.generator = _make_rng(generator, seed)
        self._batched = hasattr(dataset, "get_batch")
        self._getitems = (not self._batched) and hasattr(dataset, "__getitems__")

    # -- sizes ---------------------------------------------------------------------------
    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    # -- one epoch's plan ------------------------------------------------------------------
    def _epoch_plan(self):
        """The index batches of one epoch and the epoch's augmentation generator.

        Drawn from ``self.generator`` in the consuming thread, before any batch is built.
        """
        n = len(self.dataset)
        gen = self.generator if self.generator is not None else global_generator()
        order = gen.permutation(n) if self.shuffle else np.arange(n, dtype=np.int64)
        aug_rng = np.random.default_rng(int(gen.integers(0, 2 ** 63 - 1)))
        stop = (n // self.batch_size) * self.batch_size if self.drop_last else n
        batches = [order[i:i + self.batch_size] for i in range(0, stop, self.batch_size)]
        return batches, aug_rng

    def _fetch(self, indices: np.ndarray, rng: np.random.Generator):
        ds = self.dataset
        if self._batched:
            batch = ds.get_batch(indices, rng=rng)
        elif self._getitems:
            batch = ds.__getitems__(indices.tolist())
            if isinstance(batch, list):
                batch = self.collate_fn(batch)
        else:
            batch = self.collate_fn([ds[int(i)] for i in indices])
        if self.transform is not None:
            if isinstance(batch, tuple):
                batch = (apply_transform(self.transform, batch[0], rng),) + batch[1:]
            elif isinstance(batch, list):
                batch = [apply_transform(self.transform, batch[0], rng)] + batch[1:]
            else:
                batch = apply_transform(self.transform, batch, rng)
        return _to_tensors(batch)

    def _generate(self, batches, rng) -> Iterator:
        for idx in batches:
            yield self._fetch(idx, rng)

    def __iter__(self) -> Iterator:
        batches, rng = self._epoch_plan()
        if self.prefetch:
            return _PrefetchIterator(self._generate(batches, rng), self.prefetch)
        return self._generate(batches, rng)

    def __repr__(self) -> str:
        return (f"DataLoader({type(self.dataset).__name__}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, prefetch={self.prefetch})")


_DONE = object()


class _PrefetchIterator:
    """Runs a batch generator in a daemon thread, ``depth`` batches ahead, through a bounded queue.

    Shutdown: ``close()`` (also called on exhaustion, on error, by ``__del__`` when an abandoned
    iterator is collected, and by ``with``) sets a stop flag, drains the queue so a blocked
    producer wakes up, and joins the thread.
    """

    def __init__(self, source: Iterator, depth: int):
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._produce, args=(source, self._queue, self._stop),
                                        name="fastnn-prefetch", daemon=True)
        self._thread.start()

    @staticmethod
    def _produce(source, q: queue.Queue, stop: threading.Event):
        # a static method holding only the queue and the event, so the iterator object itself
        # is not kept alive by its thread and can be garbage-collected when abandoned
        def put(item) -> bool:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            for batch in source:
                if not put((True, batch)):
                    return
            put((True, _DONE))
        except BaseException as exc:  # handed to the consumer, re-raised there
            put((False, exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    def __iter__(self):
        return self

    def __next__(self):
        if self._closed:
            raise StopIteration
        while True:
            try:
                ok, item = self._queue.get(timeout=0.1)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    self.close()
                    raise RuntimeError("fastnn DataLoader prefetch thread died without a result")
        if not ok:
            self.close()
            raise item
        if item is _DONE:
            self.close()
            raise StopIteration
        return item

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
