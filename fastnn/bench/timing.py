"""Timing that can be trusted on a noisy, shared machine.

Three rules, each answering one way a benchmark lies:

1. **Warm up first, and report the first call apart.** The first call of a Numba kernel
   compiles it (or loads it from the disk cache); the first call of anything touches cold
   caches and fresh pages. ``first_call_s`` is that call; ``compile_s = first - median`` is
   what the first call cost on top of a normal one.
2. **Interleave the contestants.** Rather than timing A five times and then B five times
   (and blaming B for the neighbour's build that started halfway through), every *round*
   times every contestant once, in a rotated order (A B C, B C A, C A B, ...): a slow spell
   of the machine hits all contestants alike, and none is always first after a pause.
3. **Medians over rounds, with the spread.** The median ignores the odd disturbed round;
   ``min`` and ``max`` show how noisy the machine was.

Each sample times ``inner`` back-to-back calls, ``inner`` chosen in the warm-up so that one
sample lasts at least ``min_time``: the clock's resolution and the Python call overhead then
vanish, and a per-call time is ``sample / inner``. Contestants slower than ``slow`` seconds
per call are timed one call per sample, in at most ``slow_rounds`` rounds (a naive GEMM at
1024 would otherwise take minutes). ``settle``: OpenMP and OpenBLAS worker threads keep
spinning for a moment after a parallel call and would slow down
whichever contestant comes next: before each sample the harness waits (at most ``settle``
seconds) until the process's CPU time stops growing while it sleeps, i.e. until those threads
have gone to sleep (:func:`quiesce`).
"""
from __future__ import annotations

import math
import statistics
import time
from typing import Callable


def quiesce(max_wait: float, window: float = 0.005, busy_below: float = 0.1) -> float:
    """Wait until this process's other threads stop using the CPU (at most ``max_wait`` s).

    OpenMP and OpenBLAS worker threads spin for a while after a parallel call, waiting for more
    work; on a machine with few cores they would steal them from the next contestant. While the
    calling thread sleeps for ``window`` seconds, the process's CPU time (``time.process_time``,
    all threads) grows only if some thread is still spinning: wait until it grows by less than
    ``busy_below`` core-seconds per second. Returns the time waited."""
    start = time.perf_counter()
    while True:
        c0, t0 = time.process_time(), time.perf_counter()
        time.sleep(window)
        busy = (time.process_time() - c0) / max(time.perf_counter() - t0, 1e-9)
        if busy < busy_below or time.perf_counter() - start >= max_wait:
            return time.perf_counter() - start


def interleaved(contestants: dict[str, Callable[[], object]], rounds: int = 5, min_time: float = 0.02,
                settle: float = 0.0, slow: float = 0.5, slow_rounds: int = 3, clock=time.perf_counter,
                prepare: dict[str, Callable[[], object]] | None = None) -> dict:
    """Time every contestant (name -> zero-argument callable) in interleaved rounds.

    ``prepare[name]``, when given, runs (untimed) before the contestant's warm-up and before each
    of its samples: e.g. re-applying PyTorch's thread count, which another runtime in the process
    may have reset (Numba's OpenMP layer sets the OpenMP default when its pool starts).

    Returns name -> ``{"median_s", "min_s", "max_s", "rounds", "inner", "first_call_s",
    "compile_s", "samples"}``, or ``{"error": "..."}`` for a contestant that raised (the
    others are still timed)."""
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    prepare = prepare or {}
    results: dict[str, dict] = {}
    inner: dict[str, int] = {}
    budget: dict[str, int] = {}
    for name, fn in contestants.items():          # warm-up: first call, then one normal call
        try:
            if name in prepare:
                prepare[name]()
            start = clock()
            fn()
            first = clock() - start
            warm = math.inf
            for _ in range(3):          # the fastest of up to 3 warm calls sizes the samples
                start = clock()
                fn()
                warm = min(warm, clock() - start)
                if warm >= min_time:
                    break
        except Exception as exc:        # a broken backend must not take the whole table down
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        results[name] = {"first_call_s": first, "samples": []}
        inner[name] = 1 if warm >= min_time else max(1, math.ceil(min_time / max(warm, 1e-7)))
        budget[name] = min(rounds, slow_rounds) if warm >= slow else rounds
    names = [n for n in contestants if n in inner]
    for r in range(rounds):
        k = r % len(names) if names else 0
        for name in names[k:] + names[:k]:
            if len(results[name]["samples"]) >= budget[name] or "error" in results[name]:
                continue
            if settle:
                quiesce(settle)
            fn, n = contestants[name], inner[name]
            try:
                if name in prepare:
                    prepare[name]()
                start = clock()
                for _ in range(n):
                    fn()
                results[name]["samples"].append((clock() - start) / n)
            except Exception as exc:
                results[name] = {"error": f"{type(exc).__name__}: {exc}"}
    for name in names:
        res = results[name]
        if "error" in res:
            continue
        samples = res["samples"]
        med = statistics.median(samples)
        res.update(median_s=med, min_s=min(samples), max_s=max(samples), rounds=len(samples), inner=inner[name],
                   compile_s=max(0.0, res["first_call_s"] - med))
    return results


__all__ = ["interleaved"]
