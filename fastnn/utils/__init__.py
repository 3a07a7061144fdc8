"""fastnn.utils: the counterpart of ``torch.utils`` (so far: :mod:`fastnn.utils.data`)."""
from . import data

__all__ = ["data"]
