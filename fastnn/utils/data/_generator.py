"""Where the random numbers of samplers, splits and loaders come from.

PyTorch hands ``torch.Generator`` objects around. Wherever this package takes ``generator=``
it accepts what :func:`fastnn.random.resolve` accepts: a ``fastnn.Generator`` (PyTorch's
look-alike, wrapping a NumPy generator in ``.rng``) or a ``numpy.random.Generator`` (what
``fastnn.manual_seed(s)`` returns); no generator means fastnn's global one.

The object is kept as given and resolved to a NumPy generator only at the moment of drawing
(:func:`draw_from`). That late lookup matters twice: ``fastnn.Generator.manual_seed`` replaces
its ``.rng``, and ``fastnn.manual_seed`` replaces the global generator, so a NumPy generator
taken earlier would silently ignore the re-seeding.
"""
from __future__ import annotations

import numbers

import numpy as np

from ...random import resolve as draw_from

__all__ = ["as_generator", "draw_from"]


def as_generator(generator=None, seed: int | None = None):
    """``generator`` checked (and kept as given), or a new NumPy generator from fastnn's ``seed=``."""
    if generator is not None and seed is not None:
        raise ValueError("give either generator or seed, not both")
    if seed is not None:
        if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
            raise TypeError(f"seed must be an int, got {seed!r}")
        return np.random.default_rng(int(seed))
    if generator is not None:
        draw_from(generator)  # a TypeError now, for anything that is not a generator
    return generator
