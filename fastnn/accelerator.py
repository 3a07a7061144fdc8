"""``fastnn.accelerator``: PyTorch's device-agnostic accelerator queries, answered as PyTorch
answers them on a machine without one (fastnn computes on the CPU)::

    device = fastnn.accelerator.current_accelerator().type if fastnn.accelerator.is_available() else "cpu"
"""
from __future__ import annotations


def is_available() -> bool:
    return False


def current_accelerator(check_available: bool = False):
    """None: there is no accelerator."""
    return None


def device_count() -> int:
    return 0
