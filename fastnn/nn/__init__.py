"""Neural-network building blocks: ``functional`` (differentiable ops on the kernel backends)."""
from . import functional  # noqa: F401
