"""fastnn: an educational, C-accelerated tensor and neural-network library with a
PyTorch-shaped API. Heavy operations run on selectable kernel backends
(``fastnn.backends``: numpy reference, Cython with OpenMP, Numba).

Importing fastnn loads no compiled kernel and compiles nothing: backends load on
first use. It does tell glibc's malloc to keep freed memory for reuse (``fastnn._malloc``:
a training step then reuses its pages instead of faulting in fresh ones;
``FASTNN_MALLOC_TUNING=0`` turns that off).
"""
from __future__ import annotations

__version__ = "0.1.0"

import importlib as _importlib
import sys as _sys

import numpy as _np

from . import _malloc
from . import backends
from . import types as _types
from .autograd import ArrayFunction, enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .backends import available as available_backends
from .backends import get_num_threads, set_backend, set_num_threads, use_backend
from .gradcheck import GradcheckError, gradcheck
from .random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from .tensor import Tensor
from .types import Size, device, dtype
from .types import (bool, complex64, complex128, float16, float32, float64, int8, int16, int32,  # noqa: A004
                    int64, uint8)
from .creation import (arange, as_tensor, bernoulli, empty, empty_like, eye, from_numpy, full, full_like,
                       is_tensor, linspace, logspace, multinomial, normal, numel, ones, ones_like, rand, rand_like,
                       randint, randint_like, randn, randn_like, randperm, tensor, zeros, zeros_like)
from ._tensor_str import get_printoptions, printoptions, set_printoptions
from . import _functions
from . import ops as _ops
from .ops import return_types
from . import accelerator, autograd, cuda, linalg  # noqa: E402
from . import autograd_functional as _autograd_functional  # noqa: E402
# fastnn.autograd is a module; this makes `from fastnn.autograd.functional import jacobian` work as in torch
_sys.modules.setdefault(f"{__name__}.autograd.functional", _autograd_functional)
from . import profiler as _profiler  # noqa: E402
_sys.modules.setdefault(f"{__name__}.autograd.profiler", _profiler)
from . import nn  # noqa: E402
from . import optim  # noqa: E402
from .serialization import load, save  # noqa: E402

# PyTorch's aliases: fastnn.float is float32, fastnn.long is int64 ...
float, double, half, long, int, short, cfloat, cdouble = (  # noqa: A001
    _types.ALIASES[n] for n in ("float", "double", "half", "long", "int", "short", "cfloat", "cdouble"))
_FUNCTION_NAMES = _functions.export(globals())
# the functions that are not a method's twin (cat, stack, einsum, meshgrid ...), unless made above
_PLAIN_NAMES = [name for name in _ops.TOP_LEVEL if name not in globals()]
globals().update({name: _ops.TOP_LEVEL[name] for name in _PLAIN_NAMES})

__all__ = ["Tensor", "Size", "device", "dtype", "Generator", "ArrayFunction", "tensor", "as_tensor", "from_numpy",
           "is_tensor", "numel", "zeros", "ones", "full", "empty", "eye", "arange", "linspace", "logspace", "rand",
           "randn", "randint", "randperm", "normal", "bernoulli", "multinomial", "zeros_like", "ones_like",
           "empty_like", "full_like", "rand_like", "randn_like", "randint_like", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "gradcheck",
           "GradcheckError", "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state", "backends",
           "set_backend", "use_backend", "available_backends", "set_num_threads", "get_num_threads",
           "set_printoptions", "get_printoptions", "get_default_dtype", "set_default_dtype", "set_default_device",
           "get_default_device", "is_floating_point", "finfo", "iinfo", "inference_mode",
           "use_deterministic_algorithms", "are_deterministic_algorithms_enabled", "compile", "printoptions", "return_types", "autograd", "cuda", "accelerator", "linalg",
           "nn", "optim", "save", "load", "utils", "data", "vision",
           "float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool", "complex64",
           "complex128", "float", "double", "half", "long", "int", "short", "cfloat", "cdouble"]
__all__ += _FUNCTION_NAMES + _PLAIN_NAMES

_LAZY_SUBMODULES = ("utils", "data", "vision", "distributed", "models")


def __getattr__(name):
    """``fastnn.utils``, ``fastnn.data``, ``fastnn.vision`` are imported on first use, so that
    ``import fastnn`` stays quick."""
    if name in _LAZY_SUBMODULES:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'fastnn' has no attribute {name!r}")


def is_floating_point(input) -> "bool":
    return input.is_floating_point()


def get_default_dtype():
    """float32: fastnn's default floating point type (its kernels are float32)."""
    return float32


def set_default_dtype(d) -> None:
    """Only float32 is accepted: fastnn's kernels and factories are float32 by default (ask for
    float64 per tensor with ``dtype=fastnn.float64``)."""
    if _types.to_dtype(d) != float32:
        raise NotImplementedError(f"fastnn's default dtype is float32 and cannot be changed to {d}; pass "
                                  f"dtype={d} to the factories instead")


def set_default_device(device) -> None:
    """Only the CPU is accepted: fastnn computes on the CPU."""
    _types.check_device(device, "default device")


def get_default_device():
    return _types.CPU


def finfo(type=None):    # noqa: A002  (torch's argument name)
    """Machine limits of a floating point dtype (``eps``, ``max``, ``tiny`` ...): NumPy's ``finfo``."""
    return _np.finfo(_types.to_dtype(float32 if type is None else type).dtype)


def iinfo(type):         # noqa: A002
    """Limits of an integer dtype (``min``, ``max``, ``bits``): NumPy's ``iinfo``."""
    return _np.iinfo(_types.to_dtype(type).dtype)


_deterministic = {"mode": False, "warn_only": False}


def use_deterministic_algorithms(mode: "bool", *, warn_only: "bool" = False) -> None:
    """Accepted and remembered: fastnn's kernels give the same result for the same inputs,
    thread count and backend, so there is no non-deterministic algorithm to switch off."""
    _deterministic.update(mode=mode, warn_only=warn_only)


def are_deterministic_algorithms_enabled() -> "bool":
    return _deterministic["mode"]


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None, options=None,  # noqa: A001
            disable=False):
    """Returns ``model`` unchanged: fastnn runs its kernels compiled already and has no graph
    compiler, so ``model = fastnn.compile(model)`` (or ``@fastnn.compile``) keeps code that
    uses ``torch.compile`` running."""
    if model is None:
        return lambda m: m
    return model


_malloc.keep_freed_memory()
