"""``fastnn.linalg.svd`` / ``svdvals``, ``fastnn.svd`` (U, S, V) and the SVD matrix norms
(ord 2, -2, 'nuc') against PyTorch. Singular vectors are unique only up to sign (a pair
u_i, v_i may both flip), so the tests compare S exactly, U diag(S) Vh against A, the
orthonormality of U and V, and values and gradients of sign-invariant functions: sums of
S, products u_i v_iᵀ weighted by anything (the sign cancels), projections U Uᵀ and V Vᵀ."""
from __future__ import annotations

import numpy as np
import pytest

import fastnn

SHAPES = [(5, 3), (3, 5), (4, 4), (1, 4), (4, 1), (2, 6, 4), (3, 2, 5), (2, 3, 4, 4), (2, 1, 7, 3)]


def _rand(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _pair(torch, a):
    return fastnn.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


@pytest.mark.parametrize("full_matrices", [True, False])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_svd_values(torch, shape, full_matrices):
    a = _rand(shape)
    U, S, Vh = fastnn.linalg.svd(fastnn.tensor(a), full_matrices=full_matrices)
    tU, tS, tVh = torch.linalg.svd(torch.tensor(a), full_matrices=full_matrices)
    assert U.shape == tuple(tU.shape) and S.shape == tuple(tS.shape) and Vh.shape == tuple(tVh.shape)
    np.testing.assert_allclose(S.numpy(), tS.numpy(), rtol=1e-10, atol=1e-12)
    k = S.shape[-1]
    u, s, vh = U.numpy(), S.numpy(), Vh.numpy()
    np.testing.assert_allclose((u[..., :k] * s[..., None, :]) @ vh[..., :k, :], a, atol=1e-10)
    for q in (u, np.swapaxes(vh, -1, -2)):                       # orthonormal columns
        np.testing.assert_allclose(np.swapaxes(q, -1, -2) @ q, np.broadcast_to(np.eye(q.shape[-1]), q.shape[:-2]
                                   + (q.shape[-1],) * 2), atol=1e-10)
    # each pair (u_i, v_i) equals PyTorch's up to one sign
    tu, tvh = tU.numpy()[..., :k], tVh.numpy()[..., :k, :]
    sign = np.sign(np.sum(u[..., :k] * tu, axis=-2))
    np.testing.assert_allclose(u[..., :k] * sign[..., None, :], tu, atol=1e-8)
    np.testing.assert_allclose(vh[..., :k, :] * sign[..., :, None], tvh, atol=1e-8)


def test_named_tuple_and_float32(torch):
    a = _rand((4, 3), dtype=np.float32)
    result = fastnn.linalg.svd(fastnn.tensor(a))
    assert type(result).__name__ == type(torch.linalg.svd(torch.tensor(a))).__name__ == "linalg_svd"
    assert result._fields == ("U", "S", "Vh") and isinstance(result, tuple)
    assert result.U.dtype == fastnn.float32 and result.S.dtype == fastnn.float32
    np.testing.assert_allclose(result.S.numpy(), torch.linalg.svdvals(torch.tensor(a)).numpy(), rtol=1e-5)
    assert "linalg_svd(" in repr(result)
    old = fastnn.svd(fastnn.tensor(a))
    assert type(old).__name__ == "svd" and old._fields == ("U", "S", "V")


def _losses(lib, U, S, Vh, W, C):
    """Sign-invariant functions of the factors (k = S's length)."""
    k = S.shape[-1]
    Uk, Vhk = U[..., :k], Vh[..., :k, :]
    t = (lambda x: lib.tensor(x)) if lib is fastnn else (lambda x: lib.tensor(x))
    c = t(C)
    return {
        "S": (S * t(np.arange(1.0, k + 1))).sum(),
        "USVh": (t(W) * ((Uk * S.unsqueeze(-2)) @ Vhk)).sum(),
        "UcVh": (t(W) * ((Uk * c.unsqueeze(-2)) @ Vhk)).sum(),           # tests gU and gVh together
        "UUt": (t(W[..., :, :1]) * (Uk @ Uk.transpose(-2, -1))[..., :, :1]).sum(),     # gU alone
        "VVt": ((Vhk.transpose(-2, -1) @ Vhk) * t(np.ones(Vh.shape[-1]))).sum(-1).pow(2).sum()
        + (Vhk[..., :1, :].transpose(-2, -1) @ Vhk[..., :1, :] * t(W[..., :1, :1])).sum(),  # gVh alone
        "all": (S.pow(2).sum() + (t(W) * ((Uk * c.unsqueeze(-2)) @ Vhk)).sum()
                + (Uk @ Uk.transpose(-2, -1)).pow(2).sum()),
    }


@pytest.mark.parametrize("full_matrices", [False, True])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("loss", ["S", "USVh", "UcVh", "UUt", "VVt", "all"])
def test_svd_gradients(torch, shape, full_matrices, loss):
    a = _rand(shape, seed=1)
    k = min(shape[-2:])
    W = _rand(shape, seed=2)
    C = _rand(shape[:-2] + (k,), seed=3)
    fa, ta = _pair(torch, a)
    fl = _losses(fastnn, *fastnn.linalg.svd(fa, full_matrices=full_matrices), W, C)[loss]
    tl = _losses(torch, *torch.linalg.svd(ta, full_matrices=full_matrices), W, C)[loss]
    np.testing.assert_allclose(fl.item(), tl.item(), rtol=1e-9, atol=1e-10)
    fl.backward()
    tl.backward()
    np.testing.assert_allclose(fa.grad.numpy(), ta.grad.numpy(), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("shape", [(6, 3), (3, 6), (2, 5, 2)], ids=str)
def test_full_matrices_extra_columns_are_ignored_like_pytorch(torch, shape):
    """The columns of U (rows of Vh) beyond min(m, n) are an arbitrary basis of a complement;
    PyTorch drops their gradient: so does fastnn (the projection onto that complement is
    unique, so the comparison is meaningful)."""
    a = _rand(shape, seed=4)
    W = _rand(shape[:-1] + (shape[-2],), seed=5)
    k = min(shape[-2:])
    grads = []
    for lib in (fastnn, torch):
        x = lib.tensor(a, requires_grad=True)
        U, S, Vh = lib.linalg.svd(x, full_matrices=True)
        Ue = U[..., k:]
        ((Ue @ Ue.transpose(-2, -1)) * lib.tensor(W)).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], atol=1e-10)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_svdvals(torch, shape):
    a = _rand(shape, seed=6)
    fa, ta = _pair(torch, a)
    fs, ts = fastnn.linalg.svdvals(fa), torch.linalg.svdvals(ta)
    np.testing.assert_allclose(fs.numpy(), ts.detach().numpy(), rtol=1e-10, atol=1e-12)
    w = _rand(tuple(ts.shape), seed=7)
    (fs * fastnn.tensor(w)).sum().backward()
    (ts * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(fa.grad.numpy(), ta.grad.numpy(), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("some", [True, False])
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (2, 4, 4)], ids=str)
def test_torch_svd_u_s_v(torch, shape, some):
    a = _rand(shape, seed=8)
    fa, ta = _pair(torch, a)
    U, S, V = fastnn.svd(fa, some=some)
    tU, tS, tV = torch.svd(ta, some=some)
    assert U.shape == tuple(tU.shape) and V.shape == tuple(tV.shape)
    k = S.shape[-1]
    np.testing.assert_allclose((U[..., :k] * S.unsqueeze(-2) @ V[..., :k].transpose(-2, -1)).detach().numpy(), a,
                               atol=1e-10)
    W = _rand(shape, seed=9)
    fl = (fastnn.tensor(W) * ((U[..., :k] * S.pow(2).unsqueeze(-2)) @ V[..., :k].transpose(-2, -1))).sum()
    tl = (torch.tensor(W) * ((tU[..., :k] * tS.pow(2).unsqueeze(-2)) @ tV[..., :k].transpose(-2, -1))).sum()
    fl.backward()
    tl.backward()
    np.testing.assert_allclose(fl.item(), tl.item(), rtol=1e-9)
    np.testing.assert_allclose(fa.grad.numpy(), ta.grad.numpy(), rtol=1e-7, atol=1e-9)
    # the method form, and compute_uv=False: zero U and V of full size, S with its gradient
    U2, S2, V2 = fastnn.tensor(a).svd(compute_uv=False)
    tU2, tS2, tV2 = torch.tensor(a).svd(compute_uv=False)
    assert U2.shape == tuple(tU2.shape) and V2.shape == tuple(tV2.shape)
    assert not U2.numpy().any() and not V2.numpy().any()
    np.testing.assert_allclose(S2.numpy(), tS2.numpy(), rtol=1e-10)


@pytest.mark.parametrize("ord", [2, -2, "nuc", "fro", 1, float("inf")])
@pytest.mark.parametrize("shape, dim, keepdim", [((4, 3), (-2, -1), False), ((3, 5), (0, 1), True),
                                                 ((2, 4, 3), (-1, -2), False), ((3, 2, 4), (0, 2), True),
                                                 ((2, 3, 4, 5), (1, 3), False)], ids=str)
def test_matrix_norms_through_the_svd(torch, ord, shape, dim, keepdim):
    a = _rand(shape, seed=10)
    fa, ta = _pair(torch, a)
    fn = fastnn.linalg.matrix_norm(fa, ord, dim, keepdim)
    tn = torch.linalg.matrix_norm(ta, ord, dim, keepdim)
    assert fn.shape == tuple(tn.shape)
    np.testing.assert_allclose(fn.detach().numpy(), tn.detach().numpy(), rtol=1e-10)
    w = _rand(tuple(tn.shape), seed=11)
    (fn * fastnn.tensor(w)).sum().backward()
    (tn * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(fa.grad.numpy(), ta.grad.numpy(), rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("ord", [2, -2, "nuc"])
def test_linalg_norm_matrix_ords(torch, ord):
    a = _rand((4, 6), seed=12)
    np.testing.assert_allclose(fastnn.linalg.norm(fastnn.tensor(a), ord).item(),
                               torch.linalg.norm(torch.tensor(a), ord).item(), rtol=1e-12)
    b = _rand((2, 3, 4), seed=13)
    np.testing.assert_allclose(fastnn.linalg.norm(fastnn.tensor(b), ord, dim=(0, 2)).numpy(),
                               torch.linalg.norm(torch.tensor(b), ord, dim=(0, 2)).numpy(), rtol=1e-12)


@pytest.mark.parametrize("call", ["svd 1-d", "svd int", "svdvals 1-d", "torch.svd 1-d", "norm ord 3"])
def test_errors_like_pytorch(torch, call):
    def run(lib):
        if call == "svd 1-d":
            return lib.linalg.svd(lib.ones(3))
        if call == "svd int":
            return lib.linalg.svd(lib.ones(3, 3, dtype=lib.int64))
        if call == "svdvals 1-d":
            return lib.linalg.svdvals(lib.ones(3))
        if call == "torch.svd 1-d":
            return lib.svd(lib.ones(3))
        return lib.linalg.matrix_norm(lib.ones(3, 3), 3)

    with pytest.raises(Exception) as expected:
        run(torch)
    with pytest.raises(type(expected.value)) as actual:
        run(fastnn)
    if call != "svd int":                                            # dtype names differ (Long / fastnn.int64)
        assert str(actual.value) == str(expected.value)


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (2, 0, 0)], ids=str)
@pytest.mark.parametrize("full_matrices", [True, False])
def test_empty_matrices_like_pytorch(torch, shape, full_matrices):
    ours = fastnn.linalg.svd(fastnn.zeros(*shape), full_matrices=full_matrices)
    theirs = torch.linalg.svd(torch.zeros(*shape), full_matrices=full_matrices)
    for a, b in zip(ours, theirs):
        assert a.shape == tuple(b.shape)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
