"""The named tuples some operations return (``torch.return_types`` in PyTorch):
``values, indices = x.max(dim)``, or ``x.max(dim).values``. They are tuples (unpack,
index, compare), and print as PyTorch's do::

    fastnn.return_types.max(
    values=tensor([3., 5.]),
    indices=tensor([1, 0]))
"""
from __future__ import annotations

from collections import namedtuple


def _make(name: str, fields: str):
    base = namedtuple(name, fields)

    def __repr__(self):
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
        return f"fastnn.return_types.{name}(\n{body})"

    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__str__": __repr__,
                               "__module__": "fastnn.return_types"})
    cls.__qualname__ = name
    return cls


_VALUES_INDICES = ("max", "min", "sort", "topk", "kthvalue", "mode", "median", "nanmedian", "cummax", "cummin")

max = _make("max", "values indices")  # noqa: A001
min = _make("min", "values indices")  # noqa: A001
sort = _make("sort", "values indices")
topk = _make("topk", "values indices")
kthvalue = _make("kthvalue", "values indices")
mode = _make("mode", "values indices")
median = _make("median", "values indices")
nanmedian = _make("nanmedian", "values indices")
cummax = _make("cummax", "values indices")
cummin = _make("cummin", "values indices")
aminmax = _make("aminmax", "min max")
slogdet = _make("slogdet", "sign logabsdet")
frexp = _make("frexp", "mantissa exponent")
histogram = _make("histogram", "hist bin_edges")

__all__ = list(_VALUES_INDICES) + ["aminmax", "slogdet", "frexp", "histogram"]
