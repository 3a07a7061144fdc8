"""One thread count for every parallel runtime fastnn touches.

``set_num_threads(n)`` sets OpenMP's (the Cython kernels), Numba's and the BLAS's
(NumPy's OpenBLAS, found in the loaded libraries with ``ctypes``) thread counts
together, so a benchmark "with 1 thread" really runs on one core in every backend.
Backends loaded later pick the value up when they are created.
"""
from __future__ import annotations

import ctypes
import glob
import os
import sys

_num_threads: int | None = None


def _blas_libraries():
    """Handles of the OpenBLAS libraries NumPy ships (numpy.libs/), if any."""
    import numpy
    root = os.path.dirname(os.path.dirname(numpy.__file__))
    libs = []
    for path in glob.glob(os.path.join(root, "numpy.libs", "*openblas*")):
        try:
            libs.append(ctypes.CDLL(path))
        except OSError:
            pass
    return libs


_BLAS_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                 "openblas_set_num_threads64_", "openblas_set_num_threads")
_BLAS_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                 "openblas_get_num_threads64_", "openblas_get_num_threads")


def _blas_call(names, *args):
    for lib in _blas_libraries():
        for name in names:
            fn = getattr(lib, name, None)
            if fn is not None:
                return fn(*args)
    return None


def blas_num_threads() -> int | None:
    """Threads NumPy's OpenBLAS uses, or None when it cannot be told."""
    return _blas_call(_BLAS_GETTERS)


def default_num_threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def get_num_threads() -> int:
    """The thread count set by :func:`set_num_threads`, else the number of usable cores."""
    return _num_threads or default_num_threads()


def set_num_threads(n: int) -> None:
    """Use ``n`` threads in OpenMP, Numba and the BLAS."""
    global _num_threads
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads needs a positive int, got {n!r}")
    _num_threads = n
    apply_num_threads()


def apply_num_threads(backend=None) -> None:
    """Push the configured count to the runtimes that are loaded (and to ``backend``)."""
    if _num_threads is None:
        return
    from . import _instances
    targets = [backend] if backend is not None else list(_instances.values())
    for b in targets:
        setter = getattr(b, "set_num_threads", None)
        if setter is not None:
            setter(_num_threads)
    if "numba" in sys.modules:
        import numba
        numba.set_num_threads(min(_num_threads, numba.config.NUMBA_NUM_THREADS))
    _blas_call(_BLAS_SETTERS, _num_threads)
