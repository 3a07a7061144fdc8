"""Benchmarks of the Cython GEMM and convolution ladders: numpy_ref vs cython (vs PyTorch).

Two ways to run it:

* ``pytest benchmarks/bench_cython_gemm_conv.py --benchmark-only --benchmark-group-by=group``
  -- pytest-benchmark tables: the GEMM ladder at 64..1024 (naive up to 256), the skinny
  product of a convolution layer (32x288 @ 288x65536), conv2d forward+backward on the LeNet
  (N=64, C=1, 28x28, 10 filters 5x5) and CIFAR (N=64, C=32, 32x32, 32 filters 3x3, pad 1)
  layers (every forward rung: implicit, im2col, direct). Nothing is asserted about speed. Every result records machine, threads and
  versions in ``extra_info``. ``FASTNN_BENCH_THREADS`` (default 2) sets the threads of every
  runtime; ``FASTNN_BENCH_QUICK=1`` runs a small parameter set (sizes 64 and 128, a batch of
  8) so that CI can prove the suite runs.
* ``python benchmarks/bench_cython_gemm_conv.py --goals`` -- measures the GEMM/conv goals of
  the Cython issue as ratios, all contestants side by side in one process with
  ``fastnn.bench.timing.interleaved`` (via ``_common.compare``): warm-up, interleaved rounds (a
  different order each round), before each sample a wait (at most ``--settle`` s) until the
  previous contestant's OpenBLAS/OpenMP worker threads stop spinning, medians with the spread.
  ``--ladder`` prints the GFLOP/s table of the GEMM ladder at 256/512/1024 that
  docs/ladder.md shows.

Needs numpy, fastnn with the compiled Cython kernels and ``_common.py`` (next to this file);
torch and pytest-benchmark are optional.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

# _common (next to this file) puts this checkout's fastnn on sys.path: import it first
from _common import (QUICK, THREADS, compare, f32, gemm_workload, import_torch, machine_summary, run_benchmark,
                     time_side_by_side)
from _common import conv_workload as _conv_workload

import fastnn  # noqa: E402
from fastnn import backends  # noqa: E402

GEMM_SIZES = (64, 128) if QUICK else (64, 128, 256, 512, 1024)
NAIVE_MAX = 256
CYTHON_RUNGS = ("naive", "reordered", "tiled", "packed", "parallel")
#: the convolution layer's product (F, K) @ (K, N*OH*OW) as one matrix, as numpy_ref computes it
SKINNY = (32, 288, 8192) if QUICK else (32, 288, 65536)
BATCH = 8 if QUICK else 64
#: name -> (x shape, weight shape, padding)
CONV_SHAPES = {
    "lenet": ((BATCH, 1, 28, 28), (10, 1, 5, 5), 0),
    "cifar": ((BATCH, 32, 32, 32), (32, 32, 3, 3), 1),
}


def warm_allocator() -> None:
    """Put the C allocator in its long-running-process state before timing anything.

    glibc serves big allocations (>= 128 KiB at first) with fresh mmap()s, whose pages fault
    in on first touch, and raises that threshold once big blocks have been freed. A short
    benchmark process that has not yet freed big blocks makes every contestant that allocates
    large temporaries per call (PyTorch's convolution backward does) pay page faults a training
    loop does not pay: in one measurement torch's CIFAR-layer conv took 40 ms cold and 25 ms
    warm. Allocating and freeing a few large blocks first levels the field."""
    blocks = [np.ones(20_000_000, np.float32) for _ in range(3)]
    del blocks


def machine_info() -> dict:
    """What a reader needs to compare a result with theirs."""
    info = machine_summary(THREADS)
    if "cython" in backends.available():
        cy = backends.get("cython")
        info["cython_micro_kernel"] = cy.gemm_micro_kernel
        info["cython_openmp"] = cy.openmp
    info["blas_threads"] = backends.threads.blas_num_threads()
    return info


# =========================================================================== workloads
# Each returns a zero-argument callable doing the whole job once, or None when the
# implementation is not available here. gemm_workload(impl, m, k=None, n=None, variant=None)
# comes from _common.py.

def conv_workload(impl: str, shape: str, variant: str | None = None, backward: bool = True):
    """conv2d forward (+ backward with grad_x, grad_w, grad_b) on one of :data:`CONV_SHAPES`."""
    x_shape, w_shape, pad = CONV_SHAPES[shape]
    return _conv_workload(impl, x_shape, w_shape, pad, variant, backward)


def mixed_workload(gemm_variant: str):
    """A training-like sequence on the cython backend: conv forward, a linear layer's three
    GEMMs (forward, grad_x, grad_w) with ``gemm_variant``, conv forward again. With "blas" the
    GEMMs run on OpenBLAS's thread pool and the convolutions on OpenMP's; each pool's threads
    keep spinning for a while after their call and slow the other one down -- the reason the
    default GEMM rung is ``parallel`` (one thread pool for everything) even where the BLAS
    alone is a little faster."""
    if "cython" not in backends.available():
        return None
    cy = backends.get("cython")
    rng = np.random.default_rng(0)
    a, w = f32(rng, (64, 2048)), f32(rng, (256, 2048), 0.05)
    x, cw = f32(rng, (64, 32, 16, 16)), f32(rng, (32, 32, 3, 3), 0.1)

    def run():
        cy.conv2d_forward(x, cw, None, padding=1)
        y = cy.gemm(a, w, False, True, variant=gemm_variant)
        cy.gemm(y, w, variant=gemm_variant)
        cy.gemm(y, a, True, False, variant=gemm_variant)
        cy.conv2d_forward(x, cw, None, padding=1)
    return run


# =========================================================================== pytest-benchmark

try:
    import pytest
except ImportError:             # plain `python bench_cython_gemm_conv.py` does not need pytest
    pytest = None

if pytest is not None:
    @pytest.fixture(scope="module", autouse=True)
    def _threads():
        fastnn.set_num_threads(THREADS)
        warm_allocator()
        yield

    @pytest.fixture(scope="module")
    def _info():
        return machine_info()

    @pytest.mark.parametrize("n", GEMM_SIZES)
    @pytest.mark.parametrize("impl", ["numpy:blas", *[f"cython:{r}" for r in CYTHON_RUNGS], "torch"])
    def test_gemm_ladder(benchmark, _info, impl, n):
        backend, _, variant = impl.partition(":")
        if variant == "naive" and n > NAIVE_MAX:
            pytest.skip(f"the naive rung takes seconds above {NAIVE_MAX}")
        run_benchmark(benchmark, gemm_workload(backend, n, variant=variant or None), f"gemm {n}^3", _info,
                      gflop=2 * n ** 3 / 1e9)

    @pytest.mark.parametrize("impl", ["numpy:blas", "cython:packed", "cython:parallel", "torch"])
    def test_gemm_skinny_conv_shape(benchmark, _info, impl):
        backend, _, variant = impl.partition(":")
        m, k, n = SKINNY
        run_benchmark(benchmark, gemm_workload(backend, m, k, n, variant or None), f"gemm {m}x{k} @ {k}x{n}",
                      _info, gflop=2 * m * k * n / 1e9)

    CONV_IMPLS = ["numpy", "cython:implicit", "cython:im2col", "cython:direct", "torch"]

    @pytest.mark.parametrize("shape", list(CONV_SHAPES))
    @pytest.mark.parametrize("impl", CONV_IMPLS)
    def test_conv2d_forward_backward(benchmark, _info, impl, shape):
        backend, _, variant = impl.partition(":")
        run_benchmark(benchmark, conv_workload(backend, shape, variant or None), f"conv2d fwd+bwd {shape}", _info,
                      x_shape=CONV_SHAPES[shape][0], w_shape=CONV_SHAPES[shape][1])

    @pytest.mark.parametrize("gemm_variant", ["parallel", "blas"])
    def test_conv_and_linear_in_a_row(benchmark, _info, gemm_variant):
        run_benchmark(benchmark, mixed_workload(gemm_variant),
                      "conv + linear GEMMs + conv (one or two thread pools)", _info)

    @pytest.mark.parametrize("shape", list(CONV_SHAPES))
    @pytest.mark.parametrize("impl", CONV_IMPLS)
    def test_conv2d_forward(benchmark, _info, impl, shape):
        backend, _, variant = impl.partition(":")
        run_benchmark(benchmark, conv_workload(backend, shape, variant or None, backward=False),
                      f"conv2d fwd {shape}", _info, x_shape=CONV_SHAPES[shape][0], w_shape=CONV_SHAPES[shape][1])


# =========================================================================== the goals

def wait_until_quiet(max_load: float, timeout: float = 900.0) -> float:
    """Wait (up to ``timeout`` s) until the 1-minute load average is below ``max_load``;
    returns the load average found. Timings on a machine shared with other jobs are noisy,
    and parallel code suffers more from a busy core than serial code."""
    start = time.time()
    while os.getloadavg()[0] > max_load and time.time() - start < timeout:
        time.sleep(5)
    return os.getloadavg()[0]


def measure_goals(rounds: int = 7, settle: float = 0.25) -> dict:
    """The issue's GEMM and convolution goals, as speed ratios measured side by side."""
    fastnn.set_num_threads(THREADS)
    warm_allocator()
    torch = import_torch()
    info = machine_info()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    results = {"info": info}
    timing = dict(rounds=rounds, settle=settle, torch_threads=THREADS)

    n = 1024
    compare(f"GEMM {n}^3 float32, {THREADS} threads",
            {"cython parallel": gemm_workload("cython", n, variant="parallel"),
             "numpy BLAS": gemm_workload("numpy", n, variant="blas"),
             "cython packed (1 thread)": gemm_workload("cython", n, variant="packed"),
             "torch": gemm_workload("torch", n)},
            {"gemm 1024 parallel vs BLAS (speed, goal >= 0.9)": ("numpy BLAS", "cython parallel")},
            results, flops=2 * n ** 3, **timing)

    m, k, n = SKINNY
    compare(f"GEMM {m}x{k} @ {k}x{n} (a conv layer's product as one matrix), {THREADS} threads",
            {"cython parallel": gemm_workload("cython", m, k, n, "parallel"),
             "numpy BLAS": gemm_workload("numpy", m, k, n, "blas"),
             "torch": gemm_workload("torch", m, k, n)},
            {"gemm skinny parallel vs BLAS (speed, goal >= 1.0)": ("numpy BLAS", "cython parallel")},
            results, flops=2 * m * k * n, **timing)

    compare(f"conv + linear-layer GEMMs + conv in a row (cython backend), {THREADS} threads",
            {"gemm parallel (default)": mixed_workload("parallel"), "gemm blas": mixed_workload("blas")},
            {"mixed sequence, parallel vs blas GEMMs (speed)": ("gemm blas", "gemm parallel (default)")},
            results, **timing)

    for shape in ("cifar", "lenet"):
        x_shape, w_shape, pad = CONV_SHAPES[shape]
        goal = shape == "cifar"
        compare(f"conv2d forward+backward, {shape} layer x{x_shape} w{w_shape} pad {pad}, {THREADS} threads",
                {"cython": conv_workload("cython", shape),
                 "cython, im2col fwd": conv_workload("cython", shape, "im2col"),
                 "cython, direct fwd": conv_workload("cython", shape, "direct"),
                 "numpy_ref": conv_workload("numpy", shape),
                 "torch": conv_workload("torch", shape) if torch else None},
                {f"conv {shape} cython vs numpy_ref (speed{', goal >= 3' if goal else ''})": ("numpy_ref", "cython"),
                 f"conv {shape} cython vs torch (speed{', goal >= 1.3' if goal else ''})": ("torch", "cython")},
                results, **timing)
    return results


def ladder_table(sizes=(256, 512, 1024), rounds: int = 5, settle: float = 0.1) -> dict:
    """GFLOP/s of every rung at each size (naive only up to NAIVE_MAX), interleaved per size.
    Rungs slower than 0.5 s per call (naive, reordered, tiled at the larger sizes) are timed
    one call per sample in ``max(2, rounds // 2)`` rounds."""
    fastnn.set_num_threads(THREADS)
    table = {}
    for n in sizes:
        contestants = {r: gemm_workload("cython", n, variant=r) for r in CYTHON_RUNGS
                       if r != "naive" or n <= NAIVE_MAX}
        contestants["blas"] = gemm_workload("numpy", n, variant="blas")
        timings = time_side_by_side(contestants, rounds, settle, slow_rounds=max(2, rounds // 2))
        table[n] = {r: 2 * n ** 3 / t["median_s"] / 1e9 for r, t in timings.items() if "median_s" in t}
    rungs = [*CYTHON_RUNGS, "blas"]
    print(f"\nGFLOP/s, float32, {THREADS} threads for parallel/blas (1 for the other rungs)")
    print("| rung | " + " | ".join(str(n) for n in sizes) + " |")
    print("|---|" + "---:|" * len(sizes))
    for r in rungs:
        cells = [f"{table[n][r]:.1f}" if r in table[n] else "-" for n in sizes]
        print(f"| {r} | " + " | ".join(cells) + " |")
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--goals", action="store_true", help="measure the issue's goals (default)")
    parser.add_argument("--ladder", action="store_true", help="print the GFLOP/s table of the GEMM ladder")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds per comparison")
    parser.add_argument("--settle", type=float, default=0.25,
                        help="wait at most this long (s) before each sample until the previous contestant's "
                             "worker threads stop spinning")
    parser.add_argument("--wait-quiet", type=float, default=None, metavar="LOAD",
                        help="first wait (up to 15 min) until the 1-minute load average is below LOAD")
    args = parser.parse_args(argv)
    if args.wait_quiet is not None:
        print(f"load average before measuring: {wait_until_quiet(args.wait_quiet):.2f}")
    if args.ladder:
        ladder_table(rounds=args.rounds, settle=min(args.settle, 0.1))
    if args.goals or not args.ladder:
        measure_goals(args.rounds, args.settle)


if __name__ == "__main__":
    main()
