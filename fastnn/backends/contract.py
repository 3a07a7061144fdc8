"""The kernel contract: every kernel's name, signature, shapes and dtypes, and the
one place where inputs are validated before any kernel sees them.

Every backend is a subclass of :class:`Backend`. The *public* methods defined here
(``gemm``, ``im2col``, ``relu_forward`` ...) check their arguments and then call the
backend's *private* implementation of the same name with a leading underscore
(``_gemm``, ``_im2col``, ``_relu_forward`` ...). A backend therefore only writes the
arithmetic; it never validates, and compiled code may run with bounds checks off
because nothing reaches it that did not pass through this file.

Conventions every implementation can rely on after validation:

* arrays are C-contiguous NumPy arrays of one floating dtype (``float32``; ``float64``
  is accepted so that gradients can be checked by finite differences; a backend that
  only compiles float32 lists that in ``dtypes`` and its float64 calls go to the
  NumPy reference);
* images are NCHW; ``kernel_size``, ``stride``, ``padding``, ``dilation`` arrive as
  pairs of Python ints ``(h, w)``;
* class targets are C-contiguous ``int64`` arrays with every value in ``[0, C)``.

Shapes (N batch, C channels, F filters, K = C*KH*KW, L = OH*OW):

=============================  ==============================================  ==========================
kernel                         arguments                                       returns
=============================  ==============================================  ==========================
gemm                           a (M,K), b (K,N) [transposed by the flags]      c (M,N)
im2col                         x (N,C,H,W)                                     cols (N,K,L)
col2im                         cols (N,K,L), x_shape                           x (N,C,H,W), overlaps summed
conv2d_forward                 x (N,C,H,W), weight (F,C,KH,KW), bias (F,)|None out (N,F,OH,OW)
conv2d_backward                grad_out (N,F,OH,OW), x, weight                 (grad_x|None, grad_w, grad_b|None)
maxpool2d_forward              x (N,C,H,W)                                     (out, argmax int64 into H*W)
maxpool2d_backward             grad_out, argmax, x_shape                       grad_x
avgpool2d_forward/backward     x / grad_out                                    out / grad_x
<act>_forward                  x (any shape)                                   y
<act>_backward                 grad_y, y (saved output) or x (leaky_relu)      grad_x
softmax_cross_entropy_forward  logits (N,C), target (N,), label_smoothing      (losses (N,), probs (N,C))
softmax_cross_entropy_backward grad_losses (N,), probs, target, smoothing      grad_logits (N,C)
log_softmax_forward/backward   x (N,C) over the last axis / grad_y, y          y / grad_x
batchnorm_forward              x (N,C,L), weight, bias, running stats (or None) (y, mean (C,), invstd (C,))
batchnorm_backward             grad_y, x, weight|None, mean, invstd, training  (grad_x, grad_w (C,), grad_b (C,))
=============================  ==============================================  ==========================
"""
from __future__ import annotations

import numbers

import numpy as np

#: Every kernel family of the contract and the kernels that make it up.
#: Tests iterate over this table so that a backend cannot silently miss a kernel.
KERNEL_FAMILIES: dict[str, tuple[str, ...]] = {
    "gemm": ("gemm",),
    "conv": ("im2col", "col2im", "conv2d_forward", "conv2d_backward"),
    "pool": ("maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward", "avgpool2d_backward"),
    "activation": (
        "relu_forward", "relu_backward",
        "leaky_relu_forward", "leaky_relu_backward",
        "elu_forward", "elu_backward",
        "sigmoid_forward", "sigmoid_backward",
        "tanh_forward", "tanh_backward",
    ),
    "loss": (
        "softmax_cross_entropy_forward", "softmax_cross_entropy_backward",
        "log_softmax_forward", "log_softmax_backward",
    ),
    "norm": ("batchnorm_forward", "batchnorm_backward"),
}
KERNELS: tuple[str, ...] = tuple(k for ks in KERNEL_FAMILIES.values() for k in ks)

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class ContractError(ValueError):
    """A kernel argument breaks the contract (shape, dtype, range)."""


# --------------------------------------------------------------------------- helpers

def _shape(a) -> str:
    return "x".join(str(s) for s in a.shape) if a.ndim else "scalar"


def _describe(a) -> str:
    """``"int32 array of shape (2x2)"`` for an array, the type name otherwise (for error messages)."""
    if isinstance(a, np.ndarray):
        layout = "" if a.flags.c_contiguous else "non-contiguous "
        return f"{layout}{a.dtype} array of shape ({_shape(a)})"
    return type(a).__name__


def check_float_array(name: str, a, ndim: int | None = None, dtype=None) -> np.ndarray:
    """Return ``a`` as a C-contiguous float array, or raise naming ``name``.

    Non-contiguous input is copied (a view made by slicing or transposing is legal
    input, the kernels just never see it)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    if a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got {a.dtype} (shape {_shape(a)})")
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{name} has dtype {a.dtype} but the other inputs are {np.dtype(dtype)}")
    if ndim is not None and a.ndim != ndim:
        raise ContractError(f"{name} must be {ndim}-D, got shape ({_shape(a)})")
    if a.size == 0:
        raise ContractError(f"{name} is empty (shape {_shape(a)})")
    return np.ascontiguousarray(a)


def check_finite(name: str, a: np.ndarray) -> None:
    """Raise if ``a`` holds NaN or infinity: a loss fed with NaN must say so, not return NaN."""
    if not np.isfinite(a).all():
        bad = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(f"{name} contains NaN or infinity (first at index {tuple(int(i) for i in bad)}, "
                         f"shape {_shape(a)})")


def pair(name: str, value, minimum: int) -> tuple[int, int]:
    """Normalise an int or a pair of ints to ``(h, w)``, each ``>= minimum``."""
    if isinstance(value, numbers.Integral):
        value = (value, value)
    try:
        h, w = value
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}") from None
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in (h, w)):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if h < minimum or w < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {(int(h), int(w))}")
    return int(h), int(w)


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1,
                     what: str = "input", axis: str = "H") -> int:
    """Output length along one axis of a convolution or pooling window.

    Raises when the (dilated) kernel does not fit the padded input."""
    span = dilation * (kernel - 1) + 1
    if span > size + 2 * padding:
        raise ValueError(f"kernel of extent {span} along {axis} (kernel_size {kernel}, dilation {dilation}) "
                         f"is larger than the padded {what} ({size} + 2*{padding} = {size + 2 * padding})")
    return (size + 2 * padding - span) // stride + 1


def conv_geometry(x_shape, kernel_size, stride, padding, dilation):
    """Validate a convolution's geometry; return normalised pairs and (OH, OW)."""
    kh, kw = pair("kernel_size", kernel_size, 1)
    sh, sw = pair("stride", stride, 1)
    ph, pw = pair("padding", padding, 0)
    dh, dw = pair("dilation", dilation, 1)
    _, _, H, W = x_shape
    oh = conv_output_size(H, kh, sh, ph, dh, axis="H")
    ow = conv_output_size(W, kw, sw, pw, dw, axis="W")
    return (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow)


def check_x_shape(x_shape) -> tuple[int, int, int, int]:
    try:
        shape = tuple(int(s) for s in x_shape)
    except TypeError:
        raise TypeError(f"x_shape must be a tuple of 4 ints, got {x_shape!r}") from None
    if len(shape) != 4 or min(shape) < 1:
        raise ContractError(f"x_shape must be 4 positive ints (N, C, H, W), got {x_shape!r}")
    return shape


def check_same_shape(name_a, a, name_b, b):
    if a.shape != b.shape:
        raise ContractError(f"{name_a} has shape ({_shape(a)}) but {name_b} has shape ({_shape(b)}); they must match")


def check_targets(target, n: int, num_classes: int) -> np.ndarray:
    if not isinstance(target, np.ndarray):
        raise TypeError(f"target must be a numpy.ndarray of int64 class indices, got {type(target).__name__}")
    if target.dtype.kind not in "iu":
        raise TypeError(f"target must hold integer class indices (int64), got dtype {target.dtype}")
    if target.shape != (n,):
        raise ContractError(f"target has shape ({_shape(target)}) but input has batch size {n}; "
                            f"expected target shape ({n})")
    if n and (target.min() < 0 or target.max() >= num_classes):
        bad = int(target[(target < 0) | (target >= num_classes)][0])
        raise IndexError(f"target holds class index {bad}, outside [0, {num_classes}) for input with "
                         f"{num_classes} classes")
    return np.ascontiguousarray(target, dtype=np.int64)


def check_smoothing(label_smoothing) -> float:
    ls = float(label_smoothing)
    if not 0.0 <= ls <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    return ls


def _optional_vector(name, a, c, dtype, what="the input has {c} channels"):
    if a is None:
        return None
    a = check_float_array(name, a, ndim=1, dtype=dtype)
    if a.shape[0] != c:
        raise ContractError(f"{name} has shape ({_shape(a)}) but " + what.format(c=c))
    return a


# --------------------------------------------------------------------------- the contract

class Backend:
    """A kernel backend: the validated public face of one set of kernel implementations.

    Subclasses implement the private ``_kernel`` methods. ``dtypes`` lists the float
    dtypes a backend computes natively; calls in another float dtype are routed to the
    NumPy reference, so float64 gradient checks work on every backend.
    """

    name = "abstract"
    dtypes: tuple = FLOAT_DTYPES
    #: names of the GEMM / conv rungs this backend offers (first = default/fastest)
    gemm_variants: tuple[str, ...] = ("default",)
    conv_variants: tuple[str, ...] = ("default",)

    def __repr__(self):
        return f"<fastnn backend {self.name!r}>"

    def _impl(self, kernel: str, dtype):
        if dtype in self.dtypes:
            return getattr(self, "_" + kernel)
        from . import get
        return getattr(get("numpy"), "_" + kernel)

    def _variant(self, kind: str, variant, variants):
        if variant is None:
            return variants[0]
        if variant not in variants:
            raise ValueError(f"unknown {kind} variant {variant!r} for backend {self.name!r}; "
                             f"choose one of {', '.join(variants)}")
        return variant

    def warmup(self):
        """Compile or load everything ahead of first use (no-op for the reference)."""
        return 0.0

    # ---------------------------------------------------------------- gemm
    def gemm(self, a, b, trans_a=False, trans_b=False, out=None, variant=None):
        """``c = op(a) @ op(b)`` for 2-D float arrays, ``op`` transposing when its flag is set."""
        given = (a, trans_a, b, trans_b)    # as the caller passed them, for the error message
        if isinstance(a, np.ndarray) and a.ndim == 2 and not a.flags.c_contiguous and a.flags.f_contiguous:
            a, trans_a = a.T, not trans_a       # a transposed view costs nothing: flip the flag
        if isinstance(b, np.ndarray) and b.ndim == 2 and not b.flags.c_contiguous and b.flags.f_contiguous:
            b, trans_b = b.T, not trans_b
        a = check_float_array("a", a, ndim=2)
        b = check_float_array("b", b, ndim=2, dtype=a.dtype)
        m, k = a.shape[::-1] if trans_a else a.shape
        k2, n = b.shape[::-1] if trans_b else b.shape
        if k != k2:
            a0, ta0, b0, tb0 = given
            raise ContractError(f"gemm: inner dimensions differ: a is ({_shape(a0)}){' transposed' if ta0 else ''}"
                                f" and b is ({_shape(b0)}){' transposed' if tb0 else ''}")
        if out is not None:
            if not isinstance(out, np.ndarray) or out.shape != (m, n) or out.dtype != a.dtype \
                    or not out.flags.c_contiguous:
                raise ContractError(f"out must be a C-contiguous {a.dtype} array of shape ({m}x{n}), got "
                                    f"{getattr(out, 'shape', type(out).__name__)}")
        variant = self._variant("gemm", variant, self.gemm_variants)
        return self._impl("gemm", a.dtype)(a, b, bool(trans_a), bool(trans_b), out, variant)

    # ---------------------------------------------------------------- conv
    def im2col(self, x, kernel_size, stride=1, padding=0, dilation=1):
        x = check_float_array("x", x, ndim=4)
        k, s, p, d, o = conv_geometry(x.shape, kernel_size, stride, padding, dilation)
        return self._impl("im2col", x.dtype)(x, k, s, p, d, o)

    def col2im(self, cols, x_shape, kernel_size, stride=1, padding=0, dilation=1):
        cols = check_float_array("cols", cols, ndim=3)
        x_shape = check_x_shape(x_shape)
        k, s, p, d, o = conv_geometry(x_shape, kernel_size, stride, padding, dilation)
        n, c = x_shape[:2]
        expected = (n, c * k[0] * k[1], o[0] * o[1])
        if cols.shape != expected:
            raise ContractError(f"cols has shape ({_shape(cols)}) but x_shape {x_shape} with kernel {k} needs "
                                f"({'x'.join(map(str, expected))})")
        return self._impl("col2im", cols.dtype)(cols, x_shape, k, s, p, d, o)

    def _check_conv(self, x, weight, bias):
        x = check_float_array("x", x, ndim=4)
        weight = check_float_array("weight", weight, ndim=4, dtype=x.dtype)
        if weight.shape[1] != x.shape[1]:
            raise ContractError(f"conv2d: weight of shape ({_shape(weight)}) expects {weight.shape[1]} input "
                                f"channels but x of shape ({_shape(x)}) has {x.shape[1]}")
        bias = _optional_vector("bias", bias, weight.shape[0], x.dtype, "the weight has {c} filters")
        return x, weight, bias

    def conv2d_forward(self, x, weight, bias=None, stride=1, padding=0, dilation=1, variant=None):
        x, weight, bias = self._check_conv(x, weight, bias)
        k, s, p, d, o = conv_geometry(x.shape, weight.shape[2:], stride, padding, dilation)
        variant = self._variant("conv", variant, self.conv_variants)
        return self._impl("conv2d_forward", x.dtype)(x, weight, bias, s, p, d, o, variant)

    def conv2d_backward(self, grad_out, x, weight, stride=1, padding=0, dilation=1,
                        needs_input_grad=True, needs_bias_grad=True):
        """Gradients of conv2d; ``grad_x`` is skipped (None) for a first layer that needs none."""
        x, weight, _ = self._check_conv(x, weight, None)
        k, s, p, d, o = conv_geometry(x.shape, weight.shape[2:], stride, padding, dilation)
        grad_out = check_float_array("grad_out", grad_out, ndim=4, dtype=x.dtype)
        expected = (x.shape[0], weight.shape[0], *o)
        if grad_out.shape != expected:
            raise ContractError(f"grad_out has shape ({_shape(grad_out)}) but conv2d of x ({_shape(x)}) with "
                                f"weight ({_shape(weight)}) gives ({'x'.join(map(str, expected))})")
        return self._impl("conv2d_backward", x.dtype)(grad_out, x, weight, s, p, d, o,
                                                      bool(needs_input_grad), bool(needs_bias_grad))

    # ---------------------------------------------------------------- pool
    @staticmethod
    def _pool_geometry(x_shape, kernel_size, stride, padding):
        k = pair("kernel_size", kernel_size, 1)
        s = k if stride is None or stride == () else pair("stride", stride, 1)
        p = pair("padding", padding, 0)
        if p[0] * 2 > k[0] or p[1] * 2 > k[1]:
            raise ValueError(f"padding {p} must be at most half of kernel_size {k}")
        oh = conv_output_size(x_shape[2], k[0], s[0], p[0], axis="H")
        ow = conv_output_size(x_shape[3], k[1], s[1], p[1], axis="W")
        return k, s, p, (oh, ow)

    def _check_grad_pool(self, grad_out, x_shape, o, dtype=None):
        grad_out = check_float_array("grad_out", grad_out, ndim=4, dtype=dtype)
        expected = (*x_shape[:2], *o)
        if grad_out.shape != expected:
            raise ContractError(f"grad_out has shape ({_shape(grad_out)}) but pooling x_shape {x_shape} gives "
                                f"({'x'.join(map(str, expected))})")
        return grad_out

    def maxpool2d_forward(self, x, kernel_size, stride=None, padding=0):
        x = check_float_array("x", x, ndim=4)
        k, s, p, o = self._pool_geometry(x.shape, kernel_size, stride, padding)
        return self._impl("maxpool2d_forward", x.dtype)(x, k, s, p, o)

    def maxpool2d_backward(self, grad_out, argmax, x_shape):
        x_shape = check_x_shape(x_shape)
        grad_out = check_float_array("grad_out", grad_out, ndim=4)
        if not isinstance(argmax, np.ndarray) or argmax.dtype != np.int64 or argmax.shape != grad_out.shape:
            raise ContractError(f"argmax must be the int64 array returned by maxpool2d_forward, shaped like "
                                f"grad_out ({_shape(grad_out)}); got {_describe(argmax)}")
        if grad_out.shape[:2] != x_shape[:2]:
            raise ContractError(f"grad_out ({_shape(grad_out)}) and x_shape {x_shape} differ in N or C")
        hw = x_shape[2] * x_shape[3]
        if argmax.min() < 0 or argmax.max() >= hw:
            raise ContractError(f"argmax holds indices outside [0, {hw}) of the {x_shape[2]}x{x_shape[3]} input planes")
        return self._impl("maxpool2d_backward", grad_out.dtype)(grad_out, np.ascontiguousarray(argmax), x_shape)

    def avgpool2d_forward(self, x, kernel_size, stride=None, padding=0, count_include_pad=True):
        x = check_float_array("x", x, ndim=4)
        k, s, p, o = self._pool_geometry(x.shape, kernel_size, stride, padding)
        return self._impl("avgpool2d_forward", x.dtype)(x, k, s, p, o, bool(count_include_pad))

    def avgpool2d_backward(self, grad_out, x_shape, kernel_size, stride=None, padding=0, count_include_pad=True):
        x_shape = check_x_shape(x_shape)
        k, s, p, o = self._pool_geometry(x_shape, kernel_size, stride, padding)
        grad_out = self._check_grad_pool(grad_out, x_shape, o)
        return self._impl("avgpool2d_backward", grad_out.dtype)(grad_out, x_shape, k, s, p, o,
                                                                bool(count_include_pad))

    # ---------------------------------------------------------------- activations
    def _unary(self, kernel, x, *params):
        x = check_float_array("x", x)
        return self._impl(kernel, x.dtype)(x, *params)

    def _unary_backward(self, kernel, grad_y, saved, saved_name, *params):
        grad_y = check_float_array("grad_y", grad_y)
        saved = check_float_array(saved_name, saved, dtype=grad_y.dtype)
        check_same_shape("grad_y", grad_y, saved_name, saved)
        return self._impl(kernel, grad_y.dtype)(grad_y, saved, *params)

    def relu_forward(self, x):
        return self._unary("relu_forward", x)

    def relu_backward(self, grad_y, y):
        """From the saved output: ``y > 0`` exactly where ``x > 0``."""
        return self._unary_backward("relu_backward", grad_y, y, "y")

    def leaky_relu_forward(self, x, negative_slope=0.01):
        return self._unary("leaky_relu_forward", x, float(negative_slope))

    def leaky_relu_backward(self, grad_y, x, negative_slope=0.01):
        """From the saved *input*: with a negative slope the output's sign no longer tells."""
        return self._unary_backward("leaky_relu_backward", grad_y, x, "x", float(negative_slope))

    def elu_forward(self, x, alpha=1.0):
        return self._unary("elu_forward", x, float(alpha))

    def elu_backward(self, grad_y, y, alpha=1.0):
        """From the saved output: for x <= 0, dy/dx = alpha*exp(x) = y + alpha."""
        if alpha < 0:
            raise ValueError(f"elu_backward from the output needs alpha >= 0, got {alpha}")
        return self._unary_backward("elu_backward", grad_y, y, "y", float(alpha))

    def sigmoid_forward(self, x):
        return self._unary("sigmoid_forward", x)

    def sigmoid_backward(self, grad_y, y):
        """From the saved output: dy/dx = y (1 - y)."""
        return self._unary_backward("sigmoid_backward", grad_y, y, "y")

    def tanh_forward(self, x):
        return self._unary("tanh_forward", x)

    def tanh_backward(self, grad_y, y):
        """From the saved output: dy/dx = 1 - y^2."""
        return self._unary_backward("tanh_backward", grad_y, y, "y")

    # ---------------------------------------------------------------- losses
    def softmax_cross_entropy_forward(self, logits, target, label_smoothing=0.0):
        logits = check_float_array("logits", logits, ndim=2)
        check_finite("logits", logits)
        target = check_targets(target, logits.shape[0], logits.shape[1])
        return self._impl("softmax_cross_entropy_forward", logits.dtype)(logits, target,
                                                                         check_smoothing(label_smoothing))

    def softmax_cross_entropy_backward(self, grad_losses, probs, target, label_smoothing=0.0):
        probs = check_float_array("probs", probs, ndim=2)
        grad_losses = check_float_array("grad_losses", grad_losses, ndim=1, dtype=probs.dtype)
        if grad_losses.shape[0] != probs.shape[0]:
            raise ContractError(f"grad_losses ({_shape(grad_losses)}) and probs ({_shape(probs)}) differ in batch size")
        target = check_targets(target, probs.shape[0], probs.shape[1])
        return self._impl("softmax_cross_entropy_backward", probs.dtype)(grad_losses, probs, target,
                                                                         check_smoothing(label_smoothing))

    def log_softmax_forward(self, x):
        x = check_float_array("x", x, ndim=2)
        return self._impl("log_softmax_forward", x.dtype)(x)

    def log_softmax_backward(self, grad_y, y):
        """From the saved output: grad_x = grad_y - exp(y) * sum(grad_y)."""
        y = check_float_array("y", y, ndim=2)
        return self._unary_backward("log_softmax_backward", grad_y, y, "y")

    # ---------------------------------------------------------------- batchnorm
    def batchnorm_forward(self, x, weight, bias, running_mean, running_var, training, momentum=0.1, eps=1e-5):
        """Normalise each channel of x (N,C,L). In training, batch statistics are used and the
        running statistics (when given) are updated *in place* with the unbiased variance,
        as PyTorch does. Returns ``(y, mean, invstd)`` for the backward pass."""
        x = check_float_array("x", x, ndim=3)
        n, c, l = x.shape
        weight = _optional_vector("weight", weight, c, x.dtype)
        bias = _optional_vector("bias", bias, c, x.dtype)
        for name, r in (("running_mean", running_mean), ("running_var", running_var)):
            if r is not None and (not isinstance(r, np.ndarray) or r.shape != (c,) or r.dtype != x.dtype
                                  or not r.flags.c_contiguous):
                raise ContractError(f"{name} must be a C-contiguous {x.dtype} array of shape ({c}), got "
                                    f"{_describe(r)}")
        if (running_mean is None) != (running_var is None):
            raise ValueError("running_mean and running_var must both be given or both be None")
        if not training and running_mean is None:
            raise ValueError("batchnorm in eval mode needs running_mean and running_var")
        if training and n * l <= 1:
            raise ValueError(f"batchnorm in training needs more than 1 value per channel, got input ({_shape(x)})")
        if eps <= 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        if momentum is None and training and running_mean is not None:
            raise ValueError("momentum=None (cumulative average) must be resolved by the caller to a float "
                             "(e.g. 1/num_batches_tracked) before the kernel updates running statistics")
        momentum = None if momentum is None else float(momentum)
        return self._impl("batchnorm_forward", x.dtype)(x, weight, bias, running_mean, running_var,
                                                        bool(training), momentum, float(eps))

    def batchnorm_backward(self, grad_y, x, weight, mean, invstd, training):
        x = check_float_array("x", x, ndim=3)
        grad_y = check_float_array("grad_y", grad_y, ndim=3, dtype=x.dtype)
        check_same_shape("grad_y", grad_y, "x", x)
        c = x.shape[1]
        weight = _optional_vector("weight", weight, c, x.dtype)
        mean = _optional_vector("mean", mean, c, x.dtype)
        invstd = _optional_vector("invstd", invstd, c, x.dtype)
        if mean is None or invstd is None:
            raise ContractError("batchnorm_backward needs the mean and invstd returned by batchnorm_forward")
        return self._impl("batchnorm_backward", x.dtype)(grad_y, x, weight, mean, invstd, bool(training))


def output_hw(h: int, w: int, kernel_size, stride, padding, dilation=1) -> tuple[int, int]:
    """(OH, OW) of a convolution; handy for layers that need to know shapes ahead."""
    k, s, p, d, o = conv_geometry((1, 1, h, w), kernel_size, stride, padding, dilation)
    return o


__all__ = ["Backend", "ContractError", "KERNELS", "KERNEL_FAMILIES", "check_float_array", "check_finite",
           "pair", "conv_output_size", "output_hw"]
