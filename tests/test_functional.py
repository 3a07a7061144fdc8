"""``fastnn.nn.functional`` on the NumPy reference backend: a finite-difference gradient
check (float64) of every op in its main configurations, forward values against NumPy
formulas written out here, dropout's statistics, and the Python exceptions bad input gets.
PyTorch comparisons (float32, every backend) are in test_functional_torch.py."""
from __future__ import annotations

import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as F
from fastnn import gradcheck

RNG = np.random.default_rng(2024)


@pytest.fixture(autouse=True)
def numpy_backend():
    with fastnn.use_backend("numpy"):
        yield


def f64(*shape, requires_grad=True, scale=1.0):
    return fastnn.tensor(RNG.standard_normal(shape) * scale, dtype=fastnn.float64, requires_grad=requires_grad)


def distinct(*shape):
    """float64 values that are pairwise at least 0.05 apart: no ties for max pooling, even
    after a finite-difference step."""
    n = int(np.prod(shape))
    values = (RNG.permutation(n) - n / 2) * 0.05
    return fastnn.tensor(values.reshape(shape), dtype=fastnn.float64, requires_grad=True)


def away_from(points, *shape, gap=0.1):
    """Random float64 values at least ``gap`` from every kink in ``points``."""
    a = RNG.standard_normal(shape)
    for p in points:
        near = np.abs(a - p) < gap
        a[near] = p + np.where(a[near] >= p, gap, -gap) * 2
    return fastnn.tensor(a, dtype=fastnn.float64, requires_grad=True)


def targets(*values):
    return fastnn.tensor(np.array(values, dtype=np.int64))


def unit(*shape):
    """float64 values in (0.05, 0.95), e.g. probabilities or soft targets."""
    return fastnn.tensor(RNG.uniform(0.05, 0.95, shape), dtype=fastnn.float64, requires_grad=True)


# =========================================================================== gradient checks

GRADCHECKS = {
    # linear
    "linear": (lambda x, w, b: F.linear(x, w, b), lambda: [f64(4, 3), f64(2, 3), f64(2)]),
    "linear-no-bias": (lambda x, w: F.linear(x, w), lambda: [f64(4, 3), f64(2, 3)]),
    "linear-3d-input": (lambda x, w, b: F.linear(x, w, b), lambda: [f64(2, 2, 3), f64(2, 3), f64(2)]),
    "linear-1d-input": (lambda x, w, b: F.linear(x, w, b), lambda: [f64(3), f64(2, 3), f64(2)]),
    # conv2d
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b), lambda: [f64(2, 2, 4, 4), f64(2, 2, 3, 3), f64(2)]),
    "conv2d-stride-padding-dilation-nonsquare": (
        lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2)),
        lambda: [f64(2, 2, 5, 6), f64(3, 2, 2, 3), f64(3)]),
    "conv2d-stride-2-padding-no-bias": (lambda x, w: F.conv2d(x, w, None, stride=2, padding=1),
                                        lambda: [f64(1, 2, 5, 5), f64(2, 2, 3, 3)]),
    "conv2d-nonsquare-kernel-dilation": (lambda x, w: F.conv2d(x, w, dilation=2),
                                         lambda: [f64(1, 1, 6, 5), f64(2, 1, 3, 1)]),
    "conv2d-unbatched": (lambda x, w, b: F.conv2d(x, w, b, padding=1), lambda: [f64(1, 3, 3), f64(2, 1, 2, 2), f64(2)]),
    # pooling
    "max_pool2d": (lambda x: F.max_pool2d(x, 2), lambda: [distinct(2, 2, 4, 4)]),
    "max_pool2d-overlapping": (lambda x: F.max_pool2d(x, 3, stride=1), lambda: [distinct(1, 2, 4, 5)]),
    "max_pool2d-overlapping-padding": (lambda x: F.max_pool2d(x, 3, stride=2, padding=1),
                                       lambda: [distinct(1, 2, 5, 5)]),
    "max_pool2d-nonsquare": (lambda x: F.max_pool2d(x, (2, 3), stride=(1, 2)), lambda: [distinct(2, 1, 4, 5)]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 2), lambda: [f64(2, 2, 4, 4)]),
    "avg_pool2d-padding-include": (lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=True),
                                   lambda: [f64(1, 2, 5, 5)]),
    "avg_pool2d-padding-exclude": (lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False),
                                   lambda: [f64(1, 2, 5, 5)]),
    "avg_pool2d-overlapping-nonsquare": (lambda x: F.avg_pool2d(x, (2, 3), stride=1, padding=(1, 1),
                                                                count_include_pad=False),
                                         lambda: [f64(1, 1, 3, 4)]),
    "adaptive_avg_pool2d-1": (lambda x: F.adaptive_avg_pool2d(x, 1), lambda: [f64(2, 2, 3, 3)]),
    "adaptive_avg_pool2d-2x1": (lambda x: F.adaptive_avg_pool2d(x, (2, 1)), lambda: [f64(1, 2, 4, 3)]),
    # activations (inputs kept away from the kinks)
    "relu": (lambda x: F.relu(x), lambda: [away_from([0.0], 3, 4)]),
    "leaky_relu": (lambda x: F.leaky_relu(x), lambda: [away_from([0.0], 3, 4)]),
    "leaky_relu-0.2": (lambda x: F.leaky_relu(x, 0.2), lambda: [away_from([0.0], 3, 4)]),
    "elu": (lambda x: F.elu(x), lambda: [away_from([0.0], 3, 4)]),
    "elu-alpha": (lambda x: F.elu(x, alpha=0.5), lambda: [away_from([0.0], 3, 4)]),
    "sigmoid": (lambda x: F.sigmoid(x), lambda: [f64(3, 4, scale=2)]),
    "tanh": (lambda x: F.tanh(x), lambda: [f64(3, 4)]),
    # softmax family
    **{f"softmax-dim{d}": ((lambda d: lambda x: F.softmax(x, dim=d))(d), lambda: [f64(2, 3, 2)]) for d in (0, 1, -1)},
    **{f"log_softmax-dim{d}": ((lambda d: lambda x: F.log_softmax(x, dim=d))(d), lambda: [f64(2, 3, 2)])
       for d in (0, 1, -1)},
    # cross entropy
    "cross_entropy-mean": (lambda x: F.cross_entropy(x, targets(0, 2, 1, 2)), lambda: [f64(4, 3)]),
    "cross_entropy-sum": (lambda x: F.cross_entropy(x, targets(0, 2, 1, 2), reduction="sum"), lambda: [f64(4, 3)]),
    "cross_entropy-none": (lambda x: F.cross_entropy(x, targets(0, 2, 1, 2), reduction="none"), lambda: [f64(4, 3)]),
    "cross_entropy-label_smoothing": (lambda x: F.cross_entropy(x, targets(0, 2, 1, 2), label_smoothing=0.2),
                                      lambda: [f64(4, 3)]),
    "cross_entropy-ignore_index": (lambda x: F.cross_entropy(x, targets(0, -100, 1, 2)), lambda: [f64(4, 3)]),
    "cross_entropy-ignore_index-custom": (lambda x: F.cross_entropy(x, targets(0, 1, 1, 2), ignore_index=1,
                                                                    reduction="sum"), lambda: [f64(4, 3)]),
    "cross_entropy-weight": (lambda x: F.cross_entropy(x, targets(0, 2, 1, 2),
                                                       weight=fastnn.tensor([1.0, 2.0, 0.5], dtype=fastnn.float64)),
                             lambda: [f64(4, 3)]),
    "cross_entropy-weight-ignore": (lambda x: F.cross_entropy(x, targets(0, -100, 1, 2),
                                                              weight=fastnn.tensor([1.0, 2.0, 0.5],
                                                                                   dtype=fastnn.float64)),
                                    lambda: [f64(4, 3)]),
    "cross_entropy-NCd": (lambda x: F.cross_entropy(x, fastnn.tensor([[0, 2], [1, 1]])), lambda: [f64(2, 3, 2)]),
    "cross_entropy-NCd-none": (lambda x: F.cross_entropy(x, fastnn.tensor([[0, 2], [1, 1]]), reduction="none"),
                               lambda: [f64(2, 3, 2)]),
    # nll
    "nll_loss": (lambda x: F.nll_loss(x, targets(0, 2, 1, 2)), lambda: [f64(4, 3)]),
    "nll_loss-of-log_softmax": (lambda x: F.nll_loss(F.log_softmax(x, dim=1), targets(0, 2, 1, 2),
                                                     reduction="sum"), lambda: [f64(4, 3)]),
    "nll_loss-weight-ignore": (lambda x: F.nll_loss(x, targets(0, -100, 1, 2),
                                                    weight=fastnn.tensor([1.0, 2.0, 0.5], dtype=fastnn.float64)),
                               lambda: [f64(4, 3)]),
    "nll_loss-NCd-none": (lambda x: F.nll_loss(x, fastnn.tensor([[0, 2], [1, 1]]), reduction="none"),
                          lambda: [f64(2, 3, 2)]),
    # regression losses (input and target both differentiable)
    "mse_loss": (lambda x, y: F.mse_loss(x, y), lambda: [f64(3, 2), f64(3, 2)]),
    "mse_loss-sum": (lambda x, y: F.mse_loss(x, y, reduction="sum"), lambda: [f64(3, 2), f64(3, 2)]),
    "mse_loss-none": (lambda x, y: F.mse_loss(x, y, reduction="none"), lambda: [f64(3, 2), f64(3, 2)]),
    "l1_loss": (lambda x: F.l1_loss(x, fastnn.zeros(3, 2, dtype=fastnn.float64)),
                lambda: [away_from([0.0], 3, 2)]),
    "l1_loss-none": (lambda x: F.l1_loss(x, fastnn.zeros(3, 2, dtype=fastnn.float64), reduction="none"),
                     lambda: [away_from([0.0], 3, 2)]),
    # binary cross entropy
    "binary_cross_entropy": (lambda p, t: F.binary_cross_entropy(p, t), lambda: [unit(3, 2), unit(3, 2)]),
    "binary_cross_entropy-weight-sum": (
        lambda p, t: F.binary_cross_entropy(p, t, weight=fastnn.tensor([0.5, 2.0], dtype=fastnn.float64),
                                            reduction="sum"), lambda: [unit(3, 2), unit(3, 2)]),
    "binary_cross_entropy_with_logits": (lambda x, t: F.binary_cross_entropy_with_logits(x, t),
                                         lambda: [f64(3, 2, scale=2), unit(3, 2)]),
    "binary_cross_entropy_with_logits-pos_weight": (
        lambda x, t: F.binary_cross_entropy_with_logits(
            x, t, pos_weight=fastnn.tensor([2.0, 0.5], dtype=fastnn.float64), reduction="none"),
        lambda: [f64(3, 2, scale=2), unit(3, 2)]),
    # dropout: the same mask on every call (re-seeded)
    "dropout": (lambda x: (fastnn.manual_seed(5), F.dropout(x, 0.4))[1], lambda: [f64(3, 4)]),
    # batch norm
    "batch_norm-train-2d": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                            lambda: [f64(4, 3), f64(3), f64(3)]),
    "batch_norm-train-4d-running-stats": (
        lambda x, w, b: F.batch_norm(x, np.zeros(2), np.ones(2), w, b, training=True, momentum=0.2),
        lambda: [f64(2, 2, 2, 3), f64(2), f64(2)]),
    "batch_norm-eval-4d": (lambda x, w, b: F.batch_norm(x, np.array([0.1, -0.2]), np.array([1.5, 0.5]), w, b),
                           lambda: [f64(2, 2, 2, 3), f64(2), f64(2)]),
    "batch_norm-eval-2d": (lambda x, w, b: F.batch_norm(x, np.array([0.1, -0.2, 0.0]), np.array([1.5, 0.5, 2.0]),
                                                        w, b, training=False), lambda: [f64(4, 3), f64(3), f64(3)]),
    "batch_norm-train-no-affine": (lambda x: F.batch_norm(x, None, None, training=True), lambda: [f64(4, 3)]),
    "batch_norm-train-no-affine-4d": (lambda x: F.batch_norm(x, None, None, training=True),
                                      lambda: [f64(2, 2, 2, 2)]),
    "batch_norm-eval-no-affine": (lambda x: F.batch_norm(x, np.array([0.3, 0.1]), np.array([2.0, 0.25])),
                                  lambda: [f64(3, 2)]),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKS))
def test_gradcheck(name):
    fn, make_inputs = GRADCHECKS[name]
    assert gradcheck(fn, make_inputs())


# =========================================================================== forward values (NumPy formulas)

def _np_log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def test_linear_values():
    x, w, b = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((5, 4)), RNG.standard_normal(5)
    out = F.linear(fastnn.tensor(x), fastnn.tensor(w), fastnn.tensor(b))
    assert out.shape == (2, 3, 5) and out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), x @ w.T + b, rtol=1e-12)
    out32 = F.linear(fastnn.tensor(x.astype(np.float32)), fastnn.tensor(w.astype(np.float32)))
    assert out32.dtype == np.float32


def test_conv2d_values_against_loops():
    x, w, b = RNG.standard_normal((2, 2, 5, 6)), RNG.standard_normal((3, 2, 2, 3)), RNG.standard_normal(3)
    sh, sw, ph, pw, dh, dw = 2, 1, 1, 2, 1, 2
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh = (5 + 2 * ph - dh * (2 - 1) - 1) // sh + 1
    ow = (6 + 2 * pw - dw * (3 - 1) - 1) // sw + 1
    ref = np.zeros((2, 3, oh, ow))
    for n in range(2):
        for f in range(3):
            for i in range(oh):
                for j in range(ow):
                    patch = xp[n, :, i * sh:i * sh + dh * 2:dh, j * sw:j * sw + dw * 3:dw]
                    ref[n, f, i, j] = (patch * w[f]).sum() + b[f]
    out = F.conv2d(fastnn.tensor(x), fastnn.tensor(w), fastnn.tensor(b), stride=(sh, sw), padding=(ph, pw),
                   dilation=(dh, dw))
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10, atol=1e-12)


def test_pool_values():
    x = RNG.standard_normal((1, 1, 4, 4))
    mp = F.max_pool2d(fastnn.tensor(x), 2).numpy()
    np.testing.assert_array_equal(mp, x.reshape(1, 1, 2, 2, 2, 2).max(axis=(3, 5)))
    ap = F.avg_pool2d(fastnn.tensor(x), 2).numpy()
    np.testing.assert_allclose(ap, x.reshape(1, 1, 2, 2, 2, 2).mean(axis=(3, 5)))
    # padding 1 with a 3x3 window at the corner: 4 real values out of 9
    inc = F.avg_pool2d(fastnn.tensor(x), 3, stride=3, padding=1, count_include_pad=True).numpy()
    exc = F.avg_pool2d(fastnn.tensor(x), 3, stride=3, padding=1, count_include_pad=False).numpy()
    assert inc[0, 0, 0, 0] == pytest.approx(x[0, 0, :2, :2].sum() / 9)
    assert exc[0, 0, 0, 0] == pytest.approx(x[0, 0, :2, :2].mean())
    np.testing.assert_allclose(F.adaptive_avg_pool2d(fastnn.tensor(x), 1).numpy(), x.mean(axis=(2, 3), keepdims=True))
    np.testing.assert_allclose(F.adaptive_avg_pool2d(fastnn.tensor(x), (2, 2)).numpy(), ap)


def test_activation_values():
    x = np.array([-2.0, -0.5, 0.5, 3.0])
    t = fastnn.tensor(x)
    np.testing.assert_allclose(F.relu(t).numpy(), np.maximum(x, 0))
    np.testing.assert_allclose(F.leaky_relu(t, 0.1).numpy(), np.where(x > 0, x, 0.1 * x))
    np.testing.assert_allclose(F.elu(t, 0.5).numpy(), np.where(x > 0, x, 0.5 * (np.exp(x) - 1)))
    np.testing.assert_allclose(F.sigmoid(t).numpy(), 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(F.tanh(t).numpy(), np.tanh(x))
    assert F.relu(fastnn.tensor(x.reshape(2, 2))).shape == (2, 2)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_values(dim):
    x = RNG.standard_normal((2, 3, 4)) * 3
    np.testing.assert_allclose(F.log_softmax(fastnn.tensor(x), dim=dim).numpy(), _np_log_softmax(x, dim), atol=1e-12)
    p = F.softmax(fastnn.tensor(x), dim=dim).numpy()
    np.testing.assert_allclose(p, np.exp(_np_log_softmax(x, dim)), atol=1e-12)
    np.testing.assert_allclose(p.sum(axis=dim), 1.0)


def test_softmax_is_stable_for_large_inputs():
    x = fastnn.tensor([[1000.0, 0.0, -1000.0]])
    p = F.softmax(x, dim=1).numpy()
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p, [[1.0, 0.0, 0.0]], atol=1e-7)
    assert np.isfinite(F.log_softmax(x, dim=1).numpy()).all()


def test_cross_entropy_values():
    x = RNG.standard_normal((5, 4))
    t = np.array([0, 3, 1, 1, 2])
    logp = _np_log_softmax(x, 1)
    per = -logp[np.arange(5), t]
    ce = lambda **kw: F.cross_entropy(fastnn.tensor(x), fastnn.tensor(t), **kw).numpy()  # noqa: E731
    np.testing.assert_allclose(ce(), per.mean())
    np.testing.assert_allclose(ce(reduction="sum"), per.sum())
    np.testing.assert_allclose(ce(reduction="none"), per)
    eps = 0.3
    smooth = (1 - eps) * per - eps * logp.mean(axis=1)
    np.testing.assert_allclose(ce(label_smoothing=eps), smooth.mean())
    w = np.array([1.0, 2.0, 0.5, 3.0])
    np.testing.assert_allclose(ce(weight=fastnn.tensor(w)), (w[t] * per).sum() / w[t].sum())
    t_ign = np.array([0, -100, 1, 1, -100])
    keep = t_ign != -100
    out = F.cross_entropy(fastnn.tensor(x), fastnn.tensor(t_ign)).numpy()
    np.testing.assert_allclose(out, per[keep].mean())
    out = F.cross_entropy(fastnn.tensor(x), fastnn.tensor(t_ign), reduction="none").numpy()
    np.testing.assert_allclose(out, np.where(keep, per, 0.0))


def test_cross_entropy_spatial_matches_flattened():
    x = RNG.standard_normal((2, 3, 2, 2))
    t = RNG.integers(0, 3, (2, 2, 2))
    out = F.cross_entropy(fastnn.tensor(x), fastnn.tensor(t), reduction="none")
    assert out.shape == (2, 2, 2)
    flat = -_np_log_softmax(np.moveaxis(x, 1, -1).reshape(-1, 3), 1)[np.arange(8), t.reshape(-1)]
    np.testing.assert_allclose(out.numpy(), flat.reshape(2, 2, 2))
    assert F.nll_loss(F.log_softmax(fastnn.tensor(x), dim=1), fastnn.tensor(t), reduction="none").shape == (2, 2, 2)


def test_regression_losses_values():
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    np.testing.assert_allclose(F.mse_loss(fastnn.tensor(a), fastnn.tensor(b)).numpy(), ((a - b) ** 2).mean())
    np.testing.assert_allclose(F.l1_loss(fastnn.tensor(a), fastnn.tensor(b), reduction="sum").numpy(),
                               np.abs(a - b).sum())
    p, t = RNG.uniform(0.01, 0.99, (3, 4)), RNG.uniform(0, 1, (3, 4))
    np.testing.assert_allclose(F.binary_cross_entropy(fastnn.tensor(p), fastnn.tensor(t)).numpy(),
                               -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean())
    x = RNG.standard_normal((3, 4)) * 3
    pw = np.array([1.0, 2.0, 0.5, 3.0])
    sig = 1 / (1 + np.exp(-x))
    ref = -(pw * t * np.log(sig) + (1 - t) * np.log(1 - sig))
    out = F.binary_cross_entropy_with_logits(fastnn.tensor(x), fastnn.tensor(t), pos_weight=fastnn.tensor(pw),
                                             reduction="none")
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10)


def test_bce_with_logits_large_logits_stay_finite():
    x = fastnn.tensor([50.0, -50.0, 50.0, -50.0], requires_grad=True)
    t = fastnn.tensor([1.0, 0.0, 0.0, 1.0])
    loss = F.binary_cross_entropy_with_logits(x, t, pos_weight=fastnn.tensor([2.0, 2.0, 2.0, 2.0]),
                                              reduction="none")
    assert loss.dtype == np.float32
    assert np.isfinite(loss.numpy()).all()
    np.testing.assert_allclose(loss.numpy(), [0.0, 0.0, 50.0, 100.0], atol=1e-6)
    loss.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0, 1.0, -2.0], atol=1e-6)


def test_bce_clamps_log_like_torch():
    loss = F.binary_cross_entropy(fastnn.tensor([0.0, 1.0]), fastnn.tensor([1.0, 0.0]), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [100.0, 100.0])


# =========================================================================== dropout

def test_dropout_train_scales_and_drops():
    fastnn.manual_seed(0)
    x = fastnn.ones(200, 100, requires_grad=True)
    y = F.dropout(x, p=0.3, training=True)
    kept = y.numpy() != 0
    assert 0.65 < kept.mean() < 0.75
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.7, rtol=1e-6)
    assert y.dtype == np.float32
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept, 1 / 0.7, 0.0), rtol=1e-6)


def test_dropout_eval_and_p0_are_identity():
    x = fastnn.randn(4, 5)
    np.testing.assert_array_equal(F.dropout(x, 0.5, training=False).numpy(), x.numpy())
    np.testing.assert_array_equal(F.dropout(x, 0.0, training=True).numpy(), x.numpy())


def test_dropout_p1_zeroes_everything():
    x = fastnn.randn(4, 5, requires_grad=True)
    y = F.dropout(x, 1.0, training=True)
    np.testing.assert_array_equal(y.numpy(), np.zeros((4, 5)))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((4, 5)))


def test_dropout_reproducible_with_seed():
    x = fastnn.ones(50)
    fastnn.manual_seed(9)
    a = F.dropout(x, 0.5).numpy()
    fastnn.manual_seed(9)
    np.testing.assert_array_equal(F.dropout(x, 0.5).numpy(), a)


# =========================================================================== batch norm statistics

def test_batch_norm_training_values_and_running_stats():
    x = RNG.standard_normal((4, 3, 2, 2)) * 2 + 1
    rm, rv = np.zeros(3), np.ones(3)
    w, b = np.array([1.0, 2.0, 0.5]), np.array([0.0, -1.0, 1.0])
    out = F.batch_norm(fastnn.tensor(x), rm, rv, fastnn.tensor(w), fastnn.tensor(b), training=True, momentum=0.1)
    mean = x.mean(axis=(0, 2, 3))
    var = x.var(axis=(0, 2, 3))
    ref = (x - mean[:, None, None]) / np.sqrt(var[:, None, None] + 1e-5) * w[:, None, None] + b[:, None, None]
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rm, 0.1 * mean)
    np.testing.assert_allclose(rv, 0.9 + 0.1 * x.var(axis=(0, 2, 3), ddof=1))


def test_batch_norm_eval_uses_running_stats():
    x = RNG.standard_normal((5, 2))
    rm, rv = np.array([0.5, -1.0]), np.array([2.0, 0.5])
    out = F.batch_norm(fastnn.tensor(x), rm, rv, training=False, eps=1e-3)
    np.testing.assert_allclose(out.numpy(), (x - rm) / np.sqrt(rv + 1e-3))
    np.testing.assert_array_equal(rm, [0.5, -1.0])            # untouched in eval


# =========================================================================== bad input

def _shapes(a, b):
    """A regex matching both shapes, whether printed as (2, 3) or 2x3."""
    def one(s):
        return r"\(?" + r"(?:, |x)".join(map(str, s)) + r",?\)?"
    return f"{one(a)}.*{one(b)}|{one(b)}.*{one(a)}"


class TestBadInput:
    def test_linear_shape_mismatch_names_both_shapes(self):
        with pytest.raises(ValueError, match=_shapes((2, 3), (4, 5))):
            F.linear(fastnn.zeros(2, 3), fastnn.zeros(4, 5))
        with pytest.raises(ValueError, match=_shapes((5,), (4, 3))):
            F.linear(fastnn.zeros(2, 3), fastnn.zeros(4, 3), fastnn.zeros(5))

    def test_conv_shape_mismatch_names_both_shapes(self):
        with pytest.raises(ValueError, match=_shapes((1, 3, 5, 5), (2, 4, 3, 3))):
            F.conv2d(fastnn.zeros(1, 3, 5, 5), fastnn.zeros(2, 4, 3, 3))
        with pytest.raises(ValueError, match="bias"):
            F.conv2d(fastnn.zeros(1, 3, 5, 5), fastnn.zeros(2, 3, 3, 3), fastnn.zeros(3))
        with pytest.raises(ValueError, match="4-D"):
            F.conv2d(fastnn.zeros(5, 5), fastnn.zeros(2, 3, 3, 3))

    def test_mse_shape_mismatch_names_both_shapes(self):
        with pytest.raises(ValueError, match=_shapes((2, 3), (3, 2))):
            F.mse_loss(fastnn.zeros(2, 3), fastnn.zeros(3, 2))
        with pytest.raises(ValueError, match=_shapes((4,), (4, 1))):
            F.l1_loss(fastnn.zeros(4), fastnn.zeros(4, 1))

    def test_wrong_dtype(self):
        with pytest.raises(TypeError, match="int64"):
            F.linear(fastnn.tensor([[1, 2, 3]]), fastnn.zeros(4, 3))
        with pytest.raises(TypeError, match="int64"):
            F.conv2d(fastnn.zeros(1, 1, 4, 4, dtype=fastnn.int64), fastnn.zeros(1, 1, 3, 3))
        with pytest.raises(TypeError, match="int64"):
            F.relu(fastnn.tensor([1, 2]))
        with pytest.raises(TypeError, match="float64.*float32|float32.*float64"):
            F.linear(fastnn.zeros(2, 3, dtype=fastnn.float64), fastnn.zeros(4, 3))
        with pytest.raises(TypeError, match="target.*int64"):
            F.cross_entropy(fastnn.zeros(2, 3), fastnn.tensor([0.0, 1.0]))
        with pytest.raises(TypeError, match="Tensor"):
            F.relu([1.0, 2.0])

    @pytest.mark.parametrize("op", [
        lambda: F.conv2d(fastnn.zeros(1, 1, 5, 5), fastnn.zeros(1, 1, 3, 3), padding=-1),
        lambda: F.conv2d(fastnn.zeros(1, 1, 5, 5), fastnn.zeros(1, 1, 3, 3), padding=(0, -2)),
        lambda: F.max_pool2d(fastnn.zeros(1, 1, 5, 5), 2, padding=-1),
        lambda: F.avg_pool2d(fastnn.zeros(1, 1, 5, 5), 2, padding=-1),
    ])
    def test_negative_padding(self, op):
        with pytest.raises(ValueError, match="padding"):
            op()

    def test_bad_stride(self):
        with pytest.raises(ValueError, match="stride"):
            F.conv2d(fastnn.zeros(1, 1, 5, 5), fastnn.zeros(1, 1, 3, 3), stride=0)

    @pytest.mark.parametrize("op", [
        lambda: F.conv2d(fastnn.zeros(1, 1, 3, 3), fastnn.zeros(1, 1, 5, 5)),
        lambda: F.conv2d(fastnn.zeros(1, 1, 4, 4), fastnn.zeros(1, 1, 3, 3), dilation=3),
        lambda: F.conv2d(fastnn.zeros(1, 1, 3, 8), fastnn.zeros(1, 1, 6, 2), padding=1),
        lambda: F.max_pool2d(fastnn.zeros(1, 1, 3, 3), 4),
        lambda: F.avg_pool2d(fastnn.zeros(1, 1, 3, 3), 4),
    ])
    def test_kernel_larger_than_padded_input(self, op):
        with pytest.raises(ValueError, match="larger than the padded input"):
            op()

    def test_kernel_fits_once_padded(self):
        out = F.conv2d(fastnn.zeros(1, 1, 3, 3), fastnn.zeros(1, 1, 5, 5), padding=1)
        assert out.shape == (1, 1, 1, 1)

    @pytest.mark.parametrize("op", [
        lambda: F.linear(fastnn.zeros(0, 3), fastnn.zeros(4, 3)),
        lambda: F.conv2d(fastnn.zeros(0, 1, 5, 5), fastnn.zeros(1, 1, 3, 3)),
        lambda: F.max_pool2d(fastnn.zeros(0, 1, 4, 4), 2),
        lambda: F.avg_pool2d(fastnn.zeros(0, 1, 4, 4), 2),
        lambda: F.cross_entropy(fastnn.zeros(0, 3), fastnn.tensor(np.zeros(0, np.int64))),
        lambda: F.batch_norm(fastnn.zeros(0, 3), None, None, training=True),
        lambda: F.batch_norm(fastnn.zeros(0, 3, 2, 2), np.zeros(3, np.float32), np.ones(3, np.float32)),
        lambda: F.relu(fastnn.zeros(0, 3)),
        lambda: F.softmax(fastnn.zeros(0, 3), dim=1),
    ])
    def test_empty_batch(self, op):
        with pytest.raises(ValueError, match="empty"):
            op()

    @pytest.mark.parametrize("op", [
        lambda x: F.cross_entropy(x, fastnn.tensor([0])),
        lambda x: F.nll_loss(x, fastnn.tensor([0])),
        lambda x: F.mse_loss(x, fastnn.zeros(1, 3)),
        lambda x: F.mse_loss(fastnn.zeros(1, 3), x),
        lambda x: F.l1_loss(x, fastnn.zeros(1, 3)),
        lambda x: F.binary_cross_entropy_with_logits(x, fastnn.zeros(1, 3)),
        lambda x: F.binary_cross_entropy(fastnn.full((1, 3), 0.5), x.abs() * 0),
    ])
    def test_nan_in_loss_input(self, op):
        x = fastnn.tensor([[0.5, float("nan"), 0.25]])
        with pytest.raises(ValueError, match="NaN"):
            op(x)

    def test_other_loss_arguments(self):
        with pytest.raises(IndexError, match="3"):
            F.cross_entropy(fastnn.zeros(2, 3), fastnn.tensor([0, 3]))
        with pytest.raises(IndexError, match="-1"):
            F.nll_loss(fastnn.zeros(2, 3), fastnn.tensor([0, -1]))
        with pytest.raises(ValueError, match=_shapes((3,), (2, 3))):
            F.cross_entropy(fastnn.zeros(2, 3), fastnn.tensor([0, 1, 2]))
        with pytest.raises(ValueError, match="reduction"):
            F.mse_loss(fastnn.zeros(2), fastnn.zeros(2), reduction="avg")
        with pytest.raises(ValueError, match="label_smoothing"):
            F.cross_entropy(fastnn.zeros(2, 3), fastnn.tensor([0, 1]), label_smoothing=1.5)
        with pytest.raises(ValueError, match="probabilities"):
            F.binary_cross_entropy(fastnn.tensor([1.5]), fastnn.tensor([1.0]))
        with pytest.raises(ValueError, match="weight"):
            F.cross_entropy(fastnn.zeros(2, 3), fastnn.tensor([0, 1]), weight=fastnn.ones(4))

    def test_other_arguments(self):
        with pytest.raises(ValueError, match="dropout probability"):
            F.dropout(fastnn.zeros(2), 1.5)
        with pytest.raises(TypeError, match="dim"):
            F.softmax(fastnn.zeros(2, 3))
        with pytest.raises(IndexError, match="dim"):
            F.log_softmax(fastnn.zeros(2, 3), dim=2)
        with pytest.raises(ValueError, match="running_mean"):
            F.batch_norm(fastnn.zeros(4, 3), None, None, training=False)
        with pytest.raises(ValueError, match="more than 1 value"):
            F.batch_norm(fastnn.zeros(1, 3), None, None, training=True)
        with pytest.raises(ValueError, match="alpha"):
            F.elu(fastnn.zeros(2), alpha=-1.0)
