"""scaled_dot_product_attention, MultiheadAttention and the Transformer layers against PyTorch
on shared weights: outputs, attention weights and the gradients of inputs, float masks and
parameters (masks of both kinds, batch_first, unbatched input, kdim/vdim, bias_kv, zero_attn)."""
from __future__ import annotations

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F
from parity_helpers import compare_outputs_and_grads, pair, rand, share_weights

RTOL, ATOL = 1e-4, 2e-5


# ------------------------------------------------------------------ scaled_dot_product_attention

SDPA_CASES = [
    dict(q=(2, 3, 4, 8), k=(2, 3, 6, 8), v=(2, 3, 6, 5)),
    dict(q=(4, 8), k=(6, 8), v=(6, 3)),
    dict(q=(2, 4, 8), k=(2, 4, 8), v=(2, 4, 8), is_causal=True),
    dict(q=(2, 3, 4, 8), k=(2, 3, 6, 8), v=(2, 3, 6, 5), is_causal=True, scale=0.3),
    dict(q=(2, 3, 4, 8), k=(2, 3, 6, 8), v=(2, 3, 6, 5), mask="bool", mask_shape=(4, 6)),
    dict(q=(2, 3, 4, 8), k=(2, 3, 6, 8), v=(2, 3, 6, 5), mask="bool", mask_shape=(2, 1, 4, 6)),
    dict(q=(2, 3, 4, 8), k=(2, 3, 6, 8), v=(2, 3, 6, 5), mask="float", mask_shape=(3, 4, 6)),
    dict(q=(2, 4, 3, 8), k=(2, 2, 5, 8), v=(2, 2, 5, 6), enable_gqa=True),
    dict(q=(1, 5, 8), k=(3, 7, 8), v=(3, 7, 2)),                     # broadcast batch
]


@pytest.mark.parametrize("case", SDPA_CASES, ids=str)
def test_sdpa_matches_torch(torch, case):
    fq, tq = pair(torch, rand(*case["q"], seed=1))
    fk, tk = pair(torch, rand(*case["k"], seed=2))
    fv, tv = pair(torch, rand(*case["v"], seed=3))
    f_in, t_in = [fq, fk, fv], [tq, tk, tv]
    kwargs = {k: case[k] for k in ("is_causal", "scale", "enable_gqa") if k in case}
    if case.get("mask") == "bool":
        m = np.random.default_rng(4).random(case["mask_shape"]) > 0.3
        m[..., 0] = True
        kwargs_f, kwargs_t = dict(attn_mask=fastnn.tensor(m)), dict(attn_mask=torch.from_numpy(m))
    elif case.get("mask") == "float":
        fm, tm = pair(torch, rand(*case["mask_shape"], seed=5))
        f_in.append(fm)
        t_in.append(tm)
        kwargs_f, kwargs_t = dict(attn_mask=fm), dict(attn_mask=tm)
    else:
        kwargs_f = kwargs_t = {}
    f_out = F.scaled_dot_product_attention(*f_in[:3], **kwargs_f, **kwargs)
    t_out = torch.nn.functional.scaled_dot_product_attention(*t_in[:3], **kwargs_t, **kwargs)
    compare_outputs_and_grads(torch, f_out, t_out, f_in, t_in, rtol=RTOL, atol=ATOL)


def test_sdpa_fully_masked_rows_are_zero_like_torch(torch):
    m = np.ones((3, 5), dtype=bool)
    m[1] = False
    fq, tq = pair(torch, rand(2, 3, 4))
    fk, tk = pair(torch, rand(2, 5, 4, seed=1))
    fv, tv = pair(torch, rand(2, 5, 4, seed=2))
    f_out = F.scaled_dot_product_attention(fq, fk, fv, attn_mask=fastnn.tensor(m))
    t_out = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=torch.from_numpy(m))
    assert np.all(f_out.data[:, 1] == 0)
    compare_outputs_and_grads(torch, f_out, t_out, [fq, fk, fv], [tq, tk, tv], rtol=RTOL, atol=ATOL)
    assert np.isfinite(fq.grad.data).all()


def test_sdpa_errors(torch):
    q = fastnn.randn(2, 3, 4)
    with pytest.raises(RuntimeError, match="is_causal"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=fastnn.ones(3, 3).bool(), is_causal=True)
    with pytest.raises(RuntimeError, match="attn_mask dtype"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=fastnn.ones(3, 3, dtype=fastnn.int64))


def test_sdpa_dropout_only_changes_weights():
    fastnn.manual_seed(0)
    q = fastnn.randn(2, 3, 4)
    a = F.scaled_dot_product_attention(q, q, q)
    b = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    assert a.shape == b.shape and not np.allclose(a.data, b.data)


def test_sdpa_gradcheck_float64():
    q = fastnn.tensor(rand(2, 3, 4, dtype=np.float64), requires_grad=True)
    k = fastnn.tensor(rand(2, 5, 4, seed=1, dtype=np.float64), requires_grad=True)
    v = fastnn.tensor(rand(2, 5, 3, seed=2, dtype=np.float64), requires_grad=True)
    m = fastnn.tensor(rand(3, 5, seed=3, dtype=np.float64), requires_grad=True)
    assert fastnn.gradcheck(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), [q, k, v, m])


# ------------------------------------------------------------------ MultiheadAttention

MHA_CONFIGS = [
    dict(),
    dict(batch_first=True),
    dict(bias=False),
    dict(kdim=3, vdim=5),
    dict(add_bias_kv=True),
    dict(add_zero_attn=True, batch_first=True),
    dict(add_bias_kv=True, add_zero_attn=True, kdim=6, vdim=4),
]


def _mha_pair(torch, config, E=8, H=2):
    fastnn.manual_seed(0)
    fm, tm = nn.MultiheadAttention(E, H, **config), torch.nn.MultiheadAttention(E, H, **config)
    share_weights(torch, fm, tm)
    return fm, tm


def _inputs(torch, config, L, S, N, E, self_attention, batched=True):
    bf = config.get("batch_first", False)
    kd, vd = config.get("kdim", E), config.get("vdim", E)

    def shape(length, dim):
        if not batched:
            return (length, dim)
        return (N, length, dim) if bf else (length, N, dim)

    fq, tq = pair(torch, rand(*shape(L, E), seed=1))
    if self_attention:
        return [fq, fq, fq], [tq, tq, tq], [fq], [tq]
    fk, tk = pair(torch, rand(*shape(S, kd), seed=2))
    fv, tv = pair(torch, rand(*shape(S, vd), seed=3))
    return [fq, fk, fv], [tq, tk, tv], [fq, fk, fv], [tq, tk, tv]


@pytest.mark.parametrize("config", MHA_CONFIGS, ids=str)
@pytest.mark.parametrize("masks", ["none", "bool", "float", "both"])
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
def test_multihead_attention_matches_torch(torch, config, masks, need_weights, average):
    E, H, L, S, N = 8, 2, 4, 5, 3
    fm, tm = _mha_pair(torch, config, E, H)
    self_attention = "kdim" not in config and masks == "none"
    if self_attention:
        S = L
    f_args, t_args, f_in, t_in = _inputs(torch, config, L, S, N, E, self_attention)
    f_kw, t_kw = dict(need_weights=need_weights, average_attn_weights=average), {}
    t_kw.update(f_kw)
    rng = np.random.default_rng(7)
    if masks in ("bool", "both"):
        kpm = rng.random((N, S)) < 0.3
        kpm[:, 0] = False
        f_kw["key_padding_mask"], t_kw["key_padding_mask"] = fastnn.tensor(kpm), torch.from_numpy(kpm)
    if masks in ("float", "both"):
        fam, tam = pair(torch, rand(L, S, seed=9))
        f_kw["attn_mask"], t_kw["attn_mask"] = fam, tam
        f_in.append(fam)
        t_in.append(tam)
    compare_outputs_and_grads(torch, fm(*f_args, **f_kw), tm(*t_args, **t_kw), f_in, t_in, fm, tm, RTOL, ATOL)


@pytest.mark.parametrize("mask", ["bool2d", "float3d", "causal"])
def test_multihead_attention_attn_mask_kinds(torch, mask):
    E, H, L, N = 6, 3, 5, 2
    fm, tm = _mha_pair(torch, dict(batch_first=True), E, H)
    f_args, t_args, f_in, t_in = _inputs(torch, dict(batch_first=True), L, L, N, E, True)
    if mask == "bool2d":
        m = np.random.default_rng(3).random((L, L)) < 0.4
        np.fill_diagonal(m, False)
        fa, ta = fastnn.tensor(m), torch.from_numpy(m)
        kw = {}
    elif mask == "float3d":
        fa, ta = pair(torch, rand(N * H, L, L, seed=4))
        f_in.append(fa)
        t_in.append(ta)
        kw = {}
    else:
        fa = nn.Transformer.generate_square_subsequent_mask(L)
        ta = torch.nn.Transformer.generate_square_subsequent_mask(L)
        np.testing.assert_array_equal(fa.data, ta.numpy())
        kw = dict(is_causal=True)
    compare_outputs_and_grads(torch, fm(*f_args, attn_mask=fa, **kw), tm(*t_args, attn_mask=ta, **kw), f_in, t_in,
                              fm, tm, RTOL, ATOL)


@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_unbatched(torch, need_weights):
    fm, tm = _mha_pair(torch, dict(kdim=3, vdim=5))
    f_args, t_args, f_in, t_in = _inputs(torch, dict(kdim=3, vdim=5), 4, 6, None, 8, False, batched=False)
    kpm = np.array([False, True, False, False, True, False])
    compare_outputs_and_grads(torch, fm(*f_args, key_padding_mask=fastnn.tensor(kpm), need_weights=need_weights),
                              tm(*t_args, key_padding_mask=torch.from_numpy(kpm), need_weights=need_weights),
                              f_in, t_in, fm, tm, RTOL, ATOL)


def test_multihead_attention_structure_and_errors(torch):
    for args, kwargs in [((8, 2), {}), ((8, 4), dict(kdim=3, vdim=5, add_bias_kv=True, bias=False))]:
        fm, tm = nn.MultiheadAttention(*args, **kwargs), torch.nn.MultiheadAttention(*args, **kwargs)
        assert repr(fm) == repr(tm)
        assert list(fm.state_dict()) == list(tm.state_dict())
        assert [(n, tuple(p.shape)) for n, p in fm.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in tm.named_parameters()]
    m = nn.MultiheadAttention(8, 2)
    assert np.all(m.in_proj_bias.data == 0) and np.all(m.out_proj.bias.data == 0)
    bound = np.sqrt(6 / (8 + 24))
    assert np.abs(m.in_proj_weight.data).max() <= bound
    with pytest.raises(AssertionError, match="divisible"):
        nn.MultiheadAttention(8, 3)
    x = fastnn.randn(4, 2, 8)
    with pytest.raises(RuntimeError, match="is_causal"):
        m(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match="2D attn_mask"):
        m(x, x, x, attn_mask=fastnn.zeros(3, 4))


def test_multihead_attention_dropout_in_training_only():
    fastnn.manual_seed(0)
    m = nn.MultiheadAttention(8, 2, dropout=0.5)
    x = fastnn.randn(4, 2, 8)
    m.eval()
    a, wa = m(x, x, x)
    np.testing.assert_allclose(wa.data.sum(-1), 1, rtol=1e-5)
    m.train()
    b, _ = m(x, x, x)
    assert not np.allclose(a.data, b.data)


def test_mha_gradcheck_float64():
    fastnn.manual_seed(0)
    m = nn.MultiheadAttention(4, 2, dtype=fastnn.float64, kdim=3, vdim=2, add_bias_kv=True)
    q = fastnn.tensor(rand(3, 2, 4, dtype=np.float64), requires_grad=True)
    k = fastnn.tensor(rand(5, 2, 3, seed=1, dtype=np.float64), requires_grad=True)
    v = fastnn.tensor(rand(5, 2, 2, seed=2, dtype=np.float64), requires_grad=True)
    kpm = fastnn.tensor(np.array([[False, False, True, False, False], [False, True, False, False, False]]))
    assert fastnn.gradcheck(lambda q, k, v, *ps: m(q, k, v, key_padding_mask=kpm),
                            [q, k, v] + list(m.parameters()))


# ------------------------------------------------------------------ Transformer layers

LAYER_CONFIGS = [
    dict(),
    dict(batch_first=True),
    dict(norm_first=True),
    dict(activation="gelu", batch_first=True, norm_first=True),
    dict(bias=False),
    dict(layer_norm_eps=1e-3, activation="gelu"),
]


def _layer_inputs(torch, batch_first, L, N, E, seed):
    return pair(torch, rand(*((N, L, E) if batch_first else (L, N, E)), seed=seed))


@pytest.mark.parametrize("config", LAYER_CONFIGS, ids=str)
@pytest.mark.parametrize("masks", ["none", "causal+padding"])
def test_transformer_encoder_layer_matches_torch(torch, config, masks):
    E, H, L, N = 8, 2, 5, 3
    fm = nn.TransformerEncoderLayer(E, H, dim_feedforward=16, dropout=0.0, **config)
    tm = torch.nn.TransformerEncoderLayer(E, H, dim_feedforward=16, dropout=0.0, **config)
    share_weights(torch, fm, tm)
    assert repr(fm) == repr(tm)
    fx, tx = _layer_inputs(torch, config.get("batch_first", False), L, N, E, 1)
    f_kw, t_kw = {}, {}
    if masks != "none":
        kpm = np.zeros((N, L), dtype=bool)
        kpm[0, 3:] = True
        kpm[2, 4] = True
        f_kw = dict(src_mask=nn.Transformer.generate_square_subsequent_mask(L), src_key_padding_mask=fastnn.tensor(kpm))
        t_kw = dict(src_mask=torch.nn.Transformer.generate_square_subsequent_mask(L),
                    src_key_padding_mask=torch.from_numpy(kpm))
    compare_outputs_and_grads(torch, fm(fx, **f_kw), tm(tx, **t_kw), [fx], [tx], fm, tm, RTOL, ATOL)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_norm", [False, True])
def test_transformer_encoder_matches_torch(torch, batch_first, with_norm):
    E, H, L, N = 8, 4, 6, 2
    f_layer = nn.TransformerEncoderLayer(E, H, 12, dropout=0.0, batch_first=batch_first)
    t_layer = torch.nn.TransformerEncoderLayer(E, H, 12, dropout=0.0, batch_first=batch_first)
    fm = nn.TransformerEncoder(f_layer, 3, nn.LayerNorm(E) if with_norm else None)
    tm = torch.nn.TransformerEncoder(t_layer, 3, torch.nn.LayerNorm(E) if with_norm else None,
                                     enable_nested_tensor=False)
    for p in fm.parameters():                      # copies must be independent: make them differ
        p.data[...] = np.random.default_rng(p.data.size).standard_normal(p.shape) * 0.3
    share_weights(torch, fm, tm)
    assert repr(fm) == repr(tm)
    fx, tx = _layer_inputs(torch, batch_first, L, N, E, 2)
    mask_f = nn.Transformer.generate_square_subsequent_mask(L)
    mask_t = torch.nn.Transformer.generate_square_subsequent_mask(L)
    compare_outputs_and_grads(torch, fm(fx, mask=mask_f), tm(tx, mask=mask_t), [fx], [tx], fm, tm, RTOL, ATOL)


@pytest.mark.parametrize("config", [dict(), dict(batch_first=True, norm_first=True, activation="gelu")], ids=str)
def test_transformer_decoder_layer_matches_torch(torch, config):
    E, H, L, S, N = 8, 2, 4, 6, 3
    fm = nn.TransformerDecoderLayer(E, H, 16, dropout=0.0, **config)
    tm = torch.nn.TransformerDecoderLayer(E, H, 16, dropout=0.0, **config)
    share_weights(torch, fm, tm)
    assert repr(fm) == repr(tm)
    bf = config.get("batch_first", False)
    ft, tt = _layer_inputs(torch, bf, L, N, E, 3)
    fmem, tmem = _layer_inputs(torch, bf, S, N, E, 4)
    kpm = np.zeros((N, S), dtype=bool)
    kpm[1, 4:] = True
    f_out = fm(ft, fmem, tgt_mask=nn.Transformer.generate_square_subsequent_mask(L),
               memory_key_padding_mask=fastnn.tensor(kpm))
    t_out = tm(tt, tmem, tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(L),
               memory_key_padding_mask=torch.from_numpy(kpm))
    compare_outputs_and_grads(torch, f_out, t_out, [ft, fmem], [tt, tmem], fm, tm, RTOL, ATOL)


@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_matches_torch(torch, batch_first):
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16, dropout=0.0,
              batch_first=batch_first)
    fm, tm = nn.Transformer(**kw), torch.nn.Transformer(**kw)
    share_weights(torch, fm, tm)
    assert repr(fm) == repr(tm)
    fs, ts = _layer_inputs(torch, batch_first, 5, 2, 8, 5)
    ft, tt = _layer_inputs(torch, batch_first, 4, 2, 8, 6)
    f_out = fm(fs, ft, tgt_mask=nn.Transformer.generate_square_subsequent_mask(4))
    t_out = tm(ts, tt, tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(4))
    compare_outputs_and_grads(torch, f_out, t_out, [fs, ft], [ts, tt], fm, tm, RTOL, ATOL)


@pytest.mark.parametrize("seed", range(12))
def test_multihead_attention_random_shapes(torch, seed):
    """Random sizes, layouts and masks (seeded), all against torch."""
    rng = np.random.default_rng(1000 + seed)
    H = int(rng.integers(1, 4))
    E = H * int(rng.integers(1, 4))
    L, S, N = (int(v) for v in rng.integers(1, 7, size=3))
    config = dict(batch_first=bool(rng.random() < 0.5), bias=bool(rng.random() < 0.8),
                  add_bias_kv=bool(rng.random() < 0.3), add_zero_attn=bool(rng.random() < 0.3))
    if rng.random() < 0.4:
        config.update(kdim=int(rng.integers(1, 6)), vdim=int(rng.integers(1, 6)))
    fm, tm = _mha_pair(torch, config, E, H)
    f_args, t_args, f_in, t_in = _inputs(torch, config, L, S, N, E, False)
    f_kw = dict(need_weights=bool(rng.random() < 0.7), average_attn_weights=bool(rng.random() < 0.5))
    t_kw = dict(f_kw)
    if rng.random() < 0.5:
        kpm = rng.random((N, S)) < 0.3
        kpm[:, 0] = False
        f_kw["key_padding_mask"], t_kw["key_padding_mask"] = fastnn.tensor(kpm), torch.from_numpy(kpm)
    if rng.random() < 0.5:
        am = rng.random((L, S)) < 0.3
        am[:, 0] = False
        f_kw["attn_mask"], t_kw["attn_mask"] = fastnn.tensor(am), torch.from_numpy(am)
    compare_outputs_and_grads(torch, fm(*f_args, **f_kw), tm(*t_args, **t_kw), f_in, t_in, fm, tm, RTOL, ATOL)


@pytest.mark.parametrize("seed", range(8))
def test_sdpa_random_shapes(torch, seed):
    rng = np.random.default_rng(2000 + seed)
    batch = tuple(int(v) for v in rng.integers(1, 4, size=int(rng.integers(0, 3))))
    L, S, E, Ev = (int(v) for v in rng.integers(1, 7, size=4))
    fq, tq = pair(torch, rand(*batch, L, E, seed=seed))
    fk, tk = pair(torch, rand(*batch, S, E, seed=seed + 1))
    fv, tv = pair(torch, rand(*batch, S, Ev, seed=seed + 2))
    kw = dict(is_causal=bool(rng.random() < 0.3))
    if not kw["is_causal"] and rng.random() < 0.5:
        m = rng.random((L, S)) < 0.7
        kw_f, kw_t = dict(attn_mask=fastnn.tensor(m)), dict(attn_mask=torch.from_numpy(m))
    else:
        kw_f = kw_t = {}
    compare_outputs_and_grads(torch, F.scaled_dot_product_attention(fq, fk, fv, **kw, **kw_f),
                              torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, **kw, **kw_t),
                              [fq, fk, fv], [tq, tk, tv], rtol=RTOL, atol=ATOL)
