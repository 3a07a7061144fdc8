"""``Tensor``: a NumPy array, its gradient, and the graph edge that made it.

A Tensor is deliberately thin. ``.data`` is a plain ``numpy.ndarray`` (float32 unless
you ask otherwise; float64 for gradient checks; int64 and bool for indices and masks),
``.grad`` is a Tensor or None, and ``.grad_fn`` is the :class:`~fastnn.autograd.Node`
that produced it. Every operation is a :class:`~fastnn.autograd.ArrayFunction` from
``fastnn.ops`` or ``fastnn.nn.functional``; the methods here only route to them.
"""
from __future__ import annotations

import numbers
from collections import OrderedDict, namedtuple

import numpy as np

from . import ops
from .autograd import backward as _run_backward
from .hooks import RemovableHandle, add_hook
from .random import generator

float32, float64, int64, int32, uint8, bool_ = (np.dtype(t) for t in
                                                (np.float32, np.float64, np.int64, np.int32, np.uint8, np.bool_))


def _as_array(data, dtype=None) -> np.ndarray:
    """Convert user data to an ndarray under fastnn's dtype rules: floats default to
    float32, integers to int64 (uint8 images stay uint8), bools stay bool."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.array(data, dtype=np.dtype(dtype), copy=None)
    arr = np.asarray(data)
    if arr.dtype.kind == "f":
        # Python floats and lists of them default to float32 (as PyTorch); a NumPy float64
        # array or scalar keeps its dtype (torch.tensor(ndarray) does the same).
        keep = arr.dtype == float32 or (arr.dtype == float64 and isinstance(data, (np.ndarray, np.generic)))
        return arr if keep else arr.astype(np.float32)
    if arr.dtype.kind in "iu":
        return arr if arr.dtype in (int64, uint8) else arr.astype(np.int64)     # uint8: images stay small
    if arr.dtype.kind == "b":
        return arr
    raise TypeError(f"cannot make a tensor from data of dtype {arr.dtype}")



def _promote(a, b, true_divide=False):
    """PyTorch's type promotion where it differs from NumPy's, for a binary op between a Tensor
    and a Tensor or a Python number: a float tensor wins over an integer/bool one and keeps
    its dtype (int64 * float32 is float32, not NumPy's float64); an integer tensor with a
    Python float, or divided by an integer, gives the default float32."""
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    fa = ta and a.dtype.kind == "f"
    fb = tb and b.dtype.kind == "f"
    if ta and tb:
        if fa and not fb:
            b = b.to(a.dtype)
        elif fb and not fa:
            a = a.to(b.dtype)
    if ta and not fa and (not tb and isinstance(b, float) or true_divide and not fb):
        a = a.to(float32)
    if tb and not fb and (not ta and isinstance(a, float) or true_divide and not fa):
        b = b.to(float32)
    return a, b


class Tensor(ops.PointwiseMethods, ops.ReductionMethods, ops.ShapeMethods):
    """An n-dimensional array that can record the operations applied to it."""

    __array_priority__ = 1000       # ndarray (op) Tensor defers to Tensor's reflected operator
    __hash__ = object.__hash__      # == is elementwise, so hash by identity (as PyTorch does)

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        self.data = _as_array(data, dtype)
        self.grad: Tensor | None = None
        self._grad_fn = None
        self._requires_grad = False
        self._backward_hooks = None     # a leaf's register_hook() hooks (a result keeps them on grad_fn)
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _wrap(cls, array) -> "Tensor":
        """A Tensor around an array a ArrayFunction produced (no conversion, no copy)."""
        t = cls.__new__(cls)
        t.data = np.asarray(array)
        t.grad, t._grad_fn, t._requires_grad, t._backward_hooks = None, None, False, None
        return t

    # ------------------------------------------------------------ attributes
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    grad_fn = property(lambda self: self._grad_fn)
    is_leaf = property(lambda self: self._grad_fn is None)

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self._grad_fn is not None:
            raise RuntimeError("requires_grad can only be changed on leaf tensors; use .detach() on a result")
        if value and self.data.dtype.kind != "f":
            raise RuntimeError(f"only floating point tensors can require gradients, this one is {self.dtype}")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        self.requires_grad = requires_grad
        return self

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return int(self.data.size)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4)
        extra = ""
        if self.dtype not in (float32, int64, bool_):
            extra += f", dtype={self.dtype}"
        if self._grad_fn is not None:
            extra += f", grad_fn=<{self._grad_fn.name}>"
        elif self._requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # ------------------------------------------------------------ conversion
    def numpy(self) -> np.ndarray:
        """The underlying array (shared memory, as in PyTorch)."""
        return self.data

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and dtype != self.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self):
        return self.data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"the truth value of a tensor with shape {self.shape} is ambiguous")
        return bool(self.data.reshape(()))

    def __index__(self):
        if self.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only integer tensors of one element can be converted to an index")
        return int(self.item())

    def detach(self) -> "Tensor":
        """The same data, cut from the graph."""
        return Tensor._wrap(self.data)

    def clone(self) -> "Tensor":
        return ops.Mul.apply(self, self.data.dtype.type(1)) if self.requires_grad else Tensor._wrap(self.data.copy())

    def to(self, dtype) -> "Tensor":
        dtype = np.dtype(dtype)
        if dtype == self.dtype:
            return self
        return ops.Cast.apply(self, dtype=dtype)

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def long(self):
        return self.to(np.int64)

    # ------------------------------------------------------------ autograd
    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Accumulate the gradient of this tensor into the ``.grad`` of every leaf it depends on."""
        _run_backward(self, grad, retain_graph)

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
        if self._grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("retain_grad() on a tensor that does not require grad")
            return
        self._grad_fn.retained = self

    def register_hook(self, hook) -> RemovableHandle:
        """Call ``hook(grad)`` whenever backward has computed this tensor's gradient (complete:
        summed over every use). If the hook returns a Tensor, that replaces the gradient, both
        for ``.grad`` and for everything backward computes from it; hooks run in registration
        order, each seeing the previous one's result. Returns a handle: ``handle.remove()``.

        On a leaf the hooks live on the tensor. On a result they live on its ``grad_fn``, the
        node where backward meets this gradient, so (as in PyTorch) they keep working after
        the Python name of the tensor is gone."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require gradient")
        if self._grad_fn is None:
            if self._backward_hooks is None:
                self._backward_hooks = OrderedDict()
            return add_hook(self._backward_hooks, hook)
        if self._grad_fn.hooks is None:
            self._grad_fn.hooks = OrderedDict()
        return add_hook(self._grad_fn.hooks, hook)

    def zero_(self) -> "Tensor":
        self.data[...] = 0
        return self

    # ------------------------------------------------------------ arithmetic
    def _operand(self, other):
        """Python numbers stay weakly typed; NumPy data is cast to this tensor's float dtype
        so that ``x * np.float64(2)`` stays float32."""
        if isinstance(other, Tensor) or isinstance(other, (bool, numbers.Number)) and not isinstance(other, np.generic):
            return other
        arr = np.asarray(other)
        if self.dtype.kind == "f" and arr.dtype.kind in "fiub":
            arr = arr.astype(self.dtype, copy=False)
        return Tensor._wrap(arr)

    def __add__(self, other):
        return ops.Add.apply(*_promote(self, self._operand(other)))

    def __radd__(self, other):
        return ops.Add.apply(*_promote(self._operand(other), self))

    def __sub__(self, other):
        return ops.Sub.apply(*_promote(self, self._operand(other)))

    def __rsub__(self, other):
        return ops.Sub.apply(*_promote(self._operand(other), self))

    def __mul__(self, other):
        return ops.Mul.apply(*_promote(self, self._operand(other)))

    def __rmul__(self, other):
        return ops.Mul.apply(*_promote(self._operand(other), self))

    def __truediv__(self, other):
        return ops.Div.apply(*_promote(self, self._operand(other), true_divide=True))

    def __rtruediv__(self, other):
        return ops.Div.apply(*_promote(self._operand(other), self, true_divide=True))

    def __pow__(self, other):
        return ops.Pow.apply(*_promote(self, self._operand(other)))

    def __rpow__(self, other):
        return ops.Pow.apply(*_promote(self._operand(other), self))

    def __matmul__(self, other):
        return ops.MatMul.apply(*_promote(self, self._operand(other)))

    def __rmatmul__(self, other):
        return ops.MatMul.apply(*_promote(self._operand(other), self))

    def __neg__(self):
        return ops.Neg.apply(self)

    def __pos__(self):
        return self

    def _compare(self, op, other):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._wrap(op(self.data, other))

    def __eq__(self, other):
        return self._compare(np.equal, other)

    def __ne__(self, other):
        return self._compare(np.not_equal, other)

    def __lt__(self, other):
        return self._compare(np.less, other)

    def __le__(self, other):
        return self._compare(np.less_equal, other)

    def __gt__(self, other):
        return self._compare(np.greater, other)

    def __ge__(self, other):
        return self._compare(np.greater_equal, other)

    # ------------------------------------------------------------ neural-network shortcuts
    def relu(self):
        from .nn import functional as F
        return F.relu(self)

    def sigmoid(self):
        from .nn import functional as F
        return F.sigmoid(self)

    def tanh(self):
        from .nn import functional as F
        return F.tanh(self)

    def softmax(self, dim: int = -1):
        from .nn import functional as F
        return F.softmax(self, dim)

    def log_softmax(self, dim: int = -1):
        from .nn import functional as F
        return F.log_softmax(self, dim)


# ------------------------------------------------------------------ construction

def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (float32 for floats, int64 for ints)."""
    t = Tensor(np.array(_as_array(data, dtype), copy=True), requires_grad=requires_grad)
    return t


def _size(size):
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)


def _float(dtype):
    return np.dtype(np.float32 if dtype is None else dtype)


def zeros(*size, dtype=None, requires_grad=False):
    return Tensor(np.zeros(_size(size), _float(dtype)), requires_grad=requires_grad)


def ones(*size, dtype=None, requires_grad=False):
    return Tensor(np.ones(_size(size), _float(dtype)), requires_grad=requires_grad)


def empty(*size, dtype=None, requires_grad=False):
    return Tensor(np.empty(_size(size), _float(dtype)), requires_grad=requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False):
    """Like PyTorch, the dtype follows ``fill_value`` when not given: bool, int64 or float32."""
    size = (size,) if isinstance(size, numbers.Integral) else tuple(size)
    if dtype is None:
        dtype = _as_array(fill_value).dtype
    return Tensor(np.full(size, fill_value, np.dtype(dtype)), requires_grad=requires_grad)


def randn(*size, dtype=None, requires_grad=False):
    return Tensor(generator().standard_normal(_size(size)).astype(_float(dtype)), requires_grad=requires_grad)


def rand(*size, dtype=None, requires_grad=False):
    return Tensor(generator().random(_size(size)).astype(_float(dtype)), requires_grad=requires_grad)


def randint(low, high, size, dtype=None):
    return Tensor(generator().integers(low, high, size=tuple(size)).astype(dtype or np.int64))


def randperm(n):
    return Tensor(generator().permutation(n).astype(np.int64))


def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    """Integers give int64 (as PyTorch), any float argument gives float32."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = np.int64 if ints else np.float32
    return Tensor(np.arange(start, end, step).astype(dtype), requires_grad=requires_grad)


def linspace(start, end, steps, dtype=None):
    return Tensor(np.linspace(start, end, steps).astype(_float(dtype)))


def eye(n, m=None, dtype=None):
    return Tensor(np.eye(n, m, dtype=_float(dtype)))


def zeros_like(t, dtype=None, requires_grad=False):
    return Tensor(np.zeros_like(np.asarray(t), dtype=dtype), requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return Tensor(np.ones_like(np.asarray(t), dtype=dtype), requires_grad=requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    return Tensor(np.full_like(np.asarray(t), fill_value, dtype=dtype), requires_grad=requires_grad)


def randn_like(t, dtype=None):
    arr = np.asarray(t)
    return Tensor(generator().standard_normal(arr.shape).astype(dtype or arr.dtype))


def _tensors(seq, what):
    seq = list(seq)
    if not seq:
        raise ValueError(f"{what}() needs a non-empty sequence of tensors")
    return [t if isinstance(t, Tensor) else Tensor(t) for t in seq]


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension."""
    tensors = _tensors(tensors, "cat")
    ref = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.ndim != len(ref) or any(a != b for d, (a, b) in enumerate(zip(t.shape, ref)) if d != dim % len(ref)):
            raise ValueError(f"cat: tensor {i} has shape {t.shape}, which does not match {ref} outside dim {dim}")
    return ops.Cat.apply(*tensors, dim=dim)


def stack(tensors, dim: int = 0) -> Tensor:
    """Join tensors of one shape along a new dimension."""
    tensors = _tensors(tensors, "stack")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: tensor {i} has shape {t.shape} but tensor 0 has shape {tensors[0].shape}")
    return ops.Stack.apply(*tensors, dim=dim)


def where(condition, a, b) -> Tensor:
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    a = a if isinstance(a, Tensor) else Tensor(a)
    b = b if isinstance(b, Tensor) else Tensor(b)
    return ops.Where.apply(cond.astype(bool), a, b)
