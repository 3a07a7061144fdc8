"""``DistributedSampler``: each of ``num_replicas`` processes reads its own share of a data set.

    sampler = DistributedSampler(train, num_replicas=world_size, rank=rank, shuffle=True, seed=0)
    loader = DataLoader(train, batch_size=64, sampler=sampler)   # not shuffle=True: the sampler shuffles
    for epoch in range(epochs):
        sampler.set_epoch(epoch)          # a new order every epoch, the same on every rank
        for xb, yb in loader:
            ...

PyTorch's class, with PyTorch's arithmetic. Each epoch:

1. the global order: ``0, 1, ..., n - 1``, or with ``shuffle=True`` a permutation of it that
   depends only on ``seed + epoch`` (so every rank computes the same one without talking);
2. made divisible by ``num_replicas``: with ``drop_last=False`` the order is padded by
   repeating its own start (wrapping round as often as needed when the data set is smaller
   than the padding), so some samples are seen twice; with ``drop_last=True`` its tail is cut,
   so some samples are not seen this epoch;
3. rank ``r`` takes every ``num_replicas``-th index starting at ``r``:
   ``order[r::num_replicas]``, ``num_samples`` of them — the same number on every rank.

``num_samples = ceil(n / num_replicas)``, or with ``drop_last=True`` and an uneven split
``ceil((n - num_replicas) / num_replicas)`` (= ``n // num_replicas``).

The one difference from PyTorch is the permutation itself. PyTorch draws
``torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch))``; fastnn draws
``fastnn.randperm(n, generator=fastnn.Generator().manual_seed(seed + epoch))``, that is
``numpy.random.default_rng(seed + epoch).permutation(n)`` (NumPy's PCG64; ``seed + epoch`` is
taken modulo 2**64, so negative seeds work as in PyTorch). Same structure, different numbers:
with ``shuffle=False`` the indices are PyTorch's exactly.

``num_replicas`` and ``rank`` default to the world size and rank of the default process group
of :mod:`fastnn.distributed` (imported only then); without it, pass them explicitly.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .sampler import _ArraySampler

__all__ = ["DistributedSampler"]


def _distributed_module():
    """fastnn.distributed, imported lazily: the sampler itself needs no process group."""
    from ... import distributed
    return distributed


def _from_process_group(what: str) -> int:
    """``get_world_size()`` or ``get_rank()`` of fastnn.distributed's default group, or a clear error."""
    arg = "num_replicas" if what == "world_size" else "rank"
    advice = ("pass num_replicas= and rank= explicitly, e.g. DistributedSampler(dataset, "
              "num_replicas=world_size, rank=rank)")
    try:
        dist = _distributed_module()
    except ImportError as e:
        raise RuntimeError(f"DistributedSampler: {arg} was not given and cannot be taken from a process "
                           f"group: fastnn.distributed is not available ({e}); {advice}") from None
    getter = getattr(dist, f"get_{what}", None)
    if getter is None:
        raise RuntimeError(f"DistributedSampler: {arg} was not given and fastnn.distributed has no "
                           f"get_{what}(); {advice}")
    is_initialized = getattr(dist, "is_initialized", None)
    if is_initialized is not None and not is_initialized():
        raise RuntimeError(f"DistributedSampler: {arg} was not given and the default process group is not "
                           f"initialized: call fastnn.distributed.init_process_group(...) first, or {advice}")
    return int(getter())


def _int(value, name: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name} should be an int, got {value!r}")
    return int(value)


class DistributedSampler(_ArraySampler):
    """The indices of ``dataset`` that rank ``rank`` of ``num_replicas`` reads (see the module doc).

    Args:
        dataset: a data set with a length (assumed constant).
        num_replicas: the number of processes (default: the world size of fastnn.distributed).
        rank: this process's rank in ``[0, num_replicas)`` (default: from fastnn.distributed).
        shuffle: a new permutation each epoch (same on every rank) instead of ``0..n-1``.
        seed: the shuffling seed; must be the same on every rank.
        drop_last: cut the tail to divide evenly instead of padding with repeated indices.

    Call :meth:`set_epoch` at the start of every epoch, before iterating the DataLoader;
    otherwise every epoch repeats the same order.
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False):
        if num_replicas is None:
            num_replicas = _from_process_group("world_size")
        if rank is None:
            rank = _from_process_group("rank")
        num_replicas, rank = _int(num_replicas, "num_replicas"), _int(rank, "rank")
        if num_replicas <= 0:
            raise ValueError(f"num_replicas should be a positive integer, got {num_replicas}")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = bool(drop_last)
        n = len(dataset)
        if self.drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = bool(shuffle)
        self.seed = _int(seed, "seed")

    def permutation(self, n: int) -> np.ndarray:
        """This epoch's global order of ``n`` indices with ``shuffle=True``: NumPy's PCG64 seeded
        with ``seed + epoch`` (mod 2**64), the same on every rank."""
        return np.random.default_rng((self.seed + self.epoch) % (1 << 64)).permutation(n).astype(np.int64)

    def _epoch_indices(self) -> np.ndarray:
        n = len(self.dataset)
        order = self.permutation(n) if self.shuffle else np.arange(n, dtype=np.int64)
        if not self.drop_last:
            padding = self.total_size - n
            if padding > 0:   # repeat the order's start, wrapping round if the padding is longer than it
                order = np.concatenate([order, np.resize(order, padding)])
        else:
            order = order[:self.total_size]
        if len(order) != self.total_size:   # pragma: no cover - the arithmetic above guarantees it
            raise AssertionError(f"Number of indices ({len(order)}) does not match total_size ({self.total_size})")
        mine = order[self.rank:self.total_size:self.num_replicas]
        if len(mine) != self.num_samples:   # pragma: no cover
            raise AssertionError(f"Number of subsampled indices ({len(mine)}) does not match "
                                 f"num_samples ({self.num_samples})")
        return mine

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch``'s order from the next iteration on (with ``shuffle=True``; the same on all ranks)."""
        self.epoch = epoch

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(num_replicas={self.num_replicas}, rank={self.rank}, "
                f"shuffle={self.shuffle}, seed={self.seed}, drop_last={self.drop_last})")
