"""The tensor API around the values, against PyTorch: devices, dtypes, ``Size``, printing,
``grad_fn`` names, conversions and the factory functions.

Most tests run one small program in ``torch`` and in ``fastnn`` and compare what it returns,
with ``torch`` written ``fastnn`` in strings (``torch.float32`` prints ``fastnn.float32``).
Where fastnn differs on purpose the test says so and why (a fastnn dtype equals NumPy's; a
device PyTorch can't reach raises the same kinds of error, with a message naming fastnn).
"""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import fastnn

pytestmark = pytest.mark.torch


def _plain(value, lib):
    if isinstance(value, lib.Tensor):
        return ("tensor", value.detach().numpy().tolist(), str(value.dtype).split(".")[-1], tuple(value.shape),
                value.requires_grad)
    if isinstance(value, (list, tuple)) and not isinstance(value, lib.Size):
        return type(value)(_plain(v, lib) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v, lib) for k, v in value.items()}
    if isinstance(value, lib.Size):
        return ("Size", tuple(value))
    if isinstance(value, (lib.dtype, lib.device)):
        return repr(value).replace("torch.", "fastnn.")
    if isinstance(value, str):
        return value.replace("torch.", "fastnn.").replace("torch::", "fastnn::")
    return value


def both(torch, program):
    """``program(lib)`` in each library, as plain values (an exception as its type)."""
    out = []
    for lib in (torch, fastnn):
        try:
            out.append(_plain(program(lib), lib))
        except Exception as exc:     # noqa: BLE001 - the error is the result
            out.append(("raised", type(exc).__name__))
    return out


def check(torch, program):
    expected, got = both(torch, program)
    assert got == expected
    return got


# =========================================================================== devices

def test_device_objects(torch):
    check(torch, lambda L: [repr(L.device("cpu")), str(L.device("cpu")), repr(L.device("cpu", 0)),
                            repr(L.device("cuda:1")), str(L.device("cuda", 1)), L.device("cpu").type,
                            L.device("cpu").index, L.device("cpu:0").index, L.device(L.device("cpu")) == L.device("cpu"),
                            L.device("cpu") == L.device("cpu", None), L.device("cpu", 0) == L.device("cpu"),
                            L.device("cpu") == "cpu", L.device("cpu") != "cpu", len({L.device("cpu"), L.device("cpu")}),
                            repr(pickle.loads(pickle.dumps(L.device("cuda:0"))))])


@pytest.mark.parametrize("text", ["blah", "CPU", "cpu:x", "cpu:-1", "cuda:0:1", " cpu"])
def test_bad_device_strings_raise(torch, text):
    got = check(torch, lambda L: L.device(text))
    assert got == ("raised", "RuntimeError")


def test_tensor_device_attributes(torch):
    check(torch, lambda L: (lambda x: [repr(x.device), x.device == L.device("cpu"), x.device.type, x.device.index,
                                       x.is_cuda, x.is_cpu, x.get_device()])(L.ones(2)))


_FACTORIES = {
    "zeros": lambda L, **k: L.zeros(2, **k), "ones": lambda L, **k: L.ones(2, 3, **k),
    "empty": lambda L, **k: L.empty(2, **k).zero_(), "full": lambda L, **k: L.full((2,), 7, **k),
    "eye": lambda L, **k: L.eye(2, **k), "arange": lambda L, **k: L.arange(3, **k),
    "linspace": lambda L, **k: L.linspace(0, 1, 3, **k), "logspace": lambda L, **k: L.logspace(0, 1, 2, **k),
    "tensor": lambda L, **k: L.tensor([1.5], **k), "as_tensor": lambda L, **k: L.as_tensor([1, 2], **k),
    "rand": lambda L, **k: L.rand(2, **k).shape, "randn": lambda L, **k: L.randn(2, **k).shape,
    "randint": lambda L, **k: L.randint(0, 3, (2,), **k).shape, "randperm": lambda L, **k: L.randperm(3, **k).shape,
    "zeros_like": lambda L, **k: L.zeros_like(L.ones(2), **k), "ones_like": lambda L, **k: L.ones_like(L.ones(2), **k),
    "full_like": lambda L, **k: L.full_like(L.ones(2), 3, **k), "new_zeros": lambda L, **k: L.ones(1).new_zeros(2, **k),
    "new_ones": lambda L, **k: L.ones(1).new_ones((2,), **k), "new_full": lambda L, **k: L.ones(1).new_full((2,), 2, **k),
    "new_tensor": lambda L, **k: L.ones(1).new_tensor([3], **k),
}


@pytest.mark.parametrize("device", ["cpu", "cpu:0", "device('cpu')", "device('cpu', 0)"])
@pytest.mark.parametrize("name", list(_FACTORIES))
def test_factories_take_the_cpu_device(torch, name, device):
    def program(L):
        d = eval(device, {"device": L.device}) if device.startswith("device") else device
        out = _FACTORIES[name](L, device=d)
        return out if not isinstance(out, L.Tensor) else (out, repr(out.device))
    check(torch, program)


@pytest.mark.parametrize("name", ["zeros", "ones", "tensor", "arange", "rand", "full", "zeros_like", "new_zeros"])
def test_factories_refuse_cuda_as_cpu_only_torch_does(torch, name):
    """PyTorch without CUDA raises AssertionError("Torch not compiled with CUDA enabled");
    fastnn raises an error that is both an AssertionError and a RuntimeError and names fastnn."""
    expected, got = both(torch, lambda L: _FACTORIES[name](L, device="cuda"))
    assert expected == ("raised", "AssertionError")
    with pytest.raises(AssertionError, match="CPU only"):
        _FACTORIES[name](fastnn, device="cuda")
    with pytest.raises(RuntimeError, match="CPU only"):
        _FACTORIES[name](fastnn, device="cuda:0")


def test_tensor_to_cuda_raises_clearly(torch):
    x = fastnn.ones(2)
    for call in (lambda: x.cuda(), lambda: x.to("cuda"), lambda: x.to(fastnn.device("cuda", 0)),
                 lambda: x.to("cuda", fastnn.float64)):
        with pytest.raises(RuntimeError, match="fastnn runs on the CPU only"):
            call()
    for lib in (torch, fastnn):     # an integer device is an accelerator's index: none here
        with pytest.raises(RuntimeError, match="Cannot access accelerator device when none is available"):
            lib.ones(2).to(0)


def test_cuda_and_accelerator_answer_as_cpu_only_torch(torch):
    check(torch, lambda L: [L.cuda.is_available(), L.cuda.device_count(), L.cuda.is_initialized(),
                            L.accelerator.is_available(), L.accelerator.current_accelerator(),
                            L.accelerator.device_count(), L.cuda.manual_seed(0), L.cuda.manual_seed_all(0)])
    device = fastnn.device("cuda" if fastnn.cuda.is_available() else "cpu")     # the tutorial idiom
    assert fastnn.zeros(2, device=device).device == fastnn.device("cpu")


def test_to_returns_self_when_nothing_changes(torch):
    def program(L):
        x = L.tensor([1.5, -2.0])
        return [x.to("cpu") is x, x.to(L.device("cpu")) is x, x.cpu() is x, x.to(x) is x, x.to(L.float32) is x,
                x.to(dtype=L.float32) is x, x.to("cpu", L.float32) is x, x.to("cpu", copy=True) is x,
                x.to(L.float32, copy=True) is x, x.type(L.float32) is x, x.float() is x, x.type_as(x) is x]
    check(torch, program)


def test_to_converts(torch):
    def program(L):
        x = L.tensor([1.5, -2.7, 0.0])
        other = L.tensor([1], dtype=L.float64)
        return [x.to(L.float64), x.to("cpu", L.float64), x.to(device="cpu", dtype=L.int32), x.to(other),
                x.to(L.int64), x.to(L.bool), x.to(L.float16), x.to(L.uint8), x.type_as(other)]
    check(torch, program)


def test_to_keeps_the_graph(torch):
    def program(L):
        x = L.tensor([1.5, -2.0], requires_grad=True)
        y = x.to(L.float64)
        (y * y).sum().backward()
        return y.requires_grad, y.is_leaf, x.grad
    check(torch, program)


def test_module_to_cpu_and_dtype(torch):
    def program(L):
        m = L.nn.Linear(2, 3)
        return [m.to("cpu") is m, m.to(L.device("cpu")) is m, m.cpu() is m, repr(m.weight.device),
                m.to(L.float64) is m, m.weight.dtype, m.bias.dtype, m.float().weight.dtype, m.double().bias.dtype,
                m.weight.is_leaf, m.weight.requires_grad]
    check(torch, program)


def test_module_to_cuda_raises():
    m = fastnn.nn.Linear(2, 3)
    with pytest.raises(RuntimeError, match="CPU only"):
        m.to("cuda")


# =========================================================================== dtypes

def test_dtype_aliases(torch):
    check(torch, lambda L: [L.float32 == L.float, L.float64 == L.double, L.int64 == L.long, L.int32 == L.int,
                            L.float16 == L.half, L.int16 == L.short, L.float is L.float32, L.long is L.int64,
                            repr(L.float), repr(L.long), repr(L.bool), str(L.float32), repr(L.uint8), repr(L.int8),
                            L.float32 != L.float64, len({L.float32, L.float, L.float64})])


def test_dtype_properties(torch):
    check(torch, lambda L: [(d.is_floating_point, d.is_signed, d.itemsize, d.is_complex)
                            for d in (L.float32, L.float64, L.float16, L.int64, L.int32, L.int16, L.int8, L.uint8,
                                      L.bool)])


def test_dtype_pickles_and_defaults(torch):
    check(torch, lambda L: [pickle.loads(pickle.dumps(L.float64)) == L.float64, L.get_default_dtype(),
                            L.is_floating_point(L.ones(1)), L.is_floating_point(L.ones(1, dtype=L.int64))])


def test_fastnn_dtypes_are_numpys():
    """A fastnn dtype names a NumPy dtype: it equals it and NumPy accepts it (fastnn's arrays
    are NumPy's). PyTorch's dtypes do not equal NumPy's; this is fastnn's extension."""
    assert fastnn.float32 == np.float32 and fastnn.float32 == np.dtype("float32") and fastnn.float32 == "float32"
    assert fastnn.int64 == np.int64 and fastnn.bool == np.bool_ and fastnn.float64 != np.float32
    assert np.dtype(fastnn.float16) == np.float16
    assert np.zeros(2, fastnn.int32).dtype == np.int32
    assert fastnn.ones(2, dtype=np.float64).dtype is fastnn.float64
    assert fastnn.ones(2, dtype=float).dtype is fastnn.float64       # Python types read as PyTorch reads them
    assert fastnn.ones(2, dtype=int).dtype is fastnn.int64
    assert fastnn.ones(2).dtype is fastnn.float32                    # one object per dtype: `is` works


def test_type_names(torch):
    check(torch, lambda L: (lambda x: [t.type() for t in (x, x.double(), x.half(), x.long(), x.int(), x.short(),
                                                           x.char(), x.byte(), x.bool())])(L.tensor([1.5, -2.0])))


def test_type_converts(torch):
    def program(L):
        x = L.tensor([1.7, -2.7])
        return [x.type(L.float64), x.type("torch.DoubleTensor"), x.type("torch.LongTensor"),
                x.type("torch.IntTensor"), x.type("torch.BoolTensor"), x.type(L.int64), x.type(L.float16)]
    got = check(torch, program)
    assert got[1][2] == "float64"


def test_conversion_methods(torch):
    check(torch, lambda L: (lambda x: [x.float(), x.double(), x.long(), x.int(), x.bool(), x.half(), x.short(),
                                       x.byte(), x.char(), x.long().float(), x.bool().long()])(
        L.tensor([-1.7, 0.0, 2.7])))


def test_element_size_and_dtype_checks(torch):
    check(torch, lambda L: [(L.ones(1, dtype=d).element_size(), L.ones(1, dtype=d).is_floating_point(),
                             L.ones(1, dtype=d).dtype.is_floating_point)
                            for d in (L.float32, L.float64, L.float16, L.int64, L.int32, L.uint8, L.bool)])


# =========================================================================== Size

def test_size_behaviour(torch):
    def program(L):
        s = L.Size([2, 3])
        x = L.zeros(2, 3, 4)
        return [repr(s), str(s), s == (2, 3), s == [2, 3], s.numel(), repr(s[1:]), s[0], repr(s + (4,)),
                repr((1,) + s), repr(s * 2), repr(L.Size([])), L.Size([]).numel(), repr(x.shape), repr(x.size()),
                x.size(1), x.size(-1), repr(x.shape[::-1]), hash(s) == hash((2, 3)), isinstance(s, tuple),
                repr(L.Size(i for i in (1, 2))), repr(L.Size([np.int64(3), True])), len(s), list(s),
                repr(pickle.loads(pickle.dumps(s))), type(x.shape[0]).__name__, x.shape.count(3), x.shape.index(4)]
    check(torch, program)


@pytest.mark.parametrize("bad", [[2.5], ["a"], [None]])
def test_size_refuses_non_ints(torch, bad):
    assert check(torch, lambda L: L.Size(bad)) == ("raised", "TypeError")


def test_size_errors(torch):
    check(torch, lambda L: [L.ones(2, 3).size(2)])
    check(torch, lambda L: L.ones(2).shape + [3])


# =========================================================================== printing

_REPR_DATA = np.array([[1.5, -2.25, 3.0], [0.001, 100.0, -7.0]])


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8",
                                   "bool"])
def test_repr_across_dtypes(torch, dtype):
    def program(L):
        d = getattr(L, dtype)
        data = _REPR_DATA > 0 if dtype == "bool" else np.abs(_REPR_DATA) if dtype == "uint8" else _REPR_DATA
        t = L.tensor(data, dtype=d)
        return [repr(t), repr(t[0, 0]), repr(L.zeros(0, dtype=d)), repr(t.t()), str(t), repr(t[0])]
    check(torch, program)


@pytest.mark.parametrize("make", [
    lambda L: L.tensor([1.0, 2.0], requires_grad=True),
    lambda L: L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True),
    lambda L: L.tensor(3.5, requires_grad=True) * 2,
    lambda L: L.tensor([1.0], dtype=L.float64) * L.tensor([2.0], dtype=L.float64, requires_grad=True),
    lambda L: L.tensor([1.0, 2.0], requires_grad=True).detach(),
    lambda L: L.arange(12.0).reshape(3, 4) / 3,
    lambda L: L.tensor([1e10, 1.0]),
    lambda L: L.tensor([1e-5, 1.0]),
    lambda L: L.tensor([float("nan"), float("inf"), -float("inf"), 1.0]),
    lambda L: L.arange(2000.0),
    lambda L: L.ones(2, 3, 4),
    lambda L: L.zeros(2, 0),
    lambda L: L.tensor(3),
    lambda L: L.tensor(True),
    lambda L: L.tensor([[1, 2], [3, 4]], dtype=L.float64),
    lambda L: L.tensor([1.0, 2.0]).sum(),
    lambda L: L.nn.Parameter(L.tensor([1.0, 2.0])),
])
def test_repr_matches_torch(torch, make):
    check(torch, lambda L: repr(make(L)))


# =========================================================================== grad_fn names

_NODE_NAMES = {
    "add": lambda L, a, b: a + b, "add scalar": lambda L, a, b: a + 1, "sub": lambda L, a, b: a - b,
    "mul": lambda L, a, b: a * b, "mul scalar": lambda L, a, b: a * 2, "div": lambda L, a, b: a / b,
    "neg": lambda L, a, b: -a, "pow": lambda L, a, b: a ** 2, "sum": lambda L, a, b: a.sum(),
    "mean": lambda L, a, b: a.mean(), "exp": lambda L, a, b: a.exp(), "log": lambda L, a, b: a.abs().log(),
    "sqrt": lambda L, a, b: a.abs().sqrt(), "abs": lambda L, a, b: a.abs(), "relu": lambda L, a, b: a.relu(),
    "sigmoid": lambda L, a, b: a.sigmoid(), "tanh": lambda L, a, b: a.tanh(),
    "softmax": lambda L, a, b: a.softmax(1), "log_softmax": lambda L, a, b: a.log_softmax(1),
    "F.relu": lambda L, a, b: L.nn.functional.relu(a), "permute": lambda L, a, b: a.permute(1, 0),
    "clone": lambda L, a, b: a.clone(), "cat": lambda L, a, b: L.cat([a, b]), "stack": lambda L, a, b: L.stack([a, b]),
    "expand": lambda L, a, b: a[:1].expand(4, 3), "where": lambda L, a, b: L.where(a > 0, a, b),
    "maximum": lambda L, a, b: L.maximum(a, b), "var": lambda L, a, b: a.var(), "std": lambda L, a, b: a.std(),
    "sin": lambda L, a, b: a.sin(), "masked_fill": lambda L, a, b: a.masked_fill(a > 0, 0.0),
    "gather": lambda L, a, b: a.gather(1, L.tensor([[0], [1]])), "repeat": lambda L, a, b: a.repeat(2, 1),
    "flip": lambda L, a, b: a.flip(0), "prod": lambda L, a, b: a.prod(), "reciprocal": lambda L, a, b: a.reciprocal(),
    "rsqrt": lambda L, a, b: a.abs().rsqrt(), "F.leaky_relu": lambda L, a, b: L.nn.functional.leaky_relu(a),
    "F.gelu": lambda L, a, b: L.nn.functional.gelu(a),
}


@pytest.mark.parametrize("name", list(_NODE_NAMES))
def test_grad_fn_names_match_torch(torch, name):
    def program(L):
        a = L.tensor([[0.5, -1.0, 2.0], [1.5, 0.2, -0.3]], requires_grad=True)
        b = L.tensor([[1.0, 2.0, -1.0], [0.3, 0.1, 0.9]], requires_grad=True)
        out = _NODE_NAMES[name](L, a, b)
        return out.grad_fn.name(), repr(out.grad_fn).split(" object")[0]
    check(torch, program)


def test_grad_fn_of_leaves_and_detached(torch):
    def program(L):
        w = L.ones(2, requires_grad=True)
        y = (w * 2).sum()
        return [w.grad_fn, w.is_leaf, y.is_leaf, y.detach().grad_fn, y.detach().requires_grad,
                L.ones(2).grad_fn, (L.ones(2) * 2).grad_fn, (L.ones(2) * 2).is_leaf]
    check(torch, program)


def test_next_functions_structure(torch):
    def program(L):
        w = L.tensor([1.0, 2.0], requires_grad=True)
        c = L.tensor([3.0, 4.0])
        h = w * c
        y = (h + w).sum()
        add = y.grad_fn.next_functions[0][0]
        mul = add.next_functions[0][0]
        acc = mul.next_functions[0][0]
        return [[(None if f is None else f.name(), i) for f, i in node.next_functions] for node in (y.grad_fn, add, mul)] \
            + [acc.variable is w, acc.next_functions, add.next_functions[1][0].variable is w]
    check(torch, program)


# =========================================================================== factories

_DTYPE_CASES = {
    "tensor ints": lambda L: L.tensor([1, 2]), "tensor floats": lambda L: L.tensor([1.0, 2]),
    "tensor bools": lambda L: L.tensor([True, False]), "tensor bool and int": lambda L: L.tensor([True, 2]),
    "tensor int scalar": lambda L: L.tensor(3), "tensor float scalar": lambda L: L.tensor(3.5),
    "tensor bool scalar": lambda L: L.tensor(False), "tensor empty": lambda L: L.tensor([]),
    "tensor nested empty": lambda L: L.tensor([[], []]), "tensor tuple": lambda L: L.tensor((1, 2)),
    "tensor float64 array": lambda L: L.tensor(np.array([1.5])), "tensor float32 array": lambda L: L.tensor(
        np.array([1.5], np.float32)), "tensor uint8 array": lambda L: L.tensor(np.array([1, 255], np.uint8)),
    "tensor bool array": lambda L: L.tensor(np.array([True])), "tensor int64 array": lambda L: L.tensor(np.arange(3)),
    "tensor float64 scalar": lambda L: L.tensor(np.float64(2.5)),
    "tensor dtype=": lambda L: L.tensor([1, 2], dtype=L.float64), "tensor floats to int": lambda L: L.tensor(
        [1.7, -2.7], dtype=L.int64), "tensor of tensors": lambda L: L.tensor([L.tensor(1.5), L.tensor(2.0)]),
    "tensor big int": lambda L: L.tensor([2 ** 40]), "tensor(Size)": lambda L: L.tensor(L.Size([2, 3])),
    "tensor requires_grad": lambda L: L.tensor([1.0], requires_grad=True),
    "full int": lambda L: L.full((2,), 3), "full float": lambda L: L.full((2,), 3.0),
    "full bool": lambda L: L.full((2,), True), "full dtype=": lambda L: L.full((2, 2), 1, dtype=L.float32),
    "zeros int dtype": lambda L: L.zeros(2, dtype=L.int32), "zeros bool": lambda L: L.zeros(2, dtype=L.bool),
    "ones float64": lambda L: L.ones(2, 2, dtype=L.float64), "eye": lambda L: L.eye(3), "eye n m": lambda L: L.eye(2, 3),
    "eye int": lambda L: L.eye(2, dtype=L.int64), "arange int": lambda L: L.arange(5),
    "arange float": lambda L: L.arange(0, 1, 0.25), "arange float end": lambda L: L.arange(5.0),
    "arange negative step": lambda L: L.arange(5, 0, -2), "arange dtype=": lambda L: L.arange(3, dtype=L.float64),
    "arange tensor": lambda L: L.arange(L.tensor(3)), "arange numpy int": lambda L: L.arange(np.int64(3)),
    "arange requires_grad": lambda L: L.arange(3.0, requires_grad=True),
    "linspace": lambda L: L.linspace(0, 1, 5), "linspace int": lambda L: L.linspace(0, 10, 3, dtype=L.int64),
    "linspace 1": lambda L: L.linspace(0, 1, 1), "linspace 0": lambda L: L.linspace(0, 1, 0),
    "logspace": lambda L: L.logspace(0, 2, 3), "logspace base": lambda L: L.logspace(0, 3, 4, base=2),
    "zeros_like": lambda L: L.zeros_like(L.tensor([1, 2])), "ones_like float64": lambda L: L.ones_like(
        L.tensor([1.0], dtype=L.float64)), "full_like": lambda L: L.full_like(L.tensor([1, 2]), 2.7),
    "zeros_like drops grad": lambda L: L.zeros_like(L.ones(2, requires_grad=True)),
    "ones_like dtype=": lambda L: L.ones_like(L.ones(2), dtype=L.int64),
    "empty_like": lambda L: L.empty_like(L.ones(2, dtype=L.int32)).zero_(),
    "new_tensor": lambda L: L.ones(2, dtype=L.float64).new_tensor([1, 2]),
    "new_zeros": lambda L: L.ones(2, dtype=L.float64).new_zeros(2, 3),
    "new_ones keeps int32": lambda L: L.ones(2, dtype=L.int32).new_ones((2,)),
    "new_full": lambda L: L.ones(2).new_full((2,), 7), "new_tensor float data": lambda L: L.ones(
        2, dtype=L.int64).new_tensor([1.5]),
    "new_empty": lambda L: L.ones(2, dtype=L.int32).new_empty(3).zero_(),
    "as_tensor list": lambda L: L.as_tensor([1, 2]), "as_tensor floats": lambda L: L.as_tensor([1.5]),
    "as_tensor float64 array": lambda L: L.as_tensor(np.array([1.5])),
    "from_numpy float64": lambda L: L.from_numpy(np.array([1.5])),
    "from_numpy int32": lambda L: L.from_numpy(np.array([1], np.int32)),
    "random dtypes": lambda L: [str(t.dtype) for t in (L.rand(2), L.randn(2), L.rand(2, dtype=L.float64),
                                                       L.randint(0, 3, (2,)), L.randint(0, 5, (2,), dtype=L.float32),
                                                       L.randperm(3), L.rand_like(L.ones(2, dtype=L.float64)),
                                                       L.randint_like(L.ones(3), 5))],
    "random shapes": lambda L: [tuple(t.shape) for t in (L.rand(2, 3), L.rand((2, 3)), L.randn(L.Size([4])),
                                                         L.randint(5, (3,)), L.randperm(0), L.rand(0))],
}


@pytest.mark.parametrize("name", list(_DTYPE_CASES))
def test_factory_results_match_torch(torch, name):
    check(torch, _DTYPE_CASES[name])


@pytest.mark.parametrize("size", [lambda L: (2, 3), lambda L: ((2, 3),), lambda L: ([2, 3],),
                                  lambda L: (L.Size([2, 3]),), lambda L: ((),), lambda L: (0,),
                                  lambda L: (np.int64(2),)])
@pytest.mark.parametrize("factory", ["zeros", "ones", "empty", "rand", "randn"])
def test_sizes_as_ints_tuple_list_or_size(torch, size, factory):
    check(torch, lambda L: tuple(getattr(L, factory)(*size(L)).shape))


@pytest.mark.parametrize("name, call", [
    ("negative size", lambda L: L.zeros(-1)), ("negative in tuple", lambda L: L.ones((2, -3))),
    ("float size", lambda L: L.zeros(2.5)), ("str size", lambda L: L.zeros("a")),
    ("two tuples", lambda L: L.ones((2,), (3,))), ("no size", lambda L: L.zeros()), ("no size rand", lambda L: L.rand()),
    ("eye negative", lambda L: L.eye(-1)), ("arange zero step", lambda L: L.arange(0, 5, 0)),
    ("arange wrong sign", lambda L: L.arange(0, 5, -1)), ("linspace negative steps", lambda L: L.linspace(0, 1, -1)),
    ("randint low >= high", lambda L: L.randint(5, 2, (3,))), ("randperm negative", lambda L: L.randperm(-1)),
    ("rand int dtype", lambda L: L.rand(2, dtype=L.int64)), ("randn_like int", lambda L: L.randn_like(
        L.ones(2, dtype=L.int64))), ("requires_grad int", lambda L: L.zeros(2, dtype=L.int64, requires_grad=True)),
    ("tensor requires_grad int", lambda L: L.tensor([1, 2], requires_grad=True)),
    ("ragged", lambda L: L.tensor([[1, 2], [3]])), ("from_numpy list", lambda L: L.from_numpy([1.0])),
    ("from_numpy object", lambda L: L.from_numpy(np.array(["a"], dtype=object))),
    ("copy_ shapes", lambda L: L.zeros(2).copy_(L.zeros(3))),
])
def test_bad_arguments_raise_as_in_torch(torch, name, call):
    got = check(torch, call)
    assert got[0] == "raised"


def test_bad_size_messages_are_clear():
    with pytest.raises(RuntimeError, match="negative dimension -1"):
        fastnn.zeros(-1)
    with pytest.raises(TypeError, match="size must be a tuple of ints.*float"):
        fastnn.zeros(2.5)
    with pytest.raises(TypeError, match='missing 1 required positional arguments: "size"'):
        fastnn.ones()
    with pytest.raises(RuntimeError, match="upper bound and lower bound inconsistent with step sign"):
        fastnn.arange(0, 5, -1)


def test_from_numpy_and_as_tensor_share_memory(torch):
    def program(L):
        a = np.array([1.0, 2.0, 3.0])
        t = L.from_numpy(a)
        u = L.as_tensor(a)
        c = L.tensor(a)
        a[0] = 10.0                     # seen by from_numpy and as_tensor, not by tensor (a copy)
        t[1] = 20.0                     # the tensor writes into the array
        return t, u, c, a.tolist(), t.numpy() is a or np.shares_memory(t.numpy(), a)
    check(torch, program)


def test_as_tensor_of_a_tensor(torch):
    def program(L):
        x = L.tensor([1.0, 2.0])
        return L.as_tensor(x) is x, L.as_tensor(x, dtype=L.float32) is x, L.as_tensor(x, dtype=L.float64)
    check(torch, program)


def test_tensor_copies_its_data(torch):
    def program(L):
        x = L.tensor([1.0, 2.0])
        y = L.tensor(x.detach()) if hasattr(L, "__version__") else L.tensor(x)
        y[0] = 5
        return x, y
    check(torch, program)


def test_seeded_generator_reproduces(torch):
    for lib in (fastnn,):
        g1, g2 = lib.Generator().manual_seed(3), lib.Generator().manual_seed(3)
        assert lib.rand(4, generator=g1).tolist() == lib.rand(4, generator=g2).tolist()
        lib.manual_seed(1)
        a = lib.randn(3).tolist()
        lib.manual_seed(1)
        assert lib.randn(3).tolist() == a
    check(torch, lambda L: [L.Generator().manual_seed(5).initial_seed(), repr(L.Generator().device)])
