# cython: language_level=3
"""Softmax cross-entropy (fused) and log-softmax, forward and backward, one row at a time.

Inputs are C-contiguous float32 ``(N, C)`` arrays validated by ``contract.py`` (logits are
finite, targets are int64 in ``[0, C)``); rows are independent, so ``prange`` deals rows
out to the threads (only when there is enough work: ``N*C >= PARALLEL_MIN``).

**Stable log-sum-exp.** ``log sum_c exp(x_c)`` overflows float32 as soon as one logit
exceeds ~88. With the row maximum ``m``: ``log sum_c exp(x_c) = m + log sum_c exp(x_c - m)``;
every shifted exponent is <= 0 (no overflow) and one of them is exactly 0, so the sum is
>= 1 (no log of 0). The sum is accumulated in double. The exponentials come from
``fastnn_math.h`` (vectorised exp, see there), not from libm.

**Fused softmax + cross-entropy.** With ``log p_c = (x_c - m) - lse``, the loss of a row is
``-log p_t`` -- no probabilities need to be formed for the forward value at all; they are
written out only because the backward pass wants them: ``d loss / d x = p - q`` with ``q``
the target distribution. Label smoothing ``ls`` (PyTorch's definition) makes the target
``q = (1 - ls) * onehot(t) + ls / C``, so the loss becomes
``(1 - ls) * (-log p_t) + (ls / C) * sum_c (-log p_c)`` and
``sum_c log p_c = sum_c (x_c - m) - C * lse`` costs one more sum over the row.
"""
from cython.parallel cimport prange
from libc.math cimport log
from libc.stdint cimport int64_t

cdef extern from "fastnn_math.h" nogil:
    double fastnn_exp_shift_sum(const float *x, float *e, Py_ssize_t n, float m)
    void fastnn_log_softmax_grad(const float *gy, const float *y, float *gx, Py_ssize_t n, float total)
    double fastnn_sum(const float *x, Py_ssize_t n)
    float fastnn_max(const float *x, Py_ssize_t n)

#: N*C below which a loss runs on the calling thread only
PARALLEL_MIN = 16384
cdef Py_ssize_t _PARALLEL_MIN = PARALLEL_MIN


def softmax_cross_entropy_forward(const float[:, ::1] logits, const int64_t[::1] target,
                                  float[::1] losses, float[:, ::1] probs, double label_smoothing,
                                  int num_threads):
    """logits (N, C), target (N,) -> losses (N,), probs (N, C)."""
    cdef Py_ssize_t N = logits.shape[0], C = logits.shape[1], n, c
    cdef float m, lse_f, total_f, shifted_sum
    cdef double total, lse, loss
    cdef float keep = <float>(1.0 - label_smoothing)
    cdef double spread = label_smoothing / C
    cdef const float *x
    cdef float *p
    for n in prange(N, nogil=True, schedule="static", num_threads=num_threads,
                    use_threads_if=N * C >= _PARALLEL_MIN):
        x = &logits[n, 0]
        p = &probs[n, 0]
        m = fastnn_max(x, C)
        total = fastnn_exp_shift_sum(x, p, C, m)        # p holds exp(x - m) for now
        lse = log(total)
        total_f = <float>total
        for c in range(C):
            p[c] = p[c] / total_f                        # softmax
        loss = lse - <double>(x[target[n]] - m)          # -log p_t
        if label_smoothing != 0:
            # sum_c -log p_c = C * lse - sum_c (x_c - m)
            loss = keep * loss + spread * (C * lse - (fastnn_sum(x, C) - C * <double>m))
        losses[n] = <float>loss


def softmax_cross_entropy_backward(const float[::1] grad_losses, const float[:, ::1] probs,
                                   const int64_t[::1] target, float[:, ::1] grad_logits,
                                   double label_smoothing, int num_threads):
    """grad_logits = (probs - q) * grad_losses[:, None], q = (1 - ls) onehot(target) + ls / C."""
    cdef Py_ssize_t N = probs.shape[0], C = probs.shape[1], n, c
    cdef float spread = <float>(label_smoothing / C)
    cdef float keep = <float>(1.0 - label_smoothing)
    cdef float g
    cdef const float *p
    cdef float *gx
    for n in prange(N, nogil=True, schedule="static", num_threads=num_threads,
                    use_threads_if=N * C >= _PARALLEL_MIN):
        p = &probs[n, 0]
        gx = &grad_logits[n, 0]
        g = grad_losses[n]
        for c in range(C):
            gx[c] = p[c] - spread
        gx[target[n]] = gx[target[n]] - keep
        for c in range(C):
            gx[c] = gx[c] * g


def log_softmax_forward(const float[:, ::1] x, float[:, ::1] y, int num_threads):
    """y = (x - m) - log sum exp(x - m), row by row."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], n, c
    cdef float m, lse
    cdef const float *xr
    cdef float *yr
    for n in prange(N, nogil=True, schedule="static", num_threads=num_threads,
                    use_threads_if=N * C >= _PARALLEL_MIN):
        xr = &x[n, 0]
        yr = &y[n, 0]
        m = fastnn_max(xr, C)
        lse = <float>log(fastnn_exp_shift_sum(xr, yr, C, m))   # yr is scratch here
        for c in range(C):
            yr[c] = (xr[c] - m) - lse


def log_softmax_backward(const float[:, ::1] grad_y, const float[:, ::1] y, float[:, ::1] grad_x,
                         int num_threads):
    """grad_x = grad_y - exp(y) * sum(grad_y), row by row (exp(y) is the softmax)."""
    cdef Py_ssize_t N = y.shape[0], C = y.shape[1], n
    for n in prange(N, nogil=True, schedule="static", num_threads=num_threads,
                    use_threads_if=N * C >= _PARALLEL_MIN):
        fastnn_log_softmax_grad(&grad_y[n, 0], &y[n, 0], &grad_x[n, 0], C,
                                <float>fastnn_sum(&grad_y[n, 0], C))
