"""fastnn's random number generator: one NumPy ``Generator`` behind every random
factory, initialiser, dropout mask and shuffle that is not given its own.

``fastnn.manual_seed(s)`` makes a run reproducible; ``get_rng_state()`` /
``set_rng_state()`` capture and restore it (checkpoints store it as JSON, never
as a pickle).
"""
from __future__ import annotations

import json

import numpy as np

from .types import check_device

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


def set_rng_state(new_state: str) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    global _generator
    st = json.loads(new_state) if isinstance(new_state, str) else new_state
    bit_generator = getattr(np.random, st["bit_generator"])()
    bit_generator.state = st
    _generator = np.random.Generator(bit_generator)


class Generator:
    """PyTorch's ``torch.Generator``: a random stream of its own, for code that passes
    ``generator=`` (``random_split``, ``DataLoader``, ``randn``...)::

        g = fastnn.Generator().manual_seed(0)

    It wraps a NumPy ``Generator`` (``.rng``), which fastnn's functions draw from."""

    def __init__(self, device="cpu"):
        self._seed = int(np.random.SeedSequence().entropy % 2 ** 63)
        self.rng = np.random.default_rng(self._seed)
        self.device = check_device(device, "Generator device")

    def manual_seed(self, seed: int) -> "Generator":
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise TypeError(f"manual_seed expected an int, got {seed!r}")
        self._seed = int(seed)
        self.rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        self.manual_seed(int(np.random.SeedSequence().entropy % 2 ** 63))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> str:
        return json.dumps(self.rng.bit_generator.state)

    def set_state(self, state: str) -> "Generator":
        self.rng.bit_generator.state = json.loads(state) if isinstance(state, str) else state
        return self


def resolve(generator_arg=None) -> np.random.Generator:
    """The NumPy generator to draw from: a ``generator=`` argument (fastnn's or NumPy's), else
    the global one."""
    if generator_arg is None:
        return _generator
    if isinstance(generator_arg, Generator):
        return generator_arg.rng
    if isinstance(generator_arg, np.random.Generator):
        return generator_arg
    raise TypeError(f"generator must be a fastnn.Generator or a numpy Generator, got {type(generator_arg).__name__}")


def seed() -> int:
    """Seed the global generator from the operating system's entropy; returns the seed."""
    s = int(np.random.SeedSequence().entropy % 2 ** 63)
    manual_seed(s)
    return s


def initial_seed() -> int:
    return int(_generator.bit_generator.seed_seq.entropy % 2 ** 63) if hasattr(
        _generator.bit_generator, "seed_seq") else 0
