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

from numpy import float32, float64, int64, uint8  # noqa: F401  (dtype names as in PyTorch)
from numpy import bool_ as bool  # noqa: A001

from . import _malloc
from . import backends
from .autograd import ArrayFunction, Function, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backends import available as available_backends
from .backends import get_num_threads, set_backend, set_num_threads, use_backend
from .gradcheck import GradcheckError, gradcheck
from .random import get_rng_state, manual_seed, set_rng_state
from .tensor import (Tensor, arange, cat, empty, eye, full, full_like, linspace, ones, ones_like, rand, randint,
                     randn, randn_like, randperm, stack, tensor, where, zeros, zeros_like)
from . import nn  # noqa: E402
from . import optim  # noqa: E402
from .serialization import load, save  # noqa: E402

__all__ = ["Tensor", "tensor", "zeros", "ones", "full", "empty", "randn", "rand", "randint", "randperm", "arange",
           "linspace", "eye", "zeros_like", "ones_like", "full_like", "randn_like", "cat", "stack", "where",
           "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "Function", "gradcheck",
           "GradcheckError", "manual_seed", "get_rng_state", "set_rng_state", "backends", "set_backend",
           "use_backend", "available_backends", "set_num_threads", "get_num_threads", "nn",
           "float32", "float64", "int64", "uint8", "bool"]
__all__ += ["optim", "save", "load"]

_malloc.keep_freed_memory()
