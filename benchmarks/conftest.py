"""Shared fixtures of the pytest-benchmark suites (``pytest benchmarks/ --benchmark-only``).

* ``benchmarks/pytest.ini`` makes pytest collect the ``bench_*.py`` files of this folder.
* **Machine info in every result**: each benchmark's ``extra_info`` gets ``machine`` (CPU model,
  SIMD features, cores, clock, load average), ``versions`` (fastnn, NumPy, BLAS, Numba, Cython,
  compiler) and ``quick``, so a saved run (``--benchmark-json``/``--benchmark-autosave``) says
  where and how it was measured.
* **Quick mode**: ``FASTNN_BENCH_QUICK=1`` asks every suite for its small parameter set (the
  ``quick`` fixture / ``QUICK`` constants) and sets pytest-benchmark to one round of at most
  0.02 s per benchmark without warm-up rounds (unless given on the command line), so that CI
  proves in a minute or two that the suites run. Nothing is asserted about speed.
* ``FASTNN_BENCH_THREADS`` (default: all usable cores) is the thread count the suites use
  (``bench_threads`` fixture).
"""
from __future__ import annotations

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:            # the suites import fastnn from this checkout
    sys.path.insert(0, ROOT)

QUICK = os.environ.get("FASTNN_BENCH_QUICK", "").strip() == "1"


def _threads_from_env() -> int:
    from fastnn.backends.threads import default_num_threads
    value = os.environ.get("FASTNN_BENCH_THREADS", "").strip()
    return int(value) if value else default_num_threads()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """Quick mode: shrink pytest-benchmark's own repetition (before the plugin reads it)."""
    if not QUICK or not hasattr(config.option, "benchmark_max_time"):
        return
    given = " ".join(str(a) for a in config.invocation_params.args)
    from pytest_benchmark.utils import parse_seconds
    if "--benchmark-max-time" not in given:
        config.option.benchmark_max_time = parse_seconds("0.02")
    if "--benchmark-min-rounds" not in given:
        config.option.benchmark_min_rounds = 1
    if "--benchmark-warmup" not in given:
        config.option.benchmark_warmup = False


@pytest.fixture(scope="session")
def quick() -> bool:
    """True under ``FASTNN_BENCH_QUICK=1``: use the smallest shapes."""
    return QUICK


@pytest.fixture(scope="session")
def bench_threads() -> int:
    return _threads_from_env()


@pytest.fixture(scope="session")
def machine_info() -> dict:
    """CPU, SIMD, cores, clock and load, the library versions, and quick mode (for extra_info)."""
    from fastnn.bench.machine import machine_info as _machine, versions
    return {"machine": _machine(), "versions": versions(), "quick": QUICK, "threads": _threads_from_env()}


@pytest.fixture(autouse=True)
def _machine_in_extra_info(request, machine_info):
    """Every benchmark result records the machine it ran on."""
    if "benchmark" in request.fixturenames:
        benchmark = request.getfixturevalue("benchmark")
        for key, value in machine_info.items():
            benchmark.extra_info.setdefault(key, value)
    yield
