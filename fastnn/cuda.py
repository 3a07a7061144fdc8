"""``fastnn.cuda``: PyTorch's CUDA queries, answered as a CPU-only PyTorch answers them, so
that ``device = "cuda" if fastnn.cuda.is_available() else "cpu"`` picks the CPU. Seeding
is accepted and does nothing (there is no CUDA generator to seed); anything that needs a GPU
raises an error that says fastnn runs on the CPU."""
from __future__ import annotations


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def manual_seed(seed: int) -> None:
    """Nothing to seed: as ``torch.cuda.manual_seed`` without a GPU."""


manual_seed_all = manual_seed


def empty_cache() -> None:
    """Nothing to free: fastnn holds no GPU memory."""


def _no_gpu(*args, **kwargs):
    raise RuntimeError("fastnn runs on the CPU only: there is no CUDA device (fastnn.cuda.is_available() is False)")


synchronize = current_device = get_device_name = set_device = memory_allocated = _no_gpu
