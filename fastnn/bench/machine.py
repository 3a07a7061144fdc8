"""What the machine is and what it can do at most: CPU, versions, threads, and the two
measured ceilings of the roofline (peak float32 FLOP/s, memory bandwidth).

The ceilings come from the compiled probe ``fastnn._cython._probe`` (``src_cython/_probe.pyx``):
independent FMA chains held in SIMD registers for the arithmetic peak, the STREAM triad
``a = b + s*c`` over arrays far larger than the caches for the bandwidth. Both are measured on
one thread and on all cores, a few times each, and the *best* figure is kept: a ceiling is
what the machine can do, and on a loaded machine every disturbance only makes a run slower.
The result is cached as JSON in ``$FASTNN_CACHE_DIR`` (default ``~/.cache/fastnn``), keyed by
CPU model, core count and fastnn version; ``measure_ceilings(remeasure=True)`` (``fastnn bench
--remeasure``) measures again. Without the compiled probe, NumPy gives an estimate instead
(BLAS ``sgemm`` for the peak, a NumPy triad for the bandwidth): both are lower bounds, and
the result says so in ``method``.
"""
from __future__ import annotations

import json
import math
import os
import platform
import sys
import time

import numpy as np

CACHE_FILE = "bench-ceilings.json"
#: SIMD features that matter for the kernels (the same list as ``fastnn info``)
SIMD_FLAGS = ("sse2", "sse4_1", "sse4_2", "avx", "avx2", "fma", "avx512f", "neon", "asimd")


# --------------------------------------------------------------------------- the CPU

def _cpuinfo() -> dict:
    """The first processor's block of /proc/cpuinfo (Linux), as a dict; {} elsewhere."""
    info: dict = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    if info:
                        break
                    continue
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return info


def cpu_model() -> str:
    info = _cpuinfo()
    return info.get("model name") or info.get("Hardware") or platform.processor() or platform.machine()


def cpu_features() -> list[str]:
    flags = set((_cpuinfo().get("flags") or _cpuinfo().get("Features") or "").split())
    return [f for f in SIMD_FLAGS if f in flags]


def cpu_clock_mhz() -> dict:
    """Clock figures that can be read: current MHz (/proc/cpuinfo) and the cpufreq limits."""
    out: dict = {}
    mhz = _cpuinfo().get("cpu MHz")
    if mhz:
        try:
            out["current_mhz"] = round(float(mhz), 1)
        except ValueError:
            pass
    base = "/sys/devices/system/cpu/cpu0/cpufreq/"
    for name, key in (("cpuinfo_max_freq", "max_mhz"), ("cpuinfo_min_freq", "min_mhz"),
                      ("base_frequency", "base_mhz")):
        try:
            with open(base + name) as f:
                out[key] = round(int(f.read().strip()) / 1000, 1)
        except (OSError, ValueError):
            pass
    return out


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def machine_info() -> dict:
    """CPU model, SIMD features, cores, clocks, OS and the load when the run started."""
    info = {"cpu_model": cpu_model(), "simd": cpu_features(), "logical_cores": os.cpu_count(),
            "usable_cores": usable_cores(), "clock": cpu_clock_mhz(), "machine": platform.machine(),
            "os": platform.platform()}
    try:
        info["loadavg"] = [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):
        info["loadavg"] = None
    return info


def load_note(loadavg, cores: int) -> str | None:
    """A warning when other work was running: the figures are then pessimistic and noisy."""
    if not loadavg:
        return None
    if loadavg[0] > 0.5:
        return (f"the machine was loaded (1-min load average {loadavg[0]:.2f} on {cores} cores when the run "
                f"started): timings are pessimistic and noisier than on an idle machine")
    return None


# --------------------------------------------------------------------------- versions

def _module_version(name: str):
    if name not in sys.modules:
        try:
            from importlib.metadata import PackageNotFoundError, version
            try:
                return version(name)
            except PackageNotFoundError:
                return None
        except ImportError:         # pragma: no cover
            return None
    return getattr(sys.modules[name], "__version__", None)


def blas_info() -> str:
    try:
        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {})
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:           # older NumPy: no dict mode
        return "unknown"


def compiler_info() -> str:
    import sysconfig
    cc = sysconfig.get_config_var("CC") or "unknown"
    return f"{cc} ({platform.python_compiler()})" if platform.python_compiler() else cc


def versions(torch_module=None) -> dict:
    """fastnn, Python, NumPy, BLAS, Numba, Cython, the C compiler, and torch (only when it was
    imported for this run: it is never imported just to read its version)."""
    from .. import __version__
    out = {"fastnn": __version__, "python": platform.python_version(), "numpy": np.__version__,
           "blas": blas_info(), "numba": _module_version("numba"), "cython": _module_version("Cython"),
           "compiler": compiler_info()}
    out["torch"] = getattr(torch_module, "__version__", None) if torch_module is not None else \
        (getattr(sys.modules["torch"], "__version__", None) if "torch" in sys.modules else None)
    return out


def thread_info(torch_module=None) -> dict:
    """Thread counts of every runtime as they are set now."""
    from .. import backends
    from ..backends.threads import blas_num_threads
    out = {"fastnn": backends.get_num_threads(), "blas": blas_num_threads(), "omp_num_threads_env":
           os.environ.get("OMP_NUM_THREADS")}
    if "cython" in backends._instances:
        out["openmp"] = backends.get("cython").get_num_threads()
    if "numba" in sys.modules:
        import numba
        out["numba"] = numba.get_num_threads()
    if torch_module is not None:
        out["torch"] = torch_module.get_num_threads()
    return out


# --------------------------------------------------------------------------- ceilings

def cache_dir() -> str:
    return os.environ.get("FASTNN_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "fastnn")


def cache_key() -> str:
    from .. import __version__
    return f"{cpu_model()} | {usable_cores()} cores | fastnn {__version__}"


def _probe_module():
    try:
        from .._cython import _probe
    except ImportError:
        return None
    return _probe


def _best_rate(measure, reps: int) -> float:
    """The best of ``reps`` measurements of a rate (higher is better)."""
    return max(measure() for _ in range(reps))


def _probe_peak(probe, isa: str, threads: int, seconds: float, reps: int) -> float:
    """Best GFLOP/s of the FMA chains; ``iters`` sized so one run lasts about ``seconds``."""
    iters = 100_000
    flop, elapsed, _ = probe.fma_peak(iters, isa, 1)
    while elapsed < seconds / 4:                 # calibrate on one thread
        iters *= 4
        flop, elapsed, _ = probe.fma_peak(iters, isa, 1)
    iters = max(1, int(iters * seconds / max(elapsed, 1e-9)))

    def once():
        flop, elapsed, _ = probe.fma_peak(iters, isa, threads)
        return flop / elapsed / 1e9
    return _best_rate(once, reps)


def _probe_bandwidth(probe, threads: int, n: int, reps: int) -> float:
    a, b, c = (np.empty(n, dtype=np.float32) for _ in range(3))
    probe.first_touch(a, b, c, threads)
    best = probe.triad(a, b, c, 3.0, reps, threads)
    return 3 * 4 * n / best / 1e9


def _numpy_peak(threads: int, reps: int) -> float:
    from ..backends.threads import _blas_call, _BLAS_SETTERS, blas_num_threads
    previous = blas_num_threads()
    _blas_call(_BLAS_SETTERS, threads)
    try:
        n = 1024
        a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
        out = np.empty_like(a)
        np.matmul(a, a, out=out)

        def once():
            start = time.perf_counter()
            np.matmul(a, a, out=out)
            return 2 * n ** 3 / (time.perf_counter() - start) / 1e9
        return _best_rate(once, reps)
    finally:
        if previous:
            _blas_call(_BLAS_SETTERS, previous)


def _numpy_bandwidth(n: int, reps: int) -> float:
    a, b, c = np.zeros(n, np.float32), np.ones(n, np.float32), np.full(n, 2.0, np.float32)

    def once():
        start = time.perf_counter()
        np.multiply(c, np.float32(3.0), out=a)
        np.add(a, b, out=a)
        return 3 * 4 * n / (time.perf_counter() - start) / 1e9
    return _best_rate(once, reps)


def _measure(quick: bool = False, use_probe: bool = True) -> dict:
    """Measure the ceilings now (a few seconds; under a second with ``quick``)."""
    cores = usable_cores()
    seconds, reps = (0.01, 3) if quick else (0.05, 7)
    n = (4 << 20) if quick else (32 << 20)        # floats per triad array: 16 MiB / 128 MiB each
    probe = _probe_module() if use_probe else None
    start = time.perf_counter()
    result = {"cores": cores, "quick": bool(quick), "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "key": cache_key()}
    try:
        result["loadavg"] = [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):
        result["loadavg"] = None
    if probe is not None:
        by_isa = {isa: round(_probe_peak(probe, isa, 1, seconds, reps), 2) for isa in probe.isas()}
        best_isa = max(by_isa, key=by_isa.get)
        threads = cores if probe.openmp_enabled() else 1
        peak_all = by_isa[best_isa]
        if threads > 1:
            peak_all = _probe_peak(probe, best_isa, threads, seconds, reps)
            for _ in range(2):      # below one thread's figure = disturbed by other work: try again
                if peak_all >= by_isa[best_isa]:
                    break
                peak_all = max(peak_all, _probe_peak(probe, best_isa, threads, seconds, reps))
        result.update(
            method="compiled probe (fastnn._cython._probe: 12 independent FMA chains per thread; STREAM triad)",
            isa=best_isa, peak_gflops_by_isa_1thread=by_isa, peak_gflops_1=by_isa[best_isa],
            peak_gflops_all=round(peak_all, 2),
            bandwidth_gbs_1=round(_probe_bandwidth(probe, 1, n, reps), 2),
            bandwidth_gbs_all=round(_probe_bandwidth(probe, threads, n, reps), 2),
            threads_all=threads, triad_bytes=3 * 4 * n)
    else:
        reason = "fastnn._cython._probe is not compiled" if use_probe else "compiled probe not used"
        result.update(
            method=f"NumPy estimate ({reason}): BLAS sgemm 1024^3 for the peak, a NumPy triad for the "
                   f"bandwidth; both are lower bounds of the real ceilings",
            isa=None, peak_gflops_by_isa_1thread={}, peak_gflops_1=round(_numpy_peak(1, reps), 2),
            peak_gflops_all=round(_numpy_peak(cores, reps), 2),
            bandwidth_gbs_1=round(_numpy_bandwidth(n, reps), 2), bandwidth_gbs_all=None,
            threads_all=cores, triad_bytes=3 * 4 * n)
        result["bandwidth_gbs_all"] = result["bandwidth_gbs_1"]
    result["measure_seconds"] = round(time.perf_counter() - start, 2)
    return result


def _read_cache(path: str) -> dict:
    try:
        with open(path) as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def measure_ceilings(remeasure: bool = False, quick: bool = False, cache: bool = True,
                     use_probe: bool = True) -> dict:
    """The machine's ceilings: ``peak_gflops_1``/``_all`` (float32, 1 thread / all cores) and
    ``bandwidth_gbs_1``/``_all``, plus how they were measured (``method``) and whether they came
    from the cache (``cached``).

    A cached figure measured in quick mode is re-measured by a non-quick run."""
    path = os.path.join(cache_dir(), CACHE_FILE)
    key = cache_key()
    if cache and not remeasure:
        entry = _read_cache(path).get(key)
        if isinstance(entry, dict) and "peak_gflops_1" in entry and (quick or not entry.get("quick")) \
                and (use_probe or not str(entry.get("method", "")).startswith("compiled")):
            return {**entry, "cached": True, "cache_file": path}
    result = _measure(quick=quick, use_probe=use_probe)
    if cache:
        from ..serialization import atomic_write_bytes
        data = _read_cache(path)
        data[key] = result
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            atomic_write_bytes(path, json.dumps(data, indent=2).encode())
        except OSError as exc:          # a read-only home: measure every time, say why
            result["cache_error"] = f"{type(exc).__name__}: {exc}"
    return {**result, "cached": False, "cache_file": path if cache else None}


def peak_for(ceilings: dict, threads: int) -> float | None:
    """The float32 FLOP/s ceiling (GFLOP/s) for a run on ``threads`` threads: the 1-thread peak
    times the threads, capped by the all-core measurement."""
    p1, pall = ceilings.get("peak_gflops_1"), ceilings.get("peak_gflops_all")
    if not p1:
        return None
    cores = ceilings.get("threads_all") or ceilings.get("cores") or 1
    if threads <= 1:
        return p1
    if threads >= cores:            # on a loaded machine the all-core figure can come out below 1 thread's
        return max(pall or 0.0, p1)
    return max(min(p1 * threads, pall), p1) if pall else p1 * threads


def bandwidth_for(ceilings: dict, threads: int) -> float | None:
    """The memory bandwidth ceiling (GB/s) for ``threads`` threads (1-thread or all-core triad)."""
    b1, ball = ceilings.get("bandwidth_gbs_1"), ceilings.get("bandwidth_gbs_all")
    if threads <= 1 or not ball:
        return b1
    return max(ball, b1 or 0.0)


def describe_ceilings(ceilings: dict) -> str:
    """One or two lines for the table header."""
    p1, pall = ceilings.get("peak_gflops_1"), ceilings.get("peak_gflops_all")
    b1, ball = ceilings.get("bandwidth_gbs_1"), ceilings.get("bandwidth_gbs_all")
    cores = ceilings.get("threads_all") or ceilings.get("cores")
    isa = f" ({ceilings['isa']})" if ceilings.get("isa") else ""
    src = "cached " + str(ceilings.get("measured_at", "")) if ceilings.get("cached") else "measured now"
    estimate = "" if str(ceilings.get("method", "")).startswith("compiled") else \
        "  [NumPy estimate: the compiled probe is unavailable]"

    def f(v):
        return "?" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.1f}"
    return (f"ceilings: peak float32 {f(p1)} GFLOP/s on 1 thread{isa}, {f(pall)} on {cores}; "
            f"triad bandwidth {f(b1)} GB/s on 1 thread, {f(ball)} on {cores} ({src}){estimate}")


__all__ = ["machine_info", "versions", "thread_info", "measure_ceilings", "peak_for", "bandwidth_for",
           "describe_ceilings", "cpu_model", "cpu_features", "cpu_clock_mhz", "cache_dir", "load_note"]
