"""Loss modules against PyTorch's: value and input gradient for every reduction and option
(class weights, ignore_index, label_smoothing, pos_weight)."""
from __future__ import annotations

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def both(torch, name, kwargs, x, target, target_grad=False, rtol=1e-5, atol=1e-6):
    """Loss value and d(loss)/d(input) (and d/d(target) when asked) in both libraries."""
    fkw = {k: (fastnn.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    tkw = {k: (torch.from_numpy(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    fx, tx = fastnn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    float_target = target.dtype.kind == "f"
    ft = fastnn.tensor(target, requires_grad=target_grad and float_target)
    tt = torch.tensor(target, requires_grad=target_grad and float_target)
    fl, tl = getattr(nn, name)(**fkw)(fx, ft), getattr(torch.nn, name)(**tkw)(tx, tt)
    assert fl.shape == tuple(tl.shape)
    np.testing.assert_allclose(fl.data, tl.detach().numpy(), rtol=rtol, atol=atol, err_msg="loss")
    g = rand(*tl.shape, seed=9) if tl.ndim else np.float32(1.0)
    fl.backward(np.asarray(g, dtype=np.float32))
    tl.backward(torch.tensor(g))
    np.testing.assert_allclose(fx.grad.data, tx.grad.numpy(), rtol=1e-4, atol=1e-6, err_msg="input grad")
    if target_grad and float_target:
        np.testing.assert_allclose(ft.grad.data, tt.grad.numpy(), rtol=1e-4, atol=1e-6, err_msg="target grad")


REDUCTIONS = ["mean", "sum", "none"]
CE_OPTIONS = [{}, {"weight": np.array([0.2, 1.0, 3.0, 0.5], np.float32)}, {"ignore_index": 1},
              {"weight": np.array([0.2, 1.0, 3.0, 0.5], np.float32), "ignore_index": 2},
              {"label_smoothing": 0.1}, {"label_smoothing": 0.25, "ignore_index": 0}]


@pytest.mark.parametrize("options", CE_OPTIONS, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy(torch, options, reduction):
    target = np.array([0, 1, 2, 3, 1, 2, 0], np.int64)
    both(torch, "CrossEntropyLoss", dict(options, reduction=reduction), 2 * rand(7, 4), target)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_spatial(torch, reduction):
    target = np.random.default_rng(0).integers(0, 3, (2, 4, 5))
    both(torch, "CrossEntropyLoss", dict(reduction=reduction, ignore_index=1), rand(2, 3, 4, 5), target)


@pytest.mark.parametrize("options", CE_OPTIONS[:4], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(torch, options, reduction):
    logp = np.log(np.random.default_rng(1).dirichlet(np.ones(4), size=6)).astype(np.float32)
    both(torch, "NLLLoss", dict(options, reduction=reduction), logp, np.array([3, 1, 2, 0, 1, 2]))


def test_log_softmax_then_nll_equals_cross_entropy():
    x, t = fastnn.randn(5, 3), fastnn.tensor([0, 2, 1, 1, 0])
    a = nn.NLLLoss()(nn.LogSoftmax(dim=1)(x), t)
    b = nn.CrossEntropyLoss()(x, t)
    assert a.item() == pytest.approx(b.item(), rel=1e-6)


@pytest.mark.parametrize("name", ["MSELoss", "L1Loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses(torch, name, reduction):
    both(torch, name, {"reduction": reduction}, rand(4, 3), rand(4, 3, seed=1), target_grad=True)


@pytest.mark.parametrize("weight", [None, np.array([0.5, 2.0, 1.0], np.float32)], ids=["noweight", "weight"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce(torch, weight, reduction):
    rng = np.random.default_rng(2)
    p = rng.uniform(0.02, 0.98, (5, 3)).astype(np.float32)
    t = rng.uniform(0, 1, (5, 3)).astype(np.float32)
    kwargs = {"reduction": reduction} if weight is None else {"reduction": reduction, "weight": weight}
    both(torch, "BCELoss", kwargs, p, t)


@pytest.mark.parametrize("options", [{}, {"pos_weight": np.array([1.0, 3.0, 0.5], np.float32)},
                                     {"weight": np.array([2.0, 1.0, 0.1], np.float32),
                                      "pos_weight": np.array([4.0, 1.0, 2.0], np.float32)}], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits(torch, options, reduction):
    t = (np.random.default_rng(3).uniform(0, 1, (6, 3)) > 0.5).astype(np.float32)
    both(torch, "BCEWithLogitsLoss", dict(options, reduction=reduction), 4 * rand(6, 3), t)


def test_bce_with_logits_is_stable_for_large_logits(torch):
    x = np.array([[80.0, -80.0, 30.0]], np.float32)
    both(torch, "BCEWithLogitsLoss", {}, x, np.array([[0.0, 1.0, 1.0]], np.float32))


def test_weights_are_buffers_in_state_dict(torch):
    w = np.array([1.0, 2.0], np.float32)
    assert list(nn.CrossEntropyLoss(weight=fastnn.tensor(w)).state_dict()) == \
        list(torch.nn.CrossEntropyLoss(weight=torch.tensor(w)).state_dict())
    assert list(nn.BCEWithLogitsLoss(pos_weight=fastnn.tensor(w)).state_dict()) == \
        list(torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(w)).state_dict())
    assert list(nn.CrossEntropyLoss().state_dict()) == []


def test_bad_reduction_raises():
    with pytest.raises(ValueError):
        nn.MSELoss(reduction="avg")


def test_legacy_size_average_and_reduce(torch):
    with pytest.warns(UserWarning):
        assert nn.MSELoss(size_average=False).reduction == "sum"
    with pytest.warns(UserWarning):
        assert nn.L1Loss(reduce=False).reduction == "none"
