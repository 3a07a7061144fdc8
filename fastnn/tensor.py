"""``Tensor``: a NumPy array, its gradient, and the graph edge that made it.

A Tensor is deliberately thin. ``.data`` is a plain ``numpy.ndarray`` (float32 unless
you ask otherwise; float64 for gradient checks; int64 and bool for indices and masks),
``.grad`` is a Tensor or None, and ``.grad_fn`` is the :class:`~fastnn.autograd.Node`
that produced it. Every operation is a :class:`~fastnn.autograd.ArrayFunction` from
``fastnn.ops`` or ``fastnn.nn.functional``; the methods here only route to them.
"""
from __future__ import annotations

import numbers
from collections import OrderedDict

import numpy as np

from . import ops
from ._tensor_str import tensor_repr
from .autograd import ArrayFunction, Context, Node, Version, edge, is_grad_enabled, next_serial
from .autograd import backward as _run_backward
from .hooks import RemovableHandle, add_hook
from .types import CPU, Size, check_device, of_numpy, to_dtype

float32, float64, int64, int32, uint8, bool_ = (np.dtype(t) for t in
                                                (np.float32, np.float64, np.int64, np.int32, np.uint8, np.bool_))


def _as_array(data, dtype=None) -> np.ndarray:
    """Convert user data to an ndarray under fastnn's dtype rules: floats default to
    float32, integers to int64 (uint8 images stay uint8), bools stay bool."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.array(data, dtype=to_dtype(dtype).dtype, copy=None)
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



def as_tensor_arg(value, name: str) -> "Tensor":
    """``value`` as a Tensor: a Tensor stays itself, numbers, lists and arrays are converted;
    anything else is refused with an error that names the argument."""
    if isinstance(value, Tensor):
        return value
    try:
        return Tensor(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a Tensor (or a number, list or array), got {type(value).__name__}: "
                        f"{exc}") from None


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


class Tensor(ops.PointwiseMethods, ops.ReductionMethods, ops.ShapeMethods, ops.LinalgMethods):
    """An n-dimensional array that can record the operations applied to it."""

    __array_priority__ = 1000       # ndarray (op) Tensor defers to Tensor's reflected operator
    __hash__ = object.__hash__      # == is elementwise, so hash by identity (as PyTorch does)
    _base = None                    # for a view (x[0], x.view(-1), x.t()): the tensor that owns the memory
    _graph_stamp = 0                # for a view: its counter's `graph` when its grad_fn was last set
    _output_nr = 0                  # which output of its grad_fn this is (a Function may have several)

    def __init__(self, data=None, *sizes, requires_grad: bool = False, dtype=None, device=None):
        check_device(device)
        if data is None:            # Tensor(): an empty float tensor, as torch.Tensor()
            data = np.empty(0, np.float32)
        if sizes:                   # the legacy constructor Tensor(2, 3): an uninitialised float tensor
            shape = (data, *sizes)
            if not all(type(s) is int for s in shape):
                raise TypeError(f"Tensor(*sizes) takes ints, got {shape}")
            data = np.empty(shape, np.float32 if dtype is None else to_dtype(dtype).dtype)
        self.data = _as_array(data, dtype)
        self.grad: Tensor | None = None
        self._grad_fn = None
        self._requires_grad = False
        self._backward_hooks = None     # a leaf's register_hook() hooks (a result keeps them on grad_fn)
        self._version_counter = Version()
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _wrap(cls, array) -> "Tensor":
        """A Tensor around an array an ArrayFunction produced (no conversion, no copy)."""
        t = cls.__new__(cls)
        t.data = np.asarray(array)
        t.grad, t._grad_fn, t._requires_grad, t._backward_hooks = None, None, False, None
        t._version_counter = Version()
        return t

    # ------------------------------------------------------------ attributes
    shape = property(lambda self: tuple.__new__(Size, self.data.shape))     # NumPy's shape: ints already
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: of_numpy(self.data.dtype))
    device = property(lambda self: CPU)
    is_cuda = False
    is_cpu = True
    is_sparse = False
    is_quantized = False
    _version = property(lambda self: self._version_counter.value)

    @property
    def grad_fn(self):
        if self._base is not None and self._graph_stamp != self._version_counter.graph:
            self._refresh_view()
        return self._grad_fn

    is_leaf = property(lambda self: self.grad_fn is None)

    @property
    def requires_grad(self) -> bool:
        if self._base is not None and self._graph_stamp != self._version_counter.graph:
            self._refresh_view()
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self.grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use a "
                               "computed variable in a subgraph that doesn't require differentiation use "
                               "var_no_grad = var.detach().")
        if value and self.data.dtype.kind not in "fc":
            raise RuntimeError(f"Only Tensors of floating point and complex dtype can require gradients "
                               f"(this one is {self.dtype})")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        self.requires_grad = requires_grad
        return self

    def size(self, dim=None):
        if dim is None:
            return self.shape
        if not -max(self.ndim, 1) <= dim < max(self.ndim, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of [{-max(self.ndim, 1)}, "
                             f"{max(self.ndim, 1) - 1}], but got {dim})")
        return self.data.shape[dim] if self.ndim else 1

    def dim(self) -> int:
        return self.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self.data.size)

    nelement = numel

    def element_size(self) -> int:
        return self.data.itemsize

    def is_floating_point(self) -> bool:
        return self.data.dtype.kind == "f"

    def is_complex(self) -> bool:
        return self.data.dtype.kind == "c"

    def is_contiguous(self, memory_format=None) -> bool:
        return bool(self.data.flags.c_contiguous)

    def stride(self, dim=None):
        """Strides in elements, as PyTorch counts them (NumPy counts bytes)."""
        strides = tuple(st // self.data.itemsize for st in self.data.strides)
        return strides if dim is None else strides[dim]

    def data_ptr(self) -> int:
        return self.data.ctypes.data

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self)))

    def __repr__(self):
        grad_fn = None if self.grad_fn is None else _short_name(self.grad_fn)
        return tensor_repr(self.data, dtype_name=repr(self.dtype),
                           default_dtype=self.data.dtype in (float32, int64, bool_),
                           requires_grad=self._requires_grad and grad_fn is None, grad_fn_name=grad_fn)

    def __format__(self, spec):
        if self.data.size == 1 and self.ndim == 0:
            return format(self.item(), spec)
        return format(repr(self), spec)

    # ------------------------------------------------------------ conversion
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The underlying array (shared memory, as in PyTorch). Unlike PyTorch, a tensor that
        requires grad gives its array too (PyTorch asks for ``x.detach().numpy()``, which
        works here as well)."""
        return self.data

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def item(self):
        if self.data.size != 1:
            raise RuntimeError(f"a Tensor with {self.data.size} elements cannot be converted to Scalar")
        return self.data.reshape(()).item()

    def tolist(self):
        return self.data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.data.reshape(()))

    def __index__(self):
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def detach(self) -> "Tensor":
        """The same data (and version counter), cut from the graph."""
        t = Tensor._wrap(self.data)
        t._version_counter = self._version_counter
        return t

    def _is_view(self) -> bool:
        """True for a tensor made as a view of another's memory (``x[0]``, ``x.t()``): its
        ``_base`` is that tensor, as in PyTorch."""
        return self._base is not None

    def detach_(self) -> "Tensor":
        if self._base is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self._grad_fn, self._requires_grad = None, False
        return self

    def clone(self, *, memory_format=None) -> "Tensor":
        return ops.Clone.apply(self)

    def contiguous(self, memory_format=None) -> "Tensor":
        return self if self.data.flags.c_contiguous else self.clone()

    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False, memory_format=None) -> "Tensor":
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)``: this tensor
        itself when nothing changes (unless ``copy=True``), as in PyTorch."""
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif isinstance(arg, str) and ":" not in arg and arg.split(".")[-1] in _DTYPE_NAMES:
                dtype = arg
            elif isinstance(arg, (str, int)) and not isinstance(arg, bool) or type(arg).__name__ == "device":
                device = arg
            else:
                dtype = arg
        check_device(device)
        out = self
        if dtype is not None and to_dtype(dtype) != self.data.dtype:
            out = ops.Cast.apply(self, dtype=to_dtype(dtype).dtype)
        elif copy:
            out = self.clone()
        return out

    def cpu(self, memory_format=None) -> "Tensor":
        return self

    def get_device(self) -> int:
        """-1: the tensor is on the CPU (PyTorch's answer for a CPU tensor)."""
        return -1

    def cuda(self, device=None, non_blocking=False, memory_format=None) -> "Tensor":
        check_device("cuda" if device is None else device if not isinstance(device, int) else f"cuda:{device}")

    def type(self, dtype=None, non_blocking=False):
        """``x.type()`` names the type as PyTorch does (``'fastnn.FloatTensor'``);
        ``x.type(fastnn.float64)`` or ``x.type('torch.DoubleTensor')`` converts."""
        if dtype is None:
            return "fastnn." + _TYPE_NAMES.get(self.dtype, "Tensor")
        if isinstance(dtype, str) and dtype.split(".")[-1] in _LEGACY_TYPES:
            dtype = _LEGACY_TYPES[dtype.split(".")[-1]]
        return self.to(dtype)

    def type_as(self, other) -> "Tensor":
        return self.to(other.dtype)

    def float(self, memory_format=None):
        return self.to(np.float32)

    def double(self, memory_format=None):
        return self.to(np.float64)

    def half(self, memory_format=None):
        return self.to(np.float16)

    def long(self, memory_format=None):
        return self.to(np.int64)

    def int(self, memory_format=None):
        return self.to(np.int32)

    def short(self, memory_format=None):
        return self.to(np.int16)

    def byte(self, memory_format=None):
        return self.to(np.uint8)

    def char(self, memory_format=None):
        return self.to(np.int8)

    def bool(self, memory_format=None):
        return self.to(np.bool_)

    # the new_* constructors: this tensor's dtype unless told otherwise (an int32 tensor makes
    # int32 ones), built with _wrap so the dtype is kept exactly
    def new_tensor(self, data, dtype=None, device=None, requires_grad=False) -> "Tensor":
        check_device(device)
        out = Tensor._wrap(np.array(_as_array(data, dtype or self.dtype), copy=True))
        return out.requires_grad_() if requires_grad else out

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False) -> "Tensor":
        return self.new_full(_sizes(size), 0, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False) -> "Tensor":
        return self.new_full(_sizes(size), 1, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False) -> "Tensor":
        return self.new_full(_sizes(size), 0, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False) -> "Tensor":
        check_device(device)
        np_dtype = (self.dtype if dtype is None else to_dtype(dtype)).dtype
        out = Tensor._wrap(np.full(_sizes((size,)), fill_value, np_dtype))
        return out.requires_grad_() if requires_grad else out

    # ------------------------------------------------------------ autograd
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Accumulate the gradient of this tensor into the ``.grad`` of every leaf it depends on."""
        if create_graph:
            raise NotImplementedError("fastnn does not differentiate through backward (create_graph=True): "
                                      "its backward formulas run on NumPy arrays")
        if inputs is not None:
            raise NotImplementedError("backward(inputs=...) is not supported; use fastnn.autograd.grad")
        _run_backward(self, gradient, bool(retain_graph))

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
        if self.grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        self._grad_fn.set_retained(self._output_nr, self)

    retains_grad = property(lambda self: self.grad_fn is not None and
                            self._grad_fn.retained_of(self._output_nr) is self)

    def register_hook(self, hook) -> RemovableHandle:
        """Call ``hook(grad)`` whenever backward has computed this tensor's gradient (complete:
        summed over every use). If the hook returns a Tensor, that replaces the gradient, both
        for ``.grad`` and for everything backward computes from it; hooks run in registration
        order, each seeing the previous one's result. Returns a handle: ``handle.remove()``.

        On a leaf the hooks live on the tensor. On a result they live on its ``grad_fn``, the
        node where backward meets this gradient, so (as in PyTorch) they keep working after
        the Python name of the tensor is gone."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is None:
            if self._backward_hooks is None:
                self._backward_hooks = OrderedDict()
            return add_hook(self._backward_hooks, hook)
        return add_hook(self._grad_fn.hooks_of(self._output_nr, create=True), hook)

    # ------------------------------------------------------------ in place
    def _inplace(self, compute, constant: str | None = None) -> "Tensor":
        """Make ``self`` hold ``compute(self)``, as PyTorch's in-place operations do.

        ``compute`` is the out-of-place twin (``lambda t: t + other``). Its values are written
        into this tensor's memory, so its views and its base see them, and its version counter
        goes up, so a backward that saved the old values refuses to run instead of returning a
        wrong gradient (PyTorch's rule). With grad mode on and a result in the graph, the
        operation is recorded too (:meth:`_record_inplace`). ``constant`` names the operation
        (``"FillBackward2"``) when its result does not depend on the old values (``fill_``,
        ``normal_``, ``gt_``): a tensor in the graph then passes a zero gradient back, as in PyTorch."""
        if not is_grad_enabled():
            self._write(compute(self).data)
            return self
        self._check_inplace_allowed()
        since = next_serial()
        old = self._snapshot()
        result = compute(old)
        if not result.requires_grad:
            if self.requires_grad:          # a graph tensor overwritten by values that need no gradient
                if not np.can_cast(result.data.dtype, self.data.dtype, casting="same_kind"):
                    self._write(result.data)    # raises PyTorch's "can't be cast" error
                new = result.data.astype(self.data.dtype, copy=False)
                result = _overwritten(constant or "OverwriteBackward0").apply(old, new=new)
            else:
                self._write(result.data)
                return self
        elif _saves_memory_of(result.grad_fn, self.data, since):
            # the recorded operation kept the old values by reference (a multiplication keeps
            # its inputs): give it a copy of them, as PyTorch's in-place ops keep `original_self`
            since = next_serial()
            old = self._snapshot(copy=True)
            result = compute(old)
        return self._record_inplace(result, since)

    def _restride(self, compute) -> "Tensor":
        """``t_()``, ``unsqueeze_(0)``, ``transpose_(0, 1)``...: this tensor becomes a view of its
        own memory with another shape (``compute`` is the out-of-place view), recorded as that
        view when it is in the graph; the values do not change but the version counts it, as
        in PyTorch."""
        grad_mode = is_grad_enabled()
        if grad_mode:
            self._check_inplace_allowed()
        result = compute(self._snapshot() if grad_mode else self)
        self.data = result.data
        if grad_mode and result.requires_grad:
            self._grad_fn, self._requires_grad, self._output_nr = result._grad_fn, True, 0
        self._version_counter.value += 1
        return self

    def _check_inplace_allowed(self) -> None:
        """PyTorch's refusals, with grad mode on: a leaf that requires grad (the optimizer's
        ``w -= lr * w.grad`` goes under ``no_grad()``) and a view of one can't change in place."""
        if self.requires_grad and self._grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        base = self._base
        if base is not None and base._requires_grad and base._grad_fn is None:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                               "operation.")

    def _snapshot(self, copy: bool = False) -> "Tensor":
        """This tensor as it is now (its values, its place in the graph), as another Tensor
        object with a counter of its own: the input an in-place operation records. With
        ``copy``, the values are copied, for a record that keeps them for backward."""
        t = Tensor._wrap(self.data.copy() if copy else self.data)
        t._grad_fn, t._requires_grad, t._output_nr = self.grad_fn, self._requires_grad, self._output_nr
        t._version_counter = Version(self._version_counter.value)
        return t

    def _write(self, values: np.ndarray, index=Ellipsis, cast: str = "same_kind") -> None:
        """Write ``values`` into this tensor's memory (``index`` of it) and count the change.
        ``cast="same_kind"`` is the rule of in-place arithmetic (an integer tensor can't take
        a float result); ``x[i] = v`` converts like PyTorch's ``copy_`` (``cast="unsafe"``)."""
        if index is Ellipsis and values.shape != self.data.shape:
            raise RuntimeError(f"output with shape {list(self.data.shape)} doesn't match the broadcast shape "
                               f"{list(np.broadcast_shapes(values.shape, self.data.shape))}")
        if not np.can_cast(values.dtype, self.data.dtype, casting=cast):
            raise RuntimeError(f"result type {of_numpy(values.dtype)} can't be cast to the desired output type "
                               f"{self.dtype}")
        if not self.data.flags.writeable:
            raise RuntimeError("unsupported operation: this tensor is a read-only (expanded) view: more than one "
                               "element of it refers to a single memory location; clone() it first")
        try:
            self.data[index] = values
        except ValueError as exc:
            raise RuntimeError(f"cannot write a value of shape {list(np.shape(values))} into the indexed part of a "
                               f"tensor of shape {list(self.data.shape)}: {exc}") from None
        self._version_counter.value += 1

    def _record_inplace(self, result: "Tensor", since: int) -> "Tensor":
        """Write ``result`` into this tensor and make it the graph's new value of this memory.

        A tensor that owns its memory takes ``result``'s ``grad_fn``. A view (``x[0]``,
        ``x.view(-1)``) changes its base too: the base's ``grad_fn`` becomes
        :class:`_CopySlices` (its old values outside the view, the result inside), and every
        view of it, this one included, rebuilds its ``grad_fn`` from that on next use
        (:meth:`_refresh_view`), as PyTorch does. A node recorded before keeps the ``grad_fn``
        this tensor had when it was used (``autograd.edge``), so its gradient is unchanged."""
        if result.data.dtype != self.data.dtype:
            if not np.can_cast(result.data.dtype, self.data.dtype, casting="same_kind"):
                raise RuntimeError(f"result type {result.dtype} can't be cast to the desired output type "
                                   f"{self.dtype}")
            result = ops.Cast.apply(result, dtype=self.data.dtype)
        base = self._base
        positions = None if base is None else _positions(self.data, base.data)
        if base is not None and positions is None:
            raise RuntimeError("fastnn cannot record an in-place operation on this view: its memory is not laid "
                               "out inside its base's; write it out of place (y = y + ...) or clone() it first")
        self._write(result.data)
        counter = self._version_counter
        counter.graph += 1
        _keep_saved_output(result, self, since)
        if base is None:
            old_fn, old_nr = self._grad_fn, self._output_nr
            self._grad_fn, self._requires_grad, self._output_nr = result._grad_fn, True, result._output_nr
            if old_fn is not None and old_fn.retained_of(old_nr) is self:     # retain_grad() follows the tensor
                old_fn.set_retained(old_nr, None)
                self._grad_fn.set_retained(self._output_nr, self)
            return self
        ctx = Context((base._requires_grad, True))
        ctx.positions = positions
        base._grad_fn = Node(_CopySlices, ctx, (edge(base) if base._requires_grad else None, edge(result)))
        base._requires_grad, base._output_nr = True, 0
        self._refresh_view()
        return self

    def _refresh_view(self) -> None:
        """Catch up with a recorded in-place change of this view's memory, made through its
        base or another view of it since this view's ``grad_fn`` was set: the view's values
        are now that part of its base, so its ``grad_fn`` becomes "that part of the base's
        ``grad_fn``" (``AsStridedBackward0``, PyTorch's name for it)."""
        base = self._base
        self._graph_stamp = self._version_counter.graph
        positions = _positions(self.data, base.data) if base._requires_grad else None
        if positions is None:
            return
        ctx = Context((True,))
        ctx.positions, ctx.base_shape = positions, base.data.shape
        self._grad_fn, self._requires_grad, self._output_nr = Node(_AsStrided, ctx, (edge(base),)), True, 0

    def __getitem__(self, index):
        """``x[index]``. An index of ints, slices and None gives a view, as in PyTorch; an
        index of ints only is given a trailing ``...`` so that NumPy, too, returns a 0-d view
        rather than a copied scalar, and ``x[0].add_(1)`` changes ``x``."""
        items = index if isinstance(index, tuple) else (index,)
        if _is_basic_index(index) and not any(i is Ellipsis for i in items):
            index = (*items, Ellipsis)
        return super().__getitem__(index)

    def __setitem__(self, index, value):
        """``x[index] = value``: written into ``x``'s memory (converting the value to ``x``'s
        dtype, as PyTorch's ``copy_`` does); recorded when ``x`` or ``value`` is in the graph
        (``CopySlices`` for a basic index, ``IndexPutBackward0`` for a mask or index tensor)."""
        index = _array_index(index)
        value_grad = isinstance(value, Tensor) and value.requires_grad
        if not (is_grad_enabled() and (self.requires_grad or value_grad)):
            if is_grad_enabled():
                self._check_inplace_allowed()
            self._write(np.asarray(value.data if isinstance(value, Tensor) else value), index, cast="unsafe")
            return
        basic = _is_basic_index(index)
        if basic and self._requires_grad and self._grad_fn is None:    # PyTorch writes through a view
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                               "operation.")
        value = value if isinstance(value, Tensor) else Tensor._wrap(np.asarray(value, dtype=self.data.dtype))
        if value.dtype != self.dtype:
            value = value.to(self.dtype)
        record = _SetSlices if basic else _IndexPut
        self._inplace(lambda t: record.apply(t, value, index=index))

    def zero_(self) -> "Tensor":
        return self._fill(0, "ZeroBackward0")

    def fill_(self, value) -> "Tensor":
        return self._fill(value, "FillBackward3" if isinstance(value, Tensor) else "FillBackward2")

    def _fill(self, value, name) -> "Tensor":
        if isinstance(value, Tensor) and value.requires_grad and is_grad_enabled():
            if value.numel() != 1 or value.ndim:
                raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                                   f"{value.ndim} dimensions.")
            return self._inplace(lambda t: _FillFrom.apply(t, value))
        return self._inplace(lambda t: Tensor._wrap(np.full(t.data.shape, np.asarray(
            value.data if isinstance(value, Tensor) else value), dtype=t.data.dtype)), constant=name)

    def copy_(self, src, non_blocking=False) -> "Tensor":
        src = as_tensor_arg(src, "src")
        try:
            np.broadcast_to(src.data, self.data.shape)
        except ValueError:
            raise RuntimeError(f"copy_: the source of shape {list(src.shape)} cannot be broadcast to the "
                               f"destination's shape {list(self.shape)}") from None
        return self._inplace(lambda t: _Copy.apply(t, src))

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None) -> "Tensor":
        from .random import generator as default
        rng = generator or default()
        return self._inplace(lambda t: Tensor._wrap(rng.uniform(a, b, t.data.shape).astype(t.data.dtype)),
                             constant="UniformBackward0")

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None) -> "Tensor":
        from .random import generator as default
        rng = generator or default()
        return self._inplace(lambda t: Tensor._wrap((mean + std * rng.standard_normal(t.data.shape))
                                                    .astype(t.data.dtype)), constant="NormalBackward0")

    def bernoulli_(self, p=0.5, *, generator=None) -> "Tensor":
        from .random import generator as default
        rng = generator or default()
        p = p.data if isinstance(p, Tensor) else p
        return self._inplace(lambda t: Tensor._wrap((rng.random(t.data.shape) < p).astype(t.data.dtype)),
                             constant="BernoulliBackward2")

    def exponential_(self, lambd: float = 1.0, *, generator=None) -> "Tensor":
        from .random import generator as default
        rng = generator or default()
        return self._inplace(lambda t: Tensor._wrap(rng.exponential(1 / lambd, t.data.shape).astype(t.data.dtype)),
                             constant="ExponentialBackward0")

    def random_(self, from_=0, to=None, *, generator=None) -> "Tensor":
        from .random import generator as default
        rng = generator or default()
        if to is None:
            from_, to = 0, from_ if from_ else 2 ** 24
        return self._inplace(lambda t: Tensor._wrap(rng.integers(from_, to, t.data.shape).astype(t.data.dtype)),
                             constant="RandomBackward0")

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

    def __radd__(self, other):          # commutative: the tensor comes first, as torch records it
        return ops.Add.apply(*_promote(self, self._operand(other)))

    def __sub__(self, other):
        return ops.Sub.apply(*_promote(self, self._operand(other)))

    def __rsub__(self, other):
        return ops.Sub.apply(*_promote(self._operand(other), self))

    def __mul__(self, other):
        return ops.Mul.apply(*_promote(self, self._operand(other)))

    def __rmul__(self, other):
        return ops.Mul.apply(*_promote(self, self._operand(other)))

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

    def __abs__(self):
        return self.abs()

    def __floordiv__(self, other):
        return self.floor_divide(other)

    def __rfloordiv__(self, other):
        return self._operand_tensor(other).floor_divide(self)

    def __mod__(self, other):
        return self.remainder(other)

    def __rmod__(self, other):
        return self._operand_tensor(other).remainder(self)

    def _operand_tensor(self, other) -> "Tensor":
        other = self._operand(other)
        return other if isinstance(other, Tensor) else Tensor(other)

    # in-place operators: x += y changes x (see _inplace), so `w -= lr * w.grad` trains
    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __ipow__(self, other):
        return self.pow_(other)

    # no __imatmul__, as in PyTorch: `a @= b` falls back to `a = a @ b`, a new tensor

    def __ifloordiv__(self, other):
        return self._inplace(lambda t: t // other)

    def __imod__(self, other):
        return self._inplace(lambda t: t % other)

    def __iand__(self, other):
        return self._inplace(lambda t: t & other)

    def __ior__(self, other):
        return self._inplace(lambda t: t | other)

    def __ixor__(self, other):
        return self._inplace(lambda t: t ^ other)

    # the named forms, with PyTorch's alpha= and rounding_mode=
    def add(self, other, *, alpha=1):
        return self + (other if alpha == 1 else self._operand_tensor(other) * alpha)

    def sub(self, other, *, alpha=1):
        return self - (other if alpha == 1 else self._operand_tensor(other) * alpha)

    subtract = sub

    def mul(self, other):
        return self * other

    multiply = mul

    def div(self, other, *, rounding_mode=None):
        if rounding_mode is None:
            return self / other
        if rounding_mode == "floor":
            return self.floor_divide(other)
        if rounding_mode == "trunc":
            out = self / other
            return out.trunc() if self.dtype.kind == "f" or self._operand_tensor(other).dtype.kind == "f" \
                else out.trunc().to(self.dtype)
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                         f"'{rounding_mode}'")

    divide = div
    true_divide = __truediv__

    def pow(self, exponent):
        return self ** exponent

    def add_(self, other, *, alpha=1):
        return self._inplace(lambda t: t.add(other, alpha=alpha))

    def sub_(self, other, *, alpha=1):
        return self._inplace(lambda t: t.sub(other, alpha=alpha))

    def mul_(self, other):
        return self._inplace(lambda t: t * other)

    def div_(self, other, *, rounding_mode=None):
        return self._inplace(lambda t: t.div(other, rounding_mode=rounding_mode))

    def pow_(self, exponent):
        return self._inplace(lambda t: t ** exponent)

    def addcmul(self, tensor1, tensor2, *, value=1):
        return self + value * tensor1 * tensor2

    def addcdiv(self, tensor1, tensor2, *, value=1):
        return self + value * tensor1 / tensor2

    def addcmul_(self, tensor1, tensor2, *, value=1):
        return self._inplace(lambda t: t.addcmul(tensor1, tensor2, value=value))

    def addcdiv_(self, tensor1, tensor2, *, value=1):
        return self._inplace(lambda t: t.addcdiv(tensor1, tensor2, value=value))

    # ------------------------------------------------------------ comparison and logic
    def _compare(self, op, other):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._wrap(np.asarray(op(self.data, other)))

    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    less, less_equal, greater, greater_equal, not_equal = lt, le, gt, ge, ne

    def equal(self, other) -> bool:
        """True when both have the same shape and the same values."""
        other = as_tensor_arg(other, "other")
        return self.data.shape == other.data.shape and bool(np.array_equal(self.data, other.data))

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        other = as_tensor_arg(other, "other")
        return Tensor._wrap(np.isclose(self.data, other.data, rtol=rtol, atol=atol, equal_nan=equal_nan))

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
        return bool(self.isclose(other, rtol, atol, equal_nan).data.all())

    def _logical(self, op, other):
        if self.data.dtype.kind not in "biu":
            raise TypeError(f"bitwise/logical operators need bool or integer tensors, this one is {self.dtype}")
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._wrap(np.asarray(op(self.data, other)))

    def __and__(self, other):
        return self._logical(np.bitwise_and, other)

    def __or__(self, other):
        return self._logical(np.bitwise_or, other)

    def __xor__(self, other):
        return self._logical(np.bitwise_xor, other)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __invert__(self):
        if self.data.dtype.kind not in "biu":
            raise TypeError(f"~ needs a bool or integer tensor, this one is {self.dtype}")
        return Tensor._wrap(np.invert(self.data))

    bitwise_and, bitwise_or, bitwise_xor, bitwise_not = __and__, __or__, __xor__, __invert__

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
        return ops.activation.relu(self)

    def sigmoid(self):
        return ops.activation.sigmoid(self)

    def tanh(self):
        return ops.activation.tanh(self)

    def softmax(self, dim=None, dtype=None):
        x = self if dtype is None else self.to(dtype)
        return ops.activation.softmax(x, dim)

    def log_softmax(self, dim=None, dtype=None):
        x = self if dtype is None else self.to(dtype)
        return ops.activation.log_softmax(x, dim)


# names of dtypes that .to("float64") accepts as a dtype rather than a device
_DTYPE_NAMES = {"float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool", "float",
                "double", "half", "long", "int", "short"}
# PyTorch's legacy tensor type names: x.type() and x.type("torch.DoubleTensor")
_LEGACY_TYPES = {"FloatTensor": np.float32, "DoubleTensor": np.float64, "HalfTensor": np.float16,
                 "LongTensor": np.int64, "IntTensor": np.int32, "ShortTensor": np.int16, "CharTensor": np.int8,
                 "ByteTensor": np.uint8, "BoolTensor": np.bool_}
_TYPE_NAMES = {np.dtype(v): k for k, v in _LEGACY_TYPES.items()}


def _sizes(size) -> tuple:
    """``(2, 3)``, ``((2, 3),)`` or ``(Size([2, 3]),)`` -> ``(2, 3)``: the ways torch takes a shape."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = s.item()
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"size must be a tuple of ints, but got {type(s).__name__} in {tuple(size)}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
        out.append(int(s))
    return tuple(out)


def _array_index(index):
    """An index with its Tensors (masks, integer tensors) replaced by their arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray([i.item() if isinstance(i, Tensor) else i for i in index])
    return index


def _short_name(node) -> str:
    """How a tensor's repr names its grad_fn: ``MulBackward0``, ``CopySlices`` (PyTorch prints
    the class name, which for CopySlices is shorter than its ``name()``)."""
    return node.name().rpartition("::")[2]


# ------------------------------------------------------------------ in-place machinery

def _is_basic_index(index) -> bool:
    """True for ints, slices, None and ``...`` (a view of the tensor: PyTorch's setitem is then
    a copy into that view, ``CopySlices``); False when a mask or index array is involved."""
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (slice, numbers.Integral)) and not isinstance(i, bool)
               for i in items)


def _ctx_arrays(ctx):
    """The arrays a node's ctx holds: what it saved, and its attributes (one level into
    tuples and lists; a user Function's saved Tensors by their arrays)."""
    if ctx is None:
        return
    values = list(getattr(ctx, "saved_tensors", None) or ()) if isinstance(ctx, Context) else []
    values += list(getattr(ctx, "__dict__", {}).values())
    for v in values:
        for item in (v if isinstance(v, (tuple, list)) else (v,)):
            if isinstance(item, tuple) and item and isinstance(item[0], Tensor):    # FunctionCtx._saved
                item = item[0]
            if isinstance(item, Tensor):
                item = item.data
            if isinstance(item, np.ndarray):
                yield item


def _new_nodes(root, since: int):
    """The nodes reachable from ``root`` that were made after ``since`` (``next_serial()``)."""
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if node is None or not isinstance(node, Node) or node.serial <= since or id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(e.grad_fn for e in node.inputs if e is not None)


def _saves_memory_of(root, memory: np.ndarray, since: int) -> bool:
    """Did an operation made after ``since`` keep (a view of) ``memory`` for its backward?"""
    return any(np.may_share_memory(a, memory) for node in _new_nodes(root, since) for a in _ctx_arrays(node.ctx))


def _keep_saved_output(result: "Tensor", target: "Tensor", since: int) -> None:
    """An in-place operation that saved its output (``exp_`` keeps ``exp(x)``) keeps the
    tensor it wrote instead, under that tensor's version counter: changing it again before
    backward then raises, as in PyTorch, and the separate result array can be freed."""
    node = result.grad_fn
    if not isinstance(node, Node) or node.serial <= since or not isinstance(node.ctx, Context):
        return
    ctx, out = node.ctx, result.data
    counter = target._version_counter

    def kept(a):
        """``target``'s memory in place of the output ``a`` (or a reshaped view of it), else None."""
        if a is out:
            return target.data
        if (isinstance(a, np.ndarray) and a.size == out.size and _root(a) is _root(out) and a.flags.c_contiguous
                and out.flags.c_contiguous and target.data.flags.c_contiguous):
            return target.data.reshape(a.shape)
        return None

    replaced = {id(a): kept(a) for a in ctx.saved_tensors or ()}
    if any(r is not None for r in replaced.values()):
        swap = lambda a: a if replaced.get(id(a)) is None else replaced[id(a)]     # noqa: E731
        ctx.saved_tensors = tuple(swap(a) for a in ctx.saved_tensors)
        ctx.saved_versions = tuple((counter, counter.value, swap(a)) if replaced.get(id(a)) is not None
                                   else (v, n, a) for v, n, a in ctx.saved_versions)
    for key, value in list(vars(ctx).items()):
        if value is out:
            setattr(ctx, key, target.data)


def _root(a: np.ndarray) -> np.ndarray:
    return a if a.base is None else a.base


def _addresses(a: np.ndarray) -> np.ndarray:
    """The memory address of every element of ``a``."""
    addr = np.full(a.shape, a.__array_interface__["data"][0], dtype=np.int64)
    for axis, (n, stride) in enumerate(zip(a.shape, a.strides)):
        shape = [1] * a.ndim
        shape[axis] = n
        addr = addr + (np.arange(n, dtype=np.int64) * stride).reshape(shape)
    return addr


def _positions(view: np.ndarray, base: np.ndarray):
    """For each element of ``view``, its index in ``base`` counted in C order (an int array of
    ``view``'s shape), or None when ``view`` is not made of ``base``'s elements. This says which
    part of the base a view is, whatever slicing, transposing or reshaping made it (PyTorch
    keeps sizes, strides and an offset for the same purpose)."""
    if view.dtype != base.dtype:
        return None
    addr = _addresses(view)
    if base.flags.c_contiguous:         # the usual case: offsets divide by the item size
        offset = addr - base.__array_interface__["data"][0]
        pos, rest = np.divmod(offset, base.itemsize)
        return pos if (rest == 0).all() and (pos >= 0).all() and (pos < base.size).all() else None
    flat = _addresses(base).reshape(-1)            # any other layout: look the addresses up
    if flat.size == 0:
        return addr if addr.size == 0 else None
    order = np.argsort(flat, kind="stable")
    pos = order[np.minimum(np.searchsorted(flat[order], addr), flat.size - 1)]
    return pos if np.array_equal(flat[pos], addr) else None


class _AsStrided(ArrayFunction):
    """A view as a part of its base (``ctx.positions``): its ``grad_fn`` after the base was
    changed in place. The view's gradient goes to those places of the base's gradient."""
    torch_name = "AsStrided"

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.base_shape, grad.dtype)
        np.add.at(out.reshape(-1), ctx.positions.reshape(-1), np.broadcast_to(grad, ctx.positions.shape).reshape(-1))
        return out


class _CopySlices(ArrayFunction):
    """The base of a view that was changed in place with grad mode on: its old values outside
    the view, the in-place result inside (``ctx.positions``). PyTorch's ``CopySlices``."""

    @classmethod
    def backward_name(cls) -> str:
        return "fastnn::autograd::CopySlices"

    @staticmethod
    def backward(ctx, grad):
        flat = np.ascontiguousarray(grad).reshape(-1)
        g_base = None
        if ctx.needs_input_grad[0]:
            g_base = flat.copy()
            g_base[ctx.positions.reshape(-1)] = 0
            g_base = g_base.reshape(grad.shape)
        return g_base, flat[ctx.positions]


class _SetSlices(ops.SetItem):
    """``x[0] = v``, ``x[:, 1:] = v`` with autograd (PyTorch records a copy into a view:
    ``CopySlices``)."""

    @classmethod
    def backward_name(cls) -> str:
        return "fastnn::autograd::CopySlices"


class _IndexPut(ops.SetItem):
    """``x[mask] = v``, ``x[idx] = v`` with autograd (PyTorch's ``index_put_``)."""
    torch_name = "IndexPut"


class _Copy(ops.CopyInto):
    """``x.copy_(src)``: PyTorch names its node ``CopyBackwards`` and gives the overwritten
    values a zero gradient (not none)."""

    @classmethod
    def backward_name(cls) -> str:
        return "fastnn::autograd::CopyBackwards"

    @staticmethod
    def backward(ctx, grad):
        _, g_src = ops.CopyInto.backward(ctx, grad)
        return (np.zeros_like(grad) if ctx.needs_input_grad[0] else None), g_src


class _FillFrom(_Copy):
    """``x.fill_(value)`` with a 0-d ``value`` that requires grad (PyTorch's ``FillBackward3``)."""

    @classmethod
    def backward_name(cls) -> str:
        return "FillBackward3"


class _Overwritten(ArrayFunction):
    """A tensor in the graph overwritten by values that do not depend on it (``h.fill_(2)``,
    ``h.normal_()``, ``h.gt_(0)``): it passes a zero gradient back (PyTorch's ``FillBackward2``,
    ``NormalBackward0``...; the name is chosen by :func:`_overwritten`)."""

    @staticmethod
    def forward(ctx, old, new):
        return np.array(new, copy=True)

    @staticmethod
    def backward(ctx, grad):
        return np.zeros_like(grad)


_OVERWRITTEN = {}


def _overwritten(name: str) -> type:
    """The :class:`_Overwritten` whose ``grad_fn.name()`` is ``name`` (``"FillBackward2"``)."""
    if name not in _OVERWRITTEN:
        _OVERWRITTEN[name] = type(f"_Overwritten_{name}", (_Overwritten,),
                                  {"backward_name": classmethod(lambda cls: name)})
    return _OVERWRITTEN[name]


# x.exp_(), x.clamp_(0, 1)...: each in-place form computes its out-of-place twin and writes it back
_INPLACE_FORMS = ("abs", "neg", "exp", "exp2", "expm1", "log", "log1p", "log2", "log10", "sqrt", "rsqrt", "square",
                  "reciprocal", "sign", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
                  "sigmoid", "relu", "erf", "erfc", "floor", "ceil", "round", "trunc", "frac", "clamp", "clip",
                  "clamp_min", "clamp_max", "lerp", "maximum", "minimum", "fmod", "remainder", "floor_divide",
                  "masked_fill", "masked_scatter", "index_fill", "index_add", "index_copy", "scatter", "scatter_add",
                  "fill_diagonal", "tril", "triu", "nan_to_num", "logical_not", "logical_and", "logical_or",
                  "logical_xor", "atan2", "hypot", "xlogy", "logit", "eq", "ne", "lt", "le", "gt", "ge", "put", "index_put",
                  "scatter_reduce")


def _inplace_form(name):
    constant = "".join(part.capitalize() for part in name.split("_")) + "Backward0"    # gt_: GtBackward0
    def method(self, *args, **kwargs):
        return self._inplace(lambda t: getattr(t, name)(*args, **kwargs), constant=constant)
    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place :meth:`{name}` (see ``Tensor._inplace``)."
    return method


for _name in _INPLACE_FORMS:
    if hasattr(Tensor, _name) and not hasattr(Tensor, _name + "_"):
        setattr(Tensor, _name + "_", _inplace_form(_name))


# x.t_(), x.unsqueeze_(0)...: the in-place forms of the view operations that only change the shape
_RESTRIDE_FORMS = ("t", "transpose", "swapdims", "swapaxes", "unsqueeze", "squeeze")


def _restride_form(name):
    def method(self, *args, **kwargs):
        return self._restride(lambda t: getattr(t, name)(*args, **kwargs))
    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place :meth:`{name}`: this tensor takes the new shape (see ``Tensor._restride``)."
    return method


for _name in _RESTRIDE_FORMS:
    if hasattr(Tensor, _name) and not hasattr(Tensor, _name + "_"):
        setattr(Tensor, _name + "_", _restride_form(_name))
