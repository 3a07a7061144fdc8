"""fastnn's answers to PyTorch's utility names (dtype limits, grad modes, anomaly detection,
compile, deterministic flag, defaults), against torch's."""
from __future__ import annotations

import numpy as np
import pytest

import fastnn


@pytest.mark.parametrize("name", ["float32", "float64", "float16"])
def test_finfo_matches_torch(torch, name):
    mine, theirs = fastnn.finfo(getattr(fastnn, name)), torch.finfo(getattr(torch, name))
    for field in ("bits", "eps", "max", "min", "tiny", "resolution"):
        assert float(getattr(mine, field)) == pytest.approx(float(getattr(theirs, field)), rel=1e-3), field  # NumPy gives them in the dtype
    assert float(fastnn.finfo().eps) == float(torch.finfo().eps)


@pytest.mark.parametrize("name", ["int64", "int32", "int16", "int8", "uint8"])
def test_iinfo_matches_torch(torch, name):
    mine, theirs = fastnn.iinfo(getattr(fastnn, name)), torch.iinfo(getattr(torch, name))
    assert (mine.bits, mine.min, mine.max) == (theirs.bits, theirs.min, theirs.max)


def test_inference_mode_records_nothing_and_works_as_a_decorator():
    w = fastnn.ones(3, requires_grad=True)
    with fastnn.inference_mode():
        assert not (w * 2).requires_grad
    with fastnn.inference_mode(False):
        assert (w * 2).requires_grad

    @fastnn.inference_mode()
    def f(x):
        return x * 2
    assert not f(w).requires_grad and fastnn.is_grad_enabled()


def test_detect_anomaly_names_the_operation_like_torch(torch):
    x = fastnn.tensor([0.0, 1.0], requires_grad=True)
    with fastnn.autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match=r"Function 'SqrtBackward0' returned nan values in its 0th output"):
            (x.sqrt() * 0).sum().backward()
    (x.sqrt() * 0).sum().backward()             # off again: no check, a nan gradient as torch gives
    assert np.isnan(x.grad.numpy()[0])
    tx = torch.tensor([0.0, 1.0], requires_grad=True)
    with torch.autograd.detect_anomaly(), pytest.raises(RuntimeError, match="SqrtBackward0"):
        (tx.sqrt() * 0).sum().backward()


def test_compile_returns_the_model_and_deterministic_flag_is_kept():
    model = fastnn.nn.Linear(2, 2)
    assert fastnn.compile(model) is model
    assert fastnn.compile()(model) is model
    fastnn.use_deterministic_algorithms(True)
    assert fastnn.are_deterministic_algorithms_enabled()
    fastnn.use_deterministic_algorithms(False)
    assert not fastnn.are_deterministic_algorithms_enabled()


def test_defaults_accept_what_fastnn_has_and_name_the_rest():
    assert fastnn.get_default_dtype() == fastnn.float32
    fastnn.set_default_dtype(fastnn.float32)
    with pytest.raises(NotImplementedError, match="float64"):
        fastnn.set_default_dtype(fastnn.float64)
    fastnn.set_default_device("cpu")
    with pytest.raises(RuntimeError, match="CPU only"):
        fastnn.set_default_device("cuda")


def test_torch_clone_and_detach_functions(torch):
    x = fastnn.tensor([1.0, 2.0], requires_grad=True)
    y = fastnn.clone(x)
    assert y.requires_grad and y.grad_fn is not None and not np.shares_memory(y.data, x.data)
    assert not fastnn.detach(x).requires_grad
    assert fastnn.autograd.gradcheck is fastnn.gradcheck


def test_factories_write_into_out_as_torch(torch):
    c = fastnn.zeros(2, 2)
    assert fastnn.rand(2, 2, out=c) is c and c.abs().sum().item() > 0
    e = fastnn.empty(0)
    assert fastnn.arange(4, out=e) is e
    np.testing.assert_array_equal(e.numpy(), torch.arange(4, out=torch.empty(0)).numpy())
    f = fastnn.empty(3)
    assert fastnn.ones(3, out=f) is f and f.tolist() == [1.0, 1.0, 1.0]


def test_autograd_profiler_counts_every_operation():
    x = fastnn.rand(2, 3) + 1
    y = fastnn.rand(2, 3, requires_grad=True)
    z = fastnn.ones(2, 3, requires_grad=True)
    with fastnn.autograd.profiler.profile(use_cuda=False) as prof:
        for _ in range(50):
            z = (z / x) * y
    rows = {e.key: e for e in prof.key_averages()}
    assert rows["Div"].count == 50 and rows["Mul"].count == 50
    assert rows["Div"].self_cpu_time_total > 0
    table = prof.key_averages().table(sort_by="self_cpu_time_total")
    assert "# of Calls" in table and "Self CPU time total" in table
    (z * 2).sum()                               # after the block: nothing more is recorded
    assert rows["Mul"].count == 50
    from fastnn.autograd.profiler import profile
    assert profile is fastnn.autograd.profiler.profile
