"""Reductions over dimensions (``dim`` / ``keepdim``), scans (cumsum...), sorting and
selection (sort, topk, median...) and counting (unique, bincount...), with PyTorch's
signatures and dtype rules:

* ``sum``/``prod``/``cumsum`` of an integer or bool tensor give int64 (``dtype=`` chooses);
* ``mean``, ``std``, ``var``, ``norm`` need a floating-point tensor (or ``dtype=``);
* ``max``/``min``/``amax``/``sort``/``median`` keep the dtype; indices are int64;
* ``all``/``any`` give bool (uint8 stays uint8, as in PyTorch).

Where an operation picks elements (``max(dim)``, ``sort``, ``topk``, ``median(dim)``...)
its values are a :class:`TakeAlongDim` of the input at the chosen indices, so the gradient
goes to exactly those elements, as in PyTorch. A full reduction ``max()`` / ``amax`` /
``median()`` shares the gradient equally between tied elements (also PyTorch's rule).
Results with indices are named tuples from :mod:`fastnn.return_types`.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ..autograd import ArrayFunction
from . import return_types
from ._broadcast import BOOL, FLOAT32, INT64, _expand_back, wrap_dim, wrap_dims

# what max/min with a dim return, under their old names here
MaxResult = return_types.max
MinResult = return_types.min


def _tensor():
    from ..tensor import Tensor
    return Tensor


def _count(shape, axes) -> int:
    return int(np.prod([shape[i] for i in axes])) if len(shape) else 1


# ------------------------------------------------------------------ sums and means

class Sum(ArrayFunction):
    """Sum over ``axis``; the gradient is the output's, broadcast back."""

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False, dtype=None):
        ctx.shape, ctx.axes, ctx.keepdims = a.shape, wrap_dims(axis, a.ndim), keepdims
        return np.asarray(np.sum(a, axis=ctx.axes, keepdims=keepdims, dtype=dtype))

    @staticmethod
    def backward(ctx, grad):
        return _expand_back(grad, ctx.shape, ctx.axes, ctx.keepdims).copy()


class NanSum(ArrayFunction):
    """Sum ignoring NaN; NaN places get no gradient."""

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False, dtype=None):
        ctx.shape, ctx.axes, ctx.keepdims = a.shape, wrap_dims(axis, a.ndim), keepdims
        ctx.save_for_backward(np.isnan(a) if a.dtype.kind == "f" else None)
        return np.asarray(np.nansum(a, axis=ctx.axes, keepdims=keepdims, dtype=dtype))

    @staticmethod
    def backward(ctx, grad):
        (nan,) = ctx.saved_tensors
        g = _expand_back(grad, ctx.shape, ctx.axes, ctx.keepdims)
        return np.where(nan, 0, g) if nan is not None else g.copy()


class Mean(ArrayFunction):
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False, dtype=None):
        ctx.shape, ctx.axes, ctx.keepdims = a.shape, wrap_dims(axis, a.ndim), keepdims
        ctx.count = _count(a.shape, ctx.axes)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(np.mean(a, axis=ctx.axes, keepdims=keepdims, dtype=dtype))

    @staticmethod
    def backward(ctx, grad):
        return _expand_back(grad / max(ctx.count, 1), ctx.shape, ctx.axes, ctx.keepdims).copy()


class NanMean(ArrayFunction):
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        ctx.shape, ctx.axes, ctx.keepdims = a.shape, wrap_dims(axis, a.ndim), keepdims
        ok = ~np.isnan(a)
        ctx.save_for_backward(ok, ok.sum(axis=ctx.axes, keepdims=True))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(np.nanmean(a, axis=ctx.axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx, grad):
        ok, count = ctx.saved_tensors
        g = grad if ctx.keepdims or not ctx.axes else np.expand_dims(grad, ctx.axes)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(ok, g / count, 0).astype(grad.dtype, copy=False)


class Prod(ArrayFunction):
    """Product over one axis (or all). The gradient of each factor is the product of the
    others, computed from exclusive cumulative products so that zeros are exact."""

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False, dtype=None):
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, axis, keepdims
        ctx.save_for_backward(a)
        return np.asarray(np.prod(a, axis=axis, keepdims=keepdims, dtype=dtype))

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        if ctx.axis is None:
            flat = a.reshape(-1)
            return (grad * _prod_of_others(flat, 0)).reshape(a.shape)
        g = grad if ctx.keepdims else np.expand_dims(grad, ctx.axis)
        return g * _prod_of_others(a, ctx.axis)


def _prod_of_others(a, axis):
    """For each element, the product of the others along ``axis``."""
    ones = np.ones_like(np.take(a, [0], axis=axis)) if a.shape[axis] else np.ones_like(a)
    left = np.cumprod(np.concatenate([ones, a], axis=axis), axis=axis)
    left = np.delete(left, -1, axis=axis)
    right = np.flip(np.cumprod(np.concatenate([ones, np.flip(a, axis)], axis=axis), axis=axis), axis)
    right = np.delete(right, 0, axis=axis)
    return left * right


class Var(ArrayFunction):
    """Variance with Bessel's ``correction`` (1 = unbiased, PyTorch's default)."""

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False, correction=1):
        axes = wrap_dims(axis, a.ndim)
        n = _count(a.shape, axes)
        with np.errstate(invalid="ignore", divide="ignore"):
            centred = a - a.mean(axis=axes, keepdims=True)
            ctx.save_for_backward(centred)
            ctx.axes, ctx.keepdims, ctx.divisor = axes, keepdims, max(n - correction, 0)
            out = (centred * centred).sum(axis=axes, keepdims=keepdims) / a.dtype.type(ctx.divisor)
        return np.asarray(out, dtype=a.dtype)

    @staticmethod
    def backward(ctx, grad):
        (centred,) = ctx.saved_tensors
        g = grad if ctx.keepdims or not ctx.axes else np.expand_dims(grad, ctx.axes)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (2 * centred * g / centred.dtype.type(ctx.divisor)).astype(centred.dtype, copy=False)


class Std(ArrayFunction):
    """Standard deviation: sqrt(var). The gradient, centred / (divisor * std), is 0 where the
    deviation is 0 (all equal elements), as PyTorch's, rather than 0/0."""

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False, correction=1):
        axes = wrap_dims(axis, a.ndim)
        n = _count(a.shape, axes)
        with np.errstate(invalid="ignore", divide="ignore"):
            centred = a - a.mean(axis=axes, keepdims=True)
            divisor = max(n - correction, 0)
            out = np.sqrt((centred * centred).sum(axis=axes, keepdims=True) / a.dtype.type(divisor))
        ctx.save_for_backward(centred, out)
        ctx.axes, ctx.keepdims, ctx.divisor = axes, keepdims, divisor
        return np.asarray(out if keepdims or not axes else np.squeeze(out, axes), dtype=a.dtype)

    @staticmethod
    def backward(ctx, grad):
        centred, out = ctx.saved_tensors
        g = grad if ctx.keepdims or not ctx.axes else np.expand_dims(grad, ctx.axes)
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.where(out == 0, 0, g / (out * centred.dtype.type(ctx.divisor)))
        return (centred * scale).astype(centred.dtype, copy=False)


class LogSumExp(ArrayFunction):
    """log(sum(exp(x))) over ``axis``, shifted by the maximum so that it cannot overflow;
    the gradient is softmax(x) * g."""

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        axes = wrap_dims(axis, a.ndim)
        if a.size == 0:
            out = np.full(np.sum(a, axis=axes, keepdims=True).shape, -np.inf, a.dtype)
        else:
            m = np.max(a, axis=axes, keepdims=True)
            m = np.where(np.isfinite(m), m, 0)
            with np.errstate(divide="ignore"):
                out = np.log(np.sum(np.exp(a - m), axis=axes, keepdims=True)) + m
        ctx.save_for_backward(a, out)
        ctx.axes, ctx.keepdims = axes, keepdims
        return np.asarray(out if keepdims or not axes else np.squeeze(out, axes), dtype=a.dtype)

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        g = grad if ctx.keepdims or not ctx.axes else np.expand_dims(grad, ctx.axes)
        with np.errstate(invalid="ignore"):
            return g * np.exp(a - out)


class Norm(ArrayFunction):
    """The vector p-norm over ``axis`` (p = 2 for 'fro'; inf, -inf, 0, 1 or any number)."""

    @staticmethod
    def forward(ctx, a, p=2.0, axis=None, keepdims=False):
        axes = wrap_dims(axis, a.ndim)
        x = np.abs(a)
        with np.errstate(all="ignore"):
            if p == math.inf:
                out = _amax(x, axes)
            elif p == -math.inf:
                out = _amax(x, axes, largest=False)
            elif p == 0:
                out = np.sum(x != 0, axis=axes, keepdims=True).astype(a.dtype)
            elif p == 1:
                out = np.sum(x, axis=axes, keepdims=True)
            elif p == 2:
                out = np.sqrt(np.sum(x * x, axis=axes, keepdims=True))
            else:
                out = np.sum(x ** p, axis=axes, keepdims=True) ** (1.0 / p)
        ctx.save_for_backward(a, out)
        ctx.p, ctx.axes, ctx.keepdims = p, axes, keepdims
        return np.asarray(out if keepdims or not axes else np.squeeze(out, axes), dtype=a.dtype)

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        p = ctx.p
        g = grad if ctx.keepdims or not ctx.axes else np.expand_dims(grad, ctx.axes)
        with np.errstate(all="ignore"):
            if p == 0:
                return np.zeros_like(a)
            if p == 1:
                return g * np.sign(a)
            if p in (math.inf, -math.inf):
                mask = np.abs(a) == out
                return np.sign(a) * mask * (g / mask.sum(axis=ctx.axes, keepdims=True))
            if p == 2:
                scale = np.where(out == 0, 0, g / out)
                return a * scale
            scaled = np.sign(a) * np.abs(a) ** (p - 1)
            return np.where(out == 0, 0, scaled * g / out ** (p - 1))


def _amax(a, axes, largest=True):
    if a.size == 0 and any(a.shape[i] == 0 for i in axes):
        raise IndexError("max(): Expected reduction dim to be specified for input.numel() == 0.")
    return (np.max if largest else np.min)(a, axis=axes, keepdims=True)


class MaxMin(ArrayFunction):
    """max or min over axes (``amax``, ``amin``, ``x.max()``); the gradient is shared
    equally by tied extremes, as PyTorch does."""

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False, largest=True):
        axes = wrap_dims(axis, a.ndim)
        out = _amax(a, axes, largest)
        ctx.save_for_backward(a == out if a.dtype.kind == "f" else None)
        ctx.shape, ctx.axes, ctx.keepdims = a.shape, axes, keepdims
        return np.asarray(out if keepdims or not axes else np.squeeze(out, axis=axes))

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        g = grad if ctx.keepdims or not ctx.axes else np.expand_dims(grad, ctx.axes)
        count = mask.sum(axis=ctx.axes, keepdims=True)
        return (mask * (g / count)).astype(grad.dtype, copy=False)


class CumSum(ArrayFunction):
    @staticmethod
    def forward(ctx, a, axis, dtype=None):
        ctx.axis = axis
        return np.cumsum(a, axis=axis, dtype=dtype)

    @staticmethod
    def backward(ctx, grad):     # each input adds into every later output: a reversed cumsum
        return np.flip(np.cumsum(np.flip(grad, ctx.axis), axis=ctx.axis), ctx.axis)


class CumProd(ArrayFunction):
    """Running product. Without zeros, d(out_k)/d(x_i) = out_k / x_i for k >= i, so the
    gradient is a reversed cumsum of g * out, divided by x; with zeros along a slice the
    slice is done by the definition (each x_i set to 1, products recomputed)."""

    @staticmethod
    def forward(ctx, a, axis, dtype=None):
        out = np.cumprod(a, axis=axis, dtype=dtype)
        ctx.axis = axis
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        ax = ctx.axis
        with np.errstate(all="ignore"):
            rev = np.flip(np.cumsum(np.flip(grad * out, ax), axis=ax), ax)
            result = rev / a
        if (a == 0).any():
            zero_slices = np.any(a == 0, axis=ax, keepdims=True)
            n = a.shape[ax]
            exact = np.empty_like(result)
            for i in range(n):
                ai = a.copy()
                np.put_along_axis(ai, np.full(ai.shape[:ax] + (1,) + ai.shape[ax + 1:], i), 1, axis=ax)
                cp = np.cumprod(ai, axis=ax)
                later = np.arange(n).reshape((-1,) + (1,) * (a.ndim - ax - 1)) >= i
                term = np.sum(grad * cp * later, axis=ax, keepdims=True)
                np.put_along_axis(exact, np.full(term.shape, i), term, axis=ax)
            result = np.where(zero_slices, exact, result)
        return result


# ------------------------------------------------------------------ picking elements

def _add_along(out, index, src, axis):
    """out[..., index[...], ...] += src along ``axis``, accumulating repeated indices."""
    grids = list(np.indices(index.shape, sparse=True))
    grids[axis] = index
    np.add.at(out, tuple(grids), np.broadcast_to(src, index.shape))
    return out


class TakeAlongDim(ArrayFunction):
    """``a``'s elements at ``index`` along ``axis`` (``np.take_along_axis``), with ``axis``
    squeezed away when ``squeeze``. Backward puts the gradient back where it came from
    (adding where an index repeats, as ``gather``'s does)."""

    torch_name = "Gather"

    @staticmethod
    def forward(ctx, a, index=None, axis=0, squeeze=False, unique=False):
        out = np.take_along_axis(a, index, axis=axis)
        ctx.shape, ctx.index, ctx.axis, ctx.squeeze, ctx.unique = a.shape, index, axis, squeeze, unique
        return np.squeeze(out, axis) if squeeze else out

    @staticmethod
    def backward(ctx, grad):
        g = np.expand_dims(grad, ctx.axis) if ctx.squeeze else grad
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        if ctx.unique:
            np.put_along_axis(out, ctx.index, g, axis=ctx.axis)
        else:
            _add_along(out, ctx.index, g, ctx.axis)
        return out


def _take(x, index, dim, keepdim, unique=True):
    """(values, int64 indices) of ``x`` at ``index`` (shaped with ``dim`` kept) along ``dim``."""
    Tensor = _tensor()
    values = TakeAlongDim.apply(x, index=index, axis=dim, squeeze=not keepdim, unique=unique)
    return values, Tensor._wrap((index if keepdim else np.squeeze(index, dim)).astype(np.int64, copy=False))


def _stable_argsort(a, axis, descending=False):
    """Indices that sort ``a`` along ``axis``, equal elements keeping their order; NaN last
    (first when descending), as PyTorch's sort(stable=True)."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    return (n - 1) - np.flip(np.argsort(np.flip(a, axis), axis=axis, kind="stable"), axis)


def _pick_dim(x, dim, fn):
    """(x viewed with at least one dim, dim in range, whether x was 0-d)."""
    if dim is None or isinstance(dim, (tuple, list)):
        raise TypeError(f"{fn}(): dim must be an int, got {dim!r}")
    d = wrap_dim(dim, x.ndim)
    if x.ndim == 0:
        return x.reshape(1), 0, True
    return x, d, False


def _check_nonempty(x, dim, fn):
    if x.shape[dim] == 0:
        raise IndexError(f"{fn}(): Expected reduction dim {dim} to have non-zero size.")


def _finish(x0d, values, indices):
    """(values, indices) back to 0-d when the input was 0-d (viewed as 1-D to pick along dim 0)."""
    if x0d:
        return values.reshape(()), indices.reshape(())
    return values, indices


# ------------------------------------------------------------------ dtype rules

def _as_np_dtype(dtype):
    return None if dtype is None else np.dtype(dtype)


def _sum_dtype(x, dtype):
    """sum/prod/cumsum: ``dtype=`` if given, else int64 for integer and bool tensors."""
    if dtype is not None:
        return np.dtype(dtype)
    return INT64 if x.dtype.kind in "biu" else None


def _float_input(x, fn, dtype=None, message=None):
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise RuntimeError(f"{fn}(): the dtype= must be a floating point dtype, got {dtype}")
        return x.to(dtype)
    if x.dtype.kind != "f":
        kind = {"b": "Bool", "i": "Long" if x.dtype.itemsize == 8 else "Int", "u": "Byte"}.get(x.dtype.kind,
                                                                                           str(x.dtype))
        raise RuntimeError(message or f"{fn}(): could not infer output dtype. Input dtype must be either a floating "
                                      f"point or complex dtype. Got: {kind}")
    return x


def _no_bool(x, fn):
    if x.dtype.kind == "b":
        raise NotImplementedError(f'"{fn}" is not implemented for Bool tensors')


def _keep(keepdim, keepdims):
    return keepdim if keepdims is None else keepdims


def _dim_arg(dim, axis):
    """Accept PyTorch's ``dim`` or NumPy's ``axis``."""
    if dim is not None and axis is not None:
        raise TypeError("give dim or axis, not both")
    return dim if dim is not None else axis


def _empty_check(x, dim, fn):
    if x.numel() == 0 and (dim is None or dim == ()):
        raise RuntimeError(f"{fn}(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
                           f"reduction dim with the 'dim' argument.")


# ------------------------------------------------------------------ the Tensor methods

class ReductionMethods:
    """The reductions of ``Tensor`` (mixed into it)."""

    # sums and means
    def sum(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
        """Sum over ``dim`` (an int, a tuple, or None for all); int and bool sum to int64."""
        dt = _sum_dtype(self, dtype)
        x = self.to(dt) if dt is not None and dt.kind == "f" and self.dtype != dt else self
        return Sum.apply(x, axis=_dim_arg(dim, axis), keepdims=_keep(keepdim, keepdims), dtype=dt)

    def nansum(self, dim=None, keepdim=False, *, dtype=None):
        dt = _sum_dtype(self, dtype)
        return NanSum.apply(self, axis=dim, keepdims=keepdim, dtype=dt)

    def mean(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
        x = _float_input(self, "mean", dtype)
        return Mean.apply(x, axis=_dim_arg(dim, axis), keepdims=_keep(keepdim, keepdims))

    def nanmean(self, dim=None, keepdim=False, *, dtype=None):
        x = _float_input(self, "nanmean", dtype)
        return NanMean.apply(x, axis=dim, keepdims=keepdim)

    def prod(self, dim=None, keepdim=False, *, dtype=None):
        """Product of all elements, or over one ``dim`` (an int, as in PyTorch)."""
        dt = _sum_dtype(self, dtype)
        x = self.to(dt) if dt is not None and dt.kind == "f" and self.dtype != dt else self
        if dim is None:
            return Prod.apply(x, axis=None, keepdims=False, dtype=dt)
        if isinstance(dim, (tuple, list)):
            raise TypeError("prod(): dim must be an int (PyTorch's prod reduces over one dimension)")
        d = wrap_dim(dim, self.ndim)
        if self.ndim == 0:
            return Prod.apply(x, axis=None, keepdims=False, dtype=dt)
        return Prod.apply(x, axis=d, keepdims=keepdim, dtype=dt)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
        """Variance; ``correction=1`` (unbiased) by default, as in PyTorch. ``x.var(False)``
        reads its first argument as ``unbiased``, as PyTorch does."""
        if isinstance(dim, bool):
            dim, unbiased = None, dim
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        elif unbiased is not None:
            raise TypeError("var(): give unbiased or correction, not both")
        x = _float_input(self, "var", message="std and var only support floating point and complex dtypes")
        return Var.apply(x, axis=_dim_arg(dim, axis), keepdims=_keep(keepdim, keepdims), correction=correction)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
        """Standard deviation; unbiased (correction=1) by default, as in PyTorch."""
        if isinstance(dim, bool):
            dim, unbiased = None, dim
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        elif unbiased is not None:
            raise TypeError("std(): give unbiased or correction, not both")
        x = _float_input(self, "std", message="std and var only support floating point and complex dtypes")
        return Std.apply(x, axis=_dim_arg(dim, axis), keepdims=_keep(keepdim, keepdims), correction=correction)

    def logsumexp(self, dim, keepdim=False):
        """log(sum(exp(x))) over ``dim``, computed without overflow; int gives float32."""
        x = self if self.dtype.kind == "f" else self.to(FLOAT32)
        return LogSumExp.apply(x, axis=dim, keepdims=keepdim)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """The vector p-norm over ``dim`` (all elements by default): p = 'fro' (2), a number,
        inf or -inf. ('nuc' and matrix norms are not available.)"""
        x = _float_input(self, "norm", dtype,
                         message=f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                                 f"{self.dtype}")
        if p is None or p == "fro":
            p = 2.0
        elif isinstance(p, str):
            raise NotImplementedError(f"norm(): p={p!r} is not supported (use 'fro' or a number)")
        elif not isinstance(p, numbers.Real):
            raise TypeError(f"norm(): p must be 'fro' or a number, got {p!r}")
        return Norm.apply(x, p=float(p), axis=dim, keepdims=keepdim)

    # extremes
    def _extreme(self, largest, dim, keepdim, axis, keepdims):
        name = "max" if largest else "min"
        Tensor = _tensor()
        if isinstance(dim, Tensor):             # x.max(other): the element-wise maximum
            from .pointwise import binary
            return binary("maximum" if largest else "minimum", self, dim)
        keep = _keep(keepdim, keepdims)
        if dim is None:                         # x.max() (or NumPy style x.max(axis=1)): the values
            if axis is None:
                _empty_check(self, None, name)
            return MaxMin.apply(self, axis=axis, keepdims=keep, largest=largest)
        x, d, was0d = _pick_dim(self, dim, name)
        _check_nonempty(x, d, name)
        arg = (np.argmax if largest else np.argmin)(x.data, axis=d, keepdims=True)
        values, indices = _finish(was0d, *_take(x, arg, d, keep))
        return (MaxResult if largest else MinResult)(values, indices)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """``x.max()``: the largest value; ``x.max(dim)``: (values, indices) along ``dim``;
        ``x.max(other)``: the element-wise maximum. (``x.max(axis=1)``, NumPy style, gives the values.)"""
        return self._extreme(True, dim, keepdim, axis, keepdims)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return self._extreme(False, dim, keepdim, axis, keepdims)

    def amax(self, dim=(), keepdim=False):
        """Largest values over ``dim`` (an int or a tuple; () or None: all). Ties share the gradient."""
        dim = None if dim == () else dim
        _empty_check(self, dim, "amax")
        return MaxMin.apply(self, axis=dim, keepdims=keepdim, largest=True)

    def amin(self, dim=(), keepdim=False):
        dim = None if dim == () else dim
        _empty_check(self, dim, "amin")
        return MaxMin.apply(self, axis=dim, keepdims=keepdim, largest=False)

    def aminmax(self, *, dim=None, keepdim=False):
        return return_types.aminmax(self.amin(dim if dim is not None else (), keepdim),
                                    self.amax(dim if dim is not None else (), keepdim))

    def _arg(self, largest, dim, keepdim, axis, keepdims):
        name = "argmax" if largest else "argmin"
        Tensor = _tensor()
        if self.dtype.kind == "b":
            raise RuntimeError(f"{name}(): does not support bool input")
        dim, keep = _dim_arg(dim, axis), _keep(keepdim, keepdims)
        fn = np.argmax if largest else np.argmin
        if dim is None:
            _empty_check(self, None, name)
            out = fn(self.data)
            if keep:
                return Tensor._wrap(np.full((1,) * self.ndim, out, np.int64))
            return Tensor._wrap(np.asarray(out, np.int64))
        x, d, was0d = _pick_dim(self, dim, name)
        _check_nonempty(x, d, name)
        out = fn(x.data, axis=d, keepdims=keep).astype(np.int64)
        return Tensor._wrap(out.reshape(()) if was0d else out)

    def argmax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return self._arg(True, dim, keepdim, axis, keepdims)

    def argmin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return self._arg(False, dim, keepdim, axis, keepdims)

    # logic
    def _logic(self, fn, dim, keepdim):
        Tensor = _tensor()
        axes = wrap_dims(dim, self.ndim)
        out = np.asarray(fn(self.data != 0, axis=axes, keepdims=keepdim))
        return Tensor._wrap(out.astype(np.uint8) if self.dtype == np.uint8 else out)

    def all(self, dim=None, keepdim=False):
        """True where every element (over ``dim``) is non-zero; bool (uint8 stays uint8)."""
        return self._logic(np.all, dim, keepdim)

    def any(self, dim=None, keepdim=False):
        return self._logic(np.any, dim, keepdim)

    def count_nonzero(self, dim=None):
        Tensor = _tensor()
        return Tensor._wrap(np.asarray(np.count_nonzero(self.data, axis=wrap_dims(dim, self.ndim)), np.int64))

    # scans
    def cumsum(self, dim, *, dtype=None):
        dt = _sum_dtype(self, dtype)
        x, d, was0d = _pick_dim(self, dim, "cumsum")
        x = x.to(dt) if dt is not None and dt.kind == "f" and x.dtype != dt else x
        out = CumSum.apply(x, axis=d, dtype=dt)
        return out.reshape(()) if was0d else out

    def cumprod(self, dim, *, dtype=None):
        dt = _sum_dtype(self, dtype)
        x, d, was0d = _pick_dim(self, dim, "cumprod")
        x = x.to(dt) if dt is not None and dt.kind == "f" and x.dtype != dt else x
        out = CumProd.apply(x, axis=d, dtype=dt)
        return out.reshape(()) if was0d else out

    def _cum_extreme(self, largest, dim):
        name = "cummax" if largest else "cummin"
        x, d, was0d = _pick_dim(self, dim, name)
        a = x.data
        running = (np.maximum if largest else np.minimum).accumulate(a, axis=d)
        if a.dtype.kind == "f":                  # a NaN stays the running value from where it appears
            nan_seen = np.logical_or.accumulate(np.isnan(a), axis=d)
            running = np.where(nan_seen, np.nan, running)
            hit = (a == running) | np.isnan(a)
        else:
            hit = a == running
        positions = np.arange(a.shape[d]).reshape((-1,) + (1,) * (a.ndim - d - 1))
        index = np.maximum.accumulate(np.where(hit, positions, 0), axis=d)     # ties: the latest (PyTorch)
        values, indices = _take(x, index, d, True, unique=False)
        values, indices = _finish(was0d, values, indices)
        return (return_types.cummax if largest else return_types.cummin)(values, indices)

    def cummax(self, dim):
        return self._cum_extreme(True, dim)

    def cummin(self, dim):
        return self._cum_extreme(False, dim)

    def logcumsumexp(self, dim):
        x = self if self.dtype.kind == "f" else self.to(FLOAT32)
        m = x.detach().amax(dim, keepdim=True) if x.numel() else x.detach().sum(dim, keepdim=True)
        m = m.masked_fill(~m.isfinite(), 0)
        return (x - m).exp().cumsum(dim).log() + m

    # sorting and selection
    def sort(self, dim=-1, descending=False, stable=False):
        """(values, indices) sorted along ``dim``; always stable here (equal elements keep
        their order, which PyTorch promises only with stable=True)."""
        if isinstance(dim, bool):               # torch.sort(x, stable=..., ...) has a bool first in one form
            raise TypeError("sort(): dim must be an int")
        x, d, was0d = _pick_dim(self, dim, "sort")
        index = _stable_argsort(x.data, d, descending)
        values, indices = _finish(was0d, *_take(x, index, d, True))
        return return_types.sort(values, indices)

    def argsort(self, dim=-1, descending=False, stable=False):
        return self.sort(dim, descending, stable).indices

    def msort(self):
        return self.sort(0).values

    def topk(self, k, dim=-1, largest=True, sorted=True):
        """The ``k`` largest (or smallest) elements along ``dim`` and their indices, largest first."""
        if self.dtype.kind == "b":
            raise RuntimeError("topk does not support bool dtypes on CPU")
        x, d, was0d = _pick_dim(self, dim, "topk")
        n = x.shape[d]
        if not isinstance(k, numbers.Integral) or not 0 <= k <= n:
            raise RuntimeError(f"selected index k out of range: k={k} for a dimension of size {n}")
        index = np.take(_stable_argsort(x.data, d, descending=largest), np.arange(k), axis=d)
        values, indices = _finish(was0d, *_take(x, index, d, True))
        return return_types.topk(values, indices)

    def kthvalue(self, k, dim=-1, keepdim=False):
        """The k-th smallest element (1-based) along ``dim`` and its index."""
        _no_bool(self, "kthvalue")
        x, d, was0d = _pick_dim(self, dim, "kthvalue")
        n = x.shape[d]
        if not isinstance(k, numbers.Integral) or not 1 <= k <= n:
            raise IndexError(f"kthvalue(): selected number k out of range for dimension {dim}: k={k}, size {n}")
        index = np.take(_stable_argsort(x.data, d), [k - 1], axis=d)
        return return_types.kthvalue(*_finish(was0d, *_take(x, index, d, keepdim)))

    def median(self, dim=None, keepdim=False):
        """``x.median()``: the lower of the two middle values (no averaging, as PyTorch);
        ``x.median(dim)``: (values, indices)."""
        _no_bool(self, "median")
        if dim is None:
            if self.numel() == 0:
                fill = np.nan if self.dtype.kind == "f" else np.iinfo(self.data.dtype).min
                return _tensor()._wrap(np.asarray(fill, self.data.dtype))
            flat = self.reshape(-1)
            order = np.sort(flat.data)
            value = order[(flat.numel() - 1) // 2]
            if np.isnan(order).any():
                value = order[-1]
            return _EqualTo.apply(flat, value=value).reshape(())
        x, d, was0d = _pick_dim(self, dim, "median")
        _check_nonempty(x, d, "median")
        n = x.shape[d]
        order = _stable_argsort(x.data, d)
        index = np.take(order, [(n - 1) // 2], axis=d)
        if x.dtype.kind == "f":                  # a NaN in the slice is the median, as in PyTorch
            nan = np.isnan(x.data)
            has_nan = nan.any(axis=d, keepdims=True)
            index = np.where(has_nan, np.argmax(nan, axis=d, keepdims=True), index)
        return return_types.median(*_finish(was0d, *_take(x, index, d, keepdim)))

    def nanmedian(self, dim=None, keepdim=False):
        _no_bool(self, "nanmedian")
        if dim is None:
            flat = self.reshape(-1)
            data = flat.data[~np.isnan(flat.data)] if flat.dtype.kind == "f" else flat.data
            if data.size == 0:
                return _tensor()._wrap(np.asarray(np.nan, self.data.dtype))
            value = np.sort(data)[(data.size - 1) // 2]
            return _EqualTo.apply(flat, value=value).reshape(())
        x, d, was0d = _pick_dim(self, dim, "nanmedian")
        order = _stable_argsort(x.data, d)          # NaN sort last
        valid = (~np.isnan(x.data)).sum(axis=d, keepdims=True) if x.dtype.kind == "f" else x.shape[d]
        pos = np.maximum((valid - 1) // 2, 0)
        index = np.take_along_axis(order, np.broadcast_to(pos, order.shape[:d] + (1,) + order.shape[d + 1:]),
                                   axis=d)
        return return_types.nanmedian(*_finish(was0d, *_take(x, index, d, keepdim)))

    def mode(self, dim=-1, keepdim=False):
        """The most frequent value along ``dim`` (the smallest of equally frequent ones) and
        the index of its last occurrence, as PyTorch."""
        x, d, was0d = _pick_dim(self, dim, "mode")
        a = np.moveaxis(x.data, d, -1)
        rows = a.reshape(-1, a.shape[-1])
        index = np.empty(rows.shape[0], np.int64)
        for r, row in enumerate(rows):
            vals, counts = np.unique(row, return_counts=True)
            best = vals[np.argmax(counts)]
            index[r] = np.flatnonzero(row == best)[-1]
        index = np.moveaxis(index.reshape(a.shape[:-1] + (1,)), -1, d)
        return return_types.mode(*_finish(was0d, *_take(x, index, d, keepdim)))

    def quantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        """The ``q``-th quantiles (q a number or a 1-D tensor in [0, 1]) along ``dim`` (all
        elements when None), interpolated as NumPy/PyTorch do; differentiable through the
        sorted values it mixes."""
        Tensor = _tensor()
        x = _float_input(self, "quantile", message=f"quantile() input tensor must be either float or double dtype")
        qs = np.asarray(q.data if isinstance(q, Tensor) else q, dtype=np.float64)
        if qs.ndim > 1 or ((qs < 0) | (qs > 1)).any():
            raise RuntimeError("quantile() q must be a scalar or 1D tensor with values in [0, 1]")
        if interpolation not in ("linear", "lower", "higher", "nearest", "midpoint"):
            raise RuntimeError(f"quantile() interpolation must be one of linear, lower, higher, midpoint or nearest. "
                               f"Got {interpolation}")
        if dim is None:
            x, d = x.reshape(-1), 0
            out_keep = (1,) * self.ndim
        else:
            d = wrap_dim(dim, x.ndim)
            if x.ndim == 0:
                x = x.reshape(1)
        s = x.sort(d).values
        n = s.shape[d]
        pos = qs.reshape(-1) * (n - 1)
        lo, hi = np.floor(pos).astype(np.int64), np.ceil(pos).astype(np.int64)
        frac = pos - lo
        if interpolation == "lower":
            hi, frac = lo, frac * 0
        elif interpolation == "higher":
            lo, frac = hi, frac * 0
        elif interpolation == "nearest":
            lo = hi = np.round(pos).astype(np.int64)
        elif interpolation == "midpoint":
            frac = np.where(hi > lo, 0.5, 0.0)
        shape = [1] * s.ndim
        shape[d] = -1
        s_lo, s_hi = s.index_select(d, Tensor._wrap(lo)), s.index_select(d, Tensor._wrap(hi))
        if interpolation == "linear" and isinstance(q, Tensor) and q.requires_grad:
            # the weight is a function of q: keep it in the graph (PyTorch differentiates quantile in q too)
            weight = (q.reshape(-1).to(s.dtype) * (n - 1) - Tensor._wrap(lo.astype(s.data.dtype))).reshape(*shape)
        else:
            weight = Tensor._wrap(frac.astype(s.data.dtype).reshape(shape))
        out = s_lo + (s_hi - s_lo) * weight
        out = out.movedim(d, 0)                 # PyTorch puts the q dimension first
        if dim is None:
            out = out.reshape((-1,) + out_keep) if keepdim else out.reshape(-1)
        elif keepdim:
            out = out.unsqueeze(d + 1)
        if qs.ndim == 0:
            out = out[0]
        return out

    def nanquantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        if self.dtype.kind == "f" and np.isnan(self.data).any():
            raise NotImplementedError("nanquantile() with NaN in the input is not supported; use quantile()")
        return self.quantile(q, dim, keepdim, interpolation=interpolation)

    # counting
    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        """The distinct values (sorted; ``sorted=False`` is accepted and still sorts), with the
        indices that rebuild the input (``return_inverse``) and the counts."""
        Tensor = _tensor()
        if dim is not None:
            dim = wrap_dim(dim, self.ndim)
        values, inverse, counts = np.unique(self.data, return_inverse=True, return_counts=True, axis=dim)
        if dim is None:
            inverse = inverse.reshape(self.shape)
        else:
            inverse = inverse.reshape(-1)
        out = [Tensor._wrap(values)]
        if return_inverse:
            out.append(Tensor._wrap(inverse.astype(np.int64)))
        if return_counts:
            out.append(Tensor._wrap(counts.astype(np.int64)))
        return out[0] if len(out) == 1 else tuple(out)

    def unique_consecutive(self, return_inverse=False, return_counts=False, dim=None):
        Tensor = _tensor()
        a = self.data
        if dim is None:
            flat = a.reshape(-1)
            start = np.ones(flat.shape, bool)
            start[1:] = flat[1:] != flat[:-1]
            values = flat[start]
        else:
            d = wrap_dim(dim, self.ndim)
            moved = np.moveaxis(a, d, 0).reshape(a.shape[d], -1)
            start = np.ones(moved.shape[0], bool)
            start[1:] = (moved[1:] != moved[:-1]).any(axis=1)
            values = np.compress(start, a, axis=d)
        group = np.cumsum(start) - 1
        out = [Tensor._wrap(values)]
        if return_inverse:
            out.append(Tensor._wrap((group.reshape(self.shape) if dim is None else group).astype(np.int64)))
        if return_counts:
            out.append(Tensor._wrap(np.bincount(group, minlength=int(start.sum())).astype(np.int64)))
        return out[0] if len(out) == 1 else tuple(out)

    def bincount(self, weights=None, minlength=0):
        """Count each non-negative integer of a 1-D tensor (int64), or sum ``weights`` per value."""
        Tensor = _tensor()
        if self.ndim != 1 or self.dtype.kind not in "iu":
            raise RuntimeError(f"bincount only supports 1-d non-negative integral inputs, got shape "
                               f"{tuple(self.shape)} of dtype {self.dtype}")
        if self.numel() and self.data.min() < 0:
            raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
        if minlength < 0:
            raise RuntimeError("minlength should be >= 0")
        w = None
        if weights is not None:
            w = weights.data if isinstance(weights, Tensor) else np.asarray(weights)
            if w.shape != self.shape:
                raise RuntimeError(f"weights should be 1-d and have the same length as input: {tuple(w.shape)} vs "
                                   f"{tuple(self.shape)}")
        out = np.bincount(self.data, weights=w, minlength=minlength)
        if w is None:
            return Tensor._wrap(out.astype(np.int64))
        return Tensor._wrap(out.astype(w.dtype if w.dtype.kind == "f" else np.float64))

    def histogram(self, bins=100, *, range=None, weight=None, density=False):
        """(hist, bin_edges): counts (or summed ``weight``, or a density) in ``bins`` equal bins
        over ``range`` (the data's by default), or in the bins whose edges a 1-D tensor gives."""
        Tensor = _tensor()
        if self.dtype.kind != "f":
            raise RuntimeError(f"torch.histogram: input tensor and bins tensors should have the same dtype, got "
                               f"{self.dtype}")
        b = bins.data if isinstance(bins, Tensor) else bins
        w = None if weight is None else (weight.data if isinstance(weight, Tensor) else np.asarray(weight))
        hist, edges = np.histogram(self.data.reshape(-1), bins=b, range=range,
                                   weights=None if w is None else w.reshape(-1), density=density)
        return return_types.histogram(Tensor._wrap(hist.astype(self.data.dtype)),
                                      Tensor._wrap(edges.astype(self.data.dtype)))

    def dist(self, other, p=2):
        """The p-norm of ``self - other``."""
        return (self - other).norm(p)

    def cov(self, *, correction=1, fweights=None, aweights=None):
        """The covariance matrix of the variables in the rows (observations in the columns)."""
        if fweights is not None or aweights is not None:
            raise NotImplementedError("cov(): fweights and aweights are not supported in fastnn")
        if self.ndim > 2:
            raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                               f"{self.ndim} dimensions")
        x = self if self.ndim == 2 else self.reshape(1, -1)
        x = x if x.dtype.kind == "f" else x.to(FLOAT32)
        n = x.shape[1]
        centred = x - x.mean(1, keepdim=True)
        c = centred.matmul(centred.t()) / max(n - correction, 0)
        return c.reshape(()) if self.ndim < 2 else c

    def corrcoef(self):
        """Pearson correlation coefficients of the variables in the rows, clipped to [-1, 1]."""
        c = self.cov()
        if c.ndim == 0:
            return c / c
        d = c.diagonal().sqrt()
        return (c / d.reshape(-1, 1) / d.reshape(1, -1)).clamp(-1, 1)

    def histc(self, bins=100, min=0, max=0):
        """A histogram of ``bins`` equal bins over [min, max] (the data's range when both are 0);
        elements outside are ignored."""
        Tensor = _tensor()
        if self.dtype.kind != "f":
            raise NotImplementedError(f"histc() is not implemented for {self.dtype} tensors")
        if bins <= 0:
            raise RuntimeError("torch.histc: bins must be > 0")
        lo, hi = float(min), float(max)
        data = self.data.reshape(-1)
        if lo == hi and data.size:
            lo, hi = float(data.min()), float(data.max())
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        if lo > hi:
            raise RuntimeError("torch.histc: max must be larger than min")
        counts, _ = np.histogram(data, bins=bins, range=(lo, hi))
        return Tensor._wrap(counts.astype(self.data.dtype))


class _EqualTo(ArrayFunction):
    """A scalar ``value`` picked from ``a`` (median() without dim); the gradient is shared
    equally by the elements equal to it, as PyTorch's."""

    torch_name = "Median"

    @staticmethod
    def forward(ctx, a, value=None):
        ctx.save_for_backward(a == value if not np.isnan(value) else np.isnan(a))
        return np.asarray(value, dtype=a.dtype)

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return mask * (grad / max(int(mask.sum()), 1))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(std, mean) over ``dim`` (a tuple, as PyTorch)."""
    return (input.std(dim, unbiased, keepdim, correction=correction),
            input.mean(dim if not isinstance(dim, bool) else None, keepdim))


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(var, mean) over ``dim`` (a tuple, as PyTorch)."""
    return (input.var(dim, unbiased, keepdim, correction=correction),
            input.mean(dim if not isinstance(dim, bool) else None, keepdim))


# the names torch also has as functions taking the tensor first
FUNCTIONS = ["sum", "nansum", "mean", "nanmean", "prod", "var", "std", "logsumexp", "norm", "max", "min", "amax",
             "amin", "aminmax", "argmax", "argmin", "all", "any", "count_nonzero", "cumsum", "cumprod", "cummax",
             "cummin", "logcumsumexp", "sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian", "mode",
             "quantile", "nanquantile", "unique", "unique_consecutive", "bincount", "histc", "histogram", "dist",
             "cov", "corrcoef"]
# torch functions that are not Tensor methods
PLAIN_FUNCTIONS = {"std_mean": std_mean, "var_mean": var_mean}
