"""The benchmark cases: one kernel of the contract on one shape, with its work counted.

Every case knows

* its **FLOP** and **bytes** -- the arithmetic it must do and the data it must move at least
  (each input read once, each output written once; what a perfect cache would leave). From
  them come the achieved GFLOP/s or GB/s and the *arithmetic intensity* FLOP/byte that places
  the kernel on the roofline. For the element-wise kernels an ``exp`` or ``tanh`` counts as one
  FLOP: those figures are a model, good for placing the kernel, not for bragging;
* whether it is **memory-bound** (activations, pools, losses, batch norm: a few FLOP per
  element, so the memory traffic decides) -- its table row then shows GB/s and the percentage
  of the measured bandwidth, the others GFLOP/s and the percentage of the FLOP peak;
* how to call it on a backend (through the validated public method of the contract, as the
  layers do) and, when PyTorch has the same operation, on PyTorch's CPU kernels.

Shapes come from the reference models: the convolution layers of LeNet (conv2) and of the
CIFAR CNN, their activations and pools, the CIFAR CNN's batch norm.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

#: short names accepted for families on the command line
FAMILY_ALIASES = {"act": "activation", "activations": "activation", "losses": "loss", "batchnorm": "norm",
                  "bn": "norm", "pooling": "pool", "convolution": "conv", "matmul": "gemm"}

#: the kernels each family benchmarks by default
DEFAULT_KERNELS = {
    "gemm": ("gemm",),
    "conv": ("conv2d_forward", "conv2d_backward"),
    "pool": ("maxpool2d_forward", "maxpool2d_backward"),
    "activation": ("relu_forward", "relu_backward", "sigmoid_forward", "tanh_forward"),
    "loss": ("softmax_cross_entropy_forward", "softmax_cross_entropy_backward"),
    "norm": ("batchnorm_forward", "batchnorm_backward"),
}

#: GEMM sizes (n for an n x n x n product) and batch sizes, normal and --quick
GEMM_SIZES, GEMM_SIZES_QUICK = (128, 256, 512, 1024), (32, 64)
BATCHES, BATCHES_QUICK = (64,), (2,)
#: the naive rungs take seconds per call above this size; skipped unless sizes are given explicitly
NAIVE_MAX = 512

#: name -> (C, H, W, F, kernel, padding) of the convolution layers benchmarked
CONV_LAYERS = {"lenet.conv2": (10, 12, 12, 20, 5, 0), "cifar.conv": (32, 32, 32, 32, 3, 1)}
#: the activation / pool / batch norm input: the CIFAR CNN's first stage, (N, 32, 32, 32)
MAP = (32, 32, 32)
#: classes of the loss benchmark (an ImageNet-sized classifier: 10 classes would time only overhead)
CLASSES = 1000

#: FLOP per element of the element-wise kernels (exp/tanh counted as one)
ACT_FLOP = {"relu_forward": 1, "relu_backward": 1, "leaky_relu_forward": 2, "leaky_relu_backward": 2,
            "elu_forward": 3, "elu_backward": 2, "sigmoid_forward": 4, "sigmoid_backward": 3,
            "tanh_forward": 4, "tanh_backward": 3}
#: arrays each element-wise kernel reads and writes (forward: x -> y; backward: grad_y, saved -> grad_x)
ACT_ARRAYS = {k: (3 if k.endswith("backward") else 2) for k in ACT_FLOP}


@dataclass
class Case:
    """One kernel on one shape. ``call(backend, variant)`` and ``torch_call(torch)`` return a
    zero-argument callable doing the work once (``torch_call`` returns None when PyTorch has no
    twin of the kernel)."""
    kernel: str
    family: str
    shape: str
    flops: float
    bytes: float
    memory_bound: bool
    call: Callable
    torch_call: Callable | None = None
    variant_kind: str | None = None          # "gemm" / "conv": the ladder rungs apply
    size: int = 0                            # n of a GEMM, batch of the others (for plots)
    notes: dict = field(default_factory=dict)

    @property
    def intensity(self) -> float:
        return self.flops / self.bytes if self.bytes else float("nan")


def _rng():
    return np.random.default_rng(0)


def _f32(rng, shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def _dims(shape) -> str:
    return "x".join(str(s) for s in shape)


def _ref():
    from ..backends import get
    return get("numpy")


# --------------------------------------------------------------------------- families

def gemm_cases(n: int) -> list[Case]:
    rng = _rng()
    a, b = _f32(rng, (n, n)), _f32(rng, (n, n))

    def call(be, variant):
        out = np.empty((n, n), np.float32)
        return lambda: be.gemm(a, b, False, False, out, variant)

    def torch_call(torch):
        ta, tb, tc = torch.from_numpy(a), torch.from_numpy(b), torch.empty((n, n))
        return lambda: torch.mm(ta, tb, out=tc)
    return [Case("gemm", "gemm", f"{n}x{n}x{n}", 2.0 * n ** 3, 4.0 * 3 * n * n, False, call, torch_call,
                 "gemm", n)]


def conv_cases(batch: int, kernels) -> list[Case]:
    cases = []
    for layer, (c, h, w, f, k, p) in CONV_LAYERS.items():
        rng = _rng()
        x, weight, bias = _f32(rng, (batch, c, h, w)), _f32(rng, (f, c, k, k), 0.1), _f32(rng, (f,))
        oh, ow = h + 2 * p - k + 1, w + 2 * p - k + 1
        grad_out = _f32(rng, (batch, f, oh, ow))
        macs = batch * f * oh * ow * c * k * k
        shape = f"{_dims(x.shape)} * {_dims(weight.shape)} p{p}"
        x_b, w_b, o_b = 4.0 * x.size, 4.0 * weight.size, 4.0 * grad_out.size
        if "conv2d_forward" in kernels:
            def call(be, variant, x=x, weight=weight, bias=bias, p=p):
                return lambda: be.conv2d_forward(x, weight, bias, 1, p, 1, variant)

            def torch_call(torch, x=x, weight=weight, bias=bias, p=p):
                import torch.nn.functional as F
                tx, tw, tb = torch.from_numpy(x), torch.from_numpy(weight), torch.from_numpy(bias)
                return lambda: F.conv2d(tx, tw, tb, 1, p)
            cases.append(Case("conv2d_forward", "conv", shape, 2.0 * macs + batch * f * oh * ow,
                              x_b + w_b + o_b + 4.0 * f, False, call, torch_call, "conv", batch, {"layer": layer}))
        if "conv2d_backward" in kernels:
            def call(be, variant, x=x, weight=weight, grad_out=grad_out, p=p):
                return lambda: be.conv2d_backward(grad_out, x, weight, 1, p, 1)

            def torch_call(torch, x=x, weight=weight, grad_out=grad_out, p=p, f=f):
                tx, tw, tg = torch.from_numpy(x), torch.from_numpy(weight), torch.from_numpy(grad_out)
                return lambda: torch.ops.aten.convolution_backward(tg, tx, tw, [f], [1, 1], [p, p], [1, 1], False,
                                                                   [0, 0], 1, [True, True, True])
            cases.append(Case("conv2d_backward", "conv", shape, 4.0 * macs + batch * f * oh * ow,
                              2 * x_b + 2 * w_b + o_b + 4.0 * f, False, call, torch_call, None, batch,
                              {"layer": layer}))
    return cases


def pool_cases(batch: int, kernels) -> list[Case]:
    rng = _rng()
    x = _f32(rng, (batch, *MAP))
    out, argmax = _ref().maxpool2d_forward(x, 2)
    grad_out = _f32(rng, out.shape)
    shape = f"{_dims(x.shape)} k2"
    cases = []
    if "maxpool2d_forward" in kernels:
        def torch_call(torch):
            tx = torch.from_numpy(x)
            return lambda: torch.ops.aten.max_pool2d_with_indices(tx, [2, 2], [2, 2])
        cases.append(Case("maxpool2d_forward", "pool", shape, 4.0 * out.size, 4.0 * x.size + 12.0 * out.size, True,
                          lambda be, variant: (lambda: be.maxpool2d_forward(x, 2)), torch_call, None, batch))
    if "maxpool2d_backward" in kernels:
        def torch_call(torch):
            tx, tg = torch.from_numpy(x), torch.from_numpy(grad_out)
            _, idx = torch.ops.aten.max_pool2d_with_indices(tx, [2, 2], [2, 2])
            return lambda: torch.ops.aten.max_pool2d_with_indices_backward(tg, tx, [2, 2], [2, 2], [0, 0], [1, 1],
                                                                           False, idx)
        cases.append(Case("maxpool2d_backward", "pool", shape, 1.0 * out.size, 4.0 * x.size + 12.0 * out.size, True,
                          lambda be, variant: (lambda: be.maxpool2d_backward(grad_out, argmax, x.shape)),
                          torch_call, None, batch))
    if "avgpool2d_forward" in kernels:
        def torch_call(torch):
            import torch.nn.functional as F
            tx = torch.from_numpy(x)
            return lambda: F.avg_pool2d(tx, 2)
        cases.append(Case("avgpool2d_forward", "pool", shape, 4.0 * out.size, 4.0 * x.size + 4.0 * out.size, True,
                          lambda be, variant: (lambda: be.avgpool2d_forward(x, 2)), torch_call, None, batch))
    if "avgpool2d_backward" in kernels:
        cases.append(Case("avgpool2d_backward", "pool", shape, 4.0 * out.size, 4.0 * x.size + 4.0 * out.size, True,
                          lambda be, variant: (lambda: be.avgpool2d_backward(grad_out, x.shape, 2)), None, None,
                          batch))
    return cases


def _torch_activation(kernel, x, y, g):
    """PyTorch's kernel for an activation (forward, or the backward from what fastnn saves)."""
    def make(torch):
        import torch.nn.functional as F
        tx, ty, tg = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(g)
        aten = torch.ops.aten
        return {
            "relu_forward": lambda: torch.relu(tx),
            "relu_backward": lambda: aten.threshold_backward(tg, ty, 0),
            "leaky_relu_forward": lambda: F.leaky_relu(tx, 0.01),
            "leaky_relu_backward": lambda: aten.leaky_relu_backward(tg, tx, 0.01, False),
            "elu_forward": lambda: F.elu(tx),
            "elu_backward": lambda: aten.elu_backward(tg, 1.0, 1, 1, True, ty),
            "sigmoid_forward": lambda: torch.sigmoid(tx),
            "sigmoid_backward": lambda: aten.sigmoid_backward(tg, ty),
            "tanh_forward": lambda: torch.tanh(tx),
            "tanh_backward": lambda: aten.tanh_backward(tg, ty),
        }[kernel]
    return make


def activation_cases(batch: int, kernels) -> list[Case]:
    rng = _rng()
    x = _f32(rng, (batch, *MAP))
    g = _f32(rng, x.shape)
    ref = _ref()
    cases = []
    for kernel in ACT_FLOP:
        if kernel not in kernels:
            continue
        base = kernel.rsplit("_", 1)[0]
        forward = getattr(ref, base + "_forward")
        y = forward(x)
        saved = x if base == "leaky_relu" else y
        if kernel.endswith("forward"):
            def call(be, variant, kernel=kernel):
                fn = getattr(be, kernel)
                return lambda: fn(x)
        else:
            def call(be, variant, kernel=kernel, saved=saved):
                fn = getattr(be, kernel)
                return lambda: fn(g, saved)
        cases.append(Case(kernel, "activation", _dims(x.shape), float(ACT_FLOP[kernel] * x.size),
                          4.0 * ACT_ARRAYS[kernel] * x.size, True, call, _torch_activation(kernel, x, y, g), None,
                          batch))
    return cases


def loss_cases(batch: int, kernels) -> list[Case]:
    rng = _rng()
    logits = _f32(rng, (batch, CLASSES))
    target = rng.integers(0, CLASSES, batch).astype(np.int64)
    grad = np.full(batch, 1.0 / batch, np.float32)
    ref = _ref()
    _, probs = ref.softmax_cross_entropy_forward(logits, target)
    shape = _dims(logits.shape)
    nc = float(logits.size)
    cases = []
    if "softmax_cross_entropy_forward" in kernels:
        def torch_call(torch):
            import torch.nn.functional as F
            tl, tt = torch.from_numpy(logits), torch.from_numpy(target)
            return lambda: F.cross_entropy(tl, tt, reduction="none")
        cases.append(Case("softmax_cross_entropy_forward", "loss", shape, 5.0 * nc, 8.0 * nc + 16.0 * batch, True,
                          lambda be, variant: (lambda: be.softmax_cross_entropy_forward(logits, target)),
                          torch_call, None, batch, {"torch": "F.cross_entropy (losses only)"}))
    if "softmax_cross_entropy_backward" in kernels:
        def torch_call(torch):
            tp, tt, tg = torch.from_numpy(probs), torch.from_numpy(target)[:, None], torch.from_numpy(grad)[:, None]

            def run():
                out = tp * tg
                return out.scatter_add_(1, tt, -tg)
            return run
        cases.append(Case("softmax_cross_entropy_backward", "loss", shape, 2.0 * nc, 8.0 * nc + 16.0 * batch, True,
                          lambda be, variant: (lambda: be.softmax_cross_entropy_backward(grad, probs, target)),
                          torch_call, None, batch, {"torch": "probs * g, scatter_add (2 ops)"}))
    if "log_softmax_forward" in kernels or "log_softmax_backward" in kernels:
        y = ref.log_softmax_forward(logits)
        if "log_softmax_forward" in kernels:
            def torch_call(torch):
                tl = torch.from_numpy(logits)
                return lambda: torch.log_softmax(tl, 1)
            cases.append(Case("log_softmax_forward", "loss", shape, 4.0 * nc, 8.0 * nc, True,
                              lambda be, variant: (lambda: be.log_softmax_forward(logits)), torch_call, None, batch))
        if "log_softmax_backward" in kernels:
            gy = _f32(rng, logits.shape)

            def torch_call(torch):
                tg, ty = torch.from_numpy(gy), torch.from_numpy(y)
                return lambda: torch.ops.aten._log_softmax_backward_data(tg, ty, 1, torch.float32)
            cases.append(Case("log_softmax_backward", "loss", shape, 3.0 * nc, 12.0 * nc, True,
                              lambda be, variant: (lambda: be.log_softmax_backward(gy, y)), torch_call, None, batch))
    return cases


def norm_cases(batch: int, kernels) -> list[Case]:
    rng = _rng()
    c = MAP[0]
    x = _f32(rng, (batch, c, MAP[1] * MAP[2]))
    weight, bias = _f32(rng, (c,)), _f32(rng, (c,))
    g = _f32(rng, x.shape)
    ref = _ref()
    _, mean, invstd = ref.batchnorm_forward(x, weight, bias, None, None, True)
    shape = _dims(x.shape)
    cases = []
    if "batchnorm_forward" in kernels:
        def call(be, variant):
            rm, rv = np.zeros(c, np.float32), np.ones(c, np.float32)
            return lambda: be.batchnorm_forward(x, weight, bias, rm, rv, True)

        def torch_call(torch):
            tx, tw, tb = torch.from_numpy(x), torch.from_numpy(weight), torch.from_numpy(bias)
            rm, rv = torch.zeros(c), torch.ones(c)
            return lambda: torch.ops.aten.native_batch_norm(tx, tw, tb, rm, rv, True, 0.1, 1e-5)
        cases.append(Case("batchnorm_forward", "norm", shape, 7.0 * x.size, 8.0 * x.size, True, call, torch_call,
                          None, batch, {"mode": "training"}))
    if "batchnorm_backward" in kernels:
        def torch_call(torch):
            tx, tw, tg = torch.from_numpy(x), torch.from_numpy(weight), torch.from_numpy(g)
            tm, ti = torch.from_numpy(mean), torch.from_numpy(invstd)
            return lambda: torch.ops.aten.native_batch_norm_backward(tg, tx, tw, None, None, tm, ti, True, 1e-5,
                                                                     [True, True, True])
        cases.append(Case("batchnorm_backward", "norm", shape, 9.0 * x.size, 12.0 * x.size, True,
                          lambda be, variant: (lambda: be.batchnorm_backward(g, x, weight, mean, invstd, True)),
                          torch_call, None, batch, {"mode": "training"}))
    return cases


def im2col_cases(batch: int, kernels) -> list[Case]:
    cases = []
    for layer, (c, h, w, f, k, p) in CONV_LAYERS.items():
        x = _f32(_rng(), (batch, c, h, w))
        oh, ow = h + 2 * p - k + 1, w + 2 * p - k + 1
        cols = batch * c * k * k * oh * ow

        def torch_call(torch, x=x, k=k, p=p):
            import torch.nn.functional as F
            tx = torch.from_numpy(x)
            return lambda: F.unfold(tx, k, padding=p)
        cases.append(Case("im2col", "conv", f"{_dims(x.shape)} k{k} p{p}", 0.0, 4.0 * x.size + 4.0 * cols, True,
                          lambda be, variant, x=x, k=k, p=p: (lambda: be.im2col(x, k, 1, p)), torch_call, None,
                          batch, {"layer": layer}))
    return cases


#: every kernel that has a benchmark case -> the family it belongs to
BENCHABLE = {
    "gemm": "gemm", "conv2d_forward": "conv", "conv2d_backward": "conv", "im2col": "conv",
    "maxpool2d_forward": "pool", "maxpool2d_backward": "pool", "avgpool2d_forward": "pool",
    "avgpool2d_backward": "pool", **{k: "activation" for k in ACT_FLOP},
    "softmax_cross_entropy_forward": "loss", "softmax_cross_entropy_backward": "loss",
    "log_softmax_forward": "loss", "log_softmax_backward": "loss",
    "batchnorm_forward": "norm", "batchnorm_backward": "norm",
}


def build_cases(kernels, gemm_sizes, batches) -> list[Case]:
    """The cases for the selected kernel names, in family order, sizes ascending."""
    kernels = set(kernels)
    cases: list[Case] = []
    if "gemm" in kernels:
        for n in gemm_sizes:
            cases += gemm_cases(n)
    for batch in batches:
        if kernels & {"conv2d_forward", "conv2d_backward"}:
            cases += conv_cases(batch, kernels)
        if "im2col" in kernels:
            cases += im2col_cases(batch, kernels)
        cases += pool_cases(batch, kernels) if any(BENCHABLE[k] == "pool" for k in kernels) else []
        if any(BENCHABLE[k] == "activation" for k in kernels):
            cases += activation_cases(batch, kernels)
        if any(BENCHABLE[k] == "loss" for k in kernels):
            cases += loss_cases(batch, kernels)
        if any(BENCHABLE[k] == "norm" for k in kernels):
            cases += norm_cases(batch, kernels)
    return cases


__all__ = ["Case", "build_cases", "BENCHABLE", "DEFAULT_KERNELS", "FAMILY_ALIASES", "GEMM_SIZES", "BATCHES"]
