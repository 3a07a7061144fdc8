"""Element-wise math, each operation one row of a table: its name, its forward, and its
derivative written from the input ``x`` and/or the output ``y`` (micrograd style)::

    _unary("sin", np.sin, lambda g, x, y: g * np.cos(x))
    _unary("exp", np.exp, lambda g, x, y: g * y)

Each row becomes an :class:`~fastnn.autograd.ArrayFunction` (``Sin``, ``Exp``...) and a
Tensor method of the same name (``x.sin()``); ``fastnn.sin(x)`` is made from the method
(``fastnn._functions``).

dtype rules are PyTorch's, given by each row's ``kind``:

* ``"float"``  -- floating-point math: an integer or bool input computes in float32
  (``torch.sin(int64) -> float32``), a float input keeps its dtype;
* ``"same"``   -- the result keeps the input's dtype (``abs``, ``floor``... of an int stays
  int); not defined for bool, as in PyTorch;
* ``"sign"``   -- like ``same`` but bool is allowed (sign of a bool is a bool);
* ``"bool"``   -- a predicate: the result is bool (``isnan``...), never differentiable.

Binary operations (``maximum``, ``atan2``, ``fmod``...) promote their operands with
PyTorch's rules (:func:`~fastnn.ops._broadcast.result_type`: a Python number does not
widen a tensor's dtype), broadcast, and sum their gradients back to each operand's shape.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ..autograd import ArrayFunction
from ._broadcast import BOOL, INT64, as_tensor, float_dtype, promoted, result_type, unbroadcast


class Cast(ArrayFunction):
    @staticmethod
    def forward(ctx, a, dtype):
        ctx.dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.dtype)


# ------------------------------------------------------------------ special functions
# NumPy has no erf; SciPy's is used when installed, else the standard library's, element by element.

def _special():
    try:
        from scipy import special
    except ImportError:     # pragma: no cover - scipy is optional
        return None
    return special


def _erf(x):
    sp = _special()
    return sp.erf(x) if sp is not None else np.vectorize(math.erf, otypes=[x.dtype])(x)


def _erfc(x):
    sp = _special()
    return sp.erfc(x) if sp is not None else np.vectorize(math.erfc, otypes=[x.dtype])(x)


def _erfinv(x):
    sp = _special()
    if sp is not None:
        return sp.erfinv(x)
    # pragma: no cover - Giles' single-precision approximation, then two Newton steps on erf
    x64 = np.asarray(x, np.float64)
    w = -np.log((1.0 - x64) * (1.0 + x64))
    small = w < 5
    ws, wl = w - 2.5, np.sqrt(np.maximum(w, 5)) - 3
    ps = np.polyval([2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                     -0.00125372503, -0.00417768164, 0.246640727, 1.50140941], ws)
    pl = np.polyval([-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                     -0.0076224613, 0.00943887047, 1.00167406, 2.83297682], wl)
    y = np.where(small, ps, pl) * x64
    for _ in range(2):
        y = y - (np.vectorize(math.erf)(y) - x64) / (2 / math.sqrt(math.pi) * np.exp(-y * y))
    return np.where(np.abs(x64) == 1, np.copysign(np.inf, x64), y)


def _lgamma(x):
    sp = _special()
    return sp.gammaln(x) if sp is not None else np.vectorize(math.lgamma, otypes=[x.dtype])(x)


def _polygamma(n, x):
    """digamma (n = 0) and trigamma (n = 1): SciPy's, else the recurrence up to x >= 6 and the
    asymptotic series there (float64 accuracy)."""
    sp = _special()
    if sp is not None:
        return sp.psi(x) if n == 0 else sp.polygamma(n, x)
    x = np.asarray(x, np.float64)
    reflect = x < 0.5                       # psi(1 - x) - psi(x) = pi / tan(pi x); psi1 similarly
    z = np.where(reflect, 1 - x, x)
    acc = np.zeros_like(z)                  # psi(z) = psi(z + 1) - 1/z;  psi1(z) = psi1(z + 1) + 1/z^2
    while True:
        small = z < 6
        if not small.any():
            break
        acc += np.where(small, -1 / z if n == 0 else 1 / (z * z), 0)
        z = np.where(small, z + 1, z)
    inv = 1 / z
    inv2 = inv * inv
    if n == 0:
        series = np.log(z) - 0.5 * inv - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 / 240)))
        out = series + acc
        return np.where(reflect, out - np.pi / np.tan(np.pi * x), out)
    series = inv + 0.5 * inv2 + inv2 * inv * (1 / 6 - inv2 * (1 / 30 - inv2 / 42))
    out = series + acc
    return np.where(reflect, (np.pi / np.sin(np.pi * x)) ** 2 - out, out)


def _sinc(x):
    return np.sinc(x)   # NumPy's is the normalised sin(pi x) / (pi x), 1 at 0, as PyTorch's


def _dsinc(x, y):
    with np.errstate(all="ignore"):
        d = (np.cos(np.pi * x) - y) / x
    return np.where(x == 0, 0, d)


def _logit(x, eps=None):
    if eps is not None:
        x = np.clip(x, eps, 1 - eps)
    return np.log(x / (1 - x))


def _dlogit(x, eps=None):
    d = 1 / (x * (1 - x))
    if eps is not None:
        d = np.where((x < eps) | (x > 1 - eps), 0, d)
    return d


# ------------------------------------------------------------------ the unary table

class _Unary(ArrayFunction):
    """One row of the table: ``fn(x, *params)`` forward, ``deriv(g, x, y, *params)`` backward."""

    fn = staticmethod(lambda x: x)
    deriv = None            # None: not differentiable (a zero gradient, as PyTorch's floor...)
    kind = "float"
    saves = "xy"

    @classmethod
    def forward(cls, ctx, x, *params):
        with np.errstate(all="ignore"):
            y = np.asarray(cls.fn(x, *params))
        if cls.kind != "bool" and y.dtype != x.dtype:
            y = y.astype(x.dtype)
        ctx.params = params
        ctx.save_for_backward(x if "x" in cls.saves else None, y if "y" in cls.saves else None)
        return y

    @classmethod
    def backward(cls, ctx, grad):
        if cls.deriv is None:
            return np.zeros_like(grad)
        x, y = ctx.saved_tensors
        with np.errstate(all="ignore"):
            return cls.deriv(grad, x, y, *ctx.params)


UNARY: dict = {}       # name -> its ArrayFunction


def _unary(name, fn, deriv=None, kind="float", saves="xy", doc=""):
    cls_name = "".join(part.capitalize() for part in name.split("_"))
    cls = type(cls_name, (_Unary,), {"fn": staticmethod(fn), "deriv": None if deriv is None else staticmethod(deriv),
                                     "kind": kind, "saves": saves, "__doc__": doc or f"{name}(x), element-wise.",
                                     "__module__": __name__})
    UNARY[name] = cls
    return cls


_LN2, _LN10 = math.log(2), math.log(10)
_TWO_OVER_SQRT_PI, _SQRT_PI_OVER_2 = 2 / math.sqrt(math.pi), math.sqrt(math.pi) / 2

#      name        forward                           derivative d(loss)/dx from g = d(loss)/dy     kind
Sin = _unary("sin", np.sin, lambda g, x, y: g * np.cos(x), saves="x")
Cos = _unary("cos", np.cos, lambda g, x, y: -g * np.sin(x), saves="x")
Tan = _unary("tan", np.tan, lambda g, x, y: g * (1 + y * y), saves="y")
Asin = _unary("asin", np.arcsin, lambda g, x, y: g / np.sqrt(1 - x * x), saves="x")
Acos = _unary("acos", np.arccos, lambda g, x, y: -g / np.sqrt(1 - x * x), saves="x")
Atan = _unary("atan", np.arctan, lambda g, x, y: g / (1 + x * x), saves="x")
Sinh = _unary("sinh", np.sinh, lambda g, x, y: g * np.cosh(x), saves="x")
Cosh = _unary("cosh", np.cosh, lambda g, x, y: g * np.sinh(x), saves="x")
Asinh = _unary("asinh", np.arcsinh, lambda g, x, y: g / np.sqrt(x * x + 1), saves="x")
Acosh = _unary("acosh", np.arccosh, lambda g, x, y: g / np.sqrt(x * x - 1), saves="x")
Atanh = _unary("atanh", np.arctanh, lambda g, x, y: g / (1 - x * x), saves="x")
Exp = _unary("exp", np.exp, lambda g, x, y: g * y, saves="y")
Exp2 = _unary("exp2", np.exp2, lambda g, x, y: g * y * _LN2, saves="y")
Expm1 = _unary("expm1", np.expm1, lambda g, x, y: g * (y + 1), saves="y")
Log = _unary("log", np.log, lambda g, x, y: g / x, saves="x")
Log1p = _unary("log1p", np.log1p, lambda g, x, y: g / (1 + x), saves="x")
Log2 = _unary("log2", np.log2, lambda g, x, y: g / (x * _LN2), saves="x")
Log10 = _unary("log10", np.log10, lambda g, x, y: g / (x * _LN10), saves="x")
Sqrt = _unary("sqrt", np.sqrt, lambda g, x, y: g / (2 * y), saves="y")
Rsqrt = _unary("rsqrt", lambda x: 1 / np.sqrt(x), lambda g, x, y: -0.5 * g * y * y * y, saves="y")
Reciprocal = _unary("reciprocal", lambda x: 1 / x, lambda g, x, y: -g * y * y, saves="y")
Erf = _unary("erf", _erf, lambda g, x, y: g * _TWO_OVER_SQRT_PI * np.exp(-x * x), saves="x")
Erfc = _unary("erfc", _erfc, lambda g, x, y: -g * _TWO_OVER_SQRT_PI * np.exp(-x * x), saves="x")
Erfinv = _unary("erfinv", _erfinv, lambda g, x, y: g * _SQRT_PI_OVER_2 * np.exp(y * y), saves="y")
Sinc = _unary("sinc", _sinc, lambda g, x, y: g * _dsinc(x, y))
Logit = _unary("logit", _logit, lambda g, x, y, eps=None: g * _dlogit(x, eps), saves="x")
Lgamma = _unary("lgamma", _lgamma, lambda g, x, y: g * _polygamma(0, x), saves="x")
Digamma = _unary("digamma", lambda x: _polygamma(0, x), lambda g, x, y: g * _polygamma(1, x), saves="x")
Angle = _unary("angle", lambda x: np.where(np.isnan(x), x, np.where(x < 0, np.pi, 0.0)), saves="")
Deg2rad = _unary("deg2rad", np.deg2rad, lambda g, x, y: g * (math.pi / 180), saves="")
Rad2deg = _unary("rad2deg", np.rad2deg, lambda g, x, y: g * (180 / math.pi), saves="")
# the result keeps the input's dtype
Abs = _unary("abs", np.abs, lambda g, x, y: g * np.sign(x), kind="same", saves="x")
Neg = _unary("neg", np.negative, lambda g, x, y: -g, kind="same", saves="")
Square = _unary("square", np.square, lambda g, x, y: 2 * g * x, kind="same", saves="x")
Floor = _unary("floor", np.floor, kind="same", saves="")
Ceil = _unary("ceil", np.ceil, kind="same", saves="")
Trunc = _unary("trunc", np.trunc, kind="same", saves="")
Round = _unary("round", lambda x, decimals=0: np.round(x, decimals), kind="same", saves="")
Frac = _unary("frac", lambda x: x - np.trunc(x), lambda g, x, y: g, kind="float_only", saves="")
NanToNum = _unary("nan_to_num", lambda x, nan=0.0, posinf=None, neginf=None:
                  np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf),
                  lambda g, x, y, *params: g * np.isfinite(x), kind="any", saves="x")
Sign = _unary("sign", np.sign, kind="sign", saves="")
# predicates: bool results
Isnan = _unary("isnan", np.isnan, kind="bool", saves="")
Isreal = _unary("isreal", lambda x: np.ones(np.shape(x), bool), kind="bool", saves="")
Isinf = _unary("isinf", np.isinf, kind="bool", saves="")
Isposinf = _unary("isposinf", np.isposinf, kind="bool", saves="")
Isneginf = _unary("isneginf", np.isneginf, kind="bool", saves="")
Isfinite = _unary("isfinite", np.isfinite, kind="bool", saves="")
Signbit = _unary("signbit", np.signbit, kind="bool", saves="")
LogicalNot = _unary("logical_not", np.logical_not, kind="bool", saves="")

_ALIASES = {"absolute": "abs", "negative": "neg", "arcsin": "asin", "arccos": "acos", "arctan": "atan",
            "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh", "sgn": "sign", "fix": "trunc"}
_NO_BOOL = {"same": "", "float_only": ""}


def _not_implemented(name, dtype):
    kind = {"b": "Bool", "i": "Long", "u": "Byte", "f": "Float"}[np.dtype(dtype).kind]
    return NotImplementedError(f"{name}() is not implemented for {kind} tensors (dtype {np.dtype(dtype)})")


def unary(name, x, *params):
    """Apply table row ``name`` to ``x`` under the row's dtype rule."""
    cls = UNARY[name]
    x = as_tensor(x)
    kind, dtype = cls.kind, x.dtype
    if kind == "float":
        x = x.to(float_dtype(dtype))
    elif dtype.kind == "b" and kind in ("same", "float_only"):
        if name == "square":                    # as PyTorch: square(bool) = bool * bool promoted to int64
            x = x.to(INT64)
        elif name == "neg":
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                               "invert a mask, use the `~` or `logical_not()` operator instead.")
        else:
            raise _not_implemented(name, dtype)
    elif kind == "float_only" and dtype.kind != "f":
        raise _not_implemented(name, dtype)
    elif kind == "sign" and dtype.kind == "b":       # the sign of a bool is itself
        from ..tensor import Tensor
        return Tensor._wrap(x.data.copy())
    return cls.apply(x, *params)


# ------------------------------------------------------------------ clamp

class Clamp(ArrayFunction):
    """min(max(x, lo), hi) with ``lo`` / ``hi`` numbers, arrays or None (broadcast). The
    gradient flows to ``x`` where lo <= x <= hi (inclusive, as PyTorch), to a tensor bound
    where the bound won (to ``hi`` everywhere when lo > hi: the result is then hi)."""

    @staticmethod
    def forward(ctx, a, lo=None, hi=None):
        ctx.save_for_backward(a, lo, hi)
        out = a
        if lo is not None:
            out = np.maximum(out, lo)
        if hi is not None:
            out = np.minimum(out, hi)
        return np.asarray(out, dtype=a.dtype)

    @staticmethod
    def backward(ctx, grad):
        a, lo, hi = ctx.saved_tensors
        need = ctx.needs_input_grad + (False,) * 2
        keep = True
        if lo is not None:
            keep = keep & (a >= lo)
        if hi is not None:
            keep = keep & (a <= hi)
        crossed = (lo > hi) if lo is not None and hi is not None else False
        ga = glo = ghi = None
        if need[0]:
            ga = unbroadcast(np.where(keep, grad, 0), np.shape(a))
        if need[1]:
            glo = unbroadcast(np.where((a < lo) & ~crossed, grad, 0), np.shape(lo))
        if need[2]:
            ghi = unbroadcast(np.where((a > hi) | crossed, grad, 0), np.shape(hi))
        return ga, glo, ghi


def clamp(x, min=None, max=None):
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    from ..tensor import Tensor
    x = as_tensor(x)
    (x, lo, hi), dtype = promoted(x, min, max)
    if dtype.kind == "b":
        raise _not_implemented("clamp", dtype)
    # plain numbers stay out of the graph (and keep the result's shape the input's)
    lo = lo if isinstance(min, Tensor) else None if lo is None else lo.data[()]
    hi = hi if isinstance(max, Tensor) else None if hi is None else hi.data[()]
    return Clamp.apply(x, lo, hi)


# ------------------------------------------------------------------ binary operations

class _Binary(ArrayFunction):
    """``fn(a, b)`` forward; ``grads(g, a, b, y)`` returns both (broadcast) gradients."""

    fn = None
    grads = None

    @classmethod
    def forward(cls, ctx, a, b):
        with np.errstate(all="ignore"):
            y = np.asarray(cls.fn(a, b))
        ctx.save_for_backward(a, b, y)
        return y

    @classmethod
    def backward(cls, ctx, grad):
        a, b, y = ctx.saved_tensors
        if cls.grads is None:
            ga = gb = np.zeros_like(grad)
        else:
            with np.errstate(all="ignore"):
                ga, gb = cls.grads(grad, a, b, y)
        return (unbroadcast(np.broadcast_to(ga, grad.shape), np.shape(a)) if ctx.needs_input_grad[0] else None,
                unbroadcast(np.broadcast_to(gb, grad.shape), np.shape(b)) if ctx.needs_input_grad[1] else None)


BINARY: dict = {}     # name -> (ArrayFunction, kind)


def _binary(name, fn, grads=None, kind="promote", doc=""):
    """``kind``: "promote" (PyTorch's result type), "float" (at least float32), "bool" (bool
    result), "float_only" (floating inputs only, as hypot)."""
    cls_name = "".join(part.capitalize() for part in name.split("_"))
    cls = type(cls_name, (_Binary,), {"fn": staticmethod(fn), "grads": None if grads is None else staticmethod(grads),
                                      "__doc__": doc or f"{name}(a, b), element-wise.", "__module__": __name__})
    BINARY[name] = (cls, kind)
    return cls


def _max_grads(g, a, b, y):      # ties share the gradient equally (PyTorch's rule)
    half = np.where(a == b, g / 2, g)
    return np.where(a < b, 0, half), np.where(a > b, 0, half)


def _min_grads(g, a, b, y):
    half = np.where(a == b, g / 2, g)
    return np.where(a > b, 0, half), np.where(a < b, 0, half)


def _fmax_grads(g, a, b, y):
    to_a = (a >= b) | np.isnan(b)
    return np.where(to_a, g, 0), np.where(to_a, 0, g)


def _fmin_grads(g, a, b, y):
    to_a = (a <= b) | np.isnan(b)
    return np.where(to_a, g, 0), np.where(to_a, 0, g)


def _xlogy(x, y):
    out = x * np.log(y)
    return np.where((x == 0) & ~np.isnan(y), 0, out)


Maximum = _binary("maximum", np.maximum, _max_grads)
Minimum = _binary("minimum", np.minimum, _min_grads)
Fmax = _binary("fmax", np.fmax, _fmax_grads)
Fmin = _binary("fmin", np.fmin, _fmin_grads)
Atan2 = _binary("atan2", np.arctan2, lambda g, a, b, y: (g * b / (a * a + b * b), -g * a / (a * a + b * b)),
                kind="float")
Hypot = _binary("hypot", np.hypot, lambda g, a, b, y: (g * a / y, g * b / y), kind="float_only")
Fmod = _binary("fmod", np.fmod, lambda g, a, b, y: (g, -g * np.trunc(a / b)), kind="no_bool")
Remainder = _binary("remainder", np.remainder, lambda g, a, b, y: (g, -g * np.floor(a / b)), kind="no_bool")
FloorDivide = _binary("floor_divide", np.floor_divide, kind="no_bool")
Xlogy = _binary("xlogy", _xlogy, lambda g, a, b, y: (g * np.where(a == 0, 0, np.log(b)), g * a / b), kind="float")
Copysign = _binary("copysign", np.copysign, lambda g, a, b, y: (g * np.where(a == 0, 0, np.sign(a) * np.sign(y)),
                                                                  np.zeros_like(g)), kind="float")
Logaddexp = _binary("logaddexp", np.logaddexp, lambda g, a, b, y: (g * np.exp(a - y), g * np.exp(b - y)),
                    kind="float_only")
Logaddexp2 = _binary("logaddexp2", np.logaddexp2, lambda g, a, b, y: (g * np.exp2(a - y), g * np.exp2(b - y)),
                     kind="float_only")
Heaviside = _binary("heaviside", np.heaviside, kind="same_dtype")
Nextafter = _binary("nextafter", np.nextafter, kind="float_only")
Gcd = _binary("gcd", np.gcd, kind="int_only")
Lcm = _binary("lcm", np.lcm, kind="int_only")
LogicalAnd = _binary("logical_and", np.logical_and, kind="bool")
LogicalOr = _binary("logical_or", np.logical_or, kind="bool")
LogicalXor = _binary("logical_xor", np.logical_xor, kind="bool")


def binary(name, a, b):
    cls, kind = BINARY[name]
    from ..tensor import Tensor
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = as_tensor(a)
    if kind == "bool":
        a, b = as_tensor(a), as_tensor(b)
        return Tensor._wrap(cls.fn(a.data, b.data))
    if kind == "same_dtype":
        a, b = as_tensor(a), as_tensor(b, a.dtype if not isinstance(b, Tensor) else None)
        dtype = a.dtype
    else:
        (a, b), dtype = promoted(a, b, floating=(kind == "float"))
    if kind == "float_only" and dtype.kind != "f" or kind == "no_bool" and dtype.kind == "b" \
            or kind == "int_only" and dtype.kind not in "iu":
        raise _not_implemented(name, dtype)
    if kind == "same_dtype" and a.dtype != b.dtype:
        raise RuntimeError(f"{name} is not yet implemented for tensors with different dtypes ({a.dtype} and "
                           f"{b.dtype})")
    return cls.apply(a, b)


class Lerp(ArrayFunction):
    """start + weight * (end - start)."""

    @staticmethod
    def forward(ctx, start, end, weight):
        ctx.save_for_backward(start, end, weight)
        return np.asarray(start + weight * (end - start), dtype=np.result_type(start, end))

    @staticmethod
    def backward(ctx, grad):
        start, end, weight = ctx.saved_tensors
        need = ctx.needs_input_grad
        return (unbroadcast(grad * (1 - weight), np.shape(start)) if need[0] else None,
                unbroadcast(grad * weight, np.shape(end)) if need[1] else None,
                unbroadcast(grad * (end - start), np.shape(weight)) if need[2] else None)


def _lerp(start, end, weight):
    from ..tensor import Tensor
    start, end = as_tensor(start, name="input"), as_tensor(end, name="end")
    if start.dtype.kind != "f" or end.dtype != start.dtype:
        raise RuntimeError(f"lerp: expected dtype {start.dtype} for `end` but got dtype {end.dtype}"
                           if start.dtype.kind == "f" else f"lerp is not implemented for {start.dtype} tensors")
    if isinstance(weight, Tensor):
        if weight.dtype != start.dtype:
            raise RuntimeError(f"lerp: expected dtype {start.dtype} for `weight` but got dtype {weight.dtype}")
    elif isinstance(weight, numbers.Number):
        weight = start.dtype.type(weight)
    else:
        raise TypeError(f"lerp(): weight must be a Tensor or a number, got {type(weight).__name__}")
    return Lerp.apply(start, end, weight)


# ------------------------------------------------------------------ the Tensor methods

def _unary_method(name):
    def method(self):
        return unary(name, self)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = UNARY[name].__doc__
    return method


def _binary_method(name):
    def method(self, other):
        return binary(name, self, other)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = BINARY[name][0].__doc__
    return method


class PointwiseMethods:
    """The element-wise methods of ``Tensor`` (mixed into it, so that each family's methods sit
    in the module of its Functions). Most are generated from the tables above; those with
    parameters are written out."""

    def round(self, decimals: int = 0):
        if self.dtype.kind != "f" and decimals != 0:
            raise _not_implemented("round", self.dtype)
        return unary("round", self, decimals) if decimals else unary("round", self)

    def logit(self, eps=None):
        return unary("logit", self, eps) if eps is not None else unary("logit", self)

    def nan_to_num(self, nan: float = 0.0, posinf=None, neginf=None):
        if self.dtype.kind != "f":
            from ..tensor import Tensor
            return Tensor._wrap(self.data.copy())
        return unary("nan_to_num", self, nan, posinf, neginf)

    def positive(self):
        if self.dtype.kind == "b":
            raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
        return self

    def clamp(self, min=None, max=None):
        """Limit to [min, max]; either bound may be a number or a tensor (broadcast)."""
        return clamp(self, min, max)

    clip = clamp

    def clamp_min(self, min):
        return clamp(self, min, None)

    def clamp_max(self, max):
        return clamp(self, None, max)

    def lerp(self, end, weight):
        """``self + weight * (end - self)``; weight a number or a tensor."""
        return _lerp(self, end, weight)

    def ldexp(self, other):
        """``self * 2 ** other`` (a float result)."""
        (a, b), _ = promoted(self, other, floating=True)
        return a * unary("exp2", b)

    def frexp(self):
        """(mantissa, exponent) with self = mantissa * 2 ** exponent, |mantissa| in [0.5, 1)."""
        from ..tensor import Tensor
        from . import return_types
        if self.dtype.kind != "f":
            raise RuntimeError(f"torch.frexp() only supports floating-point dtypes, got {self.dtype}")
        _, exponent = np.frexp(self.data)
        mantissa = self * Tensor._wrap(np.exp2(-exponent.astype(self.data.dtype)))     # exact: a power of 2
        return return_types.frexp(mantissa, Tensor._wrap(exponent.astype(np.int32)))

    def conj(self):
        """The complex conjugate: for fastnn's real tensors, the tensor itself."""
        return self

    resolve_conj = resolve_neg = conj_physical = conj

    def is_conj(self) -> bool:
        return False

    def is_neg(self) -> bool:
        return False

    @property
    def real(self):
        return self

    @property
    def imag(self):
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")

    def float_power(self, exponent):
        (a, b), _ = promoted(self, exponent)
        return a.to(np.float64) ** (b.to(np.float64))


for _name in UNARY:
    if not hasattr(PointwiseMethods, _name):
        setattr(PointwiseMethods, _name, _unary_method(_name))
for _name in BINARY:
    setattr(PointwiseMethods, _name, _binary_method(_name))
for _alias, _target in _ALIASES.items():
    setattr(PointwiseMethods, _alias, getattr(PointwiseMethods, _target))
PointwiseMethods.arctan2 = PointwiseMethods.atan2
PointwiseMethods.absolute = PointwiseMethods.abs

# the names torch also has as functions taking the tensor first
FUNCTIONS = sorted(set(UNARY) | set(BINARY) | set(_ALIASES) | {
    "arctan2", "round", "logit", "nan_to_num", "positive", "clamp", "clip", "clamp_min", "clamp_max", "lerp",
    "float_power", "ldexp", "frexp", "conj", "resolve_conj", "resolve_neg", "conj_physical", "is_conj", "is_neg"})

__all__ = ["Cast", "Clamp", "Lerp", "UNARY", "BINARY", "unary", "binary", "clamp", "PointwiseMethods", "FUNCTIONS"] + \
    [cls.__name__ for cls in UNARY.values()] + [cls.__name__ for cls, _ in BINARY.values()]
