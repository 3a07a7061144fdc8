"""RNN and LSTM against PyTorch: same weights (via the state dict), same inputs and initial
states; outputs, final states and every gradient (input, h_0/c_0, parameters) through time."""
from __future__ import annotations

import math

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn

RTOL, ATOL = 1e-4, 1e-5


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def close(actual, expected, what=""):
    actual = actual.data if isinstance(actual, fastnn.Tensor) else actual
    expected = expected.detach().numpy()
    assert actual.shape == expected.shape, f"{what}: {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=what)


def compare(torch, kind, kwargs, x, with_state=False, seed=0):
    fm, tm = getattr(nn, kind)(**kwargs), getattr(torch.nn, kind)(**kwargs)
    sd = fm.state_dict()
    assert list(sd) == list(tm.state_dict())
    assert [n for n, _ in fm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    tm.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    fx, tx = fastnn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    f_args, t_args = [fx], [tx]
    states = []
    if with_state:
        dirs = 2 if kwargs.get("bidirectional") else 1
        batch = () if x.ndim == 2 else (x.shape[0 if kwargs.get("batch_first") else 1],)
        shape = (kwargs.get("num_layers", 1) * dirs, *batch, kwargs["hidden_size"])
        states = [(fastnn.tensor(rand(*shape, seed=seed + 10 + i), requires_grad=True),
                   torch.tensor(rand(*shape, seed=seed + 10 + i), requires_grad=True))
                  for i in range(2 if kind == "LSTM" else 1)]
        f_state = tuple(s[0] for s in states) if kind == "LSTM" else states[0][0]
        t_state = tuple(s[1] for s in states) if kind == "LSTM" else states[0][1]
        f_args.append(f_state)
        t_args.append(t_state)
    f_out, f_final = fm(*f_args)
    t_out, t_final = tm(*t_args)
    f_finals = list(f_final) if kind == "LSTM" else [f_final]
    t_finals = list(t_final) if kind == "LSTM" else [t_final]
    close(f_out, t_out, "output")
    for i, (a, b) in enumerate(zip(f_finals, t_finals)):
        close(a, b, f"final state {i}")
    # one backward through everything the layer returned
    f_loss = (f_out * fastnn.tensor(rand(*t_out.shape, seed=seed + 1))).sum()
    t_loss = (t_out * torch.from_numpy(rand(*t_out.shape, seed=seed + 1))).sum()
    for i, (a, b) in enumerate(zip(f_finals, t_finals)):
        g = rand(*b.shape, seed=seed + 2 + i)
        f_loss = f_loss + (a * fastnn.tensor(g)).sum()
        t_loss = t_loss + (b * torch.from_numpy(g)).sum()
    f_loss.backward()
    t_loss.backward()
    close(fx.grad, tx.grad, "input grad")
    for i, (fs, ts) in enumerate(states):
        close(fs.grad, ts.grad, f"initial state {i} grad")
    tparams = dict(tm.named_parameters())
    for name, p in fm.named_parameters():
        close(p.grad, tparams[name].grad, f"grad of {name}")


LSTM_CASES = [
    dict(input_size=3, hidden_size=5),
    dict(input_size=3, hidden_size=5, batch_first=True),
    dict(input_size=3, hidden_size=4, num_layers=2),
    dict(input_size=3, hidden_size=4, num_layers=2, batch_first=True),
    dict(input_size=3, hidden_size=4, num_layers=2, bias=False),
    dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True, batch_first=True),
]


@pytest.mark.parametrize("kwargs", LSTM_CASES, ids=str)
@pytest.mark.parametrize("with_state", [False, True])
def test_lstm(torch, kwargs, with_state):
    x = rand(2, 6, 3) if kwargs.get("batch_first") else rand(6, 2, 3)
    compare(torch, "LSTM", kwargs, x, with_state)


RNN_CASES = [
    dict(input_size=3, hidden_size=5),
    dict(input_size=3, hidden_size=5, batch_first=True),
    dict(input_size=3, hidden_size=4, num_layers=2, nonlinearity="relu"),
    dict(input_size=3, hidden_size=4, num_layers=3, batch_first=True, bias=False),
    dict(input_size=3, hidden_size=4, bidirectional=True),
]


@pytest.mark.parametrize("kwargs", RNN_CASES, ids=str)
@pytest.mark.parametrize("with_state", [False, True])
def test_rnn(torch, kwargs, with_state):
    x = rand(2, 7, 3) if kwargs.get("batch_first") else rand(7, 2, 3)
    compare(torch, "RNN", kwargs, x, with_state)


@pytest.mark.parametrize("kind", ["RNN", "LSTM"])
def test_unbatched_input(torch, kind):
    compare(torch, kind, dict(input_size=3, hidden_size=4, num_layers=2), rand(5, 3), with_state=True)


def test_rnn_positional_arguments_follow_pytorch(torch):
    fm, tm = nn.RNN(3, 4, 2, "relu", False, True), torch.nn.RNN(3, 4, 2, "relu", False, True)
    assert (fm.num_layers, fm.nonlinearity, fm.bias, fm.batch_first) == (2, "relu", False, True)
    assert repr(fm) == repr(tm)
    assert repr(nn.LSTM(3, 4, 2, batch_first=True, dropout=0.5)) == \
        repr(torch.nn.LSTM(3, 4, 2, batch_first=True, dropout=0.5))


def test_parameter_shapes_and_default_init(torch):
    fm, tm = nn.LSTM(10, 64, num_layers=2), torch.nn.LSTM(10, 64, num_layers=2)
    bound = 1 / math.sqrt(64)
    tshapes = {n: tuple(p.shape) for n, p in tm.named_parameters()}
    for name, p in fm.named_parameters():
        assert p.shape == tshapes[name]
        assert p.dtype == np.float32
        assert np.abs(p.data).max() <= bound
        assert np.abs(p.data).max() > 0.95 * bound          # really uses the whole range
        assert abs(p.data.std() - bound / math.sqrt(3)) < 0.1 * bound   # uniform: std = bound/sqrt(3)


def test_manual_seed_makes_recurrent_layers_reproducible():
    fastnn.manual_seed(3)
    a = nn.LSTM(4, 5).state_dict()
    fastnn.manual_seed(3)
    b = nn.LSTM(4, 5).state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_dropout_between_layers_only_in_training():
    fastnn.manual_seed(0)
    m = nn.LSTM(3, 8, num_layers=2, dropout=0.5)
    x = fastnn.tensor(rand(4, 2, 3))
    m.eval()
    a, b = m(x)[0].data, m(x)[0].data
    np.testing.assert_array_equal(a, b)
    m.train()
    assert not np.allclose(m(x)[0].data, a)


def test_bad_shapes_raise():
    m = nn.LSTM(3, 4)
    with pytest.raises(ValueError, match="input_size"):
        m(fastnn.randn(5, 2, 4))
    with pytest.raises(ValueError, match="hidden size"):
        m(fastnn.randn(5, 2, 3), (fastnn.zeros(1, 3, 4), fastnn.zeros(1, 3, 4)))
