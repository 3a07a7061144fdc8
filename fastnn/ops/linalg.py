"""Linear algebra: matrix products (matmul and its named special cases, the fused
``addmm`` family), ``einsum`` with a general backward, ``tensordot``, and the small
matrix toolkit (trace, diag, diagonal, tril/triu, det, inverse...).

``matmul`` follows NumPy's rules (1-D vectors, broadcast batches); two 2-D float32
matrices go through the active backend's GEMM (``fastnn.ops.arithmetic.MatMul``).

einsum's backward is einsum again: the gradient of operand ``i`` is the einsum of the
output's gradient with every other operand, written to ``i``'s subscripts. Two details make
this general: a letter only operand ``i`` has (summed away, e.g. ``'ij->i'``) gets the
gradient broadcast along it, and a letter repeated in ``i`` (``'ii->i'``, a diagonal) gets
the gradient written onto that diagonal.
"""
from __future__ import annotations

import numbers
import string

import numpy as np

from ..autograd import ArrayFunction, Function
from ._broadcast import promoted, unbroadcast, wrap_dim
from .arithmetic import MatMul
from .return_types import _make as _return_type
from .shape import ShapeError


def _tensor():
    from ..tensor import Tensor
    return Tensor


def _shape_str(shape):
    return "x".join(str(s) for s in shape)


def _same_dtype(a, b):
    (a, b), _ = promoted(a, b)
    return a, b


# ------------------------------------------------------------------ einsum

def _parse_einsum(equation: str, shapes):
    """The equation with ``...`` replaced by letters: (input subscripts, output subscript,
    size of each letter)."""
    eq = equation.replace(" ", "")
    if "->" in eq:
        lhs, rhs = eq.split("->", 1)
        if "->" in rhs:
            raise RuntimeError("einsum(): more than one '->' found in equation")
    else:
        lhs, rhs = eq, None
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise RuntimeError(f"einsum(): {'more' if len(shapes) > len(terms) else 'fewer'} operands were provided than "
                           f"specified in the equation ({len(terms)} subscripts, {len(shapes)} operands)")
    used = set(c for c in eq if c.isalpha())
    for c in eq:
        if not (c.isalpha() and c in string.ascii_letters) and c not in ".,->":
            raise RuntimeError(f"einsum(): invalid subscript given at index {eq.index(c)} in the equation string, "
                               f"subscripts must be in [a-zA-Z]")
    spare = [c for c in string.ascii_letters if c not in used]
    n_ell = 0
    for term, shape in zip(terms, shapes):
        if "..." in term:
            n_ell = max(n_ell, len(shape) - (len(term) - 3))
    ell = "".join(spare[:n_ell])
    inputs = []
    for i, (term, shape) in enumerate(zip(terms, shapes)):
        if "..." in term:
            k = len(shape) - (len(term) - 3)
            if k < 0:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(term) - 3}) is more "
                                   f"than the number of dimensions ({len(shape)}) for operand {i}")
            term = term.replace("...", ell[n_ell - k:])
        if "." in term:
            raise RuntimeError("einsum(): found '.' for operand that is not part of any ellipsis")
        if len(term) != len(shape):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(term)}) does not match the "
                               f"number of dimensions ({len(shape)}) for operand {i} and no ellipsis was given")
        inputs.append(term)
    sizes = {}
    for i, (term, shape) in enumerate(zip(inputs, shapes)):
        for c, n in zip(term, shape):
            m = sizes.get(c)
            if m is None or m == 1:
                sizes[c] = n
            elif n != 1 and n != m:
                raise RuntimeError(f"einsum(): operands do not broadcast with remapped shapes (original->remapped): "
                                   f"subscript '{c}' has size {n} for operand {i} which does not broadcast with "
                                   f"previously seen size {m}")
    if rhs is None:
        counts = {}
        for c in "".join(inputs):
            counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c in counts if counts[c] == 1 and c not in ell))
    else:
        out = rhs.replace("...", ell)
        if "." in out:
            raise RuntimeError("einsum(): found '.' for output but an ellipsis (...) was not found")
        for c in out:
            if out.count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
            if c not in sizes:
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation for any input "
                                   f"operand")
    return inputs, out, sizes


def _broadcast_operand(a, term, sizes):
    """``a`` broadcast so that each of its letters has the letter's full size."""
    target = tuple(sizes[c] for c in term)
    return a if a.shape == target else np.broadcast_to(a, target)


def _unique(term):
    return "".join(dict.fromkeys(term))


class Einsum(ArrayFunction):
    """``np.einsum`` forward; each operand's gradient an einsum of the output's gradient
    and the other operands (see the module docstring)."""

    @staticmethod
    def forward(ctx, *arrays, inputs=(), output="", sizes=None):
        full = [_broadcast_operand(a, t, sizes) for a, t in zip(arrays, inputs)]
        spec = ",".join(inputs) + "->" + output
        out = np.einsum(spec, *full, optimize=len(full) > 2)
        ctx.inputs, ctx.output, ctx.sizes = inputs, output, sizes
        ctx.shapes = [a.shape for a in arrays]
        ctx.save_for_backward(*full)
        return np.asarray(out, dtype=np.result_type(*arrays))

    @staticmethod
    def backward(ctx, grad):
        full = ctx.saved_tensors
        grads = []
        for i, (term, shape) in enumerate(zip(ctx.inputs, ctx.shapes)):
            if not ctx.needs_input_grad[i]:
                grads.append(None)
                continue
            others = [(t, a) for j, (t, a) in enumerate(zip(ctx.inputs, full)) if j != i]
            available = set(ctx.output).union(*(set(t) for t, _ in others))
            letters = _unique(term)
            target = "".join(c for c in letters if c in available)
            spec = ",".join([ctx.output] + [t for t, _ in others]) + "->" + target
            g = np.einsum(spec, grad, *(a for _, a in others), optimize=len(others) > 1)
            for k, c in enumerate(letters):           # letters summed inside this operand alone: broadcast
                if c not in available:
                    g = np.expand_dims(g, k)
            g = np.broadcast_to(g, tuple(ctx.sizes[c] for c in letters))
            if letters != term:                        # a repeated letter: write onto the diagonal
                out = np.zeros(tuple(ctx.sizes[c] for c in term), grad.dtype)
                np.einsum(f"{term}->{letters}", out)[...] = g
                g = out
            grads.append(unbroadcast(np.ascontiguousarray(g), shape))
        return tuple(grads)


def einsum(equation, *operands):
    """Sum of products over the letters an ``equation`` like ``'ij,jk->ik'`` names:
    ``'bij,bjk->bik'`` (batched product), ``'ii'`` (trace), ``'ii->i'`` (diagonal),
    ``'i,j->ij'`` (outer), ``'bn,anm,bm->ba'`` (bilinear), ``'...ij->...ji'``; letters of
    size 1 broadcast. Every operand gets a gradient."""
    Tensor = _tensor()
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): the first argument must be the equation string, got {type(equation).__name__}")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for i, op in enumerate(operands):
        if not isinstance(op, Tensor):
            raise TypeError(f"einsum(): expected Tensor as element {i} in argument 1, but got {type(op).__name__}")
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    tensors, _ = promoted(*operands)
    inputs, output, sizes = _parse_einsum(equation, [tuple(t.shape) for t in tensors])
    return Einsum.apply(*tensors, inputs=tuple(inputs), output=output, sizes=sizes)


def tensordot(a, b, dims=2, out=None):
    """Contract ``dims`` trailing dims of ``a`` with as many leading dims of ``b`` (or the
    listed pairs ``dims=([a dims], [b dims])``), by way of einsum."""
    letters = iter(string.ascii_letters)
    if isinstance(dims, numbers.Integral):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, numbers.Integral) else list(da)
        db = [db] if isinstance(db, numbers.Integral) else list(db)
        if len(da) != len(db):
            raise RuntimeError(f"both dimension lists should have same length, got {len(da)} and {len(db)}")
    da = [wrap_dim(d, a.ndim) for d in da]
    db = [wrap_dim(d, b.ndim) for d in db]
    ta = [next(letters) for _ in range(a.ndim)]
    tb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[i]} in dim {i} and "
                               f"second has size {b.shape[j]} in dim {j}")
        tb[j] = ta[i]
    free = "".join(c for k, c in enumerate(ta) if k not in da) + "".join(c for k, c in enumerate(tb) if k not in db)
    result = einsum(f"{''.join(ta)},{''.join(tb)}->{free}", a, b)
    return result if out is None else out.copy_(result)


# ------------------------------------------------------------------ small matrix functions

class Diagonal(ArrayFunction):
    """The diagonal (``offset`` above it when > 0) of the planes ``dim1`` x ``dim2``, as a new
    last dimension."""

    @staticmethod
    def forward(ctx, a, offset=0, dim1=0, dim2=1):
        moved = np.moveaxis(a, (dim1, dim2), (-2, -1))
        rows, cols = _diag_index(moved.shape[-2], moved.shape[-1], offset)
        ctx.moved_shape, ctx.dims, ctx.rc = moved.shape, (dim1, dim2), (rows, cols)
        return moved[..., rows, cols]

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.moved_shape, grad.dtype)
        rows, cols = ctx.rc
        out[..., rows, cols] = grad
        return np.moveaxis(out, (-2, -1), ctx.dims)


def _diag_index(n_rows, n_cols, offset):
    if offset >= 0:
        length = max(min(n_rows, n_cols - offset), 0)
        rows = np.arange(length)
        return rows, rows + offset
    length = max(min(n_rows + offset, n_cols), 0)
    cols = np.arange(length)
    return cols - offset, cols


class DiagEmbed(ArrayFunction):
    """Each last-dimension vector of ``a`` put on the diagonal (``offset``) of a new matrix
    in the planes ``dim1`` x ``dim2`` of the result."""

    @staticmethod
    def forward(ctx, a, offset=0, dim1=-2, dim2=-1):
        n = a.shape[-1] + abs(offset)
        out = np.zeros(a.shape[:-1] + (n, n), a.dtype)
        rows, cols = _diag_index(n, n, offset)
        out[..., rows, cols] = a
        ctx.rc, ctx.dims = (rows, cols), (dim1, dim2)
        return np.moveaxis(out, (-2, -1), (dim1, dim2))

    @staticmethod
    def backward(ctx, grad):
        moved = np.moveaxis(grad, ctx.dims, (-2, -1))
        rows, cols = ctx.rc
        return moved[..., rows, cols]


class Triangle(ArrayFunction):
    """``np.tril`` / ``np.triu`` of the last two dimensions; the gradient keeps the same part."""

    @staticmethod
    def forward(ctx, a, k=0, upper=False):
        ctx.k, ctx.upper = k, upper
        return (np.triu if upper else np.tril)(a, k)

    @staticmethod
    def backward(ctx, grad):
        return (np.triu if ctx.upper else np.tril)(grad, ctx.k)


def _swap(m):
    return np.swapaxes(m, -1, -2)


class Det(ArrayFunction):
    """Determinant of (a batch of) square matrices; d det / dA = det * inverse(A)^T."""

    @staticmethod
    def forward(ctx, a):
        out = np.linalg.det(a).astype(a.dtype)
        ctx.save_for_backward(a, out)
        return np.asarray(out)

    @staticmethod
    def backward(ctx, grad):
        a, det = ctx.saved_tensors
        inv_t = _swap(np.linalg.pinv(a) if (det == 0).any() else np.linalg.inv(a))
        return (np.asarray(grad * det)[..., None, None] * inv_t).astype(a.dtype)


class Inverse(ArrayFunction):
    """Inverse of (a batch of) square matrices; dA = -A^-T g A^-T."""

    @staticmethod
    def forward(ctx, a):
        try:
            out = np.linalg.inv(a)
        except np.linalg.LinAlgError:
            raise RuntimeError("linalg.inv: The diagonal element 1 is zero, the inversion could not be completed "
                               "because the input matrix is singular.") from None
        ctx.save_for_backward(out)
        return out.astype(a.dtype)

    @staticmethod
    def backward(ctx, grad):
        (inv,) = ctx.saved_tensors
        inv_t = _swap(inv)
        return -(inv_t @ grad @ inv_t)


class Slogdet(ArrayFunction):
    """log|det A| (the sign is returned beside it without a gradient); d/dA = A^-T."""

    @staticmethod
    def forward(ctx, a):
        sign, logabs = np.linalg.slogdet(a)
        ctx.save_for_backward(a)
        ctx.sign = sign.astype(a.dtype)
        return np.asarray(logabs, a.dtype)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return np.asarray(grad)[..., None, None] * _swap(np.linalg.inv(a))


class Cross(ArrayFunction):
    @staticmethod
    def forward(ctx, a, b, axis=-1):
        ctx.save_for_backward(a, b)
        ctx.axis = axis
        wa, wb = np.broadcast_arrays(a, b)
        return np.cross(wa, wb, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ax = ctx.axis
        wa, wb = np.broadcast_to(a, grad.shape), np.broadcast_to(b, grad.shape)
        ga = unbroadcast(np.cross(wb, grad, axis=ax), a.shape) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(np.cross(grad, wa, axis=ax), b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


def _square_check(x, fn):
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise RuntimeError(f"linalg.{fn}: A must be batches of square matrices, but they are "
                           f"{x.shape[-2] if x.ndim >= 2 else 1} by {x.shape[-1] if x.ndim else 1} matrices")
    if x.dtype.kind != "f":
        raise RuntimeError(f"linalg.{fn}: Expected a floating point or complex tensor as input. Got {x.dtype}")


# ------------------------------------------------------------------ singular value decomposition

linalg_svd = _return_type("linalg_svd", "U S Vh")     # torch.return_types.linalg_svd
svd_result = _return_type("svd", "U S V")             # torch.return_types.svd


def _svd_check(A, fn, message=None):
    if A.ndim < 2:
        raise RuntimeError(message or f"{fn}: The input tensor A must have at least 2 dimensions.")
    if A.dtype.kind != "f":
        raise RuntimeError(f"{fn}: Expected a floating point or complex tensor as input. Got {A.dtype}")


def _svd_backward(gU, gS, gVh, U, S, Vh):
    """PyTorch's ``svd_backward`` (real case) for the reduced SVD A = U diag(S) Vh, k = min(m, n),
    given the gradients that are defined (None for the others)::

        skew(X) = X - Xᵀ;   E_jk = S_k² - S_j²  (j != k; 1 on the diagonal, where it is unused)
        G  = (skew(Uᵀ gU) S_row + S_col skew(Vh gVhᵀ)) / E  +  diag(gS)         (k x k)
        gA = U G Vh
           + (I_m - U Uᵀ) gU S⁻¹ Vh          when m > k (the part of gU outside U's columns)
           + U S⁻¹ gVh (I_n - Vhᵀ Vh)        when n > k (the part of gVh outside Vh's rows)

    Only gS: ``gA = U diag(gS) Vh`` (what svdvals needs, always finite). With repeated
    singular values E has zeros and the singular vectors are not unique: the gradient
    through U or Vh is then inf/nan, as in PyTorch."""
    m, n, k = U.shape[-2], Vh.shape[-1], S.shape[-1]
    if gU is None and gVh is None:
        if gS is None:
            return None
        return U @ (gS[..., :, None] * Vh) if m >= n else (U * gS[..., None, :]) @ Vh
    S2 = S * S
    E = S2[..., None, :] - S2[..., :, None]
    idx = np.arange(k)
    E[..., idx, idx] = 1
    inner = 0
    if gU is not None:
        UtgU = _swap(U) @ gU
        inner = inner + (UtgU - _swap(UtgU)) * (S[..., None, :] / E)
    if gVh is not None:
        VhgV = Vh @ _swap(gVh)
        inner = inner + S[..., :, None] * ((VhgV - _swap(VhgV)) / E)
    if gS is not None:
        inner = inner + np.einsum("...i,ij->...ij", gS, np.eye(k, dtype=gS.dtype))
    if m > k and gU is not None:
        gA = U @ inner
        gUSinv = gU / S[..., None, :]
        gA = gA + gUSinv - U @ (_swap(U) @ gUSinv)
        return gA @ Vh
    if n > k and gVh is not None:
        gA = inner @ Vh
        SinvgVh = gVh / S[..., :, None]
        gA = gA + SinvgVh - (SinvgVh @ _swap(Vh)) @ Vh
        return U @ gA
    return U @ (inner @ Vh) if m >= n else (U @ inner) @ Vh


class LinalgSvd(Function):
    """``np.linalg.svd`` forward (U, S, Vh with S descending); backward
    :func:`_svd_backward`. With ``full_matrices=True`` the columns of U (rows of Vh) beyond
    min(m, n) are an arbitrary basis of a complement: their gradients are ignored, as in
    PyTorch (its docs say so; it narrows U, Vh and their gradients to the first k)."""

    @staticmethod
    def forward(ctx, A, full_matrices=False):
        Tensor = _tensor()
        a = A.data
        if a.size == 0:
            m, n = a.shape[-2:]                              # an empty matrix: identity bases, no S
            k = min(m, n)
            cu, rv = (m, n) if full_matrices else (k, k)
            u = np.broadcast_to(np.eye(m, cu, dtype=a.dtype), a.shape[:-2] + (m, cu)).copy()
            vh = np.broadcast_to(np.eye(rv, n, dtype=a.dtype), a.shape[:-2] + (rv, n)).copy()
            s = np.zeros(a.shape[:-2] + (k,), a.dtype)
        else:
            try:
                u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
            except np.linalg.LinAlgError:
                raise RuntimeError("linalg.svd: The algorithm failed to converge because the input matrix is "
                                   "ill-conditioned or has too many repeated singular values") from None
        u, s, vh = (np.ascontiguousarray(x, dtype=a.dtype) for x in (u, s, vh))
        ctx.set_materialize_grads(False)
        ctx.usv = u, s, vh
        return Tensor._wrap(u), Tensor._wrap(s), Tensor._wrap(vh)

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        u, s, vh = ctx.usv
        k = s.shape[-1]
        gU, gS, gVh = (None if g is None else g.data for g in (gU, gS, gVh))
        u, vh = u[..., :, :k], vh[..., :k, :]
        gU = None if gU is None else gU[..., :, :k]
        gVh = None if gVh is None else gVh[..., :k, :]
        grad = _svd_backward(gU, gS, gVh, u, s, vh)
        return None if grad is None else _tensor()._wrap(np.ascontiguousarray(grad, dtype=u.dtype))


def svd(A, full_matrices=True, *, driver=None, out=None):
    """``torch.linalg.svd``: A = U diag(S) Vh for (a batch of) m x n matrices, as the named tuple
    ``(U, S, Vh)``; S descending, k = min(m, n) of them. ``full_matrices=True`` gives U m x m
    and Vh n x n, ``False`` the reduced U m x k, Vh k x n. The singular vectors are unique only
    up to sign (LAPACK's choice here as in PyTorch, but the two may differ): compare
    sign-invariant quantities. ``driver`` (a CUDA option) is accepted and ignored."""
    _svd_check(A, "linalg.svd")
    U, S, Vh = LinalgSvd.apply(A, full_matrices=bool(full_matrices))
    result = linalg_svd(U, S, Vh)
    if out is not None:
        for o, r in zip(out, result):
            o.copy_(r)
        return out
    return result


def svdvals(A, *, driver=None, out=None):
    """``torch.linalg.svdvals``: the singular values only, descending (their gradient
    ``U diag(gS) Vh`` is always well defined)."""
    _svd_check(A, "linalg.svd")
    S = LinalgSvd.apply(A, full_matrices=False)[1]
    return S if out is None else out.copy_(S)


# ------------------------------------------------------------------ the Tensor methods

class LinalgMethods:
    """Matrix products and matrix functions of ``Tensor`` (mixed into it)."""

    def matmul(self, other):
        """The matrix product with NumPy's rules: 1-D operands are vectors, leading
        dimensions are batches that broadcast."""
        Tensor = _tensor()
        if not isinstance(other, Tensor):
            raise TypeError(f"matmul(): argument 'other' must be Tensor, not {type(other).__name__}")
        a, b = _same_dtype(self, other)
        if a.ndim == 0 or b.ndim == 0:
            raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and "
                               f"{b.ndim}D")
        k_a, k_b = a.shape[-1], b.shape[-2 if b.ndim > 1 else 0]
        if k_a != k_b:
            if a.ndim <= 2 and b.ndim <= 2:
                left = _shape_str(a.shape if a.ndim == 2 else (1,) + tuple(a.shape))
                right = _shape_str(b.shape if b.ndim == 2 else tuple(b.shape) + (1,))
                raise ShapeError(f"mat1 and mat2 shapes cannot be multiplied ({left} and {right})"
                                 if a.ndim == 2 and b.ndim == 2 else
                                 f"size mismatch, got input ({a.shape[0]}), mat ({left}), vec ({b.shape[0]})"
                                 if b.ndim == 1 else f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} do not "
                                                     f"align ({k_a} != {k_b})")
            raise ShapeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                             f"[{max(a.shape[0] if a.ndim > 2 else 1, 1)}, {k_a}] but got: "
                             f"[{b.shape[0] if b.ndim > 2 else 1}, {k_b}] (matmul of shapes {tuple(a.shape)} and "
                             f"{tuple(b.shape)})")
        if a.ndim > 2 or b.ndim > 2:
            try:
                np.broadcast_shapes(a.shape[:-2], b.shape[:-2] if b.ndim > 1 else ())
            except ValueError:
                raise ShapeError(f"matmul: the batch dimensions of {tuple(a.shape)} and {tuple(b.shape)} do not "
                                 f"broadcast") from None
        return MatMul.apply(a, b)

    def mm(self, mat2):
        if self.ndim != 2:
            raise RuntimeError(f"self must be a matrix, got a {self.ndim}-D tensor")
        if getattr(mat2, "ndim", 0) != 2:
            raise RuntimeError(f"mat2 must be a matrix, got a {getattr(mat2, 'ndim', 0)}-D tensor")
        return self.matmul(mat2)

    def bmm(self, mat2):
        if self.ndim != 3:
            raise RuntimeError(f"batch1 must be a 3D tensor, got {self.ndim}D")
        if mat2.ndim != 3:
            raise RuntimeError(f"batch2 must be a 3D tensor, got {mat2.ndim}D")
        if mat2.shape[0] != self.shape[0] or mat2.shape[1] != self.shape[2]:
            raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{self.shape[0]}, "
                               f"{self.shape[2]}] but got: [{mat2.shape[0]}, {mat2.shape[1]}].")
        return self.matmul(mat2)

    def mv(self, vec):
        if self.ndim != 2 or vec.ndim != 1:
            raise RuntimeError(f"vector + matrix @ vector expected, got 1, {self.ndim}, {vec.ndim}")
        if self.shape[1] != vec.shape[0]:
            raise RuntimeError(f"size mismatch, got input ({self.shape[0]}), mat ({_shape_str(self.shape)}), vec "
                               f"({vec.shape[0]})")
        return self.matmul(vec)

    def dot(self, tensor):
        """The inner product of two 1-D tensors of the same size."""
        other = tensor
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.ndim}D and {other.ndim}D tensors")
        if self.shape[0] != other.shape[0]:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{self.shape[0]}] and src "
                               f"[{other.shape[0]}] to have the same number of elements, but got {self.shape[0]} and "
                               f"{other.shape[0]} elements respectively")
        if self.dtype != other.dtype:
            raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {self.dtype} and "
                               f"{other.dtype}")
        return self.matmul(other)

    def vdot(self, other):
        return self.dot(other)

    def inner(self, other):
        """Sum over the last dimension of both (a number times a tensor when one is 0-d)."""
        if self.ndim == 0 or other.ndim == 0:
            return self * other
        if self.shape[-1] != other.shape[-1]:
            raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                               f"{list(self.shape)} and {list(other.shape)}")
        return tensordot(self, other, ([-1], [-1]))

    def outer(self, vec2):
        if self.ndim != 1 or vec2.ndim != 1:
            raise RuntimeError(f"outer: expected 1-D vectors, got {self.ndim}-D and {vec2.ndim}-D")
        return self.reshape(-1, 1) * vec2.reshape(1, -1)

    ger = outer

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        """``beta * self + alpha * (mat1 @ mat2)`` (self broadcast; ignored when beta = 0)."""
        return _add_scaled(self, mat1.mm(mat2), beta, alpha)

    def addmv(self, mat, vec, *, beta=1, alpha=1):
        return _add_scaled(self, mat.mv(vec), beta, alpha)

    def addr(self, vec1, vec2, *, beta=1, alpha=1):
        return _add_scaled(self, vec1.outer(vec2), beta, alpha)

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return _add_scaled(self, batch1.bmm(batch2), beta, alpha)

    def addbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return _add_scaled(self, batch1.bmm(batch2).sum(0), beta, alpha)

    def kron(self, other):
        """The Kronecker product: every element of self times the whole of other."""
        n = max(self.ndim, other.ndim)
        a = self.reshape((1,) * (n - self.ndim) + tuple(self.shape))
        b = other.reshape((1,) * (n - other.ndim) + tuple(other.shape))
        shape_a, shape_b = [], []
        for sa, sb in zip(a.shape, b.shape):
            shape_a += [sa, 1]
            shape_b += [1, sb]
        prod = a.reshape(*shape_a) * b.reshape(*shape_b)
        return prod.reshape(*[sa * sb for sa, sb in zip(a.shape, b.shape)])

    def trace(self):
        """Sum of the main diagonal of a matrix (int gives int64, as PyTorch)."""
        if self.ndim != 2:
            raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {self.ndim}")
        if self.dtype.kind == "b":
            raise NotImplementedError('"trace" is not implemented for Bool tensors')
        return self.diagonal().sum()

    def diagonal(self, offset=0, dim1=0, dim2=1):
        d1, d2 = wrap_dim(dim1, self.ndim), wrap_dim(dim2, self.ndim)
        if self.ndim < 2:
            raise RuntimeError(f"diagonal dimensions requested must be distinct: tensor has {self.ndim} dims")
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        return Diagonal.apply(self, offset=int(offset), dim1=d1, dim2=d2)

    def diag_embed(self, offset=0, dim1=-2, dim2=-1):
        n = self.ndim + 1
        d1, d2 = wrap_dim(dim1, n), wrap_dim(dim2, n)
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        return DiagEmbed.apply(self, offset=int(offset), dim1=d1, dim2=d2)

    def diag(self, diagonal=0):
        """A 1-D tensor: the square matrix with it on the ``diagonal``-th diagonal. A 2-D
        tensor: that diagonal, as a 1-D tensor."""
        if self.ndim == 1:
            return self.diag_embed(diagonal, 0, 1)
        if self.ndim == 2:
            return self.diagonal(diagonal)
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {self.ndim}D")

    def diagflat(self, offset=0):
        """The flattened tensor on the ``offset``-th diagonal of a square matrix."""
        return self.reshape(-1).diag_embed(offset, 0, 1)

    def tril(self, diagonal=0):
        if self.ndim < 2:
            raise RuntimeError("tril: input tensor must have at least 2 dimensions")
        return Triangle.apply(self, k=int(diagonal), upper=False)

    def triu(self, diagonal=0):
        if self.ndim < 2:
            raise RuntimeError("triu: input tensor must have at least 2 dimensions")
        return Triangle.apply(self, k=int(diagonal), upper=True)

    def fill_diagonal(self, fill_value, wrap=False):
        """A copy with ``fill_value`` on the main diagonal (out-of-place form of PyTorch's
        ``fill_diagonal_``; ``wrap`` restarts it every n+1 rows of a tall matrix)."""
        if self.ndim < 2:
            raise RuntimeError("dimensions must larger than 1")
        if self.ndim > 2 and len(set(self.shape)) != 1:
            raise RuntimeError("all dimensions of input must be of equal length")
        mask = np.zeros(self.shape, bool)
        np.fill_diagonal(mask, True, wrap=wrap)
        return self.masked_fill(_tensor()._wrap(mask), fill_value)

    def svd(self, some=True, compute_uv=True):
        """``torch.svd`` (deprecated there in favour of ``linalg.svd``): the named tuple
        ``(U, S, V)`` with ``self = U diag(S) V^T`` (V, not Vh); ``some=True`` the reduced
        factors. ``compute_uv=False``: U and V are zero matrices (m x m, n x n), as PyTorch."""
        _svd_check(self, "linalg.svd", f"linalg.svd: input should have at least 2 dimensions, but has {self.ndim} "
                                        f"dimensions instead")
        if not compute_uv:
            m, n = self.shape[-2:]
            S = svdvals(self)
            zeros = _tensor()._wrap
            return svd_result(zeros(np.zeros(tuple(self.shape[:-2]) + (m, m), self.data.dtype)), S,
                              zeros(np.zeros(tuple(self.shape[:-2]) + (n, n), self.data.dtype)))
        U, S, Vh = LinalgSvd.apply(self, full_matrices=not some)
        return svd_result(U, S, Vh.transpose(-2, -1))

    def det(self):
        _square_check(self, "det")
        return Det.apply(self)

    def logdet(self):
        _square_check(self, "logdet")
        return self.det().log()

    def slogdet(self):
        from . import return_types
        _square_check(self, "slogdet")
        logabs = Slogdet.apply(self)
        sign = _tensor()._wrap(np.sign(np.linalg.det(self.data)).astype(self.data.dtype))
        return return_types.slogdet(sign, logabs)

    def inverse(self):
        _square_check(self, "inv")
        return Inverse.apply(self)

    def matrix_power(self, n):
        if self.ndim < 2 or self.shape[-1] != self.shape[-2]:
            raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but they are "
                               f"{self.shape[-2] if self.ndim >= 2 else 1} by {self.shape[-1] if self.ndim else 1} "
                               f"matrices")
        if n == 0:
            eye = np.broadcast_to(np.eye(self.shape[-1], dtype=self.data.dtype), self.shape).copy()
            return _tensor()._wrap(eye)
        base = self.inverse() if n < 0 else self
        result = None
        for _ in range(abs(int(n))):
            result = base if result is None else result.matmul(base)
        return result

    def cross(self, other, dim=None):
        a, b = _same_dtype(self, other)
        shape = np.broadcast_shapes(a.shape, b.shape)
        if dim is None:
            dims = [d for d, s in enumerate(shape) if s == 3]
            if not dims:
                raise RuntimeError(f"no dimension of size 3 in input (shapes {list(a.shape)} and {list(b.shape)})")
            d = dims[0]
        else:
            d = wrap_dim(dim, len(shape))
            if shape[d] != 3:
                raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {a.shape[d]} and "
                                   f"{b.shape[d]}")
        return Cross.apply(a, b, axis=d)


def _add_scaled(base, product, beta, alpha):
    """``beta * base + alpha * product``, ``base`` broadcast to the product's shape (and not
    read at all when beta is 0, so that its NaNs do not leak, as in PyTorch)."""
    Tensor = _tensor()
    base = base if isinstance(base, Tensor) else Tensor(base)
    try:
        ok = np.broadcast_shapes(base.shape, product.shape) == tuple(product.shape)
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"The expanded size of the input {list(base.shape)} must broadcast to the product's "
                           f"shape {list(product.shape)}")
    scaled = product if alpha == 1 else product * alpha
    if beta == 0:
        return scaled
    return (base if beta == 1 else base * beta) + scaled


def cdist(x1, x2, p=2.0, compute_mode=None):
    """The p-norm distance between each row of ``x1`` and each row of ``x2`` (batched)."""
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D, X2 got: {x2.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return diff.norm(p, dim=-1)


def chain_matmul(*matrices):
    result = matrices[0]
    for m in matrices[1:]:
        result = result.mm(m)
    return result


# the names torch also has as functions taking the tensor first
FUNCTIONS = ["matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "outer", "ger", "addmm", "addmv", "addr", "baddbmm",
             "addbmm", "kron", "trace", "diagonal", "diag_embed", "diag", "tril", "triu", "det", "logdet", "slogdet",
             "inverse", "matrix_power", "cross", "diagflat", "svd"]
PLAIN_FUNCTIONS = {"einsum": einsum, "tensordot": tensordot, "cdist": cdist, "chain_matmul": chain_matmul}


# ------------------------------------------------------------------ torch.linalg's names

class Solve(ArrayFunction):
    """X with A X = B (batched); dB = A^-T g, dA = -dB X^T."""

    @staticmethod
    def forward(ctx, a, b, vector=False):
        rhs = b[..., None] if vector else b
        try:
            x = np.linalg.solve(a, rhs)
        except np.linalg.LinAlgError:
            raise RuntimeError("linalg.solve: The solver failed because the input matrix is singular.") from None
        ctx.save_for_backward(a, x)
        ctx.vector, ctx.b_shape = vector, b.shape
        return (x[..., 0] if vector else x).astype(np.result_type(a, b))

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        g = grad[..., None] if ctx.vector else grad
        gb = np.linalg.solve(_swap(a), g)
        ga = -gb @ _swap(x)
        gb = gb[..., 0] if ctx.vector else gb
        return unbroadcast(ga, a.shape), unbroadcast(gb, ctx.b_shape)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """``torch.linalg.vector_norm``: the ``ord``-norm of the elements over ``dim`` (all by default)."""
    return x.norm(ord, dim, keepdim, dtype=dtype)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """``torch.linalg.matrix_norm``: ord 'fro' (root of the sum of squares), 'nuc' (sum of the
    singular values), 2 / -2 (largest / smallest singular value), inf / -inf (max / min
    absolute row sum), 1 / -1 (max / min absolute column sum), over the two dims ``dim``."""
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dim))}")
    d0, d1 = wrap_dim(dim[0], A.ndim), wrap_dim(dim[1], A.ndim)
    if ord == "fro":
        return A.norm(2, (d0, d1), keepdim, dtype=dtype)
    if ord in (float("inf"), -float("inf"), 1, -1):
        over, across = (d1, d0) if abs(ord) == float("inf") else (d0, d1)
        sums = A.abs().sum(over, keepdim=True)
        out = sums.amax(across, keepdim=True) if ord > 0 else sums.amin(across, keepdim=True)
        return out if keepdim else out.squeeze((d0, d1))
    if ord in (2, -2, "nuc"):
        if dtype is not None:
            A = A.to(dtype)
        S = svdvals(A.movedim((d0, d1), (-2, -1)))
        out = S.sum(-1) if ord == "nuc" else S.amax(-1) if ord == 2 else S.amin(-1)
        if keepdim:
            for d in sorted((d0, d1)):
                out = out.unsqueeze(d)
        return out
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def linalg_norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """``torch.linalg.norm``: a vector norm, or a matrix norm when ``dim`` is a pair or ``ord``
    is given for a 2-D input."""
    if isinstance(dim, numbers.Integral):
        dim = (dim,)
    if dim is not None and len(dim) == 2 or dim is None and ord is not None and A.ndim == 2:
        return matrix_norm(A, "fro" if ord is None else ord, (-2, -1) if dim is None else dim, keepdim, dtype=dtype)
    if dim is None and ord is not None and A.ndim != 1:
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got "
                           f"{A.ndim}D.")
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


def solve(A, B, *, left=True):
    """X with A X = B (B a vector or a batch of matrices)."""
    if not left:
        raise NotImplementedError("linalg.solve(left=False) is not supported; transpose: solve(A.mT, B.mT).mT")
    _square_check(A, "solve")
    a, b = _same_dtype(A, B)
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and tuple(b.shape) == tuple(a.shape[:-1]))
    return Solve.apply(a, b, vector=vector)


def multi_dot(tensors):
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError("multi_dot(): expected at least 2 tensors but got " + str(len(tensors)))
    first, last = tensors[0], tensors[-1]
    squeeze_first, squeeze_last = first.ndim == 1, last.ndim == 1
    tensors[0] = first.unsqueeze(0) if squeeze_first else first
    tensors[-1] = last.unsqueeze(1) if squeeze_last else last
    out = chain_matmul(*tensors)
    if squeeze_last:
        out = out.squeeze(-1)
    if squeeze_first:
        out = out.squeeze(0)
    return out


def vecdot(x, y, *, dim=-1):
    return (x * y).sum(dim)


def _linalg_matmul(input, other):
    return input.matmul(other)


def _det(A):
    return A.det()


def _slogdet(A):
    return A.slogdet()


def _inv(A):
    return A.inverse()


def _matrix_power(A, n):
    return A.matrix_power(n)


def _cross(input, other, *, dim=-1):
    return input.cross(other, dim)


def _diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    return A.diagonal(offset, dim1, dim2)


# ``torch.linalg.<name>``: what ``fastnn.linalg`` holds
TORCH_LINALG = {"norm": linalg_norm, "vector_norm": vector_norm, "matrix_norm": matrix_norm, "solve": solve,
                "multi_dot": multi_dot, "vecdot": vecdot, "matmul": _linalg_matmul, "det": _det, "slogdet": _slogdet,
                "inv": _inv, "matrix_power": _matrix_power, "cross": _cross, "diagonal": _diagonal, "svd": svd,
                "svdvals": svdvals}
for _name, _fn in TORCH_LINALG.items():
    _fn.__name__ = _fn.__qualname__ = _name
