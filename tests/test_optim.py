"""Optimizers against PyTorch's: the same initial parameters and the same loss (a fixed
quadratic computed in each library, so the gradients depend on where the trajectory is),
20 steps, parameters compared after every step; parameter groups with their own options;
state dicts that resume a run bit-for-bit, including through ``fastnn.save``/``load``."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

import fastnn
import fastnn.optim as optim

STEPS = 20
_rng = np.random.default_rng(42)
W0 = _rng.standard_normal((4, 3)).astype(np.float32)
B0 = _rng.standard_normal(3).astype(np.float32)
TARGET = _rng.standard_normal((4, 3)).astype(np.float32)
CURV = _rng.uniform(0.2, 3.0, (4, 3)).astype(np.float32)
E = _rng.uniform(0.5, 2.0, 3).astype(np.float32)


def quadratic(w, b, lib_tensor):
    """0.5 * sum(CURV * (w - TARGET)^2) + sum(E * b^2) + sum(w[0] * b): coupled, anisotropic."""
    c, t, e = lib_tensor(CURV), lib_tensor(TARGET), lib_tensor(E)
    return 0.5 * (c * (w - t) * (w - t)).sum() + (e * b * b).sum() + (w[0] * b).sum()


def fastnn_params():
    return fastnn.nn.Parameter(fastnn.tensor(W0)), fastnn.nn.Parameter(fastnn.tensor(B0))


def torch_params(torch):
    return torch.nn.Parameter(torch.tensor(W0)), torch.nn.Parameter(torch.tensor(B0))


def fastnn_step(opt, w, b):
    opt.zero_grad()
    quadratic(w, b, fastnn.tensor).backward()
    opt.step()


def torch_step(torch, opt, w, b):
    opt.zero_grad()
    quadratic(w, b, torch.tensor).backward()
    opt.step()


CONFIGS = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.1)),
    ("SGD", dict(lr=0.01, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, betas=(0.8, 0.99), eps=1e-6)),
    ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.05, maximize=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.5, amsgrad=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.5, eps=1e-6)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1, eps=1e-4)),
    ("SGD", dict(lr=0.02, momentum=0.9, dampening=0.5, weight_decay=0.05, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.02, betas=(0.85, 0.95), maximize=True)),
    ("Adagrad", dict(lr=0.05, maximize=True)),
    ("RMSprop", dict(lr=0.005, alpha=0.8, maximize=True, momentum=0.3)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1)),
    ("Adadelta", dict(lr=0.3, maximize=True)),
    ("Adamax", dict(lr=0.05)),
    ("Adamax", dict(lr=0.05, betas=(0.8, 0.9), eps=1e-4, weight_decay=0.1)),
    ("Adamax", dict(lr=0.02, maximize=True)),
    ("NAdam", dict(lr=0.05)),
    ("NAdam", dict(lr=0.05, momentum_decay=0.02, weight_decay=0.1, eps=1e-6)),
    ("NAdam", dict(lr=0.05, weight_decay=0.2, decoupled_weight_decay=True)),
    ("NAdam", dict(lr=0.02, betas=(0.8, 0.99), maximize=True)),
]
OPTIMIZERS = sorted({name for name, _ in CONFIGS})


def _id(config):
    name, kwargs = config
    return name + "(" + ",".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


@pytest.mark.parametrize("config", CONFIGS, ids=[_id(c) for c in CONFIGS])
def test_trajectory_matches_pytorch(torch, config):
    name, kwargs = config
    fw, fb = fastnn_params()
    tw, tb = torch_params(torch)
    fopt = getattr(optim, name)([fw, fb], **kwargs)
    topt = getattr(torch.optim, name)([tw, tb], **kwargs)
    for step in range(STEPS):
        fastnn_step(fopt, fw, fb)
        torch_step(torch, topt, tw, tb)
        for f, t, what in ((fw, tw, "w"), (fb, tb, "b")):
            np.testing.assert_allclose(f.data, t.detach().numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=f"{what} after step {step + 1}")
    assert not np.allclose(fw.data, W0)                     # it really moved
    assert fw.data.dtype == np.float32
    # the per-parameter state has PyTorch's names and values
    for fp, tp in ((fw, tw), (fb, tb)):
        fstate, tstate = fopt.state[fp], topt.state[tp]
        assert set(fstate) <= set(tstate) and set(fstate) >= {k for k, v in tstate.items() if v is not None}
        for key, value in fstate.items():
            expected = tstate[key]
            expected = expected.detach().numpy() if hasattr(expected, "detach") else expected
            np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_param_groups_with_different_options(torch, name):
    extra = {"momentum": 0.9} if name != "Adam" else {"betas": (0.5, 0.9)}
    fw, fb = fastnn_params()
    tw, tb = torch_params(torch)
    fopt = getattr(optim, name)([{"params": [fw]}, {"params": [fb], "lr": 0.003, **extra}], lr=0.03)
    topt = getattr(torch.optim, name)([{"params": [tw]}, {"params": [tb], "lr": 0.003, **extra}], lr=0.03)
    assert fopt.param_groups[0]["lr"] == 0.03 and fopt.param_groups[1]["lr"] == 0.003
    assert set(fopt.param_groups[0]) <= set(topt.param_groups[0])      # defaults filled in, PyTorch's names
    for _ in range(STEPS):
        fastnn_step(fopt, fw, fb)
        torch_step(torch, topt, tw, tb)
    np.testing.assert_allclose(fw.data, tw.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fb.data, tb.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_add_param_group(torch):
    fw, fb = fastnn_params()
    tw, tb = torch_params(torch)
    fopt, topt = optim.SGD([fw], lr=0.1, momentum=0.9), torch.optim.SGD([tw], lr=0.1, momentum=0.9)
    for i in range(STEPS):
        if i == 5:              # e.g. unfreezing a layer half-way
            fopt.add_param_group({"params": fb, "lr": 0.01})
            topt.add_param_group({"params": tb, "lr": 0.01})
        fastnn_step(fopt, fw, fb)
        torch_step(torch, topt, tw, tb)
    np.testing.assert_allclose(fb.data, tb.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert fopt.param_groups[1]["momentum"] == 0.9
    with pytest.raises(ValueError, match="more than one"):
        fopt.add_param_group({"params": [fw]})


@pytest.mark.parametrize("config", [c for c in CONFIGS if c[0] != "SGD" or c[1].get("momentum")],
                         ids=lambda c: _id(c))
def test_state_dict_resume_is_exact(tmp_path, config):
    name, kwargs = config
    w, b = fastnn_params()
    opt = getattr(optim, name)([w, b], **kwargs)
    for _ in range(10):
        fastnn_step(opt, w, b)
    path = tmp_path / "ckpt.npz"
    fastnn.save({"params": [w.data, b.data], "optimizer": opt.state_dict()}, path)
    for _ in range(10):
        fastnn_step(opt, w, b)

    ckpt = fastnn.load(path)
    w2, b2 = (fastnn.nn.Parameter(fastnn.tensor(a)) for a in ckpt["params"])
    opt2 = getattr(optim, name)([w2, b2], **kwargs)
    opt2.load_state_dict(ckpt["optimizer"])
    for _ in range(10):
        fastnn_step(opt2, w2, b2)
    np.testing.assert_array_equal(w2.data, w.data)
    np.testing.assert_array_equal(b2.data, b.data)


def test_state_dict_layout_matches_pytorch(torch):
    fw, fb = fastnn_params()
    tw, tb = torch_params(torch)
    fopt = optim.Adam([{"params": [fw]}, {"params": [fb], "lr": 0.1}], amsgrad=True)
    topt = torch.optim.Adam([{"params": [tw]}, {"params": [tb], "lr": 0.1}], amsgrad=True)
    fastnn_step(fopt, fw, fb)
    torch_step(torch, topt, tw, tb)
    fsd, tsd = fopt.state_dict(), topt.state_dict()
    assert list(fsd) == ["state", "param_groups"]
    assert sorted(fsd["state"]) == sorted(tsd["state"]) == [0, 1]
    assert [g["params"] for g in fsd["param_groups"]] == [g["params"] for g in tsd["param_groups"]]
    for i in (0, 1):
        assert set(fsd["state"][i]) == set(tsd["state"][i])
        assert isinstance(fsd["state"][i]["exp_avg"], np.ndarray)
        assert fsd["state"][i]["step"] == float(tsd["state"][i]["step"])
    for fg, tg in zip(fsd["param_groups"], tsd["param_groups"]):
        for key in ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"):
            assert fg[key] == tg[key], key
    # the state dict holds copies: stepping on does not change it
    snapshot = fsd["state"][0]["exp_avg"].copy()
    fastnn_step(fopt, fw, fb)
    np.testing.assert_array_equal(fsd["state"][0]["exp_avg"], snapshot)


def test_load_state_dict_checks_group_sizes():
    w, b = fastnn_params()
    sd = optim.SGD([w, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="doesn't match"):
        optim.SGD([w], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="groups"):
        optim.SGD([{"params": [w]}, {"params": [b]}], lr=0.1).load_state_dict(sd)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_signature_and_defaults_match_pytorch(torch, name):
    """Same argument names, order, kinds (positional / keyword-only) and defaults, and the
    same hyper-parameters in a group built from the defaults."""
    def spec(cls):
        return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]

    assert spec(getattr(optim, name)) == spec(getattr(torch.optim, name))
    fgroup = getattr(optim, name)([fastnn_params()[0]]).param_groups[0]
    tgroup = getattr(torch.optim, name)([torch_params(torch)[0]]).param_groups[0]
    assert {k: v for k, v in fgroup.items() if k != "params"} == {k: v for k, v in tgroup.items() if k != "params"}


INVALID = [
    ("SGD", dict(lr=-1.0)), ("SGD", dict(momentum=-0.5)), ("SGD", dict(weight_decay=-1e-3)),
    ("SGD", dict(lr=0.1, nesterov=True)), ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)),
    ("Adam", dict(lr=-1.0)), ("Adam", dict(eps=-1e-8)), ("Adam", dict(betas=(1.0, 0.9))),
    ("Adam", dict(betas=(0.9, -0.1))), ("Adam", dict(weight_decay=-1.0)), ("Adam", dict(fused=True, foreach=True)),
    ("AdamW", dict(lr=-0.1)), ("AdamW", dict(betas=(0.9, 1.0))),
    ("Adagrad", dict(lr=-1e-3)), ("Adagrad", dict(lr_decay=-1.0)), ("Adagrad", dict(initial_accumulator_value=-1.0)),
    ("Adagrad", dict(eps=-1.0)), ("Adagrad", dict(weight_decay=-0.1)),
    ("Adadelta", dict(lr=-1.0)), ("Adadelta", dict(rho=1.5)), ("Adadelta", dict(eps=-1.0)),
    ("Adadelta", dict(weight_decay=-1.0)),
    ("RMSprop", dict(lr=-1.0)), ("RMSprop", dict(alpha=-0.1)), ("RMSprop", dict(momentum=-1.0)),
    ("RMSprop", dict(eps=-1.0)), ("RMSprop", dict(weight_decay=-1.0)),
    ("Adamax", dict(lr=-2.0)), ("Adamax", dict(betas=(0.9, 1.0))), ("Adamax", dict(eps=-1.0)),
    ("NAdam", dict(lr=-1.0)), ("NAdam", dict(momentum_decay=-1.0)), ("NAdam", dict(betas=(-0.1, 0.9))),
    ("NAdam", dict(weight_decay=-1.0)),
]


@pytest.mark.parametrize("config", INVALID, ids=[_id(c) for c in INVALID])
def test_invalid_arguments_raise_like_pytorch(torch, config):
    name, kwargs = config
    with pytest.raises(Exception) as expected:
        getattr(torch.optim, name)([torch_params(torch)[0]], **kwargs)
    with pytest.raises(type(expected.value)) as actual:
        getattr(optim, name)([fastnn_params()[0]], **kwargs)
    assert str(actual.value) == str(expected.value)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_implementation_options_change_nothing(name):
    """foreach/fused/capturable pick an implementation in PyTorch: the same trajectory here;
    differentiable=True cannot be honoured and says so."""
    accepted = set(inspect.signature(getattr(optim, name)).parameters) & {"foreach", "fused", "capturable"}
    runs = []
    for options in ({}, {option: True for option in accepted - {"fused"}}, {"fused": True} if "fused" in accepted
                    else {}):
        w, b = fastnn_params()
        opt = getattr(optim, name)([w, b], lr=0.01, **options)
        for _ in range(5):
            fastnn_step(opt, w, b)
        runs.append(w.data.copy())
    for run in runs[1:]:
        np.testing.assert_array_equal(run, runs[0])
    with pytest.raises(NotImplementedError, match="differentiable"):
        getattr(optim, name)([fastnn_params()[0]], differentiable=True)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_parameters_without_grad_are_skipped(torch, name):
    """A parameter whose grad is None neither moves nor gets state (Adagrad's is made at
    construction, as PyTorch's), while the others follow PyTorch's trajectory."""
    fw, fb = fastnn_params()
    tw, tb = torch_params(torch)
    fopt = getattr(optim, name)([fw, fb], lr=0.01)
    topt = getattr(torch.optim, name)([tw, tb], lr=0.01)
    for _ in range(5):
        for opt, w, lib in ((fopt, fw, fastnn), (topt, tw, torch)):
            opt.zero_grad()
            (lib.tensor(CURV) * w * w).sum().backward()      # b gets no gradient
            opt.step()
    assert fb.grad is None and tb.grad is None
    np.testing.assert_array_equal(fb.data, B0)
    np.testing.assert_allclose(fw.data, tw.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert (fb in fopt.state) == (tb in topt.state)


def test_load_state_dict_fills_options_missing_from_an_older_checkpoint():
    w, b = fastnn_params()
    opt = optim.Adam([w, b], lr=0.01)
    sd = opt.state_dict()
    for key in ("foreach", "capturable", "fused", "decoupled_weight_decay"):
        del sd["param_groups"][0][key]
    opt.load_state_dict(sd)
    fastnn_step(opt, w, b)
    assert opt.param_groups[0]["decoupled_weight_decay"] is False and "foreach" in opt.param_groups[0]


def test_zero_grad_and_params_without_grad():
    w, b = fastnn_params()
    opt = optim.SGD([w, b], lr=0.1)
    quadratic(w, b, fastnn.tensor).backward()
    opt.zero_grad(set_to_none=False)
    assert (w.grad.data == 0).all()
    opt.zero_grad()
    assert w.grad is None and b.grad is None
    (w * w).sum().backward()                # b has no gradient: it must not move
    opt.step()
    np.testing.assert_array_equal(b.data, B0)
    assert not np.array_equal(w.data, W0)


def test_closure_is_called_with_grad_enabled():
    w, b = fastnn_params()
    opt = optim.SGD([w, b], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = quadratic(w, b, fastnn.tensor)
        loss.backward()
        return loss

    with fastnn.no_grad():
        loss = opt.step(closure)
    assert loss.item() > 0 and w.grad is not None


def test_argument_checks():
    w, _ = fastnn_params()
    with pytest.raises(ValueError):
        optim.SGD([w], lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(ValueError):
        optim.Adam([w], betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="empty"):
        optim.Adam([])
    with pytest.raises(TypeError):
        optim.SGD(w, lr=0.1)
    assert optim.SGD([w]).defaults["lr"] == 1e-3 and optim.AdamW([w]).defaults["weight_decay"] == 1e-2


def test_named_parameters_are_accepted():
    m = fastnn.nn.Linear(2, 2)
    opt = optim.SGD(m.named_parameters(), lr=0.1)
    assert [id(p) for p in opt.param_groups[0]["params"]] == [id(m.weight), id(m.bias)]
