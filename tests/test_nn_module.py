"""The Module API: registration, traversal order and names, state dicts, modes, freezing,
containers and repr, compared with PyTorch where PyTorch defines the answer."""
from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn


def make_net(lib):
    """A small nested model written the same way in both libraries."""

    class Block(lib.Module):
        def __init__(self, c):
            super().__init__()
            self.conv = lib.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn = lib.BatchNorm2d(c)
            self.act = lib.ReLU()

        def forward(self, x):
            return self.act(self.bn(self.conv(x))) + x

    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.stem = lib.Conv2d(1, 4, 3, padding=1)
            self.blocks = lib.Sequential(Block(4), Block(4))
            self.heads = lib.ModuleDict({"cls": lib.Linear(4, 3), "aux": lib.Linear(4, 1)})
            self.extra = lib.ModuleList([lib.Linear(2, 2), lib.Dropout(0.1)])
            self.scale = lib.Parameter(lib.Linear(1, 1).weight.data[0] * 0 + 1)   # ones(1) in either library
            self.pool = lib.AdaptiveAvgPool2d(1)

        def forward(self, x):
            x = self.pool(self.blocks(self.stem(x))).flatten(1)
            return self.heads["cls"](x) * self.scale

    return Net()


@pytest.fixture
def nets(torch):
    return make_net(nn), make_net(torch.nn)


def test_named_parameters_buffers_modules_match_pytorch(torch, nets):
    fnet, tnet = nets
    assert [n for n, _ in fnet.named_parameters()] == [n for n, _ in tnet.named_parameters()]
    assert [p.shape for p in fnet.parameters()] == [tuple(p.shape) for p in tnet.parameters()]
    assert [n for n, _ in fnet.named_buffers()] == [n for n, _ in tnet.named_buffers()]
    assert [n for n, _ in fnet.named_modules()] == [n for n, _ in tnet.named_modules()]
    assert [n for n, _ in fnet.named_children()] == [n for n, _ in tnet.named_children()]
    assert [type(m).__name__ for m in fnet.modules()] == [type(m).__name__ for m in tnet.modules()]
    assert [n for n, _ in fnet.named_parameters(recurse=False)] == ["scale"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in fnet.parameters())


def test_state_dict_keys_shapes_and_dtypes_match_pytorch(torch, nets):
    fnet, tnet = nets
    fsd, tsd = fnet.state_dict(), tnet.state_dict()
    assert list(fsd) == list(tsd)
    assert "blocks.0.bn.num_batches_tracked" in fsd
    for key in fsd:
        assert isinstance(fsd[key], np.ndarray)
        assert fsd[key].shape == tuple(tsd[key].shape), key
        assert fsd[key].dtype == np.dtype(str(tsd[key].dtype).replace("torch.", "")), key


def test_state_dict_roundtrip_into_pytorch_gives_same_outputs(torch, nets):
    fnet, tnet = nets
    tnet.load_state_dict({k: torch.from_numpy(v) for k, v in fnet.state_dict().items()})
    fnet.eval()
    tnet.eval()
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6)).astype(np.float32)
    np.testing.assert_allclose(fnet(fastnn.tensor(x)).data, tnet(torch.tensor(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    # and back: a torch state dict (converted to arrays) loads into fastnn
    other = make_net(nn)
    other.load_state_dict({k: v.numpy() for k, v in tnet.state_dict().items()})
    for k, v in other.state_dict().items():
        np.testing.assert_array_equal(v, fnet.state_dict()[k])


def test_state_dict_is_a_copy_and_load_is_in_place():
    m = nn.Linear(3, 2)
    sd = m.state_dict()
    weight_array = m.weight.data
    m.weight.data += 1
    assert not np.array_equal(sd["weight"], m.weight.data)      # a snapshot, not a view
    m.load_state_dict(sd)
    assert m.weight.data is weight_array                        # same array: optimizers stay attached
    np.testing.assert_array_equal(m.weight.data, sd["weight"])
    assert m.state_dict(keep_vars=True)["weight"] is m.weight
    other = nn.Linear(3, 2)
    other.load_state_dict(m.state_dict(keep_vars=True))        # Tensors load as well as arrays
    np.testing.assert_array_equal(other.weight.data, m.weight.data)


def test_load_state_dict_strict_reports_missing_and_unexpected():
    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    sd = m.state_dict()
    result = m.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"

    partial = OrderedDict(sd)
    del partial["0.bias"]
    partial["2.weight"] = np.zeros(2, np.float32)
    partial["1.extra"] = np.zeros(1, np.float32)
    with pytest.raises(RuntimeError) as info:
        m.load_state_dict(partial)
    message = str(info.value)
    assert 'Missing key(s) in state_dict: "0.bias"' in message
    assert '"2.weight"' in message and '"1.extra"' in message and "Unexpected key(s)" in message

    before = m.state_dict()
    partial["0.weight"] = sd["0.weight"] + 1
    result = m.load_state_dict(partial, strict=False)
    assert result.missing_keys == ["0.bias"]
    assert sorted(result.unexpected_keys) == ["1.extra", "2.weight"]
    np.testing.assert_array_equal(m[0].weight.data, sd["0.weight"] + 1)        # the rest was loaded
    np.testing.assert_array_equal(m[0].bias.data, before["0.bias"])


def test_load_state_dict_shape_mismatch_is_an_error_even_when_not_strict():
    m = nn.Linear(3, 2)
    sd = nn.Linear(4, 2).state_dict()
    for strict in (True, False):
        with pytest.raises(RuntimeError, match=r"size mismatch for weight: copying a param with shape \(2, 4\)"):
            m.load_state_dict(sd, strict=strict)


def test_load_state_dict_matches_pytorch_on_the_same_mistakes(torch):
    fm, tm = nn.Sequential(nn.Linear(3, 2), nn.ReLU()), torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU())
    sd = {"0.weight": np.zeros((2, 3), np.float32), "1.weight": np.zeros(2, np.float32), "x": np.zeros(1)}
    f = fm.load_state_dict(sd, strict=False)
    t = tm.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=False)
    assert f.missing_keys == t.missing_keys
    assert sorted(f.unexpected_keys) == sorted(t.unexpected_keys)


def test_train_eval_propagate(nets):
    fnet, _ = nets
    assert all(m.training for m in fnet.modules())
    assert fnet.eval() is fnet
    assert not any(m.training for m in fnet.modules())
    fnet.blocks.train()
    assert fnet.blocks[1].bn.training and not fnet.training and not fnet.heads["cls"].training
    fnet.train()
    assert all(m.training for m in fnet.modules())


def test_requires_grad_false_freezes():
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    m[0].requires_grad_(False)
    x = fastnn.randn(5, 3)
    m(x).sum().backward()
    assert m[0].weight.grad is None and m[0].bias.grad is None
    assert m[2].weight.grad is not None
    opt = fastnn.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=0.1)
    frozen = m[0].weight.data.copy()
    opt.step()
    np.testing.assert_array_equal(m[0].weight.data, frozen)
    m.requires_grad_()
    assert all(p.requires_grad for p in m.parameters())


def test_zero_grad():
    m = nn.Linear(3, 2)
    m(fastnn.randn(4, 3)).sum().backward()
    m.zero_grad(set_to_none=False)
    assert (m.weight.grad.data == 0).all()
    m.zero_grad()
    assert m.weight.grad is None and m.bias.grad is None


def test_apply_visits_children_first_then_self():
    order = []
    m = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Tanh()))
    assert m.apply(lambda mod: order.append(type(mod).__name__)) is m
    assert order == ["Linear", "ReLU", "Tanh", "Sequential", "Sequential"]

    def init_weights(mod):
        if isinstance(mod, nn.Linear):
            nn.init.constant_(mod.weight, 0.5)
    m.apply(init_weights)
    assert (m[0].weight.data == 0.5).all()


def test_registration_rules():
    m = nn.Module()
    m.w = nn.Parameter(fastnn.zeros(2))
    m.register_buffer("running", fastnn.ones(2))
    m.register_buffer("scratch", fastnn.zeros(1), persistent=False)
    m.child = nn.Linear(2, 2)
    m.plain = 3
    assert list(m._parameters) == ["w"] and list(m._buffers) == ["running", "scratch"]
    assert list(m.state_dict()) == ["w", "running", "child.weight", "child.bias"]
    assert [n for n, _ in m.named_buffers()] == ["running", "scratch"]
    m.running = np.full(2, 7.0, np.float32)         # assigning to a buffer keeps it a buffer
    assert isinstance(m.running, fastnn.Tensor) and m.state_dict()["running"][0] == 7
    with pytest.raises(TypeError):
        m.w = fastnn.zeros(2)                       # a parameter slot takes Parameters (or None)
    m.w = None
    assert "w" not in m.state_dict() and [n for n, _ in m.named_parameters()] == ["child.weight", "child.bias"]
    with pytest.raises(KeyError):
        m.register_parameter("a.b", None)
    with pytest.raises(KeyError):
        m.register_buffer("plain", None)
    m.add_module("other", nn.ReLU())
    assert m.get_submodule("other") is m.other
    del m.child
    assert "child" not in dict(m.named_children())
    with pytest.raises(AttributeError):
        m.nothing  # noqa: B018
    shared = nn.Linear(2, 2)
    m.a, m.b = shared, shared
    assert sum(1 for _ in m.parameters()) == 2      # a shared layer counts once, as in PyTorch


def test_calling_a_module_runs_forward():
    class Double(nn.Module):
        def forward(self, x, factor=2):
            return x * factor
    assert Double()(fastnn.ones(2), factor=3).data.tolist() == [3.0, 3.0]
    with pytest.raises(NotImplementedError):
        nn.Module()(1)


def test_sequential_api():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    s = nn.Sequential(a, b)
    assert len(s) == 2 and s[0] is a and s[-1] is b and list(s) == [a, b]
    s.append(c)
    assert s[2] is c and [n for n, _ in s.named_children()] == ["0", "1", "2"]
    sub = s[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c]
    x = fastnn.randn(4, 2)
    np.testing.assert_allclose(s(x).data, c(b(a(x))).data)
    del s[1]
    assert list(s) == [a, c] and list(s._modules) == ["0", "1"]
    named = nn.Sequential(OrderedDict([("fc", a), ("act", b)]))
    assert named.fc is a and list(named.state_dict()) == ["fc.weight", "fc.bias"]
    with pytest.raises(IndexError):
        s[5]  # noqa: B018


def test_module_list_and_dict():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    layers.append(nn.ReLU())
    assert len(layers) == 4 and isinstance(layers[-1], nn.ReLU)
    assert len(list(layers.parameters())) == 6
    assert [n for n, _ in layers.named_parameters()][:2] == ["0.weight", "0.bias"]
    layers.extend([nn.Tanh()])
    assert isinstance(layers[4], nn.Tanh)
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    d = nn.ModuleDict({"a": nn.Linear(1, 2)})
    d["b"] = nn.ReLU()
    assert list(d.keys()) == ["a", "b"] and "b" in d and len(d) == 2
    assert list(d.state_dict()) == ["a.weight", "a.bias"]
    assert isinstance(d.pop("b"), nn.ReLU) and len(d) == 1


def test_repr_matches_pytorch(torch, nets):
    fnet, tnet = nets
    assert repr(fnet) == repr(tnet)
    for name, args, kwargs in [("Linear", (3, 4), {"bias": False}), ("Conv2d", (3, 8, (3, 5)), dict(stride=2,
                               padding=1, dilation=(1, 2), bias=False)), ("Conv2d", (2, 3, 3), {"padding": "same"}),
                               ("MaxPool2d", (2,), {}), ("AvgPool2d", (3, 1, 1), {}),
                               ("AdaptiveAvgPool2d", ((1, 1),), {}), ("Flatten", (), {}), ("Dropout", (0.2,), {}),
                               ("BatchNorm1d", (4,), {"momentum": None, "affine": False}),
                               ("LeakyReLU", (0.2,), {}), ("ELU", (), {}), ("Softmax", (1,), {}),
                               ("LogSoftmax", (), {"dim": 1}), ("Identity", (), {}), ("ReLU", (), {}),
                               ("Sigmoid", (), {}), ("Tanh", (), {}), ("LSTM", (3, 4, 2), {"batch_first": True}),
                               ("RNN", (3, 4), {"bias": False}), ("CrossEntropyLoss", (), {}), ("MSELoss", (), {})]:
        assert repr(getattr(nn, name)(*args, **kwargs)) == repr(getattr(torch.nn, name)(*args, **kwargs)), name
    ml = [nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()]
    tml = [torch.nn.Linear(2, 2) for _ in range(3)] + [torch.nn.ReLU()]
    assert repr(nn.ModuleList(ml)) == repr(torch.nn.ModuleList(tml))
    assert repr(nn.Parameter(fastnn.zeros(2))).startswith("Parameter containing:\n")


def test_deepcopy_gives_independent_model():
    m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    c = copy.deepcopy(m)
    c[0].weight.data += 1
    assert not np.array_equal(c[0].weight.data, m[0].weight.data)
    assert isinstance(c[0].weight, nn.Parameter)
    assert [n for n, _ in c.named_parameters()] == [n for n, _ in m.named_parameters()]


def test_to_cpu_and_dtype_for_porting():
    m = nn.Linear(2, 2)
    assert m.to("cpu") is m and m.cpu() is m
    assert m.double().weight.dtype == np.float64
    assert m.to(fastnn.float32).weight.dtype == np.float32
    with pytest.raises(RuntimeError, match="CPU"):
        m.to("cuda")
