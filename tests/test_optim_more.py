"""RAdam and the schedulers CosineAnnealingWarmRestarts, CyclicLR, SequentialLR,
ChainedScheduler and PolynomialLR against PyTorch's: parameter trajectories and lr (and
momentum) sequences step by step, signatures, argument errors, and resumed runs (state
dicts through ``fastnn.save``/``load``) that continue exactly."""
from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import fastnn
import fastnn.optim as optim
from fastnn.optim import lr_scheduler
from test_optim import W0, fastnn_params, fastnn_step, torch_params, torch_step
from test_optim_lr_scheduler import _snapshot, make_optimizer

# ---------------------------------------------------------------------------------------- RAdam
RADAM = [dict(lr=0.05), dict(lr=0.05, betas=(0.8, 0.9)),            # beta2=0.9: rho_t > 5 from step 6
         dict(lr=0.05, betas=(0.9, 0.5)),                            # rho_t never > 5: momentum only
         dict(lr=0.02, weight_decay=0.1, eps=1e-6),
         dict(lr=0.05, weight_decay=0.2, decoupled_weight_decay=True, betas=(0.9, 0.95)),
         dict(lr=0.02, betas=(0.85, 0.9), maximize=True)]


@pytest.mark.parametrize("kwargs", RADAM, ids=str)
def test_radam_trajectory_matches_pytorch(torch, kwargs):
    fw, fb = fastnn_params()
    tw, tb = torch_params(torch)
    fopt, topt = optim.RAdam([fw, fb], **kwargs), torch.optim.RAdam([tw, tb], **kwargs)
    for step in range(30):
        fastnn_step(fopt, fw, fb)
        torch_step(torch, topt, tw, tb)
        for f, t, what in ((fw, tw, "w"), (fb, tb, "b")):
            np.testing.assert_allclose(f.data, t.detach().numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=f"{what} after step {step + 1}")
    assert not np.allclose(fw.data, W0) and fw.data.dtype == np.float32
    for fp, tp in ((fw, tw), (fb, tb)):
        assert set(fopt.state[fp]) == set(topt.state[tp])
        for key, value in fopt.state[fp].items():
            np.testing.assert_allclose(value, topt.state[tp][key].detach().numpy(), rtol=1e-5, atol=1e-6)


def test_radam_signature_defaults_and_errors(torch):
    def spec(cls):
        return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]

    assert spec(optim.RAdam) == spec(torch.optim.RAdam)
    fgroup = optim.RAdam([fastnn_params()[0]]).param_groups[0]
    tgroup = torch.optim.RAdam([torch_params(torch)[0]]).param_groups[0]
    assert {k: v for k, v in fgroup.items() if k != "params"} == {k: v for k, v in tgroup.items() if k != "params"}
    for kwargs in (dict(lr=-1.0), dict(eps=-1.0), dict(betas=(1.0, 0.9)), dict(betas=(0.9, -0.1)),
                   dict(weight_decay=-1.0)):
        with pytest.raises(ValueError) as expected:
            torch.optim.RAdam([torch_params(torch)[0]], **kwargs)
        with pytest.raises(ValueError) as actual:
            optim.RAdam([fastnn_params()[0]], **kwargs)
        assert str(actual.value) == str(expected.value)
    with pytest.raises(NotImplementedError):
        optim.RAdam([fastnn_params()[0]], differentiable=True)


def test_radam_foreach_capturable_change_nothing_and_resume(tmp_path):
    runs = []
    for options in ({}, dict(foreach=True, capturable=True)):
        w, b = fastnn_params()
        opt = optim.RAdam([w, b], lr=0.05, betas=(0.8, 0.9), **options)
        for _ in range(12):
            fastnn_step(opt, w, b)
        runs.append(w.data.copy())
    np.testing.assert_array_equal(runs[0], runs[1])

    w, b = fastnn_params()
    opt = optim.RAdam([w, b], lr=0.05, betas=(0.8, 0.9), weight_decay=0.1)
    for _ in range(4):
        fastnn_step(opt, w, b)
    fastnn.save({"params": [w.data, b.data], "optimizer": opt.state_dict()}, tmp_path / "ckpt.npz")
    for _ in range(10):
        fastnn_step(opt, w, b)
    ckpt = fastnn.load(tmp_path / "ckpt.npz")
    w2, b2 = (fastnn.nn.Parameter(fastnn.tensor(a)) for a in ckpt["params"])
    opt2 = optim.RAdam([w2, b2], lr=0.05, betas=(0.8, 0.9), weight_decay=0.1)
    opt2.load_state_dict(ckpt["optimizer"])
    for _ in range(10):
        fastnn_step(opt2, w2, b2)
    np.testing.assert_array_equal(w2.data, w.data)
    np.testing.assert_array_equal(b2.data, b.data)


# ----------------------------------------------------------------------------------- schedulers
STEPS = 40


def _grads(lib, params):
    for p in params:
        p.grad = (lib.ones(*p.shape) if lib is fastnn else lib.ones(p.shape)) * 0.1


def build(lib, name, kwargs, opt_name="SGD", two_groups=True):
    """A scheduler on a fresh optimizer; SequentialLR and ChainedScheduler get inner
    schedulers described by ``kwargs['inner']`` (a list of (name, kwargs))."""
    opt, params = make_optimizer(lib, opt_name, two_groups)
    mod = lib.optim.lr_scheduler
    if name in ("SequentialLR", "ChainedScheduler"):
        kwargs = dict(kwargs)
        inner = [getattr(mod, n)(opt, **kw) for n, kw in kwargs.pop("inner")]
        sched = (mod.SequentialLR(opt, inner, **kwargs) if name == "SequentialLR"
                 else mod.ChainedScheduler(inner, **kwargs))
    else:
        sched = getattr(mod, name)(opt, **kwargs)
    return opt, params, sched


def run(lib, name, kwargs, opt_name="SGD", steps=STEPS, two_groups=True):
    opt, params, sched = build(lib, name, kwargs, opt_name, two_groups)
    rows = [_snapshot(opt, sched)]
    for _ in range(steps):
        _grads(lib, params)
        opt.step()
        sched.step()
        rows.append(_snapshot(opt, sched))
    return rows


def scale_half(x):
    return 0.5 ** x


class Decay:
    """A callable scale_fn object (its attributes travel in CyclicLR's state dict)."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, x):
        return 1.0 / (1.0 + self.rate * x)


CASES = [
    ("PolynomialLR", dict(), "SGD"),
    ("PolynomialLR", dict(total_iters=25, power=2.0), "Adam"),
    ("PolynomialLR", dict(total_iters=10, power=0.5), "SGD"),
    ("CosineAnnealingWarmRestarts", dict(T_0=7), "SGD"),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2, eta_min=0.001), "Adam"),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4), "SGD"),
    ("CyclicLR", dict(base_lr=[0.01, 0.001], max_lr=[0.1, 0.05], step_size_up=3, step_size_down=5,
                      mode="triangular2"), "SGD"),
    ("CyclicLR", dict(base_lr=0.001, max_lr=0.01, step_size_up=5, mode="exp_range", gamma=0.97,
                      base_momentum=0.85, max_momentum=0.95), "Adam"),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4, scale_fn=scale_half), "SGD"),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3, scale_fn=Decay(0.3), scale_mode="iterations",
                      cycle_momentum=False), "Adagrad"),
    ("SequentialLR", dict(inner=[("LinearLR", dict(start_factor=0.1, total_iters=5)),
                                 ("CosineAnnealingLR", dict(T_max=20))], milestones=[5]), "SGD"),
    ("SequentialLR", dict(inner=[("ConstantLR", dict(factor=0.5, total_iters=3)),
                                 ("ExponentialLR", dict(gamma=0.9)),
                                 ("StepLR", dict(step_size=4, gamma=0.5))], milestones=[6, 15]), "Adam"),
    ("SequentialLR", dict(inner=[("LinearLR", dict(start_factor=0.2, total_iters=4)),
                                 ("CosineAnnealingWarmRestarts", dict(T_0=5))], milestones=[4]), "SGD"),
    ("ChainedScheduler", dict(inner=[("ConstantLR", dict(factor=0.1, total_iters=3)),
                                     ("ExponentialLR", dict(gamma=0.9))]), "SGD"),
    ("ChainedScheduler", dict(inner=[("LinearLR", dict(start_factor=0.5, total_iters=6)),
                                     ("PolynomialLR", dict(total_iters=30, power=1.5)),
                                     ("MultiStepLR", dict(milestones=[5, 12], gamma=0.3))]), "Adam"),
]


@pytest.mark.parametrize("name, kwargs, opt_name", CASES, ids=lambda v: str(v))
def test_lr_sequence_matches_pytorch(torch, name, kwargs, opt_name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = run(torch, name, kwargs, opt_name)
    actual = run(fastnn, name, kwargs, opt_name)
    assert len(actual) == len(expected) == STEPS + 1
    for step, (a, e) in enumerate(zip(actual, expected)):
        assert a == pytest.approx(e, rel=1e-12, abs=1e-15), f"step {step}"
    assert len({round(r[0], 12) for r in actual}) > 2


@pytest.mark.parametrize("name, kwargs, opt_name", [c for c in CASES if c[0] != "CyclicLR" or
                                                    not isinstance(c[1]["base_lr"], list)], ids=lambda v: str(v))
def test_single_group(torch, name, kwargs, opt_name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = run(torch, name, kwargs, opt_name, steps=15, two_groups=False)
    actual = run(fastnn, name, kwargs, opt_name, steps=15, two_groups=False)
    np.testing.assert_allclose(np.array(actual), np.array(expected), rtol=1e-12)


@pytest.mark.parametrize("name, kwargs, opt_name", CASES, ids=lambda v: str(v))
def test_resume_through_checkpoint(tmp_path, name, kwargs, opt_name):
    full = run(fastnn, name, kwargs, opt_name)
    opt, params, sched = build(fastnn, name, kwargs, opt_name)
    for _ in range(11):
        _grads(fastnn, params)
        opt.step()
        sched.step()
    fastnn.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, tmp_path / "ckpt")
    ckpt = fastnn.load(tmp_path / "ckpt")
    opt2, params2, sched2 = build(fastnn, name, kwargs, opt_name)      # as in PyTorch: build, then load
    opt2.load_state_dict(ckpt["optimizer"])
    sched2.load_state_dict(ckpt["scheduler"])
    rows = [_snapshot(opt2, sched2)]
    for _ in range(STEPS - 11):
        _grads(fastnn, params2)
        opt2.step()
        sched2.step()
        rows.append(_snapshot(opt2, sched2))
    assert rows == full[11:]


def test_state_dict_keys_like_pytorch(torch):
    """The inner schedulers' state dicts nest under ``_schedulers``; a plain scale_fn is not
    saved, a callable object's attributes are."""
    for name, kwargs, _ in CASES:
        if name in ("SequentialLR", "ChainedScheduler") or "scale_fn" in kwargs:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tsd = build(torch, name, kwargs)[2].state_dict()
            fsd = build(fastnn, name, kwargs)[2].state_dict()
            if "_schedulers" in tsd:
                assert len(fsd["_schedulers"]) == len(tsd["_schedulers"])
                assert fsd["_last_lr"] == pytest.approx(tsd["_last_lr"])
            if "_scale_fn_custom" in tsd:
                assert fsd["_scale_fn_custom"] == tsd["_scale_fn_custom"]


@pytest.mark.parametrize("T_mult", [1, 2, 3])
def test_warm_restarts_fractional_epochs(torch, T_mult):
    """step(epoch) with a fractional epoch (once per batch), forwards, backwards and past
    several restarts."""
    epochs = [0.0, 0.25, 0.5, 1.75, 2.999, 3.0, 3.5, 7.2, 9.0, 10.5, 21.0, 40.3, 5.5, 0.0, 100.0]
    results = []
    for lib in (torch, fastnn):
        opt, _ = make_optimizer(lib)
        sched = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=T_mult, eta_min=0.005)
        lrs = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for e in epochs:
                sched.step(e)
                lrs.append(sched.get_last_lr() + [sched.T_cur, sched.T_i, sched.last_epoch])
        results.append(lrs)
    np.testing.assert_allclose(np.array(results[1], float), np.array(results[0], float), rtol=1e-12)
    opt, _ = make_optimizer(fastnn)
    with pytest.raises(ValueError, match="non-negative epoch"):
        lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3).step(-1)


@pytest.mark.parametrize("epoch", [0, 3, 8, 30])
def test_polynomial_closed_form_step_with_epoch(torch, epoch):
    results = []
    for lib in (torch, fastnn):
        opt, _ = make_optimizer(lib)
        sched = lib.optim.lr_scheduler.PolynomialLR(opt, total_iters=10, power=2.0)
        opt.step()
        with pytest.warns(UserWarning, match="epoch parameter"):
            sched.step(epoch)
        results.append(sched.get_last_lr())
    assert results[1] == pytest.approx(results[0], rel=1e-12)


NEW = ["PolynomialLR", "CosineAnnealingWarmRestarts", "CyclicLR", "SequentialLR", "ChainedScheduler"]


@pytest.mark.parametrize("name", NEW)
def test_signature_matches_pytorch(torch, name):
    def spec(cls):
        return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]

    assert spec(getattr(lr_scheduler, name)) == spec(getattr(torch.optim.lr_scheduler, name))


def _invalid(lib, case):
    opt, params = make_optimizer(lib)
    mod = lib.optim.lr_scheduler
    other, _ = make_optimizer(lib)
    if case == "T_0":
        return mod.CosineAnnealingWarmRestarts(opt, T_0=0)
    if case == "T_0 float":
        return mod.CosineAnnealingWarmRestarts(opt, T_0=2.5)
    if case == "T_mult":
        return mod.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=0)
    if case == "eta_min":
        return mod.CosineAnnealingWarmRestarts(opt, T_0=2, eta_min="0")
    if case == "cyclic mode":
        return mod.CyclicLR(opt, 0.01, 0.1, mode="sawtooth")
    if case == "cyclic base_lr":
        return mod.CyclicLR(opt, [0.01], 0.1)
    if case == "cyclic momentum":
        return mod.CyclicLR(lib.optim.Adagrad(params), 0.01, 0.1)
    if case == "sequential empty":
        return mod.SequentialLR(opt, [], [])
    if case == "sequential milestones":
        return mod.SequentialLR(opt, [mod.ExponentialLR(opt, 0.9), mod.StepLR(opt, 2)], [2, 4])
    if case == "sequential plateau":
        return mod.SequentialLR(opt, [mod.ExponentialLR(opt, 0.9), mod.ReduceLROnPlateau(opt)], [2])
    if case == "sequential optimizer":
        return mod.SequentialLR(opt, [mod.ExponentialLR(opt, 0.9), mod.StepLR(other, 2)], [2])
    if case == "chained empty":
        return mod.ChainedScheduler([])
    if case == "chained not a scheduler":
        return mod.ChainedScheduler([mod.ExponentialLR(opt, 0.9), object()])
    raise AssertionError(case)


INVALID = ["T_0", "T_0 float", "T_mult", "eta_min", "cyclic mode", "cyclic base_lr", "cyclic momentum",
           "sequential empty", "sequential milestones", "sequential plateau", "chained empty",
           "chained not a scheduler"]


@pytest.mark.parametrize("case", INVALID)
def test_invalid_arguments_raise_like_pytorch(torch, case):
    with pytest.raises(Exception) as expected:
        _invalid(torch, case)
    with pytest.raises(type(expected.value)) as actual:
        _invalid(fastnn, case)
    assert str(actual.value) == str(expected.value)


def test_sequential_optimizer_mismatch_raises():
    with pytest.raises(ValueError, match="same optimizer"):
        _invalid(fastnn, "sequential optimizer")


def test_sequential_of_sequential_undoes_nested_steps(torch):
    """recursive_undo reaches schedulers nested inside a ChainedScheduler."""
    rows = []
    for lib in (torch, fastnn):
        opt, params = make_optimizer(lib)
        mod = lib.optim.lr_scheduler
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            chained = mod.ChainedScheduler([mod.ExponentialLR(opt, 0.9), mod.StepLR(opt, 3, 0.5)])
            seq = mod.SequentialLR(opt, [chained, mod.LinearLR(opt, 0.25, total_iters=4)], milestones=[7])
            lrs = []
            for _ in range(20):
                _grads(lib, params)
                opt.step()
                seq.step()
                lrs.append([g["lr"] for g in opt.param_groups] + seq.get_last_lr())
        rows.append(lrs)
    np.testing.assert_allclose(rows[1], rows[0], rtol=1e-12)
