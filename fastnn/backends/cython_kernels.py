"""The Cython backend: a thin Python face over the compiled modules in ``fastnn/_cython/``.

The C code is generated from ``src_cython/*.pyx`` and compiled by ``setup.py`` (with OpenMP
when the compiler supports it). The public methods of :class:`~fastnn.backends.contract.Backend`
validate every argument first, so each private kernel below only allocates its output and
hands flat views of C-contiguous float32 arrays to compiled code running without bounds checks.

Importing this module raises ImportError when the extensions are not built; the registry then
lists ``cython`` as unavailable with that reason (``fastnn.backends.unavailable_reasons()``).
"""
from __future__ import annotations

import numpy as np

from .numpy_ref import NumpyBackend

try:
    from fastnn._cython import _activation, _openmp
except ImportError as exc:      # not compiled: say how to build it
    raise ImportError(
        f"the Cython kernels are not compiled ({exc}); build them with `pip install -e .` "
        f"from the fastnn source tree (needs a C compiler, Cython>=3.1 and NumPy)") from exc


def _flat(a: np.ndarray) -> np.ndarray:
    """A 1-D view of a C-contiguous array (no copy)."""
    return a.reshape(-1)


class CythonBackend(NumpyBackend):
    """Kernels compiled from ``src_cython/`` (C, OpenMP ``prange``), float32 only.

    Only the kernels named in :attr:`compiled_kernels` run compiled code so far (the
    activation family); every other kernel is inherited from the NumPy reference until
    its ``.pyx`` lands. float64 calls (finite-difference gradient checks) go to the NumPy
    reference through ``Backend._impl``, because ``dtypes`` lists float32 only.
    """

    name = "cython"
    dtypes = (np.dtype(np.float32),)
    #: kernels whose private implementation here calls compiled code
    compiled_kernels: tuple[str, ...] = (
        "relu_forward", "relu_backward",
        "leaky_relu_forward", "leaky_relu_backward",
        "elu_forward", "elu_backward",
        "sigmoid_forward", "sigmoid_backward",
        "tanh_forward", "tanh_backward",
    )
    #: True when the extensions were compiled with OpenMP (else prange loops run serially)
    openmp: bool = _openmp.openmp_enabled()

    def __init__(self):
        super().__init__()
        # Every compiled kernel takes its thread count as an argument rather than reading
        # OpenMP's process-wide default, which other libraries change behind our back
        # (Numba's OpenMP layer resets it to NUMBA_NUM_THREADS when its pool starts).
        # Start from that default: it honours OMP_NUM_THREADS.
        self._num_threads = _openmp.get_max_threads()

    def set_num_threads(self, n: int) -> None:
        """Threads of the compiled loops (called by ``fastnn.backends.set_num_threads``).

        Also sets OpenMP's own default, for any parallel region without an explicit count."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"set_num_threads needs a positive int, got {n!r}")
        self._num_threads = n
        _openmp.set_num_threads(n)

    def get_num_threads(self) -> int:
        """Threads a large enough compiled loop runs on (1 without OpenMP)."""
        return self._num_threads if self.openmp else 1

    # ---------------------------------------------------------------- activations
    def _unary_kernel(self, fn, x, *params):
        y = np.empty_like(x)
        fn(_flat(x), _flat(y), *params, self._num_threads)
        return y

    def _backward_kernel(self, fn, grad_y, saved, *params):
        grad_x = np.empty_like(grad_y)
        fn(_flat(grad_y), _flat(saved), _flat(grad_x), *params, self._num_threads)
        return grad_x

    def _relu_forward(self, x):
        return self._unary_kernel(_activation.relu_forward, x)

    def _relu_backward(self, grad_y, y):
        return self._backward_kernel(_activation.relu_backward, grad_y, y)

    def _leaky_relu_forward(self, x, negative_slope):
        return self._unary_kernel(_activation.leaky_relu_forward, x, negative_slope)

    def _leaky_relu_backward(self, grad_y, x, negative_slope):
        return self._backward_kernel(_activation.leaky_relu_backward, grad_y, x, negative_slope)

    def _elu_forward(self, x, alpha):
        return self._unary_kernel(_activation.elu_forward, x, alpha)

    def _elu_backward(self, grad_y, y, alpha):
        return self._backward_kernel(_activation.elu_backward, grad_y, y, alpha)

    def _sigmoid_forward(self, x):
        return self._unary_kernel(_activation.sigmoid_forward, x)

    def _sigmoid_backward(self, grad_y, y):
        return self._backward_kernel(_activation.sigmoid_backward, grad_y, y)

    def _tanh_forward(self, x):
        return self._unary_kernel(_activation.tanh_forward, x)

    def _tanh_backward(self, grad_y, y):
        return self._backward_kernel(_activation.tanh_backward, grad_y, y)


__all__ = ["CythonBackend"]
