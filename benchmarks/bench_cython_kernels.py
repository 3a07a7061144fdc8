"""Benchmarks of the Cython backend's pool, activation, loss and batch-norm kernels:
numpy_ref vs cython (vs PyTorch when installed), on training-sized shapes.

Two ways to run it:

* ``pytest benchmarks/bench_cython_kernels.py --benchmark-only --benchmark-group-by=group``
  -- pytest-benchmark tables, one per kernel and shape. Nothing is asserted about speed.
  ``FASTNN_BENCH_THREADS`` (default 2) sets the threads of every runtime (fastnn's OpenMP,
  Numba and BLAS, and torch's); ``FASTNN_BENCH_QUICK=1`` shrinks the shapes and the
  parameter set so that CI can show the suite runs in seconds. Each benchmark records the
  machine, the thread count, the library versions and the load average in ``extra_info``.
* ``python benchmarks/bench_cython_kernels.py --goals`` -- the issue's goals measured as
  ratios, all contestants side by side in one process with ``fastnn.bench.timing.interleaved``
  (via ``_common.compare``): warm-up, interleaved rounds (a different order each round), before
  each sample a wait (at most ``--settle`` s) until the previous contestant's OpenMP/torch
  worker threads stop spinning, medians with the spread.
  max pool 2x2 and relu, forward+backward on (64, 32, 32, 32), cython vs torch on 2
  threads; every activation's forward on 1M elements, cython vs numpy_ref on 1 thread.

PyTorch is timed two ways where it matters: calling its ATen kernels directly (the same
work as the contract's kernels: e.g. max pool forward *with* indices, then the backward
from the indices) and through autograd (what a PyTorch user's training step pays).
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

# _common (next to this file) puts this checkout's fastnn on sys.path: import it first
from _common import QUICK, THREADS, available_backend, compare, f32, import_torch, machine_summary, run_benchmark

import fastnn  # noqa: E402
from fastnn import backends  # noqa: E402

#: (N, C, H, W) of an activation in a small CIFAR CNN
IMAGE_SHAPE = (8, 8, 16, 16) if QUICK else (64, 32, 32, 32)
#: logits (N, classes)
LOSS_SHAPES = [(32, 10)] if QUICK else [(128, 10), (128, 1000)]
#: flat size for the "every activation vs NumPy" check
FLAT_SIZE = 1 << 14 if QUICK else 1 << 20
ACTIVATIONS = {"relu": (), "leaky_relu": (0.01,), "elu": (1.0,), "sigmoid": (), "tanh": ()}
IMPLS = ["numpy", "cython", "torch"]


def machine_info(threads: int = THREADS) -> dict:
    """What a benchmark number depends on: CPU, cores, threads, versions, load."""
    info = machine_summary(threads)
    if "cython" in backends.available():
        cy = backends.get("cython")
        from fastnn._cython import _activation
        info.update(openmp=cy.openmp, simd_clones=_activation.SIMD_CLONES)
    return info


# =========================================================================== workloads
# Each returns a zero-argument callable doing the whole job once (allocation of the outputs
# included, as in training), or None when that implementation is not available here.

def maxpool_workload(impl: str, shape=IMAGE_SHAPE, kernel=2, stride=None, padding=0, autograd=False):
    """Max pool forward (with argmax) + backward from the argmax."""
    rng = np.random.default_rng(0)
    x = f32(rng, shape)
    s = kernel if stride is None else stride
    oh = (shape[2] + 2 * padding - kernel) // s + 1
    ow = (shape[3] + 2 * padding - kernel) // s + 1
    g = f32(rng, (*shape[:2], oh, ow))
    if impl == "torch":
        torch = import_torch(None)
        if torch is None:
            return None
        tx, tg = torch.from_numpy(x), torch.from_numpy(g)
        if autograd:
            tx.requires_grad_(True)

            def run_autograd():
                tx.grad = None
                torch.nn.functional.max_pool2d(tx, kernel, s, padding).backward(tg)
            return run_autograd
        aten = torch.ops.aten

        def run_torch():
            out, idx = aten.max_pool2d_with_indices(tx, [kernel] * 2, [s] * 2, [padding] * 2)
            aten.max_pool2d_with_indices_backward(tg, tx, [kernel] * 2, [s] * 2, [padding] * 2, [1, 1], False, idx)
        return run_torch
    b = available_backend(impl)
    if b is None:
        return None

    def run():
        out, argmax = b.maxpool2d_forward(x, kernel, stride, padding)
        b.maxpool2d_backward(g, argmax, x.shape)
    return run


def avgpool_workload(impl: str, shape=IMAGE_SHAPE, kernel=2):
    rng = np.random.default_rng(0)
    x = f32(rng, shape)
    g = f32(rng, (*shape[:2], shape[2] // kernel, shape[3] // kernel))
    if impl == "torch":
        torch = import_torch(None)
        if torch is None:
            return None
        tx, tg = torch.from_numpy(x), torch.from_numpy(g)
        aten = torch.ops.aten

        def run_torch():
            aten.avg_pool2d(tx, [kernel] * 2, [kernel] * 2)
            aten.avg_pool2d_backward(tg, tx, [kernel] * 2, [kernel] * 2, [0, 0], False, True, None)
        return run_torch
    b = available_backend(impl)
    if b is None:
        return None

    def run():
        b.avgpool2d_forward(x, kernel)
        b.avgpool2d_backward(g, x.shape, kernel)
    return run


def activation_workload(impl: str, act: str, shape=IMAGE_SHAPE, backward=True, autograd=False):
    """``act`` forward (+ backward from what the forward saved)."""
    rng = np.random.default_rng(0)
    x, g = f32(rng, shape, 3.0), f32(rng, shape)
    params = ACTIVATIONS[act]
    if impl == "torch":
        torch = import_torch(None)
        if torch is None:
            return None
        F, aten = torch.nn.functional, torch.ops.aten
        tx, tg = torch.from_numpy(x), torch.from_numpy(g)
        forward = {"relu": torch.relu, "leaky_relu": lambda t: F.leaky_relu(t, 0.01), "elu": F.elu,
                   "sigmoid": torch.sigmoid, "tanh": torch.tanh}[act]
        if autograd:
            tx.requires_grad_(True)

            def run_autograd():
                tx.grad = None
                forward(tx).backward(tg)
            return run_autograd
        grad = {"relu": lambda y: aten.threshold_backward(tg, y, 0),
                "leaky_relu": lambda y: aten.leaky_relu_backward(tg, tx, 0.01, False),
                "elu": lambda y: aten.elu_backward(tg, 1.0, 1, 1, True, y),
                "sigmoid": lambda y: aten.sigmoid_backward(tg, y),
                "tanh": lambda y: aten.tanh_backward(tg, y)}[act]

        def run_torch():
            y = forward(tx)
            if backward:
                grad(y)
        return run_torch
    b = available_backend(impl)
    if b is None:
        return None
    fwd, bwd = getattr(b, f"{act}_forward"), getattr(b, f"{act}_backward")

    def run():
        y = fwd(x, *params)
        if backward:
            bwd(g, x if act == "leaky_relu" else y, *params)
    return run


def cross_entropy_workload(impl: str, shape, label_smoothing=0.1):
    """Fused softmax cross-entropy forward (per-sample losses) + backward."""
    n, c = shape
    rng = np.random.default_rng(0)
    logits, target, g = f32(rng, shape, 3.0), rng.integers(0, c, n), np.full(n, 1.0 / n, np.float32)
    if impl == "torch":
        torch = import_torch(None)
        if torch is None:
            return None
        tl, tt, tg = torch.from_numpy(logits).requires_grad_(True), torch.from_numpy(target), torch.from_numpy(g)

        def run_torch():
            tl.grad = None
            torch.nn.functional.cross_entropy(tl, tt, reduction="none", label_smoothing=label_smoothing).backward(tg)
        return run_torch
    b = available_backend(impl)
    if b is None:
        return None

    def run():
        losses, probs = b.softmax_cross_entropy_forward(logits, target, label_smoothing)
        b.softmax_cross_entropy_backward(g, probs, target, label_smoothing)
    return run


def log_softmax_workload(impl: str, shape):
    rng = np.random.default_rng(0)
    x, g = f32(rng, shape, 3.0), f32(rng, shape)
    if impl == "torch":
        torch = import_torch(None)
        if torch is None:
            return None
        tx, tg, aten = torch.from_numpy(x), torch.from_numpy(g), torch.ops.aten

        def run_torch():
            y = torch.log_softmax(tx, 1)
            aten._log_softmax_backward_data(tg, y, 1, torch.float32)
        return run_torch
    b = available_backend(impl)
    if b is None:
        return None

    def run():
        b.log_softmax_backward(g, b.log_softmax_forward(x))
    return run


def batchnorm_workload(impl: str, shape=IMAGE_SHAPE, training=True):
    """BatchNorm2d: forward (training: batch statistics and running-statistics update) + backward."""
    n, c, h, w = shape
    rng = np.random.default_rng(0)
    x, g = f32(rng, (n, c, h, w), 2.0) + 1, f32(rng, (n, c, h, w))
    weight, bias = f32(rng, c), f32(rng, c)
    rm, rv = np.zeros(c, np.float32), np.ones(c, np.float32)
    if impl == "torch":
        torch = import_torch(None)
        if torch is None:
            return None
        aten = torch.ops.aten
        tx, tg, tw, tb, trm, trv = (torch.from_numpy(a) for a in (x, g, weight, bias, rm, rv))

        def run_torch():
            y, mean, invstd = aten.native_batch_norm(tx, tw, tb, trm, trv, training, 0.1, 1e-5)
            aten.native_batch_norm_backward(tg, tx, tw, trm, trv, mean, invstd, training, 1e-5, [True, True, True])
        return run_torch
    b = available_backend(impl)
    if b is None:
        return None
    x3, g3 = x.reshape(n, c, h * w), g.reshape(n, c, h * w)

    def run():
        y, mean, invstd = b.batchnorm_forward(x3, weight, bias, rm, rv, training, 0.1, 1e-5)
        b.batchnorm_backward(g3, x3, weight, mean, invstd, training)
    return run


# =========================================================================== pytest-benchmark

try:
    import pytest
except ImportError:             # plain `python bench_cython_kernels.py` does not need pytest
    pytest = None

if pytest is not None:
    @pytest.fixture(scope="module", autouse=True)
    def _threads():
        fastnn.set_num_threads(THREADS)
        import_torch(THREADS)
        yield

    @pytest.fixture(scope="module")
    def info():
        return machine_info(THREADS)

    shape_id = "x".join(map(str, IMAGE_SHAPE))

    @pytest.mark.parametrize("impl", IMPLS)
    def test_maxpool2d_2x2(benchmark, info, impl):
        run_benchmark(benchmark, maxpool_workload(impl), f"maxpool2d 2x2 fwd+bwd {shape_id}", info)

    @pytest.mark.parametrize("impl", IMPLS)
    def test_maxpool2d_3x3_stride2_pad1(benchmark, info, impl):
        run_benchmark(benchmark, maxpool_workload(impl, kernel=3, stride=2, padding=1),
                      f"maxpool2d 3x3/2 pad 1 fwd+bwd {shape_id}", info)

    @pytest.mark.parametrize("impl", IMPLS)
    def test_avgpool2d_2x2(benchmark, info, impl):
        run_benchmark(benchmark, avgpool_workload(impl), f"avgpool2d 2x2 fwd+bwd {shape_id}", info)

    @pytest.mark.parametrize("impl", IMPLS)
    @pytest.mark.parametrize("act", ["relu", "tanh"] if QUICK else list(ACTIVATIONS))
    def test_activation_forward_backward(benchmark, info, act, impl):
        run_benchmark(benchmark, activation_workload(impl, act), f"{act} fwd+bwd {shape_id}", info)

    @pytest.mark.parametrize("impl", ["numpy", "cython"])
    @pytest.mark.parametrize("act", ["tanh"] if QUICK else list(ACTIVATIONS))
    def test_activation_forward_flat(benchmark, info, act, impl):
        run_benchmark(benchmark, activation_workload(impl, act, (FLAT_SIZE,), backward=False),
                      f"{act} forward, {FLAT_SIZE} elements", info)

    @pytest.mark.parametrize("impl", IMPLS)
    @pytest.mark.parametrize("shape", LOSS_SHAPES, ids=lambda s: "x".join(map(str, s)))
    def test_cross_entropy(benchmark, info, shape, impl):
        run_benchmark(benchmark, cross_entropy_workload(impl, shape), f"cross-entropy (ls 0.1) fwd+bwd {shape}",
                      info)

    @pytest.mark.parametrize("impl", IMPLS)
    @pytest.mark.parametrize("shape", LOSS_SHAPES[-1:], ids=lambda s: "x".join(map(str, s)))
    def test_log_softmax(benchmark, info, shape, impl):
        run_benchmark(benchmark, log_softmax_workload(impl, shape), f"log_softmax fwd+bwd {shape}", info)

    @pytest.mark.parametrize("impl", IMPLS)
    @pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
    def test_batchnorm(benchmark, info, training, impl):
        run_benchmark(benchmark, batchnorm_workload(impl, training=training),
                      f"batchnorm2d {'train' if training else 'eval'} fwd+bwd {shape_id}", info)


# =========================================================================== the goals

def measure_goals(rounds: int = 9, threads: int = 2, settle: float = 0.1) -> dict:
    """The issue's goals for these kernels, as speed ratios (> 1: cython is faster)."""
    info = machine_info(threads)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    results = {"info": info}
    if "cython" not in backends.available():
        print("the cython backend is not built: " + backends.unavailable_reasons().get("cython", "?"))
        return results

    fastnn.set_num_threads(threads)
    import_torch(threads)
    shape = "x".join(map(str, IMAGE_SHAPE))
    timing = dict(rounds=rounds, settle=settle, torch_threads=threads)
    compare(f"max pool 2x2 forward+backward, {shape}, {threads} threads",
            {"cython maxpool": maxpool_workload("cython"),
             "torch maxpool (aten)": maxpool_workload("torch"),
             "torch maxpool (autograd)": maxpool_workload("torch", autograd=True),
             "numpy_ref maxpool": maxpool_workload("numpy")},
            {"maxpool: cython vs torch aten (goal > 1)": ("torch maxpool (aten)", "cython maxpool"),
             "maxpool: cython vs torch autograd": ("torch maxpool (autograd)", "cython maxpool"),
             "maxpool: cython vs numpy_ref": ("numpy_ref maxpool", "cython maxpool")}, results, **timing)

    compare(f"relu forward+backward, {shape}, {threads} threads",
            {"cython relu": activation_workload("cython", "relu"),
             "torch relu (aten)": activation_workload("torch", "relu"),
             "torch relu (autograd)": activation_workload("torch", "relu", autograd=True),
             "numpy_ref relu": activation_workload("numpy", "relu")},
            {"relu: cython vs torch aten (goal > 1)": ("torch relu (aten)", "cython relu"),
             "relu: cython vs torch autograd": ("torch relu (autograd)", "cython relu"),
             "relu: cython vs numpy_ref": ("numpy_ref relu", "cython relu")}, results, **timing)

    fastnn.set_num_threads(1)
    contestants = {}
    for act in ACTIVATIONS:
        contestants[f"cython {act}"] = activation_workload("cython", act, (FLAT_SIZE,), backward=False)
        contestants[f"numpy_ref {act}"] = activation_workload("numpy", act, (FLAT_SIZE,), backward=False)
    compare(f"activation forward, {FLAT_SIZE} float32 elements, 1 thread", contestants,
            {f"{act}: cython vs numpy_ref (goal >= 1)": (f"numpy_ref {act}", f"cython {act}")
             for act in ACTIVATIONS}, results, **timing)
    fastnn.set_num_threads(threads)
    if hasattr(os, "getloadavg"):
        results["loadavg_1min_after"] = round(os.getloadavg()[0], 2)
        print(f"\nload average (1 min) before {info.get('loadavg_1min')}, after {results['loadavg_1min_after']} "
              f"on {os.cpu_count()} cores: above ~0.5 the machine was busy and the ratios are noisy")
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--goals", action="store_true", help="measure the goals (side by side, interleaved)")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds (default 9)")
    parser.add_argument("--threads", type=int, default=2, help="threads for the pool/relu goals (default 2)")
    parser.add_argument("--settle", type=float, default=0.1,
                        help="wait at most this long (s) before each sample until the previous contestant's "
                             "worker threads stop spinning (default 0.1)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if not args.goals:
        parser.print_help()
        return 0
    results = measure_goals(args.rounds, args.threads, args.settle)
    if args.json:
        import json
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
