# cython: language_level=3
"""Batch normalisation, forward (training and eval) and backward, one channel at a time.

``x`` arrives as a C-contiguous float32 ``(N, C, L)`` array (``L = H*W`` for BatchNorm2d,
1 for BatchNorm1d) validated by ``contract.py``. Channel ``c`` owns the ``N`` rows
``x[n, c, :]`` of ``L`` contiguous values each; channels never interact, so ``prange``
deals channels out to the threads and every per-channel sum is private to one thread.

**Accurate statistics in one pass.** The mean and variance of a channel are sums over
``M = N*L`` values (65 536 for a (64, C, 32, 32) batch). A float32 running sum loses about
``log2(M)`` of its 24 bits, so the sums here are accumulated in double. The variance comes
from the same pass as the mean: sums of ``x - K`` and ``(x - K)^2`` with ``K`` the channel's
first value (``fastnn_shifted_sums``): ``var = (S2 - S1^2/M) / M``. With ``K = 0`` that is
``E[x^2] - mean^2``, which cancels catastrophically when the mean is large compared with
the spread; with ``K`` near the mean nothing cancels, and reading ``x`` once instead of twice
(mean first, then squared deviations) halves the memory traffic of the statistics. The
sums are vectorised by ``#pragma omp simd reduction`` and compiled per SIMD width (see
``fastnn_math.h``).

**Running statistics** are updated in place, as PyTorch does, with the *unbiased*
variance ``var * M / (M - 1)``; the float32 arithmetic follows the NumPy reference
operation by operation.

**Backward** (training): with ``xhat = (x - mean) * invstd``, ``gb = sum(grad_y)`` and
``gw = sum(grad_y * xhat)``, ``grad_x = weight * invstd * (grad_y - gb/M - xhat * gw/M)``:
one pass for the two sums, one for ``grad_x``. In eval the statistics are constants,
``grad_x = grad_y * weight * invstd`` needs no sums, and one pass does everything.
"""
from cython.parallel cimport prange
from libc.math cimport sqrtf

cdef extern from "fastnn_math.h" nogil:
    void fastnn_shifted_sums(const float *x, Py_ssize_t n, double K, double *s1, double *s2)
    void fastnn_sum_g_gxc(const float *g, const float *x, Py_ssize_t n, float mean,
                          double *sg, double *sgx)
    void fastnn_bn_eval_grad(const float *g, const float *x, float *gx, Py_ssize_t n, float mean,
                             float scale, double *sg, double *sgx)

#: N*C*L below which batch norm runs on the calling thread only
PARALLEL_MIN = 32768
cdef Py_ssize_t _PARALLEL_MIN = PARALLEL_MIN


def batchnorm_forward(const float[:, :, ::1] x, float[:, :, ::1] y,
                      const float[::1] weight, const float[::1] bias,
                      float[::1] running_mean, float[::1] running_var,
                      bint training, double momentum, double eps,
                      float[::1] mean_out, float[::1] invstd_out, int num_threads):
    """y = (x - mean) * invstd * weight + bias per channel; writes mean_out, invstd_out (C,).

    ``weight``, ``bias`` and the running statistics may be None. In training the running
    statistics (when given) are updated in place; in eval they are required (the contract
    checks) and used as the statistics."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], L = x.shape[2], M = N * L, n, c, i
    cdef const float *w = NULL
    cdef const float *b = NULL
    cdef float *rm = NULL if running_mean is None else &running_mean[0]
    cdef float *rv = NULL if running_var is None else &running_var[0]
    cdef float keep = <float>(1.0 - momentum)
    cdef float mom = <float>momentum
    # the unbiased variance's factor, rounded once as in the reference
    cdef float mom_unbiased = <float>(momentum * M / (M - 1)) if M > 1 else 0
    cdef float eps_f = <float>eps
    cdef double s1, s2, K, mean
    cdef float mean_f, var_f, invstd, scale, shift
    cdef const float *xr
    cdef float *yr
    if weight is not None:
        w = &weight[0]
    if bias is not None:
        b = &bias[0]
    for c in prange(C, nogil=True, schedule="static", num_threads=num_threads,
                    use_threads_if=N * C * L >= _PARALLEL_MIN):
        if training:
            K = x[0, c, 0]              # any value near the mean: the channel's first
            s1 = 0
            s2 = 0
            for n in range(N):
                fastnn_shifted_sums(&x[n, c, 0], L, K, &s1, &s2)
            mean = K + s1 / M
            mean_f = <float>mean
            var_f = <float>((s2 - s1 * s1 / M) / M)
            var_f = var_f if var_f > 0 else 0    # rounding must not make it negative
            if rm != NULL:
                rm[c] = rm[c] * keep + mom * mean_f
                rv[c] = rv[c] * keep + mom_unbiased * var_f
        else:
            mean_f = rm[c]
            var_f = rv[c]
        invstd = (<float>1) / sqrtf(var_f + eps_f)
        scale = invstd * w[c] if w != NULL else invstd
        shift = b[c] if b != NULL else 0
        mean_out[c] = mean_f
        invstd_out[c] = invstd
        for n in range(N):
            xr = &x[n, c, 0]
            yr = &y[n, c, 0]
            if b != NULL:
                for i in range(L):
                    yr[i] = (xr[i] - mean_f) * scale + shift
            else:
                for i in range(L):
                    yr[i] = (xr[i] - mean_f) * scale


def batchnorm_backward(const float[:, :, ::1] grad_y, const float[:, :, ::1] x,
                       const float[::1] weight, const float[::1] mean, const float[::1] invstd,
                       bint training, float[:, :, ::1] grad_x, float[::1] grad_weight,
                       float[::1] grad_bias, int num_threads):
    """grad_x (N, C, L), grad_weight and grad_bias (C,); ``weight`` None means 1."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], L = x.shape[2], M = N * L, n, c, i
    cdef const float *w = NULL
    cdef double sg, sgx
    cdef float mean_f, inv, scale, gb_m, gw_m
    cdef const float *gr
    cdef const float *xr
    cdef float *gxr
    if weight is not None:
        w = &weight[0]
    for c in prange(C, nogil=True, schedule="static", num_threads=num_threads,
                    use_threads_if=N * C * L >= _PARALLEL_MIN):
        mean_f = mean[c]
        inv = invstd[c]
        scale = inv * w[c] if w != NULL else inv
        sg = 0
        sgx = 0
        if training:
            # pass 1: the two sums; pass 2: grad_x, which needs them
            for n in range(N):
                fastnn_sum_g_gxc(&grad_y[n, c, 0], &x[n, c, 0], L, mean_f, &sg, &sgx)
            gb_m = <float>(sg / M)
            gw_m = <float>(sgx * inv / M)
            for n in range(N):
                gr = &grad_y[n, c, 0]
                xr = &x[n, c, 0]
                gxr = &grad_x[n, c, 0]
                for i in range(L):
                    gxr[i] = (gr[i] - gb_m - ((xr[i] - mean_f) * inv) * gw_m) * scale
        else:
            # eval: grad_x = grad_y * scale does not need the sums: one pass does both
            for n in range(N):
                fastnn_bn_eval_grad(&grad_y[n, c, 0], &x[n, c, 0], &grad_x[n, c, 0], L, mean_f, scale,
                                    &sg, &sgx)
        grad_bias[c] = <float>sg
        grad_weight[c] = <float>(sgx * inv)          # sum g * xhat = invstd * sum g * (x - mean)
