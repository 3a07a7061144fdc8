"""Learning-rate schedulers against PyTorch's: the lr (and, for OneCycleLR, the momentum or
beta1) of every parameter group after each of 20+ steps, and a resumed run (state dicts
through ``fastnn.save``/``load``) that continues exactly."""
from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import fastnn
import fastnn.optim as optim
from fastnn.optim import lr_scheduler

STEPS = 30


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


class Warmup:
    """A callable object: its attributes travel in LambdaLR's state dict (a function's cannot)."""

    def __init__(self, epochs):
        self.epochs = epochs

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.epochs)


def decay(epoch):
    return 0.95 ** epoch


def bumpy(epoch):
    return 1.1 if epoch % 4 == 0 else 0.9


CASES = [
    ("StepLR", dict(step_size=3, gamma=0.5), "SGD"),
    ("StepLR", dict(step_size=1), "Adam"),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3), "SGD"),
    ("ExponentialLR", dict(gamma=0.9), "SGD"),
    ("CosineAnnealingLR", dict(T_max=10), "SGD"),
    ("CosineAnnealingLR", dict(T_max=6, eta_min=0.01), "Adam"),     # runs past T_max: the periodic branch
    ("OneCycleLR", dict(max_lr=0.5, total_steps=STEPS), "SGD"),
    ("OneCycleLR", dict(max_lr=[0.5, 0.05], epochs=5, steps_per_epoch=6, pct_start=0.25,
                        anneal_strategy="linear", three_phase=True), "SGD"),
    ("OneCycleLR", dict(max_lr=0.01, total_steps=STEPS, div_factor=10.0, final_div_factor=100.0,
                        base_momentum=0.8, max_momentum=0.9), "Adam"),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=STEPS + 5, cycle_momentum=False), "SGD"),
    ("LambdaLR", dict(lr_lambda=decay), "SGD"),
    ("LambdaLR", dict(lr_lambda=[Warmup(7), decay]), "Adam"),
    ("MultiplicativeLR", dict(lr_lambda=bumpy), "SGD"),
    ("MultiplicativeLR", dict(lr_lambda=[bumpy, lambda epoch: 0.9]), "Adam"),
    ("LinearLR", dict(), "SGD"),
    ("LinearLR", dict(start_factor=0.1, end_factor=0.8, total_iters=12), "Adam"),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.0, total_iters=20), "SGD"),       # a linear decay to 0
    ("ConstantLR", dict(), "SGD"),
    ("ConstantLR", dict(factor=0.25, total_iters=9), "Adam"),
    ("ExponentialLR", dict(gamma=1.1), "Adam"),
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
    assert len({round(r[0], 12) for r in actual}) > 1            # the lr really changed


@pytest.mark.parametrize("name, kwargs, opt_name", [c for c in CASES if not isinstance(next(iter(c[1].values()), 0),
                                                                                   (list, tuple))],
                         ids=lambda v: str(v))
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


SCHEDULERS = ["LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
              "CosineAnnealingLR", "OneCycleLR", "ReduceLROnPlateau"]


@pytest.mark.parametrize("name", SCHEDULERS)
def test_signature_matches_pytorch(torch, name):
    def spec(cls):
        return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]

    assert spec(getattr(lr_scheduler, name)) == spec(getattr(torch.optim.lr_scheduler, name))


@pytest.mark.parametrize("name, kwargs", [("StepLR", dict(step_size=3, gamma=0.5)),
                                          ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
                                          ("ExponentialLR", dict(gamma=0.9)), ("CosineAnnealingLR", dict(T_max=10)),
                                          ("LinearLR", dict(start_factor=0.2, total_iters=8)),
                                          ("ConstantLR", dict(factor=0.5, total_iters=6))],
                         ids=lambda v: str(v))
@pytest.mark.parametrize("epoch", [0, 4, 7, 13])
def test_closed_form_step_with_epoch(torch, name, kwargs, epoch):
    results = []
    for lib in (torch, fastnn):
        opt, _ = make_optimizer(lib)
        sched = getattr(lib.optim.lr_scheduler, name)(opt, **kwargs)
        opt.step()
        with pytest.warns(UserWarning, match="epoch parameter"):
            sched.step(epoch)
        results.append(sched.get_last_lr())
    assert results[1] == pytest.approx(results[0], rel=1e-12)


def test_chained_schedulers_compose_like_pytorch(torch):
    """Chainable schedulers on one optimizer multiply their effects (a constant warm-up, an
    exponential decay and a per-epoch bump), because each works from the current lr."""
    rows = []
    for lib in (torch, fastnn):
        opt, params = make_optimizer(lib)
        sched_mod = lib.optim.lr_scheduler
        schedulers = [sched_mod.ConstantLR(opt, factor=0.5, total_iters=4), sched_mod.ExponentialLR(opt, gamma=0.9),
                      sched_mod.MultiplicativeLR(opt, lr_lambda=bumpy), sched_mod.LinearLR(opt, 0.5, 1.0, 6)]
        lrs = []
        for _ in range(STEPS):
            opt.step()
            for sched in schedulers:
                sched.step()
            lrs.append([g["lr"] for g in opt.param_groups])
        rows.append(lrs)
    np.testing.assert_allclose(rows[1], rows[0], rtol=1e-12)


INVALID = [("ConstantLR", dict(factor=1.5)), ("ConstantLR", dict(factor=-0.1)), ("LinearLR", dict(start_factor=0)),
           ("LinearLR", dict(end_factor=1.5)), ("LambdaLR", dict(lr_lambda=[decay])),
           ("MultiplicativeLR", dict(lr_lambda=[decay])), ("MultiplicativeLR", dict(lr_lambda=0.9)),
           ("OneCycleLR", dict(max_lr=0.1, total_steps=10, pct_start=1.5)),
           ("OneCycleLR", dict(max_lr=0.1, total_steps=10, anneal_strategy="exp")),
           ("OneCycleLR", dict(max_lr=[0.1], total_steps=10)), ("OneCycleLR", dict(max_lr=0.1, total_steps=0)),
           ("OneCycleLR", dict(max_lr=0.1, epochs=0, steps_per_epoch=3)),
           ("ReduceLROnPlateau", dict(factor=1.0)), ("ReduceLROnPlateau", dict(mode="maximum")),
           ("ReduceLROnPlateau", dict(threshold_mode="relative")), ("ReduceLROnPlateau", dict(min_lr=[0.1]))]


@pytest.mark.parametrize("name, kwargs", INVALID, ids=lambda v: str(v))
def test_invalid_arguments_raise_like_pytorch(torch, name, kwargs):
    with pytest.raises(Exception) as expected:
        getattr(torch.optim.lr_scheduler, name)(make_optimizer(torch)[0], **kwargs)
    with pytest.raises(type(expected.value)) as actual:
        getattr(lr_scheduler, name)(make_optimizer(fastnn)[0], **kwargs)
    assert str(actual.value) == str(expected.value)


def test_lambda_state_dict_keeps_callable_objects_not_functions(torch, tmp_path):
    dicts = []
    for lib in (torch, fastnn):
        opt, _ = make_optimizer(lib)
        dicts.append(lib.optim.lr_scheduler.LambdaLR(opt, [Warmup(7), decay]).state_dict()["lr_lambdas"])
    assert dicts[1] == dicts[0] == [{"epochs": 7}, None]

    opt, _ = make_optimizer(fastnn)
    sched = lr_scheduler.LambdaLR(opt, [Warmup(7), decay])
    for _ in range(3):
        opt.step()
        sched.step()
    fastnn.save(sched.state_dict(), tmp_path / "sched")
    opt2, _ = make_optimizer(fastnn)
    warmup = Warmup(2)
    sched2 = lr_scheduler.LambdaLR(opt2, [warmup, decay])
    sched2.load_state_dict(fastnn.load(tmp_path / "sched"))
    assert warmup.epochs == 7 and sched2.last_epoch == 3 and sched2.lr_lambdas[1] is decay


# ---------------------------------------------------------------- ReduceLROnPlateau

# A validation loss that improves, stalls with noise, improves a little (less than a relative
# 1e-4 once), then stalls for good; and an accuracy for mode='max'.
LOSSES = [1.0, 0.8, 0.7, 0.69, 0.7, 0.71, 0.7, 0.69995, 0.65, 0.66, 0.66, 0.67, 0.6499, 0.66, 0.68,
          0.7, 0.64, 0.66, 0.66, 0.66, 0.66, 0.65, 0.66, 0.67, 0.66, 0.66, 0.66, 0.66, 0.66, 0.66]
ACCURACIES = [0.2, 0.4, 0.5, 0.55, 0.55, 0.54, 0.56, 0.56, 0.5601, 0.57, 0.57, 0.57, 0.58, 0.575, 0.57,
              0.57, 0.57, 0.59, 0.59, 0.59, 0.59, 0.59, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
PLATEAU = [
    (dict(), LOSSES),
    (dict(patience=2), LOSSES),
    (dict(patience=0, factor=0.5), LOSSES),
    (dict(patience=1, factor=0.5, cooldown=3), LOSSES),
    (dict(patience=1, factor=0.3, min_lr=0.005), LOSSES),
    (dict(patience=1, factor=0.3, min_lr=[0.02, 0.001]), LOSSES),
    (dict(patience=1, threshold=0.05, threshold_mode="rel", factor=0.5), LOSSES),
    (dict(patience=1, threshold=0.02, threshold_mode="abs", factor=0.5), LOSSES),
    (dict(patience=0, factor=0.5, eps=0.01), LOSSES),                    # stops once a reduction < eps
    (dict(mode="max", patience=1, factor=0.5), ACCURACIES),
    (dict(mode="max", patience=2, threshold=0.01, threshold_mode="abs", cooldown=2, factor=0.5), ACCURACIES),
    (dict(mode="max", patience=1, threshold=0.02, factor=0.5, min_lr=0.01), ACCURACIES),
]


def plateau_run(lib, kwargs, metrics, start=0, sched=None, opt=None):
    if sched is None:
        opt, _ = make_optimizer(lib)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    rows = []
    for epoch, metric in enumerate(metrics[start:], start):
        opt.step()
        sched.step(lib.tensor(metric) if epoch % 2 else metric)         # a number or a 0-d tensor
        rows.append(([float(lr) for lr in sched.get_last_lr()], [g["lr"] for g in opt.param_groups],
                     sched.num_bad_epochs, sched.cooldown_counter, float(sched.best), sched.last_epoch))
    return rows


@pytest.mark.parametrize("kwargs, metrics", PLATEAU, ids=[str(k) for k, _ in PLATEAU])
def test_reduce_lr_on_plateau_matches_pytorch(torch, kwargs, metrics):
    expected = plateau_run(torch, kwargs, metrics)
    actual = plateau_run(fastnn, kwargs, metrics)
    for epoch, (a, e) in enumerate(zip(actual, expected)):
        assert a[:4] == e[:4] and a[5] == e[5], f"epoch {epoch}"
        assert a[4] == pytest.approx(e[4], rel=1e-6), f"epoch {epoch}"     # torch keeps float32 metrics
    assert len({tuple(row[0]) for row in actual}) > 1                  # the lr really changed


@pytest.mark.parametrize("kwargs, metrics", PLATEAU[3:4] + PLATEAU[-2:-1], ids=lambda v: str(v)[:40])
def test_reduce_lr_on_plateau_resumes_through_checkpoint(tmp_path, kwargs, metrics):
    full = plateau_run(fastnn, kwargs, metrics)
    opt, _ = make_optimizer(fastnn)
    sched = lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    plateau_run(fastnn, kwargs, metrics[:11], sched=sched, opt=opt)
    fastnn.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, tmp_path / "ckpt")
    ckpt = fastnn.load(tmp_path / "ckpt")
    opt2, _ = make_optimizer(fastnn)
    sched2 = lr_scheduler.ReduceLROnPlateau(opt2, **kwargs)
    opt2.load_state_dict(ckpt["optimizer"])
    sched2.load_state_dict(ckpt["scheduler"])
    assert plateau_run(fastnn, kwargs, metrics, start=11, sched=sched2, opt=opt2) == full[11:]


def test_reduce_lr_on_plateau_after_a_group_is_added(torch):
    for lib in (torch, fastnn):
        opt, _ = make_optimizer(lib)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, min_lr=[0.0, 0.0])
        extra = lib.nn.Parameter(lib.ones(1))
        opt.add_param_group({"params": [extra]})
        sched.step(1.0)
        with pytest.raises(RuntimeError, match="min_lrs"):
            sched.step(2.0)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, min_lr=0.0)
        opt.add_param_group({"params": [lib.nn.Parameter(lib.ones(1))], "lr": 0.5})
        sched.step(1.0)
        sched.step(2.0)
        assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.01, 0.002, 0.01, 0.05])
