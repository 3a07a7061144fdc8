"""fastnn.data: data set readers, batch transforms, toy sets — and the DataLoader machinery.

    from fastnn.data import DataLoader, MNIST, transforms as T
    train = MNIST(train=True, transform=T.ToFloat())            # official files, verified
    loader = DataLoader(train, batch_size=128, shuffle=True, seed=0, prefetch=True)
    for x, y in loader:                                        # fastnn Tensors
        ...

The readers here are array-backed: whole batches come out of one NumPy call and the
transforms in :mod:`fastnn.data.transforms` work on whole batches. For torchvision's
per-sample datasets and transforms see :mod:`fastnn.vision`.

Dataset, DataLoader, samplers, ``random_split`` and ``default_collate`` live in
:mod:`fastnn.utils.data` (PyTorch's ``torch.utils.data``) and are re-exported here.

Offline options: ``MNIST(subset="mini")`` / :func:`mnist_mini` (shipped inside fastnn) and the
toy sets in :mod:`fastnn.data.toy` (``xor``, ``spirals``, ``moons``, ``iris``).
"""
from ..utils.data import (ArrayDataset, BatchSampler, ChainDataset, ConcatDataset, DataLoader, Dataset,
                          IterableDataset, RandomSampler, Sampler, SequentialSampler, StackDataset, Subset,
                          SubsetRandomSampler, TensorDataset, WeightedRandomSampler, default_collate,
                          default_convert, get_worker_info, random_split)
from . import transforms
from ._storage import DatasetError, DatasetNotFoundError, data_root
from .datasets import CIFAR10, MNIST, FashionMNIST, mnist_mini
from .toy import iris, moons, spirals, xor

__all__ = [
    "Dataset", "IterableDataset", "ArrayDataset", "TensorDataset", "StackDataset", "Subset", "ConcatDataset",
    "ChainDataset", "random_split",
    "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
    "BatchSampler",
    "DataLoader", "default_collate", "default_convert", "get_worker_info",
    "MNIST", "FashionMNIST", "CIFAR10", "mnist_mini",
    "xor", "spirals", "moons", "iris",
    "transforms", "DatasetError", "DatasetNotFoundError", "data_root",
]
