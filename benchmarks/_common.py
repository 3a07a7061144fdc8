"""What the benchmark scripts of this folder share (not a suite: pytest collects ``bench_*.py`` only).

* settings from the environment: ``THREADS`` (``FASTNN_BENCH_THREADS``, default 2) and
  ``QUICK`` (``FASTNN_BENCH_QUICK=1``: the small parameter sets);
* test data and workloads used by more than one script: :func:`f32`, :func:`import_torch`,
  :func:`available_backend`, :func:`gemm_workload`, :func:`conv_workload`, and
  :func:`machine_summary` (the header of a goals report);
* :func:`run_benchmark`: one pytest-benchmark case (skip when not available, group, extra_info,
  one warm call);
* :func:`compare`: the ``--goals`` modes' side-by-side measurement. It times the contestants with
  :func:`fastnn.bench.timing.interleaved` (the timer of ``fastnn bench``: warm-up, interleaved
  rounds in rotated order, waiting before each sample until the OpenMP/BLAS/torch worker threads
  of the previous contestant stop spinning, enough calls per sample to last ``min_time``,
  medians with the spread), prints a table and the goal ratios, and records the ratios.
"""
from __future__ import annotations

import os
import platform
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:            # the scripts import fastnn from this checkout
    sys.path.insert(0, ROOT)

import fastnn  # noqa: E402
from fastnn import backends  # noqa: E402
from fastnn.bench.machine import cpu_model  # noqa: E402
from fastnn.bench.timing import interleaved, quiesce  # noqa: E402

THREADS = int(os.environ.get("FASTNN_BENCH_THREADS", "2"))
QUICK = os.environ.get("FASTNN_BENCH_QUICK", "").strip() == "1"


# =========================================================================== data and workloads

def f32(rng, shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def import_torch(threads: int | None = THREADS):
    """The torch module or None; sets its thread count unless ``threads`` is None."""
    try:
        import torch
    except ImportError:
        return None
    if threads is not None:
        torch.set_num_threads(threads)
    return torch


def available_backend(impl: str):
    """The backend named ``impl``, or None when it is not available here."""
    return backends.get(impl) if impl in backends.available() else None


def gemm_workload(impl: str, m: int, k: int | None = None, n: int | None = None, variant: str | None = None):
    """``c = a @ b`` with a (m, k), b (k, n) into a preallocated c; square when k, n are None.
    A zero-argument callable, or None when ``impl`` (a backend name or "torch") is not available."""
    k = m if k is None else k
    n = m if n is None else n
    rng = np.random.default_rng(0)
    a, b = f32(rng, (m, k)), f32(rng, (k, n))
    out = np.empty((m, n), np.float32)
    if impl == "torch":
        torch = import_torch()
        if torch is None:
            return None
        ta, tb, tout = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(out)
        return lambda: torch.matmul(ta, tb, out=tout)
    backend = available_backend(impl)
    if backend is None:
        return None
    return lambda: backend.gemm(a, b, out=out, variant=variant)


def conv_workload(impl: str, x_shape, w_shape, pad: int, variant: str | None = None, backward: bool = True,
                  backward_fn=None):
    """conv2d forward (+ backward with grad_x, grad_w, grad_b), stride 1: a zero-argument callable,
    or None when ``impl`` (a backend name or "torch") is not available. ``backward_fn(backend, g,
    x, w, pad)``, when given, replaces the backend's ``conv2d_backward``."""
    rng = np.random.default_rng(0)
    x, w, bias = f32(rng, x_shape), f32(rng, w_shape, 0.1), f32(rng, w_shape[:1])
    out_shape = (x_shape[0], w_shape[0], x_shape[2] + 2 * pad - w_shape[2] + 1, x_shape[3] + 2 * pad - w_shape[3] + 1)
    g = f32(rng, out_shape)
    if impl == "torch":
        torch = import_torch()
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
    backend = available_backend(impl)
    if backend is None:
        return None

    def run():
        backend.conv2d_forward(x, w, bias, padding=pad, variant=variant)
        if backward:
            if backward_fn is None:
                backend.conv2d_backward(g, x, w, padding=pad)
            else:
                backward_fn(backend, g, x, w, pad)
    return run


def machine_summary(threads: int = THREADS) -> dict:
    """What a benchmark number depends on: CPU, cores, threads, versions, quick mode, load."""
    info = {"cpu": cpu_model(), "cores": os.cpu_count(), "threads": threads, "python": platform.python_version(),
            "numpy": np.__version__, "fastnn": fastnn.__version__, "quick": QUICK}
    try:
        import Cython
        info["cython"] = Cython.__version__
    except ImportError:
        pass
    torch = import_torch(threads)
    info["torch"] = torch.__version__ if torch else None
    if hasattr(os, "getloadavg"):
        info["loadavg_1min"] = round(os.getloadavg()[0], 2)
    return info


# =========================================================================== pytest-benchmark

def run_benchmark(benchmark, fn, group: str, info: dict | None = None, settle: float = 0.0, **extra):
    """One pytest-benchmark case: skip when ``fn`` is None, record ``info`` and ``extra`` in
    ``extra_info``, wait (at most ``settle`` s) until the previous case's worker threads stop
    spinning, make one warm call (threads awake, buffers allocated), then let the plugin time."""
    if fn is None:
        import pytest
        pytest.skip("not available here (torch not installed or backend not built)")
    benchmark.group = group
    benchmark.extra_info.update(info or {}, **extra)
    if settle:
        quiesce(settle)
    fn()
    benchmark(fn)


# =========================================================================== the goals

def time_side_by_side(contestants: dict, rounds: int, settle: float, min_time: float = 0.02,
                      torch_threads: int | None = None, slow_rounds: int = 3) -> dict:
    """:func:`fastnn.bench.timing.interleaved` on the contestants that are not None.

    ``torch_threads``: before each sample of a contestant whose name starts with "torch",
    re-apply PyTorch's thread count (Numba's OpenMP layer resets the OpenMP default, which torch
    reads, when its pool starts). Returns name -> timing dict (or ``{"error": ...}``)."""
    live = {name: fn for name, fn in contestants.items() if fn is not None}
    prepare = {}
    torch = sys.modules.get("torch")
    if torch_threads is not None and torch is not None:
        def torch_prepare():
            if torch.get_num_threads() != torch_threads:
                torch.set_num_threads(torch_threads)
        prepare = {name: torch_prepare for name in live if name.startswith("torch")}
    return interleaved(live, rounds=rounds, min_time=min_time, settle=settle, slow_rounds=slow_rounds,
                       prepare=prepare)


def compare(title: str, contestants: dict, goals: dict, results: dict, *, rounds: int, settle: float,
            flops: float | None = None, min_time: float = 0.02, torch_threads: int | None = None) -> dict:
    """Time ``contestants`` (name -> zero-argument callable, or None when not available here)
    side by side, print ``title``, a row per contestant and the goal ratios; return name ->
    median seconds per call (contestants that are None or raised are left out).

    ``goals``: label -> (reference, contestant); the ratio is ``median[reference] /
    median[contestant]``, the contestant's speed relative to the reference (> 1: faster). Each
    is printed as ``  -> label: 1.23x`` and stored as ``results[label]`` (3 decimals).
    ``flops``: per call, adds a GFLOP/s column."""
    timings = time_side_by_side(contestants, rounds, settle, min_time, torch_threads)
    print(f"\n{title}")
    width = max((len(name) for name in timings), default=0)
    times = {}
    for name, t in timings.items():
        if "error" in t:
            print(f"  {name:<{width}s} error: {t['error']}")
            continue
        times[name] = med = t["median_s"]
        rate = f"  {flops / med / 1e9:7.1f} GFLOP/s" if flops else ""
        print(f"  {name:<{width}s} {med * 1e3:10.3f} ms{rate}   "
              f"(min {t['min_s'] * 1e3:.3f}, max {t['max_s'] * 1e3:.3f}; {t['rounds']} x {t['inner']} calls)")
    for label, (reference, contestant) in goals.items():
        if reference in times and contestant in times:
            ratio = times[reference] / times[contestant]
            results[label] = round(ratio, 3)
            print(f"  -> {label}: {ratio:.2f}x")
    return times
