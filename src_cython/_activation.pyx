# cython: language_level=3
"""Element-wise activations, forward and backward, over flat float32 buffers.

The Python face (``fastnn/backends/cython_kernels.py``) passes ``x.reshape(-1)`` views
of C-contiguous float32 arrays that ``contract.py`` validated, and a fresh output of
the same size; so bounds checks are off (see setup.py) and every loop is one pass
over memory.

Each kernel cuts the array into one contiguous block per thread (``prange`` over the
blocks), which is what a streaming loop wants, and runs a C loop from
``fastnn_activation.h`` on each block. Below ``PARALLEL_MIN`` elements the calling thread
does it all: starting a thread team costs microseconds, more than a small activation
takes. Without OpenMP ``prange`` is an ordinary serial loop.

The thread count is an argument (``num_threads``, the last one of every kernel), not
OpenMP's global setting: other libraries in the process share that setting and change
it (Numba's OpenMP layer resets it when it starts its thread pool).

Backward formulas use what the forward pass saved (see contract.py):
relu, elu, sigmoid and tanh the output ``y``; leaky_relu the input ``x``.

Three things make these loops SIMD loops, and fast ones:

* **No calls into the C math library.** ``expf``, ``expm1f`` and ``tanhf`` from libm are
  scalar functions: a loop calling them runs one element at a time (glibc's tanhf made
  ``tanh_forward`` 40x slower than NumPy's vectorised ``np.tanh``). exp, exp-1, tanh and
  sigmoid come from ``fastnn_math.h`` instead: range reduction ``exp(x) = 2^k exp(r)``,
  a short polynomial for ``exp(r)``, and ``2^k`` assembled from its bit pattern -- plain
  arithmetic the compiler inlines and vectorises, accurate to ~2 ulp (see the header).
* **No branch at all.** ``y = x if x > 0 else x * slope`` looks like a select, but GCC
  keeps a branch for it (it moves the multiply into the arm that needs it and then may
  not execute it unconditionally: the multiply could raise a floating-point exception
  flag, ``-ftrapping-math``). A loop with a branch inside is not vectorised, and on random
  signs the CPU mispredicts it half the time: leaky_relu ran ~40x slower than relu.
  ``fastnn_select(cond, a, b)`` (in the header) picks with bit masks instead, both ``a``
  and ``b`` computed for every element; it compiles to a SIMD compare and blend.
* **The CPU's widest vectors, chosen at load time.** A portable build may only assume
  SSE2 (4 floats per instruction); the loops are C functions compiled for SSE2, AVX2 and
  AVX-512 (GCC's ``target_clones``) and the loader binds the best one for the CPU it
  runs on (``SIMD_CLONES`` tells whether this build has them). For tanh that is 5x.
"""
from cython.parallel cimport prange

cdef extern from "fastnn_activation.h" nogil:
    int FASTNN_HAVE_CLONES
    void fastnn_relu_loop(const float *x, float *y, Py_ssize_t n, float param)
    void fastnn_leaky_relu_loop(const float *x, float *y, Py_ssize_t n, float param)
    void fastnn_elu_loop(const float *x, float *y, Py_ssize_t n, float param)
    void fastnn_sigmoid_loop(const float *x, float *y, Py_ssize_t n, float param)
    void fastnn_tanh_loop(const float *x, float *y, Py_ssize_t n, float param)
    void fastnn_relu_grad_loop(const float *gy, const float *s, float *gx, Py_ssize_t n, float param)
    void fastnn_leaky_relu_grad_loop(const float *gy, const float *s, float *gx, Py_ssize_t n, float param)
    void fastnn_elu_grad_loop(const float *gy, const float *s, float *gx, Py_ssize_t n, float param)
    void fastnn_sigmoid_grad_loop(const float *gy, const float *s, float *gx, Py_ssize_t n, float param)
    void fastnn_tanh_grad_loop(const float *gy, const float *s, float *gx, Py_ssize_t n, float param)

ctypedef void (*forward_loop)(const float *, float *, Py_ssize_t, float) noexcept nogil
ctypedef void (*backward_loop)(const float *, const float *, float *, Py_ssize_t, float) noexcept nogil

#: arrays smaller than this are processed on the calling thread only
PARALLEL_MIN = 32768
cdef Py_ssize_t _PARALLEL_MIN = PARALLEL_MIN

#: True when the loops carry AVX2 and AVX-512 clones, one of which the loader picked
SIMD_CLONES = bool(FASTNN_HAVE_CLONES)


# --------------------------------------------------------------------------- one block per thread

cdef inline int _teams(Py_ssize_t n, int num_threads) noexcept nogil:
    return num_threads if n >= _PARALLEL_MIN and num_threads > 1 else 1


cdef inline Py_ssize_t _block(Py_ssize_t n, int teams) noexcept nogil:
    """Elements per thread, rounded up to 16 floats (64 bytes: no cache line is shared by
    two threads, for an array that starts on one)."""
    return ((n + teams - 1) // teams + 15) // 16 * 16


cdef void _forward(forward_loop loop, const float[::1] x, float[::1] y, float param,
                   int num_threads) noexcept nogil:
    cdef Py_ssize_t n = x.shape[0], block, t, start, stop
    cdef int teams = _teams(n, num_threads)
    if teams == 1:
        loop(&x[0], &y[0], n, param)
        return
    block = _block(n, teams)
    for t in prange(teams, schedule="static", chunksize=1, num_threads=teams):
        start = t * block
        stop = min(start + block, n)
        if start < stop:
            loop(&x[0] + start, &y[0] + start, stop - start, param)


cdef void _backward(backward_loop loop, const float[::1] grad_y, const float[::1] saved,
                    float[::1] grad_x, float param, int num_threads) noexcept nogil:
    cdef Py_ssize_t n = grad_y.shape[0], block, t, start, stop
    cdef int teams = _teams(n, num_threads)
    if teams == 1:
        loop(&grad_y[0], &saved[0], &grad_x[0], n, param)
        return
    block = _block(n, teams)
    for t in prange(teams, schedule="static", chunksize=1, num_threads=teams):
        start = t * block
        stop = min(start + block, n)
        if start < stop:
            loop(&grad_y[0] + start, &saved[0] + start, &grad_x[0] + start, stop - start, param)


# --------------------------------------------------------------------------- forward

def relu_forward(const float[::1] x, float[::1] y, int num_threads):
    """max(x, 0); NaN stays NaN, as in np.maximum / torch.relu."""
    with nogil:
        _forward(fastnn_relu_loop, x, y, 0, num_threads)


def leaky_relu_forward(const float[::1] x, float[::1] y, float negative_slope, int num_threads):
    with nogil:
        _forward(fastnn_leaky_relu_loop, x, y, negative_slope, num_threads)


def elu_forward(const float[::1] x, float[::1] y, float alpha, int num_threads):
    with nogil:
        _forward(fastnn_elu_loop, x, y, alpha, num_threads)


def sigmoid_forward(const float[::1] x, float[::1] y, int num_threads):
    with nogil:
        _forward(fastnn_sigmoid_loop, x, y, 0, num_threads)


def tanh_forward(const float[::1] x, float[::1] y, int num_threads):
    with nogil:
        _forward(fastnn_tanh_loop, x, y, 0, num_threads)


# --------------------------------------------------------------------------- backward

def relu_backward(const float[::1] grad_y, const float[::1] y, float[::1] grad_x, int num_threads):
    """y > 0 exactly where x > 0."""
    with nogil:
        _backward(fastnn_relu_grad_loop, grad_y, y, grad_x, 0, num_threads)


def leaky_relu_backward(const float[::1] grad_y, const float[::1] x, float[::1] grad_x,
                        float negative_slope, int num_threads):
    """From the saved input: with a negative slope the output's sign does not tell."""
    with nogil:
        _backward(fastnn_leaky_relu_grad_loop, grad_y, x, grad_x, negative_slope, num_threads)


def elu_backward(const float[::1] grad_y, const float[::1] y, float[::1] grad_x, float alpha,
                 int num_threads):
    """For x <= 0, dy/dx = alpha * exp(x) = y + alpha."""
    with nogil:
        _backward(fastnn_elu_grad_loop, grad_y, y, grad_x, alpha, num_threads)


def sigmoid_backward(const float[::1] grad_y, const float[::1] y, float[::1] grad_x,
                     int num_threads):
    """dy/dx = y (1 - y)."""
    with nogil:
        _backward(fastnn_sigmoid_grad_loop, grad_y, y, grad_x, 0, num_threads)


def tanh_backward(const float[::1] grad_y, const float[::1] y, float[::1] grad_x, int num_threads):
    """dy/dx = 1 - y^2."""
    with nogil:
        _backward(fastnn_tanh_grad_loop, grad_y, y, grad_x, 0, num_threads)
