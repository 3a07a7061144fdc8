"""Small helpers shared by the layers."""
from __future__ import annotations

import numpy as np


def _pair(value) -> tuple:
    """``3`` -> ``(3, 3)``; a pair stays a pair (as PyTorch's ``_pair``)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"expected an int or a pair, got {value!r}")
        return tuple(value)
    return (value, value)


def factory_dtype(device=None, dtype=None) -> np.dtype:
    """Check PyTorch's ``device=``/``dtype=`` layer arguments: fastnn runs on the CPU, and
    parameters are float32 unless a float dtype is asked for."""
    if device is not None and not str(device).startswith("cpu"):
        raise RuntimeError(f"fastnn runs on the CPU only; device={device!r} is not available")
    dtype = np.dtype(np.float32 if dtype is None else dtype)
    if dtype.kind != "f":
        raise TypeError(f"parameters must have a floating point dtype, got {dtype}")
    return dtype
