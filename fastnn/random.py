"""fastnn's random number generator: one NumPy ``Generator`` behind every random
factory, initialiser, dropout mask and shuffle that is not given its own.

``fastnn.manual_seed(s)`` makes a run reproducible; ``get_rng_state()`` /
``set_rng_state()`` capture and restore it (checkpoints store it as JSON, never
as a pickle).
"""
from __future__ import annotations

import json

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Re-seed fastnn's global generator (like ``torch.manual_seed``) and return it."""
    global _generator
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def generator() -> np.random.Generator:
    """The global generator (draw from it; do not keep a reference across manual_seed)."""
    return _generator


def get_rng_state() -> str:
    """The global generator's state as a JSON string."""
    return json.dumps(_generator.bit_generator.state)


def set_rng_state(state: str) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    global _generator
    st = json.loads(state) if isinstance(state, str) else state
    bit_generator = getattr(np.random, st["bit_generator"])()
    bit_generator.state = st
    _generator = np.random.Generator(bit_generator)
