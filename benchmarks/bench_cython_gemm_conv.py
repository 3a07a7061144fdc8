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
  the Cython issue as ratios, all contestants side by side in one process: interleaved rounds
  (a different order each round), one untimed call before each timed batch, a pause before
  switching contestant (OpenBLAS and OpenMP worker threads keep spinning for a while after a
  call and would slow the next one down), medians. ``--ladder`` prints the GFLOP/s table of
  the GEMM ladder at 256/512/1024 that docs/ladder.md shows.

Self-contained: needs numpy and fastnn with the compiled Cython kernels; torch and
pytest-benchmark are optional.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import fastnn  # noqa: E402
from fastnn import backends  # noqa: E402

THREADS = int(os.environ.get("FASTNN_BENCH_THREADS", "2"))
QUICK = os.environ.get("FASTNN_BENCH_QUICK", "").strip() == "1"
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


def _torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(THREADS)
    return torch


def _rng():
    return np.random.default_rng(0)


def _f32(rng, shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


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
    info = {"threads": THREADS, "cpu": _cpu_name(), "cores": os.cpu_count(),
            "python": platform.python_version(), "numpy": np.__version__, "fastnn": fastnn.__version__,
            "quick": QUICK}
    try:
        info["loadavg_1min"] = round(os.getloadavg()[0], 2)
    except OSError:
        pass
    torch = _torch()
    info["torch"] = torch.__version__ if torch else None
    try:
        import Cython
        info["cython"] = Cython.__version__
    except ImportError:
        pass
    if "cython" in backends.available():
        cy = backends.get("cython")
        info["cython_micro_kernel"] = cy.gemm_micro_kernel
        info["cython_openmp"] = cy.openmp
    info["blas_threads"] = backends.threads.blas_num_threads()
    return info


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# =========================================================================== workloads
# Each returns a zero-argument callable doing the whole job once, or None when the
# implementation is not available here.

def gemm_workload(impl: str, m: int, k: int | None = None, n: int | None = None, variant: str | None = None):
    """``c = a @ b`` with a (m, k), b (k, n) into a preallocated c; square when k, n are None."""
    k = m if k is None else k
    n = m if n is None else n
    rng = _rng()
    a, b = _f32(rng, (m, k)), _f32(rng, (k, n))
    out = np.empty((m, n), np.float32)
    if impl == "torch":
        torch = _torch()
        if torch is None:
            return None
        ta, tb, tout = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(out)
        return lambda: torch.matmul(ta, tb, out=tout)
    if impl not in backends.available():
        return None
    backend = backends.get(impl)
    return lambda: backend.gemm(a, b, out=out, variant=variant)


def conv_workload(impl: str, shape: str, variant: str | None = None, backward: bool = True):
    """conv2d forward (+ backward with grad_x, grad_w, grad_b) on one of :data:`CONV_SHAPES`."""
    x_shape, w_shape, pad = CONV_SHAPES[shape]
    rng = _rng()
    x, w, bias = _f32(rng, x_shape), _f32(rng, w_shape, 0.1), _f32(rng, w_shape[:1])
    out_shape = (x_shape[0], w_shape[0], x_shape[2] + 2 * pad - w_shape[2] + 1, x_shape[3] + 2 * pad - w_shape[3] + 1)
    g = _f32(rng, out_shape)
    if impl == "torch":
        torch = _torch()
        if torch is None:
            return None
        tx, tw, tb = (torch.from_numpy(v).requires_grad_(backward) for v in (x, w, bias))
        tg = torch.from_numpy(g)

        def run_torch():
            if not backward:
                with torch.no_grad():
                    return torch.nn.functional.conv2d(tx, tw, tb, padding=pad)
            tx.grad = tw.grad = tb.grad = None
            torch.nn.functional.conv2d(tx, tw, tb, padding=pad).backward(tg)
        return run_torch
    if impl not in backends.available():
        return None
    backend = backends.get(impl)

    def run():
        backend.conv2d_forward(x, w, bias, padding=pad, variant=variant)
        if backward:
            backend.conv2d_backward(g, x, w, padding=pad)
    return run


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
    rng = _rng()
    a, w = _f32(rng, (64, 2048)), _f32(rng, (256, 2048), 0.05)
    x, cw = _f32(rng, (64, 32, 16, 16)), _f32(rng, (32, 32, 3, 3), 0.1)

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

    def _run(benchmark, fn, group, info, **extra):
        if fn is None:
            pytest.skip("not available here (torch not installed or cython not built)")
        benchmark.group = group
        benchmark.extra_info.update(info, **extra)
        fn()                                                # warm: threads awake, buffers allocated
        benchmark(fn)

    @pytest.mark.parametrize("n", GEMM_SIZES)
    @pytest.mark.parametrize("impl", ["numpy:blas", *[f"cython:{r}" for r in CYTHON_RUNGS], "torch"])
    def test_gemm_ladder(benchmark, _info, impl, n):
        backend, _, variant = impl.partition(":")
        if variant == "naive" and n > NAIVE_MAX:
            pytest.skip(f"the naive rung takes seconds above {NAIVE_MAX}")
        _run(benchmark, gemm_workload(backend, n, variant=variant or None), f"gemm {n}^3", _info,
             gflop=2 * n ** 3 / 1e9)

    @pytest.mark.parametrize("impl", ["numpy:blas", "cython:packed", "cython:parallel", "torch"])
    def test_gemm_skinny_conv_shape(benchmark, _info, impl):
        backend, _, variant = impl.partition(":")
        m, k, n = SKINNY
        _run(benchmark, gemm_workload(backend, m, k, n, variant or None), f"gemm {m}x{k} @ {k}x{n}", _info,
             gflop=2 * m * k * n / 1e9)

    CONV_IMPLS = ["numpy", "cython:implicit", "cython:im2col", "cython:direct", "torch"]

    @pytest.mark.parametrize("shape", list(CONV_SHAPES))
    @pytest.mark.parametrize("impl", CONV_IMPLS)
    def test_conv2d_forward_backward(benchmark, _info, impl, shape):
        backend, _, variant = impl.partition(":")
        _run(benchmark, conv_workload(backend, shape, variant or None), f"conv2d fwd+bwd {shape}", _info,
             x_shape=CONV_SHAPES[shape][0], w_shape=CONV_SHAPES[shape][1])

    @pytest.mark.parametrize("gemm_variant", ["parallel", "blas"])
    def test_conv_and_linear_in_a_row(benchmark, _info, gemm_variant):
        _run(benchmark, mixed_workload(gemm_variant), "conv + linear GEMMs + conv (one or two thread pools)",
             _info)

    @pytest.mark.parametrize("shape", list(CONV_SHAPES))
    @pytest.mark.parametrize("impl", CONV_IMPLS)
    def test_conv2d_forward(benchmark, _info, impl, shape):
        backend, _, variant = impl.partition(":")
        _run(benchmark, conv_workload(backend, shape, variant or None, backward=False), f"conv2d fwd {shape}",
             _info, x_shape=CONV_SHAPES[shape][0], w_shape=CONV_SHAPES[shape][1])


# =========================================================================== the goals

def interleaved(contestants: dict, rounds: int = 7, inner: int = 3, settle: float = 0.25) -> dict:
    """Median seconds per call of each contestant, measured in interleaved rounds.

    Each round visits every contestant (rotating the order), pauses ``settle`` seconds, makes
    one untimed call, then times ``inner`` calls; the result is the median over all rounds of
    each round's median."""
    names = [n for n, f in contestants.items() if f is not None]
    per_round = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            fn = contestants[name]
            time.sleep(settle)
            fn()
            ts = []
            for _ in range(inner):
                t = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t)
            per_round[name].append(statistics.median(ts))
    return {n: statistics.median(v) for n, v in per_round.items()}


def _report(results, title, times, pairs, flops=None):
    print(f"\n{title}")
    for name, t in times.items():
        rate = f"   {flops / t / 1e9:7.1f} GFLOP/s" if flops else ""
        print(f"  {name:<24s} {t * 1e3:10.2f} ms{rate}")
    for label, (num, den) in pairs.items():
        if num in times and den in times:
            ratio = times[num] / times[den]
            results[label] = round(ratio, 3)
            print(f"  -> {label}: {ratio:.2f}x")


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
    torch = _torch()
    info = machine_info()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    results = {"info": info}

    n = 1024
    times = interleaved({"cython parallel": gemm_workload("cython", n, variant="parallel"),
                         "numpy BLAS": gemm_workload("numpy", n, variant="blas"),
                         "cython packed (1 thread)": gemm_workload("cython", n, variant="packed"),
                         "torch": gemm_workload("torch", n)}, rounds, settle=settle)
    _report(results, f"GEMM {n}^3 float32, {THREADS} threads", times,
            {"gemm 1024 parallel vs BLAS (speed, goal >= 0.9)": ("numpy BLAS", "cython parallel")},
            flops=2 * n ** 3)

    m, k, n = SKINNY
    times = interleaved({"cython parallel": gemm_workload("cython", m, k, n, "parallel"),
                         "numpy BLAS": gemm_workload("numpy", m, k, n, "blas"),
                         "torch": gemm_workload("torch", m, k, n)}, rounds, settle=settle)
    _report(results, f"GEMM {m}x{k} @ {k}x{n} (a conv layer's product as one matrix), {THREADS} threads", times,
            {"gemm skinny parallel vs BLAS (speed, goal >= 1.0)": ("numpy BLAS", "cython parallel")},
            flops=2 * m * k * n)

    times = interleaved({"gemm parallel (default)": mixed_workload("parallel"),
                         "gemm blas": mixed_workload("blas")}, rounds, inner=5, settle=settle)
    _report(results, f"conv + linear-layer GEMMs + conv in a row (cython backend), {THREADS} threads", times,
            {"mixed sequence, parallel vs blas GEMMs (speed)": ("gemm blas", "gemm parallel (default)")})

    for shape in ("cifar", "lenet"):
        times = interleaved({"cython": conv_workload("cython", shape),
                             "cython, im2col fwd": conv_workload("cython", shape, "im2col"),
                             "cython, direct fwd": conv_workload("cython", shape, "direct"),
                             "numpy_ref": conv_workload("numpy", shape),
                             "torch": conv_workload("torch", shape) if torch else None},
                            rounds, settle=settle)
        x_shape, w_shape, pad = CONV_SHAPES[shape]
        goal = shape == "cifar"
        _report(results, f"conv2d forward+backward, {shape} layer x{x_shape} w{w_shape} pad {pad}, "
                         f"{THREADS} threads", times,
                {f"conv {shape} cython vs numpy_ref (speed{', goal >= 3' if goal else ''})": ("numpy_ref", "cython"),
                 f"conv {shape} cython vs torch (speed{', goal >= 1.3' if goal else ''})": ("torch", "cython")})
    return results


def ladder_table(sizes=(256, 512, 1024), rounds: int = 5, settle: float = 0.1) -> dict:
    """GFLOP/s of every rung at each size (naive only up to NAIVE_MAX), interleaved per size."""
    fastnn.set_num_threads(THREADS)
    table = {}
    for n in sizes:
        contestants = {r: gemm_workload("cython", n, variant=r) for r in CYTHON_RUNGS
                       if r != "naive" or n <= NAIVE_MAX}
        contestants["blas"] = gemm_workload("numpy", n, variant="blas")
        slow = {"naive", "reordered", "tiled"}
        times = interleaved({k: v for k, v in contestants.items() if k not in slow}, rounds, settle=settle)
        times.update(interleaved({k: v for k, v in contestants.items() if k in slow}, max(2, rounds // 2),
                                 inner=1, settle=settle))
        table[n] = {r: 2 * n ** 3 / times[r] / 1e9 for r in contestants}
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
    parser.add_argument("--settle", type=float, default=0.25, help="pause (s) before each contestant's batch")
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
