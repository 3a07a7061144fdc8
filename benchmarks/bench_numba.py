"""Benchmarks of the Numba backend: numpy_ref vs numba (vs PyTorch when installed).

Two ways to run it:

* ``pytest benchmarks/bench_numba.py --benchmark-only`` -- pytest-benchmark tables: the GEMM
  ladder at 64..1024, conv2d forward+backward on the LeNet and CIFAR layer shapes, max pool
  and relu forward+backward, and cold (first call: compile included) against cached first
  calls. Nothing is asserted about speed. ``--benchmark-group-by=group`` keeps each table to
  one kernel; ``FASTNN_BENCH_THREADS`` (default 2) sets the threads of every runtime;
  ``FASTNN_BENCH_QUICK=1`` runs the small sizes only (``benchmarks/conftest.py``).
* ``python benchmarks/bench_numba.py`` -- measures the goals of the Numba issue as ratios, all
  contestants side by side in one process with ``fastnn.bench.timing.interleaved`` (via
  ``_common.compare``): warm-up, interleaved rounds (a different order each round), before each
  sample a wait (at most ``--settle`` s) until the previous runtime's OpenBLAS/OpenMP worker
  threads stop spinning (they would slow the next contestant down), medians with the spread.
  Then the compile times (``warmup()`` cold and cached, in fresh processes) and the time a warm
  process takes to reach its first training step.

Needs numpy, numba, fastnn and ``_common.py`` (next to this file); torch and pytest-benchmark
are optional.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np

# _common (next to this file) puts this checkout's fastnn on sys.path: import it first
from _common import QUICK, ROOT, THREADS, compare, f32, gemm_workload, import_torch, run_benchmark
from _common import conv_workload as _conv_workload

import fastnn  # noqa: E402
from fastnn import backends  # noqa: E402

GEMM_SIZES = (64, 256) if QUICK else (64, 128, 256, 512, 1024)
GEMM_RUNGS = ("naive", "reordered", "tiled", "packed", "parallel", "blas")
#: name -> (x shape, weight shape, padding)
CONV_SHAPES = {
    "lenet": ((64, 1, 28, 28), (10, 1, 5, 5), 0),
    "cifar": ((64, 32, 32, 32), (32, 32, 3, 3), 1),
}
POOL_SHAPE = (64, 32, 32, 32)


# =========================================================================== workloads
# Each returns a zero-argument callable doing the whole job once, or None when the
# implementation is not available here. gemm_workload(impl, m, k=None, n=None, variant=None)
# comes from _common.py.

def conv_workload(impl: str, shape: str, variant: str | None = None, backward: bool = True):
    """conv2d forward (+ backward with grad_x, grad_w, grad_b) on one of :data:`CONV_SHAPES`;
    a Numba ``variant`` other than the default rung runs that rung's backward too."""
    x_shape, w_shape, pad = CONV_SHAPES[shape]

    def rung_backward(backend, g, x, w, pad):
        if variant is None or variant == backend.conv_variants[0]:
            backend.conv2d_backward(g, x, w, padding=pad)
        else:                                       # the other Numba rung's backward
            from fastnn.backends.numba_kernels import conv
            conv.conv2d_backward_face(g, x, w, (1, 1), (pad, pad), (1, 1), g.shape[2:], True, True, variant)
    return _conv_workload(impl, x_shape, w_shape, pad, variant, backward,
                          backward_fn=rung_backward if impl == "numba" else None)


def maxpool_workload(impl: str):
    """2x2 max pool forward (with argmax) + backward on a (64, 32, 32, 32) activation."""
    rng = np.random.default_rng(0)
    x = f32(rng, POOL_SHAPE)
    g = f32(rng, (*POOL_SHAPE[:2], POOL_SHAPE[2] // 2, POOL_SHAPE[3] // 2))
    if impl == "torch":
        torch = import_torch()
        if torch is None:
            return None
        tx, tg = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(g)

        def run_torch():
            tx.grad = None
            torch.nn.functional.max_pool2d(tx, 2).backward(tg)
        return run_torch
    backend = backends.get(impl)

    def run():
        out, argmax = backend.maxpool2d_forward(x, 2)
        backend.maxpool2d_backward(g, argmax, x.shape)
    return run


def relu_workload(impl: str):
    """relu forward + backward (from the saved output) on a (64, 32, 32, 32) activation."""
    rng = np.random.default_rng(0)
    x, g = f32(rng, POOL_SHAPE), f32(rng, POOL_SHAPE)
    if impl == "torch":
        torch = import_torch()
        if torch is None:
            return None
        tx, tg = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(g)

        def run_torch():
            tx.grad = None
            torch.relu(tx).backward(tg)
        return run_torch
    backend = backends.get(impl)

    def run():
        y = backend.relu_forward(x)
        backend.relu_backward(g, y)
    return run


# =========================================================================== pytest-benchmark

try:
    import pytest
except ImportError:             # plain `python bench_numba.py` does not need pytest
    pytest = None

if pytest is not None:
    @pytest.fixture(scope="module", autouse=True)
    def _threads():
        fastnn.set_num_threads(THREADS)
        backends.get("numba").warmup(progress=False)        # compile (or load) before timing
        yield

    def _run(benchmark, fn, group, **info):
        # settle: let the previous test's runtime (OpenBLAS, OpenMP) stop spinning
        run_benchmark(benchmark, fn, group, {"threads": THREADS}, settle=0.3, **info)

    @pytest.mark.parametrize("n", GEMM_SIZES)
    @pytest.mark.parametrize("impl", ["numpy:blas", *[f"numba:{r}" for r in GEMM_RUNGS], "torch"])
    def test_gemm(benchmark, impl, n):
        backend, _, variant = impl.partition(":")
        if variant == "naive" and n > (128 if QUICK else 512):
            pytest.skip("the naive rung takes seconds at this size")
        fn = gemm_workload(backend, n, variant=variant or None)
        _run(benchmark, fn, f"gemm {n}^3", gflop=2 * n ** 3 / 1e9)

    @pytest.mark.parametrize("shape", list(CONV_SHAPES))
    @pytest.mark.parametrize("impl", ["numpy", "numba:im2col", "numba:direct", "torch"])
    def test_conv2d_forward_backward(benchmark, impl, shape):
        backend, _, variant = impl.partition(":")
        _run(benchmark, conv_workload(backend, shape, variant or None), f"conv2d fwd+bwd {shape}")

    @pytest.mark.parametrize("impl", ["numpy", "numba", "torch"])
    def test_maxpool_forward_backward(benchmark, impl):
        _run(benchmark, maxpool_workload(impl), "maxpool2d 2x2 fwd+bwd")

    @pytest.mark.parametrize("impl", ["numpy", "numba", "torch"])
    def test_relu_forward_backward(benchmark, impl):
        _run(benchmark, relu_workload(impl), "relu fwd+bwd")

    @pytest.mark.parametrize("kernel", ["relu"] if QUICK else ["gemm", "conv2d", "maxpool2d", "relu"])
    def test_cold_vs_cached_first_call(benchmark, kernel, tmp_path):
        """First call in a fresh process with an empty cache (compile included), then in a fresh
        process whose cache is filled, and a warm (second) call: subprocess wall times."""
        benchmark.group = "numba first call: cold (compile) vs cached vs warm"
        timings = {}

        def measure():
            timings.update(first_call_times(kernel, str(tmp_path / "cache")))
        benchmark.pedantic(measure, rounds=1, iterations=1)
        benchmark.extra_info.update({k: round(v, 4) for k, v in timings.items()})


# =========================================================================== cold / cached calls

_FIRST_CALL_SCRIPT = """
import sys, time
t0 = time.perf_counter()
import numpy as np
from fastnn import backends
nb = backends.get("numba")
t_import = time.perf_counter() - t0
kernel = sys.argv[1]
rng = np.random.default_rng(0)
x = rng.standard_normal((8, 3, 16, 16)).astype(np.float32)
w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
a = rng.standard_normal((64, 64)).astype(np.float32)
def call():
    if kernel == "gemm":
        nb.gemm(a, a)
    elif kernel == "conv2d":
        out = nb.conv2d_forward(x, w, None, padding=1)
        nb.conv2d_backward(out, x, w, padding=1)
    elif kernel == "maxpool2d":
        out, am = nb.maxpool2d_forward(x, 2)
        nb.maxpool2d_backward(out, am, x.shape)
    else:
        nb.relu_backward(x, nb.relu_forward(x))
t = time.perf_counter(); call(); first = time.perf_counter() - t
t = time.perf_counter(); call(); second = time.perf_counter() - t
print(t_import, first, second)
"""


def _subprocess_env(cache_dir: str | None = None) -> dict:
    """The environment of a fresh Python process that imports this checkout's fastnn (and keeps
    Numba's on-disk cache in ``cache_dir`` when given)."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if cache_dir:
        env["NUMBA_CACHE_DIR"] = cache_dir
    return env


def first_call_times(kernel: str, cache_dir: str) -> dict:
    """Seconds for: importing the backend, the first call with an empty on-disk cache (compile),
    the first call in a new process once the cache is filled, and a warm second call."""
    env = _subprocess_env(cache_dir)
    runs = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", _FIRST_CALL_SCRIPT, kernel], capture_output=True, text=True,
                             env=env, check=True)
        runs.append([float(v) for v in out.stdout.split()])
    return {"import_s": runs[1][0], "cold_first_call_s": runs[0][1], "cached_first_call_s": runs[1][1],
            "warm_call_s": runs[1][2]}


# =========================================================================== the goals

_FIRST_STEP_SCRIPT = """
import time
t0 = time.perf_counter()
import numpy as np
import fastnn
import fastnn.nn.functional as F
from fastnn import optim
fastnn.set_backend("numba")
rng = np.random.default_rng(0)
x = fastnn.tensor(rng.standard_normal((64, 1, 28, 28)).astype(np.float32))
y = fastnn.tensor(rng.integers(0, 10, 64))
cw = fastnn.tensor(rng.standard_normal((10, 1, 5, 5)).astype(np.float32) * 0.2, requires_grad=True)
cb = fastnn.tensor(np.zeros(10, np.float32), requires_grad=True)
lw = fastnn.tensor(rng.standard_normal((10, 1440)).astype(np.float32) * 0.03, requires_grad=True)
lb = fastnn.tensor(np.zeros(10, np.float32), requires_grad=True)
opt = optim.SGD([cw, cb, lw, lb], lr=0.1)
h = F.max_pool2d(F.relu(F.conv2d(x, cw, cb)), 2)
loss = F.cross_entropy(F.linear(h.reshape(64, -1), lw, lb), y)
opt.zero_grad()
loss.backward()
opt.step()
print(time.perf_counter() - t0)
"""


def time_to_first_step(runs: int = 3, cache_dir: str | None = None) -> dict:
    """A new process that imports fastnn and makes one training step of a small CNN
    (conv + relu + max pool + linear + cross-entropy, backward, SGD) on the numba backend.
    One run first fills the cache; then ``runs`` runs are timed (process wall time, and the
    time inside the process from before ``import numpy`` to after the step)."""
    env = _subprocess_env(cache_dir)
    subprocess.run([sys.executable, "-c", _FIRST_STEP_SCRIPT], env=env, check=True, capture_output=True)
    wall, inside = [], []
    for _ in range(runs):
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", _FIRST_STEP_SCRIPT], env=env, check=True, capture_output=True,
                             text=True)
        wall.append(time.perf_counter() - t)
        inside.append(float(out.stdout.split()[-1]))
    return {"process_wall_s": statistics.median(wall), "in_process_s": statistics.median(inside)}


def compile_times(cache_dir: str) -> dict:
    """``warmup()`` in a fresh process with an empty cache (everything compiles) and again in a
    new process with the cache filled (everything loads), plus cold per-task times."""
    script = textwrap.dedent("""
        import json, time
        from fastnn import backends
        from fastnn.backends.numba_kernels import _warmup_tasks
        nb = backends.get("numba")
        per_task = {}
        for label, call in _warmup_tasks(nb):
            t = time.perf_counter(); call(); per_task[label] = time.perf_counter() - t
        print(json.dumps({"total": sum(per_task.values()), "per_task": per_task}))
    """)
    import json
    env = _subprocess_env(cache_dir)
    cold = json.loads(subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True,
                                     text=True).stdout)
    cached = json.loads(subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True,
                                       text=True).stdout)
    return {"cold_s": cold["total"], "cached_s": cached["total"], "cold_per_task_s": cold["per_task"]}


def single_thread(results: dict, rounds: int = 5, settle: float = 0.25) -> dict:
    """Numba against NumPy/OpenBLAS with every runtime on one thread, interleaved like the goals:
    steadier than the 2-thread ratios on a machine busy with other work (one free core
    suffices). Prints the table, records the ratios in ``results``, returns name -> median s.
    PyTorch is left out on purpose: even on one
    thread it hands every backward to its autograd thread, and on a busy machine each hand-off
    waits for the scheduler (we measured 4 ms steps), which is not what a kernel comparison
    should show. (CPU-time clocks do not help either: that thread is invisible to
    ``thread_time``, and PyTorch's idle pool threads spin, inflating ``process_time``.)"""
    fastnn.set_num_threads(1)
    try:
        return compare(
            "Numba and NumPy/OpenBLAS on ONE thread (steadier on a busy machine), median wall time per call:",
            {"conv numba": conv_workload("numba", "cifar"),
             "conv numpy_ref": conv_workload("numpy", "cifar"),
             "lenet conv numba": conv_workload("numba", "lenet"),
             "lenet conv numpy_ref": conv_workload("numpy", "lenet"),
             "maxpool numba": maxpool_workload("numba"), "maxpool numpy_ref": maxpool_workload("numpy"),
             "relu numba": relu_workload("numba"), "relu numpy_ref": relu_workload("numpy"),
             "gemm1024 numba packed": gemm_workload("numba", 1024, variant="packed"),
             "gemm1024 BLAS": gemm_workload("numpy", 1024, variant="blas")},
            {"conv vs numpy_ref, 1 thread": ("conv numpy_ref", "conv numba"),
             "lenet conv vs numpy_ref, 1 thread": ("lenet conv numpy_ref", "lenet conv numba"),
             "maxpool vs numpy_ref, 1 thread": ("maxpool numpy_ref", "maxpool numba"),
             "relu vs numpy_ref, 1 thread": ("relu numpy_ref", "relu numba"),
             "gemm packed / BLAS, 1 thread": ("gemm1024 BLAS", "gemm1024 numba packed")},
            results, rounds=rounds, settle=settle)
    finally:
        fastnn.set_num_threads(THREADS)


def measure_goals(rounds: int = 7, settle: float = 0.25, quick: bool = False) -> dict:
    """Everything the issue's goals ask for, measured in this process (side by side) and in
    subprocesses (compile and start-up times). Returns a dict and prints a report."""
    fastnn.set_num_threads(THREADS)
    torch = import_torch()
    nb = backends.get("numba")
    nb.warmup(progress=False)
    import numba
    results = {"threads": THREADS, "numba_threading_layer": nb.threading_layer,
               "numba": numba.__version__, "numpy": np.__version__,
               "torch": torch.__version__ if torch else None}
    timing = dict(settle=settle, torch_threads=THREADS)

    n = 1024
    times = compare(f"GEMM {n}^3 float32 ({THREADS} threads)",
                    {"numba parallel": gemm_workload("numba", n, variant="parallel"),
                     "numba packed (1 core)": gemm_workload("numba", n, variant="packed"),
                     "numpy BLAS": gemm_workload("numpy", n, variant="blas")},
                    {"gemm parallel / BLAS (speed ratio, goal >= 0.6)": ("numpy BLAS", "numba parallel")},
                    results, flops=2 * n ** 3, rounds=rounds, **timing)
    results["gemm_1024_gflops"] = {k: 2 * n ** 3 / v / 1e9 for k, v in times.items()}

    compare("conv2d forward+backward, CIFAR layer (N=64, C=32, 32x32, 32 filters 3x3, pad 1)",
            {"numba": conv_workload("numba", "cifar"),
             "numpy_ref": conv_workload("numpy", "cifar"),
             "torch": conv_workload("torch", "cifar") if torch else None},
            {"conv speed-up over numpy_ref (goal >= 2)": ("numpy_ref", "numba"),
             "conv speed vs torch (goal >= 1.0)": ("torch", "numba")},
            results, rounds=max(3, rounds // 2) if quick else rounds, **timing)

    compare("max pool 2x2 and relu, forward+backward on (64, 32, 32, 32)",
            {"numba maxpool": maxpool_workload("numba"), "torch maxpool": maxpool_workload("torch"),
             "numba relu": relu_workload("numba"), "torch relu": relu_workload("torch")},
            {"maxpool speed vs torch (goal > 1)": ("torch maxpool", "numba maxpool"),
             "relu speed vs torch (goal > 1)": ("torch relu", "numba relu")},
            results, rounds=rounds, **timing)

    one = single_thread(results, 3 if quick else 5, settle)
    results["one_thread_ms"] = {k: v * 1e3 for k, v in one.items()}

    first = time_to_first_step()
    results["first_step"] = first
    print(f"\nwarm process (cache on disk) to its first training step: {first['process_wall_s']:.2f} s "
          f"process wall, {first['in_process_s']:.2f} s from `import numpy` to after the step (goal < 2 s)")

    if not quick:
        with tempfile.TemporaryDirectory() as tmp:
            comp = compile_times(tmp)
        results["compile"] = comp
        print(f"\nwarmup(): {comp['cold_s']:.1f} s cold (empty cache: compiles every kernel), "
              f"{comp['cached_s']:.2f} s cached")
        print("  cold, per task: " + ", ".join(f"{k} {v:.1f}s" for k, v in comp["cold_per_task_s"].items()))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds per comparison")
    parser.add_argument("--settle", type=float, default=0.25,
                        help="wait at most this long (s) before each sample until the previous contestant's "
                             "worker threads stop spinning")
    parser.add_argument("--quick", action="store_true", help="fewer rounds, skip the cold-compile measurement")
    args = parser.parse_args(argv)
    measure_goals(args.rounds, args.settle, args.quick)


if __name__ == "__main__":
    main()
