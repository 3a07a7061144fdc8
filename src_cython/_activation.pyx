# cython: language_level=3
"""Element-wise activations, forward and backward, over flat float32 buffers.

The Python face (``fastnn/backends/cython_kernels.py``) passes ``x.reshape(-1)`` views
of C-contiguous float32 arrays that ``contract.py`` validated, and a fresh output of
the same size; so bounds checks are off (see setup.py) and every loop is one pass
over memory.

Each kernel is a ``prange`` loop with a static schedule: every thread gets one
contiguous block, which is what a memory-bound streaming loop wants. Below
``PARALLEL_MIN`` elements the loop runs on the calling thread (``use_threads_if``):
starting a thread team costs microseconds, more than a small activation takes.
Without OpenMP ``prange`` is an ordinary serial loop.

The thread count is an argument (``num_threads``, the last one of every kernel), not
OpenMP's global setting: other libraries in the process share that setting and change
it (Numba's OpenMP layer resets it when it starts its thread pool).

Backward formulas use what the forward pass saved (see contract.py):
relu, elu, sigmoid and tanh the output ``y``; leaky_relu the input ``x``.
"""
from cython.parallel cimport prange
from libc.math cimport expf, expm1f, tanhf

#: arrays smaller than this are processed on the calling thread only
PARALLEL_MIN = 32768
cdef Py_ssize_t _PARALLEL_MIN = PARALLEL_MIN

# float32 constants: a bare 1.0 is a C double and would pull the arithmetic into double
cdef extern from *:
    """
    #define FASTNN_ZERO 0.0f
    #define FASTNN_ONE 1.0f
    """
    const float ZERO "FASTNN_ZERO"
    const float ONE "FASTNN_ONE"


# --------------------------------------------------------------------------- element-wise math

cdef inline float _sigmoid(float v) noexcept nogil:
    # Numerically stable: exp() only ever sees a non-positive argument, so it cannot overflow.
    cdef float e
    if v >= 0:
        return ONE / (ONE + expf(-v))
    e = expf(v)
    return e / (ONE + e)


cdef inline float _elu(float v, float alpha) noexcept nogil:
    # expm1 keeps precision for small |v|, where exp(v) - 1 would cancel
    return v if v > 0 else alpha * expm1f(v)


# --------------------------------------------------------------------------- forward

def relu_forward(const float[::1] x, float[::1] y, int num_threads):
    cdef Py_ssize_t i, n = x.shape[0]
    for i in prange(n, nogil=True, schedule="static", num_threads=num_threads,
                    use_threads_if=n >= _PARALLEL_MIN):
        # "not x <= 0" rather than "x > 0" so that NaN propagates, as in np.maximum / torch.relu
        y[i] = x[i] if not x[i] <= 0 else ZERO


def leaky_relu_forward(const float[::1] x, float[::1] y, float negative_slope, int num_threads):
    cdef Py_ssize_t i, n = x.shape[0]
    for i in prange(n, nogil=True, schedule="static", num_threads=num_threads,
                    use_threads_if=n >= _PARALLEL_MIN):
        y[i] = x[i] if x[i] > 0 else x[i] * negative_slope


def elu_forward(const float[::1] x, float[::1] y, float alpha, int num_threads):
    cdef Py_ssize_t i, n = x.shape[0]
    for i in prange(n, nogil=True, schedule="static", num_threads=num_threads,
                    use_threads_if=n >= _PARALLEL_MIN):
        y[i] = _elu(x[i], alpha)


def sigmoid_forward(const float[::1] x, float[::1] y, int num_threads):
    cdef Py_ssize_t i, n = x.shape[0]
    for i in prange(n, nogil=True, schedule="static", num_threads=num_threads,
                    use_threads_if=n >= _PARALLEL_MIN):
        y[i] = _sigmoid(x[i])


def tanh_forward(const float[::1] x, float[::1] y, int num_threads):
    cdef Py_ssize_t i, n = x.shape[0]
    for i in prange(n, nogil=True, schedule="static", num_threads=num_threads,
                    use_threads_if=n >= _PARALLEL_MIN):
        y[i] = tanhf(x[i])


# --------------------------------------------------------------------------- backward

def relu_backward(const float[::1] grad_y, const float[::1] y, float[::1] grad_x, int num_threads):
    """y > 0 exactly where x > 0."""
    cdef Py_ssize_t i, n = y.shape[0]
    for i in prange(n, nogil=True, schedule="static", num_threads=num_threads,
                    use_threads_if=n >= _PARALLEL_MIN):
        grad_x[i] = grad_y[i] if y[i] > 0 else ZERO


def leaky_relu_backward(const float[::1] grad_y, const float[::1] x, float[::1] grad_x,
                        float negative_slope, int num_threads):
    """From the saved input: with a negative slope the output's sign does not tell."""
    cdef Py_ssize_t i, n = x.shape[0]
    for i in prange(n, nogil=True, schedule="static", num_threads=num_threads,
                    use_threads_if=n >= _PARALLEL_MIN):
        grad_x[i] = grad_y[i] if x[i] > 0 else grad_y[i] * negative_slope


def elu_backward(const float[::1] grad_y, const float[::1] y, float[::1] grad_x, float alpha,
                 int num_threads):
    """For x <= 0, dy/dx = alpha * exp(x) = y + alpha."""
    cdef Py_ssize_t i, n = y.shape[0]
    for i in prange(n, nogil=True, schedule="static", num_threads=num_threads,
                    use_threads_if=n >= _PARALLEL_MIN):
        grad_x[i] = grad_y[i] if y[i] > 0 else grad_y[i] * (y[i] + alpha)


def sigmoid_backward(const float[::1] grad_y, const float[::1] y, float[::1] grad_x,
                     int num_threads):
    """dy/dx = y (1 - y)."""
    cdef Py_ssize_t i, n = y.shape[0]
    for i in prange(n, nogil=True, schedule="static", num_threads=num_threads,
                    use_threads_if=n >= _PARALLEL_MIN):
        grad_x[i] = grad_y[i] * (y[i] * (ONE - y[i]))


def tanh_backward(const float[::1] grad_y, const float[::1] y, float[::1] grad_x, int num_threads):
    """dy/dx = 1 - y^2."""
    cdef Py_ssize_t i, n = y.shape[0]
    for i in prange(n, nogil=True, schedule="static", num_threads=num_threads,
                    use_threads_if=n >= _PARALLEL_MIN):
        grad_x[i] = grad_y[i] * (ONE - y[i] * y[i])
