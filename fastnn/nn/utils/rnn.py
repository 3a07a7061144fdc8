"""Batches of variable-length sequences (``torch.nn.utils.rnn``'s names).

* ``pad_sequence``: a list of (L_i, *) Tensors to one padded (L_max, B, *) Tensor;
* ``pack_padded_sequence`` / ``pad_packed_sequence``: a padded batch to a
  :class:`PackedSequence` and back; ``pack_sequence`` / ``unpack_sequence`` from and to
  lists; ``unpad_sequence``.

A PackedSequence stores the batch time step by time step with the finished sequences left
out: sorted longest first, step t holds ``batch_sizes[t]`` rows (the sequences still
running), so ``data`` is (sum of lengths, *). The recurrent layers accept one and skip the
padding (see ``fastnn/nn/recurrent.py``).

Every function here is differentiable: packing and padding are row gathers
(``index_select``), whose backward scatters the gradient back.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ...creation import full
from ...ops.shape import cat, stack
from ...tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "unpad_sequence", "pack_sequence", "unpack_sequence"]


def _long(values) -> Tensor:
    return Tensor(np.asarray(values, dtype=np.int64))


def _ints(values) -> np.ndarray:
    if isinstance(values, Tensor):
        values = values.data
    return np.asarray(values).astype(np.int64, copy=False)


def invert_permutation(permutation):
    """The inverse of a 1-D permutation Tensor (None stays None)."""
    if permutation is None:
        return None
    perm = _ints(permutation)
    out = np.empty_like(perm)
    out[perm] = np.arange(perm.size, dtype=np.int64)
    return _long(out)


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """``(data, batch_sizes, sorted_indices, unsorted_indices)``: made by
    :func:`pack_padded_sequence` / :func:`pack_sequence`, not by hand. ``batch_sizes`` (int64)
    counts the sequences alive at each step; ``sorted_indices`` (or None when the batch came
    sorted) says which original sequence is the k-th longest, ``unsorted_indices`` inverts it."""

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> "PackedSequence":
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def cpu(self, *args, **kwargs) -> "PackedSequence":
        return self

    def double(self) -> "PackedSequence":
        return self.to(dtype=np.float64)

    def float(self) -> "PackedSequence":
        return self.to(dtype=np.float32)

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


# ------------------------------------------------------------------ the gathers

def _lengths_of(batch_sizes: np.ndarray) -> np.ndarray:
    """Sorted lengths from batch sizes: sequence s runs while batch_sizes[t] > s."""
    batch = int(batch_sizes[0]) if batch_sizes.size else 0
    return (batch_sizes[None, :] > np.arange(batch)[:, None]).sum(axis=1).astype(np.int64)


def _packed_to_padded(data: Tensor, batch_sizes, total_length=None, padding_value=0.0):
    """(L, B, *) padded Tensor in *sorted* order (a row gather from ``data`` and one padding
    row), and the sorted lengths (a NumPy array)."""
    batch_sizes = _ints(batch_sizes)
    steps = int(total_length) if total_length is not None else batch_sizes.size
    batch = int(batch_sizes[0])
    offsets = np.concatenate([[0], np.cumsum(batch_sizes)[:-1]])
    rows = np.full((steps, batch), data.shape[0], dtype=np.int64)       # the padding row
    for t, (offset, size) in enumerate(zip(offsets, batch_sizes)):
        rows[t, :size] = offset + np.arange(size)
    pad = full((1, *data.shape[1:]), padding_value, dtype=data.dtype)
    padded = cat([data, pad], 0).index_select(0, rows.reshape(-1))
    return padded.reshape(steps, batch, *data.shape[1:]), _lengths_of(batch_sizes)


def _padded_to_packed(padded: Tensor, batch_sizes) -> Tensor:
    """The rows of a (L, B, *) padded Tensor (sorted order) that a PackedSequence keeps."""
    batch_sizes = _ints(batch_sizes)
    batch = padded.shape[1]
    rows = np.concatenate([t * batch + np.arange(size) for t, size in enumerate(batch_sizes)]).astype(np.int64)
    return padded.reshape(-1, *padded.shape[2:]).index_select(0, rows)


# ------------------------------------------------------------------ the public functions

def pack_padded_sequence(input, lengths, batch_first: bool = False, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded (T, B, *) batch (or (B, T, *) with ``batch_first``) whose sequence b has
    ``lengths[b]`` valid steps. With ``enforce_sorted`` (the default) the lengths must be in
    decreasing order; ``enforce_sorted=False`` sorts them (remembered in ``sorted_indices``)."""
    input = input if isinstance(input, Tensor) else Tensor(input)
    lengths = _ints(lengths).reshape(-1)
    if input.ndim < 2:
        raise ValueError(f"pack_padded_sequence: input must have at least 2 dimensions, got shape {input.shape}")
    if batch_first:
        input = input.transpose(0, 1)
    if lengths.size != input.shape[1]:
        raise ValueError(f"Expected `len(lengths)` to be equal to batch_size, but got {lengths.size} (batch_size="
                         f"{input.shape[1]})")
    if enforce_sorted:
        sorted_indices = None
        if np.any(np.diff(lengths) > 0):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                               "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence "
                               "to sidestep this requirement if you do not need ONNX exportability.")
    else:
        order = np.argsort(-lengths, kind="stable")
        lengths = lengths[order]
        sorted_indices = _long(order)
        input = input.index_select(1, order)
    if lengths.size and lengths.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    if lengths.size and lengths.max() > input.shape[0]:
        raise ValueError(f"pack_padded_sequence: a length of {lengths.max()} exceeds the padded sequence length "
                         f"{input.shape[0]}")
    batch_sizes = (lengths[None, :] > np.arange(int(lengths.max()) if lengths.size else 0)[:, None]).sum(axis=1)
    data = _padded_to_packed(input, batch_sizes)
    return PackedSequence(data, _long(batch_sizes), sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length=None):
    """The inverse of :func:`pack_padded_sequence`: ``(padded, lengths)``, the batch back in
    its original order, padded with ``padding_value`` to the longest sequence (or to
    ``total_length``). ``lengths`` is an int64 Tensor."""
    max_length = len(sequence.batch_sizes)
    if total_length is not None:
        if total_length < max_length:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {max_length}")
    padded, lengths = _packed_to_padded(sequence.data, sequence.batch_sizes, total_length or max_length,
                                        padding_value)
    if sequence.unsorted_indices is not None:
        order = _ints(sequence.unsorted_indices)
        padded = padded.index_select(1, order)
        lengths = lengths[order]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, _long(lengths)


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack (L_i, *) Tensors into (L_max, B, *) (``batch_first``: (B, L_max, *)), padding each
    with ``padding_value`` after its end (``padding_side='left'``: before its start)."""
    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    try:
        sequences = tuple(sequences)
    except TypeError:
        raise RuntimeError(f"pad_sequence: Expected iterable for input sequences, but got arg of type: "
                           f"{type(sequences)}") from None
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    sequences = [s if isinstance(s, Tensor) else Tensor(s) for s in sequences]
    trailing = sequences[0].shape[1:]
    for s in sequences:
        if s.ndim == 0 or tuple(s.shape[1:]) != tuple(trailing):
            raise RuntimeError(f"pad_sequence: every sequence must be (L, {', '.join(map(str, trailing))}) "
                               f"like the first, got shape {tuple(s.shape)}")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        if missing:
            pad = full((missing, *trailing), padding_value, dtype=s.dtype)
            s = cat([s, pad] if padding_side == "right" else [pad, s], 0)
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first: bool = False) -> list:
    """The list of (L_i, *) Tensors a padded batch holds (the inverse of :func:`pad_sequence`
    with right padding)."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[:int(length)] for seq, length in zip(padded_sequences.unbind(0), _ints(lengths))]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of (L_i, *) Tensors (longest first, unless ``enforce_sorted=False``)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The list of (L_i, *) Tensors in a PackedSequence, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)

