"""fastnn.vision: fastnn's torchvision — image data sets, per-sample transforms, image grids.

    from fastnn.vision import datasets, transforms
    from fastnn.vision.utils import make_grid, save_image
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train = datasets.MNIST("data", train=True, transform=tf)

The names, arguments and semantics are torchvision's, so ``import torchvision`` code ports by
changing the import. Differences, all for the same reason (no Pillow dependency): the raw
images of the data sets are uint8 NumPy arrays in place of PIL Images (``ToTensor`` turns them
into exactly the tensors torchvision makes; the colour transforms apply Pillow's own
algorithms to them, as torchvision does to PIL Images), geometric transforms run torchvision's
tensor algorithm on them where torchvision would call Pillow (a few pixels can differ), random
parameters come from NumPy's generator (:mod:`.transforms`), and ``save_image`` writes PNG
only. Details in each module.

* :mod:`.datasets` — ``MNIST``, ``FashionMNIST``, ``CIFAR10``, ``CIFAR100`` (one sample at a time);
* :mod:`.transforms` — ``Compose``, ``ToTensor``, ``Normalize``, ``RandomCrop``,
  ``RandomResizedCrop``, ``RandomRotation``, ``ColorJitter``, ``RandomErasing``, ... and
  ``transforms.functional``;
* :mod:`.utils` — ``make_grid``, ``save_image``;
* :mod:`.models` — ``resnet18/34/50``, ``vgg11/16(_bn)``, ``alexnet`` (torchvision's modules and
  state-dict names), ``get_model``.

For fast training, :mod:`fastnn.data` holds the array-backed versions of the same data sets and
transforms that work on whole batches.
"""
from . import datasets, transforms, utils
from . import models

__all__ = ["datasets", "transforms", "utils", "models"]
