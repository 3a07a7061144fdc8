"""The small value types of PyTorch's tensor API: ``dtype``, ``device`` and ``Size``.

They exist so that what a learner prints and compares looks as it does in PyTorch
(``fastnn.float32``, ``device(type='cpu')``, ``fastnn.Size([2, 3])``) while fastnn's
arrays stay plain NumPy: a ``fastnn.dtype`` has a ``.dtype`` attribute, which is NumPy's
protocol for "this object names a dtype", so ``np.zeros(3, fastnn.float32)`` and
``np.dtype(fastnn.float32)`` work, and it compares equal to NumPy's dtype of the same name.
"""
from __future__ import annotations

import builtins

import numpy as np


class dtype:
    """A tensor element type: NumPy's dtype under PyTorch's name (``fastnn.float32``)."""

    __slots__ = ("_np", "_name")

    def __init__(self, np_dtype, name: str):
        self._np = np.dtype(np_dtype)
        self._name = name

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype (NumPy reads this attribute when it is given a fastnn dtype)."""
        return self._np

    is_floating_point = property(lambda self: self._np.kind == "f")
    is_complex = property(lambda self: self._np.kind == "c")
    is_signed = property(lambda self: self._np.kind in "fic")
    itemsize = property(lambda self: self._np.itemsize)

    def __getattr__(self, name):            # .kind, .type, .char ... as NumPy's dtype has them
        return getattr(self._np, name)

    def __repr__(self):
        return f"fastnn.{self._name}"

    def __eq__(self, other):
        if isinstance(other, dtype):
            return self._np == other._np
        try:
            return self._np == np.dtype(other)
        except TypeError:
            return False

    def __hash__(self):
        return hash(self._np)

    def __reduce__(self):
        return to_dtype, (self._name,)


float32 = dtype(np.float32, "float32")
float64 = dtype(np.float64, "float64")
float16 = dtype(np.float16, "float16")
int64 = dtype(np.int64, "int64")
int32 = dtype(np.int32, "int32")
int16 = dtype(np.int16, "int16")
int8 = dtype(np.int8, "int8")
uint8 = dtype(np.uint8, "uint8")
bool = dtype(np.bool_, "bool")      # noqa: A001  (torch.bool)
complex64 = dtype(np.complex64, "complex64")
complex128 = dtype(np.complex128, "complex128")

# PyTorch's aliases: torch.float is float32, torch.long is int64 ...
ALIASES = {"float": float32, "double": float64, "half": float16, "long": int64, "int": int32, "short": int16,
           "cfloat": complex64, "cdouble": complex128}
DTYPES = {d._name: d for d in (float32, float64, float16, int64, int32, int16, int8, uint8, bool, complex64,
                               complex128)}
_BY_NUMPY = {d._np: d for d in DTYPES.values()}
# the Python types, as PyTorch reads them: x.to(float) is float64, x.to(int) is int64
_PYTHON_TYPES = {builtins.float: float64, builtins.int: int64, builtins.bool: bool, builtins.complex: complex128}


def to_dtype(value) -> dtype:
    """Read a dtype given as a fastnn dtype, a NumPy dtype or type, a Python type or a name
    (``"float32"``, ``"torch.float32"``, ``"long"``)."""
    if isinstance(value, dtype):
        return value
    if isinstance(value, str):
        name = value.split(".")[-1]
        found = DTYPES.get(name) or ALIASES.get(name)
        if found is None:
            raise TypeError(f"unknown dtype name {value!r}")
        return found
    if value in _PYTHON_TYPES:
        return _PYTHON_TYPES[value]
    try:
        np_dtype = np.dtype(value)
    except TypeError:
        raise TypeError(f"dtype must be a fastnn dtype (e.g. fastnn.float32), got {value!r}") from None
    return of_numpy(np_dtype)


def of_numpy(np_dtype: np.dtype) -> dtype:
    """The fastnn dtype of a NumPy dtype (one object per dtype, so ``is`` works as in torch)."""
    found = _BY_NUMPY.get(np_dtype)
    if found is None:
        found = _BY_NUMPY[np_dtype] = dtype(np_dtype, np_dtype.name)
    return found


# ---------------------------------------------------------------------------------- device

# the device types PyTorch knows by name (a misspelt one is an error, as there)
DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia", "xla",
                "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")


class DeviceUnavailableError(RuntimeError, AssertionError):
    """A tensor or module was sent to a device fastnn does not have. It is a RuntimeError
    and, like CPU-only PyTorch's "Torch not compiled with CUDA enabled", an AssertionError,
    so code written for either library catches it."""


class device:
    """``device("cpu")``, ``device("cpu", 0)``, ``device("cuda:0")``: a place for tensors.

    fastnn computes on the CPU. Other devices can be *named* (tutorials write
    ``device("cuda" if cuda.is_available() else "cpu")``), but putting a tensor or a module
    there raises an error that says so (:func:`check_device`). As in PyTorch, a device is
    not equal to a string: ``x.device == "cpu"`` is False; write ``x.device.type == "cpu"``."""

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):      # noqa: A002  (torch's argument name)
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device() expects a string such as 'cpu', got {type!r}")
        name, colon, number = type.partition(":")
        if colon:
            if not number.isdigit():
                raise RuntimeError(f"Invalid device string: {type!r}")
            if index is not None:
                raise RuntimeError(f"device(): the index is given twice, in {type!r} and as {index}")
            index = int(number)
        if name not in DEVICE_TYPES:
            if not name.isidentifier():
                raise RuntimeError(f"Invalid device string: {type!r}")
            raise RuntimeError(f"Expected one of {', '.join(DEVICE_TYPES)} device type at start of device string: "
                               f"{type}")
        if index is not None and (not isinstance(index, int) or isinstance(index, builtins.bool) or index < 0):
            raise RuntimeError(f"Device index must not be negative (or not an int): {index!r}")
        self.type, self.index = name, index

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else \
            f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return device, (self.type, self.index)


CPU = device("cpu")


def check_device(value, what: str = "device") -> device:
    """The CPU device, or an error that names what was asked for: fastnn has no other."""
    if value is None:
        return CPU
    if isinstance(value, int) and not isinstance(value, builtins.bool):    # torch: an accelerator's index
        raise DeviceUnavailableError("Cannot access accelerator device when none is available. (fastnn runs on "
                                     "the CPU only: use 'cpu')")
    d = value if isinstance(value, device) else device(value) if isinstance(value, str) else None
    if d is None:
        raise TypeError(f"{what} must be a device or a string such as 'cpu', got {value!r}")
    if d.type not in ("cpu", "meta"):
        raise DeviceUnavailableError(
            f"fastnn runs on the CPU only: {what} {str(d)!r} is not available (fastnn.cuda.is_available() and "
            f"fastnn.accelerator.is_available() are False); use 'cpu'")
    if d.type == "meta":
        raise DeviceUnavailableError(f"fastnn has no 'meta' device (tensors without data); use 'cpu'")
    return CPU


# ---------------------------------------------------------------------------------- Size

class Size(tuple):
    """A tensor's shape: a tuple of ints that prints as ``fastnn.Size([2, 3])``. Slicing,
    ``+`` and ``*`` give a Size again (as in PyTorch); anything but ints is refused."""

    __slots__ = ()

    def __new__(cls, sizes=()):
        items = tuple(sizes)
        if all(type(s) is int for s in items):
            return tuple.__new__(cls, items)
        for i, s in enumerate(items):
            if not hasattr(s, "__index__"):
                raise TypeError(f"fastnn.Size() takes an iterable of 'int' (item {i} is '{type(s).__name__}')")
        return tuple.__new__(cls, (s.__index__() for s in items))

    def __repr__(self):
        return f"fastnn.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, index):
        item = tuple.__getitem__(self, index)
        return Size(item) if isinstance(index, slice) else item

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, n):
        return Size(tuple.__mul__(self, n))

    __rmul__ = __mul__

    def __reduce__(self):
        return Size, (tuple(self),)
