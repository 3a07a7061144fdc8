"""``fastnn.nn.functional`` against PyTorch: forward values and the gradients of every
differentiable input, in float32, on random inputs, on every available backend.

Without torch these tests skip, or fail when ``FASTNN_REQUIRE_TORCH=1`` (the ``torch``
fixture of conftest.py).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as F

pytestmark = pytest.mark.torch
BACKENDS = fastnn.backends.available()
RTOL, ATOL = 1e-4, 1e-5


@pytest.fixture(params=BACKENDS)
def backend(request):
    with fastnn.use_backend(request.param) as b:
        yield b


# --------------------------------------------------------------------------- input specs

@dataclass
class Spec:
    """How to make one argument: ``kind`` is normal | distinct | unit | unit_const | int | const
    (the last three are not differentiated)."""
    kind: str
    shape: tuple = ()
    value: object = None
    scale: float = 1.0

    def array(self, rng):
        if self.kind == "normal":
            return (rng.standard_normal(self.shape) * self.scale).astype(np.float32)
        if self.kind == "distinct":         # pairwise >= 0.05 apart: no max-pool ties
            n = int(np.prod(self.shape))
            return ((rng.permutation(n) - n / 2) * 0.05).reshape(self.shape).astype(np.float32)
        if self.kind in ("unit", "unit_const"):
            return rng.uniform(0.05, 0.95, self.shape).astype(np.float32)
        if self.kind == "int":
            return np.asarray(self.value, dtype=np.int64)
        if self.kind == "const":
            return np.array(self.value, dtype=np.float32)
        raise ValueError(self.kind)

    @property
    def differentiable(self):
        return self.kind in ("normal", "distinct", "unit")


def N(*shape, scale=1.0):
    return Spec("normal", shape, scale=scale)


def D(*shape):
    return Spec("distinct", shape)


def U(*shape):
    return Spec("unit", shape)


def UC(*shape):
    """Probabilities that are not differentiated (torch has no BCE gradient for the target)."""
    return Spec("unit_const", shape)


def I(*values):  # noqa: E743
    return Spec("int", value=values if len(values) != 1 else values[0])


def C(*values):
    return Spec("const", value=values if len(values) != 1 else values[0])


def tfn(name):
    return lambda t: getattr(t.nn.functional, name)


# name -> (fastnn function, torch function(torch) -> callable, input specs)
CASES = {
    "linear": (F.linear, tfn("linear"), [N(4, 3), N(2, 3), N(2)]),
    "linear-no-bias": (F.linear, tfn("linear"), [N(4, 3), N(2, 3)]),
    "linear-3d": (F.linear, tfn("linear"), [N(2, 3, 5), N(4, 5), N(4)]),
    "conv2d": (F.conv2d, tfn("conv2d"), [N(2, 3, 6, 6), N(4, 3, 3, 3), N(4)]),
    "conv2d-stride-padding-dilation": (
        lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2)),
        lambda t: lambda x, w, b: t.nn.functional.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2)),
        [N(2, 2, 7, 8), N(3, 2, 2, 3), N(3)]),
    "conv2d-no-bias-stride-2": (
        lambda x, w: F.conv2d(x, w, None, stride=2, padding=1),
        lambda t: lambda x, w: t.nn.functional.conv2d(x, w, None, stride=2, padding=1),
        [N(2, 2, 7, 7), N(3, 2, 3, 3)]),
    "conv2d-same": (lambda x, w: F.conv2d(x, w, padding="same"),
                    lambda t: lambda x, w: t.nn.functional.conv2d(x, w, padding="same"), [N(1, 2, 5, 6), N(2, 2, 3, 5)]),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2), lambda t: lambda x: t.nn.functional.max_pool2d(x, 2),
                   [D(2, 3, 6, 6)]),
    "max_pool2d-overlapping": (lambda x: F.max_pool2d(x, 3, stride=1, padding=1),
                               lambda t: lambda x: t.nn.functional.max_pool2d(x, 3, stride=1, padding=1),
                               [D(2, 2, 5, 6)]),
    "max_pool2d-nonsquare": (lambda x: F.max_pool2d(x, (2, 3), stride=(1, 2)),
                             lambda t: lambda x: t.nn.functional.max_pool2d(x, (2, 3), stride=(1, 2)), [D(2, 2, 5, 7)]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 2), lambda t: lambda x: t.nn.functional.avg_pool2d(x, 2), [N(2, 3, 6, 6)]),
    "avg_pool2d-include-pad": (
        lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=True),
        lambda t: lambda x: t.nn.functional.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=True),
        [N(2, 2, 5, 6)]),
    "avg_pool2d-exclude-pad": (
        lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False),
        lambda t: lambda x: t.nn.functional.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False),
        [N(2, 2, 5, 6)]),
    "adaptive_avg_pool2d-1": (lambda x: F.adaptive_avg_pool2d(x, 1),
                              lambda t: lambda x: t.nn.functional.adaptive_avg_pool2d(x, 1), [N(2, 3, 5, 6)]),
    "adaptive_avg_pool2d-2x3": (lambda x: F.adaptive_avg_pool2d(x, (2, 3)),
                                lambda t: lambda x: t.nn.functional.adaptive_avg_pool2d(x, (2, 3)), [N(2, 3, 4, 6)]),
    "relu": (F.relu, tfn("relu"), [N(3, 5)]),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda t: lambda x: t.nn.functional.leaky_relu(x, 0.2),
                   [N(3, 5)]),
    "elu": (lambda x: F.elu(x, 0.7), lambda t: lambda x: t.nn.functional.elu(x, 0.7), [N(3, 5)]),
    "sigmoid": (F.sigmoid, lambda t: t.sigmoid, [N(3, 5, scale=3)]),
    "tanh": (F.tanh, lambda t: t.tanh, [N(3, 5)]),
    **{f"softmax-dim{d}": ((lambda d: lambda x: F.softmax(x, dim=d))(d),
                           (lambda d: lambda t: lambda x: t.nn.functional.softmax(x, dim=d))(d), [N(2, 3, 4, scale=2)])
       for d in (0, 1, -1)},
    **{f"log_softmax-dim{d}": ((lambda d: lambda x: F.log_softmax(x, dim=d))(d),
                               (lambda d: lambda t: lambda x: t.nn.functional.log_softmax(x, dim=d))(d),
                               [N(2, 3, 4, scale=2)])
       for d in (0, 1, -1)},
    "cross_entropy": (F.cross_entropy, tfn("cross_entropy"), [N(5, 4), I(0, 3, 1, 1, 2)]),
    "cross_entropy-sum": (lambda x, y: F.cross_entropy(x, y, reduction="sum"),
                          lambda t: lambda x, y: t.nn.functional.cross_entropy(x, y, reduction="sum"),
                          [N(5, 4), I(0, 3, 1, 1, 2)]),
    "cross_entropy-none": (lambda x, y: F.cross_entropy(x, y, reduction="none"),
                           lambda t: lambda x, y: t.nn.functional.cross_entropy(x, y, reduction="none"),
                           [N(5, 4), I(0, 3, 1, 1, 2)]),
    "cross_entropy-label_smoothing": (
        lambda x, y: F.cross_entropy(x, y, label_smoothing=0.15),
        lambda t: lambda x, y: t.nn.functional.cross_entropy(x, y, label_smoothing=0.15),
        [N(5, 4), I(0, 3, 1, 1, 2)]),
    "cross_entropy-ignore_index": (F.cross_entropy, tfn("cross_entropy"), [N(5, 4), I(0, -100, 1, -100, 2)]),
    "cross_entropy-ignore_index-smoothing-sum": (
        lambda x, y: F.cross_entropy(x, y, ignore_index=3, label_smoothing=0.1, reduction="sum"),
        lambda t: lambda x, y: t.nn.functional.cross_entropy(x, y, ignore_index=3, label_smoothing=0.1,
                                                             reduction="sum"),
        [N(5, 4), I(0, 3, 1, 3, 2)]),
    "cross_entropy-weight": (lambda x, y, w: F.cross_entropy(x, y, weight=w),
                             lambda t: lambda x, y, w: t.nn.functional.cross_entropy(x, y, weight=w),
                             [N(5, 4), I(0, 3, 1, -100, 2), C(1.0, 2.0, 0.5, 3.0)]),
    "cross_entropy-weight-none": (
        lambda x, y, w: F.cross_entropy(x, y, weight=w, reduction="none"),
        lambda t: lambda x, y, w: t.nn.functional.cross_entropy(x, y, weight=w, reduction="none"),
        [N(5, 4), I(0, 3, 1, 1, 2), C(1.0, 2.0, 0.5, 3.0)]),
    "cross_entropy-NCd": (F.cross_entropy, tfn("cross_entropy"), [N(2, 3, 2, 2), I([[0, 2], [1, 1]], [[2, 2], [0, 1]])]),
    "cross_entropy-NCd-none": (
        lambda x, y: F.cross_entropy(x, y, reduction="none"),
        lambda t: lambda x, y: t.nn.functional.cross_entropy(x, y, reduction="none"),
        [N(2, 3, 2, 2), I([[0, 2], [1, -100]], [[2, 2], [0, 1]])]),
    "nll_loss": (F.nll_loss, tfn("nll_loss"), [N(5, 4), I(0, 3, 1, 1, 2)]),
    "nll_loss-weight-ignore-sum": (
        lambda x, y, w: F.nll_loss(x, y, weight=w, reduction="sum"),
        lambda t: lambda x, y, w: t.nn.functional.nll_loss(x, y, weight=w, reduction="sum"),
        [N(5, 4), I(0, -100, 1, 1, 2), C(1.0, 2.0, 0.5, 3.0)]),
    "nll_loss-weight-mean": (lambda x, y, w: F.nll_loss(x, y, weight=w),
                             lambda t: lambda x, y, w: t.nn.functional.nll_loss(x, y, weight=w),
                             [N(5, 4), I(0, 3, 1, 1, 2), C(1.0, 2.0, 0.5, 3.0)]),
    "nll_loss-NCd-none": (lambda x, y: F.nll_loss(x, y, reduction="none"),
                          lambda t: lambda x, y: t.nn.functional.nll_loss(x, y, reduction="none"),
                          [N(2, 3, 2), I([0, 2], [1, 1])]),
    "mse_loss": (F.mse_loss, tfn("mse_loss"), [N(3, 4), N(3, 4)]),
    "mse_loss-sum": (lambda a, b: F.mse_loss(a, b, reduction="sum"),
                     lambda t: lambda a, b: t.nn.functional.mse_loss(a, b, reduction="sum"), [N(3, 4), N(3, 4)]),
    "mse_loss-none": (lambda a, b: F.mse_loss(a, b, reduction="none"),
                      lambda t: lambda a, b: t.nn.functional.mse_loss(a, b, reduction="none"), [N(3, 4), N(3, 4)]),
    "l1_loss": (F.l1_loss, tfn("l1_loss"), [N(3, 4), N(3, 4)]),
    "l1_loss-none": (lambda a, b: F.l1_loss(a, b, reduction="none"),
                     lambda t: lambda a, b: t.nn.functional.l1_loss(a, b, reduction="none"), [N(3, 4), N(3, 4)]),
    "binary_cross_entropy": (F.binary_cross_entropy, tfn("binary_cross_entropy"), [U(3, 4), UC(3, 4)]),
    "binary_cross_entropy-weight-sum": (
        lambda p, y, w: F.binary_cross_entropy(p, y, weight=w, reduction="sum"),
        lambda t: lambda p, y, w: t.nn.functional.binary_cross_entropy(p, y, weight=w, reduction="sum"),
        [U(3, 4), UC(3, 4), C(0.5, 1.0, 2.0, 0.25)]),
    "binary_cross_entropy_with_logits": (F.binary_cross_entropy_with_logits,
                                         tfn("binary_cross_entropy_with_logits"), [N(3, 4, scale=3), U(3, 4)]),
    "binary_cross_entropy_with_logits-pos_weight": (
        lambda x, y, pw: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw, reduction="none"),
        lambda t: lambda x, y, pw: t.nn.functional.binary_cross_entropy_with_logits(x, y, pos_weight=pw,
                                                                                    reduction="none"),
        [N(3, 4, scale=3), U(3, 4), C(2.0, 0.5, 1.0, 3.0)]),
    "binary_cross_entropy_with_logits-large": (
        lambda x, y, pw: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw, reduction="sum"),
        lambda t: lambda x, y, pw: t.nn.functional.binary_cross_entropy_with_logits(x, y, pos_weight=pw,
                                                                                    reduction="sum"),
        [N(2, 4, scale=50), U(2, 4), C(2.0, 0.5, 1.0, 3.0)]),
    "dropout-eval": (lambda x: F.dropout(x, 0.5, training=False),
                     lambda t: lambda x: t.nn.functional.dropout(x, 0.5, training=False), [N(3, 4)]),
    "dropout-p0": (lambda x: F.dropout(x, 0.0), lambda t: lambda x: t.nn.functional.dropout(x, 0.0), [N(3, 4)]),
    "dropout-p1": (lambda x: F.dropout(x, 1.0), lambda t: lambda x: t.nn.functional.dropout(x, 1.0), [N(3, 4)]),
    # batch norm: weight/bias are differentiable, running stats are consts updated in place (compared after)
    **{f"batch_norm-{'train' if tr else 'eval'}-{len(shape)}d": (
        (lambda tr: lambda x, rm, rv, w, b: F.batch_norm(x, rm, rv, w, b, training=tr, momentum=0.3))(tr),
        (lambda tr: lambda t: lambda x, rm, rv, w, b: t.nn.functional.batch_norm(x, rm, rv, w, b, training=tr,
                                                                                 momentum=0.3))(tr),
        [N(*shape, scale=2), C(0.1, -0.2, 0.3), C(1.5, 0.5, 2.0), N(3), N(3)])
       for tr in (True, False) for shape in ((6, 3), (2, 3, 3, 4), (4, 3, 5))},
    "batch_norm-train-no-running-stats": (
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        lambda t: lambda x, w, b: t.nn.functional.batch_norm(x, None, None, w, b, training=True),
        [N(2, 3, 3, 4), N(3), N(3)]),
    "batch_norm-train-no-affine": (lambda x: F.batch_norm(x, None, None, training=True),
                                   lambda t: lambda x: t.nn.functional.batch_norm(x, None, None, training=True),
                                   [N(5, 3)]),
    "batch_norm-eval-no-affine": (lambda x, rm, rv: F.batch_norm(x, rm, rv, eps=1e-3),
                                  lambda t: lambda x, rm, rv: t.nn.functional.batch_norm(x, rm, rv, eps=1e-3),
                                  [N(2, 3, 2, 2), C(0.1, -0.2, 0.3), C(1.5, 0.5, 2.0)]),
}

# realistic sizes: an MNIST/CIFAR-like first layer
REALISTIC = {
    "conv2d-8x3x28x28-k5": (lambda x, w, b: F.conv2d(x, w, b),
                            lambda t: lambda x, w, b: t.nn.functional.conv2d(x, w, b),
                            [N(8, 3, 28, 28), N(6, 3, 5, 5, scale=0.2), N(6)]),
    "conv2d-8x3x28x28-k5-stride2-pad2": (
        lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=2),
        lambda t: lambda x, w, b: t.nn.functional.conv2d(x, w, b, stride=2, padding=2),
        [N(8, 3, 28, 28), N(16, 3, 5, 5, scale=0.2), N(16)]),
    "linear-8x2352-to-100": (F.linear, tfn("linear"), [N(8, 3 * 28 * 28), N(100, 3 * 28 * 28, scale=0.02), N(100)]),
}


def _close(actual, expected, what):
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != torch's {expected.shape}"
    atol = ATOL * max(1.0, float(np.abs(expected).max(initial=0.0)))   # float32 sums of large terms
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=atol, err_msg=what)


def _compare(torch, case, seed):
    ffn, tmake, specs = case
    rng = np.random.default_rng(seed)
    arrays = [s.array(rng) for s in specs]
    f_in = [fastnn.tensor(a, requires_grad=s.differentiable) for a, s in zip(arrays, specs)]
    t_in = [torch.tensor(a, requires_grad=s.differentiable) for a, s in zip(arrays, specs)]
    f_out = ffn(*f_in)
    t_out = tmake(torch)(*t_in)
    assert f_out.dtype == np.float32
    _close(f_out.numpy(), t_out.detach().numpy(), "forward")
    for i, s in enumerate(specs):           # constants, incl. running statistics updated in place
        if s.kind in ("const", "unit_const"):
            _close(f_in[i].numpy(), t_in[i].numpy(), f"argument {i} after forward")
    upstream = rng.standard_normal(t_out.shape).astype(np.float32)
    f_out.backward(fastnn.tensor(upstream))
    t_out.backward(torch.tensor(upstream))
    for i, s in enumerate(specs):
        if not s.differentiable:
            continue
        assert f_in[i].grad is not None, f"no gradient for argument {i}"
        assert f_in[i].grad.dtype == np.float32
        _close(f_in[i].grad.numpy(), t_in[i].grad.numpy(), f"gradient of argument {i}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(backend, torch, name):
    _compare(torch, CASES[name], seed=zlib.crc32(name.encode()))


@pytest.mark.parametrize("name", sorted(REALISTIC))
def test_realistic_shapes_match_torch(backend, torch, name):
    _compare(torch, REALISTIC[name], seed=len(name))


def test_dropout_train_matches_torch_given_the_mask(backend, torch):
    """A random mask cannot match torch's; given fastnn's mask, output and gradient must be
    torch's ``x * mask / (1 - p)``, and the kept fraction must be about 1 - p."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 50)).astype(np.float32)
    p = 0.25
    fx = fastnn.tensor(x, requires_grad=True)
    fastnn.manual_seed(11)
    y = F.dropout(fx, p, training=True)
    mask = y.numpy() != 0
    assert 0.7 < mask.mean() < 0.8
    tx = torch.tensor(x, requires_grad=True)
    ty = tx * torch.tensor(mask.astype(np.float32)) / (1 - p)
    _close(y.numpy(), ty.detach().numpy(), "forward")
    upstream = rng.standard_normal(x.shape).astype(np.float32)
    y.backward(fastnn.tensor(upstream))
    ty.backward(torch.tensor(upstream))
    _close(fx.grad.numpy(), tx.grad.numpy(), "gradient")
