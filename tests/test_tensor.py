"""The Tensor: dtype rules, attributes, conversions, arithmetic with broadcasting,
reductions, shape ops, indexing, joins, comparisons, factories, seeding, and a
finite-difference gradient check (float64) of every differentiable Tensor operation.

Expected values come from NumPy (or PyTorch for the composite expression), never
from fastnn itself.
"""
from __future__ import annotations

import numpy as np
import pytest

import fastnn
from conftest import require_torch
from fastnn import gradcheck

RNG = np.random.default_rng(1234)


def f64(*shape, positive=False, requires_grad=True):
    """A float64 tensor of random values (away from 0 when ``positive``)."""
    a = RNG.standard_normal(shape)
    if positive:
        a = np.abs(a) + 0.5
    return fastnn.tensor(a, dtype=fastnn.float64, requires_grad=requires_grad)


# =========================================================================== dtypes

class TestDtypes:
    def test_python_floats_and_lists_default_to_float32(self):
        assert fastnn.tensor(1.5).dtype == np.float32
        assert fastnn.tensor([1.0, 2.0]).dtype == np.float32
        assert fastnn.tensor([[1.0, 2], [3, 4]]).dtype == np.float32
        assert fastnn.Tensor([0.5, 0.25]).dtype == np.float32

    def test_python_ints_give_int64(self):
        assert fastnn.tensor(3).dtype == np.int64
        assert fastnn.tensor([1, 2, 3]).dtype == np.int64
        assert fastnn.tensor(np.array([1, 2], dtype=np.int32)).dtype == np.int64

    def test_bools_stay_bool(self):
        assert fastnn.tensor([True, False]).dtype == np.bool_

    def test_float64_kept_when_asked(self):
        assert fastnn.tensor([1.0, 2.0], dtype=fastnn.float64).dtype == np.float64
        assert fastnn.tensor(np.zeros(3, np.float64)).dtype == np.float64
        assert fastnn.zeros(2, dtype=fastnn.float64).dtype == np.float64
        assert fastnn.tensor([1, 2], dtype=fastnn.float32).dtype == np.float32

    def test_float16_is_promoted_to_float32(self):
        assert fastnn.tensor(np.ones(2, np.float16)).dtype == np.float32

    def test_values_survive(self):
        t = fastnn.tensor([[1.5, -2.0], [3.25, 0.0]])
        np.testing.assert_array_equal(t.numpy(), np.array([[1.5, -2.0], [3.25, 0.0]], np.float32))

    def test_tensor_copies_its_data(self):
        a = np.arange(3.0, dtype=np.float32)
        t = fastnn.tensor(a)
        a[0] = 99
        assert t.numpy()[0] == 0


# =========================================================================== attributes and conversion

class TestAttributes:
    def test_shape_ndim_dtype(self):
        t = fastnn.zeros(2, 3, 4)
        assert t.shape == (2, 3, 4)
        assert t.ndim == 3
        assert t.dtype == np.float32
        assert fastnn.tensor(2.0).shape == ()
        assert fastnn.tensor(2.0).ndim == 0

    def test_grad_and_requires_grad(self):
        t = fastnn.tensor([1.0, 2.0])
        assert t.requires_grad is False and t.grad is None
        u = fastnn.tensor([1.0, 2.0], requires_grad=True)
        assert u.requires_grad is True and u.grad is None and u.is_leaf
        assert (u * 2).requires_grad is True and not (u * 2).is_leaf

    def test_integer_tensor_cannot_require_grad(self):
        with pytest.raises(RuntimeError, match="floating point"):
            fastnn.tensor([1, 2], requires_grad=True)

    def test_numpy_shares_memory(self):
        t = fastnn.tensor([1.0, 2.0])
        a = t.numpy()
        assert isinstance(a, np.ndarray)
        a[0] = 5.0
        assert t.numpy()[0] == 5.0

    def test_array_protocol(self):
        t = fastnn.tensor([[1.0, 2.0], [3.0, 4.0]])
        a = np.asarray(t)
        assert isinstance(a, np.ndarray) and a.dtype == np.float32
        np.testing.assert_array_equal(a, [[1, 2], [3, 4]])
        assert np.asarray(t, dtype=np.float64).dtype == np.float64
        assert np.array(t).shape == (2, 2)

    def test_item(self):
        v = fastnn.tensor([[2.5]]).item()
        assert v == 2.5 and isinstance(v, float)
        assert isinstance(fastnn.tensor(7).item(), int)
        with pytest.raises(RuntimeError, match="2 elements cannot be converted to Scalar"):
            fastnn.tensor([1.0, 2.0]).item()

    def test_detach(self):
        x = fastnn.tensor([1.0, 2.0], requires_grad=True)
        y = x * 3
        d = y.detach()
        assert d.requires_grad is False and d.grad_fn is None
        np.testing.assert_array_equal(d.numpy(), [3.0, 6.0])


# =========================================================================== arithmetic

ARITH = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
    "pow": (lambda a, b: a ** b, np.power),
}
BROADCAST_SHAPES = [((3, 1), (1, 4)), ((4,), (2, 3, 4)), ((), (2, 3)), ((2, 3), ()), ((2, 1, 3), (4, 1))]


def _positive(shape):
    return (np.abs(RNG.standard_normal(shape)) + 0.5).astype(np.float32)


class TestArithmetic:
    @pytest.mark.parametrize("op", sorted(ARITH))
    @pytest.mark.parametrize("sa,sb", BROADCAST_SHAPES)
    def test_tensor_tensor_broadcasting(self, op, sa, sb):
        fop, nop = ARITH[op]
        a, b = _positive(sa), _positive(sb)
        out = fop(fastnn.tensor(a), fastnn.tensor(b))
        expected = nop(a, b)
        assert out.shape == expected.shape
        assert out.dtype == np.float32
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)

    @pytest.mark.parametrize("op", sorted(ARITH))
    def test_all_operand_orders(self, op):
        fop, nop = ARITH[op]
        a = _positive((2, 3))
        t = fastnn.tensor(a)
        arr = _positive((3,))
        cases = [
            (fop(t, 2.0), nop(a, np.float32(2.0))),       # Tensor op python scalar
            (fop(2.0, t), nop(np.float32(2.0), a)),       # python scalar op Tensor
            (fop(t, 2), nop(a, np.float32(2))),           # python int
            (fop(3, t), nop(np.float32(3), a)),
            (fop(arr, t), nop(arr, a)),                   # ndarray op Tensor
            (fop(t, arr), nop(a, arr)),                   # Tensor op ndarray
        ]
        for out, expected in cases:
            assert isinstance(out, fastnn.Tensor)
            assert out.shape == expected.shape
            assert out.dtype == np.float32
            np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)

    @pytest.mark.parametrize("scalar", [np.float64(1.5), np.float32(1.5), np.int64(2), 1.5, 2])
    @pytest.mark.parametrize("op", sorted(ARITH))
    def test_float32_preserved_with_scalars(self, op, scalar):
        fop, _ = ARITH[op]
        t = fastnn.tensor(_positive((3,)))
        assert fop(t, scalar).dtype == np.float32
        assert fop(scalar, t).dtype == np.float32

    def test_float32_preserved_with_float64_ndarray(self):
        t = fastnn.tensor(_positive((3,)))
        assert (t + np.ones(3)).dtype == np.float32
        assert (np.ones(3) * t).dtype == np.float32

    def test_float64_tensor_stays_float64(self):
        t = fastnn.tensor(np.ones(3))
        assert (t * 2.0).dtype == np.float64
        assert (t + fastnn.tensor(np.ones(3))).dtype == np.float64

    def test_integer_tensor_promotion_like_torch(self):
        i = fastnn.tensor([1, 2, 3])
        f = fastnn.tensor([0.5, 1.5, 2.5])
        assert (i + 1).dtype == np.int64
        assert (i * 1.5).dtype == np.float32
        assert (i / 2).dtype == np.float32
        assert (i * f).dtype == np.float32
        assert (f - i).dtype == np.float32
        np.testing.assert_allclose((i * f).numpy(), [0.5, 3.0, 7.5])
        np.testing.assert_allclose((i / 2).numpy(), [0.5, 1.0, 1.5])

    def test_matmul_values(self):
        for sa, sb in [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)),
                       ((5, 2, 3), (3, 4)), ((5, 2, 3), (5, 3, 4)), ((2, 1, 2, 3), (3, 3, 2))]:
            a = RNG.standard_normal(sa).astype(np.float32)
            b = RNG.standard_normal(sb).astype(np.float32)
            out = fastnn.tensor(a) @ fastnn.tensor(b)
            assert out.shape == np.matmul(a, b).shape
            assert out.dtype == np.float32
            np.testing.assert_allclose(out.numpy(), a @ b, rtol=1e-5, atol=1e-6)
        a = RNG.standard_normal((2, 3)).astype(np.float32)
        b = RNG.standard_normal((3, 2)).astype(np.float32)
        np.testing.assert_allclose((a @ fastnn.tensor(b)).numpy(), a @ b, rtol=1e-5)

    def test_matmul_shape_error_names_shapes(self):
        with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 3\)"):
            fastnn.zeros(2, 3) @ fastnn.zeros(2, 3)

    def test_unary_minus(self):
        a = RNG.standard_normal((2, 3)).astype(np.float32)
        out = -fastnn.tensor(a)
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out.numpy(), -a)

    def test_elementwise_math(self):
        a = _positive((2, 3))
        t = fastnn.tensor(a)
        for name, ref in [("exp", np.exp), ("log", np.log), ("sqrt", np.sqrt), ("abs", np.abs)]:
            out = getattr(t, name)()
            assert out.dtype == np.float32
            np.testing.assert_allclose(out.numpy(), ref(a), rtol=1e-6)
        np.testing.assert_array_equal(fastnn.tensor([-1.5, 2.0]).abs().numpy(), [1.5, 2.0])

    def test_broadcast_error(self):
        with pytest.raises(ValueError):
            fastnn.zeros(2, 3) + fastnn.zeros(2, 4)


# =========================================================================== reductions

class TestReductions:
    a = RNG.standard_normal((3, 4, 5)).astype(np.float32)

    @pytest.mark.parametrize("name", ["sum", "mean", "max", "min"])
    def test_full_reduction(self, name):
        out = getattr(fastnn.tensor(self.a), name)()
        assert out.shape == ()
        np.testing.assert_allclose(out.numpy(), getattr(np, name)(self.a), rtol=1e-5)

    @pytest.mark.parametrize("name", ["sum", "mean"])
    def test_reducing_a_0d_tensor_keeps_its_gradient_0d(self, name):
        x = fastnn.tensor(2.0, requires_grad=True)
        (getattr(x, name)() * 3).backward()
        assert x.grad.shape == () and x.grad.item() == 3.0

    @pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "var"])
    @pytest.mark.parametrize("axis", [0, 1, -1, (0, 2)])
    @pytest.mark.parametrize("keep", [False, True])
    def test_axis_keepdims_numpy_style(self, name, axis, keep):
        t = fastnn.tensor(self.a)
        out = getattr(t, name)(axis=axis, keepdims=keep)
        if name == "var":
            expected = np.var(self.a, axis=axis, keepdims=keep, ddof=1)
        else:
            expected = getattr(np, name)(self.a, axis=axis, keepdims=keep)
        assert isinstance(out, fastnn.Tensor)
        assert out.shape == expected.shape
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)

    @pytest.mark.parametrize("name", ["sum", "mean", "var"])
    def test_dim_keepdim_torch_style(self, name):
        t = fastnn.tensor(self.a)
        out = getattr(t, name)(1, keepdim=True)
        assert out.shape == (3, 1, 5)
        out = getattr(t, name)(dim=2)
        assert out.shape == (3, 4)

    def test_var_is_unbiased_by_default(self):
        x = fastnn.tensor([1.0, 2.0, 3.0, 4.0])
        assert x.var().item() == pytest.approx(np.var([1, 2, 3, 4], ddof=1))
        assert x.var(unbiased=False).item() == pytest.approx(np.var([1, 2, 3, 4]))
        assert x.var(correction=0).item() == pytest.approx(1.25)
        assert x.std().item() == pytest.approx(np.std([1, 2, 3, 4], ddof=1), rel=1e-6)

    def test_max_dim_returns_values_and_indices(self):
        a = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], np.float32)
        t = fastnn.tensor(a)
        values, indices = t.max(1)
        np.testing.assert_array_equal(values.numpy(), [5.0, 6.0])
        np.testing.assert_array_equal(indices.numpy(), [1, 2])
        assert indices.dtype == np.int64
        r = t.max(dim=0)
        np.testing.assert_array_equal(r.values.numpy(), [4, 5, 6])
        np.testing.assert_array_equal(r.indices.numpy(), [1, 0, 1])
        values, indices = t.min(1, keepdim=True)
        assert values.shape == (2, 1) and indices.shape == (2, 1)
        np.testing.assert_array_equal(indices.numpy(), [[0], [1]])

    def test_max_axis_returns_values(self):
        a = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], np.float32)
        out = fastnn.tensor(a).max(axis=1)
        assert isinstance(out, fastnn.Tensor)
        np.testing.assert_array_equal(out.numpy(), [5.0, 6.0])
        assert isinstance(fastnn.tensor(a).min(axis=0), fastnn.Tensor)

    def test_argmax(self):
        t = fastnn.tensor(self.a)
        np.testing.assert_array_equal(t.argmax(1).numpy(), np.argmax(self.a, 1))


# =========================================================================== shape ops

class TestShape:
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)

    def test_reshape_view_flatten(self):
        t = fastnn.tensor(self.a)
        np.testing.assert_array_equal(t.reshape(4, 6).numpy(), self.a.reshape(4, 6))
        np.testing.assert_array_equal(t.reshape((6, -1)).numpy(), self.a.reshape(6, -1))
        np.testing.assert_array_equal(t.view(-1).numpy(), self.a.reshape(-1))
        assert t.flatten().shape == (24,)
        assert t.flatten(1).shape == (2, 12)
        assert t.flatten(0, 1).shape == (6, 4)
        with pytest.raises(ValueError, match="reshape"):
            t.reshape(5, 5)

    def test_transpose_permute_T(self):
        t = fastnn.tensor(self.a)
        np.testing.assert_array_equal(t.transpose(0, 2).numpy(), np.swapaxes(self.a, 0, 2))
        np.testing.assert_array_equal(t.transpose(-1, 0).numpy(), np.swapaxes(self.a, -1, 0))
        np.testing.assert_array_equal(t.permute(2, 0, 1).numpy(), np.transpose(self.a, (2, 0, 1)))
        np.testing.assert_array_equal(t.permute((1, 2, 0)).numpy(), np.transpose(self.a, (1, 2, 0)))
        m = fastnn.tensor(self.a[0])
        np.testing.assert_array_equal(m.T.numpy(), self.a[0].T)

    def test_unsqueeze_squeeze(self):
        t = fastnn.tensor(self.a)
        assert t.unsqueeze(0).shape == (1, 2, 3, 4)
        assert t.unsqueeze(-1).shape == (2, 3, 4, 1)
        assert t.unsqueeze(1).shape == (2, 1, 3, 4)
        s = fastnn.zeros(1, 3, 1, 2)
        assert s.squeeze().shape == (3, 2)
        assert s.squeeze(0).shape == (3, 1, 2)
        assert s.squeeze(-2).shape == (1, 3, 2)
        assert s.squeeze(1).shape == (1, 3, 1, 2)      # not of size 1: unchanged
        scalar = fastnn.tensor(2.0)
        assert scalar.squeeze().shape == () and scalar.squeeze(0).shape == () and scalar.squeeze(-1).shape == ()
        assert scalar.unsqueeze(0).shape == (1,)


# =========================================================================== indexing

class TestIndexing:
    a = np.arange(20, dtype=np.float32).reshape(4, 5)

    @pytest.mark.parametrize("index", [
        1, -1, (1, 2), slice(1, 3), (slice(None), slice(None, None, -1)), (slice(None, None, -2), 1),
        (Ellipsis, 0), (None, 2),
    ])
    def test_basic_indexing(self, index):
        out = fastnn.tensor(self.a)[index]
        np.testing.assert_array_equal(out.numpy(), self.a[index])

    def test_integer_arrays_and_masks(self):
        t = fastnn.tensor(self.a)
        np.testing.assert_array_equal(t[[0, 0, 3]].numpy(), self.a[[0, 0, 3]])
        np.testing.assert_array_equal(t[np.array([2, 2])].numpy(), self.a[[2, 2]])
        np.testing.assert_array_equal(t[fastnn.tensor([3, 1])].numpy(), self.a[[3, 1]])
        np.testing.assert_array_equal(t[np.array([0, 1]), np.array([4, 4])].numpy(), self.a[[0, 1], [4, 4]])
        mask = self.a > 7
        np.testing.assert_array_equal(t[t > 7].numpy(), self.a[mask])
        np.testing.assert_array_equal(t[fastnn.tensor([True, False, False, True])].numpy(), self.a[[0, 3]])

    def test_repeated_indices_accumulate_gradient(self):
        x = fastnn.tensor([1.0, 2.0, 3.0], requires_grad=True)
        x[[0, 0, 2, 0]].sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 1.0])
        w = fastnn.tensor(np.ones((3, 2)), requires_grad=True)
        (w[fastnn.tensor([1, 1])] * fastnn.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=fastnn.float64)).sum().backward()
        np.testing.assert_array_equal(w.grad.numpy(), [[0, 0], [4, 6], [0, 0]])

    def test_mask_gradient(self):
        x = fastnn.tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
        (x[x > 0] * 2).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [0, 2, 0, 2])


# =========================================================================== joins, comparisons

class TestJoins:
    def test_cat(self):
        a, b = np.ones((2, 3), np.float32), np.zeros((2, 1), np.float32)
        out = fastnn.cat([fastnn.tensor(a), fastnn.tensor(b)], dim=1)
        np.testing.assert_array_equal(out.numpy(), np.concatenate([a, b], 1))
        out = fastnn.cat([fastnn.tensor(a), fastnn.tensor(a)], dim=0)
        assert out.shape == (4, 3)
        assert fastnn.cat([fastnn.tensor(a), fastnn.tensor(b)], dim=-1).shape == (2, 4)
        with pytest.raises(RuntimeError, match="Sizes of tensors must match except in dimension"):
            fastnn.cat([fastnn.tensor(a), fastnn.tensor(b)], dim=0)

    def test_stack(self):
        a, b = np.ones((2, 3), np.float32), np.arange(6, dtype=np.float32).reshape(2, 3)
        for dim in (0, 1, 2, -1):
            out = fastnn.stack([fastnn.tensor(a), fastnn.tensor(b)], dim=dim)
            np.testing.assert_array_equal(out.numpy(), np.stack([a, b], axis=dim))
        with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
            fastnn.stack([fastnn.zeros(2), fastnn.zeros(3)])

    def test_comparisons_are_bool_without_grad(self):
        a = np.array([1.0, 2.0, 3.0], np.float32)
        x = fastnn.tensor(a, requires_grad=True)
        other = fastnn.tensor([2.0, 2.0, 2.0])
        for op, ref in [("__lt__", np.less), ("__le__", np.less_equal), ("__gt__", np.greater),
                        ("__ge__", np.greater_equal), ("__eq__", np.equal), ("__ne__", np.not_equal)]:
            for rhs, rhs_np in [(other, other.numpy()), (2.0, 2.0)]:
                out = getattr(x, op)(rhs)
                assert isinstance(out, fastnn.Tensor)
                assert out.dtype == np.bool_
                assert out.requires_grad is False
                np.testing.assert_array_equal(out.numpy(), ref(a, rhs_np))
        out = np.array([2.0, 2.0, 2.0]) < x
        assert isinstance(out, fastnn.Tensor)
        np.testing.assert_array_equal(out.numpy(), [False, False, True])


# =========================================================================== factories, seeding

class TestFactories:
    @pytest.mark.parametrize("factory", [fastnn.zeros, fastnn.ones, fastnn.randn, fastnn.rand])
    def test_float_factories(self, factory):
        t = factory(2, 3)
        assert t.shape == (2, 3) and t.dtype == np.float32
        assert factory((4,)).shape == (4,)
        assert factory(2, dtype=fastnn.float64).dtype == np.float64
        assert factory(2, requires_grad=True).requires_grad

    def test_values(self):
        np.testing.assert_array_equal(fastnn.zeros(2, 2).numpy(), np.zeros((2, 2)))
        np.testing.assert_array_equal(fastnn.ones(3).numpy(), np.ones(3))
        r = fastnn.rand(1000).numpy()
        assert r.min() >= 0.0 and r.max() < 1.0
        n = fastnn.randn(4000).numpy()
        assert abs(n.mean()) < 0.1 and 0.9 < n.std() < 1.1

    def test_full(self):
        t = fastnn.full((2, 3), 1.5)
        assert t.shape == (2, 3) and t.dtype == np.float32
        np.testing.assert_array_equal(t.numpy(), np.full((2, 3), 1.5))
        assert fastnn.full((2,), 7).dtype == np.int64          # as torch.full
        assert fastnn.full((2,), 7, dtype=fastnn.float32).dtype == np.float32
        assert fastnn.full(3, 0.0).shape == (3,)

    def test_arange(self):
        t = fastnn.arange(5)
        assert t.dtype == np.int64
        np.testing.assert_array_equal(t.numpy(), np.arange(5))
        np.testing.assert_array_equal(fastnn.arange(2, 10, 3).numpy(), [2, 5, 8])
        f = fastnn.arange(0.0, 1.0, 0.25)
        assert f.dtype == np.float32
        np.testing.assert_array_equal(f.numpy(), [0, 0.25, 0.5, 0.75])
        assert fastnn.arange(3, dtype=fastnn.float64).dtype == np.float64

    def test_like(self):
        x = fastnn.randn(2, 3)
        z, o = fastnn.zeros_like(x), fastnn.ones_like(x)
        assert z.shape == o.shape == (2, 3)
        assert z.dtype == o.dtype == np.float32
        np.testing.assert_array_equal(o.numpy(), np.ones((2, 3)))
        i = fastnn.arange(4)
        assert fastnn.zeros_like(i).dtype == np.int64
        assert fastnn.ones_like(x, dtype=fastnn.float64).dtype == np.float64
        d = fastnn.zeros(2, dtype=fastnn.float64)
        assert fastnn.ones_like(d).dtype == np.float64

    def test_manual_seed_reproducible(self):
        fastnn.manual_seed(42)
        a, b = fastnn.randn(5), fastnn.rand(3)
        fastnn.manual_seed(42)
        c, d = fastnn.randn(5), fastnn.rand(3)
        np.testing.assert_array_equal(a.numpy(), c.numpy())
        np.testing.assert_array_equal(b.numpy(), d.numpy())
        fastnn.manual_seed(43)
        assert not np.array_equal(fastnn.randn(5).numpy(), a.numpy())

    def test_rng_state_roundtrip(self):
        fastnn.manual_seed(0)
        state = fastnn.get_rng_state()
        a = fastnn.randn(3)
        fastnn.set_rng_state(state)
        np.testing.assert_array_equal(fastnn.randn(3).numpy(), a.numpy())


# =========================================================================== gradient checks (float64)

def _binary(op):
    return ARITH[op][0]


GRADCHECKS = {
    # broadcasting arithmetic
    **{f"{op}-{sa}-{sb}": (_binary(op), [f64(*sa, positive=True), f64(*sb, positive=True)])
       for op in ARITH for sa, sb in [((3, 1), (1, 4)), ((4,), (2, 3, 4)), ((), (2, 3)), ((2, 3), ())]},
    "add-same": (lambda a, b: a + b, [f64(2, 3), f64(2, 3)]),
    "pow-tensor-exponent": (lambda a, b: a ** b, [f64(2, 3, positive=True), f64(2, 3)]),
    "pow-int": (lambda a: a ** 3, [f64(2, 3)]),
    "pow-float": (lambda a: a ** 0.5, [f64(2, 3, positive=True)]),
    "rpow": (lambda a: 2.0 ** a, [f64(3)]),
    "radd": (lambda a: 2.0 + a, [f64(3)]),
    "rsub": (lambda a: 2.0 - a, [f64(3)]),
    "rmul": (lambda a: 2.0 * a, [f64(3)]),
    "rdiv": (lambda a: 2.0 / a, [f64(3, positive=True)]),
    "ndarray-op-tensor": (lambda a: np.array([1.0, 2.0, 3.0]) * a - np.array([0.5, 0.0, 1.0]), [f64(2, 3)]),
    "neg": (lambda a: -a, [f64(2, 3)]),
    # matmul
    "mm-1d-1d": (lambda a, b: a @ b, [f64(3), f64(3)]),
    "mm-1d-2d": (lambda a, b: a @ b, [f64(3), f64(3, 2)]),
    "mm-2d-1d": (lambda a, b: a @ b, [f64(2, 3), f64(3)]),
    "mm-2d-2d": (lambda a, b: a @ b, [f64(2, 3), f64(3, 2)]),
    "mm-3d-1d": (lambda a, b: a @ b, [f64(2, 2, 3), f64(3)]),
    "mm-1d-3d": (lambda a, b: a @ b, [f64(3), f64(2, 3, 2)]),
    "mm-3d-2d": (lambda a, b: a @ b, [f64(2, 2, 3), f64(3, 2)]),
    "mm-2d-3d": (lambda a, b: a @ b, [f64(2, 3), f64(2, 3, 2)]),
    "mm-3d-3d": (lambda a, b: a @ b, [f64(2, 2, 3), f64(2, 3, 2)]),
    "mm-batch-broadcast": (lambda a, b: a @ b, [f64(2, 1, 2, 3), f64(3, 3, 2)]),
    # elementwise math
    "exp": (lambda a: a.exp(), [f64(2, 3)]),
    "log": (lambda a: a.log(), [f64(2, 3, positive=True)]),
    "sqrt": (lambda a: a.sqrt(), [f64(2, 3, positive=True)]),
    "abs": (lambda a: a.abs(), [fastnn.tensor([[-1.2, 0.7, -0.3], [0.4, -2.0, 1.1]], dtype=fastnn.float64,
                                              requires_grad=True)]),
    # reductions
    "sum-all": (lambda a: a.sum(), [f64(2, 3)]),
    "sum-dim": (lambda a: a.sum(1), [f64(2, 3)]),
    "sum-axes-keep": (lambda a: a.sum(axis=(0, 2), keepdims=True), [f64(2, 3, 2)]),
    "mean-all": (lambda a: a.mean(), [f64(2, 3)]),
    "mean-dim": (lambda a: a.mean(-1, keepdim=True), [f64(2, 3)]),
    "max-all": (lambda a: a.max(), [f64(2, 3)]),
    "max-dim": (lambda a: a.max(1)[0], [f64(2, 3)]),
    "max-axis-keep": (lambda a: a.max(axis=0, keepdims=True), [f64(2, 3)]),
    "min-dim": (lambda a: a.min(0).values, [f64(2, 3)]),
    "var-all": (lambda a: a.var(), [f64(2, 3)]),
    "var-dim": (lambda a: a.var(1), [f64(2, 3)]),
    "var-biased-keep": (lambda a: a.var(0, keepdim=True, unbiased=False), [f64(2, 3)]),
    "std": (lambda a: a.std(1), [f64(2, 3)]),
    # shapes
    "reshape": (lambda a: a.reshape(3, 2), [f64(2, 3)]),
    "view": (lambda a: a.view(-1), [f64(2, 3)]),
    "flatten": (lambda a: a.flatten(1), [f64(2, 3, 2)]),
    "transpose": (lambda a: a.transpose(0, 2), [f64(2, 3, 2)]),
    "permute": (lambda a: a.permute(2, 0, 1), [f64(2, 3, 2)]),
    "T": (lambda a: a.T, [f64(2, 3)]),
    "unsqueeze": (lambda a: a.unsqueeze(1), [f64(2, 3)]),
    "squeeze": (lambda a: a.squeeze(), [f64(2, 1, 3)]),
    # indexing
    "getitem-int": (lambda a: a[1], [f64(3, 2)]),
    "getitem-slices-negative-step": (lambda a: a[::-1, 1:], [f64(3, 3)]),
    "getitem-step-2": (lambda a: a[:, ::-2], [f64(2, 5)]),
    "getitem-repeated": (lambda a: a[np.array([0, 0, 2, 0])], [f64(3, 2)]),
    "getitem-list-repeated": (lambda a: a[[1, 1]], [f64(3, 2)]),
    "getitem-pairs-repeated": (lambda a: a[np.array([0, 0, 1]), np.array([1, 1, 0])], [f64(3, 2)]),
    "getitem-mask": (lambda a: a[fastnn.tensor([True, False, True])], [f64(3, 2)]),
    "getitem-ellipsis-none": (lambda a: a[None, ..., 0], [f64(2, 3)]),
    # joins, others
    "cat": (lambda a, b: fastnn.cat([a, b], dim=1), [f64(2, 3), f64(2, 1)]),
    "cat-neg-dim": (lambda a, b: fastnn.cat([a, b, a], dim=-1), [f64(2, 3), f64(2, 1)]),
    "stack": (lambda a, b: fastnn.stack([a, b], dim=1), [f64(2, 3), f64(2, 3)]),
    "stack-last": (lambda a, b: fastnn.stack([a, b], dim=-1), [f64(2, 3), f64(2, 3)]),
    "clamp": (lambda a: a.clamp(-0.5, 0.5), [fastnn.tensor([-1.0, -0.2, 0.1, 0.9], dtype=fastnn.float64,
                                                           requires_grad=True)]),
    "where": (lambda a, b: fastnn.where(np.array([True, False, True]), a, b), [f64(2, 3), f64(3)]),
    "clone": (lambda a: a.clone() * 2, [f64(3)]),
    "min-all": (lambda a: a.min(), [f64(2, 3)]),
    "nn-shortcut-methods": (lambda a: a.sigmoid() + a.tanh() * a.softmax(0) - a.log_softmax(-1)
                            + (a + 5.0).relu(), [f64(2, 3)]),
    # one input used several times
    "reuse": (lambda a: a * a + a.exp() * a, [f64(2, 2)]),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKS))
def test_gradcheck(name):
    fn, inputs = GRADCHECKS[name]
    assert gradcheck(fn, inputs)


def test_gradcheck_non_contiguous_input():
    a = RNG.standard_normal((3, 2)).T               # a Fortran-ordered copy stays Fortran-ordered
    t = fastnn.tensor(a, dtype=fastnn.float64, requires_grad=True)
    assert gradcheck(lambda x: x * x.sum(0), [t])


def test_cast_passes_gradient_back_in_the_source_dtype():
    x = fastnn.tensor([1.0, 2.0], dtype=fastnn.float64, requires_grad=True)
    y = x.float()
    assert y.dtype == np.float32 and y.requires_grad
    (y * fastnn.tensor([3.0, 4.0])).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    assert x.double() is x


def test_float32_gradients_stay_float32():
    x = fastnn.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(2):                              # accumulation must not promote either
        ((2 ** x) * x + x / 3).sum().backward()
    assert x.grad.dtype == np.float32


# =========================================================================== against PyTorch

@pytest.mark.torch
def test_composite_expression_matches_torch():
    torch = require_torch()
    rng = np.random.default_rng(7)
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((4,)).astype(np.float32)
    c = (np.abs(rng.standard_normal((3, 1))) + 0.5).astype(np.float32)
    w = rng.standard_normal((4, 2)).astype(np.float32)

    def expr(x, y, z, m):
        h = (x * y - z / 2.0) ** 2 + (x.abs() + 1.0).log() * z.sqrt()
        h = (h @ m).exp() / (1.0 + z)
        s = h.sum(1, keepdim=True)
        mx = h.max(1)[0]
        return (s.T @ s).sum() + mx.mean() - h.var() + (-h[1:, ::1]).sum() + h[[0, 0, 2]].sum() * 0.1

    ft = [fastnn.tensor(v, requires_grad=True) for v in (a, b, c, w)]
    tt = [torch.tensor(v, requires_grad=True) for v in (a, b, c, w)]
    fout = expr(*ft)
    tout = expr(*tt)
    assert fout.dtype == np.float32
    np.testing.assert_allclose(fout.item(), tout.item(), rtol=1e-4)
    fout.backward()
    tout.backward()
    for f, t in zip(ft, tt):
        assert f.grad.dtype == np.float32
        np.testing.assert_allclose(f.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)
