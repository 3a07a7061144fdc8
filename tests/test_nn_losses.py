"""Loss modules against PyTorch's: value and input gradient for every reduction and option
(class weights, ignore_index, label_smoothing, probability targets, pos_weight), in float32 and float64."""
from __future__ import annotations

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def both(torch, name, kwargs, x, target, target_grad=False, rtol=1e-5, atol=1e-6, dtype=np.float32):
    """Loss value and d(loss)/d(input) (and d/d(target) when asked) in both libraries, with
    the input, float targets and float options (class weights...) in ``dtype``."""
    as_dtype = lambda v: v.astype(dtype) if v.dtype.kind == "f" else v  # noqa: E731
    kwargs = {k: (as_dtype(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    x, target = x.astype(dtype), as_dtype(target)
    fkw = {k: (fastnn.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    tkw = {k: (torch.from_numpy(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    fx, tx = fastnn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    float_target = target.dtype.kind == "f"
    ft = fastnn.tensor(target, requires_grad=target_grad and float_target)
    tt = torch.tensor(target, requires_grad=target_grad and float_target)
    fl, tl = getattr(nn, name)(**fkw)(fx, ft), getattr(torch.nn, name)(**tkw)(tx, tt)
    assert fl.shape == tuple(tl.shape)
    assert fl.dtype == dtype
    np.testing.assert_allclose(fl.data, tl.detach().numpy(), rtol=rtol, atol=atol, err_msg="loss")
    g = rand(*tl.shape, seed=9).astype(dtype) if tl.ndim else np.asarray(1.0, dtype)
    fl.backward(g)
    tl.backward(torch.tensor(g))
    grad_tol = dict(rtol=1e-4, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fx.grad.data, tx.grad.numpy(), **grad_tol, err_msg="input grad")
    if target_grad and float_target:
        np.testing.assert_allclose(ft.grad.data, tt.grad.numpy(), **grad_tol, err_msg="target grad")


REDUCTIONS = ["mean", "sum", "none"]
DTYPES = [np.float32, np.float64]
W4 = np.array([0.2, 1.0, 3.0, 0.5], np.float32)
CE_OPTIONS = [{}, {"weight": W4}, {"ignore_index": 1}, {"weight": W4, "ignore_index": 2},
              {"label_smoothing": 0.1}, {"label_smoothing": 0.25, "ignore_index": 0},
              {"weight": W4, "label_smoothing": 0.1}, {"weight": W4, "label_smoothing": 0.3, "ignore_index": 2},
              {"weight": W4, "label_smoothing": 1.0}]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("options", CE_OPTIONS, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy(torch, options, reduction, dtype):
    target = np.array([0, 1, 2, 3, 1, 2, 0], np.int64)
    both(torch, "CrossEntropyLoss", dict(options, reduction=reduction), 2 * rand(7, 4), target, dtype=dtype)


SPATIAL_OPTIONS = [{"ignore_index": 1}, {"weight": W4[:3], "label_smoothing": 0.2},
                   {"weight": W4[:3], "label_smoothing": 0.2, "ignore_index": 0}]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("options", SPATIAL_OPTIONS, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_spatial(torch, options, reduction, dtype):
    target = np.random.default_rng(0).integers(0, 3, (2, 4, 5))
    both(torch, "CrossEntropyLoss", dict(options, reduction=reduction), rand(2, 3, 4, 5), target, dtype=dtype)


@pytest.mark.parametrize("options", [{}, {"weight": W4[:3], "label_smoothing": 0.2}], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_unbatched_class_index(torch, options, reduction):
    """Input (C,) and a 0-d target: 'none' gives a 0-d loss, as in PyTorch."""
    both(torch, "CrossEntropyLoss", dict(options, reduction=reduction), rand(3), np.array(2, np.int64))


SOFT_OPTIONS = [{}, {"weight": W4[:3]}, {"label_smoothing": 0.15}, {"weight": W4[:3], "label_smoothing": 0.4}]


def probabilities(shape, class_dim=1, seed=4):
    """Random class probabilities (summing to one along ``class_dim``)."""
    p = np.random.default_rng(seed).uniform(0.05, 1.0, shape)
    return (p / p.sum(axis=class_dim, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4, 2), (3,)], ids=str)
@pytest.mark.parametrize("options", SOFT_OPTIONS, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probability_targets(torch, options, reduction, shape, dtype):
    """A float target of the input's shape holds class probabilities; the target gets a gradient too."""
    target = probabilities(shape, class_dim=0 if len(shape) == 1 else 1)
    both(torch, "CrossEntropyLoss", dict(options, reduction=reduction), 2 * rand(*shape), target,
         target_grad=True, dtype=dtype)


def test_cross_entropy_probability_targets_need_not_be_normalised(torch):
    """PyTorch does not check that the probabilities sum to one; neither does fastnn."""
    target = np.random.default_rng(5).uniform(0, 2, (4, 3)).astype(np.float32)
    both(torch, "CrossEntropyLoss", {"weight": W4[:3], "label_smoothing": 0.1}, rand(4, 3), target,
         target_grad=True)


def test_probability_targets_equal_one_hot_class_indices():
    x, t = fastnn.randn(6, 4), np.array([0, 3, 1, 1, 2, 0])
    w = fastnn.tensor([0.5, 2.0, 1.0, 3.0])
    soft = nn.CrossEntropyLoss(weight=w, reduction="sum", label_smoothing=0.2)(x, fastnn.tensor(np.eye(4)[t]))
    hard = nn.CrossEntropyLoss(weight=w, reduction="sum", label_smoothing=0.2)(x, fastnn.tensor(t))
    assert soft.item() == pytest.approx(hard.item(), rel=1e-5)


def _node_names(tensor):
    """The names of every node in the graph that made ``tensor``."""
    names, stack, seen = set(), [tensor.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.add(node.name())
        stack.extend(fn for fn, _ in node.next_functions)
    return names


@pytest.mark.parametrize("options, fused", [({}, True), ({"weight": W4}, True), ({"label_smoothing": 0.1}, True),
                                            ({"weight": W4, "ignore_index": 1, "label_smoothing": 0.0}, True),
                                            ({"weight": W4, "label_smoothing": 0.1}, False)], ids=str)
def test_class_index_cases_use_the_fused_kernel_where_it_applies(options, fused):
    options = {k: fastnn.tensor(v) if isinstance(v, np.ndarray) else v for k, v in options.items()}
    x = fastnn.randn(5, 4, requires_grad=True)
    names = _node_names(nn.functional.cross_entropy(x, fastnn.tensor([0, 1, 2, 3, 1]), **options))
    assert ("_SoftmaxCrossEntropyBackward0" in names) is fused
    assert ("LogSoftmaxBackward0" in names) is not fused


@pytest.mark.parametrize("call, error, message", [
    (lambda F: F.cross_entropy(fastnn.randn(2, 3), fastnn.rand(2, 4)), ValueError,
     r"input's shape fastnn.Size\(\[2, 3\]\), got target shape fastnn.Size\(\[2, 4\]\)"),
    (lambda F: F.cross_entropy(fastnn.randn(2, 3), fastnn.rand(2)), TypeError,
     r"input's shape fastnn.Size\(\[2, 3\]\), got target shape fastnn.Size\(\[2\]\)"),
    (lambda F: F.cross_entropy(fastnn.randn(2, 3), fastnn.tensor([[0, 1, 2], [2, 1, 0]])), TypeError,
     r"input's shape fastnn.Size\(\[2, 3\]\) holds class probabilities and must be floating point, got dtype fastnn.int64"),
    (lambda F: F.cross_entropy(fastnn.randn(2, 3), fastnn.rand(2, 3), ignore_index=0), ValueError,
     "ignore_index is not supported for probability"),
    (lambda F: F.cross_entropy(fastnn.randn(2, 3), fastnn.rand(2, 3), weight=fastnn.ones(4)), ValueError,
     r"weight must have shape \(3,\).*got \(4,\)"),
    (lambda F: F.cross_entropy(fastnn.randn(2, 3), fastnn.tensor([0, 1]), weight=fastnn.ones(2),
                               label_smoothing=0.1), ValueError, r"weight must have shape \(3,\).*got \(2,\)"),
    (lambda F: F.cross_entropy(fastnn.randn(2, 3), fastnn.tensor([0, 3]), weight=fastnn.ones(3),
                               label_smoothing=0.1), IndexError, r"class index 3, outside \[0, 3\)"),
    (lambda F: F.cross_entropy(fastnn.randn(2, 3), fastnn.tensor([-1, 0]), weight=fastnn.ones(3),
                               label_smoothing=0.1), IndexError, r"class index -1, outside \[0, 3\)"),
    (lambda F: F.cross_entropy(fastnn.randn(2, 3), fastnn.rand(2, 3), label_smoothing=1.5), ValueError,
     r"label_smoothing must be in \[0, 1\], got 1.5"),
    (lambda F: F.cross_entropy(fastnn.randn(2, 3), fastnn.tensor([0, 1]), weight=fastnn.ones(3),
                               label_smoothing=-0.1), ValueError, r"label_smoothing must be in \[0, 1\]"),
    (lambda F: F.cross_entropy(fastnn.tensor([[0.0, np.nan, 1.0]]), fastnn.rand(1, 3)), ValueError,
     "input contains NaN"),
], ids=["soft-shape", "float-1d", "int-of-input-shape", "soft-ignore_index", "soft-weight-shape",
        "weight-smoothing-shape", "class-too-big", "class-negative", "smoothing-range-soft", "smoothing-range",
        "soft-nan"])
def test_cross_entropy_bad_arguments_say_what_is_wrong(call, error, message):
    with pytest.raises(error, match=message):
        call(nn.functional)


@pytest.mark.parametrize("options", CE_OPTIONS[:4], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(torch, options, reduction):
    logp = np.log(np.random.default_rng(1).dirichlet(np.ones(4), size=6)).astype(np.float32)
    both(torch, "NLLLoss", dict(options, reduction=reduction), logp, np.array([3, 1, 2, 0, 1, 2]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_unbatched(torch, reduction):
    both(torch, "NLLLoss", {"reduction": reduction, "weight": W4}, np.log(probabilities((4,), 0)), np.array(1))


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
