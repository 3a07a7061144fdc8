"""Batch transforms: preprocessing and augmentation on whole NumPy batches.

Unlike torchvision, which transforms one image at a time, every transform here takes a
**batch** ``x`` shaped ``(N, C, H, W)`` (``ToFloat`` and ``Normalize`` also accept any
``(N, C, ...)``) and returns a new array; random transforms draw one independent choice per
sample, vectorised over the batch, from the ``numpy.random.Generator`` passed as ``rng``::

    from fastnn.data import transforms as T
    train_tf = T.Compose([T.ToFloat(), T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(),
                          T.Normalize((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))])
    xb = train_tf(uint8_batch, rng=np.random.default_rng(0))

Array-backed datasets call their ``transform`` once per batch, with the DataLoader's per-epoch
generator, so a seeded loader gives the same augmented batches every run. Without an ``rng``,
a random transform uses its own generator if built with ``seed=``, else fastnn's global one
(``fastnn.manual_seed``).
"""
from __future__ import annotations

import numbers
from typing import Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "Transform",
    "Compose",
    "Lambda",
    "ToFloat",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
]


class Transform:
    """Base class: ``__call__(x, rng=None)`` maps a batch to a batch."""

    #: tells datasets/loaders to pass ``rng=`` (plain callables are called with ``x`` only)
    accepts_rng = True

    def __init__(self, seed: int | None = None):
        self._own_rng = None if seed is None else np.random.default_rng(seed)

    def _rng(self, rng: np.random.Generator | None) -> np.random.Generator:
        if rng is not None:
            return rng
        own = getattr(self, "_own_rng", None)
        if own is not None:
            return own
        from ..random import generator
        return generator()

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _check_batch(x: np.ndarray, name: str, ndim: int | None = 4) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} expects a batch of images shaped (N, C, H, W); got shape {x.shape}. "
                         "Transforms here work on whole batches: for one image use x[None].")
    return x


class Compose(Transform):
    """Apply transforms in order; ``rng`` is passed to each one that accepts it."""

    def __init__(self, transforms: Sequence[Callable]):
        self.transforms = list(transforms)

    def __call__(self, x, rng=None):
        for t in self.transforms:
            x = t(x, rng=rng) if getattr(t, "accepts_rng", False) else t(x)
        return x

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class Lambda(Transform):
    """Wrap a function of the batch: ``Lambda(lambda x: x[:, :1])``."""

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray]):
        self.fn = fn

    def __call__(self, x, rng=None):
        return self.fn(x)

    def __repr__(self) -> str:
        return f"Lambda({getattr(self.fn, '__name__', self.fn)!r})"


class ToFloat(Transform):
    """uint8 pixels in [0, 255] -> float32 in [0, 1] (``x / 255``); float input is cast to float32."""

    def __call__(self, x, rng=None):
        x = np.asarray(x)
        if x.dtype == np.uint8:
            return x.astype(np.float32) / np.float32(255.0)
        if np.issubdtype(x.dtype, np.floating):
            return x.astype(np.float32, copy=False)
        raise TypeError(f"ToFloat expects uint8 or floating-point input, got {x.dtype}")


class Normalize(Transform):
    """``(x - mean[c]) / std[c]`` per channel of an ``(N, C, ...)`` float batch; returns float32.

    ``mean`` and ``std`` are sequences of length C (or scalars, applied to every channel).
    Integer input is refused: apply :class:`ToFloat` first (Normalize after ToFloat is the
    usual order, with statistics of the [0, 1]-scaled data).
    """

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]):
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float32))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float32))
        if self.mean.ndim != 1 or self.std.ndim != 1:
            raise ValueError("mean and std must be scalars or 1-D sequences (one value per channel)")
        if np.any(self.std == 0):
            raise ValueError(f"std must be non-zero, got {self.std.tolist()}")

    def __call__(self, x, rng=None):
        x = np.asarray(x)
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"Normalize expects floating-point input, got {x.dtype}; apply ToFloat() first")
        if x.ndim < 2:
            raise ValueError(f"Normalize expects a batch shaped (N, C, ...), got shape {x.shape}")
        c = x.shape[1]
        for name, v in (("mean", self.mean), ("std", self.std)):
            if v.size not in (1, c):
                raise ValueError(f"Normalize: {name} has {v.size} values but the batch has {c} channels")
        shape = (1, -1) + (1,) * (x.ndim - 2)
        return ((x.astype(np.float32, copy=False) - self.mean.reshape(shape)) / self.std.reshape(shape)).astype(
            np.float32, copy=False)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class RandomCrop(Transform):
    """Crop each image of the batch at its own random position, after optional padding.

    Args:
        size: output ``(h, w)`` or an int for a square.
        padding: pixels added on every side before cropping (``RandomCrop(32, padding=4)`` is the
            classic CIFAR-10 augmentation: random translations of up to 4 pixels).
        fill: value of the padding for ``padding_mode="constant"``.
        padding_mode: ``"constant"``, ``"edge"``, ``"reflect"`` or ``"symmetric"`` (as ``np.pad``).

    Vectorised: the batch is padded once, and all crops are gathered in one advanced-indexing
    call on a sliding-window view (no Python loop over samples).
    """

    def __init__(self, size: int | Sequence[int], padding: int = 0, fill: float = 0,
                 padding_mode: str = "constant", seed: int | None = None):
        super().__init__(seed)
        if isinstance(size, numbers.Integral):
            size = (int(size), int(size))
        self.size = tuple(int(s) for s in size)
        if len(self.size) != 2 or min(self.size) <= 0:
            raise ValueError(f"size must be a positive int or (h, w), got {size}")
        if not isinstance(padding, numbers.Integral) or padding < 0:
            raise ValueError(f"padding must be a non-negative int, got {padding!r}")
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"unknown padding_mode {padding_mode!r}")
        self.padding = int(padding)
        self.fill = fill
        self.padding_mode = padding_mode

    def pad(self, x: np.ndarray) -> np.ndarray:
        """The batch with ``padding`` pixels added around H and W."""
        p = self.padding
        if p == 0:
            return x
        widths = ((0, 0), (0, 0), (p, p), (p, p))
        if self.padding_mode == "constant":
            return np.pad(x, widths, mode="constant", constant_values=self.fill)
        return np.pad(x, widths, mode=self.padding_mode)

    def sample_offsets(self, x_shape: Sequence[int], rng: np.random.Generator | None = None):
        """Random top-left corners ``(top, left)``, each an int64 array of length N, in the padded frame."""
        n, _, h, w = x_shape
        ph, pw = h + 2 * self.padding, w + 2 * self.padding
        th, tw = self.size
        if th > ph or tw > pw:
            raise ValueError(f"crop size {self.size} is larger than the padded image ({ph}, {pw})")
        rng = self._rng(rng)
        top = rng.integers(0, ph - th + 1, size=n, dtype=np.int64)
        left = rng.integers(0, pw - tw + 1, size=n, dtype=np.int64)
        return top, left

    def crop(self, x: np.ndarray, top: np.ndarray, left: np.ndarray) -> np.ndarray:
        """Pad ``x`` and cut the window at ``(top[i], left[i])`` out of image ``i``, for all i at once."""
        x = _check_batch(x, "RandomCrop")
        padded = self.pad(x)
        th, tw = self.size
        # windows[n, c, i, j] is the (th, tw) window whose top-left corner is (i, j): a view, no copy
        windows = sliding_window_view(padded, (th, tw), axis=(2, 3))
        n = x.shape[0]
        # advanced indices on axes 0, 2, 3 (split by the channel slice) -> result (N, C, th, tw)
        return np.ascontiguousarray(windows[np.arange(n), :, top, left])

    def __call__(self, x, rng=None):
        x = _check_batch(x, "RandomCrop")
        top, left = self.sample_offsets(x.shape, rng)
        return self.crop(x, top, left)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding}, padding_mode={self.padding_mode!r})"


class RandomHorizontalFlip(Transform):
    """Mirror each image left-right with probability ``p``, independently per sample."""

    def __init__(self, p: float = 0.5, seed: int | None = None):
        super().__init__(seed)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        self.p = float(p)

    def sample_mask(self, n: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """Boolean array of length n: which samples get flipped."""
        return self._rng(rng).random(n) < self.p

    def flip(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        x = _check_batch(x, "RandomHorizontalFlip")
        out = x.copy()
        out[mask] = x[mask][..., ::-1]
        return out

    def __call__(self, x, rng=None):
        x = _check_batch(x, "RandomHorizontalFlip")
        return self.flip(x, self.sample_mask(x.shape[0], rng))

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"
