"""The backend registry: which kernel implementation runs the heavy operations.

``numpy`` (the reference and the oracle), ``cython`` (compiled C with OpenMP) and
``numba`` (LLVM-compiled Python). Backends are imported lazily, the first time they
are asked for, so ``import fastnn`` compiles and loads nothing heavy.

    >>> import fastnn
    >>> fastnn.backends.available()          # doctest: +SKIP
    ['cython', 'numba', 'numpy']
    >>> with fastnn.use_backend("numpy"):   # doctest: +SKIP
    ...     ...

The active backend is chosen by ``set_backend(name)``, the ``use_backend(name)``
context, or the environment variable ``FASTNN_BACKEND``; ``"auto"`` (the default)
picks the fastest that is available.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import threading
import types

from .contract import KERNEL_FAMILIES, KERNELS, Backend, ContractError

#: name -> (module, class name); order = preference of "auto" (fastest first)
_REGISTRY: dict[str, tuple[str, str]] = {
    "cython": ("fastnn.backends.cython_kernels", "CythonBackend"),
    "numba": ("fastnn.backends.numba_kernels", "NumbaBackend"),
    "numpy": ("fastnn.backends.numpy_ref", "NumpyBackend"),
}
_instances: dict[str, Backend] = {}
_unavailable: dict[str, str] = {}
_state = threading.local()
_default_name = os.environ.get("FASTNN_BACKEND", "auto").strip().lower() or "auto"


def _load(name: str) -> Backend | None:
    if name in _instances:
        return _instances[name]
    if name in _unavailable:
        return None
    module_name, class_name = _REGISTRY[name]
    try:
        backend = getattr(importlib.import_module(module_name), class_name)()
    except ImportError as exc:          # not built / dependency missing: remember why
        _unavailable[name] = f"{type(exc).__name__}: {exc}"
        return None
    _instances[name] = backend
    from .threads import apply_num_threads
    apply_num_threads(backend)
    return backend


def _check_name(name: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"backend name must be a string, got {type(name).__name__}")
    name = name.strip().lower()
    if name != "auto" and name not in _REGISTRY:
        raise ValueError(f"unknown backend {name!r}; choose 'auto' or one of {', '.join(_REGISTRY)}")
    return name


def _is_installed(name: str) -> bool:
    module_name = _REGISTRY[name][0]
    if name in _unavailable:        # tried and failed: never list what get() would refuse
        return False
    if name == "numba":             # cheap check: do not import numba just to list it
        return importlib.util.find_spec("numba") is not None and \
            importlib.util.find_spec(module_name) is not None
    return _load(name) is not None


def available() -> list[str]:
    """Names of the backends that can run here, fastest first."""
    return [name for name in _REGISTRY if _is_installed(name)]


def unavailable_reasons() -> dict[str, str]:
    """Why a backend could not be loaded (e.g. the Cython extension was not compiled)."""
    for name in _REGISTRY:
        _is_installed(name)
    return dict(_unavailable)


def get(name: str | None = None) -> Backend:
    """The backend object called ``name``, or the active one when ``name`` is None."""
    if name is None:
        name = current_name()
        if name != "auto" and name not in _REGISTRY:    # only FASTNN_BACKEND can hold an unchecked name
            raise ValueError(f"FASTNN_BACKEND={name!r} is not a backend; choose 'auto' or one of "
                             f"{', '.join(_REGISTRY)}")
    else:
        name = _check_name(name)
    if name == "auto":
        for candidate in _REGISTRY:
            backend = _load(candidate)
            if backend is not None:
                return backend
    backend = _load(name)
    if backend is None:
        raise RuntimeError(f"backend {name!r} is not available here ({_unavailable.get(name)}); "
                           f"available: {', '.join(available())}")
    return backend


def current_name() -> str:
    """The requested backend name ('auto' unless set); ``get().name`` is the resolved one."""
    return getattr(_state, "name", None) or _default_name


def set_backend(name: str) -> None:
    """Make ``name`` the active backend for this thread (and the default for new threads)."""
    global _default_name
    name = _check_name(name)
    if name != "auto":
        get(name)                       # fail now, not at the first kernel call
    _default_name = name
    _state.name = name


@contextlib.contextmanager
def use_backend(name: str):
    """Run a block with another backend, restoring the previous one afterwards."""
    name = _check_name(name)
    if name != "auto":
        get(name)
    previous = getattr(_state, "name", None)
    _state.name = name
    try:
        yield get(name)
    finally:
        _state.name = previous


from .threads import get_num_threads, set_num_threads  # noqa: E402  (needs the registry above)


# PyTorch's torch.backends flags that course code sets or asks about: fastnn has neither Apple's
# MPS nor cuDNN, so they answer as a CPU-only PyTorch does (the flags can be set and are ignored).
mps = types.SimpleNamespace(is_available=lambda: False, is_built=lambda: False)
cudnn = types.SimpleNamespace(is_available=lambda: False, enabled=True, benchmark=False, deterministic=False,
                              allow_tf32=False)

__all__ = ["Backend", "ContractError", "KERNELS", "KERNEL_FAMILIES", "available", "get", "set_backend",
           "use_backend", "current_name", "unavailable_reasons", "set_num_threads", "get_num_threads"]
