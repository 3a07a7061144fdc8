"""Shape, indexing and joining: views (reshape, permute, expand...), copies that move
elements (repeat, flip, roll...), indexing by tensors (gather, scatter, index_select,
masked_fill...) and joins (cat, stack...), each forward beside its backward.

The backward of an operation that *moves* elements moves the gradient back (a permute's
is the inverse permute, a flip's is a flip); one that *reads* elements by index adds the
gradient back into the places it read (``np.add.at``, so that an index read twice gets
both contributions); one that *overwrites* elements passes no gradient to what was
overwritten.

A note on views: ``view`` is ``reshape`` here. NumPy's reshape returns a view whenever the
memory layout allows one (which is when PyTorch's ``view`` succeeds) and a copy otherwise,
where PyTorch's ``view`` raises and asks for ``reshape``; so a program that runs on
PyTorch runs here too.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..autograd import ArrayFunction
from ._broadcast import INT64, broadcast_shapes, promoted, result_type, unbroadcast, wrap_dim, wrap_dims


class ShapeError(RuntimeError, ValueError):
    """PyTorch raises RuntimeError for a bad shape; NumPy code expects ValueError: both."""


def _tensor():
    from ..tensor import Tensor
    return Tensor


def _sizes(args, fn="size"):
    """``f(2, 3)`` or ``f((2, 3))`` or ``f([2, 3])`` (or a Size) as a tuple of ints."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)) or (len(args) == 1 and hasattr(args[0], "__iter__")
                                                                  and not isinstance(args[0], numbers.Number)):
        args = tuple(args[0])
    out = []
    for s in args:
        if hasattr(s, "item") and not isinstance(s, np.ndarray) or isinstance(s, np.integer):
            s = int(s.item() if hasattr(s, "item") else s)
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"{fn}(): expected a sequence of ints, got {type(s).__name__} {s!r}")
        out.append(int(s))
    return tuple(out)


def _varargs(args, kwargs, key, fn):
    """``f(2, 3)``, ``f((2, 3))`` or PyTorch's keyword form ``f(key=(2, 3))``."""
    if kwargs:
        if set(kwargs) != {key} or args:
            bad = sorted(set(kwargs) - {key}) or [key]
            raise TypeError(f"{fn}() got an unexpected keyword argument {bad[0]!r}" if set(kwargs) != {key} else
                            f"{fn}(): give {key} positionally or by keyword, not both")
        return (kwargs[key],)
    return args


def _index_array(index, name="index", fn="", ndim_max=None):
    """An integer index given as a Tensor, array, list or int, as an int64 array."""
    Tensor = _tensor()
    arr = index.data if isinstance(index, Tensor) else np.asarray(index)
    if arr.dtype.kind not in "iu":
        raise RuntimeError(f"{fn}(): Expected dtype int64 for {name} but got {arr.dtype}")
    if ndim_max is not None and arr.ndim > ndim_max:
        raise IndexError(f"{fn}(): {name} has to be a vector or a scalar, got shape {tuple(arr.shape)}")
    return arr.astype(np.int64, copy=False)


def _check_bounds(index, size, dim, fn):
    if index.size and (index.max() >= size or index.min() < -size):
        bad = index.max() if index.max() >= size else index.min()
        raise IndexError(f"{fn}(): index {bad} is out of bounds for dimension {dim} with size {size}")


# ------------------------------------------------------------------ views and moves

class Reshape(ArrayFunction):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ShapeError(f"shape '{list(shape)}' is invalid for input of size {a.size} (cannot reshape a tensor "
                             f"of shape {tuple(a.shape)} into shape {tuple(shape)})") from None

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape)


class Permute(ArrayFunction):
    @staticmethod
    def forward(ctx, a, dims):
        dims = tuple(wrap_dim(d, a.ndim) for d in dims) if a.ndim else ()
        if len(dims) != a.ndim or sorted(dims) != list(range(a.ndim)):
            raise ShapeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                             f"length of the desired ordering of dimensions i.e. input.dim() = {a.ndim} is not equal "
                             f"to len(dims) = {len(dims)}" if len(dims) != a.ndim else
                             f"permute(): dims {tuple(dims)} is not a permutation of the {a.ndim} dimensions of "
                             f"shape {tuple(a.shape)} (repeated dim)")
        ctx.inverse = tuple(np.argsort(dims))
        return np.transpose(a, dims)

    @staticmethod
    def backward(ctx, grad):
        return np.transpose(grad, ctx.inverse)


class Expand(ArrayFunction):
    """A broadcast view (no copy: NumPy's broadcast_to, read-only as PyTorch's expanded
    tensors are for in-place writes); the gradient is summed back over the new places."""

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return np.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.shape)


class Repeat(ArrayFunction):
    """``np.tile`` with one count per dimension (leading counts add dimensions); the gradient
    of each element is the sum over its copies."""

    @staticmethod
    def forward(ctx, a, reps):
        a2 = a.reshape((1,) * (len(reps) - a.ndim) + a.shape)
        ctx.shape, ctx.shape2, ctx.reps = a.shape, a2.shape, reps
        return np.tile(a2, reps)

    @staticmethod
    def backward(ctx, grad):
        split = []
        for r, s in zip(ctx.reps, ctx.shape2):
            split += [r, s]
        g = grad.reshape(split).sum(axis=tuple(range(0, 2 * len(ctx.reps), 2)))
        return g.reshape(ctx.shape)


class RepeatInterleave(ArrayFunction):
    """Each element repeated ``repeats`` times along ``axis`` (``np.repeat``); backward sums
    each run of copies (``np.add.reduceat``)."""

    @staticmethod
    def forward(ctx, a, repeats, axis):
        ctx.repeats, ctx.axis, ctx.size = repeats, axis, a.shape[axis]
        return np.repeat(a, repeats, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        reps = np.broadcast_to(np.asarray(ctx.repeats), (ctx.size,))
        out = np.zeros(grad.shape[:ctx.axis] + (ctx.size,) + grad.shape[ctx.axis + 1:], grad.dtype)
        keep = reps > 0
        if keep.any():
            starts = np.concatenate([[0], np.cumsum(reps)[:-1]])[keep]
            sums = np.add.reduceat(grad, starts, axis=ctx.axis)
            idx = [slice(None)] * grad.ndim
            idx[ctx.axis] = np.flatnonzero(keep)
            out[tuple(idx)] = sums
        return out


class Flip(ArrayFunction):
    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return np.flip(a, dims)

    @staticmethod
    def backward(ctx, grad):
        return np.flip(grad, ctx.dims)


class Roll(ArrayFunction):
    @staticmethod
    def forward(ctx, a, shifts, dims):
        ctx.shifts, ctx.dims, ctx.shape = shifts, dims, a.shape
        if dims is None:
            return np.roll(a.reshape(-1), shifts).reshape(a.shape)
        return np.roll(a, shifts, dims)

    @staticmethod
    def backward(ctx, grad):
        back = tuple(-s for s in ctx.shifts) if isinstance(ctx.shifts, tuple) else -ctx.shifts
        if ctx.dims is None:
            return np.roll(grad.reshape(-1), back).reshape(ctx.shape)
        return np.roll(grad, back, ctx.dims)


class GetItem(ArrayFunction):
    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.dtype, ctx.index = a.shape, a.dtype, index
        try:
            return np.asarray(a[index])
        except IndexError as exc:
            raise IndexError(f"{exc} (indexing a tensor of shape {tuple(a.shape)})") from None

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        if _is_basic_index(ctx.index):
            out[ctx.index] = grad           # a view: no index repeats, plain assignment
        else:
            np.add.at(out, ctx.index, grad)  # integer arrays may repeat an index: accumulate
        return out


def _is_basic_index(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


class IndexSelect(ArrayFunction):
    """Whole slices of ``a`` along ``axis`` at ``index`` (``np.take``)."""

    @staticmethod
    def forward(ctx, a, index=None, axis=0):
        ctx.shape, ctx.index, ctx.axis = a.shape, index, axis
        return np.take(a, index, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.shape, grad.dtype)
        np.add.at(out, (slice(None),) * ctx.axis + (ctx.index,), grad)
        return out


def _grids(shape, axis, index):
    """The full index tuple that puts ``index`` (of ``shape``) on ``axis``."""
    grids = list(np.indices(shape, sparse=True))
    grids[axis] = index
    return tuple(grids)


class Gather(ArrayFunction):
    """``out[i][j] = a[index[i][j]][j]`` (along ``axis`` = 0): PyTorch's gather, where
    ``index`` may be smaller than ``a`` in the other dimensions."""

    @staticmethod
    def forward(ctx, a, index=None, axis=0):
        ctx.shape, ctx.index, ctx.axis = a.shape, index, axis
        return a[_grids(index.shape, axis, index)]

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.shape, grad.dtype)
        np.add.at(out, _grids(ctx.index.shape, ctx.axis, ctx.index), grad)
        return out


class Scatter(ArrayFunction):
    """``a`` with ``src`` written at ``index`` along ``axis`` (``reduce``: None writes, "add"
    adds, "multiply" multiplies). The written places pass no gradient to ``a`` (except when
    adding); ``src`` gets the gradient of where it went (gather)."""

    @staticmethod
    def forward(ctx, a, src, index=None, axis=0, reduce=None):
        where = _grids(index.shape, axis, index)
        values = src[tuple(slice(0, n) for n in index.shape)] if np.ndim(src) else np.broadcast_to(src, index.shape)
        out = np.array(a, copy=True)
        if reduce is None:
            out[where] = values
        elif reduce == "add":
            np.add.at(out, where, values)
        else:
            np.multiply.at(out, where, values)
        ctx.where, ctx.reduce, ctx.src_shape = where, reduce, np.shape(src)
        return out

    @staticmethod
    def backward(ctx, grad):
        ga = gs = None
        if ctx.reduce == "multiply":
            raise RuntimeError("the derivative of scatter with reduce='multiply' is not implemented (as in "
                               "PyTorch); use scatter_reduce(..., 'prod')")
        if ctx.needs_input_grad[0]:
            ga = np.array(grad, copy=True)
            if ctx.reduce is None:
                ga[ctx.where] = 0
        if ctx.needs_input_grad[1]:
            picked = grad[ctx.where]
            if len(ctx.src_shape) == 0:
                gs = picked.sum()
            else:
                gs = np.zeros(ctx.src_shape, grad.dtype)
                gs[tuple(slice(0, n) for n in picked.shape)] = picked
        return ga, gs


class ScatterReduce(ArrayFunction):
    """``scatter_reduce``: each place of ``a`` at ``index`` reduced with the ``src`` values
    sent to it (sum, prod, mean, amax, amin), with or without ``a``'s own value."""

    @staticmethod
    def forward(ctx, a, src, index=None, axis=0, reduce="sum", include_self=True):
        where = _grids(index.shape, axis, index)
        values = src[tuple(slice(0, n) for n in index.shape)]
        out = np.array(a, copy=True)
        hit = np.zeros(a.shape, bool)
        hit[where] = True
        counts = np.zeros(a.shape, np.int64)
        np.add.at(counts, where, 1)
        if not include_self:
            identity = {"sum": 0, "mean": 0, "prod": 1,
                        "amax": -np.inf if a.dtype.kind == "f" else np.iinfo(a.dtype).min,
                        "amin": np.inf if a.dtype.kind == "f" else np.iinfo(a.dtype).max}[reduce]
            out[hit] = identity
        ufunc = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}[reduce]
        ufunc.at(out, where, values)
        if reduce == "mean":
            n = counts + (1 if include_self else 0)
            out = np.where(hit, out / np.maximum(n, 1), out)
            if a.dtype.kind in "iu":
                out = np.floor(out)
            out = out.astype(a.dtype)
            ctx.n = n
        ctx.where, ctx.reduce, ctx.include_self, ctx.hit = where, reduce, include_self, hit
        ctx.src_shape, ctx.index_shape = src.shape, index.shape
        ctx.save_for_backward(a, src, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, src, out = ctx.saved_tensors
        where, reduce, hit = ctx.where, ctx.reduce, ctx.hit
        values = src[tuple(slice(0, n) for n in ctx.index_shape)]
        if reduce == "sum":
            ga = np.where(hit & (not ctx.include_self), 0, grad)
            gv = grad[where]
        elif reduce == "mean":
            ga = np.where(hit, 0 if not ctx.include_self else grad / ctx.n, grad)
            gv = (grad / ctx.n)[where]
        elif reduce in ("amax", "amin"):
            # the gradient is shared equally by every value that equals the result (PyTorch's rule)
            self_hit = (a == out) & (ctx.include_self | ~hit)
            ties = self_hit.astype(grad.dtype)
            src_hit = values == out[where]
            np.add.at(ties, where, src_hit)
            share = grad / np.maximum(ties, 1)
            ga = np.where(self_hit, share, 0)
            gv = np.where(src_hit, share[where], 0)
        else:
            if (a == 0).any() or (values == 0).any():
                raise RuntimeError("scatter_reduce(reduce='prod') backward with zeros in the input is not "
                                   "supported in fastnn")
            ga = np.where(hit & (not ctx.include_self), 0, grad * out / a)
            gv = (grad * out)[where] / values
        gs = np.zeros(ctx.src_shape, grad.dtype)
        gs[tuple(slice(0, n) for n in gv.shape)] = gv
        return ga, gs


class IndexAdd(ArrayFunction):
    """``a`` with ``alpha * source`` added into the slices at ``index`` along ``axis``."""

    @staticmethod
    def forward(ctx, a, source, index=None, axis=0, alpha=1):
        out = np.array(a, copy=True)
        np.add.at(out, (slice(None),) * axis + (index,), source * alpha if alpha != 1 else source)
        ctx.index, ctx.axis, ctx.alpha = index, axis, alpha
        return out

    @staticmethod
    def backward(ctx, grad):
        gs = np.take(grad, ctx.index, axis=ctx.axis)
        return grad, gs * ctx.alpha if ctx.alpha != 1 else gs


class IndexCopy(ArrayFunction):
    @staticmethod
    def forward(ctx, a, source, index=None, axis=0):
        out = np.array(a, copy=True)
        out[(slice(None),) * axis + (index,)] = source
        ctx.index, ctx.axis = index, axis
        return out

    @staticmethod
    def backward(ctx, grad):
        ga = np.array(grad, copy=True)
        ga[(slice(None),) * ctx.axis + (ctx.index,)] = 0
        return ga, np.take(grad, ctx.index, axis=ctx.axis)


class MaskedFill(ArrayFunction):
    """``a`` with ``value`` where ``mask`` (broadcast to ``a``); a tensor value gets the sum of
    the gradient of the places it filled."""

    @staticmethod
    def forward(ctx, a, value, mask=None):
        ctx.mask, ctx.value_shape = mask, np.shape(value)
        return np.where(mask, np.asarray(value, a.dtype), a)

    @staticmethod
    def backward(ctx, grad):
        ga = np.where(ctx.mask, 0, grad)
        gv = np.where(ctx.mask, grad, 0).sum().reshape(ctx.value_shape) if ctx.needs_input_grad[1] else None
        return ga, gv


class MaskedSelect(ArrayFunction):
    @staticmethod
    def forward(ctx, a, mask=None):
        shape = np.broadcast_shapes(a.shape, mask.shape)
        ctx.shape, ctx.a_shape, ctx.mask = shape, a.shape, np.broadcast_to(mask, shape)
        return np.broadcast_to(a, shape)[ctx.mask]

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.shape, grad.dtype)
        out[ctx.mask] = grad
        return unbroadcast(out, ctx.a_shape)


class MaskedScatter(ArrayFunction):
    """``a`` with the first elements of ``source`` written, in order, where ``mask``."""

    @staticmethod
    def forward(ctx, a, source, mask=None):
        mask = np.broadcast_to(mask, a.shape)
        n = int(mask.sum())
        if source.size < n:
            raise RuntimeError(f"masked_scatter: expected source to have at least {n} elements (the number of "
                               f"True values in mask), got {source.size}")
        out = np.array(a, copy=True)
        out[mask] = source.reshape(-1)[:n]
        ctx.mask, ctx.n, ctx.source_shape = mask, n, source.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        gs = np.zeros(int(np.prod(ctx.source_shape)), grad.dtype)
        gs[:ctx.n] = grad[ctx.mask]
        return np.where(ctx.mask, 0, grad), gs.reshape(ctx.source_shape)


class Take(ArrayFunction):
    """Elements of the flattened ``a`` at ``index`` (the result has ``index``'s shape)."""

    @staticmethod
    def forward(ctx, a, index=None):
        ctx.shape, ctx.index = a.shape, index
        return a.reshape(-1)[index]

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(int(np.prod(ctx.shape)), grad.dtype)
        np.add.at(out, ctx.index, grad)
        return out.reshape(ctx.shape)


class Put(ArrayFunction):
    """A copy of ``a`` with ``source`` written (or added) at flat positions ``index``."""

    @staticmethod
    def forward(ctx, a, source, index=None, accumulate=False):
        out = np.array(a, copy=True, order="C")      # C order: reshape(-1) is then a view to write through
        flat = out.reshape(-1)
        if accumulate:
            np.add.at(flat, index.reshape(-1), source.reshape(-1))
        else:
            flat[index.reshape(-1)] = source.reshape(-1)
        ctx.index, ctx.accumulate, ctx.source_shape = index, accumulate, source.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        flat = grad.reshape(-1)
        ga = grad
        if not ctx.accumulate:
            ga = np.array(grad, copy=True, order="C")
            ga.reshape(-1)[ctx.index.reshape(-1)] = 0
        return ga, flat[ctx.index.reshape(-1)].reshape(ctx.source_shape)


class IndexPut(ArrayFunction):
    """A copy of ``a`` with ``values`` written (or added, ``accumulate``) at ``a[index]``."""

    @staticmethod
    def forward(ctx, a, values, index=None, accumulate=False):
        out = np.array(a, copy=True)
        target_shape = out[index].shape
        if accumulate:
            np.add.at(out, index, np.broadcast_to(values, target_shape))
        else:
            out[index] = values
        ctx.index, ctx.accumulate, ctx.values_shape = index, accumulate, np.shape(values)
        return out

    @staticmethod
    def backward(ctx, grad):
        ga = grad
        if not ctx.accumulate:
            ga = np.array(grad, copy=True)
            ga[ctx.index] = 0
        return ga, unbroadcast(np.asarray(grad[ctx.index]), ctx.values_shape)


class Embed(ArrayFunction):
    """A copy of ``a`` with ``src`` written into one part of it -- a slice, a selected index,
    a diagonal (``select_scatter``, ``slice_scatter``, ``diagonal_scatter``). ``part(array)``
    returns that part of ``array`` as a writable view."""

    @staticmethod
    def forward(ctx, a, src, part=None):
        out = np.array(a, copy=True)
        view, index = part(out)
        view[index] = src
        ctx.part = part
        return out

    @staticmethod
    def backward(ctx, grad):
        ga = np.array(grad, copy=True)
        view, index = ctx.part(ga)
        gsrc = np.array(view[index], copy=True)
        view[index] = 0
        return ga, gsrc


class Cat(ArrayFunction):
    @staticmethod
    def forward(ctx, *arrays, dim=0):
        ctx.sizes = [a.shape[dim] for a in arrays]
        ctx.dim = dim
        return np.concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.split(grad, np.cumsum(ctx.sizes)[:-1], axis=ctx.dim))


class Stack(ArrayFunction):
    @staticmethod
    def forward(ctx, *arrays, dim=0):
        ctx.dim = dim
        ctx.count = len(arrays)
        return np.stack(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.take(grad, i, axis=ctx.dim) for i in range(ctx.count))


class Where(ArrayFunction):
    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.save_for_backward(condition)
        ctx.shapes = np.shape(a), np.shape(b)
        return np.where(condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        (condition,) = ctx.saved_tensors
        sa, sb = ctx.shapes
        return None, unbroadcast(np.where(condition, grad, 0), sa), unbroadcast(np.where(condition, 0, grad), sb)


# ------------------------------------------------------------------ argument checks

def _dim(self, dim, fn=""):
    return wrap_dim(dim, self.ndim)


def _same_ndim_index(self, index, dim, fn):
    idx = _index_array(index, "index", fn)
    if idx.ndim != max(self.ndim, 0) and not (self.ndim == 0 and idx.ndim <= 1):
        raise RuntimeError(f"{fn}(): Index tensor must have the same number of dimensions as input tensor "
                           f"(index shape {tuple(idx.shape)}, input shape {tuple(self.shape)})")
    d = wrap_dim(dim, self.ndim)
    for i, (n, m) in enumerate(zip(idx.shape, self.shape)):
        if i != d and n > m:
            raise RuntimeError(f"{fn}(): Size does not match at dimension {i} expected index {list(idx.shape)} to be "
                               f"smaller than self {list(self.shape)} apart from dimension {d}")
    _check_bounds(idx, self.shape[d] if self.ndim else 1, d, fn)
    return idx % (self.shape[d] if self.ndim else 1), d


def _value_tensor(value, like, fn):
    Tensor = _tensor()
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"{fn} only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.ndim} dimension(s).")
        return value.to(like.dtype) if value.dtype != like.dtype else value
    if isinstance(value, numbers.Number):
        return np.asarray(value).astype(like.data.dtype)[()]
    raise TypeError(f"{fn}(): value must be a number or a 0-d tensor, got {type(value).__name__}")


def _mask_array(mask, self, fn):
    Tensor = _tensor()
    m = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        if m.dtype == np.uint8:
            m = m.astype(bool)
        else:
            raise RuntimeError(f"{fn} expected a mask of dtype bool, got {m.dtype}")
    return m


# ------------------------------------------------------------------ the Tensor methods

class ShapeMethods:
    """The shape and indexing methods of ``Tensor`` (mixed into it)."""

    # views
    def reshape(self, *shape, **kwargs):
        shape = _sizes(_varargs(shape, kwargs, "shape", "reshape"), "reshape")
        if sum(s == -1 for s in shape) > 1:
            raise ShapeError("only one dimension can be inferred")
        if any(s < -1 for s in shape):
            raise ShapeError(f"invalid shape dimension {min(shape)}")
        return Reshape.apply(self, shape=shape)

    def view(self, *shape, **kwargs):
        """``reshape`` (see the module docstring: a copy where PyTorch's view would raise).
        ``view(dtype)`` reinterprets the bytes, as PyTorch's."""
        if len(shape) == 1 and not isinstance(shape[0], (tuple, list, numbers.Integral)) \
                and not hasattr(shape[0], "__iter__"):
            dt = np.dtype(shape[0])
            return _tensor()._wrap(self.data.view(dt))
        return self.reshape(*_varargs(shape, kwargs, "size", "view"))

    def view_as(self, other):
        return self.reshape(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        if self.ndim == 0:
            return self.reshape(1)
        start, end = wrap_dim(start_dim, self.ndim), wrap_dim(end_dim, self.ndim)
        if start > end:
            raise ShapeError("flatten() has invalid args: start_dim cannot come after end_dim")
        if start == end:
            return self
        return self.reshape(*self.shape[:start], -1, *self.shape[end + 1:])

    def ravel(self):
        return self.reshape(-1)

    def unflatten(self, dim, sizes):
        d = wrap_dim(dim, self.ndim)
        sizes = _sizes((sizes,), "unflatten")
        known = int(np.prod([s for s in sizes if s != -1]))
        if -1 not in sizes and known != self.shape[d] or -1 in sizes and (known == 0 or self.shape[d] % known):
            raise ShapeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
                             f"({self.shape[d]}) in the input tensor")
        return self.reshape(*self.shape[:d], *sizes, *self.shape[d + 1:])

    def permute(self, *dims, **kwargs):
        dims = _sizes(_varargs(dims, kwargs, "dims", "permute"), "permute")
        if len(dims) != self.ndim:
            raise ShapeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the length "
                             f"of the desired ordering of dimensions i.e. input.dim() = {self.ndim} is not equal to "
                             f"len(dims) = {len(dims)}")
        return Permute.apply(self, dims=dims)

    def transpose(self, dim0: int, dim1: int):
        if self.ndim == 0:
            wrap_dim(dim0, 0), wrap_dim(dim1, 0)
            return self
        dims = list(range(self.ndim))
        d0, d1 = wrap_dim(dim0, self.ndim), wrap_dim(dim1, self.ndim)
        dims[d0], dims[d1] = dims[d1], dims[d0]
        return Permute.apply(self, dims=tuple(dims))

    def swapaxes(self, axis0: int, axis1: int):
        return self.transpose(axis0, axis1)

    def swapdims(self, dim0: int, dim1: int):
        return self.transpose(dim0, dim1)

    def t(self):
        """The transpose of a matrix (a 0-d or 1-D tensor is returned as it is)."""
        if self.ndim > 2:
            raise ShapeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self.transpose(0, 1) if self.ndim == 2 else self

    @property
    def T(self):
        return Permute.apply(self, dims=tuple(reversed(range(self.ndim)))) if self.ndim > 1 else self

    @property
    def mT(self):
        if self.ndim < 2:
            raise ShapeError("tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor."
                             if self.ndim == 1 else "tensor.mT is only supported on matrices or batches of matrices. "
                                                    "Got 0-D tensor.")
        return self.transpose(-2, -1)

    H = property(lambda self: self.t() if self.ndim == 2 else self.T)
    mH = mT

    def adjoint(self):
        return self.mT

    def movedim(self, source, destination):
        src = (source,) if isinstance(source, numbers.Integral) else tuple(source)
        dst = (destination,) if isinstance(destination, numbers.Integral) else tuple(destination)
        if len(src) != len(dst):
            raise ShapeError(f"movedim: Invalid source or destination dims: source ({list(src)} dims) should contain "
                             f"the same number of dims as destination ({list(dst)} dims)")
        src = [wrap_dim(s, self.ndim) for s in src]
        dst = [wrap_dim(d, self.ndim) for d in dst]
        if len(set(src)) != len(src) or len(set(dst)) != len(dst):
            raise ShapeError(f"movedim: repeated dim in `source` ({list(src)}) or `destination` ({list(dst)})")
        if self.ndim == 0:
            return self
        order = [d for d in range(self.ndim) if d not in src]
        for d, s in sorted(zip(dst, src)):
            order.insert(d, s)
        return Permute.apply(self, dims=tuple(order))

    moveaxis = movedim

    def unsqueeze(self, dim: int):
        d = wrap_dim(dim, self.ndim + 1)
        return self.reshape(*self.shape[:d], 1, *self.shape[d:])

    def squeeze(self, dim=None):
        """Remove dimensions of size 1 (all of them, or those of ``dim``: an int or a tuple;
        a named dimension of another size is left, as in PyTorch)."""
        if dim is None:
            return self.reshape(*[s for s in self.shape if s != 1])
        dims = wrap_dims(dim, self.ndim)
        if self.ndim == 0:
            return self
        return self.reshape(*[s for i, s in enumerate(self.shape) if not (i in dims and s == 1)])

    def expand(self, *sizes, **kwargs):
        """A broadcast view with ``sizes`` (-1 keeps a dimension; new leading dimensions
        may be added). No memory is copied."""
        sizes = _sizes(_varargs(sizes, kwargs, "size", "expand"), "expand")
        if len(sizes) < self.ndim:
            raise ShapeError(f"expand(torch.FloatTensor{{{list(self.shape)}}}, size={list(sizes)}): the number of "
                             f"sizes provided ({len(sizes)}) must be greater or equal to the number of dimensions in "
                             f"the tensor ({self.ndim})")
        lead = len(sizes) - self.ndim
        target = []
        for i, s in enumerate(sizes):
            if i < lead:
                if s < 0:
                    raise ShapeError(f"The expanded size of the tensor ({s}) isn't allowed in a leading, "
                                     f"non-existing dimension {i}")
                target.append(s)
                continue
            have = self.shape[i - lead]
            if s == -1:
                s = have
            if have != 1 and s != have:
                raise ShapeError(f"The expanded size of the tensor ({s}) must match the existing size ({have}) at "
                                 f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                                 f"{list(self.shape)}")
            target.append(s)
        target = tuple(target)
        return self if target == self.shape else Expand.apply(self, shape=target)

    def expand_as(self, other):
        return self.expand(other.shape)

    def broadcast_to(self, size):
        return self.expand(*_sizes((size,), "broadcast_to"))

    # copies that move elements
    def repeat(self, *sizes, **kwargs):
        sizes = _sizes(_varargs(sizes, kwargs, "repeats", "repeat"), "repeat")
        if len(sizes) < self.ndim:
            raise ShapeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of "
                             "tensor")
        if any(s < 0 for s in sizes):
            raise ShapeError(f"Trying to create tensor with negative dimension {min(sizes)}: {list(sizes)}")
        return Repeat.apply(self, reps=sizes)

    def tile(self, *dims, **kwargs):
        dims = _sizes(_varargs(dims, kwargs, "dims", "tile"), "tile")
        dims = (1,) * (self.ndim - len(dims)) + dims
        return self.repeat(*dims)

    def repeat_interleave(self, repeats=None, dim=None, *, output_size=None):
        """Each element (each slice along ``dim``) repeated ``repeats`` times: an int, or a
        tensor with one count per element. ``repeat_interleave(counts)`` of an integer tensor
        alone repeats the indices 0, 1, ... ``counts[i]`` times."""
        Tensor = _tensor()
        if repeats is None:
            counts = _index_array(self, "repeats", "repeat_interleave", ndim_max=1)
            return Tensor._wrap(np.repeat(np.arange(counts.size, dtype=np.int64), counts))
        x = self.reshape(-1) if dim is None else self
        d = 0 if dim is None else wrap_dim(dim, self.ndim)
        if x.ndim == 0:
            x = x.reshape(1)
        if isinstance(repeats, Tensor) or isinstance(repeats, (list, tuple, np.ndarray)):
            reps = _index_array(repeats, "repeats", "repeat_interleave", ndim_max=1)
            if reps.ndim == 1 and reps.size not in (1, x.shape[d]):
                raise RuntimeError(f"repeat_interleave: repeats must have the same size as input along dim, but got "
                                   f"repeats.size(0) = {reps.size} and input.size({d}) = {x.shape[d]}")
            reps = reps.reshape(-1) if reps.size != 1 else int(reps.reshape(-1)[0])
        else:
            reps = int(repeats)
        if np.any(np.asarray(reps) < 0):
            raise RuntimeError("repeat_interleave: repeats can not be negative")
        return RepeatInterleave.apply(x, repeats=reps, axis=d)

    def flip(self, *dims, **kwargs):
        dims = _sizes(_varargs(dims, kwargs, "dims", "flip"), "flip")
        axes = [wrap_dim(d, self.ndim) for d in dims]
        if len(set(axes)) != len(axes):
            raise RuntimeError(f"dim {axes[0]} appears multiple times in the list of dims")
        return Flip.apply(self, dims=tuple(axes)) if axes and self.ndim else self

    def fliplr(self):
        if self.ndim < 2:
            raise RuntimeError("Input must be >= 2-d.")
        return self.flip(1)

    def flipud(self):
        if self.ndim < 1:
            raise RuntimeError("Input must be >= 1-d.")
        return self.flip(0)

    def roll(self, shifts, dims=None):
        if dims is None:
            if not isinstance(shifts, numbers.Integral):
                shifts = _sizes((shifts,), "roll")
                if len(shifts) != 1:
                    raise RuntimeError(f"roll: shifts and dims must align. shifts: {len(shifts)}, dims: 0")
                shifts = shifts[0]
            return Roll.apply(self, shifts=int(shifts), dims=None)
        shifts = _sizes((shifts,), "roll") if not isinstance(shifts, numbers.Integral) else (int(shifts),)
        dims = _sizes((dims,), "roll") if not isinstance(dims, numbers.Integral) else (int(dims),)
        if len(shifts) != len(dims):
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
        if self.ndim == 0:
            raise IndexError(f"Dimension specified as {dims[0]} but tensor has no dimensions")
        dims = tuple(wrap_dim(d, self.ndim) for d in dims)
        return Roll.apply(self, shifts=shifts, dims=dims)

    def rot90(self, k=1, dims=(0, 1)):
        if len(dims) != 2:
            raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
        if self.ndim < 2:
            raise RuntimeError(f"expected total dims >= 2, but got total dims = {self.ndim}")
        d0, d1 = wrap_dim(dims[0], self.ndim), wrap_dim(dims[1], self.ndim)
        if d0 == d1:
            raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
        k %= 4
        if k == 1:
            return self.flip(d1).transpose(d0, d1)
        if k == 2:
            return self.flip(d0, d1)
        if k == 3:
            return self.flip(d0).transpose(d0, d1)
        return self

    # splitting
    def narrow(self, dim, start, length):
        d = wrap_dim(dim, self.ndim)
        if self.ndim == 0:
            raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
        size = self.shape[d]
        start = int(start)
        if not -size <= start <= size:
            raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], but got {start})")
        if start < 0:
            start += size
        if length < 0 or start + length > size:
            raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
        return self[(slice(None),) * d + (slice(start, start + length),)]

    def select(self, dim, index):
        d = wrap_dim(dim, self.ndim)
        if self.ndim == 0:
            raise IndexError("select() cannot be applied to a 0-dim tensor.")
        size = self.shape[d]
        if not -size <= index < size:
            raise IndexError(f"select(): index {index} out of range for tensor of size {list(self.shape)} at "
                             f"dimension {dim}")
        return self[(slice(None),) * d + (int(index),)]

    def unbind(self, dim=0):
        d = wrap_dim(dim, self.ndim)
        if self.ndim == 0:
            raise IndexError("Dimension specified as 0 but tensor has no dimensions")
        return tuple(self.select(d, i) for i in range(self.shape[d]))

    def split(self, split_size=None, dim=0, *, split_size_or_sections=None):
        """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or pieces of the
        listed sizes (which must add up to the size of ``dim``). (``split_size`` is the
        method's argument name in PyTorch, ``split_size_or_sections`` the function's.)"""
        if split_size_or_sections is None:
            if split_size is None:
                raise TypeError("split() missing 1 required positional argument: 'split_size'")
            split_size_or_sections = split_size
        d = wrap_dim(dim, self.ndim)
        if self.ndim == 0:
            raise RuntimeError("split expects at least a 1-dimensional tensor")
        size = self.shape[d]
        if isinstance(split_size_or_sections, numbers.Integral):
            step = int(split_size_or_sections)
            if step < 0 or step == 0 and size:
                raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of "
                                   f"{size}" if step == 0 else f"split expects split_size be non-negative, but got "
                                                              f"split_size={step}")
            bounds = list(range(0, size, step)) + [size] if size else [0, 0]
        else:
            sections = _sizes((split_size_or_sections,), "split")
            if sum(sections) != size or any(s < 0 for s in sections):
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's "
                                   f"size at dimension {d}), but got split_sizes={list(sections)}")
            bounds = [0] + list(np.cumsum(sections))
        return tuple(self[(slice(None),) * d + (slice(int(a), int(b)),)] for a, b in zip(bounds[:-1], bounds[1:]))

    def chunk(self, chunks, dim=0):
        if chunks <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        d = wrap_dim(dim, self.ndim)
        size = self.shape[d] if self.ndim else 1
        step = max(-(-size // chunks), 1)
        return self.split(step, d)

    def tensor_split(self, indices_or_sections, dim=0):
        Tensor = _tensor()
        d = wrap_dim(dim, self.ndim)
        size = self.shape[d]
        sec = indices_or_sections
        if isinstance(sec, Tensor):
            sec = sec.tolist()
        if isinstance(sec, numbers.Integral):
            if sec <= 0:
                raise RuntimeError(f"number of sections must be larger than 0, got {sec}")
            base, extra = divmod(size, sec)
            sizes = [base + 1] * extra + [base] * (sec - extra)
            bounds = [0] + list(np.cumsum(sizes))
        else:
            idx = [min(max(i if i >= 0 else i + size, 0), size) for i in sec]
            bounds = [0] + idx + [size]
        return tuple(self[(slice(None),) * d + (slice(int(a), max(int(a), int(b))),)]
                     for a, b in zip(bounds[:-1], bounds[1:]))

    def hsplit(self, sections):
        return self.tensor_split(sections, 1 if self.ndim > 1 else 0)

    def vsplit(self, sections):
        if self.ndim < 2:
            raise RuntimeError(f"torch.vsplit requires a tensor with at least 2 dimension, but got a tensor with "
                               f"{self.ndim} dimensions!")
        return self.tensor_split(sections, 0)

    def dsplit(self, sections):
        if self.ndim < 3:
            raise RuntimeError(f"torch.dsplit requires a tensor with at least 3 dimension, but got a tensor with "
                               f"{self.ndim} dimensions!")
        return self.tensor_split(sections, 2)

    # indexing by tensors
    def __getitem__(self, index):
        Tensor = _tensor()
        if isinstance(index, Tensor):
            index = index.data
        elif isinstance(index, tuple):
            index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
        elif isinstance(index, list):
            index = np.asarray([i.item() if isinstance(i, Tensor) else i for i in index])
        return GetItem.apply(self, index=index)

    def index_select(self, dim, index):
        """Whole slices along ``dim`` at the positions of the 1-D integer ``index``."""
        d = wrap_dim(dim, self.ndim)
        idx = _index_array(index, "index", "index_select", ndim_max=1)
        size = self.shape[d] if self.ndim else 1
        _check_bounds(idx, size, d, "index_select")
        if self.ndim == 0:
            if idx.size != 1:
                raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {idx.size} value(s)")
            return IndexSelect.apply(self.reshape(1), index=idx.reshape(-1) % 1, axis=0).reshape(())
        return IndexSelect.apply(self, index=idx.reshape(-1) % size, axis=d)

    def gather(self, dim, index, *, sparse_grad=False):
        """``out[i][j][k] = self[index[i][j][k]][j][k]`` for dim 0 (and so on): pick along
        ``dim`` with an index tensor of the same number of dimensions."""
        idx, d = _same_ndim_index(self, index, dim, "gather")
        if self.ndim == 0:
            return Gather.apply(self.reshape(1), index=idx.reshape(-1), axis=0).reshape(idx.shape)
        return Gather.apply(self, index=idx, axis=d)

    def take_along_dim(self, indices, dim=None):
        Tensor = _tensor()
        idx = _index_array(indices, "indices", "take_along_dim")
        if dim is None:
            return self.reshape(-1).take_along_dim(Tensor._wrap(idx.reshape(-1)), 0)
        d = wrap_dim(dim, self.ndim)
        if idx.ndim != self.ndim:
            raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same number of "
                               f"dimensions, but got {self.ndim} dimensions for input, and {idx.ndim} dimensions "
                               f"for indices")
        shape_self = list(self.shape)
        shape_idx = list(idx.shape)
        shape_self[d] = shape_idx[d] = 1
        b = broadcast_shapes(tuple(shape_self), tuple(shape_idx))
        x = self.expand(*[s if i != d else self.shape[d] for i, s in enumerate(b)])
        idx = np.broadcast_to(idx, tuple(s if i != d else idx.shape[d] for i, s in enumerate(b)))
        _check_bounds(idx, self.shape[d], d, "take_along_dim")
        return Gather.apply(x, index=idx % self.shape[d], axis=d)

    def take(self, index):
        idx = _index_array(index, "index", "take")
        _check_bounds(idx, self.numel(), 0, "take")
        return Take.apply(self, index=idx % max(self.numel(), 1))

    def scatter(self, dim, index, src=None, value=None, *, reduce=None):
        """A copy with ``src`` (a tensor, or ``value``, a number) written at ``index`` along
        ``dim``: ``out[index[i][j]][j] = src[i][j]`` for dim 0. ``reduce`` may be 'add' or
        'multiply'."""
        Tensor = _tensor()
        if src is None and value is None:
            raise TypeError("scatter() needs src (a tensor) or value (a number)")
        if src is not None and value is not None:
            raise TypeError("scatter(): give src or value, not both")
        if src is not None and not isinstance(src, Tensor):
            src, value = None, src
        if reduce not in (None, "add", "multiply"):
            raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
        idx, d = _same_ndim_index(self, index, dim, "scatter")
        if src is not None:
            if src.ndim != idx.ndim and not (src.ndim == 0 and idx.ndim == 0):
                raise RuntimeError(f"scatter(): Index tensor must have the same number of dimensions as src tensor "
                                   f"(index shape {tuple(idx.shape)}, src shape {tuple(src.shape)})")
            if any(n > m for n, m in zip(idx.shape, src.shape)):
                raise RuntimeError(f"scatter(): Expected index {list(idx.shape)} to be smaller than self "
                                   f"{list(self.shape)} apart from dimension {d} and to be smaller size than src "
                                   f"{list(src.shape)}")
            src = src.to(self.dtype) if src.dtype != self.dtype else src
        else:
            src = np.asarray(value).astype(self.data.dtype)[()]
        if self.ndim == 0:
            out = self.reshape(1).scatter(0, Tensor._wrap(idx.reshape(-1)), src.reshape(1) if isinstance(src, Tensor)
                                          else src, reduce=reduce)
            return out.reshape(())
        return Scatter.apply(self, src, index=idx, axis=d, reduce=reduce)

    def scatter_add(self, dim, index, src):
        return self.scatter(dim, index, src, reduce="add")

    def scatter_reduce(self, dim, index, src, reduce, *, include_self=True):
        """``self`` with each place at ``index`` reduced ('sum', 'prod', 'mean', 'amax', 'amin')
        with the ``src`` values sent to it (and its own value when ``include_self``)."""
        if reduce not in ("sum", "prod", "mean", "amax", "amin"):
            raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
        idx, d = _same_ndim_index(self, index, dim, "scatter_reduce")
        src = src.to(self.dtype) if src.dtype != self.dtype else src
        return ScatterReduce.apply(self, src, index=idx, axis=d, reduce=reduce, include_self=include_self)

    def index_add(self, dim, index, source, *, alpha=1):
        d = wrap_dim(dim, self.ndim)
        idx = _index_array(index, "index", "index_add", ndim_max=1).reshape(-1)
        _check_bounds(idx, self.shape[d], d, "index_add")
        expect = self.shape[:d] + (idx.size,) + self.shape[d + 1:]
        if tuple(source.shape) != expect:
            raise RuntimeError(f"index_add_(): source of shape {list(source.shape)} does not match the expected "
                               f"shape {list(expect)} (self with dim {d} of the index's length)")
        source = source.to(self.dtype) if source.dtype != self.dtype else source
        return IndexAdd.apply(self, source, index=idx % self.shape[d], axis=d, alpha=alpha)

    def index_copy(self, dim, index, source):
        d = wrap_dim(dim, self.ndim)
        idx = _index_array(index, "index", "index_copy", ndim_max=1).reshape(-1)
        _check_bounds(idx, self.shape[d], d, "index_copy")
        expect = self.shape[:d] + (idx.size,) + self.shape[d + 1:]
        if tuple(source.shape) != expect:
            raise RuntimeError(f"index_copy_(): source of shape {list(source.shape)} does not match the expected "
                               f"shape {list(expect)}")
        source = source.to(self.dtype) if source.dtype != self.dtype else source
        return IndexCopy.apply(self, source, index=idx % self.shape[d], axis=d)

    def index_fill(self, dim, index, value):
        Tensor = _tensor()
        d = wrap_dim(dim, self.ndim)
        idx = _index_array(index, "index", "index_fill", ndim_max=1).reshape(-1)
        _check_bounds(idx, self.shape[d], d, "index_fill")
        mask = np.zeros(self.shape, bool)
        mask[(slice(None),) * d + (idx,)] = True
        return self.masked_fill(Tensor._wrap(mask), value)

    def masked_fill(self, mask, value):
        """A copy with ``value`` (a number or a 0-d tensor) where the bool ``mask`` (broadcast
        to this tensor's shape) is True."""
        m = _mask_array(mask, self, "masked_fill")
        try:
            shape = np.broadcast_shapes(m.shape, self.shape)
        except ValueError:
            shape = None
        if shape != self.shape:
            raise RuntimeError(f"The size of the mask ({list(m.shape)}) must match the size of tensor "
                               f"({list(self.shape)}) (be broadcastable to it)")
        return MaskedFill.apply(self, _value_tensor(value, self, "masked_fill"), mask=m)

    def masked_select(self, mask):
        m = _mask_array(mask, self, "masked_select")
        broadcast_shapes(tuple(m.shape), tuple(self.shape))
        return MaskedSelect.apply(self, mask=m)

    def masked_scatter(self, mask, source):
        m = _mask_array(mask, self, "masked_scatter")
        if np.broadcast_shapes(m.shape, self.shape) != self.shape:
            raise RuntimeError(f"masked_scatter: the mask of shape {list(m.shape)} must be broadcastable to self "
                               f"{list(self.shape)}")
        source = source.to(self.dtype) if source.dtype != self.dtype else source
        return MaskedScatter.apply(self, source, mask=m)

    def where(self, condition, other):
        """``torch.where(condition, self, other)``."""
        return where(condition, self, other)

    def put(self, index, source, accumulate=False):
        """A copy with ``source``'s elements written (added, with ``accumulate``) at the flat
        positions ``index`` (out of place; ``put_`` writes into self)."""
        idx = _index_array(index, "index", "put")
        if idx.size != source.numel():
            raise RuntimeError(f"put_(): Expected source and index to have the same number of elements, but got "
                               f"source.numel() = {source.numel()}, index.numel() = {idx.size}")
        _check_bounds(idx, self.numel(), 0, "put")
        source = source.to(self.dtype) if source.dtype != self.dtype else source
        return Put.apply(self, source, index=idx % max(self.numel(), 1), accumulate=accumulate)

    def index_put(self, indices, values, accumulate=False):
        """``self[indices] = values`` out of place (``accumulate``: add, repeated indices summing)."""
        Tensor = _tensor()
        index = tuple(i.data if isinstance(i, Tensor) else np.asarray(i) for i in indices)
        values = values if isinstance(values, Tensor) else Tensor._wrap(np.asarray(values, self.data.dtype))
        values = values.to(self.dtype) if values.dtype != self.dtype else values
        return IndexPut.apply(self, values, index=index, accumulate=accumulate)

    def select_scatter(self, src, dim, index):
        """A copy with ``src`` written at ``self.select(dim, index)``."""
        d = wrap_dim(dim, self.ndim)
        size = self.shape[d]
        if not -size <= index < size:
            raise IndexError(f"select_scatter(): index {index} out of range for tensor of size {list(self.shape)} at "
                             f"dimension {dim}")
        where = (slice(None),) * d + (int(index),)
        return self._embed(src, lambda a: (a, where), "select_scatter")

    def slice_scatter(self, src, dim=0, start=None, end=None, step=1):
        """A copy with ``src`` written at ``self[..., start:end:step, ...]`` (along ``dim``)."""
        d = wrap_dim(dim, self.ndim)
        where = (slice(None),) * d + (slice(start, end, step),)
        return self._embed(src, lambda a: (a, where), "slice_scatter")

    def diagonal_scatter(self, src, offset=0, dim1=0, dim2=1):
        """A copy with ``src`` written on ``self.diagonal(offset, dim1, dim2)``."""
        from .linalg import _diag_index
        d1, d2 = wrap_dim(dim1, self.ndim), wrap_dim(dim2, self.ndim)
        rows, cols = _diag_index(self.shape[d1], self.shape[d2], offset)
        return self._embed(src, lambda a: (np.moveaxis(a, (d1, d2), (-2, -1)), (Ellipsis, rows, cols)),
                           "diagonal_scatter")

    def _embed(self, src, part, fn):
        Tensor = _tensor()
        src = src if isinstance(src, Tensor) else Tensor(src)
        view, index = part(np.empty(self.shape, dtype=bool))
        expected = view[index].shape
        if tuple(src.shape) != expected:
            raise RuntimeError(f"{fn}(): expected src to have a size equal to the slice of self. src size = "
                               f"{list(src.shape)}, slice size = {list(expected)}")
        src = src.to(self.dtype) if src.dtype != self.dtype else src
        return Embed.apply(self, src, part=part)

    def sum_to_size(self, *size):
        """Sum down to ``size`` (which this tensor's shape must broadcast from): the adjoint of expand."""
        size = _sizes(size, "sum_to_size")
        try:
            ok = np.broadcast_shapes(size, self.shape) == self.shape
        except ValueError:
            ok = False
        if not ok:
            raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(self.shape)}}}.")
        lead = self.ndim - len(size)
        x = self.sum(tuple(range(lead))) if lead else self
        dims = tuple(i for i, s in enumerate(size) if s == 1 and x.shape[i] != 1)
        return x.sum(dims, keepdim=True) if dims else x

    def split_with_sizes(self, split_sizes, dim=0):
        return self.split(list(split_sizes), dim)

    def unsafe_split(self, split_size, dim=0):
        return self.split(split_size, dim)

    def unsafe_chunk(self, chunks, dim=0):
        return self.chunk(chunks, dim)

    def narrow_copy(self, dim, start, length):
        return self.narrow(dim, start, length).clone()

    def is_same_size(self, other) -> bool:
        return tuple(self.shape) == tuple(other.shape)

    def nonzero(self, *, as_tuple=False):
        """The indices of the non-zero elements: an (n, ndim) int64 tensor, or with
        ``as_tuple`` one 1-D tensor per dimension."""
        Tensor = _tensor()
        a = self.data if self.ndim else self.data.reshape(1)
        idx = np.nonzero(a)
        if as_tuple:
            return tuple(Tensor._wrap(i.astype(np.int64)) for i in idx)
        out = np.stack(idx, axis=1).astype(np.int64) if self.ndim else np.zeros((int(a[0] != 0), 0), np.int64)
        return Tensor._wrap(out)

    def argwhere(self):
        return self.nonzero()

    def diff(self, n=1, dim=-1, prepend=None, append=None):
        """The n-th forward difference along ``dim`` (``prepend``/``append`` joined first)."""
        d = wrap_dim(dim, self.ndim)
        if self.ndim == 0:
            raise RuntimeError("diff expects input to be at least one-dimensional")
        parts = [p for p in (prepend, self, append) if p is not None]
        x = cat([p if isinstance(p, _tensor()) else _tensor()(p) for p in parts], d) if len(parts) > 1 else self
        for _ in range(n):
            if x.dtype.kind == "b":
                x = x.narrow(d, 1, x.shape[d] - 1) ^ x.narrow(d, 0, x.shape[d] - 1)
            else:
                x = x.narrow(d, 1, max(x.shape[d] - 1, 0)) - x.narrow(d, 0, max(x.shape[d] - 1, 0))
        return x

    def unfold(self, dimension, size, step):
        """All windows of ``size`` elements along ``dimension``, ``step`` apart, as a new last
        dimension (PyTorch's Tensor.unfold)."""
        Tensor = _tensor()
        d = wrap_dim(dimension, self.ndim)
        n = self.shape[d] if self.ndim else 1
        if size > n:
            raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
        if step <= 0:
            raise RuntimeError(f"step is {step} but must be > 0")
        count = (n - size) // step + 1
        idx = (np.arange(count)[:, None] * step + np.arange(size)[None, :])     # (count, size)
        x = self if self.ndim else self.reshape(1)
        out = x.index_select(d, Tensor._wrap(idx.reshape(-1)))
        out = out.unflatten(d, (count, size))
        return out.movedim(d + 1, -1) if self.ndim else out.reshape(count, size)


# ------------------------------------------------------------------ functions that are not methods

def _tensor_list(tensors, fn):
    Tensor = _tensor()
    if isinstance(tensors, Tensor):
        raise TypeError(f"{fn}(): argument 'tensors' must be a tuple or list of Tensors, not Tensor")
    seq = list(tensors)
    if not seq:
        raise RuntimeError(f"{fn}(): expected a non-empty list of Tensors")
    out = []
    for i, t in enumerate(seq):
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn}(): expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
        out.append(t)
    return out


def _promote_list(tensors):
    dtype = result_type(*tensors) if len({t.dtype for t in tensors}) > 1 else tensors[0].dtype
    return [t if t.dtype == dtype else t.to(dtype) for t in tensors]


def cat(tensors, dim=0, *, axis=None, out=None):
    """Join tensors along an existing dimension ``dim``; every other dimension must match.
    Mixed dtypes are promoted; 1-D empty tensors are skipped, as PyTorch does."""
    if axis is not None:
        dim = axis
    tensors = _tensor_list(tensors, "cat")
    full = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)]
    if not full:
        return _promote_list(tensors)[0]
    ref = full[0]
    if ref.ndim == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    d = wrap_dim(dim, ref.ndim)
    for i, t in enumerate(tensors):
        if t.ndim == 1 and t.shape[0] == 0:
            continue
        if t.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
        if t.ndim != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} and {t.ndim}")
        for k in range(ref.ndim):
            if k != d and t.shape[k] != ref.shape[k]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected size "
                                   f"{ref.shape[k]} but got size {t.shape[k]} for tensor number {i} in the list.")
    result = Cat.apply(*_promote_list(full), dim=d)
    return result if out is None else out.copy_(result)


concat = cat


def concatenate(tensors, axis=0, out=None):
    """``cat`` under NumPy's name and argument name."""
    return cat(tensors, axis, out=out)


def stack(tensors, dim=0, *, out=None):
    """Join tensors of one shape along a new dimension ``dim``."""
    tensors = _tensor_list(tensors, "stack")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(tensors[0].shape)} at "
                               f"entry 0 and {list(t.shape)} at entry {i}")
    d = wrap_dim(dim, tensors[0].ndim + 1)
    result = Stack.apply(*_promote_list(tensors), dim=d)
    return result if out is None else out.copy_(result)


def atleast_1d(*tensors):
    out = [t.reshape(1) if t.ndim == 0 else t for t in _flat_args(tensors, "atleast_1d")]
    return out[0] if len(out) == 1 and not _is_seq_arg(tensors) else tuple(out)


def atleast_2d(*tensors):
    out = [t.reshape(1, 1) if t.ndim == 0 else t.unsqueeze(0) if t.ndim == 1 else t
           for t in _flat_args(tensors, "atleast_2d")]
    return out[0] if len(out) == 1 and not _is_seq_arg(tensors) else tuple(out)


def atleast_3d(*tensors):
    def up(t):
        if t.ndim == 0:
            return t.reshape(1, 1, 1)
        if t.ndim == 1:
            return t.reshape(1, -1, 1)
        if t.ndim == 2:
            return t.unsqueeze(-1)
        return t
    out = [up(t) for t in _flat_args(tensors, "atleast_3d")]
    return out[0] if len(out) == 1 and not _is_seq_arg(tensors) else tuple(out)


def _is_seq_arg(args):
    return len(args) == 1 and isinstance(args[0], (list, tuple))


def _flat_args(args, fn):
    if _is_seq_arg(args):
        args = tuple(args[0])
    return _tensor_list(args, fn)


def hstack(tensors, *, out=None):
    tensors = atleast_1d(*_tensor_list(tensors, "hstack"))
    tensors = tensors if isinstance(tensors, tuple) else (tensors,)
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1, out=out)


def vstack(tensors, *, out=None):
    tensors = atleast_2d(*_tensor_list(tensors, "vstack"))
    tensors = tensors if isinstance(tensors, tuple) else (tensors,)
    return cat(tensors, 0, out=out)


row_stack = vstack


def dstack(tensors, *, out=None):
    tensors = atleast_3d(*_tensor_list(tensors, "dstack"))
    tensors = tensors if isinstance(tensors, tuple) else (tensors,)
    return cat(tensors, 2, out=out)


def column_stack(tensors, *, out=None):
    tensors = [t.reshape(-1, 1) if t.ndim <= 1 else t for t in _tensor_list(tensors, "column_stack")]
    return cat(tensors, 1, out=out)


def broadcast_tensors(*tensors):
    tensors = _flat_args(tensors, "broadcast_tensors")
    shape = broadcast_shapes(*(tuple(t.shape) for t in tensors))
    return tuple(t.expand(*shape) for t in tensors)


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from 1-D tensors: with 'ij' the i-th grid varies along dimension i;
    'xy' swaps the first two (as NumPy's default). fastnn's default is 'ij' (PyTorch's)."""
    tensors = _flat_args(tensors, "meshgrid")
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t.ndim}D")
    flat = [t.reshape(-1) for t in tensors]
    swap = indexing == "xy" and len(flat) >= 2
    if swap:
        flat[0], flat[1] = flat[1], flat[0]
    shape = tuple(t.shape[0] for t in flat)
    grids = []
    for i, t in enumerate(flat):
        view = [1] * len(flat)
        view[i] = -1
        grids.append(t.reshape(*view).expand(*shape))
    if swap:        # built 'ij' over (y, x, ...): the grids come out in 'xy' shape; give them in input order
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def where(condition, input=None, other=None, *, out=None):
    """``where(cond, a, b)``: ``a`` where ``cond`` holds, else ``b`` (broadcast; numbers
    allowed; dtypes promoted as PyTorch). ``where(cond)``: ``nonzero(cond, as_tuple=True)``."""
    Tensor = _tensor()
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if input is None and other is None:
        return Tensor._wrap(cond).nonzero(as_tuple=True)
    if input is None or other is None:
        raise TypeError("where() needs both input and other (or neither)")
    if cond.dtype != np.bool_:
        if cond.dtype == np.uint8:
            cond = cond.astype(bool)
        else:
            raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                               f"{cond.dtype}")
    (a, b), _ = promoted(input, other)
    broadcast_shapes(tuple(cond.shape), tuple(a.shape), tuple(b.shape))
    result = Where.apply(cond, a, b)
    return result if out is None else out.copy_(result)


def _broadcast_shapes(*shapes):
    """The shape that ``shapes`` broadcast to (a ``fastnn.Size``), with PyTorch's error."""
    from ..types import Size
    return Size(broadcast_shapes(*((s,) if isinstance(s, numbers.Integral) else tuple(s) for s in shapes)))


# the names torch also has as functions taking the tensor first
FUNCTIONS = ["reshape", "flatten", "ravel", "unflatten", "permute", "transpose", "swapaxes", "swapdims", "t",
             "adjoint", "movedim", "moveaxis", "unsqueeze", "squeeze", "broadcast_to", "tile", "repeat_interleave",
             "flip", "fliplr", "flipud", "roll", "rot90", "narrow", "select", "unbind", "split", "chunk",
             "tensor_split", "hsplit", "vsplit", "dsplit", "index_select", "gather", "take_along_dim", "take",
             "scatter", "scatter_add", "scatter_reduce", "index_add", "index_copy", "index_fill", "masked_fill",
             "masked_select", "masked_scatter", "nonzero", "argwhere", "diff", "index_put", "select_scatter",
             "slice_scatter", "diagonal_scatter", "split_with_sizes", "unsafe_split", "unsafe_chunk", "narrow_copy",
             "is_same_size"]
# torch functions that are not Tensor methods (or whose first argument is not the tensor)
PLAIN_FUNCTIONS = {"cat": cat, "concat": concat, "concatenate": concatenate, "stack": stack, "hstack": hstack,
                   "vstack": vstack, "row_stack": row_stack, "dstack": dstack, "column_stack": column_stack,
                   "atleast_1d": atleast_1d, "atleast_2d": atleast_2d, "atleast_3d": atleast_3d,
                   "broadcast_tensors": broadcast_tensors, "broadcast_shapes": _broadcast_shapes,
                   "meshgrid": meshgrid, "where": where}
