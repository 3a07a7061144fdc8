"""ParameterList / ParameterDict, nn.init's eye_/dirac_/orthogonal_/sparse_, and the ranking,
margin and embedding losses against PyTorch (values and gradients, every reduction)."""
from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F
from parity_helpers import compare_outputs_and_grads, pair, rand

# ------------------------------------------------------------------ containers


def test_parameter_list_matches_torch(torch):
    values = [rand(3, 4), rand(2, seed=1), rand(1, seed=2).astype(np.float64)]
    fl = nn.ParameterList([nn.Parameter(fastnn.tensor(values[0])), fastnn.tensor(values[1]),
                           nn.Parameter(fastnn.tensor(values[2]))])
    tl = torch.nn.ParameterList([torch.nn.Parameter(torch.tensor(values[0])), torch.tensor(values[1]),
                                 torch.nn.Parameter(torch.tensor(values[2]))])
    assert repr(fl).replace("fastnn.", "torch.") == repr(tl)
    assert list(fl.state_dict()) == list(tl.state_dict())
    assert [n for n, _ in fl.named_parameters()] == [n for n, _ in tl.named_parameters()]
    assert isinstance(fl[1], nn.Parameter) and fl[1].requires_grad
    fl.append(5)
    tl.append(5)
    assert repr(fl).replace("fastnn.", "torch.") == repr(tl)
    assert len(fl) == 4 and fl[-1] == 5
    assert repr(fl[0:2]).replace("fastnn.", "torch.") == repr(tl[0:2])
    fl[0] = fastnn.zeros(2)
    assert isinstance(fl[0], nn.Parameter) and fl[0].shape == (2,)
    with pytest.raises(IndexError):
        fl[7]
    with pytest.raises(RuntimeError, match="should not be called"):
        fl()
    with pytest.raises(TypeError, match="iterable"):
        fl.extend(fastnn.zeros(3))
    m = nn.Module()
    m.ps = nn.ParameterList([fastnn.ones(2), fastnn.ones(3)])
    assert [n for n, _ in m.named_parameters()] == ["ps.0", "ps.1"]
    assert len(list(copy.deepcopy(m).parameters())) == 2


def test_parameter_dict_matches_torch(torch):
    a, b = rand(3), rand(2, 2, seed=1)
    fd = nn.ParameterDict({"b": nn.Parameter(fastnn.tensor(a)), "a": fastnn.tensor(b)})
    td = torch.nn.ParameterDict({"b": torch.nn.Parameter(torch.tensor(a)), "a": torch.tensor(b)})
    assert list(fd.keys()) == list(td.keys()) == ["a", "b"]             # a plain dict is taken sorted
    assert repr(fd).replace("fastnn.", "torch.") == repr(td)
    assert list(fd.state_dict()) == list(td.state_dict())
    fd2 = nn.ParameterDict(OrderedDict([("z", fastnn.ones(1)), ("y", fastnn.ones(1))]))
    assert list(fd2) == ["z", "y"]
    fd.update([("c", fastnn.zeros(4))])
    assert "c" in fd and isinstance(fd["c"], nn.Parameter)
    assert fd.get("nope", 3) == 3 and fd.setdefault("d", fastnn.ones(1)).shape == (1,)
    merged = fd | fd2
    assert list(merged) == ["a", "b", "c", "d", "z", "y"]
    k, v = fd.popitem()
    assert k == "d" and "d" not in fd and "d" not in dict(fd.named_parameters())
    assert fd.pop("c").shape == (4,) and len(fd) == 2
    del fd["a"]
    assert list(fd.state_dict()) == ["b"]
    with pytest.raises(TypeError, match="not a string"):
        fd[1] = fastnn.zeros(1)
    fd.clear()
    assert len(fd) == 0 and not list(fd.parameters())


def test_parameters_in_containers_are_trained():
    m = nn.Module()
    m.ws = nn.ParameterList([fastnn.ones(3)])
    m.bs = nn.ParameterDict({"b": fastnn.zeros(3)})
    opt = fastnn.optim.SGD(m.parameters(), lr=0.5)
    loss = (m.ws[0] * 2 + m.bs["b"]).sum()
    loss.backward()
    opt.step()
    np.testing.assert_allclose(m.ws[0].data, 0.0)
    np.testing.assert_allclose(m.bs["b"].data, -0.5)


# ------------------------------------------------------------------ init


def test_eye_and_dirac_match_torch(torch):
    for shape in [(3, 5), (4, 2), (3, 3)]:
        f, t = fastnn.empty(*shape), torch.empty(*shape)
        nn.init.eye_(f)
        torch.nn.init.eye_(t)
        np.testing.assert_array_equal(f.data, t.numpy())
    for shape, groups in [((4, 2, 3), 1), ((6, 3, 3, 3), 2), ((4, 5, 2, 3, 3), 1), ((4, 1, 3, 3), 4)]:
        f, t = fastnn.empty(*shape), torch.empty(*shape)
        nn.init.dirac_(f, groups)
        torch.nn.init.dirac_(t, groups)
        np.testing.assert_array_equal(f.data, t.numpy())
    with pytest.raises(ValueError, match="2 dimensions"):
        nn.init.eye_(fastnn.empty(2, 2, 2))
    with pytest.raises(ValueError, match="3, 4, or 5"):
        nn.init.dirac_(fastnn.empty(2, 2))
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.init.dirac_(fastnn.empty(3, 2, 3, 3), groups=2)


def test_dirac_conv_is_identity():
    conv = nn.Conv2d(3, 3, 3, padding=1, bias=False)
    nn.init.dirac_(conv.weight)
    x = fastnn.randn(2, 3, 5, 5)
    np.testing.assert_allclose(conv(x).data, x.data, atol=1e-6)


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 2, 3, 3), (6, 6)])
def test_orthogonal(torch, shape):
    w = fastnn.empty(*shape)
    assert nn.init.orthogonal_(w, gain=1.5) is w
    flat = w.data.reshape(shape[0], -1).astype(np.float64)
    small = min(flat.shape)
    gram = flat @ flat.T if flat.shape[0] == small else flat.T @ flat
    np.testing.assert_allclose(gram, 1.5 ** 2 * np.eye(small), atol=1e-5)
    # the same recipe as torch's (QR, then signs of diag(R)) on the same normal draw
    a = np.random.default_rng(0).standard_normal((shape[0], int(np.prod(shape[1:]))))
    ta = torch.from_numpy(a)
    if shape[0] < ta.shape[1]:
        ta = ta.t()
    q, r = torch.linalg.qr(ta)
    q *= torch.diag(r, 0).sign()
    if shape[0] < a.shape[1]:
        q = q.t()
    np.testing.assert_allclose(nn.init._orthogonalize(a), q.numpy(), atol=1e-10)


def test_sparse_and_deprecated_names(torch):
    w = fastnn.empty(10, 6)
    nn.init.sparse_(w, 0.3, std=0.5, generator=fastnn.Generator().manual_seed(1))
    assert all((w.data[:, c] == 0).sum() == 3 for c in range(6))
    with pytest.warns(FutureWarning, match="nn.init.uniform_"):
        nn.init.uniform(fastnn.empty(2, 2))
    assert nn.init.orthogonal.__name__ == "orthogonal"
    with pytest.raises(ValueError, match="2 or more"):
        nn.init.orthogonal_(fastnn.empty(3))


# ------------------------------------------------------------------ losses

REDUCTIONS = ["mean", "sum", "none"]


def _signs(shape, seed):
    return np.where(np.random.default_rng(seed).random(shape) < 0.5, -1.0, 1.0).astype(np.float32)


def _run(torch, name, f_args, t_args, grads, kwargs, module_kwargs=None):
    f_in = [a for a, g in zip(f_args, grads) if g]
    t_in = [a for a, g in zip(t_args, grads) if g]
    f_out = getattr(F, name)(*f_args, **kwargs)
    t_out = getattr(torch.nn.functional, name)(*t_args, **kwargs)
    compare_outputs_and_grads(torch, f_out, t_out, f_in, t_in, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(7,), (3, 4)])
@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_margin_ranking_loss(torch, reduction, shape, margin):
    f1, t1 = pair(torch, rand(*shape))
    f2, t2 = pair(torch, rand(*shape, seed=1))
    y = _signs(shape, 2)
    _run(torch, "margin_ranking_loss", [f1, f2, fastnn.tensor(y)], [t1, t2, torch.from_numpy(y)],
         [True, True, False], dict(margin=margin, reduction=reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_hinge_and_soft_margin(torch, reduction):
    fx, tx = pair(torch, rand(4, 5) * 2)
    y = _signs((4, 5), 3)
    _run(torch, "hinge_embedding_loss", [fx, fastnn.tensor(y)], [tx, torch.from_numpy(y)], [True, False],
         dict(margin=0.7, reduction=reduction))
    fx, tx = pair(torch, rand(4, 5) * 3)
    _run(torch, "soft_margin_loss", [fx, fastnn.tensor(y)], [tx, torch.from_numpy(y)], [True, False],
         dict(reduction=reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("margin", [0.0, 0.3, -0.2])
def test_cosine_embedding_loss(torch, reduction, batched, margin):
    shape = (6, 4) if batched else (4,)
    f1, t1 = pair(torch, rand(*shape))
    f2, t2 = pair(torch, rand(*shape, seed=1))
    y = _signs(shape[:-1], 4) if batched else np.array(-1.0, dtype=np.float32)
    _run(torch, "cosine_embedding_loss", [f1, f2, fastnn.tensor(y)], [t1, t2, torch.from_numpy(y)],
         [True, True, False], dict(margin=margin, reduction=reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [1, 2, 3])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("batched", [True, False])
def test_triplet_margin_loss(torch, reduction, p, swap, batched):
    shape = (5, 4) if batched else (4,)
    fa, ta = pair(torch, rand(*shape))
    fp, tp = pair(torch, rand(*shape, seed=1) * 0.5 + rand(*shape) * 0.5)
    fn, tn = pair(torch, rand(*shape, seed=2))
    _run(torch, "triplet_margin_loss", [fa, fp, fn], [ta, tp, tn], [True] * 3,
         dict(margin=1.5, p=p, swap=swap, reduction=reduction))


@pytest.mark.parametrize("swap", [False, True])
def test_triplet_margin_with_distance_loss(torch, swap):
    fa, ta = pair(torch, rand(5, 4))
    fp, tp = pair(torch, rand(5, 4, seed=1))
    fn, tn = pair(torch, rand(5, 4, seed=2))
    f_out = F.triplet_margin_with_distance_loss(fa, fp, fn, swap=swap, margin=2.0)
    t_out = torch.nn.functional.triplet_margin_with_distance_loss(ta, tp, tn, swap=swap, margin=2.0)
    compare_outputs_and_grads(torch, f_out, t_out, [fa, fp, fn], [ta, tp, tn])
    fa2, ta2 = pair(torch, rand(5, 4))

    def f_dist(x, y):
        return 1 - (x * y).sum(-1) / ((x * x).sum(-1) * (y * y).sum(-1)).sqrt()

    def t_dist(x, y):
        return 1 - torch.nn.functional.cosine_similarity(x, y, dim=-1, eps=0)

    fm = nn.TripletMarginWithDistanceLoss(distance_function=f_dist, margin=0.5, swap=swap)
    tm = torch.nn.TripletMarginWithDistanceLoss(distance_function=t_dist, margin=0.5, swap=swap)
    compare_outputs_and_grads(torch, fm(fa2, fp, fn), tm(ta2, tp, tn), [fa2], [ta2])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("batched", [True, False])
def test_multi_margin_loss(torch, reduction, p, weighted, batched):
    fx, tx = pair(torch, rand(6, 5) if batched else rand(5))
    t = np.random.default_rng(1).integers(0, 5, size=6 if batched else ()).astype(np.int64)
    w = np.random.default_rng(2).random(5).astype(np.float32) if weighted else None
    kw = dict(p=p, margin=0.8, reduction=reduction)
    f_out = F.multi_margin_loss(fx, fastnn.tensor(t), weight=None if w is None else fastnn.tensor(w), **kw)
    t_out = torch.nn.functional.multi_margin_loss(tx, torch.from_numpy(t),
                                                  weight=None if w is None else torch.from_numpy(w), **kw)
    compare_outputs_and_grads(torch, f_out, t_out, [fx], [tx], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("batched", [True, False])
def test_multilabel_margin_loss(torch, reduction, batched):
    target = np.array([[3, 0, -1, 1], [1, 2, 3, -1], [0, 0, 2, -1], [-1, 1, 2, 3]], dtype=np.int64)
    fx, tx = pair(torch, rand(4, 4))
    if not batched:
        target, fx, tx = target[0], *pair(torch, rand(4))
    _run(torch, "multilabel_margin_loss", [fx, fastnn.tensor(target)], [tx, torch.from_numpy(target)],
         [True, False], dict(reduction=reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_multilabel_soft_margin_loss(torch, reduction, weighted):
    fx, tx = pair(torch, rand(5, 3) * 4)
    y = (np.random.default_rng(3).random((5, 3)) < 0.5).astype(np.float32)
    w = np.random.default_rng(4).random(3).astype(np.float32)
    f_out = F.multilabel_soft_margin_loss(fx, fastnn.tensor(y), weight=fastnn.tensor(w) if weighted else None,
                                          reduction=reduction)
    t_out = torch.nn.functional.multilabel_soft_margin_loss(tx, torch.from_numpy(y),
                                                            weight=torch.from_numpy(w) if weighted else None,
                                                            reduction=reduction)
    compare_outputs_and_grads(torch, f_out, t_out, [fx], [tx], rtol=1e-4, atol=1e-6)


MODULES = [("MarginRankingLoss", dict(margin=0.2), 3), ("HingeEmbeddingLoss", dict(margin=2.0), 2),
           ("SoftMarginLoss", dict(), 2), ("CosineEmbeddingLoss", dict(margin=0.1), 3),
           ("TripletMarginLoss", dict(margin=0.5, p=1.0, swap=True), 3), ("MultiMarginLoss", dict(p=2), 2),
           ("MultiLabelMarginLoss", dict(), 2), ("MultiLabelSoftMarginLoss", dict(), 2)]


@pytest.mark.parametrize("name,kwargs,n_args", MODULES, ids=[m[0] for m in MODULES])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_loss_modules_match_torch(torch, name, kwargs, n_args, reduction):
    fm = getattr(nn, name)(reduction=reduction, **kwargs)
    tm = getattr(torch.nn, name)(reduction=reduction, **kwargs)
    assert repr(fm) == repr(tm)
    N, C = 4, 5
    if name in ("MultiMarginLoss",):
        t = np.random.default_rng(0).integers(0, C, size=N).astype(np.int64)
    elif name == "MultiLabelMarginLoss":
        t = np.array([[1, 3, -1, 0, 0], [0, -1, 2, 2, 2], [4, 3, 2, 1, 0], [2, 2, -1, 3, 3]], dtype=np.int64)
    elif name == "MultiLabelSoftMarginLoss":
        t = (np.random.default_rng(0).random((N, C)) < 0.5).astype(np.float32)
    elif name in ("MarginRankingLoss", "CosineEmbeddingLoss"):
        t = _signs((N,) if name == "CosineEmbeddingLoss" else (N, C), 0)
    else:
        t = _signs((N, C), 0)
    if name == "TripletMarginLoss":
        fs, ts = zip(*(pair(torch, rand(N, C, seed=s)) for s in range(3)))
        f_args, t_args = list(fs), list(ts)
    elif n_args == 3:
        fs, ts = zip(*(pair(torch, rand(N, C, seed=s)) for s in range(2)))
        f_args, t_args = list(fs) + [fastnn.tensor(t)], list(ts) + [torch.from_numpy(t)]
    else:
        fx, tx = pair(torch, rand(N, C))
        fs, ts = (fx,), (tx,)
        f_args, t_args = [fx, fastnn.tensor(t)], [tx, torch.from_numpy(t)]
    compare_outputs_and_grads(torch, fm(*f_args), tm(*t_args), list(fs), list(ts), rtol=1e-4, atol=1e-6)


def test_loss_errors_and_legacy_flags(torch):
    with pytest.raises(ValueError, match="greater than 0"):
        nn.TripletMarginLoss(margin=0)
    with pytest.raises(ValueError, match="p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        F.triplet_margin_loss(fastnn.zeros(2, 3), fastnn.zeros(2, 3), fastnn.zeros(3))
    with pytest.raises(RuntimeError, match="same dimension"):
        F.margin_ranking_loss(fastnn.zeros(2, 3), fastnn.zeros(2, 3), fastnn.zeros(2))
    with pytest.warns(UserWarning, match="size_average"):
        loss = F.margin_ranking_loss(fastnn.ones(3), fastnn.zeros(3), -fastnn.ones(3), size_average=False)
    assert loss.item() == pytest.approx(3.0)
    assert nn.MultiMarginLoss(weight=fastnn.ones(3)).state_dict().keys() == \
        torch.nn.MultiMarginLoss(weight=torch.ones(3)).state_dict().keys()


def test_gradcheck_losses_float64():
    rng = np.random.default_rng(0)

    def t(*shape):
        return fastnn.tensor(rng.standard_normal(shape), requires_grad=True)

    y = fastnn.tensor(np.where(rng.random(4) < 0.5, -1.0, 1.0))
    assert fastnn.gradcheck(lambda a, b: F.cosine_embedding_loss(a, b, y, margin=0.1), [t(4, 3), t(4, 3)])
    assert fastnn.gradcheck(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=3, swap=True), [t(4, 3), t(4, 3),
                                                                                             t(4, 3)])
    target = fastnn.tensor(np.array([[2, 0, -1], [1, -1, 0]]))
    assert fastnn.gradcheck(lambda x: F.multilabel_margin_loss(x, target), [t(2, 3)])
    assert fastnn.gradcheck(lambda x: F.multi_margin_loss(x, fastnn.tensor(np.array([0, 2])), p=2), [t(2, 3)])
