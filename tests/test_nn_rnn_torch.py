"""RNN / LSTM / GRU, their cells and nn.utils.rnn against PyTorch on shared weights: outputs,
final states and the gradients of inputs, initial states and parameters (batch_first,
bidirectional, stacked layers, projections, unbatched input, packed variable-length batches)."""
from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
from fastnn.nn.utils import rnn as frnn
from parity_helpers import compare_outputs_and_grads, pair, rand, share_weights

KINDS = ["RNN", "LSTM", "GRU"]

CONFIGS = [
    dict(),
    dict(batch_first=True),
    dict(num_layers=2),
    dict(num_layers=2, bidirectional=True),
    dict(num_layers=3, bidirectional=True, batch_first=True),
    dict(bias=False, bidirectional=True),
    dict(num_layers=2, bias=False, batch_first=True),
]


def make(torch, kind, **kwargs):
    fm, tm = getattr(nn, kind)(**kwargs), getattr(torch.nn, kind)(**kwargs)
    share_weights(torch, fm, tm)
    return fm, tm


def states(torch, kind, kwargs, batch, seed):
    dirs = 2 if kwargs.get("bidirectional") else 1
    layers = kwargs.get("num_layers", 1)
    h = kwargs.get("proj_size") or kwargs["hidden_size"]
    shape_h = (layers * dirs, *batch, h)
    shape_c = (layers * dirs, *batch, kwargs["hidden_size"])
    fh, th = pair(torch, rand(*shape_h, seed=seed))
    if kind != "LSTM":
        return fh, th, [fh], [th]
    fc, tc = pair(torch, rand(*shape_c, seed=seed + 1))
    return (fh, fc), (th, tc), [fh, fc], [th, tc]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("config", CONFIGS, ids=str)
@pytest.mark.parametrize("with_state", [False, True])
def test_recurrent_layers_match_torch(torch, kind, config, with_state):
    rng = np.random.default_rng(zlib.crc32(f"{kind}{config}{with_state}".encode()))
    L, N, I, H = (int(v) for v in rng.integers(1, 6, size=4) + np.array([1, 0, 0, 1]))
    kwargs = dict(input_size=I, hidden_size=H, **config)
    if kind == "RNN" and rng.random() < 0.5:
        kwargs["nonlinearity"] = "relu"
    fm, tm = make(torch, kind, **kwargs)
    x = rand(N, L, I, seed=1) if config.get("batch_first") else rand(L, N, I, seed=1)
    fx, tx = pair(torch, x)
    f_args, t_args, f_in, t_in = [fx], [tx], [fx], [tx]
    if with_state:
        fs, ts, fl, tl = states(torch, kind, kwargs, (N,), seed=5)
        f_args.append(fs)
        t_args.append(ts)
        f_in += fl
        t_in += tl
    compare_outputs_and_grads(torch, fm(*f_args), tm(*t_args), f_in, t_in, fm, tm)


@pytest.mark.parametrize("config", [dict(), dict(num_layers=2, bidirectional=True, batch_first=True)], ids=str)
@pytest.mark.parametrize("with_state", [False, True])
def test_lstm_projection_matches_torch(torch, config, with_state):
    kwargs = dict(input_size=3, hidden_size=5, proj_size=2, **config)
    fm, tm = make(torch, "LSTM", **kwargs)
    x = rand(4, 6, 3, seed=2)
    fx, tx = pair(torch, x)
    f_args, t_args, f_in, t_in = [fx], [tx], [fx], [tx]
    if with_state:
        fs, ts, fl, tl = states(torch, "LSTM", kwargs, (4 if config.get("batch_first") else 6,), seed=3)
        f_args.append(fs)
        t_args.append(ts)
        f_in += fl
        t_in += tl
    compare_outputs_and_grads(torch, fm(*f_args), tm(*t_args), f_in, t_in, fm, tm)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("batch_first", [False, True])
def test_unbatched_input(torch, kind, batch_first):
    kwargs = dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True, batch_first=batch_first)
    fm, tm = make(torch, kind, **kwargs)
    fx, tx = pair(torch, rand(5, 3, seed=4))
    fs, ts, fl, tl = states(torch, kind, kwargs, (), seed=6)
    compare_outputs_and_grads(torch, fm(fx, fs), tm(tx, ts), [fx] + fl, [tx] + tl, fm, tm)


@pytest.mark.parametrize("kind", KINDS)
def test_eval_with_dropout_matches_torch(torch, kind):
    fm, tm = make(torch, kind, input_size=3, hidden_size=4, num_layers=3, dropout=0.5)
    fm.eval()
    tm.eval()
    fx, tx = pair(torch, rand(5, 2, 3))
    compare_outputs_and_grads(torch, fm(fx), tm(tx), [fx], [tx], fm, tm)


def test_repr_state_dict_and_all_weights(torch):
    for args, kwargs in [((3, 4), {}), ((3, 4, 2), dict(bidirectional=True, batch_first=True, dropout=0.5)),
                         ((3, 4), dict(bias=False))]:
        for kind in KINDS:
            fm, tm = getattr(nn, kind)(*args, **kwargs), getattr(torch.nn, kind)(*args, **kwargs)
            assert repr(fm) == repr(tm)
            assert list(fm.state_dict()) == list(tm.state_dict())
            assert fm._flat_weights_names == tm._flat_weights_names
            assert [[tuple(p.shape) for p in ws] for ws in fm.all_weights] == \
                [[tuple(p.shape) for p in ws] for ws in tm.all_weights]
    assert repr(nn.LSTM(3, 4, proj_size=2)) == repr(torch.nn.LSTM(3, 4, proj_size=2))
    assert repr(nn.RNN(3, 4, 1, "relu")) == repr(torch.nn.RNN(3, 4, 1, "relu"))
    assert nn.GRU(3, 4).mode == "GRU" and nn.RNN(3, 4, nonlinearity="relu").mode == "RNN_RELU"
    with pytest.raises(ValueError, match="proj_size"):
        nn.GRU(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.warns(UserWarning, match="dropout"):
        nn.GRU(3, 4, dropout=0.3)


def test_bad_arguments_raise_like_torch(torch):
    m = nn.GRU(3, 4)
    with pytest.raises(RuntimeError, match="input_size"):
        m(fastnn.randn(5, 2, 4))
    with pytest.raises(RuntimeError, match="Expected hidden size"):
        m(fastnn.randn(5, 2, 3), fastnn.zeros(1, 3, 4))
    with pytest.raises(RuntimeError, match="should also be 3-D"):
        m(fastnn.randn(5, 2, 3), fastnn.zeros(3, 4))
    with pytest.raises(ValueError, match="2D or 3D"):
        m(fastnn.randn(5, 2, 3, 1))
    with pytest.raises(ValueError, match="dtype"):
        m(fastnn.randn(5, 2, 3, dtype=fastnn.float64))


# ------------------------------------------------------------------ cells

CELLS = [("RNNCell", dict()), ("RNNCell", dict(nonlinearity="relu")), ("RNNCell", dict(bias=False)),
         ("LSTMCell", dict()), ("LSTMCell", dict(bias=False)), ("GRUCell", dict()), ("GRUCell", dict(bias=False))]


@pytest.mark.parametrize("kind,config", CELLS, ids=str)
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [False, True])
def test_cells_match_torch(torch, kind, config, batched, with_state):
    fm, tm = getattr(nn, kind)(3, 5, **config), getattr(torch.nn, kind)(3, 5, **config)
    share_weights(torch, fm, tm)
    assert repr(fm) == repr(tm)
    batch = (4,) if batched else ()
    fx, tx = pair(torch, rand(*batch, 3, seed=7))
    f_args, t_args, f_in, t_in = [fx], [tx], [fx], [tx]
    if with_state:
        fh, th = pair(torch, rand(*batch, 5, seed=8))
        f_in.append(fh)
        t_in.append(th)
        if kind == "LSTMCell":
            fc, tc = pair(torch, rand(*batch, 5, seed=9))
            f_in.append(fc)
            t_in.append(tc)
            f_args.append((fh, fc))
            t_args.append((th, tc))
        else:
            f_args.append(fh)
            t_args.append(th)
    compare_outputs_and_grads(torch, fm(*f_args), tm(*t_args), f_in, t_in, fm, tm)


def test_cell_unrolled_equals_layer(torch):
    """An LSTMCell stepped by hand gives nn.LSTM's output (shared weights)."""
    cell, layer = nn.LSTMCell(3, 4), nn.LSTM(3, 4)
    layer.load_state_dict({k + "_l0": v for k, v in cell.state_dict().items()})
    x = fastnn.tensor(rand(6, 2, 3))
    h = c = fastnn.zeros(2, 4)
    outs = []
    for t in range(6):
        h, c = cell(x[t], (h, c))
        outs.append(h)
    np.testing.assert_allclose(fastnn.stack(outs).data, layer(x)[0].data, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ gradcheck (float64)

@pytest.mark.parametrize("kind", KINDS + ["LSTMproj"])
def test_gradcheck_float64(kind):
    proj = kind == "LSTMproj"
    kind = "LSTM" if proj else kind
    fastnn.manual_seed(0)
    m = getattr(nn, kind)(2, 3, bidirectional=True, dtype=fastnn.float64, **(dict(proj_size=2) if proj else {}))
    x = fastnn.tensor(rand(3, 2, 2, dtype=np.float64), requires_grad=True)
    params = list(m.parameters())

    def fn(x, *ps):
        out, hidden = m(x)
        return (out, *hidden) if kind == "LSTM" else (out, hidden)

    assert fastnn.gradcheck(fn, [x] + params)


def test_gradcheck_packed_float64():
    fastnn.manual_seed(1)
    m = nn.GRU(2, 3, bidirectional=True, dtype=fastnn.float64)
    x = fastnn.tensor(rand(4, 3, 2, dtype=np.float64), requires_grad=True)

    def fn(x, *ps):
        out, h = m(frnn.pack_padded_sequence(x, [4, 2, 1]))
        return out.data, h

    assert fastnn.gradcheck(fn, [x] + list(m.parameters()))


# ------------------------------------------------------------------ packed sequences

def _packed_pair(torch, lengths, feature, batch_first, enforce_sorted, seed=0):
    T, B = max(lengths), len(lengths)
    x = rand(B, T, feature, seed=seed) if batch_first else rand(T, B, feature, seed=seed)
    fx, tx = pair(torch, x)
    fp = frnn.pack_padded_sequence(fx, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    tp = torch.nn.utils.rnn.pack_padded_sequence(tx, lengths, batch_first=batch_first,
                                                 enforce_sorted=enforce_sorted)
    return fx, tx, fp, tp


def _same_packed(fp, tp):
    np.testing.assert_array_equal(fp.batch_sizes.data, tp.batch_sizes.numpy())
    assert fp.batch_sizes.dtype == np.int64
    for a, b in [(fp.sorted_indices, tp.sorted_indices), (fp.unsorted_indices, tp.unsorted_indices)]:
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a.data, b.numpy())
    np.testing.assert_allclose(fp.data.data, tp.data.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("lengths", [[5, 3, 3, 1], [2, 6, 1, 6, 3], [4], [1, 1, 1]], ids=str)
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_and_pad_round_trip_match_torch(torch, lengths, batch_first):
    enforce = list(lengths) == sorted(lengths, reverse=True)
    fx, tx, fp, tp = _packed_pair(torch, lengths, 3, batch_first, enforce)
    _same_packed(fp, tp)
    fpad, flen = frnn.pad_packed_sequence(fp, batch_first=batch_first, padding_value=-1.5, total_length=7)
    tpad, tlen = torch.nn.utils.rnn.pad_packed_sequence(tp, batch_first=batch_first, padding_value=-1.5,
                                                        total_length=7)
    np.testing.assert_array_equal(flen.data, tlen.numpy())
    compare_outputs_and_grads(torch, fpad, tpad, [fx], [tx])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("config", [dict(), dict(num_layers=2, bidirectional=True)], ids=str)
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("lengths", [[5, 3, 3, 1], [2, 5, 1, 4]], ids=str)
def test_recurrent_layers_on_packed_sequences(torch, kind, config, with_state, lengths):
    kwargs = dict(input_size=3, hidden_size=4, **config)
    fm, tm = make(torch, kind, **kwargs)
    enforce = list(lengths) == sorted(lengths, reverse=True)
    fx, tx, fp, tp = _packed_pair(torch, lengths, 3, False, enforce, seed=3)
    f_args, t_args, f_in, t_in = [fp], [tp], [fx], [tx]
    if with_state:
        fs, ts, fl, tl = states(torch, kind, kwargs, (len(lengths),), seed=11)
        f_args.append(fs)
        t_args.append(ts)
        f_in += fl
        t_in += tl
    f_out, f_hidden = fm(*f_args)
    t_out, t_hidden = tm(*t_args)
    assert isinstance(f_out, frnn.PackedSequence)
    _same_packed(f_out, t_out)
    compare_outputs_and_grads(torch, (f_out.data, f_hidden), (t_out.data, t_hidden), f_in, t_in, fm, tm)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_matches_torch(torch, batch_first, padding_side):
    seqs = [rand(n, 2, 3, seed=n) for n in (3, 5, 1)]
    f_in = [fastnn.tensor(s, requires_grad=True) for s in seqs]
    t_in = [torch.tensor(s, requires_grad=True) for s in seqs]
    f_out = frnn.pad_sequence(f_in, batch_first, 0.5, padding_side)
    t_out = torch.nn.utils.rnn.pad_sequence(t_in, batch_first, 0.5, padding_side)
    compare_outputs_and_grads(torch, f_out, t_out, f_in, t_in)
    with pytest.raises(ValueError, match="padding_side"):
        frnn.pad_sequence(f_in, padding_side="middle")


def test_pack_sequence_unpack_and_unpad(torch):
    seqs = [rand(n, 2, seed=n) for n in (2, 4, 3)]
    f_in = [fastnn.tensor(s) for s in seqs]
    t_in = [torch.tensor(s) for s in seqs]
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        frnn.pack_sequence(f_in)
    fp = frnn.pack_sequence(f_in, enforce_sorted=False)
    tp = torch.nn.utils.rnn.pack_sequence(t_in, enforce_sorted=False)
    _same_packed(fp, tp)
    for a, b in zip(frnn.unpack_sequence(fp), seqs):
        np.testing.assert_array_equal(a.data, b)
    padded = frnn.pad_sequence(f_in, batch_first=True)
    for a, b in zip(frnn.unpad_sequence(padded, fastnn.tensor([2, 4, 3]), batch_first=True), seqs):
        np.testing.assert_array_equal(a.data, b)
    np.testing.assert_array_equal(frnn.invert_permutation(fastnn.tensor([2, 0, 1])).data,
                                  torch.nn.utils.rnn.invert_permutation(torch.tensor([2, 0, 1])).numpy())
    with pytest.raises(RuntimeError, match="greater than 0"):
        frnn.pack_padded_sequence(fastnn.zeros(3, 2), [3, 0])
    with pytest.raises(ValueError, match="total_length"):
        frnn.pad_packed_sequence(fp, total_length=2)
    assert fastnn.nn.utils.rnn is frnn


def test_lengths_ties_sort_like_torch(torch):
    for lengths in itertools.islice(itertools.product([1, 2, 3], repeat=5), 0, None, 7):
        fp = frnn.pack_padded_sequence(fastnn.zeros(3, 5, 1), list(lengths), enforce_sorted=False)
        tp = torch.nn.utils.rnn.pack_padded_sequence(torch.zeros(3, 5, 1), list(lengths), enforce_sorted=False)
        np.testing.assert_array_equal(fp.sorted_indices.data, tp.sorted_indices.numpy())
