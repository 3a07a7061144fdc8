"""Learning-rate schedulers against PyTorch's: the lr (and, for OneCycleLR, the momentum or
beta1) of every parameter group after each of 20+ steps, and a resumed run (state dicts
through ``fastnn.save``/``load``) that continues exactly."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import fastnn
import fastnn.optim as optim
from fastnn.optim import lr_scheduler

STEPS = 24


def make_optimizer(lib, name="SGD", two_groups=True):
    """Two parameter groups with different lrs (so per-group handling is exercised)."""
    if lib is fastnn:
        a, b = fastnn.nn.Parameter(fastnn.ones(2)), fastnn.nn.Parameter(fastnn.ones(3))
    else:
        a, b = lib.nn.Parameter(lib.ones(2)), lib.nn.Parameter(lib.ones(3))
    opt_cls = getattr(lib.optim, name)
    extra = {"momentum": 0.9} if name == "SGD" else {}
    if two_groups:
        return opt_cls([{"params": [a]}, {"params": [b], "lr": 0.02}], lr=0.1, **extra), (a, b)
    return opt_cls([a, b], lr=0.1, **extra), (a, b)


def trajectory(lib, sched_name, kwargs, opt_name="SGD", steps=STEPS, two_groups=True):
    opt, params = make_optimizer(lib, opt_name, two_groups)
    sched = getattr(lib.optim.lr_scheduler, sched_name)(opt, **kwargs)
    rows = [_snapshot(opt, sched)]
    for _ in range(steps):
        for p in params:             # a gradient, so the optimizer step is a real one
            p.grad = (lib.ones(*p.shape) if lib is fastnn else lib.ones(p.shape)) * 0.1
        opt.step()
        sched.step()
        rows.append(_snapshot(opt, sched))
    return rows


def _snapshot(opt, sched):
    row = [float(x) for x in sched.get_last_lr()] + [float(g["lr"]) for g in opt.param_groups]
    for g in opt.param_groups:
        if "momentum" in g:
            row.append(float(g["momentum"]))
        if "betas" in g:
            row += [float(b) for b in g["betas"]]
    return row


CASES = [
    ("StepLR", dict(step_size=3, gamma=0.5), "SGD"),
    ("StepLR", dict(step_size=1), "Adam"),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3), "SGD"),
    ("ExponentialLR", dict(gamma=0.9), "SGD"),
    ("CosineAnnealingLR", dict(T_max=10), "SGD"),
    ("CosineAnnealingLR", dict(T_max=6, eta_min=0.01), "Adam"),     # runs past T_max: the periodic branch
    ("OneCycleLR", dict(max_lr=0.5, total_steps=STEPS), "SGD"),
    ("OneCycleLR", dict(max_lr=[0.5, 0.05], epochs=4, steps_per_epoch=6, pct_start=0.25,
                        anneal_strategy="linear", three_phase=True), "SGD"),
    ("OneCycleLR", dict(max_lr=0.01, total_steps=STEPS, div_factor=10.0, final_div_factor=100.0,
                        base_momentum=0.8, max_momentum=0.9), "Adam"),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=STEPS + 5, cycle_momentum=False), "SGD"),
]


@pytest.mark.parametrize("name, kwargs, opt_name", CASES, ids=lambda v: str(v))
def test_lr_trajectory_matches_pytorch(torch, name, kwargs, opt_name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = trajectory(torch, name, kwargs, opt_name)
    actual = trajectory(fastnn, name, kwargs, opt_name)
    assert len(actual) == len(expected) == STEPS + 1
    for step, (a, e) in enumerate(zip(actual, expected)):
        assert a == pytest.approx(e, rel=1e-12, abs=1e-15), f"step {step}"
    assert len({round(r[0], 12) for r in actual}) > 2            # the lr really changed


@pytest.mark.parametrize("name, kwargs, opt_name", CASES[:6], ids=lambda v: str(v))
def test_single_group(torch, name, kwargs, opt_name):
    expected = trajectory(torch, name, kwargs, opt_name, steps=12, two_groups=False)
    actual = trajectory(fastnn, name, kwargs, opt_name, steps=12, two_groups=False)
    np.testing.assert_allclose(np.array(actual), np.array(expected), rtol=1e-12)


@pytest.mark.parametrize("name, kwargs, opt_name", CASES, ids=lambda v: str(v))
def test_resume_through_checkpoint(tmp_path, name, kwargs, opt_name):
    full = trajectory(fastnn, name, kwargs, opt_name)

    opt, params = make_optimizer(fastnn, opt_name)
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    for _ in range(9):
        for p in params:
            p.grad = fastnn.ones(*p.shape) * 0.1
        opt.step()
        sched.step()
    fastnn.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, tmp_path / "ckpt")
    ckpt = fastnn.load(tmp_path / "ckpt")

    opt2, params2 = make_optimizer(fastnn, opt_name)
    sched2 = getattr(lr_scheduler, name)(opt2, **kwargs)       # as in PyTorch: build, then load
    opt2.load_state_dict(ckpt["optimizer"])
    sched2.load_state_dict(ckpt["scheduler"])
    rows = [_snapshot(opt2, sched2)]
    for _ in range(STEPS - 9):
        for p in params2:
            p.grad = fastnn.ones(*p.shape) * 0.1
        opt2.step()
        sched2.step()
        rows.append(_snapshot(opt2, sched2))
    assert rows == full[9:]


def test_closed_form_step_with_epoch(torch):
    results = []
    for lib in (torch, fastnn):
        opt, _ = make_optimizer(lib)
        sched = lib.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched.step(7)
        results.append(sched.get_last_lr())
    assert results[1] == pytest.approx(results[0], rel=1e-12)
    assert results[1][0] == pytest.approx(0.1 * 0.25)


def test_one_cycle_too_many_steps_and_bad_arguments():
    opt, _ = make_optimizer(fastnn)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        sched.step()
    with pytest.raises(ValueError, match="total_steps"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="momentum"):
        lr_scheduler.OneCycleLR(optim.Adagrad([fastnn.nn.Parameter(fastnn.ones(1))]), max_lr=0.1, total_steps=5)


def test_scheduler_sets_initial_lr_and_last_epoch():
    opt, _ = make_optimizer(fastnn)
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    assert sched.last_epoch == 0 and sched.base_lrs == [0.1, 0.02]
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.02]
    sched.step()
    assert sched.get_last_lr() == pytest.approx([0.05, 0.01])
    assert "optimizer" not in sched.state_dict()
    with pytest.raises(KeyError):
        fresh, _ = make_optimizer(fastnn)
        lr_scheduler.StepLR(fresh, 2, last_epoch=3)
    with pytest.raises(TypeError):
        lr_scheduler.StepLR(object(), 2)
    assert np.isclose(sched.get_last_lr()[0], opt.param_groups[0]["lr"])
