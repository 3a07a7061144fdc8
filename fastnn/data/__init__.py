"""fastnn.data: datasets, the DataLoader, batch transforms, and ready-made data sets.

    from fastnn.data import DataLoader, MNIST, transforms as T
    train = MNIST(train=True, transform=T.ToFloat())            # official files, verified
    loader = DataLoader(train, batch_size=128, shuffle=True, seed=0, prefetch=True)
    for x, y in loader:                                        # fastnn Tensors
        ...

Offline options: ``MNIST(subset="mini")`` / :func:`mnist_mini` (shipped inside fastnn) and the
toy sets in :mod:`fastnn.data.toy` (``xor``, ``spirals``, ``moons``, ``iris``).
"""
from . import transforms
from ._storage import DatasetError, DatasetNotFoundError, data_root
from .dataloader import DataLoader, default_collate
from .dataset import ArrayDataset, ConcatDataset, Dataset, Subset, TensorDataset, random_split
from .datasets import CIFAR10, MNIST, FashionMNIST, mnist_mini
from .toy import iris, moons, spirals, xor

__all__ = [
    "Dataset", "ArrayDataset", "TensorDataset", "Subset", "ConcatDataset", "random_split",
    "DataLoader", "default_collate",
    "MNIST", "FashionMNIST", "CIFAR10", "mnist_mini",
    "xor", "spirals", "moons", "iris",
    "transforms", "DatasetError", "DatasetNotFoundError", "data_root",
]
