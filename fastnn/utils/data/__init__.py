"""fastnn.utils.data: PyTorch's ``torch.utils.data`` for fastnn — datasets, samplers, the DataLoader.

    from fastnn.utils.data import DataLoader, TensorDataset, random_split
    train, val = random_split(TensorDataset(X, y), [0.8, 0.2], seed=0)
    for xb, yb in DataLoader(train, batch_size=64, shuffle=True):   # fastnn Tensors
        ...

The same names, arguments and batch semantics as PyTorch. The few differences (see
:mod:`.dataloader` and :mod:`.collate`): one background thread where PyTorch starts worker
processes, Python floats collated to float32, random orders drawn by NumPy's generator
rather than PyTorch's; ``generator=`` takes a ``fastnn.Generator`` or a
``numpy.random.Generator``. fastnn's additions: array-backed datasets
(:class:`ArrayDataset`, ``get_batch``) that the loader batches with one NumPy call, and the
loader's ``seed=``, ``prefetch=`` and ``transform=``.

Module map: :mod:`.dataset` (datasets, ``random_split``), :mod:`.sampler`,
:mod:`.distributed` (``DistributedSampler``), :mod:`.collate`,
:mod:`.dataloader`, :mod:`.worker` (``get_worker_info`` and the per-sample generator).
``fastnn.data`` re-exports these names next to its data set readers.
"""
from .collate import default_collate, default_convert
from .dataloader import DataLoader
from .distributed import DistributedSampler
from .dataset import (ArrayDataset, ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset,
                      TensorDataset, random_split)
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                      WeightedRandomSampler)
from .worker import WorkerInfo, get_worker_info

__all__ = [
    "Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset", "ChainDataset", "Subset",
    "random_split", "ArrayDataset",
    "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
    "BatchSampler", "DistributedSampler",
    "DataLoader", "default_collate", "default_convert", "get_worker_info", "WorkerInfo",
]
