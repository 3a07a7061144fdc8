"""What code running inside a DataLoader's fetch can ask: who am I, and which random numbers do I use.

* :func:`get_worker_info` is PyTorch's: ``None`` in the main process (``num_workers=0``), else
  a :class:`WorkerInfo`. fastnn's ``num_workers > 0`` is **one** background thread, so inside it
  the info says ``id=0, num_workers=1``: an :class:`~fastnn.utils.data.IterableDataset` that
  shards itself by worker (the usual PyTorch recipe) then reads everything once, as it should.
* :func:`sample_generator` is the generator per-sample random transforms draw from (the
  ``fastnn.vision.transforms``). While a DataLoader builds a batch it is the loader's
  per-epoch generator, in whichever thread does the work; elsewhere it is fastnn's global
  generator. Why not always the global one: a background thread drawing from it would race
  with the training loop (dropout, ...) and make runs irreproducible, and a loader that
  prefetches would augment differently from one that does not. This way ``seed=`` /
  ``generator=`` / ``fastnn.manual_seed`` fix the augmentation, with or without workers.

Both live in thread-local storage, set only for the duration of one fetch.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._generator import draw_from

__all__ = ["WorkerInfo", "get_worker_info", "sample_generator"]

_local = threading.local()


@dataclass(frozen=True)
class WorkerInfo:
    """PyTorch's worker description: ``id``, ``num_workers``, ``seed`` and ``dataset``."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


def get_worker_info() -> WorkerInfo | None:
    """The current DataLoader worker's :class:`WorkerInfo`, or None outside a worker."""
    return getattr(_local, "worker_info", None)


def sample_generator() -> np.random.Generator:
    """The generator for per-sample randomness: the fetching loader's, else fastnn's global one."""
    return draw_from(getattr(_local, "rng", None))


class fetching:
    """``with fetching(rng, worker_info):`` runs the enclosed code as a DataLoader fetch.

    A small class rather than ``@contextmanager``: it is entered once per batch.
    """

    __slots__ = ("rng", "worker_info", "saved")

    def __init__(self, rng: np.random.Generator, worker_info: WorkerInfo | None = None):
        self.rng, self.worker_info = rng, worker_info

    def __enter__(self):
        self.saved = getattr(_local, "rng", None), getattr(_local, "worker_info", None)
        _local.rng, _local.worker_info = self.rng, self.worker_info

    def __exit__(self, *exc):
        _local.rng, _local.worker_info = self.saved
