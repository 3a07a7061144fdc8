"""The reference backend: every kernel of the contract in plain, vectorised NumPy.

This module is the *oracle*: every other backend is tested against it, so it is
written to be obviously right first and fast second. Each kernel is a module-level
function you can read (and call) on its own; :class:`NumpyBackend` binds them as the
private ``_kernel`` methods that :mod:`fastnn.backends.contract` calls after it has
validated the arguments. The functions therefore assume what the contract
guarantees:

* arrays are C-contiguous, all of one dtype, float32 or float64;
* ``k, s, p, d`` (kernel size, stride, padding, dilation) are ``(h, w)`` pairs of ints;
* ``o = (OH, OW)`` is the output size the contract computed;
* class targets are int64 in ``[0, C)``.

Every output has the dtype of the input: float32 in, float32 out. (NumPy 2 keeps a
float32 array float32 when it is combined with a Python ``float``, so scalars such as
``negative_slope`` may be plain Python numbers; NumPy *arrays* of float64 would upcast,
and are avoided.)

The one trick used throughout the convolution and pooling kernels: a window of size
``KH x KW`` slid with stride ``s`` over an image visits, for a *fixed* kernel offset
``(i, j)``, the pixels ``x[i*dh + oh*sh, j*dw + ow*sw]`` for all ``(oh, ow)`` -- that is a
single strided slice of the (padded) image. So instead of looping over the ``OH*OW``
output pixels we loop over the ``KH*KW`` kernel offsets and move a whole
``(N, C, OH, OW)`` block at once.
"""
from __future__ import annotations

import numpy as np

from .contract import Backend

# --------------------------------------------------------------------------- helpers


def _window(offset: int, stride: int, out: int) -> slice:
    """The slice of a padded axis that kernel tap ``offset`` sees for outputs ``0..out-1``:
    ``offset, offset + stride, ..., offset + stride*(out-1)``."""
    return slice(offset, offset + stride * (out - 1) + 1, stride)


def _pad(x: np.ndarray, p, value=0.0) -> np.ndarray:
    """``x`` (N,C,H,W) with ``p = (ph, pw)`` rows/columns of ``value`` on each side."""
    ph, pw = p
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = x.shape
    xp = np.full((n, c, h + 2 * ph, w + 2 * pw), value, dtype=x.dtype)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    return xp


def _crop(xp: np.ndarray, p, h: int, w: int) -> np.ndarray:
    """Inverse of :func:`_pad`: the C-contiguous interior ``(h, w)`` of a padded buffer."""
    ph, pw = p
    if ph == 0 and pw == 0:
        return xp
    return np.ascontiguousarray(xp[:, :, ph:ph + h, pw:pw + w])


# --------------------------------------------------------------------------- gemm


def gemm(a, b, trans_a, trans_b, out, variant):
    """``C = op(A) @ op(B)``, ``op`` = transpose when the flag is set.

    NumPy's ``matmul`` hands the work to the BLAS (OpenBLAS), which is what the
    compiled ladders are measured against. ``a.T`` is a free view: the BLAS reads the
    transposed layout directly, no copy is made. With ``out`` the result is written
    into it (and ``out`` is returned)."""
    a = a.T if trans_a else a
    b = b.T if trans_b else b
    if out is None:
        return np.matmul(a, b)
    np.matmul(a, b, out=out)
    return out


# --------------------------------------------------------------------------- convolution


def _taps(cols6, batch_in_columns):
    """A ``(KH, KW, C, N, OH, OW)`` view of a column buffer, whatever its layout, so one loop
    over kernel taps can fill (or read) either layout."""
    if batch_in_columns:                       # buffer is (C, KH, KW, N, OH, OW)
        return cols6.transpose(1, 2, 0, 3, 4, 5)
    return cols6.transpose(2, 3, 1, 0, 4, 5)   # buffer is (N, C, KH, KW, OH, OW)


def _unfold(x, k, s, p, d, o, batch_in_columns):
    """The im2col copy, into (N, C*KH*KW, OH*OW), or with ``batch_in_columns`` into
    (C*KH*KW, N*OH*OW): the whole batch side by side, so a convolution is ONE big GEMM
    instead of N small ones (the layout conv2d uses internally)."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = k, s, d, o
    n, c = x.shape[:2]
    xp = _pad(x, p).transpose(1, 0, 2, 3)                     # (C, N, Hp, Wp) view, no copy
    shape = (c, kh, kw, n, oh, ow) if batch_in_columns else (n, c, kh, kw, oh, ow)
    cols = np.empty(shape, dtype=x.dtype)
    taps = _taps(cols, batch_in_columns)
    for i in range(kh):
        rows = _window(i * dh, sh, oh)
        for j in range(kw):
            taps[i, j] = xp[:, :, rows, _window(j * dw, sw, ow)]
    if batch_in_columns:
        return cols.reshape(c * kh * kw, n * oh * ow)
    return cols.reshape(n, c * kh * kw, oh * ow)


def _fold(cols, x_shape, k, s, p, d, o, batch_in_columns):
    """The col2im sum, from either layout of :func:`_unfold`."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = k, s, d, o
    n, c, h, w = x_shape
    ph, pw = p
    shape = (c, kh, kw, n, oh, ow) if batch_in_columns else (n, c, kh, kw, oh, ow)
    taps = _taps(cols.reshape(shape), batch_in_columns)
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    xpt = xp.transpose(1, 0, 2, 3)                            # (C, N, Hp, Wp) view of xp
    for i in range(kh):
        rows = _window(i * dh, sh, oh)
        for j in range(kw):
            xpt[:, :, rows, _window(j * dw, sw, ow)] += taps[i, j]
    return _crop(xp, p, h, w)


def im2col(x, k, s, p, d, o):
    """Unfold every receptive field of ``x`` (N,C,H,W) into a column.

    Returns ``cols`` (N, C*KH*KW, OH*OW): column ``oh*OW + ow`` of sample ``n`` holds the
    ``C x KH x KW`` input values the filter sees at output pixel ``(oh, ow)``, in row
    order ``(c, kh, kw)`` -- the order of ``weight.reshape(F, -1)`` -- so that the
    convolution of sample ``n`` is one matrix product, ``weight.reshape(F, -1) @ cols[n]``.

    For each kernel offset ``(i, j)`` the values ``xpad[n, c, i*dh + oh*sh, j*dw + ow*sw]``
    over all ``(n, c, oh, ow)`` form one strided slice of the zero padded input:
    ``KH*KW`` slice copies build it all.
    """
    return _unfold(x, k, s, p, d, o, batch_in_columns=False)


def col2im(cols, x_shape, k, s, p, d, o):
    """The adjoint of :func:`im2col`: fold columns back into an image, *summing* overlaps.

    Every entry of ``cols`` came from one input pixel (or from padding); col2im sends it
    back there. Where receptive fields overlap (stride < dilated kernel) a pixel receives
    several contributions and they add up -- that is exactly what the backward pass of a
    convolution needs, since a pixel used by several outputs gets gradient from each.

    For a fixed offset ``(i, j)`` the target positions ``i*dh + oh*sh`` are all distinct,
    so one ``+=`` per offset into a zero padded buffer is correct (no two writes of the
    same slice collide); the padding ring is cropped off at the end.
    """
    return _fold(cols, x_shape, k, s, p, d, o, batch_in_columns=False)


def conv2d_forward(x, weight, bias, s, p, d, o, variant):
    """2-D cross-correlation (what deep learning calls convolution) by im2col + GEMM.

    ``out[n, f, oh, ow] = bias[f] + sum_{c,i,j} weight[f, c, i, j] * xpad[n, c, oh*sh + i*dh, ow*sw + j*dw]``

    im2col turns the sum over ``(c, i, j)`` into the inner dimension of a matrix product.
    With the whole batch's columns side by side it is a single BLAS call,
    ``(F, K) @ (K, N*OH*OW)``, whose ``(F, N, OH, OW)`` result is put back in NCHW order."""
    f, c, kh, kw = weight.shape
    n = x.shape[0]
    cols = _unfold(x, (kh, kw), s, p, d, o, batch_in_columns=True)     # (K, N*L)
    out = weight.reshape(f, c * kh * kw) @ cols                         # (F, N*L)
    if bias is not None:
        out += bias[:, None]
    return np.ascontiguousarray(out.reshape(f, n, *o).transpose(1, 0, 2, 3))


def conv2d_backward(grad_out, x, weight, s, p, d, o, needs_input_grad, needs_bias_grad):
    """Gradients of :func:`conv2d_forward` given ``grad_out = dL/d out`` (N,F,OH,OW).

    With ``W2 = weight.reshape(F, K)``, ``cols = im2col(x)`` as (K, N*L) and ``G`` the
    gradient as (F, N*L), the forward is ``out = W2 @ cols + bias``, so (matrix calculus
    of a product):

    * ``grad_weight = G @ cols.T``     -- one GEMM over all N*L output pixels;
    * ``grad_bias   = G.sum(axis=1)``;
    * ``grad_cols = W2.T @ G`` and ``grad_x = col2im(grad_cols)`` -- the adjoint of im2col
      routes each column entry back to the pixel it came from, summing overlaps.
    """
    f, c, kh, kw = weight.shape
    n = x.shape[0]
    k = (kh, kw)
    g = np.ascontiguousarray(grad_out.transpose(1, 0, 2, 3)).reshape(f, n * o[0] * o[1])   # (F, N*L)
    cols = _unfold(x, k, s, p, d, o, batch_in_columns=True)                                  # (K, N*L)
    grad_w = (g @ cols.T).reshape(weight.shape)
    grad_b = g.sum(axis=1) if needs_bias_grad else None
    grad_x = None
    if needs_input_grad:
        grad_cols = weight.reshape(f, c * kh * kw).T @ g                                     # (K, N*L)
        grad_x = _fold(grad_cols, x.shape, k, s, p, d, o, batch_in_columns=True)
    return grad_x, grad_w, grad_b


# --------------------------------------------------------------------------- pooling


def maxpool2d_forward(x, k, s, p, o):
    """Max over each ``KH x KW`` window, and where it was.

    Returns ``(out, argmax)``; ``argmax[n, c, oh, ow]`` is the flat index ``h*W + w`` of the
    winner in the *unpadded* input plane (PyTorch's convention), which is all the backward
    pass needs. Padding counts as ``-inf`` (it never wins). Ties go to the first maximum
    in row-major window order: a later tap replaces the running maximum only if it is
    strictly greater. (NaN never wins a comparison, so NaN inputs are skipped unless a
    whole window is NaN.)

    Loop over the ``KH*KW`` taps, each comparing a strided ``(N, C, OH, OW)`` slice with
    the running maximum."""
    (kh, kw), (sh, sw), (ph, pw), (oh, ow) = k, s, p, o
    n, c, h, w = x.shape
    xp = _pad(x, p, -np.inf)
    best = np.full((n, c, oh, ow), -np.inf, dtype=x.dtype)
    argmax = np.full((n, c, oh, ow), -1, dtype=np.int64)
    better = np.empty((n, c, oh, ow), dtype=bool)
    # top-left input coordinate of every window (may be negative: inside the padding)
    h0 = np.arange(oh, dtype=np.int64) * sh - ph
    w0 = np.arange(ow, dtype=np.int64) * sw - pw
    base = h0[:, None] * w + w0[None, :]                        # flat index of tap (0, 0)
    for i in range(kh):
        rows = _window(i, sh, oh)
        for j in range(kw):
            window = xp[:, :, rows, _window(j, sw, ow)]
            np.greater(window, best, out=better)
            np.copyto(best, window, where=better)
            np.copyto(argmax, base + (i * w + j), where=better)
    missing = argmax < 0
    if missing.any():
        # a window whose real values are all -inf (or NaN): pick its first real pixel
        first = np.maximum(h0, 0)[:, None] * w + np.maximum(w0, 0)[None, :]
        argmax = np.where(missing, first, argmax)
        planes = x.reshape(n, c, h * w)
        winners = np.take_along_axis(planes, argmax.reshape(n, c, oh * ow), axis=2).reshape(n, c, oh, ow)
        best = np.where(missing, winners, best)
    return best, argmax


def maxpool2d_backward(grad_out, argmax, x_shape):
    """Route each output gradient to the input pixel that won its window.

    Windows overlap when stride < kernel, so one pixel may win several windows and must
    receive the *sum* of their gradients. Turning ``argmax`` into global indices into the
    flattened ``(N, C, H, W)`` array and calling ``np.bincount(..., weights=grad)`` sums
    duplicates correctly in one vectorised pass."""
    n, c, h, w = x_shape
    plane = h * w
    offsets = (np.arange(n * c, dtype=np.int64) * plane).reshape(n, c, 1, 1)
    index = (argmax + offsets).ravel()
    grad = np.bincount(index, weights=grad_out.ravel(), minlength=n * c * plane)
    return grad.astype(grad_out.dtype, copy=False).reshape(x_shape)


def _avgpool_divisor(x_shape, k, s, p, o, count_include_pad, dtype):
    """What each window's sum is divided by: ``KH*KW``, or with ``count_include_pad=False``
    the number of real (non-padding) pixels in the window, as an (OH, OW) array."""
    (kh, kw), (sh, sw), (ph, pw), (oh, ow) = k, s, p, o
    h, w = x_shape[2:]
    if count_include_pad:
        return float(kh * kw)
    h0 = np.arange(oh) * sh - ph
    w0 = np.arange(ow) * sw - pw
    rows = np.minimum(h0 + kh, h) - np.maximum(h0, 0)
    cols = np.minimum(w0 + kw, w) - np.maximum(w0, 0)
    return np.outer(rows, cols).astype(dtype)


def avgpool2d_forward(x, k, s, p, o, count_include_pad):
    """Mean over each ``KH x KW`` window (zero padding).

    PyTorch semantics: with ``count_include_pad`` the sum is divided by ``KH*KW`` even where
    the window overlaps padding; without, by the number of real pixels in the window."""
    (kh, kw), (sh, sw), (oh, ow) = k, s, o
    xp = _pad(x, p)
    out = np.zeros((x.shape[0], x.shape[1], oh, ow), dtype=x.dtype)
    for i in range(kh):
        rows = _window(i, sh, oh)
        for j in range(kw):
            out += xp[:, :, rows, _window(j, sw, ow)]
    out /= _avgpool_divisor(x.shape, k, s, p, o, count_include_pad, x.dtype)
    return out


def avgpool2d_backward(grad_out, x_shape, k, s, p, o, count_include_pad):
    """Each input pixel of a window gets ``grad / divisor``; overlapping windows add up.

    The same slice-add per kernel offset as :func:`col2im`, into a zero padded buffer
    whose padding ring is cropped off at the end (padding has no gradient)."""
    (kh, kw), (sh, sw), (oh, ow) = k, s, o
    n, c, h, w = x_shape
    ph, pw = p
    g = grad_out / _avgpool_divisor(x_shape, k, s, p, o, count_include_pad, grad_out.dtype)
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=grad_out.dtype)
    for i in range(kh):
        rows = _window(i, sh, oh)
        for j in range(kw):
            xp[:, :, rows, _window(j, sw, ow)] += g
    return _crop(xp, p, h, w)


# --------------------------------------------------------------------------- activations


def relu_forward(x):
    """``max(x, 0)``."""
    return np.maximum(x, x.dtype.type(0))


def relu_backward(grad_y, y):
    """``grad * [x > 0]``; the saved output tells the sign, since ``y > 0`` iff ``x > 0``."""
    return np.where(y > 0, grad_y, grad_y.dtype.type(0))


def leaky_relu_forward(x, negative_slope):
    """``x`` for ``x > 0``, ``negative_slope * x`` otherwise."""
    return np.where(x > 0, x, x * negative_slope)


def leaky_relu_backward(grad_y, x, negative_slope):
    """``grad`` where ``x > 0``, ``negative_slope * grad`` elsewhere (from the saved input:
    with a negative slope, or a zero one, the output's sign cannot always tell)."""
    return np.where(x > 0, grad_y, grad_y * negative_slope)


def elu_forward(x, alpha):
    """``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise.

    ``expm1`` is accurate near 0; it is evaluated on ``min(x, 0)`` so that large positive
    inputs (whose branch is discarded) cannot overflow."""
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, x.dtype.type(0))))


def elu_backward(grad_y, y, alpha):
    """From the saved output: slope 1 where ``y > 0``; for ``x <= 0`` the slope is
    ``alpha * exp(x) = y + alpha``."""
    return np.where(y > 0, grad_y, grad_y * (y + alpha))


def sigmoid_forward(x):
    """``1 / (1 + exp(-x))`` without overflow.

    ``exp(-x)`` overflows for very negative ``x``. With ``e = exp(-|x|)`` (always in
    ``(0, 1]``): ``sigmoid(x) = 1 / (1 + e)`` for ``x >= 0`` and ``e / (1 + e)`` for ``x < 0``
    (multiply numerator and denominator by ``exp(x)``)."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_backward(grad_y, y):
    """``dy/dx = y * (1 - y)``, from the saved output."""
    return grad_y * (y * (1 - y))


def tanh_forward(x):
    return np.tanh(x)


def tanh_backward(grad_y, y):
    """``dy/dx = 1 - y**2``, from the saved output."""
    return grad_y * (1 - y * y)


# --------------------------------------------------------------------------- losses


def _log_softmax(x):
    """``x - logsumexp(x)`` along the last axis, stably: shift by the row maximum first so
    that ``exp`` never overflows (the shift cancels). Returns ``(log_probs, exp(shifted), sum)``."""
    z = x - x.max(axis=-1, keepdims=True)
    e = np.exp(z)
    total = e.sum(axis=-1, keepdims=True)
    return z - np.log(total), e, total


def softmax_cross_entropy_forward(logits, target, label_smoothing):
    """Softmax and cross-entropy fused, per sample.

    ``log p = log_softmax(logits)``; the loss of sample ``n`` is
    ``(1 - ls) * (-log p[n, t_n]) + ls / C * sum_c (-log p[n, c])``
    (PyTorch's label smoothing: the target distribution is ``(1 - ls) * onehot + ls / C``).
    Returns ``(losses (N,), probs (N, C))``; the probabilities are what the backward needs."""
    n, c = logits.shape
    logp, e, total = _log_softmax(logits)
    probs = e / total
    losses = -logp[np.arange(n), target]
    if label_smoothing:
        losses = (1 - label_smoothing) * losses - (label_smoothing / c) * logp.sum(axis=1)
    return losses, probs


def softmax_cross_entropy_backward(grad_losses, probs, target, label_smoothing):
    """``d loss_n / d logits_n = probs_n - q_n`` with ``q = (1 - ls) * onehot(t) + ls / C``
    (softmax's Jacobian and the log's derivative collapse to this), scaled by ``grad_losses``."""
    n, c = probs.shape
    grad = probs - label_smoothing / c if label_smoothing else probs.copy()
    grad[np.arange(n), target] -= 1 - label_smoothing
    grad *= grad_losses[:, None]
    return grad


def log_softmax_forward(x):
    """``x - logsumexp(x)`` along the last axis, computed stably."""
    return _log_softmax(x)[0]


def log_softmax_backward(grad_y, y):
    """From the saved output ``y``: ``grad_x = grad_y - softmax * sum(grad_y)``,
    with ``softmax = exp(y)``."""
    return grad_y - np.exp(y) * grad_y.sum(axis=-1, keepdims=True)


# --------------------------------------------------------------------------- batch norm


def batchnorm_forward(x, weight, bias, running_mean, running_var, training, momentum, eps):
    """Normalise each channel of ``x`` (N, C, L) over its ``N*L`` values, then scale and shift.

    ``y = (x - mean) * invstd * weight + bias`` with ``invstd = 1 / sqrt(var + eps)``.

    * training: ``mean``/``var`` are the batch statistics (the biased variance, dividing by
      ``N*L``). Running statistics, when given, are updated *in place* as PyTorch does:
      ``running = (1 - momentum) * running + momentum * batch``, using the *unbiased*
      variance (dividing by ``N*L - 1``) for ``running_var``.
    * eval: the running statistics are used as they are.

    Returns ``(y, mean (C,), invstd (C,))``, what the backward pass needs."""
    n, c, l = x.shape
    if training:
        mean = x.mean(axis=(0, 2))
        xc = x - mean[:, None]
        var = np.mean(xc * xc, axis=(0, 2))
        if running_mean is not None:
            m = n * l
            running_mean *= 1 - momentum
            running_mean += momentum * mean
            running_var *= 1 - momentum
            running_var += (momentum * m / (m - 1)) * var
    else:
        mean = running_mean.copy()
        xc = x - mean[:, None]
        var = running_var
    invstd = 1 / np.sqrt(var + eps)
    scale = invstd if weight is None else invstd * weight
    y = xc * scale[:, None]
    if bias is not None:
        y += bias[:, None]
    return y, mean, invstd


def batchnorm_backward(grad_y, x, weight, mean, invstd, training):
    """Gradients of :func:`batchnorm_forward` (per channel, ``M = N*L`` values).

    With ``xhat = (x - mean) * invstd``:

    * ``grad_bias = sum(grad_y)`` and ``grad_weight = sum(grad_y * xhat)``;
    * training -- mean and invstd depend on x, and differentiating through them gives
      ``grad_x = weight * invstd * (grad_y - grad_bias / M - xhat * grad_weight / M)``;
    * eval -- the statistics are constants: ``grad_x = grad_y * weight * invstd``.

    ``weight=None`` means weight 1 (an affine-free norm); grad_weight and grad_bias are
    returned anyway (cheap, and the caller may ignore them)."""
    n, c, l = x.shape
    xhat = (x - mean[:, None]) * invstd[:, None]
    grad_bias = grad_y.sum(axis=(0, 2))
    grad_weight = (grad_y * xhat).sum(axis=(0, 2))
    scale = invstd if weight is None else invstd * weight
    if training:
        m = n * l
        grad_x = grad_y - (grad_bias / m)[:, None] - xhat * (grad_weight / m)[:, None]
        grad_x *= scale[:, None]
    else:
        grad_x = grad_y * scale[:, None]
    return grad_x, grad_weight, grad_bias


# --------------------------------------------------------------------------- the backend


class NumpyBackend(Backend):
    """The reference backend: the module's functions, behind the validated contract."""

    name = "numpy"
    gemm_variants = ("blas",)
    conv_variants = ("im2col",)

    _gemm = staticmethod(gemm)
    _im2col = staticmethod(im2col)
    _col2im = staticmethod(col2im)
    _conv2d_forward = staticmethod(conv2d_forward)
    _conv2d_backward = staticmethod(conv2d_backward)
    _maxpool2d_forward = staticmethod(maxpool2d_forward)
    _maxpool2d_backward = staticmethod(maxpool2d_backward)
    _avgpool2d_forward = staticmethod(avgpool2d_forward)
    _avgpool2d_backward = staticmethod(avgpool2d_backward)
    _relu_forward = staticmethod(relu_forward)
    _relu_backward = staticmethod(relu_backward)
    _leaky_relu_forward = staticmethod(leaky_relu_forward)
    _leaky_relu_backward = staticmethod(leaky_relu_backward)
    _elu_forward = staticmethod(elu_forward)
    _elu_backward = staticmethod(elu_backward)
    _sigmoid_forward = staticmethod(sigmoid_forward)
    _sigmoid_backward = staticmethod(sigmoid_backward)
    _tanh_forward = staticmethod(tanh_forward)
    _tanh_backward = staticmethod(tanh_backward)
    _softmax_cross_entropy_forward = staticmethod(softmax_cross_entropy_forward)
    _softmax_cross_entropy_backward = staticmethod(softmax_cross_entropy_backward)
    _log_softmax_forward = staticmethod(log_softmax_forward)
    _log_softmax_backward = staticmethod(log_softmax_backward)
    _batchnorm_forward = staticmethod(batchnorm_forward)
    _batchnorm_backward = staticmethod(batchnorm_backward)


__all__ = ["NumpyBackend", "gemm", "im2col", "col2im", "conv2d_forward", "conv2d_backward",
           "maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward", "avgpool2d_backward",
           "relu_forward", "relu_backward", "leaky_relu_forward", "leaky_relu_backward",
           "elu_forward", "elu_backward", "sigmoid_forward", "sigmoid_backward",
           "tanh_forward", "tanh_backward", "softmax_cross_entropy_forward",
           "softmax_cross_entropy_backward", "log_softmax_forward", "log_softmax_backward",
           "batchnorm_forward", "batchnorm_backward"]
