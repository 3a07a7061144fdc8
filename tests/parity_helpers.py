"""Helpers for comparing a fastnn module (or function) with PyTorch's on shared weights:
the same state dict, the same inputs, then outputs and every gradient (inputs and parameters)
after one backward of a random weighted sum of all outputs."""
from __future__ import annotations

import numpy as np

import fastnn


def rand(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def share_weights(torch, fm, tm):
    """Copy fastnn's state dict into the torch module (names and order must match)."""
    sd = fm.state_dict()
    assert list(sd) == list(tm.state_dict()), (list(sd), list(tm.state_dict()))
    assert [n for n, _ in fm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    tm.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in sd.items()})


def _flatten(out):
    """Tensors in a (possibly nested) output, PackedSequence data included, in order."""
    if out is None:
        return []
    if hasattr(out, "batch_sizes") and hasattr(out, "data") and isinstance(out, tuple):
        return _flatten(out.data)
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flatten(o)]
    return [out]


def assert_close(actual, expected, rtol, atol, what=""):
    a = actual.data if isinstance(actual, fastnn.Tensor) else np.asarray(actual)
    e = expected.detach().numpy() if hasattr(expected, "detach") else np.asarray(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != torch's {e.shape}"
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=what)


def compare_outputs_and_grads(torch, f_out, t_out, f_inputs, t_inputs, fm=None, tm=None, rtol=1e-4, atol=1e-5,
                              seed=100, check_grads=True):
    """Compare outputs; then backward sum(out_k * r_k) on both sides and compare the gradients
    of the inputs that require grad and of the modules' parameters."""
    fo, to = _flatten(f_out), _flatten(t_out)
    assert len(fo) == len(to), (len(fo), len(to))
    for k, (a, b) in enumerate(zip(fo, to)):
        if b is None:
            assert a is None
            continue
        assert_close(a, b, rtol, atol, f"output {k}")
    if not check_grads:
        return
    f_loss, t_loss = None, None
    for k, (a, b) in enumerate(zip(fo, to)):
        if b is None or not b.requires_grad:
            continue
        r = rand(*b.shape, seed=seed + k, dtype=a.data.dtype)
        fl = (a * fastnn.tensor(r)).sum()
        tl = (b * torch.from_numpy(r)).sum()
        f_loss = fl if f_loss is None else f_loss + fl
        t_loss = tl if t_loss is None else t_loss + tl
    if t_loss is None:
        return
    f_loss.backward()
    t_loss.backward()
    for i, (fx, tx) in enumerate(zip(f_inputs, t_inputs)):
        if isinstance(tx, torch.Tensor) and tx.requires_grad:
            if tx.grad is None:
                assert fx.grad is None or not np.any(fx.grad.data), f"input {i}: torch has no grad"
            else:
                assert fx.grad is not None, f"input {i}: no grad"
                assert_close(fx.grad, tx.grad, rtol, atol, f"grad of input {i}")
    if fm is not None:
        tparams = dict(tm.named_parameters())
        for name, p in fm.named_parameters():
            tp = tparams[name]
            if tp.grad is None:
                assert p.grad is None or not np.any(p.grad.data), f"{name}: torch has no grad"
            else:
                assert p.grad is not None, f"{name}: no grad"
                assert_close(p.grad, tp.grad, rtol, atol, f"grad of {name}")


def pair(torch, array, requires_grad=True):
    """The same array as a fastnn and a torch leaf tensor."""
    return (fastnn.tensor(array.copy(), requires_grad=requires_grad),
            torch.tensor(array.copy(), requires_grad=requires_grad))
