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
    from fastnn._cython import _conv, _gemm
    from fastnn._cython import _loss, _norm, _pool
except ImportError as exc:      # not compiled: say how to build it
    raise ImportError(
        f"the Cython kernels are not compiled ({exc}); build them with `pip install -e .` "
        f"from the fastnn source tree (needs a C compiler, Cython>=3.1 and NumPy)") from exc


def _flat(a: np.ndarray) -> np.ndarray:
    """A 1-D view of a C-contiguous array (no copy)."""
    return a.reshape(-1)


class CythonBackend(NumpyBackend):
    """Kernels compiled from ``src_cython/`` (C, OpenMP ``prange``), float32 only.

    Only the kernels named in :attr:`compiled_kernels` run compiled code; any other kernel
    is inherited from the NumPy reference until its ``.pyx`` lands. float64 calls
    (finite-difference gradient checks) go to the NumPy reference through
    ``Backend._impl``, because ``dtypes`` lists float32 only.
    """

    name = "cython"
    dtypes = (np.dtype(np.float32),)
    #: kernels whose private implementation here calls compiled code
    compiled_kernels: tuple[str, ...] = (
        "gemm", "im2col", "col2im", "conv2d_forward", "conv2d_backward",
        "relu_forward", "relu_backward",
        "leaky_relu_forward", "leaky_relu_backward",
        "elu_forward", "elu_backward",
        "sigmoid_forward", "sigmoid_backward",
        "tanh_forward", "tanh_backward",
        "maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward", "avgpool2d_backward",
        "softmax_cross_entropy_forward", "softmax_cross_entropy_backward",
        "log_softmax_forward", "log_softmax_backward",
        "batchnorm_forward", "batchnorm_backward",
    )
    #: the GEMM ladder (src_cython/_gemm.pyx): the first is the default, then the rungs in
    #: ladder order, then "blas" (NumPy's matmul, i.e. OpenBLAS), the yardstick. On its own the
    #: BLAS is 0-15 % faster on large square products (2-core Zen 4), "parallel" as fast or
    #: faster on a convolution's short-and-wide ones; but in a training step the BLAS's thread
    #: pool and the convolutions' OpenMP pool slow each other down (each spins after its call):
    #: conv + linear GEMMs + conv ran 2x faster with "parallel" GEMMs. So "parallel" is the
    #: default. See docs/ladder.md and benchmarks/bench_cython_gemm_conv.py --goals.
    gemm_variants: tuple[str, ...] = ("parallel", "naive", "reordered", "tiled", "packed", "blas")
    #: convolution forward rungs (src_cython/_conv.pyx), fastest first (the first is the
    #: default): implicit GEMM (the micro-kernel reads the padded image in place; strided or
    #: narrow outputs fall back to im2col), im2col + packed GEMM, direct loops
    conv_variants: tuple[str, ...] = ("implicit", "im2col", "direct")
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

    # ---------------------------------------------------------------- gemm / conv
    @property
    def gemm_micro_kernel(self) -> str:
        """The micro-kernel of the packed GEMM picked at run time, e.g. ``"avx2+fma 6x16"``."""
        return _gemm.micro_kernel()

    def _gemm(self, a, b, trans_a, trans_b, out, variant):
        if variant == "blas":
            return super()._gemm(a, b, trans_a, trans_b, out, variant)
        m = a.shape[1] if trans_a else a.shape[0]
        n = b.shape[0] if trans_b else b.shape[1]
        c = out
        if out is None or np.may_share_memory(out, a) or np.may_share_memory(out, b):
            c = np.empty((m, n), dtype=np.float32)       # never write into an operand being read
        _gemm.gemm(a, b, trans_a, trans_b, c, variant, self.get_num_threads())
        if out is not None and c is not out:
            out[...] = c
            return out
        return c

    def _im2col(self, x, k, s, p, d, o):
        n, c = x.shape[:2]
        cols = np.empty((n, c * k[0] * k[1], o[0] * o[1]), dtype=np.float32)
        _conv.im2col(x, cols, k, s, p, d, o, self.get_num_threads())
        return cols

    def _col2im(self, cols, x_shape, k, s, p, d, o):
        x = np.empty(x_shape, dtype=np.float32)
        _conv.col2im(cols, x, k, s, p, d, o, self.get_num_threads())
        return x

    def _conv2d_forward(self, x, weight, bias, s, p, d, o, variant):
        n, f = x.shape[0], weight.shape[0]
        out = np.empty((n, f, o[0], o[1]), dtype=np.float32)
        k = weight.shape[2:]
        if variant == "direct":
            _conv.conv2d_forward_direct(x, weight, bias, out.reshape(n, f, -1), k, s, p, d, o,
                                        self.get_num_threads())
        elif variant == "implicit":
            _conv.conv2d_forward_implicit(x, weight.reshape(f, -1), bias, out.reshape(n, f, -1),
                                          k, s, p, d, o, self.get_num_threads())
        else:
            _conv.conv2d_forward_im2col(x, weight.reshape(f, -1), bias, out.reshape(n, f, -1),
                                        k, s, p, d, o, self.get_num_threads())
        return out

    def _conv2d_backward(self, grad_out, x, weight, s, p, d, o, needs_input_grad, needs_bias_grad):
        n, f = x.shape[0], weight.shape[0]
        grad_w = np.empty(weight.shape, dtype=np.float32)
        grad_b = np.empty(f, dtype=np.float32) if needs_bias_grad else None
        grad_x = np.empty(x.shape, dtype=np.float32) if needs_input_grad else None
        _conv.conv2d_backward(grad_out.reshape(n, f, -1), x, weight.reshape(f, -1), grad_x,
                              grad_w.reshape(f, -1), grad_b, weight.shape[2:], s, p, d, o,
                              self.get_num_threads())
        return grad_x, grad_w, grad_b

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


    # ---- pool / loss / norm
    # (src_cython/_pool.pyx, _loss.pyx, _norm.pyx) Arrays are reshaped, never copied: images
    # to (N*C, H, W) planes, batch norm input stays (N, C, L).
    def _maxpool2d_forward(self, x, k, s, p, o):
        n, c, h, w = x.shape
        out = np.empty((n, c, *o), dtype=np.float32)
        argmax = np.empty((n, c, *o), dtype=np.int64)
        _pool.maxpool2d_forward(x.reshape(n * c, h, w), out.reshape(n * c, *o), argmax.reshape(n * c, *o),
                                *k, *s, *p, self.get_num_threads())
        return out, argmax

    def _maxpool2d_backward(self, grad_out, argmax, x_shape):
        n, c, h, w = x_shape
        oh, ow = grad_out.shape[2:]
        grad_x = np.empty(x_shape, dtype=np.float32)
        _pool.maxpool2d_backward(grad_out.reshape(n * c, oh, ow), argmax.reshape(n * c, oh, ow),
                                 grad_x.reshape(n * c, h, w), self.get_num_threads())
        return grad_x

    def _avgpool2d_forward(self, x, k, s, p, o, count_include_pad):
        n, c, h, w = x.shape
        out = np.empty((n, c, *o), dtype=np.float32)
        _pool.avgpool2d_forward(x.reshape(n * c, h, w), out.reshape(n * c, *o), *k, *s, *p,
                                count_include_pad, self.get_num_threads())
        return out

    def _avgpool2d_backward(self, grad_out, x_shape, k, s, p, o, count_include_pad):
        n, c, h, w = x_shape
        grad_x = np.empty(x_shape, dtype=np.float32)
        _pool.avgpool2d_backward(grad_out.reshape(n * c, *o), grad_x.reshape(n * c, h, w), *k, *s, *p,
                                 count_include_pad, self.get_num_threads())
        return grad_x

    def _softmax_cross_entropy_forward(self, logits, target, label_smoothing):
        losses = np.empty(logits.shape[0], dtype=np.float32)
        probs = np.empty_like(logits)
        _loss.softmax_cross_entropy_forward(logits, target, losses, probs, label_smoothing,
                                            self.get_num_threads())
        return losses, probs

    def _softmax_cross_entropy_backward(self, grad_losses, probs, target, label_smoothing):
        grad = np.empty_like(probs)
        _loss.softmax_cross_entropy_backward(grad_losses, probs, target, grad, label_smoothing,
                                             self.get_num_threads())
        return grad

    def _log_softmax_forward(self, x):
        y = np.empty_like(x)
        _loss.log_softmax_forward(x, y, self.get_num_threads())
        return y

    def _log_softmax_backward(self, grad_y, y):
        grad_x = np.empty_like(grad_y)
        _loss.log_softmax_backward(grad_y, y, grad_x, self.get_num_threads())
        return grad_x

    def _batchnorm_forward(self, x, weight, bias, running_mean, running_var, training, momentum, eps):
        c = x.shape[1]
        y = np.empty_like(x)
        mean = np.empty(c, dtype=np.float32)
        invstd = np.empty(c, dtype=np.float32)
        # momentum is None only when there are no running statistics to update (contract)
        _norm.batchnorm_forward(x, y, weight, bias, running_mean, running_var, training,
                                0.0 if momentum is None else momentum, eps, mean, invstd,
                                self.get_num_threads())
        return y, mean, invstd

    def _batchnorm_backward(self, grad_y, x, weight, mean, invstd, training):
        c = x.shape[1]
        grad_x = np.empty_like(x)
        grad_w = np.empty(c, dtype=np.float32)
        grad_b = np.empty(c, dtype=np.float32)
        _norm.batchnorm_backward(grad_y, x, weight, mean, invstd, training, grad_x, grad_w, grad_b,
                                 self.get_num_threads())
        return grad_x, grad_w, grad_b


__all__ = ["CythonBackend"]
