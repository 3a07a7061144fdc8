"""DataLoader: batches of fastnn Tensors from a dataset, with PyTorch's arguments and semantics.

    loader = DataLoader(train_set, batch_size=128, shuffle=True, seed=0)
    for epoch in range(10):
        for x, y in loader:          # x, y are fastnn Tensors
            ...

Which indices, in which groups: PyTorch's machinery exactly — a sampler
(:class:`~fastnn.utils.data.SequentialSampler`, or :class:`~fastnn.utils.data.RandomSampler`
with ``shuffle=True``, or yours) grouped by a :class:`~fastnn.utils.data.BatchSampler`
(``batch_size``, ``drop_last``), or your ``batch_sampler``; ``batch_size=None`` turns batching
off. An :class:`~fastnn.utils.data.IterableDataset` is read in its own order instead.

How a batch is built depends on the dataset (see :mod:`fastnn.utils.data.dataset`):

* array-backed (has ``get_batch(indices, rng)``) with the default ``collate_fn``: ONE
  fancy-indexing call per array per batch, then the dataset's transform on the whole batch;
* ``__getitems__(indices)`` (PyTorch's batched hook): a returned ``list`` is taken as a list of
  samples and collated; anything else (tuple of arrays, array, dict) as an already-built batch;
* otherwise: ``dataset[i]`` for each index, then ``collate_fn`` (default:
  :func:`~fastnn.utils.data.default_collate`).

Every NumPy array in the result is wrapped into a fastnn Tensor (so a ``collate_fn`` may
return arrays); tuples of fields come out as lists, as from PyTorch's ``default_collate``.

Randomness: one generator — ``generator=``, or a new one from ``seed=``, or else fastnn's
global generator (so ``fastnn.manual_seed(s)`` makes the run reproducible).
When an epoch starts, the sampler draws the epoch's order from it and then the loader draws
a seed for the epoch's augmentation generator, which array-backed transforms receive as
``rng`` and per-sample transforms reach through
:func:`~fastnn.utils.data.worker.sample_generator`. So every epoch differs, a seeded
loader repeats exactly, and a background thread gives the very same batches as none.
"""
from __future__ import annotations

import itertools
import numbers
import queue
import threading
import time
from typing import Callable, Iterator

import numpy as np

from ._generator import as_generator, draw_from
from .collate import collate_arrays, default_collate, default_convert, to_tensors
from .dataset import IterableDataset, apply_transform
from .sampler import (BatchSampler, RandomSampler, SequentialSampler, check_batch_args, epoch_batches,
                      epoch_indices)
from .worker import WorkerInfo, fetching

__all__ = ["DataLoader"]

_END = object()


class DataLoader:
    """Iterate over a dataset in batches of fastnn Tensors, PyTorch-style.

    PyTorch's arguments, with PyTorch's meaning and checks (mutually exclusive options raise
    the same ``ValueError`` s):

    Args:
        dataset: map-style (``__len__`` + ``__getitem__``; array-backed sets are fast) or an
            :class:`~fastnn.utils.data.IterableDataset`.
        batch_size: samples per batch; ``None`` = no batching (each sample converted on its own).
        shuffle: a new random order every epoch (default False).
        sampler, batch_sampler: your own index order / index groups (see :mod:`.sampler`).
        num_workers: ``0`` builds batches in the loop's own thread. ``> 0`` builds them in ONE
            background thread (not processes, and one thread whatever the number), up to
            ``prefetch_factor`` batches ahead while the loop works; the batches are the same
            as with ``num_workers=0``. Inside that thread ``get_worker_info()`` describes
            worker 0 of 1 and ``worker_init_fn(0)`` is called at the start of each epoch
            (once, with ``persistent_workers=True``). The dataset is shared, not copied.
        collate_fn: turns a list of samples into a batch (default :func:`default_collate`;
            with ``batch_size=None``, :func:`default_convert`).
        drop_last: drop the final batch when it is smaller than ``batch_size``.
        timeout: seconds to wait for a batch from the background thread before raising
            ``RuntimeError`` (0 = wait forever); unused without one.
        generator: a ``fastnn.Generator`` or a ``numpy.random.Generator`` (what
            ``fastnn.manual_seed`` returns) for the order and the augmentation.
        prefetch_factor: batches prepared ahead by the background thread (default 2).
        pin_memory, pin_memory_device, multiprocessing_context, in_order: accepted for
            compatibility; there is no GPU and no process, and batches always come in order.

    fastnn's additions (keyword-only):
        seed: an int to build the generator from (reproducible epochs).
        prefetch: the background thread without ``num_workers`` (``True`` = 2 batches ahead,
            or an int depth).
        transform: an extra transform of the inputs (first field) of every batch, after the
            dataset's own; fastnn batch transforms receive the epoch's generator.

    ``len(loader)`` is the number of batches per epoch. The background thread stops when its
    iterator is exhausted, closed, garbage-collected or fails; an exception raised while
    building a batch is re-raised in the consuming loop.
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None, sampler=None,
                 batch_sampler=None, num_workers: int = 0, collate_fn: Callable | None = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable | None = None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True, seed: int | None = None,
                 prefetch: bool | int = False, transform: Callable | None = None):
        if not isinstance(num_workers, numbers.Integral) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable workers.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified with num_workers > 0 "
                             "(use prefetch= for fastnn's background thread without workers)")
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            for name, value in (("shuffle", shuffle), ("sampler", sampler), ("batch_sampler", batch_sampler)):
                if value is not None and value is not False:
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} option, "
                                     f"but got {name}={value!r}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                 "sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive "
                             "with drop_last")

        self.dataset = dataset
        self.num_workers = int(num_workers)
        self.generator = as_generator(generator, seed)
        self.shuffle = shuffle
        if not self._iterable and sampler is None:
            sampler = RandomSampler(dataset, generator=self.generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None:
            if self._iterable:  # the stream is grouped by _next_batch
                check_batch_args(batch_size, drop_last)
            else:
                batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.batch_size = batch_size
        self.drop_last = bool(drop_last)
        self._auto_collation = batch_sampler is not None or (self._iterable and batch_size is not None)
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.pin_memory, self.pin_memory_device, self.in_order = pin_memory, pin_memory_device, in_order
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.persistent_workers = persistent_workers
        self.prefetch_factor = prefetch_factor if prefetch_factor is not None or num_workers == 0 else 2
        self.transform = transform
        if isinstance(prefetch, bool):
            depth = 2 if prefetch else 0
        elif isinstance(prefetch, numbers.Integral) and prefetch >= 0:
            depth = int(prefetch)
        else:
            raise ValueError(f"prefetch must be a bool or a non-negative int, got {prefetch!r}")
        if depth == 0 and self.num_workers > 0:
            depth = max(1, self.prefetch_factor)
        self.prefetch = depth
        # the array-backed fast path is only taken when it gives what collate_fn would
        self._batched = hasattr(dataset, "get_batch") and self.collate_fn is default_collate
        self._getitems = not hasattr(dataset, "get_batch") and hasattr(dataset, "__getitems__")
        self._workers_initialized = False

    # -- sizes ---------------------------------------------------------------------------
    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self._auto_collation:
            return len(self.batch_sampler)
        return len(self.sampler)

    # -- one epoch -------------------------------------------------------------------------
    def _index_plan(self):
        """This epoch's index batches (or single indices without batching), drawn now.

        Built-in samplers give their whole epoch as arrays; another sampler with a length is
        iterated to a list here, so that its random draws happen in the calling thread, in
        step with the loop; one without a length (possibly endless) is iterated lazily.
        """
        if self._auto_collation:
            source, fast = self.batch_sampler, epoch_batches(self.batch_sampler)
        else:
            source, fast = self.sampler, epoch_indices(self.sampler)
        if fast is not None:
            return fast if self._auto_collation else fast.tolist()
        try:
            len(source)
        except TypeError:
            return iter(source)
        return list(source)

    def __iter__(self) -> Iterator:
        plan = None if self._iterable else self._index_plan()
        seed = int(draw_from(self.generator).integers(0, 2 ** 63 - 1))
        batches = self._batches(plan, seed)
        if self.prefetch:
            return _Prefetcher(batches, self.prefetch, self.timeout)
        return batches

    def _batches(self, plan, seed: int) -> Iterator:
        """Generate the epoch's batches (in whichever thread runs this generator)."""
        rng = np.random.default_rng(seed)
        info = WorkerInfo(id=0, num_workers=1, seed=seed, dataset=self.dataset) if self.num_workers else None
        if info is not None and self.worker_init_fn is not None:
            if not (self.persistent_workers and self._workers_initialized):
                with fetching(rng, info):
                    self.worker_init_fn(0)
            self._workers_initialized = True
        if plan is None:
            with fetching(rng, info):
                stream = iter(self.dataset)
            while True:
                with fetching(rng, info):
                    batch = self._next_batch(stream, rng)
                if batch is _END:
                    return
                yield batch
        else:
            for key in plan:
                with fetching(rng, info):
                    batch = self._fetch(key, rng)
                yield batch

    def _fetch(self, key, rng: np.random.Generator):
        """The batch for the index batch ``key`` (or the sample at index ``key`` without batching).

        Indices are passed on as the sampler gave them (Python ints from the built-in ones), so
        a dataset may use keys of its own kind; only ``get_batch`` needs an int64 array.
        """
        ds = self.dataset
        if not self._auto_collation:
            return self._finish(self.collate_fn(ds[key]), rng)
        if self._batched:
            batch = ds.get_batch(np.asarray(key, dtype=np.int64), rng=rng)
            batch = list(batch) if isinstance(batch, tuple) else batch
            return self._finish(batch, rng)
        keys = key.tolist() if isinstance(key, np.ndarray) else list(key)
        if self._getitems:
            batch = ds.__getitems__(keys)
            if isinstance(batch, list):
                batch = self._collate(batch)
        else:
            batch = self._collate([ds[k] for k in keys])
        return self._finish(batch, rng)

    def _next_batch(self, stream: Iterator, rng: np.random.Generator):
        """The next batch of an iterable dataset's stream, or ``_END``."""
        if not self._auto_collation:
            sample = next(stream, _END)
            return sample if sample is _END else self._finish(self.collate_fn(sample), rng)
        samples = list(itertools.islice(stream, self.batch_size))
        if not samples or (self.drop_last and len(samples) < self.batch_size):
            return _END
        return self._finish(self._collate(samples), rng)

    def _collate(self, samples: list):
        # the default collate stays in NumPy here: the batch transform sees arrays, and
        # _finish wraps everything into Tensors once
        return collate_arrays(samples) if self.collate_fn is default_collate else self.collate_fn(samples)

    def _finish(self, batch, rng: np.random.Generator):
        """Apply the loader's ``transform`` to the inputs (first field) and wrap arrays into Tensors."""
        if self.transform is not None:
            if isinstance(batch, (tuple, list)):
                batch = type(batch)([apply_transform(self.transform, batch[0], rng), *batch[1:]])
            else:
                batch = apply_transform(self.transform, batch, rng)
        return to_tensors(batch)

    def __repr__(self) -> str:
        return (f"DataLoader({type(self.dataset).__name__}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, num_workers={self.num_workers}, "
                f"prefetch={self.prefetch})")


class _Prefetcher:
    """Runs a batch generator in a daemon thread, ``depth`` batches ahead, through a bounded queue.

    Shutdown: ``close()`` (also called on exhaustion, on error, on timeout, by ``__del__`` when
    an abandoned iterator is collected, and by ``with``) sets a stop flag, drains the queue so a
    blocked producer wakes up, and joins the thread.
    """

    _POLL = 0.05  # seconds between checks of the stop flag / the thread's liveness

    def __init__(self, source: Iterator, depth: int, timeout: float = 0):
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._closed = False
        self._timeout = timeout
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
                    q.put(item, timeout=_Prefetcher._POLL)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            for batch in source:
                if not put((True, batch)):
                    return
            put((True, _END))
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
        start = time.monotonic()
        while True:
            try:
                ok, item = self._queue.get(timeout=self._POLL)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    self.close()
                    raise RuntimeError("fastnn DataLoader background thread died without a result")
                if self._timeout and time.monotonic() - start > self._timeout:
                    self.close()
                    raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds") from None
        if not ok:
            self.close()
            raise item
        if item is _END:
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
