"""Training-step throughput per backend and in PyTorch (pytest-benchmark).

One step = forward, cross-entropy, ``zero_grad``, backward, SGD (momentum 0.9) step, for the
reference models ``mlp``, ``lenet`` and ``cifar_cnn`` at batch 64 and 128 (quick mode:
``FASTNN_BENCH_QUICK=1``, batch 8), on every available backend and on the PyTorch twin of the
same architecture (``fastnn.bench.training.torch_twin``). The steps are the ones ``fastnn bench
--train`` times; here pytest-benchmark does the timing, and each result's ``extra_info`` holds
``samples_per_s`` (batch / median step time) next to the machine description.

    pytest benchmarks/bench_training.py --benchmark-only --benchmark-group-by=group

Nothing is asserted about speed. ``fastnn bench --train`` gives the same figures in interleaved
rounds (all contestants side by side), which is the fairer comparison on a noisy machine.
"""
from __future__ import annotations

import os

import pytest

from fastnn import backends
from fastnn.bench import training

QUICK = os.environ.get("FASTNN_BENCH_QUICK", "").strip() == "1"
BATCHES = training.BATCHES_QUICK if QUICK else training.BATCHES
IMPLS = ["numpy", "cython", "numba", "torch"]


@pytest.fixture(scope="module", autouse=True)
def _threads(bench_threads):
    import fastnn
    fastnn.set_num_threads(bench_threads)
    yield


def _step(impl: str, model: str, batch: int, threads: int):
    if impl == "torch":
        try:
            import torch
        except ImportError:
            pytest.skip("torch is not installed")
        torch.set_num_threads(threads)
        return training.torch_step(model, batch, torch)
    if impl not in backends.available():
        pytest.skip(f"backend {impl} is not available: {backends.unavailable_reasons().get(impl)}")
    return training.fastnn_step(model, batch, impl)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("model", training.MODELS)
@pytest.mark.parametrize("impl", IMPLS)
def test_training_step(benchmark, bench_threads, impl, model, batch):
    step = _step(impl, model, batch, bench_threads)
    step()                              # warm: compile (numba), allocate, wake the threads
    benchmark.group = f"train step {model} batch {batch}"
    benchmark.extra_info.update(model=model, batch=batch, backend=impl)
    benchmark(step)
    median = benchmark.stats.stats.median
    benchmark.extra_info["samples_per_s"] = batch / median if median else None
