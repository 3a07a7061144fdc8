"""Turning samples into batches: :func:`default_collate` and :func:`default_convert`, as in PyTorch.

The rules are PyTorch's, structure for structure: arrays and Tensors are stacked along a new
first dimension; numbers become a 1-D tensor; dicts stay dicts (of batches); named tuples stay
named tuples; other tuples and lists become a *list* of batches, one per field (PyTorch's
choice, so ``x, y = batch`` works either way); strings and bytes are kept as a list.

One difference: a batch of Python ``float`` s becomes float32, not PyTorch's float64, because
fastnn's kernels work in float32 (a float64 target would be converted, or refused, at the
first loss). NumPy float64 values stay float64, as in PyTorch.

The work is done on NumPy arrays (:func:`collate_arrays`) and the result is wrapped into
fastnn Tensors at the end (:func:`to_tensors`). The DataLoader uses the array form directly,
so that its batch transforms see arrays and the wrapping happens once per batch.
"""
from __future__ import annotations

import collections.abc
import numbers
from typing import Sequence

import numpy as np

from ...tensor import Tensor

__all__ = ["default_collate", "default_convert", "collate_arrays", "to_tensors"]

_NOT_BATCHABLE = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _is_namedtuple(obj) -> bool:
    return isinstance(obj, tuple) and hasattr(obj, "_fields")


def _rebuild(template, fields: list):
    """``fields`` in the container type of ``template`` where PyTorch keeps it (lists, dicts), else a list."""
    try:
        return type(template)(fields)
    except TypeError:
        return fields


def _stack(arrays: list[np.ndarray], what) -> np.ndarray:
    if arrays[0].dtype.kind in "OSUV":
        raise TypeError(_NOT_BATCHABLE.format(f"arrays of dtype {arrays[0].dtype}"))
    try:
        return np.stack(arrays)
    except ValueError as e:
        shapes = sorted({a.shape for a in arrays})
        raise ValueError(f"default_collate: samples of {what} have different shapes {shapes[:4]}; "
                         "pass a collate_fn") from e


def collate_arrays(batch: Sequence):
    """:func:`default_collate` with NumPy arrays where it returns Tensors."""
    if not isinstance(batch, collections.abc.Sequence) or isinstance(batch, (str, bytes)) or len(batch) == 0:
        raise ValueError("default_collate needs a non-empty list of samples")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack([t.data for t in batch], "Tensors")
    if isinstance(elem, np.ndarray):
        return _stack([np.asarray(a) for a in batch], "arrays")
    if isinstance(elem, (str, bytes, np.str_, np.bytes_)):
        return batch                             # as given (a tuple inside a transposed structure)
    if isinstance(elem, np.generic):            # NumPy scalars keep their dtype, as in PyTorch
        return _stack([np.asarray(a) for a in batch], "NumPy scalars")
    if isinstance(elem, numbers.Number):
        arr = np.asarray(batch)
        if arr.dtype.kind == "f":                # Python floats (or ints mixed with floats): float32
            return arr.astype(np.float32)
        if arr.dtype.kind in "iu":
            return arr.astype(np.int64, copy=False)
        if arr.dtype.kind == "b":
            return arr
        raise TypeError(_NOT_BATCHABLE.format(f"numbers of type {type(elem).__name__}"))
    if isinstance(elem, collections.abc.Mapping):
        out = {key: collate_arrays([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(out)
        except TypeError:
            return out
    if _is_namedtuple(elem):
        return type(elem)(*(collate_arrays(field) for field in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [collate_arrays(field) for field in zip(*batch)]
        return fields if isinstance(elem, tuple) else _rebuild(elem, fields)
    raise TypeError(_NOT_BATCHABLE.format(type(elem).__name__))


def to_tensors(obj):
    """Every NumPy array in ``obj`` (nested lists, tuples, dicts) wrapped into a fastnn Tensor.

    ``Tensor(a)`` does not copy float32, float64, int64, uint8 and bool arrays; other dtypes
    get fastnn's defaults (other integers become int64, other floats float32).
    """
    if isinstance(obj, np.ndarray):
        return Tensor(obj)
    if _is_namedtuple(obj):
        return type(obj)(*(to_tensors(o) for o in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(to_tensors(o) for o in obj)
    if isinstance(obj, dict):
        return type(obj)((k, to_tensors(v)) for k, v in obj.items())
    return obj


def default_collate(batch: list):
    """Stack a list of samples into a batch of fastnn Tensors (PyTorch's rules; see the module doc).

        default_collate([(np.ones(3), 0), (np.zeros(3), 1)])
        # -> [Tensor of shape (2, 3), Tensor([0, 1]) int64]
    """
    return to_tensors(collate_arrays(batch))


def default_convert(data):
    """PyTorch's ``default_convert``: NumPy arrays and scalars (in any structure) to Tensors, no batching.

    The collate function of a DataLoader with ``batch_size=None``. Python numbers and strings
    are left as they are; tuples become lists, as in PyTorch.
    """
    if isinstance(data, np.ndarray):
        return data if data.dtype.kind in "OSUV" else Tensor(data)
    if isinstance(data, np.generic) and not isinstance(data, (np.str_, np.bytes_)):
        return Tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        out = {k: default_convert(v) for k, v in data.items()}
        try:
            return type(data)(out)
        except TypeError:
            return out
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild(data, [default_convert(d) for d in data])
    return data
